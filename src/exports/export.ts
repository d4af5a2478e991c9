import type { ActionContext } from "../auth/acting.js";
import type { HoldRange } from "../holds/hold.js";
import type { BasisFields, Manifest, Recipient } from "./package-format.js";
import type { VerifyReport } from "./verify.js";

/**
 * What an export is, as every caller sees it (API, CLI, the export service, the package producer).
 * Lifecycle: requested → refused | queued (a commander other than the requester approved it) →
 * running → done | failed | cancelled.
 */

export const EXPORT_STATUSES = [
  "requested",
  "refused",
  "queued",
  "running",
  "done",
  "failed",
  "cancelled",
] as const;
export type ExportStatus = (typeof EXPORT_STATUSES)[number];

/** The legal basis as entered: like BasisFields, but a scan is the uploaded bytes. */
export type BasisInput =
  | Extract<BasisFields, { type: "criminal" }>
  | (Omit<Extract<BasisFields, { type: "agency_request" }>, "scan"> & { scan?: Uint8Array })
  | (Omit<Extract<BasisFields, { type: "court_order" }>, "scan"> & { scan?: Uint8Array });

export interface ExportRequestInput {
  basis: BasisInput;
  recipient: Recipient;
  /** Why it is released (case number or reason), kept with every audit entry of the export. */
  purpose: string;
  ranges: HoldRange[];
  /** The hold it belongs to; absent: the holds covering the ranges, or a new hold request. */
  hold?: number;
}

export interface ExportProgress {
  bytesDone: number;
  bytesTotal: number;
  /** Estimated ms left, when there is enough to estimate from. */
  etaMs: number | null;
}

export interface ExportDownload {
  by: string;
  at: number;
  from: string;
  bytes: number;
  complete: boolean;
}

export interface ExportRecord {
  id: number;
  hold: number;
  basis: BasisFields;
  recipient: Recipient;
  purpose: string;
  ranges: HoldRange[];
  status: ExportStatus;
  requestedBy: string;
  requestedAt: number;
  decidedBy: string | null;
  decidedAt: number | null;
  decisionNote: string | null;
  progress: ExportProgress | null;
  /** Why it failed or was refused. */
  error: string | null;
  /** Set once done: the package folder, relative to the exports root. */
  packagePath: string | null;
  manifestSha256: string | null;
  packageBytes: number | null;
  producedAt: number | null;
  downloads: ExportDownload[];
}

/** What the producer needs: everything decided, nothing left to look up in the directory. */
export interface PackageInput {
  exportId: number;
  hold: number;
  basis: BasisFields;
  /** Absolute paths of the stored scans named by `basis.scan`, to copy into the package. */
  scanFiles: Record<string, string>;
  recipient: Recipient;
  purpose: string;
  ranges: HoldRange[];
  requestedBy: { user: string; at: number };
  approvedBy: { user: string; at: number };
}

export interface ProducedPackage {
  /** Absolute path of the finished folder (renamed into place only once its manifest is signed). */
  dir: string;
  manifest: Manifest;
  manifestSha256: string;
  bytes: number;
}

/**
 * Builds a package folder. Invariant: nothing exists under the final name until the manifest is
 * signed; a crash leaves only a temporary folder, which `sweep` removes.
 */
export interface PackageProducer {
  produce(
    input: PackageInput,
    o: { onProgress?: (p: ExportProgress) => void; signal?: AbortSignal },
  ): Promise<ProducedPackage>;
  /** Removes temporary folders left by a crash; returns how many. */
  sweep(): Promise<number>;
  /** The signing key's fingerprint (SHA-256 of its SPKI DER, hex) and public key PEM. */
  key(): { fingerprint: string; publicKeyPem: string };
}

/**
 * The export service as its callers use it: every rule, refusal and audit entry of a request and
 * its decision lives behind it (the legal basis, the hold it belongs to, the two-person rule).
 */
export interface ExportDesk {
  request(input: ExportRequestInput, by: ActionContext): Promise<ExportRecord>;
  /** Only a commander who did not enter it; the hold must be active. Queues it for production. */
  approve(id: number, note: string, by: ActionContext): Promise<ExportRecord>;
  refuse(id: number, reason: string, by: ActionContext): Promise<ExportRecord>;
  /** The requester or a commander, while it is requested, queued or running (the production is stopped). */
  cancel(id: number, reason: string, by: ActionContext): Promise<ExportRecord>;
  get(id: number, by: ActionContext): Promise<ExportRecord>;
  /** Newest first. */
  list(by: ActionContext): Promise<ExportRecord[]>;
}

/** One download of a finished package, as `ExportPackages.download` hands it out. */
export interface PackageDownload {
  /** `export-<id>.zip`. */
  name: string;
  bytes: number;
  stream: NodeJS.ReadableStream;
  /**
   * Records the download (called once, however it ended): the bytes handed over, whether all were,
   * and `stalled` when pscsd cut off a client that read nothing for playback.stalledSeconds.
   */
  finished: (sent: number, complete: boolean, why?: "stalled") => Promise<void>;
}

/** The finished packages: what leaves the building, and the key a recipient pins. */
export interface ExportPackages {
  /**
   * The finished package as a stored zip stream (`bytes` long, known before the first byte); the
   * download is recorded and audited when the caller says it ended (bytes sent, complete).
   */
  download(id: number, by: ActionContext): Promise<PackageDownload>;
  /** The stored package checked as a recipient would (src/exports/verify.ts) against this key; audited. */
  verify(id: number, by: ActionContext): Promise<VerifyReport>;
  key(): { fingerprint: string; publicKeyPem: string };
}
