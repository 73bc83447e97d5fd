import { DateTime } from "luxon";

/** A time with its own offset (Z, +01:00, -0500) is that instant; any other is a wall time somewhere. */
const OFFSET = /(?:Z|[+-]\d\d(?::?\d\d)?)$/i;

/**
 * The instant an operator means by `text` (ISO 8601; a space may stand for the T): as
 * written when it carries an offset, else the wall time in `timezone` (the config's, never
 * the shell's). `inZone` says which reading was taken, so the caller can say it. Luxon
 * reads the wall time: a time the clock skipped (spring forward) moves forward, a repeated
 * one (fall back) is its second occurrence (standard time). Either way the caller says
 * the instant taken.
 */
export function parseInstant(text: string, timezone: string): { at: number; inZone: boolean } | undefined {
  const written = text.trim().replace(" ", "T");
  const dt = DateTime.fromISO(written, { zone: timezone });
  if (!dt.isValid) return undefined;
  return { at: dt.toMillis(), inZone: !OFFSET.test(written) };
}
