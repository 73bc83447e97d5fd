import { createHash } from "node:crypto";
import { once } from "node:events";
import { pipeline, Readable, Transform, type TransformCallback } from "node:stream";
import * as tar from "tar";
import type { FilesJobConfig } from "../config/schema.js";
import { OperationError } from "../errors.js";
import { SKIPPED_LISTED, type FileEntry, type FilesDetails } from "../manifest.js";
import type { SourceContext, SourceResult } from "./source.js";
import { NameOwners, OwnerNames } from "./tar-names.js";
import { walk } from "./walk.js";

const LISTED_IN_ERRORS = 10;

/**
 * A tar archive of the job's paths. Entries are stored relative to "/" (so they extract
 * under any directory), symlinks stay symlinks, and the manifest's per-file sha256 values
 * are computed from the archive stream itself: they describe exactly what was archived.
 */
export async function backupFiles(job: FilesJobConfig, ctx: SourceContext): Promise<SourceResult> {
  const found = await walk(job.paths, job.exclude);
  if (found.unreadable.length > 0 && !job.skip_unreadable) {
    const shown = found.unreadable.slice(0, LISTED_IN_ERRORS).join(", ");
    const more = found.unreadable.length > LISTED_IN_ERRORS ? ` and ${found.unreadable.length - LISTED_IN_ERRORS} more` : "";
    throw new OperationError(`cannot read ${found.unreadable.length} path(s): ${shown}${more} (set skip_unreadable: true to skip them)`);
  }
  if (found.include.length === 0) throw new OperationError("nothing to archive: every path is excluded");

  const archive = tar.c(
    // strict: a warning (an entry that could not be read) is an error, never a silent gap.
    // maxReadSize: node-tar reads 16 MiB per chunk by default, which dominated peak memory.
    // Not portable: modes exactly, numeric owners and every entry's mtime (directories too).
    { cwd: "/", portable: false, noDirRecurse: true, follow: false, strict: true, maxReadSize: 1 << 20 },
    found.include.map((p) => p.slice(1) || "."),
  );
  const lister = new ArchiveLister();
  let tarError: Error | undefined;
  const raw = lister;
  // pipeline, not pipe: a failure anywhere (an unreadable file, an owner's name that cannot
  // be looked up) ends the stream the backup reads, so the run fails instead of waiting.
  pipeline(archive, new NameOwners(new OwnerNames()), lister, (err) => {
    if (!err || tarError) return;
    tarError = err instanceof OperationError ? err : new OperationError(`archiving failed: ${err.message}`);
    lister.destroy(tarError);
  });

  await ctx.sink.write({ baseName: "files.tar", role: "files", format: "tar" }, raw, async () => {
    await lister.done;
    if (tarError) throw tarError;
  });
  // The entries go in an artifact of their own, one JSON line each: the manifest stays
  // small (and within what readers accept) however many files the job holds.
  await ctx.sink.write({ baseName: "files.listing.jsonl", role: "listing", format: "jsonl" }, Readable.from(listingLines(lister.entries)), async () => undefined);
  const skipped = [
    ...found.unreadable.map((path) => ({ path, reason: "unreadable" })),
    ...found.unsupported.map((path) => ({ path, reason: "not a file, directory or symlink" })),
  ];
  const files: FilesDetails = {
    paths: job.paths,
    entry_count: lister.entries.length,
    skipped: skipped.slice(0, SKIPPED_LISTED),
    skipped_count: skipped.length,
  };
  return { kind: "files", files };
}

/** The listing's lines, in buffers of about 1 MiB. */
function* listingLines(entries: FileEntry[]): Generator<Buffer> {
  let lines: string[] = [];
  let size = 0;
  for (const e of entries) {
    const line = `${JSON.stringify(e)}\n`;
    lines.push(line);
    size += line.length;
    if (size >= 1 << 20) {
      yield Buffer.from(lines.join(""));
      lines = [];
      size = 0;
    }
  }
  if (lines.length > 0) yield Buffer.from(lines.join(""));
}

/** Passes a tar stream through while reading its entries and hashing each regular file. */
class ArchiveLister extends Transform {
  readonly entries: FileEntry[] = [];
  private readonly parser = new tar.Parser({ strict: true, onReadEntry: (e) => this.onEntry(e) });
  private parseError: Error | undefined;
  readonly done: Promise<void>;

  constructor() {
    super();
    this.parser.on("error", (err: unknown) => (this.parseError = err as Error));
    this.done = once(this, "finish").then(() => undefined);
  }

  private onEntry(e: tar.ReadEntry): void {
    const entry: FileEntry = {
      path: e.path,
      type: e.type === "File" || e.type === "OldFile" ? "file" : e.type === "Directory" ? "directory" : e.type === "SymbolicLink" ? "symlink" : "other",
      mode: e.mode ?? 0,
      size: e.size ?? 0,
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      ...(e.uname ? { user: e.uname } : {}),
      ...(e.gname ? { group: e.gname } : {}),
      ...(e.mtime ? { mtime: Math.floor(e.mtime.getTime() / 1000) } : {}),
    };
    if (entry.type === "symlink") entry.link = e.linkpath;
    this.entries.push(entry);
    if (entry.type === "file") {
      const hash = createHash("sha256");
      e.on("data", (chunk: Buffer) => hash.update(chunk));
      e.on("end", () => (entry.sha256 = hash.digest("hex")));
    } else {
      e.resume();
    }
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.parser.write(chunk);
    done(this.parseError ?? null, chunk);
  }

  override _flush(done: TransformCallback): void {
    this.parser.end(() => done(this.parseError ?? null));
  }
}
