import { type KeyObject, sign, verify } from "node:crypto";
import { dirname, relative } from "node:path";
import { fingerprintOf, KeyFileError, openKeyFile, readPublicKeyFile } from "../keys/ed25519-file.js";
import type { Logger } from "../log/logger.js";
import type { ChainPosition } from "./verify.js";

/**
 * Signed checkpoints of the audit chain's head: pscsd signs (sequence, hash, time) with an Ed25519
 * key, and the copies it logs (shipped off the host) let `pscs audit verify` prove that a chain whose
 * newest rows and anchor were rewritten together is not the chain pscsd saw.
 * Invariant: the private key leaves src/keys/ed25519-file.ts only into this module, and what leaves
 * this module is a signature and the public key's fingerprint.
 */

export interface Checkpoint {
  seq: number;
  hash: string;
  /** UTC ms when pscsd signed it. */
  at: number;
  /** SHA-256 of the public key (SPKI DER), hex: which key signed it. */
  fingerprint: string;
  /** Ed25519 signature of signedText(), base64. */
  sig: string;
}

/** The log line's key for a checkpoint (pino: `{"msg":"audit checkpoint","auditCheckpoint":{…}}`). */
export const CHECKPOINT_LOG_KEY = "auditCheckpoint";
export const CHECKPOINT_LOG_MSG = "audit checkpoint";

/** Named in the signed text, so a signature made by this key for anything else never passes as one. */
const DOMAIN = "pscs-audit-checkpoint/1";

function signedText(c: Omit<Checkpoint, "sig">): Buffer {
  return Buffer.from(JSON.stringify([DOMAIN, c.seq, c.hash, c.at, c.fingerprint]));
}

/** The config field naming the key: every refusal of the key names it. */
const KEY_FIELD = "audit.checkpointKey";

export class CheckpointSigner {
  readonly fingerprint: string;

  private constructor(
    private readonly key: KeyObject,
    readonly publicKey: KeyObject,
  ) {
    this.fingerprint = fingerprintOf(publicKey);
  }

  /** Reads the key, or creates it (and its `.pub`) when absent: see openKeyFile. */
  static open(file: string): { signer: CheckpointSigner; created: boolean } {
    const k = openKeyFile(file, KEY_FIELD);
    return { signer: new CheckpointSigner(k.privateKey, k.publicKey), created: k.created };
  }

  sign(head: ChainPosition, at: number): Checkpoint {
    const body = { seq: head.seq, hash: head.hash, at, fingerprint: this.fingerprint };
    return { ...body, sig: sign(null, signedText(body), this.key).toString("base64") };
  }
}

/**
 * pscsd's key at start: made at first start (its fingerprint logged for the operator to note down).
 * A key that cannot be made leaves pscsd recording without checkpoints (health says so): an upgrade
 * whose key directory is not writable must not stop the cameras. A key that is there but refused
 * (readable by others, not a key) is thrown: that is for an operator to fix. A key in the catalog's
 * directory is warned of, not refused: a copy of the catalog would carry the key that vouches for it.
 */
export function openCheckpointKey(
  file: string,
  catalog: string,
  log: Logger,
): { signer?: CheckpointSigner; created: boolean; problem?: string } {
  let opened: { signer: CheckpointSigner; created: boolean };
  try {
    opened = CheckpointSigner.open(file);
  } catch (e) {
    if (!(e instanceof KeyFileError && e.missing)) throw e;
    log.error({ file }, `audit checkpoints are off: ${e.message}`);
    return { created: false, problem: e.message };
  }
  const fingerprint = opened.signer.fingerprint;
  if (opened.created) log.info({ file, fingerprint }, "audit checkpoint key created");
  if (!relative(dirname(catalog), file).startsWith(".."))
    log.warn(
      { file, catalog },
      "audit checkpoint key lies in the catalog's directory: a copy of the catalog carries the key that vouches for it (set audit.checkpointKey)",
    );
  return opened;
}

export function readPublicKey(file: string): KeyObject {
  return readPublicKeyFile(file, KEY_FIELD);
}

/** Why a checkpoint is not pscsd's, or undefined when its signature holds for this public key. */
export function signatureProblem(c: Checkpoint, publicKey: KeyObject): string | undefined {
  const fingerprint = fingerprintOf(publicKey);
  if (c.fingerprint !== fingerprint)
    return `signed by another key (fingerprint ${c.fingerprint.slice(0, 16)}…, expected ${fingerprint.slice(0, 16)}…)`;
  let good = false;
  try {
    good = verify(null, signedText(c), publicKey, Buffer.from(c.sig, "base64"));
  } catch {
    good = false;
  }
  return good ? undefined : "bad signature (forged or altered)";
}

export function isCheckpoint(v: unknown): v is Checkpoint {
  const c = v as Partial<Checkpoint> | null;
  return (
    typeof c === "object" &&
    c !== null &&
    Number.isSafeInteger(c.seq) &&
    Number.isSafeInteger(c.at) &&
    typeof c.hash === "string" &&
    typeof c.fingerprint === "string" &&
    typeof c.sig === "string"
  );
}

/** A checkpoint as found in a log, or a line that claims to be one and is not readable. */
export type LoggedCheckpoint =
  | { line: number; checkpoint: Checkpoint }
  | { line: number; checkpoint?: undefined; problem: string };

/**
 * The checkpoint on one line of a log of JSON lines as pino writes them, if the line carries one
 * (anything before the first '{', such as a shipper's timestamp, is skipped). A line that names the
 * key but is not JSON is reported, not skipped: it may be a checkpoint someone garbled.
 */
export function checkpointFromLine(raw: string, line: number): LoggedCheckpoint | undefined {
  if (!raw.includes(CHECKPOINT_LOG_KEY)) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(raw.slice(Math.max(0, raw.indexOf("{"))));
  } catch {
    return { line, problem: "names a checkpoint but is not a JSON line (pscsd logs JSON unless --pretty)" };
  }
  if (typeof v !== "object" || v === null || !(CHECKPOINT_LOG_KEY in v)) return undefined;
  const c = (v as Record<string, unknown>)[CHECKPOINT_LOG_KEY];
  return isCheckpoint(c)
    ? { line, checkpoint: c }
    : { line, problem: "checkpoint line without seq, hash, at, fingerprint and sig" };
}
