import type { Readable } from "node:stream";
import { IntegrityError } from "../../errors.js";
import { checkFileEntry, type FileEntry } from "../../manifest.js";

/** What a files restore knows of the archive before extracting it: the job's paths and every entry. */
export interface FilesListing {
  paths: string[];
  entries: FileEntry[];
}

/** A path is at most 4096 bytes, a link target too: no line of a listing comes near this. */
const MAX_LINE = 64 * 1024;
/** Whatever a listing declares, no more than this is read into memory. */
const MAX_LISTING_BYTES = 1 << 30;

/**
 * Reads a listing artifact's plain bytes: one JSON entry per line, each checked like the
 * manifest, exactly `expected` of them (the manifest's entry_count). Lines are split as
 * the bytes arrive and none may grow past MAX_LINE, so a hostile listing cannot make this
 * hold more than its declared entries.
 */
export async function readListing(plain: Readable, expected: number): Promise<FileEntry[]> {
  const entries: FileEntry[] = [];
  const fail = (why: string) => new IntegrityError(`the backup's listing is invalid: ${why}; restore refused`);
  let partial: Buffer[] = [];
  let partialBytes = 0;
  const take = (line: Buffer) => {
    if (entries.length >= expected) throw fail(`it lists more than the ${expected} entries its manifest declares`);
    const entry = checkFileEntry(line.toString("utf8"));
    if (typeof entry === "string") throw fail(`line ${entries.length + 1}: ${entry}`);
    entries.push(entry);
  };
  let total = 0;
  try {
    for await (const chunk of plain) {
      total += (chunk as Buffer).length;
      if (total > MAX_LISTING_BYTES) throw fail(`it is more than ${MAX_LISTING_BYTES} bytes`);
      let rest = chunk as Buffer;
      for (let nl = rest.indexOf(0x0a); nl !== -1; nl = rest.indexOf(0x0a)) {
        take(partial.length ? Buffer.concat([...partial, rest.subarray(0, nl)]) : rest.subarray(0, nl));
        partial = [];
        partialBytes = 0;
        rest = rest.subarray(nl + 1);
      }
      partialBytes += rest.length;
      if (partialBytes > MAX_LINE) throw fail(`line ${entries.length + 1} is longer than ${MAX_LINE} bytes`);
      if (rest.length) partial.push(rest);
    }
  } catch (err) {
    plain.destroy();
    throw err;
  }
  if (partialBytes > 0) throw fail("its last line is cut off");
  if (entries.length !== expected) throw fail(`it lists ${entries.length} entries, its manifest declares ${expected}`);
  return entries;
}

/**
 * How many plain bytes a tar of these entries can take: their contents, each padded to
 * 512-byte blocks, a header and a PAX header (long names) per entry, the end blocks and
 * the last record's padding. Extraction stops past it.
 */
export function tarBound(entries: readonly FileEntry[]): number {
  let bytes = 2 * 10240;
  for (const e of entries) bytes += Math.ceil(e.size / 512) * 512 + 3 * 512 + 2 * Math.ceil((e.path.length + (e.link?.length ?? 0)) / 512) * 512;
  return bytes;
}
