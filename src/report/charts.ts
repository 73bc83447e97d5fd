import { human } from "../app/human.js";
import type { JobEvidence } from "../app/report.js";
import { esc } from "./text.js";

/*
 * The report's two charts as inline SVG, drawn here (a few lines and rectangles need no
 * charting library): the RPO age over the window, and each drill's measured RTO.
 */

const W = 1000;
const H = 230;
const PAD = { left: 64, right: 16, top: 14, bottom: 36 };
/** Above this many vertices the age line is drawn as its worst value per step (never lower than it was). */
const MAX_VERTICES = 2_000;
const STEPS = 1_000;
/** Drills drawn at most: the newest. */
const MAX_DRILLS = 2_000;

interface Frame {
  from: number;
  to: number;
  yMax: number;
}

const x = (f: Frame, t: number) => PAD.left + ((t - f.from) / Math.max(1, f.to - f.from)) * (W - PAD.left - PAD.right);
const y = (f: Frame, v: number) => H - PAD.bottom - (Math.min(v, f.yMax) / f.yMax) * (H - PAD.top - PAD.bottom);
const n = (v: number) => v.toFixed(1);

/** The age of the newest good backup over the window, the RPO as a dashed line, breaches shaded. */
export function ageChart(j: JobEvidence): string {
  const { from, to } = span(j);
  const series = j.rpo.age.map((s) => ({ at: Math.max(from, Date.parse(s.at)), age: s.age_seconds }));
  const worst = Math.max(0, ...series.map((s) => s.age ?? 0));
  const f: Frame = { from, to, yMax: Math.max(j.rpo_seconds * 1.5, worst * 1.08, 1) };
  const bands = j.rpo.breaches.map((b) => {
    const x0 = x(f, Date.parse(b.from));
    return `<rect x="${n(x0)}" y="${PAD.top}" width="${n(Math.max(1, x(f, Date.parse(b.to)) - x0))}" height="${H - PAD.top - PAD.bottom}" fill="#b42318" fill-opacity="0.12"><title>RPO breach ${esc(b.from)} to ${esc(b.to)}</title></rect>`;
  });
  const lines = ageLines(series, f).map((pts) => `<polyline fill="none" stroke="#1f5fbf" stroke-width="1.6" points="${pts.map(([t, v]) => `${n(x(f, t))},${n(y(f, v))}`).join(" ")}"/>`);
  const rpoY = y(f, j.rpo_seconds);
  return svg(
    `RPO age chart of ${j.job}`,
    [
      ...timeAxis(f),
      ...valueAxis(f),
      ...bands,
      `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${n(rpoY)}" y2="${n(rpoY)}" stroke="#b42318" stroke-width="1.2" stroke-dasharray="6 4"/>`,
      `<text x="${W - PAD.right - 4}" y="${n(rpoY - 4)}" text-anchor="end" fill="#b42318">RPO ${esc(human(j.rpo_seconds * 1000))}</text>`,
      ...lines,
      lines.length === 0 ? `<text x="${W / 2}" y="${H / 2}" text-anchor="middle" fill="#5b6577">no good backup in the window</text>` : "",
    ],
  );
}

/**
 * The polylines of the age (one per stretch with a backup): exact while small, else the worst
 * age of each of STEPS equal steps, so no peak is lost by thinning.
 */
function ageLines(series: { at: number; age: number | null }[], f: Frame): [number, number][][] {
  const out: [number, number][][] = [];
  let current: [number, number][] = [];
  const add = (t: number, v: number | null) => {
    if (v === null) {
      if (current.length) out.push(current);
      current = [];
    } else current.push([t, v]);
  };
  if (series.length <= MAX_VERTICES) {
    for (const s of series) add(s.at, s.age);
  } else {
    // Between vertices the age grows with the clock: its worst in a step is at a vertex or at the step's end.
    const grown = (from: { at: number; age: number | null } | undefined, t: number) => (from && from.age !== null ? from.age + (t - from.at) / 1000 : null);
    const max = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b));
    const step = (f.to - f.from) / STEPS;
    let i = 0;
    let last: { at: number; age: number | null } | undefined;
    for (let k = 0; k < STEPS; k++) {
      const a = f.from + k * step;
      const b = a + step;
      let worst = grown(last, a);
      for (; i < series.length && series[i]!.at <= b; i++) {
        worst = max(worst, max(grown(last, series[i]!.at), series[i]!.age));
        last = series[i];
      }
      worst = max(worst, grown(last, b));
      add(a, worst);
      add(b, worst);
    }
  }
  if (current.length) out.push(current);
  return out;
}

/** Each drill's measured RTO (failed ones as a red cross at their duration), the RTO as a dashed line. */
export function rtoChart(j: JobEvidence): string {
  const drills = j.drills.slice(-MAX_DRILLS).map((d) => ({ at: Date.parse(d.at), v: d.duration_seconds, ok: d.ok }));
  if (drills.length === 0) return "";
  const { from, to } = span(j);
  const f: Frame = { from, to, yMax: Math.max((j.rto_seconds ?? 0) * 1.3, ...drills.map((d) => d.v * 1.15), 0.1) };
  const marks = drills.map((d) => {
    const cx = x(f, d.at);
    const cy = y(f, d.v);
    return d.ok
      ? `<circle cx="${n(cx)}" cy="${n(cy)}" r="3.2" fill="#116329"/>`
      : `<path d="M${n(cx - 4)},${n(cy - 4)}L${n(cx + 4)},${n(cy + 4)}M${n(cx - 4)},${n(cy + 4)}L${n(cx + 4)},${n(cy - 4)}" stroke="#b42318" stroke-width="2"/>`;
  });
  const rto = j.rto_seconds === null ? [] : [
    `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${n(y(f, j.rto_seconds))}" y2="${n(y(f, j.rto_seconds))}" stroke="#b42318" stroke-width="1.2" stroke-dasharray="6 4"/>`,
    `<text x="${W - PAD.right - 4}" y="${n(y(f, j.rto_seconds) - 4)}" text-anchor="end" fill="#b42318">RTO ${esc(human(j.rto_seconds * 1000))}</text>`,
  ];
  return svg(`drill durations of ${j.job}`, [...timeAxis(f), ...valueAxis(f), ...rto, ...marks]);
}

/**
 * What both charts of a job show: the window, or from where its history begins when that is
 * later (a job added last week is not drawn as three empty weeks).
 */
export function span(j: JobEvidence): { from: number; to: number } {
  const windowFrom = Date.parse(j.rpo.age[0]!.at);
  const to = Date.parse(j.rpo.age.at(-1)!.at);
  const starts = [j.rpo.history_from, j.drills[0]?.at].filter((v): v is string => v !== null && v !== undefined).map((v) => Date.parse(v));
  const first = starts.length ? Math.min(...starts) : windowFrom;
  // A margin of 2% before the first point, so it is not drawn on the axis.
  const from = Math.max(windowFrom, first - (to - first) * 0.02);
  return { from, to: Math.max(to, from + 1) };
}

function svg(label: string, parts: string[]): string {
  return `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(label)}" font-family="system-ui,sans-serif" font-size="11">${parts.join("")}</svg>`;
}

function timeAxis(f: Frame): string[] {
  const ticks = 6;
  const span = f.to - f.from;
  const label = (t: number) => {
    const iso = new Date(t).toISOString();
    return span > 3 * 86_400_000 ? iso.slice(5, 10) : span > 86_400_000 ? `${iso.slice(5, 10)} ${iso.slice(11, 16)}` : iso.slice(11, 19);
  };
  const out = [`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${H - PAD.bottom}" y2="${H - PAD.bottom}" stroke="#8a94a6"/>`];
  for (let k = 0; k <= ticks; k++) {
    const t = f.from + (span * k) / ticks;
    const tx = x(f, t);
    out.push(`<line x1="${n(tx)}" x2="${n(tx)}" y1="${H - PAD.bottom}" y2="${H - PAD.bottom + 4}" stroke="#8a94a6"/>`);
    out.push(`<text x="${n(tx)}" y="${H - PAD.bottom + 17}" text-anchor="${k === 0 ? "start" : k === ticks ? "end" : "middle"}" fill="#5b6577">${esc(label(t))}</text>`);
  }
  out.push(`<text x="${W - PAD.right}" y="${H - 4}" text-anchor="end" fill="#5b6577">UTC</text>`);
  return out;
}

function valueAxis(f: Frame): string[] {
  const out = [`<line x1="${PAD.left}" x2="${PAD.left}" y1="${PAD.top}" y2="${H - PAD.bottom}" stroke="#8a94a6"/>`];
  for (const v of [0, f.yMax / 2, f.yMax]) {
    const ty = y(f, v);
    out.push(`<line x1="${PAD.left - 4}" x2="${W - PAD.right}" y1="${n(ty)}" y2="${n(ty)}" stroke="#e3e7ee"/>`);
    out.push(`<text x="${PAD.left - 6}" y="${n(ty + 4)}" text-anchor="end" fill="#5b6577">${esc(human(v * 1000))}</text>`);
  }
  return out;
}
