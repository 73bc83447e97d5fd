import { fileProblems } from "../../config/check-files.js";
import { loadConfig } from "../../config/load.js";
import { ConfigError } from "../../errors.js";
import type { Output } from "../io.js";
import { json } from "../render.js";

export function configCheckCommand(io: Output, configPath: string, opts: { json?: boolean }): number {
  let problems: string[];
  let summary = "";
  try {
    const config = loadConfig(configPath);
    problems = fileProblems(config);
    summary = `${Object.keys(config.jobs).length} job(s), ${Object.keys(config.targets).length} target(s)`;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems = err.problems;
  }
  if (opts.json) io.out(json({ config: configPath, ok: problems.length === 0, problems }));
  else if (problems.length === 0) io.out(`${configPath}: ok (${summary})`);
  else for (const p of problems) io.err(p);
  return problems.length === 0 ? 0 : 2;
}
