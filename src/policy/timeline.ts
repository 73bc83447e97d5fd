/*
 * Timelines, pure: what a timeline history file says, the path of timelines a replay
 * follows from a base backup to a target timeline, and which timeline's file of each
 * segment it reads. As PostgreSQL does: a promotion starts a new timeline at a switch
 * point, and `0000000N.history` lists every ancestor of timeline N with the LSN where its
 * child branched off it.
 */
import { formatLsn, parseLsn, type Lsn } from "./wal.js";

/** One line of a history file: a parent timeline, and where its child branched off it. */
export interface HistoryEntry {
  parent: number;
  switchAt: Lsn;
}

/** A stretch of a path: a timeline from where it began (0 for the first) to where the next branched off it (none for the last). */
export interface TimelineSpan {
  timeline: number;
  begin: Lsn;
  end: Lsn | undefined;
}

/** The text of `0000000N.history`: lines "parent<TAB>X/Y<TAB>reason", comments and blank lines aside. Throws on anything else. */
export function parseHistory(text: string, timeline: number): HistoryEntry[] {
  const entries: HistoryEntry[] = [];
  for (const line of text.split("\n")) {
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const m = /^(\d{1,10})\s+([0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8})(?:\s|$)/.exec(trimmed);
    if (!m) throw new Error(`not a timeline history line: ${JSON.stringify(trimmed.slice(0, 80))}`);
    const entry = { parent: Number(m[1]), switchAt: parseLsn(m[2]!) };
    const last = entries.at(-1);
    // PostgreSQL writes ancestors oldest first, each branching no earlier than the one before.
    if (entry.parent >= timeline || (last && (entry.parent <= last.parent || entry.switchAt < last.switchAt)))
      throw new Error(`timeline ${timeline}'s history is out of order at ${JSON.stringify(trimmed.slice(0, 80))}`);
    entries.push(entry);
  }
  return entries;
}

/** Timeline `target` and its ancestors, oldest first, as its history (empty for a first timeline) lists them. */
export function pathTo(target: number, history: readonly HistoryEntry[]): TimelineSpan[] {
  const spans: TimelineSpan[] = [];
  let begin = 0n;
  for (const e of history) {
    spans.push({ timeline: e.parent, begin, end: e.switchAt });
    begin = e.switchAt;
  }
  spans.push({ timeline: target, begin, end: undefined });
  return spans;
}

/** Where a base backup lies: its timeline, and the LSN where it is consistent. */
export interface BaseOnTimeline {
  timeline: number;
  end: Lsn;
}

export type TimelineChoice = { ok: true; path: TimelineSpan[] } | { ok: false; reason: string };

/**
 * The path a replay from `base` follows to timeline `want`, from the base's timeline on: `want`
 * must have the base's timeline among its ancestors (or be it), branched off it no earlier
 * than where the base is consistent. `latest`: the highest timeline that does, as PostgreSQL's
 * recovery_target_timeline = 'latest' (which takes the highest the archive has, and fails when
 * that one is no descendant). `histories` holds each archived history file, by timeline.
 */
export function timelinePath(base: BaseOnTimeline, want: number | "latest", histories: ReadonlyMap<number, readonly HistoryEntry[]>): TimelineChoice {
  if (want === "latest") {
    const candidates = [...new Set([base.timeline, ...histories.keys()])].sort((a, b) => b - a);
    for (const tl of candidates) {
      const choice = timelinePath(base, tl, histories);
      if (choice.ok) return choice;
    }
    return { ok: false, reason: `no timeline descends from timeline ${base.timeline}` };
  }
  // Timeline 1 has no history file: it has no ancestors.
  const history = histories.get(want) ?? (want === 1 ? [] : undefined);
  if (history === undefined && want !== base.timeline) return { ok: false, reason: `timeline ${want} has no history file in the archive` };
  const path = pathTo(want, history ?? []);
  const at = path.findIndex((s) => s.timeline === base.timeline);
  if (at === -1) return { ok: false, reason: `timeline ${want} does not descend from timeline ${base.timeline}` };
  const from = path[at]!;
  if (from.end !== undefined && from.end < base.end)
    return { ok: false, reason: `timeline ${want} branched off timeline ${base.timeline} at ${formatLsn(from.end)}, before ${formatLsn(base.end)}` };
  return { ok: true, path: path.slice(at) };
}

/**
 * The timeline whose file of segment number `n` a replay along `path` reads: the newest on
 * the path that began in or before the segment, so the segment holding a switch point comes
 * from the new timeline (PostgreSQL copies the old timeline's part into it at the switch).
 */
export function timelineOfSegment(path: readonly TimelineSpan[], n: bigint, segmentSize: number): number {
  for (let i = path.length - 1; i > 0; i--) if (path[i]!.begin / BigInt(segmentSize) <= n) return path[i]!.timeline;
  return path[0]!.timeline;
}

/** History file name of a timeline: 8 hex digits, as PostgreSQL names it (hex, not decimal: timeline 10 is 0000000A). */
export function historyName(timeline: number): string {
  return `${timeline.toString(16).toUpperCase().padStart(8, "0")}.history`;
}

/** The timeline a history file name names, or undefined. */
export function parseHistoryName(name: string): number | undefined {
  const m = /^([0-9A-F]{8})\.history$/.exec(name);
  return m ? Number.parseInt(m[1]!, 16) : undefined;
}
