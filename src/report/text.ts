/* Text helpers of the HTML report. */

/** 2026-12-06 17:03:12 UTC */
export function when(isoText: string): string {
  return `${isoText.replace("T", " ").replace(/\.\d+Z$/, "").replace(/Z$/, "")} UTC`;
}

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}
