import type { Hold } from "../src/holds/hold.js";
import { csvLine } from "../src/report/csv.js";
import { escapeHtml } from "../src/report/html.js";

/**
 * The Records Service Division Commander's hold log as a spreadsheet (CSV) and as a printable page:
 * one line per written request, whatever became of it; a request the commander is late deciding is
 * marked OVERDUE.
 */

const iso = (ms: number | null) => (ms === null ? "" : new Date(ms).toISOString());
const ranges = (h: Hold) => h.ranges.map((r) => `${r.camera} ${iso(r.fromMs)}/${iso(r.toMs)}`).join("; ");

export const HOLD_LOG_COLUMNS = [
  "hold",
  "status",
  "form_number",
  "received_on",
  "case_number",
  "legal_basis",
  "requested_by",
  "agency",
  "reason",
  "ranges",
  "form_sha256",
  "entered_by",
  "entered_at",
  "decided_by",
  "decided_at",
  "decision_note",
  "released_by",
  "released_at",
  "release_reason",
  "evidence_segments",
  "evidence_bytes",
  "overdue",
] as const;

function cells(h: Hold): unknown[] {
  return [
    h.id,
    h.status,
    h.formNumber,
    h.receivedOn,
    h.caseNumber,
    h.legalBasis,
    h.requestedBy,
    h.agency,
    h.reason,
    ranges(h),
    h.form.sha256,
    h.enteredBy,
    iso(h.enteredAt),
    h.decidedBy,
    iso(h.decidedAt),
    h.decisionNote,
    h.releasedBy,
    iso(h.releasedAt),
    h.releaseReason,
    h.evidence.segments,
    h.evidence.bytes,
    h.overdue ? "OVERDUE" : "",
  ];
}

export function holdLogCsv(holds: readonly Hold[]): string {
  return [csvLine(HOLD_LOG_COLUMNS), ...holds.map((h) => csvLine(cells(h)))].join("");
}

/** A self-contained page (no scripts, nothing fetched) that prints on letter paper in landscape, within the page width. */
export function holdLogHtml(
  holds: readonly Hold[],
  o: { site: string; generatedAt: number; by: string },
): string {
  const head = HOLD_LOG_COLUMNS.map((c) => `<th>${escapeHtml(c.replaceAll("_", " "))}</th>`).join("");
  const text = (v: unknown) => escapeHtml(v === null || v === undefined ? "" : String(v));
  // Each entry links to its record with the audit trail, and to its form scan.
  const link: Partial<Record<(typeof HOLD_LOG_COLUMNS)[number], (h: Hold) => string>> = {
    hold: (h) => `<a href="/api/holds/${h.id}">${h.id}</a>`,
    form_sha256: (h) => `<a href="/api/holds/${h.id}/form">${text(h.form.sha256)}</a>`,
  };
  const rows = holds
    .map(
      (h) =>
        `<tr${h.overdue ? ' class="overdue" style="font-weight: bold; background: #fdd"' : ""}>${cells(h)
          .map((v, i) => {
            const col = HOLD_LOG_COLUMNS[i] as (typeof HOLD_LOG_COLUMNS)[number];
            return `<td>${link[col]?.(h) ?? text(v)}</td>`;
          })
          .join("")}</tr>`,
    )
    .join("\n");
  const cols = HOLD_LOG_COLUMNS.map(
    (c) => `<col style="width:${((WIDTH[c] / WIDTH_SUM) * 100).toFixed(2)}%">`,
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Hold log — ${escapeHtml(o.site)}</title>
<style>
@page { size: letter landscape; margin: 10mm; }
body { font: 7pt/1.25 sans-serif; margin: 0; }
h1 { font-size: 12pt; margin: 0 0 4pt; }
table { border-collapse: collapse; width: 100%; table-layout: fixed; }
thead { display: table-header-group; }
th, td { border: 1px solid #888; padding: 1px 2px; vertical-align: top; text-align: left; overflow-wrap: break-word; }
th { background: #eee; }
tr { page-break-inside: avoid; break-inside: avoid; }
</style></head><body>
<h1>Hold log — ${escapeHtml(o.site)}</h1>
<p>Records Service Division Commander's log of written requests to store PSCS images.
Generated ${escapeHtml(iso(o.generatedAt))} by ${escapeHtml(o.by)}; ${holds.length} entries.</p>
<table><colgroup>${cols.join("")}</colgroup><thead><tr>${head}</tr></thead><tbody>
${rows}
</tbody></table></body></html>
`;
}

/**
 * Shares of the printed width. Invariant: with the fixed table layout and wrapping anywhere, the
 * table is as wide as the page whatever the cells hold (hashes, long reasons), so nothing is cut off.
 */
const WIDTH: Record<(typeof HOLD_LOG_COLUMNS)[number], number> = {
  hold: 3,
  status: 5,
  overdue: 4,
  form_number: 5,
  received_on: 5,
  case_number: 5,
  legal_basis: 5,
  requested_by: 6,
  agency: 6,
  reason: 10,
  ranges: 10,
  form_sha256: 6,
  entered_by: 5,
  entered_at: 5,
  decided_by: 5,
  decided_at: 5,
  decision_note: 6,
  released_by: 5,
  released_at: 5,
  release_reason: 6,
  evidence_segments: 4,
  evidence_bytes: 5,
};
const WIDTH_SUM = Object.values(WIDTH).reduce((a, b) => a + b, 0);
