/**
 * A job's backups form a chain: each manifest names the backup before it (previous_id).
 * Each target holds a signed head for each job: the newest backup there and every backup the
 * chain passes over there on purpose (pruned, or never copied). A backup missing from the
 * chain that the head does not excuse was removed by someone else.
 */

/** A backup as the catalog knows it on one target, and the state of its copy there. */
export interface ChainLink {
  id: string;
  previous_id: string | null;
  state: "pending" | "written" | "verified" | "corrupt" | "missing" | "deleted";
}

export interface HeadContent {
  /** The newest backup with a good copy there (null: none yet). */
  newest: string | null;
  /** Backups named as the one before a backup kept there that drd does not keep there: pruned, or not copied (yet). */
  absent: string[];
}

/** Copies drd wrote and did not remove: what should be on the target. */
const KEPT = new Set<ChainLink["state"]>(["written", "verified", "corrupt", "missing"]);

/**
 * What a job's head on a target says, from the catalog's view (newest first). A copy the
 * catalog found missing or corrupt is not excused: only what drd itself left out is.
 */
export function headContent(links: readonly ChainLink[]): HeadContent {
  const byId = new Map(links.map((l) => [l.id, l]));
  const newest = links.find((l) => l.state === "written" || l.state === "verified")?.id ?? null;
  const absent = new Set<string>();
  for (const l of links) {
    if (!KEPT.has(l.state) || l.previous_id === null) continue;
    const before = byId.get(l.previous_id);
    if (!before || before.state === "pending" || before.state === "deleted") absent.add(l.previous_id);
  }
  return { newest, absent: [...absent].sort() };
}

/** A backup found on a target: its id and the one its manifest names before it. */
export interface FoundBackup {
  id: string;
  previous_id: string | null;
}

/**
 * What a target's trusted manifests and the job's head there say together: each backup that
 * a present one names as the one before it, that is not there and not excused by the head;
 * the head's newest, when it is not there. `elsewhere` are ids present but unusable (an
 * invalid manifest), reported on their own.
 */
export function chainBreaks(found: readonly FoundBackup[], head: HeadContent, elsewhere: ReadonlySet<string> = new Set()): string[] {
  const present = new Set(found.map((f) => f.id));
  const excused = new Set(head.absent);
  const problems: string[] = [];
  if (head.newest && !present.has(head.newest) && !elsewhere.has(head.newest))
    problems.push(`the newest backup the job's signed head names, ${head.newest}, is not there (deleted, or rolled back)`);
  for (const f of found) {
    const p = f.previous_id;
    if (p === null || present.has(p) || elsewhere.has(p) || excused.has(p)) continue;
    problems.push(`backup ${p}, which ${f.id} names as the one before it, is not there and no prune removed it`);
  }
  return problems;
}
