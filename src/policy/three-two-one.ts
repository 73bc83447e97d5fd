/** The "2-1" of 3-2-1, from the config's `policy`: production is the first copy. */
export interface CopyPolicy {
  copies: number;
  media: number;
  offsite: number;
}

export interface CopyFacts {
  state: string;
  media: string;
  offsite: boolean;
}

export interface PolicyVerdict {
  ok: boolean;
  copies: number;
  media: number;
  offsite: number;
  /** What is short, e.g. "1 of 2 verified copies". Empty when ok. */
  missing: string[];
}

/** Only verified copies count: a copy nobody re-read is a hope, not a copy. */
export function evaluateCopies(copies: readonly CopyFacts[], policy: CopyPolicy): PolicyVerdict {
  const verified = copies.filter((c) => c.state === "verified");
  const media = new Set(verified.map((c) => c.media)).size;
  const offsite = verified.filter((c) => c.offsite).length;
  const missing: string[] = [];
  if (verified.length < policy.copies) missing.push(`${verified.length} of ${policy.copies} verified copies`);
  if (media < policy.media) missing.push(`${media} of ${policy.media} media kinds`);
  if (offsite < policy.offsite) missing.push(`${offsite} of ${policy.offsite} offsite copies`);
  return { ok: missing.length === 0, copies: verified.length, media, offsite, missing };
}

/** What the verdict needs of the config: each target's media and place, and the policy. */
export interface PolicySetting {
  targets: Readonly<Record<string, { media: string; offsite: boolean }>>;
  policy: CopyPolicy;
}

/** The verdict on a backup's copies (each by target name) under the config's targets and policy. */
export function policyVerdict(setting: PolicySetting, copies: readonly { target: string; state: string }[]): PolicyVerdict {
  return evaluateCopies(
    copies.map((c) => ({
      state: c.state,
      media: setting.targets[c.target]?.media ?? `unknown:${c.target}`,
      offsite: setting.targets[c.target]?.offsite ?? false,
    })),
    setting.policy,
  );
}
