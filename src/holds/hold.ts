/**
 * What a hold is, as every caller sees it (API, CLI, the hold service that keeps them): written
 * requests, the holds a commander makes of them, and what their footage looks like on disk.
 */

export const LEGAL_BASES = ["criminal", "agency_request", "court_order"] as const;
export type LegalBasis = (typeof LEGAL_BASES)[number];
export const HOLD_STATUSES = ["requested", "active", "refused", "released"] as const;
export type HoldStatus = (typeof HOLD_STATUSES)[number];

export interface HoldRange {
  camera: string;
  fromMs: number;
  toMs: number;
}

/** What the department's written request form says. */
export interface HoldRequestForm {
  formNumber: string;
  /** YYYY-MM-DD the signed form was received. */
  receivedOn: string;
  requestedBy: string;
  agency: string;
  caseNumber: string;
  legalBasis: LegalBasis;
  reason: string;
  ranges: HoldRange[];
}

export interface HoldRequestInput extends HoldRequestForm {
  /** The scanned signed form's bytes. */
  form: Uint8Array;
}

/** The stored scan of the signed form, relative to the evidence root. */
export interface FormScan {
  path: string;
  sha256: string;
  type: string;
  bytes: number;
}

/** A hold as stored: everything but what is counted from other rows or the clock. */
export interface HoldRecord extends HoldRequestForm {
  id: number;
  form: FormScan;
  enteredBy: string;
  enteredAt: number;
  status: HoldStatus;
  decidedBy: string | null;
  decidedAt: number | null;
  decisionNote: string | null;
  releasedBy: string | null;
  releasedAt: number | null;
  releaseReason: string | null;
}

export interface Hold extends HoldRecord {
  evidence: { segments: number; bytes: number };
  /** Still pending `overdueDays` after it was entered: the commander is late deciding. */
  overdue: boolean;
}

export interface HoldFilter {
  from?: number;
  to?: number;
  caseNumber?: string;
  camera?: string;
  status?: HoldStatus;
}

export interface Span {
  fromMs: number;
  toMs: number;
  segments: number;
}

/** What is and is not still there for a camera and a time range. */
export interface Coverage {
  camera: string;
  fromMs: number;
  toMs: number;
  /** Recorded and still on disk (complete, or being recorded now). */
  present: Span[];
  /** Destroyed by the purger: gone for good. */
  destroyed: (Span & { reason: string; destroyedAt: number })[];
  /** Recorded once but whose file was lost (reconciliation found it gone). */
  lost: Span[];
  /** Milliseconds of the range with nothing recorded at all. */
  notRecordedMs: number;
}

export interface EvidenceProblem {
  segment: number;
  file: string;
  problem: "missing" | "hash_mismatch" | "catalog_mismatch";
  detail: string;
}

export interface VerifyReport {
  hold: number;
  files: number;
  bytes: number;
  problems: EvidenceProblem[];
}
