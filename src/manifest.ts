import { z } from "zod";

/**
 * The manifest sits beside a backup's artifacts on every target and holds everything a
 * restore or a drill needs, so a bare machine with only the config and the target can
 * recover. It is written once, last: a backup without its manifest is not a backup.
 *
 * Whoever can write to a target can write a manifest, so every manifest is untrusted input
 * until `checkManifest` has bounded and validated it: the only way to get a `Manifest`.
 * The writer keeps to the same bounds; a files backup's per-file entries live in a listing
 * artifact, read as a stream, so the manifest stays small whatever the job holds.
 */
export const MANIFEST_FORMAT = "drd-manifest/1";
/** No manifest drd writes comes near this; a bigger one is refused unread. */
export const MANIFEST_MAX_BYTES = 1 << 20;
/** An armored detached signature is under 1 KiB. */
export const SIGNATURE_MAX_BYTES = 64 << 10;
/** The skipped paths a files manifest lists by name; `skipped_count` counts them all. */
export const SKIPPED_LISTED = 100;

const count = z.int().min(0).max(Number.MAX_SAFE_INTEGER);
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, { message: "not a sha256 in hex" });
const time = z.iso.datetime({ offset: true });
const text = (max: number) => z.string().max(max);
/** One path segment: never "", "." or "..", never a "/" (database names are %-escaped into it). */
const fileName = z.string().regex(/^[A-Za-z0-9_%-][A-Za-z0-9._%-]{0,254}$/, { message: "not a plain file name" });
const jobName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/, { message: "not a job name" });
const backupId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/, { message: "not a backup id" });
const archivePath = text(4096);

const artifactPieces = z.object({
  /** Bytes per piece; the last piece may be shorter. */
  size: z.int().min(1).max(2 ** 40),
  sha256: z.array(sha256).max(100_000),
});

const artifactEntry = z.object({
  /** File name within the backup, with extensions that say what it is (`app.dump.zst.gpg`). */
  name: fileName,
  /** database and globals: dumps; files: the tar; listing: the files backup's entries, one JSON line each; base: a cluster's base backup (pg_basebackup -Ft). */
  role: z.enum(["database", "globals", "files", "listing", "base"]),
  /** For role "database": which database it holds. */
  database: text(255).optional(),
  /** The format of the innermost content: what opens it after decompression/decryption. */
  format: z.enum(["pg_dump-custom", "sql", "tar", "jsonl"]),
  size: count,
  sha256,
  /** Bytes before compression and encryption: a restore stops a stream that grows past it. */
  content_size: count.optional(),
  /** sha256 of each consecutive piece, so a restore can check and use the bytes as they arrive. */
  pieces: artifactPieces.optional(),
});

const tableCount = z.object({ schema: text(255), table: text(255), rows: count });

const databaseDetails = z.object({ name: text(255), size_bytes: count, tables: z.array(tableCount).max(100_000) });

const postgresDetails = z.object({
  server_version: text(64),
  server_version_num: count,
  databases: z.array(databaseDetails).max(10_000),
  globals: z.boolean(),
});

export const fileEntrySchema = z.object({
  path: archivePath,
  type: z.enum(["file", "directory", "symlink", "other"]),
  mode: z.int().min(0).max(0o177777),
  size: count,
  /** Regular files only. */
  sha256: sha256.optional(),
  /** Symlinks only. */
  link: archivePath.optional(),
  /** The owner, by number and (where the backed-up host had one) by name; listings of earlier versions lack them. */
  uid: count.optional(),
  gid: count.optional(),
  user: text(255).optional(),
  group: text(255).optional(),
  /** Seconds since the epoch. */
  mtime: z.int().optional(),
});

/** A restore holds a files backup's entries in memory (a few hundred bytes each): no backup may declare more. */
export const MAX_ENTRIES = 5_000_000;

const filesDetails = z.object({
  paths: z.array(archivePath).max(10_000),
  entry_count: z.int().min(0).max(MAX_ENTRIES),
  /** Manifests of earlier versions list the entries here; newer ones in the listing artifact. */
  entries: z.array(fileEntrySchema).optional(),
  /** What was left out: unreadable paths (with `skip_unreadable`), sockets and devices; the first SKIPPED_LISTED. */
  skipped: z.array(z.object({ path: archivePath, reason: text(255) })).max(SKIPPED_LISTED * 10),
  /** How many paths were left out in all (absent: as many as `skipped` lists). */
  skipped_count: count.optional(),
});

const lsn = z.string().regex(/^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/, { message: "must be an LSN (X/Y in upper-case hex)" });

/** Most user tables a base backup's restore point counts; a database with more has the first ones (by schema and name) counted. */
export const RESTORE_POINT_TABLES = 1000;

/**
 * The named restore point drd makes right after a base backup (pg_create_restore_point), and
 * what the job's database held there: its user tables' exact row counts, which a drill
 * restored to that point compares. `counted`: the counts; `uncounted`: the point without
 * counts (the tables could not be locked in time, or the role may not), and why; `none`: no
 * restore point (the role may not make one), and why. A backup never fails for it.
 */
const restorePoint = z.discriminatedUnion("state", [
  z.object({
    state: z.literal("counted"),
    name: text(63),
    lsn,
    database: text(255),
    tables: z.array(tableCount).max(RESTORE_POINT_TABLES),
    /** The database's user tables: more than `tables` lists when the cap left some out. */
    tables_total: count,
  }),
  z.object({ state: z.literal("uncounted"), name: text(63), lsn, database: text(255), reason: text(1000) }),
  z.object({ state: z.literal("none"), reason: text(1000) }),
]);

/** A physical base backup: where its WAL starts and ends, which the backup needs to be consistent. */
const clusterDetails = z.object({
  server_version_num: count,
  /** pg_control's system identifier: WAL from another cluster never belongs to this backup. */
  system_identifier: z.string().regex(/^\d{1,20}$/),
  wal_segment_size: z.int().min(1 << 20).max(1 << 30),
  timeline: z.int().min(1).max(0xffffffff),
  start_lsn: lsn,
  end_lsn: lsn,
  /** The cluster's bootstrap superuser (role oid 10): a drill connects to the restored cluster as it. */
  superuser: text(63).optional(),
  /** Base backups made by earlier versions have none. */
  restore_point: restorePoint.optional(),
});

const encryptionInfo = z.discriminatedUnion("method", [
  z.object({ method: z.literal("public-key"), recipients: z.array(z.string().regex(/^[0-9A-F]{16,64}$/)).min(1).max(100) }),
  z.object({ method: z.literal("passphrase") }),
]);

const manifestBase = {
  format: z.literal(MANIFEST_FORMAT),
  id: backupId,
  job: jobName,
  host: text(255),
  /**
   * The job's backup before this one when it was made (null for the first): with job, id
   * and host under the signature, a backup cannot be moved to another place or dropped
   * from the middle of the sequence unnoticed.
   */
  previous_id: backupId.nullable().optional(),
  drd_version: text(64),
  snapshot_at: time,
  finished_at: time,
  compression: z.object({ algorithm: z.enum(["zstd", "gzip", "none"]), level: z.int().min(1).max(22).nullable() }),
  encryption: encryptionInfo.nullable(),
  artifacts: z.array(artifactEntry).min(1).max(10_000),
  /** The audit trail's line count and last line's sha256 when the backup was made: an anchor off the server. */
  audit: z.object({ lines: count, head: sha256 }).optional(),
};

const manifestSchema = z.discriminatedUnion("kind", [
  z.object({ ...manifestBase, kind: z.literal("postgres"), postgres: postgresDetails }),
  z.object({ ...manifestBase, kind: z.literal("files"), files: filesDetails }),
  z.object({ ...manifestBase, kind: z.literal("postgres_cluster"), cluster: clusterDetails }),
]);

export type ManifestData = z.infer<typeof manifestSchema>;
export type ArtifactEntry = z.infer<typeof artifactEntry>;
export type ArtifactPieces = z.infer<typeof artifactPieces>;
export type TableCount = z.infer<typeof tableCount>;
export type DatabaseDetails = z.infer<typeof databaseDetails>;
export type PostgresDetails = z.infer<typeof postgresDetails>;
export type FileEntry = z.infer<typeof fileEntrySchema>;
export type FilesDetails = z.infer<typeof filesDetails>;
export type ClusterDetails = z.infer<typeof clusterDetails>;
export type RestorePoint = z.infer<typeof restorePoint>;
export type EncryptionInfo = z.infer<typeof encryptionInfo>;

declare const checked: unique symbol;
/** A manifest that passed `checkManifest`: bounded, well-formed, every name a plain file name. */
export type Manifest = ManifestData & { readonly [checked]: true };
export type BackupKind = Manifest["kind"];

export type ManifestCheck = { ok: true; manifest: Manifest } | { ok: false; reason: string };

/** Bounds, parses and validates a manifest's text; the reason names the first problem. */
export function checkManifest(text: string): ManifestCheck {
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > MANIFEST_MAX_BYTES) return { ok: false, reason: `it is ${bytes} bytes, more than a manifest's ${MANIFEST_MAX_BYTES}` };
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `it is not JSON: ${(err as Error).message}` };
  }
  if (typeof data === "object" && data !== null && (data as { format?: unknown }).format !== MANIFEST_FORMAT)
    return { ok: false, reason: `its format is ${JSON.stringify((data as { format?: unknown }).format) ?? "missing"}, not ${MANIFEST_FORMAT}` };
  const parsed = manifestSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { ok: false, reason: `${issue.path.join(".") || "the manifest"}: ${issue.message}` };
  }
  const m = parsed.data;
  const names = new Set<string>();
  for (const a of m.artifacts) {
    if (names.has(a.name)) return { ok: false, reason: `artifact ${a.name} is listed twice` };
    names.add(a.name);
  }
  return { ok: true, manifest: m as Manifest };
}

/** A manifest's text from the catalog or a target, checked; throws `fail(reason)` when it fails. */
export function manifestFrom(text: string, fail: (reason: string) => Error): Manifest {
  const check = checkManifest(text);
  if (!check.ok) throw fail(check.reason);
  return check.manifest;
}

/** One line of a listing artifact, checked. */
export function checkFileEntry(line: string): FileEntry | string {
  let data: unknown;
  try {
    data = JSON.parse(line);
  } catch (err) {
    return `not JSON: ${(err as Error).message}`;
  }
  const parsed = fileEntrySchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return `${issue.path.join(".") || "the entry"}: ${issue.message}`;
  }
  return parsed.data;
}

export function manifestSize(m: ManifestData): number {
  return m.artifacts.reduce((sum, a) => sum + a.size, 0);
}
