import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);

// dist/cli/render.js
function table(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells) => cells.map((c, i) => i === cells.length - 1 ? c : c.padEnd(widths[i])).join("  ").trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}
function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}
function json(value) {
  return JSON.stringify(value, null, 2);
}
function phasesInSeconds(value) {
  const { phases, ...rest } = value;
  const seconds = {};
  for (const [k, v] of Object.entries(phases))
    if (typeof v === "number")
      seconds[k] = v / 1e3;
  return { ...rest, phases_seconds: seconds };
}

export {
  table,
  bytes,
  json,
  phasesInSeconds
};
