import { fileProblems } from "../../config/check-files.js";
import { loadConfig } from "../../config/load.js";
import type { Config } from "../../config/schema.js";
import { ConfigError } from "../../errors.js";
import type { Output } from "../io.js";
import { json } from "../render.js";

export async function configCheckCommand(io: Output, configPath: string, opts: { json?: boolean }): Promise<number> {
  let problems: string[];
  let warnings: string[] = [];
  let summary = "";
  try {
    const config = loadConfig(configPath);
    problems = fileProblems(config);
    warnings = await lockWarnings(config);
    summary = `${Object.keys(config.jobs).length} job(s), ${Object.keys(config.targets).length} target(s)`;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems = err.problems;
  }
  if (opts.json) io.out(json({ config: configPath, ok: problems.length === 0, problems, warnings }));
  else {
    if (problems.length === 0) io.out(`${configPath}: ok (${summary})`);
    for (const p of problems) io.err(p);
    for (const w of warnings) io.err(w);
  }
  // Warnings do not change the exit code.
  return problems.length === 0 ? 0 : 2;
}

/** S3 targets with object_lock whose bucket does not keep locks: warnings, read from the bucket. */
async function lockWarnings(config: Config): Promise<string[]> {
  const locked = Object.entries(config.targets).filter(([, t]) => t.type === "s3" && t.object_lock);
  if (locked.length === 0) return [];
  const { S3Target } = await import("../../targets/s3.js");
  const warnings: string[] = [];
  for (const [name, t] of locked) {
    const problem = await new S3Target(name, t as Extract<typeof t, { type: "s3" }>).lockProblem().catch((err: Error) => `could not check: ${err.message}`);
    if (problem) warnings.push(`targets.${name}.object_lock: warning: ${problem}`);
  }
  return warnings;
}
