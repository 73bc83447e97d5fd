/*
 * Times drd recorded are only as right as the clock that made them. A backup stamped ahead
 * of the clock (a bad RTC, a wrong NTP answer, a VM snapshot, or a backup planted with a
 * date far ahead) must not be the one that decides RPO or retention: its age would be
 * clamped to 0 for as long as it stays the newest, and max_age, counted back from it, would
 * remove every correctly dated backup. One rule for every caller.
 */

/** How far ahead of now a recorded time may lie before it counts as future-dated. */
export const DEFAULT_CLOCK_SKEW_ALLOWANCE_MS = 5 * 60_000;

export interface ClockView {
  now: number;
  allowanceMs: number;
}

/** Whether `at` lies ahead of the clock by more than the allowance. */
export function isFutureDated(at: number, clock: ClockView): boolean {
  return at > clock.now + clock.allowanceMs;
}

/** The latest time that is not future-dated: what queries for "the newest backup" bound themselves by. */
export function latestTrustedTime(clock: ClockView): number {
  return clock.now + clock.allowanceMs;
}

/** The wall clock and the monotonic clock read at one moment. */
export interface ClockReading {
  wall: number;
  mono: number;
}

/**
 * How far the wall clock has stepped since `anchor`, by the monotonic clock that no one sets:
 * positive when it jumped forward. Within one process this tells a clock that was set (a
 * wrong NTP answer, a VM restored) from time that passed.
 */
export function clockStep(anchor: ClockReading, now: ClockReading): number {
  return now.wall - (anchor.wall + (now.mono - anchor.mono));
}

/** Whether the wall clock stepped by more than the allowance, either way: its dates are in doubt. */
export function clockInDoubt(stepMs: number, allowanceMs: number): boolean {
  return Math.abs(stepMs) > allowanceMs;
}
