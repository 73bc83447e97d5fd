import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { lchown, lstat, lutimes, open, readlink, realpath, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as tar from "tar";
import { execa } from "execa";
import { IntegrityError } from "../../errors.js";
import type { FileEntry } from "../../manifest.js";
import type { FilesListing } from "./listing.js";
import { OwnerNames } from "../../sources/tar-names.js";
import { EntryRules, manifestMismatch, pathParts } from "./entry-rules.js";
import { isFull, noSpace } from "./disk-space.js";
import { mapEntry, mappedEntries, WHOLE_TREE, type PathMapping } from "./selection.js";

/**
 * Extracts a tar stream into `dir` (new or empty), refusing hostile entries (EntryRules),
 * then checks the result against the manifest: the same entries, every file's sha256, and
 * the recorded modes set. Returns how many files matched. With a mapping, only the entries
 * it selects are written, under their stripped paths, and the rules and the manifest
 * check judge those paths: what is written is what is checked.
 */
/**
 * Whose files a restore gives back: as root, the owners recorded (by name where the name
 * exists on this host, else by number, as GNU tar does; `numeric`: always by number);
 * otherwise the files stay the restoring user's.
 */
export interface Owners {
  restore: boolean;
  numeric: boolean;
  /**
   * The backup is untrusted (restored with --allow-unsigned): its listing is somebody
   * else's word, so it gives no owners and no setuid or setgid bits.
   */
  untrusted: boolean;
}

export async function extractSafely(plain: Readable, dir: string, files: FilesListing | undefined, owners: Owners, mapping: PathMapping = WHOLE_TREE): Promise<number> {
  const rules = new EntryRules();
  let refused: string | undefined;
  const remap = (path: string): string | false | { refused: string } => {
    const parts = pathParts(path);
    if (typeof parts === "string") return { refused: parts };
    const mapped = mapEntry(parts, mapping);
    if (mapped === "skip") return false;
    if (mapped === "outside") return { refused: `the archive holds ${path}, which the manifest does not list` };
    return mapped.length === 0 ? "." : mapped.join("/");
  };
  const unpack = tar.x({
    cwd: dir,
    strict: true,
    // Paths are checked by EntryRules; this keeps symlink targets as archived.
    preservePaths: true,
    // Owners, modes and times are set afterwards, from the checked listing.
    preserveOwner: false,
    filter: (path, entry) => {
      const e = entry as tar.ReadEntry;
      if (refused) return false;
      // The whole tree: every entry as archived. A mapping renames the entries it keeps
      // (node-tar writes entry.path), and a hard link must keep its target.
      if (mapping !== WHOLE_TREE) {
        const to = remap(path);
        if (to === false) return false;
        if (typeof to === "object") {
          refused = to.refused;
          return false;
        }
        e.path = to;
        if (e.type === "Link" && e.linkpath) {
          const link = remap(e.linkpath);
          if (typeof link !== "string") {
            refused = typeof link === "object" ? `hard link ${path} points outside: ${e.linkpath}` : `${path} is a hard link to ${e.linkpath}, which the paths given leave out (add it with --path)`;
            return false;
          }
          e.linkpath = link;
        }
      }
      const problem = rules.check(e.path, e.type, e.linkpath);
      if (problem) {
        // Skip this and every later entry, and let extraction run to its end: when it
        // settles, every write already started is finished and the caller can remove it.
        refused ??= problem;
        return false;
      }
      return true;
    },
  });
  try {
    await pipeline(plain, unpack);
  } catch (err) {
    if (refused) throw new IntegrityError(`hostile archive refused: ${refused}`);
    if (isFull(err)) throw await noSpace(dir, "to restore into", files ? files.entries.reduce((n, e) => n + e.size, 0) : 0);
    throw err instanceof IntegrityError ? err : new IntegrityError(`the archive is damaged: ${(err as Error).message}`);
  }
  if (refused) throw new IntegrityError(`hostile archive refused: ${refused}`);
  if (!files) return 0;
  const expected = mapping === WHOLE_TREE ? files : { ...files, entries: mappedEntries(files.entries, mapping) };
  const mismatch = manifestMismatch(rules.accepted, expected.entries);
  if (mismatch) throw new IntegrityError(`the archive does not match its manifest: ${mismatch}`);
  return checkAgainstManifest(dir, expected, owners);
}

/**
 * Checks every regular file's sha256 against the manifest and gives every entry what was
 * recorded: its owner (as root; chown before chmod, which chown would clear of setgid), its
 * mode exactly (the process umask would otherwise narrow it) and its mtime, children before
 * their directory so a directory's time is not changed again by what is written into it.
 * Each path is opened below `dir` without following a symlink anywhere on the way, so a
 * manifest can never make this read, chown or chmod a file outside. Modes and owners are
 * read back: what the filesystem did not keep fails the restore (and a drill).
 */
async function checkAgainstManifest(dir: string, files: FilesListing, owners: Owners): Promise<number> {
  const inside = new Inside(await realpath(dir));
  const names = new OwnerNames();
  const ownerOf = async (e: FileEntry): Promise<[number, number] | undefined> => {
    if (!owners.restore || owners.untrusted || e.uid === undefined || e.gid === undefined) return undefined;
    if (owners.numeric) return [e.uid, e.gid];
    const uid = (e.user ? await names.id("passwd", e.user) : undefined) ?? e.uid;
    const gid = (e.group ? await names.id("group", e.group) : undefined) ?? e.gid;
    return [uid, gid];
  };
  /** Owner, mode and time, set and (owner and mode) read back: what the filesystem did not keep fails the restore. */
  const settle = async (entry: FileEntry, handle: FileHandle) => {
    const owner = await ownerOf(entry);
    const mode = entry.mode & (owners.untrusted ? 0o1777 : 0o7777);
    if (owner) await handle.chown(owner[0], owner[1]);
    await handle.chmod(mode);
    if (entry.mtime !== undefined) await handle.utimes(entry.mtime, entry.mtime);
    const st = await handle.stat();
    if ((st.mode & 0o7777) !== mode)
      throw new IntegrityError(`restored ${entry.path} has mode ${(st.mode & 0o7777).toString(8)}, the manifest records ${mode.toString(8)}: the filesystem of ${dir} does not keep modes`);
    if (owner && (st.uid !== owner[0] || st.gid !== owner[1]))
      throw new IntegrityError(`restored ${entry.path} is owned by ${st.uid}:${st.gid}, not ${owner[0]}:${owner[1]}: the filesystem of ${dir} does not keep owners`);
  };
  let checked = 0;
  // Files and symlinks at once, each opened once: its sha256, its zero runs given back as
  // holes (node-tar writes every byte), then what it is given.
  await eachAtOnce(
    files.entries.filter((e) => e.type !== "directory"),
    async (entry) => {
      if (entry.type === "symlink") {
        const path = await inside.symlink(entry);
        const owner = await ownerOf(entry);
        if (owner) await lchown(path, owner[0], owner[1]);
        if (entry.mtime !== undefined) await lutimes(path, entry.mtime, entry.mtime);
        return;
      }
      if (entry.type !== "file") return;
      const handle = await inside.open(entry);
      try {
        const { sha, zeros } = await digest(handle, entry.size);
        if (sha !== entry.sha256) throw new IntegrityError(`restored ${entry.path} does not match the manifest: sha256 ${sha}, expected ${entry.sha256}`);
        if (zeros >= SPARSE_AFTER) await digHoles(await inside.path(entry));
        await settle(entry, handle);
      } finally {
        await handle.close();
      }
      checked++;
    },
  );
  // Then the directories one by one, deepest first (the reverse of archive order), so a
  // directory's time is set after all that is in it.
  for (const entry of files.entries.filter((e) => e.type === "directory").reverse()) {
    // The restore directory itself keeps what the restore made it (0700): no listing changes it.
    if (inside.isRoot(entry)) continue;
    const handle = await inside.open(entry);
    try {
      await settle(entry, handle);
    } finally {
      await handle.close();
    }
  }
  return checked;
}

/** A file's sha256 and how many bytes of it lie in all-zero 4 KiB blocks; a small file in one read. */
async function digest(handle: FileHandle, size: number): Promise<{ sha: string; zeros: number }> {
  const hash = createHash("sha256");
  let zeros = 0;
  if (size <= 1 << 20) {
    // One byte more than recorded: a file that grew shows in its hash.
    const { bytesRead, buffer } = await handle.read(Buffer.allocUnsafe(size + 1), 0, size + 1, 0);
    hash.update(buffer.subarray(0, bytesRead));
    return { sha: hash.digest("hex"), zeros };
  }
  for await (const chunk of handle.createReadStream({ autoClose: false, highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    zeros += zeroBlockBytes(chunk as Buffer);
  }
  return { sha: hash.digest("hex"), zeros };
}

/** Entries handled this many at a time: each is a few small file-system calls, worth overlapping. */
const AT_ONCE = 16;

/** Runs `each` over `items`, AT_ONCE at a time; the first failure stops the rest from starting and is thrown. */
async function eachAtOnce<T>(items: readonly T[], each: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const item = items[next++]!;
      try {
        await each(item);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: Math.min(AT_ONCE, items.length) }, worker));
  const failure = results.find((r) => r.status === "rejected");
  if (failure) throw (failure as PromiseRejectedResult).reason;
}

/** Files with at least this many bytes of zero blocks get them back as holes. */
const SPARSE_AFTER = 1 << 20;
const ZEROS = Buffer.alloc(4096);

/** Bytes in 4 KiB blocks of nothing but zeros (chunks start at multiples of 4 KiB). */
function zeroBlockBytes(chunk: Buffer): number {
  let zeros = 0;
  for (let at = 0; at + ZEROS.length <= chunk.length; at += ZEROS.length) if (chunk.subarray(at, at + ZEROS.length).equals(ZEROS)) zeros += ZEROS.length;
  return zeros;
}

/**
 * Punches its zero blocks out of a restored file in place (`fallocate --dig-holes`, util-linux):
 * same bytes, no disk behind the zeros. A filesystem or a mode that will not allow it leaves
 * the file as it is, whole and checked.
 */
async function digHoles(path: string): Promise<void> {
  await execa("fallocate", ["--dig-holes", path], { reject: false, timeout: 600_000 });
}

/**
 * Entries below the restore's root, reached without following a symlink anywhere on the
 * way: each parent must resolve to itself (checked once per directory), and the entry is
 * opened with O_NOFOLLOW.
 */
class Inside {
  private readonly parents = new Map<string, Promise<string | undefined>>();

  constructor(readonly root: string) {}

  /** Whether the entry stands for the root itself (".", a backup of "/" restored with full paths). */
  isRoot(entry: FileEntry): boolean {
    const parts = pathParts(entry.path);
    return typeof parts !== "string" && parts.length === 0;
  }

  /** The entry's path below the root, its parent checked. */
  async path(entry: FileEntry): Promise<string> {
    const parts = pathParts(entry.path);
    if (typeof parts === "string") throw new IntegrityError(`the manifest lists an unsafe path: ${parts}`);
    const expected = join(this.root, ...parts.slice(0, -1));
    let resolved = this.parents.get(expected);
    if (!resolved) {
      resolved = realpath(expected).catch(() => undefined);
      this.parents.set(expected, resolved);
    }
    const parent = await resolved;
    if (parent === undefined) throw new IntegrityError(`restored ${entry.path} is missing`);
    if (parent !== expected) throw new IntegrityError(`restored ${entry.path} lies below a symlink (${parent}); restore refused`);
    const name = parts[parts.length - 1];
    return name === undefined ? this.root : join(parent, name);
  }

  async open(entry: FileEntry): Promise<FileHandle> {
    const path = await this.path(entry);
    const flags = constants.O_RDONLY | constants.O_NOFOLLOW | (entry.type === "directory" ? constants.O_DIRECTORY : 0);
    let handle: FileHandle;
    try {
      handle = await open(path, flags);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT") throw new IntegrityError(`restored ${entry.path} is missing`);
      throw new IntegrityError(`restored ${entry.path} is not the ${entry.type} the manifest lists (${code})`);
    }
    const info = await handle.stat();
    if (entry.type === "file" ? !info.isFile() : !info.isDirectory()) {
      await handle.close();
      throw new IntegrityError(`restored ${entry.path} is not the ${entry.type} the manifest lists`);
    }
    return handle;
  }

  /** The symlink's path, once it is the symlink the manifest lists. */
  async symlink(entry: FileEntry): Promise<string> {
    const path = await this.path(entry);
    const info = await lstat(path).catch(() => undefined);
    if (!info?.isSymbolicLink()) throw new IntegrityError(`restored ${entry.path} is not the symlink the manifest lists`);
    const link = await readlink(path);
    if (entry.link !== undefined && link !== entry.link) throw new IntegrityError(`restored symlink ${entry.path} points at ${link}, the manifest says ${entry.link}`);
    return path;
  }
}
