import { type KeyObject, sign } from "node:crypto";
import { relative, resolve } from "node:path";
import { KeyFileError, openKeyFile, publicKeyPem } from "../keys/ed25519-file.js";
import type { Logger } from "../log/logger.js";

/** The config field naming the export key: every refusal of the key names it. */
export const EXPORT_KEY_FIELD = "exports.signingKey";

/**
 * The department's export signing key: signs each package's manifest.json (Ed25519 over its exact
 * bytes). Made at first start (0600, O_EXCL, see src/keys/ed25519-file.ts), never logged.
 * Invariant: the key lies outside the footage, evidence and exports trees, so no copy of footage or
 * of a package carries the key that vouches for it; a key inside one is refused.
 */
export class ExportSigner {
  readonly fingerprint: string;
  readonly publicKeyPem: string;

  private constructor(
    private readonly key: KeyObject,
    publicKey: KeyObject,
    fingerprint: string,
    /** Made by this open (first start): its fingerprint is for the operator to note down. */
    readonly created: boolean,
  ) {
    this.fingerprint = fingerprint;
    this.publicKeyPem = publicKeyPem(publicKey);
  }

  /** `trees`: the folders the key must not lie in (storage.recordings, evidence, exports). */
  static open(file: string, trees: readonly string[]): ExportSigner {
    const inside = trees.find((t) => !relative(resolve(t), resolve(file)).startsWith(".."));
    if (inside !== undefined)
      throw new KeyFileError(
        EXPORT_KEY_FIELD,
        file,
        `lies inside ${inside}: keep the export key out of the footage, evidence and exports trees`,
      );
    const k = openKeyFile(file, EXPORT_KEY_FIELD);
    return new ExportSigner(k.privateKey, k.publicKey, k.fingerprint, k.created);
  }

  /** Base64 Ed25519 signature of `bytes`. */
  sign(bytes: Uint8Array): string {
    return sign(null, bytes, this.key).toString("base64");
  }
}

/**
 * pscsd's export key at start, made at first start (its fingerprint logged for the operator to note
 * down and hand to recipients). A key that cannot be made leaves pscsd recording with exports off
 * (undefined): cameras must not stop for it. A key that is there but refused is thrown: an operator
 * fixes it.
 */
export function openExportSigner(
  file: string,
  trees: readonly string[],
  log: Logger,
): ExportSigner | undefined {
  try {
    const signer = ExportSigner.open(file, trees);
    if (signer.created) log.info({ file, fingerprint: signer.fingerprint }, "export signing key created");
    return signer;
  } catch (e) {
    if (!(e instanceof KeyFileError && e.missing)) throw e;
    log.error({ file }, `exports are off: ${e.message}`);
    return undefined;
  }
}
