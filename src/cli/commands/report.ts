import { rename, writeFile, chmod, rm } from "node:fs/promises";
import { dirname, basename, join } from "node:path";
import type { AppContext } from "../../app/context.js";
import { evidenceReport } from "../../app/report.js";
import { parseDuration } from "../../config/duration.js";
import { OperationError, UsageError } from "../../errors.js";
import { reportHtml } from "../../report/html.js";
import type { Output } from "../io.js";
import type { ReportOutput } from "../json-output.js";
import { json } from "../render.js";

const DEFAULT_WINDOW = "30d";

/** `drctl report`: the evidence report over a window, as one HTML file (--html) and/or JSON (--json). */
export async function reportCommand(ctx: AppContext, io: Output, opts: { window?: string; job?: string; html?: string; json?: boolean }): Promise<number> {
  if (!opts.html && !opts.json) throw new UsageError("say where the report goes: --html FILE, --json, or both");
  const windowText = opts.window ?? DEFAULT_WINDOW;
  const windowSeconds = parseDuration(windowText);
  if (windowSeconds === undefined || windowSeconds <= 0) throw new UsageError(`--window: invalid duration ${JSON.stringify(windowText)} (e.g. 7d, 30d)`);
  const report: ReportOutput = await evidenceReport(ctx, { windowMs: windowSeconds * 1000, ...(opts.job ? { job: opts.job } : {}) });
  if (opts.html) {
    await writeWhole(opts.html, reportHtml(report));
    if (!opts.json) io.out(`wrote ${opts.html}: ${report.jobs.length} job(s), ${report.window.from} to ${report.window.to}`);
  }
  if (opts.json) io.out(json(report));
  return 0;
}

/** Written beside, then renamed: a reader never sees half a report. */
async function writeWhole(path: string, text: string): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    await writeFile(temp, text, { mode: 0o600, flag: "wx" });
    await chmod(temp, 0o600);
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw new OperationError(`cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
