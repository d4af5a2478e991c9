import { createHash } from "node:crypto";

/**
 * The audit chain's arithmetic, kept pure so the daemon, `pscs audit verify` and any outside checker
 * compute exactly the same thing.
 * Invariant: hash(entry N) = SHA-256(hash(entry N-1) + "\n" + canonical(entry N)), with 64 zeros
 * before entry 1; canonical() covers every stored column but the two hashes, sequence included, so an
 * edit, a deletion or a swap of rows changes a hash that the next entry has already committed to.
 * Invariant: every text column is well-formed Unicode before it is hashed (storedText), because
 * SQLite keeps a lone surrogate as bytes that read back as different text, and a hash over text that
 * is not what the row reads back as can never verify.
 */

export const GENESIS_HASH = "0".repeat(64);

export type Outcome = "success" | "failure" | "denied";

/** One entry as stored, without its two hashes. */
export interface AuditContent {
  seq: number;
  at: number;
  actor: string;
  role: string | null;
  action: string;
  target: string | null;
  outcome: Outcome;
  client: string | null;
  /** Canonical JSON text of the details object (see canonicalJson). */
  details: string;
}

/** JSON with object keys sorted at every depth: one text per value, whatever order it was built in. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[k];
    if (v !== undefined) out[k] = sortKeys(v);
  }
  return out;
}

/**
 * Text as the audit log stores it: each lone UTF-16 surrogate replaced by U+FFFD. Inputs are refused
 * at pscsd's boundaries before they get here; this keeps the chain verifiable if one slips through.
 */
export function storedText(s: string): string;
export function storedText(s: string | null): string | null;
export function storedText(s: string | null): string | null {
  return s === null || s.isWellFormed() ? s : s.toWellFormed();
}

export function canonicalContent(e: AuditContent): string {
  return JSON.stringify([e.seq, e.at, e.actor, e.role, e.action, e.target, e.outcome, e.client, e.details]);
}

export function chainHash(prevHash: string, e: AuditContent): string {
  return createHash("sha256").update(prevHash).update("\n").update(canonicalContent(e)).digest("hex");
}
