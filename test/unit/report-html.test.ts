import { describe, expect, it } from "vitest";
import type { JobEvidence, EvidenceReport } from "../../src/app/report.js";
import { ageChart } from "../../src/report/charts.js";
import { reportHtml } from "../../src/report/html.js";

const NOW = Date.parse("2026-12-01T12:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString();

function job(age: JobEvidence["rpo"]["age"], extra: Partial<JobEvidence> = {}): JobEvidence {
  return {
    job: "db",
    type: "postgres",
    rpo_seconds: 3600,
    rto_seconds: 600,
    rpo: { state: "ok", share_ok: 1, measured_seconds: 86_400, history_from: age[0]!.at, age, breaches: [] },
    rto: { state: "ok", reason: null, measured_seconds: 30 },
    drills: [],
    backups: [],
    pruned: [],
    ...extra,
  };
}

/** The y coordinates of the age line's vertices. */
const lineYs = (svg: string) => [...svg.matchAll(/<polyline[^>]* points="([^"]+)"/g)].flatMap((m) => m[1]!.split(" ").map((p) => Number(p.split(",")[1])));

describe("the age chart", () => {
  it("thins a long history to its worst age per step: the one high tooth among 5,000 is still drawn at its height", () => {
    const from = NOW - 5000 * 60_000;
    const age: JobEvidence["rpo"]["age"] = [{ at: iso(from), age_seconds: 0 }];
    for (let k = 1; k <= 5000; k++) {
      const at = from + k * 60_000;
      // Every tooth reaches 60 s; number 2500 reaches 3 h (its backup was late).
      age.push({ at: iso(at), age_seconds: k === 2500 ? 3 * 3600 : 60 }, { at: iso(at), age_seconds: 0 });
    }
    const svg = ageChart(job(age));
    const ys = lineYs(svg);
    expect(ys.length).toBeLessThanOrEqual(2 * 1000);
    // yMax is the worst age * 1.08; the plot spans y 14..194: the peak is drawn at 194 - 180 / 1.08.
    expect(Math.min(...ys)).toBeCloseTo(194 - 180 / 1.08, 0);
  });

  it("draws no line where no good backup existed", () => {
    const svg = ageChart(job([{ at: iso(NOW - 3600_000), age_seconds: null }, { at: iso(NOW), age_seconds: null }], { rpo: { state: "never", share_ok: null, measured_seconds: 0, history_from: null, age: [{ at: iso(NOW - 3600_000), age_seconds: null }, { at: iso(NOW), age_seconds: null }], breaches: [] } }));
    expect(svg).not.toContain("<polyline");
    expect(svg).toContain("no good backup in the window");
  });
});

describe("the page", () => {
  it("escapes what the catalog holds: an error text is shown, never run", () => {
    const report: EvidenceReport = {
      generated_at: iso(NOW),
      host: "h",
      drd: { version: "0", build: "b" },
      window: { from: iso(NOW - 3600_000), to: iso(NOW), seconds: 3600 },
      audit: { ok: true, lines: 1, problem: null, compared: [] },
      jobs: [job([{ at: iso(NOW - 3600_000), age_seconds: 5 }, { at: iso(NOW), age_seconds: 3605 }], { drills: [{ at: iso(NOW - 60_000), ok: false, rto_proven: false, duration_seconds: 2, from: "offsite", error: '<img src=x onerror="alert(1)">' }] })],
    };
    const html = reportHtml(report);
    expect(html).toContain("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;");
    expect(html).not.toContain("<img");
  });
});
