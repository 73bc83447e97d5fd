/** Durations are written `90s`, `15m`, `1h`, `30d`, `2w`; stored as whole seconds. */
const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 } as const;

export const DURATION_PATTERN = /^([0-9]+)(s|m|h|d|w)$/;

export function parseDuration(text: string): number | undefined {
  const match = DURATION_PATTERN.exec(text.trim());
  if (!match) return undefined;
  const seconds = Number(match[1]) * UNIT_SECONDS[match[2] as keyof typeof UNIT_SECONDS];
  return seconds > 0 && Number.isSafeInteger(seconds) ? seconds : undefined;
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172800) return `${(s / 3600).toFixed(1).replace(/\.0$/, "")}h`;
  return `${(s / 86400).toFixed(1).replace(/\.0$/, "")}d`;
}

/** A duration as a config writes it, exactly: 7d, 36h, 90m, 45s. */
export function configDuration(seconds: number): string {
  for (const [unit, size] of [["d", 86_400], ["h", 3600], ["m", 60]] as const) if (seconds > 0 && seconds % size === 0) return `${seconds / size}${unit}`;
  return `${seconds}s`;
}
