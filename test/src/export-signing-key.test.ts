import { createHash, createPublicKey, verify } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ExportSigner, openExportSigner } from "../../src/exports/signing-key.js";
import { KeyFileError } from "../../src/keys/ed25519-file.js";
import { createLogger } from "../../src/log/logger.js";

/** The export signing key: made once (0600), reused, signs bytes, kept out of every storage tree. */

const log = createLogger({ name: "test", level: "silent" });

describe("export signing key", () => {
  it("is made at first start 0600, reused after, and signs bytes its .pub and fingerprint verify", () => {
    const dir = mkdtempSync(join(tmpdir(), "pscs-exkey-"));
    const file = join(dir, "etc", "export-signing.key");
    const trees = [join(dir, "rec"), join(dir, "ev"), join(dir, "exports")];
    const first = ExportSigner.open(file, trees);
    expect(first.created).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const again = ExportSigner.open(file, trees);
    expect(again.created).toBe(false);
    expect(again.fingerprint).toBe(first.fingerprint);
    const pub = createPublicKey(readFileSync(`${file}.pub`, "utf8"));
    expect(again.publicKeyPem).toBe(readFileSync(`${file}.pub`, "utf8"));
    expect(
      createHash("sha256")
        .update(pub.export({ type: "spki", format: "der" }))
        .digest("hex"),
    ).toBe(first.fingerprint);
    const bytes = Buffer.from('{"exportId":1}\n');
    expect(verify(null, bytes, pub, Buffer.from(again.sign(bytes), "base64"))).toBe(true);
    chmodSync(file, 0o644);
    expect(() => ExportSigner.open(file, trees)).toThrow(
      `exports.signingKey ${file}: readable by others (mode 644): chmod 600 it`,
    );
  });

  it("is refused inside the recordings, evidence or exports tree, and exports are off when it cannot be made", () => {
    const dir = mkdtempSync(join(tmpdir(), "pscs-exkey-"));
    const ev = join(dir, "ev");
    expect(() => ExportSigner.open(join(ev, "keys", "k.key"), [join(dir, "rec"), ev])).toThrow(KeyFileError);
    expect(() => ExportSigner.open(join(ev, "k.key"), [ev])).toThrow(
      /lies inside .*ev: keep the export key out/,
    );
    // A file where its directory should be: it cannot be made, pscsd records on without exports.
    mkdirSync(join(dir, "blocked"));
    writeFileSync(join(dir, "blocked", "etc"), "not a directory");
    expect(openExportSigner(join(dir, "blocked", "etc", "k.key"), [ev], log)).toBeUndefined();
  });
});
