import { CronExpressionParser } from "cron-parser";

/*
 * One reading of a schedule for everything drd does with it: when the daemon fires, what
 * it catches up at start, the next run it logs, and validation. It is cron-parser's, which
 * is Vixie cron's (crontab(5)):
 * - with both day fields restricted, a day matching either runs (`0 3 1 * 1`: the 1st of
 *   every month and every Monday);
 * - times are wall-clock times in `timezone`; a time the clock skips (spring forward) runs
 *   one hour later that day, a time that occurs twice (fall back) runs once, at the first.
 */

/** The first slot of `expression` strictly after `after` (ms since the epoch). */
export function nextSlot(expression: string, timezone: string, after: number): number {
  return CronExpressionParser.parse(expression, { tz: timezone, currentDate: new Date(after) }).next().getTime();
}

/**
 * When a timer set for `due` should fire, looked at `now` after it last looked at `before`:
 * `due` itself, unless the clock stepped back in between (`now < before`), in which case
 * the next slot after the new `now` if that comes sooner. Without this, a clock stepped
 * back an hour would skip every slot of that hour. Only a step back recomputes: the next
 * slot after a time inside a repeated hour (fall back) can lie before `due` without any
 * slot having been missed.
 */
export function nextDue(expression: string, timezone: string, due: number, before: number, now: number): number {
  if (now >= before || now >= due) return due;
  return Math.min(due, nextSlot(expression, timezone, now));
}

/**
 * The scheduled time a job missed while drd was not running, if any: the latest slot of
 * `expression` after the job's last successful run and not after `now`. A job that never
 * ran is due at once. Used at daemon start so downtime does not silently widen the RPO.
 */
export function missedSlot(expression: string, timezone: string, lastSuccessAt: number | undefined, now: number): number | undefined {
  let previous = CronExpressionParser.parse(expression, { tz: timezone, currentDate: new Date(now + 1) }).prev().getTime();
  // cron-parser's backward search misses a slot its forward search finds (a time shifted by
  // spring forward): stepping forward from it makes catch-up agree with firing.
  for (let n = nextSlot(expression, timezone, previous); n <= now; n = nextSlot(expression, timezone, n)) previous = n;
  if (lastSuccessAt === undefined) return previous;
  return previous > lastSuccessAt ? previous : undefined;
}
