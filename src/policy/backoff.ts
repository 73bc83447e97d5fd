/** Delay before retry number `attempts` (1-based) of a failed copy: 1 min, doubling, at most 1 h. */
export function retryDelayMs(attempts: number, baseMs = 60_000, maxMs = 3_600_000): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempts - 1));
}
