import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { inject } from "vitest";
import { stringify } from "yaml";
import { signingKeyFiles } from "./signing.js";

export const REPO = new URL("../..", import.meta.url).pathname;

/** A private directory per test, with a config file written from an object. */
export class Workspace {
  readonly dir = mkdtempSync(join(tmpdir(), "drd-test-"));
  readonly configPath = join(this.dir, "drd.yaml");
  readonly stateDir = join(this.dir, "state");
  readonly backupDir = join(this.dir, "backups");

  path(...parts: string[]): string {
    return join(this.dir, ...parts);
  }

  /** Writes the config; it signs with the test run's key unless `signing` is given (null: no signing). */
  writeConfig(config: Record<string, unknown>): string {
    const full: Record<string, unknown> = { signing: { key_file: signingKeyFiles().secret }, ...config };
    if (full.signing === null) delete full.signing;
    writeFileSync(this.configPath, stringify(full));
    return this.configPath;
  }

  /** A config with one local target and the given jobs. */
  withJobs(jobs: Record<string, Record<string, unknown>>, extra: Record<string, unknown> = {}): string {
    return this.writeConfig({
      state_dir: this.stateDir,
      targets: { local: { type: "local", path: this.backupDir } },
      policy: { copies: 1, media: 1, offsite: 0 },
      jobs,
      ...extra,
    });
  }

  /** Runs drctl as a user would, through bin/drctl.js; never throws. */
  /** `ownGroup`: drctl leads a process group of its own, so a test can signal it and its children at once, as Ctrl-C does. */
  drctl(args: string[], options: { env?: Record<string, string>; config?: string; ownGroup?: boolean } = {}) {
    return execa("node", [join(REPO, "bin/drctl.js"), "--config", options.config ?? this.configPath, ...args], {
      reject: false,
      env: options.env,
      cwd: this.dir,
      ...(options.ownGroup ? { detached: true } : {}),
    });
  }

  /** Starts `drctl daemon --allow-root` on this config; `log()` is what it has written to stdout so far. */
  daemon(options: { env?: Record<string, string> } = {}): { process: ReturnType<Workspace["drctl"]>; log: () => string } {
    const process = this.drctl(["daemon", "--allow-root"], options);
    let log = "";
    process.stdout!.on("data", (d: Buffer) => (log += d.toString()));
    return { process, log: () => log };
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function pgUrl(database = "postgres", user = "postgres"): string {
  return `postgresql://${user}@127.0.0.1:${inject("pgPort")}/${database}`;
}

export const cluster = { url: pgUrl };

const PROGRESS_LINE = /^drctl: (downloading .*, checking each piece against its sha256|(decrypting and )?restoring \S+ \(\S+ so far\)|checking against the manifest .*)$/;

/** stderr without restore's progress lines (printed when stderr is not a terminal). */
export function problems(stderr: string): string {
  return stderr
    .split("\n")
    .filter((l) => l && !PROGRESS_LINE.test(l))
    .join("\n");
}
