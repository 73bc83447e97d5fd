/**
 * A table, its columns two spaces apart. Given the terminal's `columns`, a row that does not
 * fit wraps its last column (free text: copies, reasons, details) at spaces, under itself, or
 * on lines of its own indented 4 when it would be left less than 30 columns: nothing is cut.
 */
export function table(headers: string[], rows: string[][], columns?: number): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]): string => {
    const prefix = cells.slice(0, -1).map((c, i) => `${c.padEnd(widths[i]!)}  `).join("");
    const last = cells.at(-1) ?? "";
    const whole = (prefix + last).trimEnd();
    if (columns === undefined || whole.length <= columns || last === "") return whole;
    const under = prefix.length <= columns - 30;
    const indent = under ? prefix.length : 4;
    const parts = wrapWords(last, columns - indent);
    const pad = " ".repeat(indent);
    return (under ? [prefix + parts[0], ...parts.slice(1).map((p) => pad + p)] : [prefix.trimEnd(), ...parts.map((p) => pad + p)]).join("\n");
  };
  return [line(headers), ...rows.map(line)].join("\n");
}

/** `text` in lines of at most `width` (a word longer than that gets a line of its own). */
export function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  let current = "";
  for (const word of text.split(" ").filter((w) => w !== "")) {
    if (current && current.length + 1 + word.length > width) {
      lines.push(current);
      current = word;
    } else current = current ? `${current} ${word}` : word;
  }
  return lines.length || current ? [...lines, current] : [""];
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
