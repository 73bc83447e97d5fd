import { dirname } from "node:path";
import { UsageError } from "../../errors.js";
import type { FileEntry } from "../../manifest.js";
import type { FilesListing } from "./listing.js";
import { pathParts } from "./entry-rules.js";

/**
 * Which entries of a files backup a restore writes, and where: `select` keeps an entry at or
 * below one of the given paths (all when empty); `strip` removes a leading directory, so
 * `/etc/sysmanage` restored with strip `etc` lands as `DIR/sysmanage`. Paths are archive
 * paths as parts (relative to `/`).
 */
export interface PathMapping {
  select: string[][];
  strip: string[];
}

export const WHOLE_TREE: PathMapping = { select: [], strip: [] };

const isPrefix = (prefix: string[], parts: string[]) => prefix.length <= parts.length && prefix.every((p, i) => parts[i] === p);

/**
 * The directory every archived entry lies in: the common prefix of their parent
 * directories. A job of /etc/sysmanage archives etc/sysmanage and what is below it, so
 * this is etc; a job of /etc/a and /var/b gives the root (nothing stripped).
 */
export function defaultStrip(paths: readonly string[]): string[] {
  const parents = paths.map((p) => asParts(dirname(p.replace(/^\/+/, ""))) ?? []);
  if (parents.length === 0) return [];
  let common = parents[0]!;
  for (const p of parents.slice(1)) {
    let i = 0;
    while (i < common.length && i < p.length && common[i] === p[i]) i++;
    common = common.slice(0, i);
  }
  return common;
}

/**
 * Where an archive entry goes: its parts below `strip`, "skip" when it is not selected or
 * is `strip` itself or one of its ancestors (the restore directory stands for it), or
 * "outside" when it lies elsewhere.
 */
export function mapEntry(parts: string[], m: PathMapping): string[] | "skip" | "outside" {
  if (m.select.length > 0 && !m.select.some((s) => isPrefix(s, parts))) return "skip";
  if (isPrefix(parts, m.strip)) return m.strip.length === 0 && parts.length === 0 ? [] : "skip";
  if (!isPrefix(m.strip, parts)) return "outside";
  return parts.slice(m.strip.length);
}

/**
 * The mapping a restore's flags ask for, checked against the backup's manifest before any
 * download: each --path must name something the backup holds, and every entry restored
 * must lie below the prefix stripped.
 */
export function resolveMapping(files: FilesListing, flags: { paths?: string[]; stripPrefix?: string; fullPaths?: boolean }): PathMapping {
  if (flags.fullPaths && flags.stripPrefix !== undefined) throw new UsageError("give --strip-prefix or --full-paths, not both");
  // The default comes from the entries themselves (what the archive holds), not the config.
  const strip = flags.fullPaths ? [] : flags.stripPrefix !== undefined ? flagParts(flags.stripPrefix, "--strip-prefix") : defaultStrip(files.entries.map((e) => e.path).filter((p) => asParts(p)));
  const select = (flags.paths ?? []).map((p) => flagParts(p, "--path"));
  const mapping = { select, strip };
  // An unsafe manifest path is left to the integrity checks after extraction (exit 3).
  const entries = files.entries.flatMap((e) => {
    const parts = asParts(e.path);
    return parts ? [{ entry: e, parts }] : [];
  });
  for (const [i, s] of select.entries()) {
    if (!entries.some((e) => isPrefix(s, e.parts)))
      throw new UsageError(`--path ${flags.paths![i]} matches nothing in this backup (it holds ${files.paths.join(", ")})`);
  }
  const outside = entries.find((e) => mapEntry(e.parts, mapping) === "outside");
  if (outside)
    throw new UsageError(`--strip-prefix ${flags.stripPrefix} would leave out /${outside.parts.join("/")}: give a directory every restored path lies in, or --full-paths`);
  return mapping;
}

/** The manifest's entries as a restore with `m` writes them, under their new paths. */
export function mappedEntries(entries: readonly FileEntry[], m: PathMapping): FileEntry[] {
  const out: FileEntry[] = [];
  for (const e of entries) {
    const parts = asParts(e.path);
    // Unsafe: kept as listed, for the manifest check to refuse.
    if (!parts) out.push(e);
    else {
      const mapped = mapEntry(parts, m);
      if (Array.isArray(mapped)) out.push({ ...e, path: mapped.length === 0 ? "." : mapped.join("/") });
    }
  }
  return out;
}

/** A manifest path as parts; undefined when unsafe. */
function asParts(path: string): string[] | undefined {
  const parts = pathParts(path.replace(/^\/+/, ""));
  return typeof parts === "string" ? undefined : parts;
}

function flagParts(path: string, flag: string): string[] {
  if (!path.startsWith("/")) throw new UsageError(`${flag} takes an absolute path as it was backed up (e.g. /etc/sysmanage), not ${path}`);
  const parts = pathParts(path.replace(/^\/+/, ""));
  if (typeof parts === "string") throw new UsageError(`${flag} ${path}: ${parts}`);
  return parts;
}
