import { Transform, type TransformCallback } from "node:stream";
import * as tar from "tar";
import { execa } from "execa";
import { OperationError } from "../errors.js";

/**
 * Names for numeric owners, from the system's databases (`getent`, so NSS sources count too):
 * Node has no getpwuid. Each id is looked up once; an unknown one has no name.
 */
export class OwnerNames {
  private readonly cache = new Map<string, Promise<string>>();

  user(uid: number): Promise<string> {
    return this.lookup("passwd", String(uid));
  }

  group(gid: number): Promise<string> {
    return this.lookup("group", String(gid));
  }

  /** The id of a name on this host, or undefined when it has none. */
  id(database: "passwd" | "group", name: string): Promise<number | undefined> {
    const key = `id:${database}:${name}`;
    let found = this.ids.get(key);
    if (!found) {
      found = this.entry(database, name).then((line) => {
        const id = line ? Number(line.split(":")[2]) : NaN;
        return Number.isInteger(id) ? id : undefined;
      });
      this.ids.set(key, found);
    }
    return found;
  }

  private readonly ids = new Map<string, Promise<number | undefined>>();

  private lookup(database: "passwd" | "group", key: string): Promise<string> {
    const cached = this.cache.get(`${database}:${key}`);
    if (cached) return cached;
    const name = this.entry(database, key).then((line) => line?.split(":")[0] ?? "");
    this.cache.set(`${database}:${key}`, name);
    return name;
  }

  /** The database's line for `key`; undefined when it has none (getent exits 2). Failing to ask at all is an error. */
  private async entry(database: "passwd" | "group", key: string): Promise<string | undefined> {
    let r;
    try {
      // "--": a name from a listing is a key, never an option of getent's.
      r = await execa("getent", ["--", database, key], { reject: false, timeout: 10_000 });
    } catch (err) {
      // execa itself throws when no process can be started at all (no descriptors left).
      throw new OperationError(`cannot look up ${database} entry ${key}: ${(err as Error).message}`);
    }
    if (r.exitCode === 0) return String(r.stdout).split("\n")[0];
    if (r.exitCode === 2) return undefined;
    throw new OperationError(`cannot look up ${database} entry ${key}: getent ${r.exitCode === undefined ? `did not run (${r.message})` : `exited ${r.exitCode}`}`);
  }
}

const BLOCK = 512;
const padded = (n: number) => Math.ceil(n / BLOCK) * BLOCK;

/**
 * Writes the owner's user and group names into every header of a tar stream, as GNU tar
 * records them (node-tar writes a user name only for the running user's files and never a
 * group name), so a restore as root, drd's or GNU tar's, gives files back to the same names.
 * Walks the stream block by block: a header, then its data padded to 512 bytes; a PAX
 * header's `size` stands for the entry after it.
 */
export class NameOwners extends Transform {
  private header: Buffer[] = [];
  private headerBytes = 0;
  /** Data bytes (padded) of the current entry still to pass. */
  private remaining = 0;
  /** A PAX extended header being read, to learn the next entry's size. */
  private pax: { data: Buffer[]; left: number } | undefined;
  private nextSize: number | undefined;

  constructor(private readonly names: OwnerNames) {
    super({ highWaterMark: 1 << 20 });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.consume(chunk).then(() => done(), done);
  }

  private async consume(chunk: Buffer): Promise<void> {
    let at = 0;
    while (at < chunk.length) {
      if (this.remaining > 0) {
        const n = Math.min(this.remaining, chunk.length - at);
        const part = chunk.subarray(at, at + n);
        if (this.pax && this.pax.left > 0) {
          const keep = part.subarray(0, Math.min(part.length, this.pax.left));
          this.pax.data.push(keep);
          this.pax.left -= keep.length;
          if (this.pax.left === 0) this.nextSize = paxSize(Buffer.concat(this.pax.data));
        }
        this.push(part);
        this.remaining -= n;
        at += n;
        continue;
      }
      const n = Math.min(BLOCK - this.headerBytes, chunk.length - at);
      this.header.push(chunk.subarray(at, at + n));
      this.headerBytes += n;
      at += n;
      if (this.headerBytes < BLOCK) continue;
      const block = Buffer.concat(this.header);
      this.header = [];
      this.headerBytes = 0;
      await this.header512(block);
    }
  }

  private async header512(block: Buffer): Promise<void> {
    if (block.every((b) => b === 0)) return void this.push(block);
    const h = new tar.Header(block);
    if (h.type === "ExtendedHeader" || h.type === "GlobalExtendedHeader") {
      this.remaining = padded(h.size ?? 0);
      this.pax = h.type === "ExtendedHeader" ? { data: [], left: h.size ?? 0 } : undefined;
      return void this.push(block);
    }
    const size = this.nextSize ?? h.size ?? 0;
    this.pax = undefined;
    this.nextSize = undefined;
    if (h.uid !== undefined && h.gid !== undefined) {
      const [user, group] = await Promise.all([this.names.user(h.uid), this.names.group(h.gid)]);
      // A name too long for the ustar field stays out; the numeric id still restores.
      if (!h.uname && user && Buffer.byteLength(user) < 32) h.uname = user;
      if (!h.gname && group && Buffer.byteLength(group) < 32) h.gname = group;
      h.encode(block, 0);
    }
    this.push(block);
    this.remaining = h.type === "File" || h.type === "OldFile" || h.type === "ContiguousFile" ? padded(size) : 0;
  }

  override _flush(done: TransformCallback): void {
    done(this.headerBytes > 0 ? new Error("the archive ended inside a header") : null);
  }
}

/** The `size` record of a PAX extended header's data, if any. */
function paxSize(data: Buffer): number | undefined {
  const m = /(?:^|\n)\d+ size=(\d+)\n/.exec(data.toString("utf8"));
  return m ? Number(m[1]) : undefined;
}
