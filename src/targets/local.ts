import { constants } from "node:fs";
import { lstat, mkdir, open, readdir, rename, rm, rmdir, stat } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { randomBytes } from "node:crypto";
import { pipeline } from "node:stream/promises";
import type { Readable } from "node:stream";
import { OperationError } from "../errors.js";
import { DigestStream } from "../pipeline/digest.js";
import { WriteBehind } from "./write-behind.js";
import { assertSafeKey, ObjectNotFoundError, type ObjectInfo, type PutOptions, type PutResult, type Target } from "./target.js";

/**
 * Temporary files carry this marker and the writer's pid (`.drd-tmp-<pid>-<random>`);
 * nothing else in a target directory does. The pid lets one drctl clean up after a dead
 * one without touching the files another live drctl (the daemon, say) is writing.
 */
const TEMP_MARKER = ".drd-tmp-";
const TEMP_PID = /\.drd-tmp-(\d+)-[0-9a-f]+$/;

/**
 * A directory on a local file system. A put writes `<name>.drd-tmp-<random>` beside the
 * final name, fsyncs the file, renames it and fsyncs the directory: after a crash the key
 * holds the whole object or nothing, and the temporary file is removed at the next start.
 */
export class LocalTarget implements Target {
  constructor(
    readonly name: string,
    readonly root: string,
  ) {}

  locate(keyOrPrefix: string): string {
    return this.pathOf(keyOrPrefix.replace(/\/$/, ""));
  }

  private pathOf(key: string): string {
    assertSafeKey(key);
    return join(this.root, ...key.split("/"));
  }

  async put(key: string, data: Readable, options: PutOptions = {}): Promise<PutResult> {
    const finalPath = this.pathOf(key);
    const dir = dirname(finalPath);
    await this.mkdirs(dir);
    const tempPath = `${finalPath}${TEMP_MARKER}${process.pid}-${randomBytes(6).toString("hex")}`;
    const file = await open(tempPath, "wx", 0o600).catch(async (err) => {
      await rmdir(dir).catch(() => undefined);
      throw storageError(this.name, "create", tempPath, err);
    });
    let committed = false;
    try {
      const digest = new DigestStream();
      // flush: the stream fsyncs the file before it closes it.
      await pipeline(data, digest, new WriteBehind(file), file.createWriteStream({ flush: true, highWaterMark: 1 << 20 })).catch((err) => {
        throw err?.code && err.syscall ? storageError(this.name, "write", tempPath, err) : err;
      });
      await options.ready?.();
      await rename(tempPath, finalPath);
      committed = true;
      await fsyncDir(dir);
      return { size: digest.bytes, sha256: digest.hex() };
    } finally {
      await file.close().catch(() => undefined);
      if (!committed) {
        await rm(tempPath, { force: true });
        // The backup's directory too, if this put was all it held (an interrupted first artifact):
        // nothing left that looks like the start of a backup.
        await rmdir(dir).catch(() => undefined);
      }
    }
  }

  /**
   * An object is a regular file drd wrote: not followed through a symlink, never a FIFO or a
   * device that someone with write access to the target put in its place (a read of one
   * would hang, or never end).
   */
  async get(key: string): Promise<Readable> {
    const path = this.pathOf(key);
    const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") throw new ObjectNotFoundError(path);
      throw storageError(this.name, "open", path, err);
    });
    if (!(await handle.stat()).isFile()) {
      await handle.close();
      throw storageError(this.name, "open", path, Object.assign(new Error("not a regular file"), { code: "not a regular file" }));
    }
    return handle.createReadStream({ highWaterMark: 1 << 20 });
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const info = await lstat(this.pathOf(key)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return undefined;
      throw storageError(this.name, "stat", this.pathOf(key), err);
    });
    return info?.isFile() ? { key, size: info.size } : undefined;
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    const entries = await readdir(this.root, { recursive: true, withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return [];
      throw storageError(this.name, "list", this.root, err);
    });
    for (const entry of entries) {
      if (!entry.isFile() || entry.name.includes(TEMP_MARKER)) continue;
      const key = relative(this.root, join(entry.parentPath, entry.name)).split(sep).join("/");
      if (!key.startsWith(prefix)) continue;
      const info = await stat(join(entry.parentPath, entry.name)).catch(() => undefined);
      if (info) out.push({ key, size: info.size });
    }
    return out.sort((a, b) => a.key.localeCompare(b.key));
  }

  async delete(keys: string[]): Promise<void> {
    const dirs = new Set<string>();
    for (const key of keys) {
      const path = this.pathOf(key);
      await rm(path, { force: true }).catch((err) => {
        throw storageError(this.name, "delete", path, err);
      });
      dirs.add(dirname(path));
    }
    // A backup's directory goes when its last object does (rmdir refuses a non-empty one);
    // each parent is fsynced once per call, not once per object.
    const parents = new Set<string>();
    for (const dir of dirs) {
      if (dir === this.root) continue;
      await rmdir(dir).catch(() => undefined);
      parents.add(dirname(dir));
    }
    for (const parent of parents) await fsyncDir(parent).catch(() => undefined);
  }

  async removeLeftovers(isWriterAlive: (pid: number, writtenAt: number) => boolean): Promise<number> {
    const entries = await readdir(this.root, { recursive: true, withFileTypes: true }).catch(() => []);
    let removed = 0;
    for (const entry of entries) {
      if (!entry.isFile() || !entry.name.includes(TEMP_MARKER)) continue;
      const path = join(entry.parentPath, entry.name);
      const writer = TEMP_PID.exec(entry.name);
      const writtenAt = (await stat(path).catch(() => undefined))?.mtimeMs ?? 0;
      if (writer && isWriterAlive(Number(writer[1]), writtenAt)) continue;
      await rm(path, { force: true });
      removed++;
    }
    // Then the backup directories those leftovers emptied, deepest first.
    const dirs = entries.filter((e) => e.isDirectory()).map((e) => join(e.parentPath, e.name));
    for (const dir of dirs.sort((a, b) => b.length - a.length)) await rmdir(dir).catch(() => undefined);
    return removed;
  }

  private async mkdirs(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true, mode: 0o700 }).catch((err) => {
      throw storageError(this.name, "create directory", dir, err);
    });
  }
}

/** Makes a rename or a new entry in `dir` durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function storageError(target: string, action: string, path: string, err: NodeJS.ErrnoException): OperationError {
  const reason = err.code === "ENOSPC" ? "no space left on device" : err.code === "EACCES" ? "permission denied" : (err.code ?? err.message);
  return new OperationError(`target ${target}: cannot ${action} ${path}: ${reason}`, { cause: err });
}
