import { csvLine } from "../report/csv.js";
import type { AuditEntry } from "./log.js";

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
