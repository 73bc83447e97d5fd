import { human } from "../app/human.js";
import { bytes } from "../cli/render.js";
import type { EvidenceReport, JobEvidence } from "../app/report.js";
import { ageChart, rtoChart } from "./charts.js";
import { esc, when } from "./text.js";

/**
 * The evidence report as one self-contained HTML page: inline CSS and SVG, no script, no
 * fetch. It fits a 1280-pixel window (tables wrap, charts scale) and prints on A4.
 */
export function reportHtml(r: EvidenceReport): string {
  const title = `drd evidence report: ${r.host}, ${day(r.window.from)} to ${day(r.window.to)}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>${esc(title)}</h1>
<p class="meta">Generated ${esc(when(r.generated_at))} by drd ${esc(r.drd.version)} (build ${esc(r.drd.build)}) from its catalog on ${esc(r.host)}. Window: ${esc(when(r.window.from))} to ${esc(when(r.window.to))} (${esc(human(r.window.seconds * 1000))}).</p>
</header>
${summary(r)}
${auditSection(r)}
${r.jobs.map(jobSection).join("\n")}
</body>
</html>
`;
}

/** Rows shown per table; the rest are counted (the JSON report has them all). */
const TABLE_ROWS = 25;

function summary(r: EvidenceReport): string {
  const rows = r.jobs.map((j) => {
    const newest = j.backups.find((b) => b.signature !== "untrusted");
    const passed = j.drills.filter((d) => d.ok).length;
    return `<tr><td><a href="#job-${esc(j.job)}">${esc(j.job)}</a></td><td>${esc(j.type)}</td><td>${esc(human(j.rpo_seconds * 1000))}</td>
<td class="${j.rpo.state}">${esc(j.rpo.state)}</td><td>${share(j.rpo.share_ok)}</td><td>${j.rpo.breaches.length}</td>
<td>${j.rto_seconds === null ? "none set" : esc(human(j.rto_seconds * 1000))}</td><td class="${j.rto.state}">${esc(j.rto.state)}</td>
<td>${j.rto.measured_seconds === null ? "-" : esc(human(j.rto.measured_seconds * 1000))}</td><td>${passed} passed, ${j.drills.length - passed} failed</td>
<td class="${newest?.policy_ok ? "ok" : "breach"}">${newest ? (newest.policy_ok ? "met" : "not met") : "no backup"}</td></tr>`;
  });
  return `<section class="summary"><h2>Summary</h2>
<table><thead><tr><th>job</th><th>type</th><th>RPO</th><th>RPO now</th><th>time within RPO</th><th>breaches</th><th>RTO</th><th>RTO now</th><th>measured RTO</th><th>drills in window</th><th>3-2-1 (newest)</th></tr></thead>
<tbody>${rows.join("\n")}</tbody></table>
<p class="note">Time within RPO: the share of the window, from the job's first evaluation on, when the newest good backup (for a cluster job, the newest restorable moment) was no older than the RPO. Measured RTO: the duration of the newest drill that restored for real.</p>
</section>`;
}

function auditSection(r: EvidenceReport): string {
  const state = r.audit.ok
    ? `<span class="ok">intact</span>: ${r.audit.lines} line(s), each chained to the one before`
    : `<span class="breach">broken</span>: ${esc(r.audit.problem ?? "")}`;
  const compared = r.audit.compared.length ? `; it reaches the anchors recorded in ${esc(r.audit.compared.join(", "))}` : "";
  return `<section><h2>Audit trail</h2><p>${state}${compared} (<code>drctl audit verify</code>).</p></section>`;
}

function jobSection(j: JobEvidence): string {
  return `<section class="job" id="job-${esc(j.job)}">
<h2>${esc(j.job)} <small>${esc(j.type)}</small></h2>
<h3>Backup age against the RPO (${esc(human(j.rpo_seconds * 1000))})</h3>
${ageChart(j)}
<p class="note">${j.rpo.history_from ? `Age recorded from ${esc(when(j.rpo.history_from))}; the charts start there when that is after the window's start.` : "No age recorded yet."} ${j.rpo.share_ok === null ? "" : `Within the RPO ${share(j.rpo.share_ok)} of the measured ${esc(human(j.rpo.measured_seconds * 1000))}.`}</p>
${breaches(j)}
<h3>Restore drills against the RTO (${j.rto_seconds === null ? "none set" : esc(human(j.rto_seconds * 1000))})</h3>
${rtoChart(j)}
${drills(j)}
<h3>Backups: 3-2-1 state, signatures, verification</h3>
${backups(j)}
<h3>Retention: what was removed and why</h3>
${pruned(j)}
</section>`;
}

function breaches(j: JobEvidence): string {
  if (j.rpo.breaches.length === 0) return `<p>No RPO breach in the window.</p>`;
  return table(
    ["began", "ended", "lasted", "worst age"],
    j.rpo.breaches.map((b) => [when(b.from), b.open ? "still open" : when(b.to), human(b.duration_seconds * 1000), b.worst_age_seconds === null ? "-" : human(b.worst_age_seconds * 1000)]),
    "RPO breaches",
  );
}

function drills(j: JobEvidence): string {
  if (j.drills.length === 0) return `<p>No drill finished in the window.</p>`;
  const newestFirst = [...j.drills].reverse();
  return table(
    ["finished", "outcome", "took", "from", "error"],
    newestFirst.map((d) => [when(d.at), d.ok ? (d.rto_proven ? "passed" : "passed (integrity only)") : "FAILED", human(d.duration_seconds * 1000), d.from ?? "-", d.error ?? ""]),
    "drills",
  );
}

function backups(j: JobEvidence): string {
  if (j.backups.length === 0) return `<p>No backup in the catalog.</p>`;
  const targets = [...new Set(j.backups.flatMap((b) => b.copies.map((c) => c.target)))].sort();
  return table(
    ["backup", "taken", "size", "signature", "encrypted", "3-2-1", ...targets],
    j.backups.map((b) => [
      b.id,
      when(b.snapshot_at),
      bytes(b.size),
      b.signature,
      b.encrypted ? "yes" : "no",
      b.policy_ok ? "met" : `not met: ${b.policy_missing.join("; ")}`,
      ...targets.map((t) => {
        const c = b.copies.find((x) => x.target === t);
        if (!c) return "-";
        return `${c.state}${c.verified_at ? ` ${when(c.verified_at)}` : ""}${c.error ? `: ${c.error}` : ""}`;
      }),
    ]),
    "backups",
  );
}

function pruned(j: JobEvidence): string {
  if (j.pruned.length === 0) return `<p>Retention removed nothing in the window.</p>`;
  const newestFirst = [...j.pruned].reverse();
  return table(["removed", "backup", "target", "why"], newestFirst.map((p) => [when(p.at), p.backup_id ?? "-", p.target ?? "-", p.reasons]), "removals");
}

/** A table of the first TABLE_ROWS rows, and how many more there are. */
function table(head: string[], rows: string[][], what: string): string {
  const shown = rows.slice(0, TABLE_ROWS);
  const more = rows.length - shown.length;
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead>
<tbody>${shown.map((r) => `<tr>${r.map((c) => `<td${/^(FAILED|not met|broken)/.test(c) ? ' class="breach"' : ""}>${esc(c)}</td>`).join("")}</tr>`).join("\n")}</tbody></table>
${more > 0 ? `<p class="note">The newest ${shown.length} of ${rows.length} ${what}; <code>drctl report --json</code> lists every one.</p>` : ""}`;
}

function share(v: number | null): string {
  return v === null ? "-" : `${(v * 100).toFixed(v === 1 ? 0 : 2)}%`;
}

function day(isoText: string): string {
  return isoText.slice(0, 10);
}

const CSS = `
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1d2430;margin:0 auto;padding:24px;max-width:1240px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:2px solid #d5dae3;padding-bottom:4px}
h2 small{font-weight:normal;color:#5b6577;font-size:13px}h3{font-size:15px;margin:18px 0 6px}
.meta,.note{color:#5b6577;font-size:12.5px}
table{border-collapse:collapse;width:100%;table-layout:auto;margin:6px 0}
th,td{border:1px solid #d5dae3;padding:3px 6px;text-align:left;vertical-align:top;overflow-wrap:anywhere;font-size:12.5px}
th{background:#f1f3f7}
.ok{color:#116329}.breach{color:#b42318;font-weight:600}.never,.untested,.not_measured{color:#9a6700}
svg{width:100%;height:auto;display:block;border:1px solid #e3e7ee;background:#fff}
code{font-size:12px;background:#f1f3f7;padding:0 3px}
@media print{body{max-width:none;padding:0;font-size:11px}section.job{break-before:page}h2,h3{break-after:avoid}svg,tr{break-inside:avoid}a{color:inherit;text-decoration:none}}
`;
