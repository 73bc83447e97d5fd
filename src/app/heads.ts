import { Readable } from "node:stream";
import { z } from "zod";
import type { AuditAnchor } from "../audit/trail.js";
import { describeError } from "../errors.js";
import { chainBreaks, headContent, type HeadContent } from "../policy/chain.js";
import { sha256Hex } from "../pipeline/digest.js";
import type { Target } from "../targets/target.js";
import type { AppContext } from "./context.js";
import { readBounded, type InvalidManifest, type ManifestRecord } from "./manifests.js";

/**
 * Each job's signed head on each target (`<job>/head.json`): a sequence number that only
 * grows, the newest backup there, the backups the chain passes over there on purpose, and
 * the audit trail's head. One object holds the head's text and its detached signature, so a
 * reader never sees one without the other. Rewritten after every backup, copy and prune.
 */
export const HEAD_NAME = "head.json";
const HEAD_FORMAT = "drd-head/1";
const HEAD_MAX_BYTES = 4 << 20;

const id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/);
const headSchema = z.object({
  format: z.literal(HEAD_FORMAT),
  job: z.string().max(63),
  target: z.string().max(63),
  sequence: z.int().min(1).max(Number.MAX_SAFE_INTEGER),
  written_at: z.iso.datetime({ offset: true }),
  newest: id.nullable(),
  absent: z.array(id).max(200_000),
  audit: z.object({ lines: z.int().min(0), head: z.string().regex(/^[0-9a-f]{64}$/) }).optional(),
});
export type JobHead = z.infer<typeof headSchema>;

const wrapperSchema = z.object({ format: z.literal(HEAD_FORMAT), text: z.string(), signature: z.string().max(64 << 10) });

/**
 * Writes the job's head to each of `targets` (default: all the job's targets) under one new
 * sequence number, each from the catalog's view of that target. Without a signing key there
 * is nothing to vouch with, and nothing is written. A target that fails is told in an event;
 * the next write brings it up to date.
 */
export async function writeHeads(ctx: AppContext, jobName: string, targets?: string[]): Promise<void> {
  if (!ctx.config.signing) return;
  const job = ctx.config.jobs[jobName];
  if (!job) return;
  const { loadSigner } = await import("../trust/signing.js");
  const signer = await loadSigner(ctx.config.signing.key_file);
  const sequence = ctx.catalog.nextHeadSequence(jobName);
  const audit: AuditAnchor | undefined = ctx.catalog.auditAnchor();
  for (const name of targets ?? job.targets) {
    try {
      const content = headContent(ctx.catalog.chainOn(jobName, name));
      const head: JobHead = { format: HEAD_FORMAT, job: jobName, target: name, sequence, written_at: new Date(ctx.now()).toISOString(), ...content, ...(audit ? { audit } : {}) };
      const text = `${JSON.stringify(head)}\n`;
      const body = `${JSON.stringify({ format: HEAD_FORMAT, text, signature: await signer.sign(text) }, null, 2)}\n`;
      await ctx.targets.get(name).put(`${jobName}/${HEAD_NAME}`, Readable.from([Buffer.from(body)]));
    } catch (err) {
      ctx.catalog.addEvent({ at: ctx.now(), kind: "head_failed", job: jobName, target: name, detail: describeError(err) });
    }
  }
}

export type HeadRead = { state: "none" } | { state: "invalid"; reason: string } | { state: "trusted"; head: JobHead; sha256: string };

/** Reads and checks the job's head on a target: bounded, well-formed, for this job and target, signed by a key trusted for them. */
export async function readHead(ctx: AppContext, target: Target, jobName: string): Promise<HeadRead> {
  const key = `${jobName}/${HEAD_NAME}`;
  const info = await target.stat(key);
  if (!info) return { state: "none" };
  // Bounded while read, not only by what stat said: an object can grow, or not be what it claims.
  const raw = await readBounded(target, key, info.size, HEAD_MAX_BYTES);
  if (typeof raw !== "string") return { state: "invalid", reason: raw.reason };
  let wrapper: z.infer<typeof wrapperSchema>;
  let head: JobHead;
  try {
    wrapper = wrapperSchema.parse(JSON.parse(raw));
    head = headSchema.parse(JSON.parse(wrapper.text));
  } catch (err) {
    return { state: "invalid", reason: `it is not a drd head: ${describeError(err).split("\n")[0]}` };
  }
  if (head.job !== jobName || head.target !== target.name) return { state: "invalid", reason: `it was written for ${head.job} on ${head.target}, not for ${jobName} on ${target.name} (moved or replayed)` };
  const { TrustStore } = await import("../trust/signing.js");
  const trust = await TrustStore.load(ctx.config);
  const check = await trust.check(wrapper.text, wrapper.signature, { job: jobName, target: target.name, at: Date.parse(head.written_at) });
  if (!check.ok) return { state: "invalid", reason: check.reason.replace("its manifest", "it") };
  return { state: "trusted", head, sha256: sha256Hex(wrapper.text) };
}

/**
 * What the job's head and its trusted manifests on a target say together: broken links in
 * the chain, the head's newest gone, and a head older than the one the catalog last wrote
 * (a replay, or a target that missed an update). One line per problem; none when whole.
 */
export async function chainProblems(ctx: AppContext, target: Target, jobName: string, records: ManifestRecord[], invalid: InvalidManifest[]): Promise<string[]> {
  const read = await readHead(ctx, target, jobName);
  if (read.state === "none") return ctx.config.signing || ctx.config.trust ? [`job ${jobName} has no signed head on ${target.name}: deletions there cannot be seen until its next backup writes one`] : [];
  if (read.state === "invalid") return [`the signed head of ${jobName} on ${target.name} is invalid: ${read.reason}`];
  const problems: string[] = [];
  const written = ctx.catalog.headSequence(jobName);
  if (written !== undefined && read.head.sequence < written)
    problems.push(`the head of ${jobName} on ${target.name} has sequence ${read.head.sequence}, older than the ${written} this server last wrote: an older head replayed, or not rewritten since`);
  else {
    // Without the catalog's word, the job's other targets may hold a newer head (each write goes to all of them).
    for (const other of ctx.config.jobs[jobName]?.targets ?? []) {
      if (other === target.name) continue;
      const theirs = await readHead(ctx, ctx.targets.get(other), jobName).catch(() => undefined);
      if (theirs?.state === "trusted" && theirs.head.sequence > read.head.sequence) {
        problems.push(`the head of ${jobName} on ${target.name} has sequence ${read.head.sequence}, older than the ${theirs.head.sequence} on ${other}: an older head replayed, or not rewritten since`);
        break;
      }
    }
  }
  const found = records.filter((r) => r.trust.trusted && r.manifest.job === jobName).map((r) => ({ id: r.manifest.id, previous_id: r.manifest.previous_id ?? null }));
  const unusable = new Set([...invalid.filter((i) => i.job === jobName).map((i) => i.id), ...records.filter((r) => !r.trust.trusted).map((r) => r.manifest.id)]);
  problems.push(...chainBreaks(found, read.head as HeadContent, unusable).map((p) => `${jobName} on ${target.name}: ${p}`));
  return problems;
}
