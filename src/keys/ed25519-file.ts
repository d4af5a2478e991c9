import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from "node:crypto";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/**
 * An Ed25519 private key kept in a file of its own (the audit checkpoint key, the export signing key).
 * Invariant: the private key is read only by openKeyFile and written only when it is created (0600,
 * O_EXCL); it is never logged. Its public half, `<file>.pub`, is world-readable: verification needs
 * it, and it reveals nothing.
 */

/** A key file that cannot be used; names the config field that points at it. */
export class KeyFileError extends Error {
  constructor(
    /** The config field naming the file, e.g. `audit.checkpointKey`. */
    readonly field: string,
    readonly file: string,
    problem: string,
    /** The key does not exist and could not be made (as opposed to a key that is there and refused). */
    readonly missing = false,
  ) {
    super(`${field} ${file}: ${problem}`);
    this.name = "KeyFileError";
  }
}

export interface KeyFile {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** SHA-256 of the public key's SPKI DER, hex. */
  fingerprint: string;
  /** Made by this call (first start). */
  created: boolean;
}

export function fingerprintOf(publicKey: KeyObject): string {
  return createHash("sha256")
    .update(publicKey.export({ type: "spki", format: "der" }))
    .digest("hex");
}

export function publicKeyFile(keyFile: string): string {
  return `${keyFile}.pub`;
}

export function publicKeyPem(publicKey: KeyObject): string {
  return publicKey.export({ type: "spki", format: "pem" }).toString();
}

/**
 * Reads the key, or creates it (and its `.pub`) when absent. A key others can read is refused, as
 * ssh refuses one: whoever can read it can sign in the department's name.
 */
export function openKeyFile(file: string, field: string): KeyFile {
  let created = false;
  let pem: string;
  try {
    pem = readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "ENOENT" && code !== "ENOTDIR") throw keyError(field, file, "cannot read", e);
    pem = create(file, field);
    created = true;
  }
  const mode = statSync(file).mode & 0o777;
  if (mode & 0o077)
    throw new KeyFileError(field, file, `readable by others (mode ${mode.toString(8)}): chmod 600 it`);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch {
    throw new KeyFileError(field, file, "not a PEM private key");
  }
  if (privateKey.asymmetricKeyType !== "ed25519") throw new KeyFileError(field, file, "not an Ed25519 key");
  const publicKey = createPublicKey(privateKey);
  const pub = publicKeyFile(file);
  let pubPem: string | undefined;
  try {
    pubPem = readFileSync(pub, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw keyError(field, pub, "cannot read", e);
  }
  const want = publicKeyPem(publicKey);
  try {
    if (pubPem !== want) writeFileSync(pub, want, { mode: 0o644 });
  } catch (e) {
    throw keyError(field, pub, "cannot write the public key", e);
  }
  return { privateKey, publicKey, fingerprint: fingerprintOf(publicKey), created };
}

function create(file: string, field: string): string {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  } catch (e) {
    throw keyError(field, file, "cannot create", e);
  }
  try {
    // 'wx': another process creating it at the same moment wins, and this one reads theirs.
    writeFileSync(file, pem, { mode: 0o600, flag: "wx" });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return readFileSync(file, "utf8");
    throw keyError(field, file, "cannot create", e);
  }
  try {
    writeFileSync(publicKeyFile(file), publicKeyPem(publicKey), { mode: 0o644 });
  } catch (e) {
    throw keyError(field, publicKeyFile(file), "cannot write the public key", e);
  }
  return pem;
}

function keyError(field: string, file: string, what: string, e: unknown): KeyFileError {
  const making = what !== "cannot read";
  return new KeyFileError(
    field,
    file,
    `${what}: ${(e as NodeJS.ErrnoException).code ?? String(e)}${making ? " (pscsd makes it at first start: its directory must be writable then)" : ""}`,
    making,
  );
}

/** A public key from its PEM file (`<key>.pub`, or one a recipient was given). */
export function readPublicKeyFile(file: string, field: string): KeyObject {
  let pem: string;
  try {
    pem = readFileSync(file, "utf8");
  } catch (e) {
    throw new KeyFileError(field, file, `cannot read the public key: ${(e as NodeJS.ErrnoException).code}`);
  }
  try {
    const key = createPublicKey(pem);
    if (key.asymmetricKeyType === "ed25519") return key;
  } catch {
    // falls through to the typed error
  }
  throw new KeyFileError(field, file, "not a PEM Ed25519 public key");
}
