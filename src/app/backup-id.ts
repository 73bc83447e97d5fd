import { randomBytes } from "node:crypto";

/** `<job>-<UTC time>-<4 hex>`: sorts by time, readable, unique even for two runs in one second. */
export function newBackupId(job: string, at: number): string {
  const stamp = new Date(at).toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  return `${job}-${stamp}-${randomBytes(2).toString("hex")}`;
}
