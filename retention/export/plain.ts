import type { BasisFields, Manifest, SpanText } from "../../src/exports/package-format.js";
import { escapeHtml } from "../../src/report/html.js";

/**
 * The manifest in plain words, as the viewer and the custody sheet both show it: label and value
 * pairs, escaped here once (every value may be text a user typed: case, recipient, court).
 * Invariant: every string these helpers return is HTML-safe; callers insert them as they are.
 */

export type Row = readonly [label: string, value: string];

const BASIS_TITLES: Record<BasisFields["type"], string> = {
  criminal: "Criminal investigation or prosecution",
  agency_request: "Written request of another government agency",
  court_order: "Court order",
};

export function basisRows(b: BasisFields): Row[] {
  const rows: [string, string][] = [["Legal basis", BASIS_TITLES[b.type]]];
  if (b.type === "criminal") {
    rows.push(["Case number", b.caseNumber], ["Requesting officer or prosecutor", b.requestingOfficer]);
  } else if (b.type === "agency_request") {
    rows.push(
      ["Agency", b.agency],
      ["Written request number", b.requestNumber],
      ["Written request dated", b.requestDate],
      ["Scan of the request", b.scan.file],
    );
  } else {
    rows.push(
      ["Dispute", b.dispute === "civil" ? "civil (between private litigants)" : "criminal"],
      ["Court", b.court],
      ["Docket number", b.docketNumber],
      ["Judge", b.judge],
      ["Order dated", b.orderDate],
      ["Scan of the order", b.scan.file],
    );
  }
  return rows.map(([k, v]) => [k, escapeHtml(v)] as const);
}

/** "2026-11-24T08:00:00.000-05:00 (2026-11-24T13:00:00.000Z)" to "…", both ends. */
export function spanWords(s: SpanText): string {
  return escapeHtml(`${s.from.local} to ${s.to.local} (UTC ${s.from.utc} to ${s.to.utc})`);
}

export function releaseRows(m: Manifest): Row[] {
  return (
    [
      ["Export", `#${m.exportId}, of hold #${m.hold}`],
      ["Site", `${m.site.name} (${m.site.timezone})`],
      ["Purpose", m.purpose],
      ["Recipient", `${m.recipient.name}, ${m.recipient.organisation}`],
      ["Delivery", m.recipient.delivery],
      ["Requested by", `${m.requestedBy.user} at ${m.requestedBy.at}`],
      ["Approved by", `${m.approvedBy.user} at ${m.approvedBy.at}`],
      ["Produced by", `${m.producedBy.by} at ${m.producedBy.at}, ${m.software.name} ${m.software.version}`],
    ] as const
  ).map(([k, v]) => [k, escapeHtml(v)] as const);
}

export function rowsHtml(rows: readonly Row[]): string {
  return rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${v}</td></tr>`).join("\n");
}

/** A camera's clock offsets in words: "+1200 ms ± 504 ms at 2026-…Z". */
export function clockWords(c: Manifest["cameras"][number]["clock"]): string {
  if (c.length === 0) return "no clock sample was kept for this camera";
  return c
    .map((s) => `${s.offsetMs >= 0 ? "+" : ""}${s.offsetMs} ms ± ${s.errorMs} ms at ${escapeHtml(s.at)}`)
    .join("; ");
}

export function identityWords(i: Manifest["cameras"][number]["identity"]): string {
  return i
    ? escapeHtml(`${i.manufacturer} ${i.model}, serial ${i.serial}, firmware ${i.firmware}`)
    : "never reported (the camera did not answer GetDeviceInformation)";
}
