import { CronExpressionParser } from "cron-parser";

/**
 * The scheduled time a job missed while drd was not running, if any: the latest slot of
 * `expression` after the job's last successful run and not after `now`. A job that never
 * ran is due at once. Used at daemon start so downtime does not silently widen the RPO.
 */
export function missedSlot(expression: string, timezone: string, lastSuccessAt: number | undefined, now: number): number | undefined {
  const previous = CronExpressionParser.parse(expression, { tz: timezone, currentDate: new Date(now + 1) }).prev().getTime();
  if (lastSuccessAt === undefined) return previous;
  return previous > lastSuccessAt ? previous : undefined;
}
