import { chmodSync, chownSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { REPO } from "./workspace.js";

/**
 * Runs drctl as the unprivileged user `nobody`, as production does; root reads every
 * file, so unreadable-file behaviour can only be seen this way. The installed program is
 * linked into a world-readable directory first, since the checkout's path may not be.
 */
export class NobodyDrctl {
  readonly dir = mkdtempSync(join(tmpdir(), "drd-nobody-"));
  readonly uid = 65534;

  async install(): Promise<void> {
    if (process.getuid?.() !== 0) throw new Error("these tests run as root (as CI does) to switch to nobody");
    chmodSync(this.dir, 0o755);
    for (const part of ["bin", "bundle", "node_modules", "package.json"]) {
      await execa("cp", ["-a", "--reflink=auto", "-l", join(REPO, part), this.dir]).catch(() => execa("cp", ["-a", join(REPO, part), this.dir]));
    }
    await execa("chmod", ["-R", "a+rX", this.dir]);
  }

  /** Makes `path` (a directory tree) owned by nobody. */
  give(path: string): void {
    chownSync(path, this.uid, this.uid);
  }

  run(configPath: string, args: string[]) {
    return execa("runuser", ["-u", "nobody", "--", process.execPath, join(this.dir, "bin/drctl.js"), "--config", configPath, ...args], {
      reject: false,
    });
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
