import { parseManifest, type BackupRow } from "../catalog/catalog.js";
import { parseLsn, segmentOf } from "../policy/wal.js";

/** Where a cluster job's base backup begins in the WAL: the first segment a restore from it reads. */
export interface BaseStart {
  timeline: number;
  segmentSize: number;
  segment: bigint;
}

/** The earliest start among these backups of a cluster job (their manifests say it), or none when none is a base backup. */
export function oldestBaseStart(rows: readonly Pick<BackupRow, "manifest">[]): BaseStart | undefined {
  let oldest: BaseStart | undefined;
  for (const row of rows) {
    const m = parseManifest(row);
    if (m.kind !== "postgres_cluster") continue;
    const { timeline, wal_segment_size: segmentSize, start_lsn } = m.cluster;
    const segment = segmentOf(timeline, parseLsn(start_lsn), segmentSize).number;
    if (!oldest || segment < oldest.segment) oldest = { timeline, segmentSize, segment };
  }
  return oldest;
}
