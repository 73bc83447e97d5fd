import { CronExpressionParser } from "cron-parser";

const FIELDS = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12 },
  { name: "day of week", min: 0, max: 7 },
] as const;

/**
 * Returns why a five-field cron expression is invalid, or undefined when it is valid.
 * cron-parser accepts steps as large as the field or larger (`*\/61` silently means
 * "minute 0" only), which hides a typo that changes the RPO; those are refused here.
 */
export function cronProblem(expression: string): string | undefined {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5) return `expected 5 fields (minute hour day month weekday), got ${fields.length}`;
  for (const [i, field] of fields.entries()) {
    const spec = FIELDS[i]!;
    for (const part of field.split(",")) {
      const step = /\/(\d+)$/.exec(part);
      if (step && (Number(step[1]) < 1 || Number(step[1]) >= spec.max - spec.min + 1)) {
        return `step ${step[1]} is out of range for the ${spec.name} field (${spec.min}-${spec.max})`;
      }
    }
  }
  try {
    CronExpressionParser.parse(expression, { tz: "UTC" });
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
}
