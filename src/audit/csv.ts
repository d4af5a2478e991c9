import type { Writable } from "node:stream";
import { setImmediate as nextTurn } from "node:timers/promises";
import { csvLine } from "../report/csv.js";
import type { AuditEntry, AuditFilter, AuditLog } from "./log.js";

/** The audit log as CSV: one layout for the API and the CLI, hashes included so a copy can be re-verified. */
export const AUDIT_CSV_HEADER = [
  "seq",
  "at",
  "actor",
  "role",
  "action",
  "target",
  "outcome",
  "client",
  "details",
  "prev_hash",
  "hash",
];

export function auditCsvLine(e: AuditEntry): string {
  return csvLine([
    e.seq,
    new Date(e.at).toISOString(),
    e.actor,
    e.role,
    e.action,
    e.target,
    e.outcome,
    e.client,
    e.details,
    e.prevHash,
    e.hash,
  ]);
}

export const EXPORT_PAGE_ROWS = 1_000;

/**
 * Writes the matching entries as CSV to `out`, a page at a time, and resolves with the count written.
 * Invariant: at most one page is read ahead of what `out` has taken (the next page waits for 'drain'),
 * and no page is read once `out` is closed, so a reader that stops or leaves holds no more than a page
 * in pscsd's memory and costs no further queries; each page also yields the event loop.
 */
export async function writeAuditCsv(
  audit: AuditLog,
  filter: Omit<AuditFilter, "limit" | "order" | "after">,
  out: Writable,
): Promise<number> {
  let closed = false;
  const onClose = () => {
    closed = true;
  };
  out.once("close", onClose);
  const gone = () => closed || out.destroyed;
  try {
    let n = 0;
    let after = 0;
    out.write(csvLine(AUDIT_CSV_HEADER));
    for (;;) {
      if (gone()) return n;
      const page = await audit.exportPage(filter, after, EXPORT_PAGE_ROWS);
      if (page.length > 0) out.write(page.map(auditCsvLine).join(""));
      n += page.length;
      if (page.length < EXPORT_PAGE_ROWS) return n;
      after = page.at(-1)?.seq ?? after;
      // Asked at the time of waiting, not of writing: the buffer may have drained while others ran.
      if (out.writableNeedDrain) await drainedOrGone(out);
      else await nextTurn();
    }
  } finally {
    out.off("close", onClose);
  }
}

function drainedOrGone(out: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      for (const event of ["drain", "close", "error"]) out.off(event, done);
      resolve();
    };
    for (const event of ["drain", "close", "error"]) out.on(event, done);
  });
}
