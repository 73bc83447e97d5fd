import type { CompressionConfig } from "./config/schema.js";
import type { EncryptionInfo } from "./pipeline/encrypt.js";

/**
 * The manifest sits beside a backup's artifacts on every target and holds everything a
 * restore or a drill needs, so a bare machine with only the config and the target can
 * recover. It is written once, last: a backup without its manifest is not a backup.
 */
export const MANIFEST_FORMAT = "drd-manifest/1";

export interface ArtifactEntry {
  /** File name within the backup, with extensions that say what it is (`app.dump.zst.gpg`). */
  name: string;
  role: "database" | "globals" | "files";
  /** For role "database": which database it holds. */
  database?: string;
  /** The format of the innermost content: what opens it after decompression/decryption. */
  format: "pg_dump-custom" | "sql" | "tar";
  size: number;
  sha256: string;
  /** sha256 of each consecutive piece, so a restore can check and use the bytes as they arrive. */
  pieces?: ArtifactPieces;
}

export interface ArtifactPieces {
  /** Bytes per piece; the last piece may be shorter. */
  size: number;
  sha256: string[];
}

export interface TableCount {
  schema: string;
  table: string;
  rows: number;
}

export interface DatabaseDetails {
  name: string;
  size_bytes: number;
  tables: TableCount[];
}

export interface PostgresDetails {
  server_version: string;
  server_version_num: number;
  databases: DatabaseDetails[];
  globals: boolean;
}

export interface FileEntry {
  path: string;
  type: "file" | "directory" | "symlink" | "other";
  mode: number;
  size: number;
  /** Regular files only. */
  sha256?: string;
  /** Symlinks only. */
  link?: string;
}

export interface FilesDetails {
  paths: string[];
  entry_count: number;
  entries: FileEntry[];
  /** What was left out: unreadable paths (with `skip_unreadable`), sockets and devices. */
  skipped: { path: string; reason: string }[];
}

interface ManifestBase {
  format: typeof MANIFEST_FORMAT;
  id: string;
  job: string;
  host: string;
  /**
   * The job's backup before this one when it was made (null for the first): with job, id
   * and host under the signature, a backup cannot be moved to another place or dropped
   * from the middle of the sequence unnoticed.
   */
  previous_id?: string | null;
  drd_version: string;
  snapshot_at: string;
  finished_at: string;
  compression: { algorithm: CompressionConfig["algorithm"]; level: number | null };
  encryption: EncryptionInfo | null;
  artifacts: ArtifactEntry[];
}

export type Manifest =
  | (ManifestBase & { kind: "postgres"; postgres: PostgresDetails })
  | (ManifestBase & { kind: "files"; files: FilesDetails });

export type BackupKind = Manifest["kind"];

export function manifestSize(m: Manifest): number {
  return m.artifacts.reduce((sum, a) => sum + a.size, 0);
}
