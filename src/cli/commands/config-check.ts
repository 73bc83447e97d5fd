import { checkConfig } from "../../app/config-check/check.js";
import type { Finding } from "../../app/config-check/findings.js";
import { loadConfig } from "../../config/load.js";
import { ConfigError } from "../../errors.js";
import type { Output } from "../io.js";
import type { ConfigCheckOutput } from "../json-output.js";
import { json } from "../render.js";

/**
 * `drctl config check [--online]`: every problem on its own line as `<path>: <message>`
 * (exit 2), warnings as `<path>: warning: <message>` (exit unchanged); with --online, what
 * was reached and found sound on stdout.
 */
export async function configCheckCommand(io: Output, configPath: string, opts: { json?: boolean; online?: boolean }): Promise<number> {
  let problems: Finding[] = [];
  let warnings: Finding[] = [];
  let passed: Finding[] = [];
  let summary = "";
  let checkedAs: string | undefined;
  try {
    const config = loadConfig(configPath);
    const report = await checkConfig(config, { online: opts.online === true });
    ({ problems, warnings, passed } = report.findings);
    checkedAs = report.checkedAs;
    const jobs = Object.keys(config.jobs).length;
    const targets = Object.keys(config.targets).length;
    summary = `${jobs} job${jobs === 1 ? "" : "s"}, ${targets} target${targets === 1 ? "" : "s"}; checked as ${checkedAs}${opts.online ? ", online" : ""}`;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems = err.problems.map(splitProblem);
  }
  if (opts.json) {
    const out: ConfigCheckOutput = { config: configPath, ok: problems.length === 0, checked_as: checkedAs ?? null, online: opts.online === true, problems, warnings, passed };
    io.out(json(out));
  } else {
    for (const p of passed) io.out(`${p.path}: ok: ${p.message}`);
    if (problems.length === 0) io.out(`${configPath}: ok (${summary})`);
    for (const p of problems) io.err(`${p.path}: ${p.message}`);
    for (const w of warnings) io.err(`${w.path}: warning: ${w.message}`);
  }
  return problems.length === 0 ? 0 : 2;
}

/** A schema problem is already "<path>: <message>". */
function splitProblem(line: string): Finding {
  const at = line.indexOf(": ");
  return at > 0 ? { path: line.slice(0, at), message: line.slice(at + 2) } : { path: "", message: line };
}
