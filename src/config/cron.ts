import { CronExpressionParser } from "cron-parser";

const FIELD_5 = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12 },
  { name: "day of week", min: 0, max: 7 },
] as const;
const FIELD_6 = [{ name: "second", min: 0, max: 59 }, ...FIELD_5] as const;

/** The aliases cron-parser reads; @reboot and @midnight mean nothing to a daemon's schedule. */
const ALIASES = new Set(["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@hourly"]);

/**
 * Returns why a cron expression is invalid, or undefined when it is valid: five fields
 * (minute hour day-of-month month day-of-week), six with a leading seconds field, or an
 * alias (@hourly, @daily, @weekly, @monthly, @yearly). cron-parser accepts steps as large
 * as the field or larger (`*\/61` silently means "minute 0" only), which hides a typo that
 * changes the RPO; those are refused here.
 */
export function cronProblem(expression: string): string | undefined {
  const text = expression.trim();
  if (text.startsWith("@")) return ALIASES.has(text) ? undefined : `unknown alias ${text} (use @hourly, @daily, @weekly, @monthly or @yearly)`;
  const fields = text.split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) return `expected 5 fields (minute hour day month weekday) or 6 with a leading seconds field, got ${fields.length}`;
  const specs = fields.length === 6 ? FIELD_6 : FIELD_5;
  for (const [i, field] of fields.entries()) {
    const spec = specs[i]!;
    for (const part of field.split(",")) {
      const step = /\/(\d+)$/.exec(part);
      if (step && (Number(step[1]) < 1 || Number(step[1]) >= spec.max - spec.min + 1)) {
        return `step ${step[1]} is out of range for the ${spec.name} field (${spec.min}-${spec.max})`;
      }
    }
  }
  try {
    CronExpressionParser.parse(text, { tz: "UTC" });
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
}
