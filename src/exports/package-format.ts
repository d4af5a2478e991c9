/**
 * The export package as a recipient receives it: the contract between the producer
 * (`retention/export/`) and the verifier (`src/exports/verify.ts`), which needs nothing but the
 * package itself (and, to pin the department's key, its fingerprint).
 *
 * A package is a folder (and a stored, not deflated, zip of that folder under one top directory):
 *
 *   manifest.json   the Manifest below, UTF-8 JSON; its exact bytes are what is signed
 *   manifest.sig    base64 of the Ed25519 signature over manifest.json's bytes, one line
 *   signing-key.pem the department's export public key (SPKI PEM)
 *   index.html      offline viewer (file://, no network): plays the clips, shows the manifest,
 *                   checks SHA-256 with WebCrypto
 *   custody.html    printable chain-of-custody sheet
 *   README.txt      what is in the package and how to verify it
 *   clips/<camera>.mp4  one stream-copied, faststart MP4 per camera
 *
 * Invariant: `manifest.files` lists every file of the package except manifest.json and
 * manifest.sig, each with its SHA-256 and size; a package with any other file, or missing one, does
 * not verify.
 */

export const PACKAGE_FORMAT = "pscs-export/1";
export const MANIFEST_FILE = "manifest.json";
export const SIGNATURE_FILE = "manifest.sig";
export const PUBLIC_KEY_FILE = "signing-key.pem";
export const VIEWER_FILE = "index.html";
export const CUSTODY_FILE = "custody.html";
export const README_FILE = "README.txt";
export const CLIPS_DIR = "clips";

/** An instant in UTC (ISO 8601, ms, `Z`) and in the site's zone (ISO 8601 with its offset). */
export interface Instant {
  utc: string;
  local: string;
}

export interface SpanText {
  from: Instant;
  to: Instant;
}

export type BasisFields =
  | { type: "criminal"; caseNumber: string; requestingOfficer: string }
  | {
      type: "agency_request";
      agency: string;
      requestNumber: string;
      /** YYYY-MM-DD on the written request. */
      requestDate: string;
      scan: ScanRef;
    }
  | {
      type: "court_order";
      /** `civil` for a dispute between private litigants (court must be the Superior Court of Connecticut). */
      dispute: "criminal" | "civil";
      court: string;
      docketNumber: string;
      judge: string;
      /** YYYY-MM-DD of the order. */
      orderDate: string;
      scan: ScanRef;
    };

/** A stored scan (written request or court order): in the package under `documents/`, listed in files. */
export interface ScanRef {
  /** Path inside the package. */
  file: string;
  sha256: string;
  type: string;
  bytes: number;
}

export interface Recipient {
  name: string;
  organisation: string;
  /** How it is handed over, e.g. "in person, USB drive" or "download". */
  delivery: string;
}

export interface CameraIdentity {
  manufacturer: string;
  model: string;
  serial: string;
  firmware: string;
}

export interface ClockOffsetSample {
  /** When it was sampled (server clock). */
  at: string;
  /** Camera clock minus server clock. */
  offsetMs: number;
  /** The offset's own error bound: ± (500 + rtt/2) ms (ONVIF times are whole seconds). */
  errorMs: number;
}

export interface SourceSegment {
  /** Catalog id of the segment. */
  segment: number;
  /** Its file name in the department's store. */
  file: string;
  from: string;
  to: string;
  sha256: string;
  bytes: number;
}

export interface CameraEntry {
  camera: string;
  /** The clip inside the package, e.g. `clips/cam1.mp4`. */
  clip: string;
  requested: SpanText;
  /** What the clip really covers: from the keyframe at or before the requested start. */
  actual: SpanText;
  /** As the camera reported it over ONVIF; null when it never answered GetDeviceInformation. */
  identity: CameraIdentity | null;
  /** Samples around the span (the last before it, every one inside it, the first after it). */
  clock: ClockOffsetSample[];
  sources: SourceSegment[];
}

export interface PackageFile {
  path: string;
  sha256: string;
  bytes: number;
}

export interface Manifest {
  format: typeof PACKAGE_FORMAT;
  exportId: number;
  hold: number;
  basis: BasisFields;
  purpose: string;
  recipient: Recipient;
  site: { name: string; timezone: string };
  /** Earliest and latest over the cameras. */
  requested: SpanText;
  actual: SpanText;
  cameras: CameraEntry[];
  files: PackageFile[];
  requestedBy: { user: string; at: string };
  approvedBy: { user: string; at: string };
  producedBy: { by: string; at: string };
  software: { name: "pscs"; version: string };
  /** SHA-256 (hex) of the signing public key's SPKI DER: what `--fingerprint` is compared with. */
  keyFingerprint: string;
}
