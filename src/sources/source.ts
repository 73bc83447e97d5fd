import type { SlotFound } from "../wal/slot.js";
import type { Readable } from "node:stream";
import type { ArtifactEntry, ClusterDetails, FilesDetails, PostgresDetails } from "../manifest.js";

export interface ArtifactSpec {
  /** Name before the compression and encryption extensions, e.g. `app.dump`. */
  baseName: string;
  role: ArtifactEntry["role"];
  database?: string;
  format: ArtifactEntry["format"];
}

/** Where a source sends each artifact's raw bytes; compression, encryption and storage are the sink's business. */
export interface ArtifactSink {
  /**
   * Streams `raw` into the backup and resolves once the artifact is durable. `producerDone`
   * must resolve only when whatever produced `raw` succeeded (a process that exited 0):
   * until then the artifact is not committed.
   */
  write(spec: ArtifactSpec, raw: Readable, producerDone: () => Promise<unknown>): Promise<ArtifactEntry>;
}

export interface SourceContext {
  sink: ArtifactSink;
  signal: AbortSignal;
}

export type SourceResult =
  | { kind: "postgres"; postgres: PostgresDetails }
  | { kind: "files"; files: FilesDetails }
  | { kind: "postgres_cluster"; cluster: ClusterDetails; /** What the backup found of the job's slot (stream mode), before it made one. */ slot?: SlotFound };
