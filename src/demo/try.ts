/** What to try while the demo runs; the README shows the same block, and a test runs it. */
export const TRY_THESE = [
  ["drctl status", "per job: age against the RPO, copies, the last drill against the RTO"],
  ["drctl list database", "backups with their copies and the policy verdict"],
  ["drctl events --limit 20", "failures, breaches, recoveries, alerts, drills"],
  ["drctl verify --job config", "re-read every copy against its sha256"],
  ["drctl drill certificates", "a drill now: decrypt, restore, check, measure"],
  ["drctl restore config --to-dir /tmp/restored-config", "files, as they were"],
  ["drctl restore database --to-db shop_copy", "a new database beside the original"],
] as const;
