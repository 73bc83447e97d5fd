import { accessSync, constants } from "node:fs";
import type { Config } from "./schema.js";

/**
 * Problems with files the config names (keys, password and passphrase files), reported
 * like schema problems so `drctl config check` lists everything in one go.
 */
export function fileProblems(config: Config): string[] {
  const problems: string[] = [];
  const need = (path: string | undefined, at: string) => {
    if (!path) return;
    try {
      accessSync(path, constants.R_OK);
    } catch (err) {
      problems.push(`${at}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? "error"}`);
    }
  };
  for (const [name, t] of Object.entries(config.targets)) {
    if (t.type === "s3") {
      need(t.access_key_id_file, `targets.${name}.access_key_id_file`);
      need(t.secret_access_key_file, `targets.${name}.secret_access_key_file`);
    }
  }
  need(config.signing?.key_file, "signing.key_file");
  config.alerts.forEach((a, i) => {
    if (a.type === "webhook") {
      need(a.headers_file, `alerts[${i}].headers_file`);
      need(a.secret_file, `alerts[${i}].secret_file`);
    }
    if (a.type === "email") need(a.smtp.password_file, `alerts[${i}].smtp.password_file`);
  });
  config.trust?.forEach((t, i) => t.startsWith("/") && need(t, `trust[${i}]`));
  for (const [name, job] of Object.entries(config.jobs)) {
    if (job.type === "postgres") need(job.password_file, `jobs.${name}.password_file`);
    if (job.encrypt && "recipients" in job.encrypt) job.encrypt.recipients.forEach((r, i) => need(r, `jobs.${name}.encrypt.recipients[${i}]`));
    if (job.encrypt && "passphrase_file" in job.encrypt) need(job.encrypt.passphrase_file, `jobs.${name}.encrypt.passphrase_file`);
    need(job.drill?.key_file, `jobs.${name}.drill.key_file`);
    need(job.drill?.passphrase_file, `jobs.${name}.drill.passphrase_file`);
  }
  return problems;
}
