/** Plain aligned columns for terminals; `--json` output never goes through here. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}

export function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

export function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/** Phase durations kept in milliseconds, as --json shows them: seconds, the unit in the name. */
export function phasesInSeconds<T extends { phases: Record<string, unknown> }>(value: T): Omit<T, "phases"> & { phases_seconds: Record<string, number> } {
  const { phases, ...rest } = value;
  const seconds: Record<string, number> = {};
  for (const [k, v] of Object.entries(phases)) if (typeof v === "number") seconds[k] = v / 1000;
  return { ...rest, phases_seconds: seconds };
}
