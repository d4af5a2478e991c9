import { generateKeyPairSync } from "node:crypto";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  CheckpointSigner,
  checkpointFromLine,
  readPublicKey,
  signatureProblem,
} from "../../src/audit/checkpoint.js";
import { KeyFileError } from "../../src/keys/ed25519-file.js";

const keyFile = () => join(mkdtempSync(join(tmpdir(), "pscs-cpkey-")), "audit-checkpoint.key");
const HEAD = { seq: 41, hash: "c0ffee".padEnd(64, "0") };

describe("audit checkpoints", () => {
  it("verify with the public key beside the private one, and fail for any field changed after signing", () => {
    const file = keyFile();
    const { signer } = CheckpointSigner.open(file);
    const c = signer.sign(HEAD, Date.UTC(2026, 11, 1, 8));
    const pub = readPublicKey(`${file}.pub`);
    expect(signatureProblem(c, pub)).toBeUndefined();
    for (const changed of [
      { ...c, seq: 42 },
      { ...c, hash: "f".repeat(64) },
      { ...c, at: c.at + 1 },
      { ...c, sig: Buffer.from("x".repeat(64)).toString("base64") },
      { ...c, sig: "not base64 at all!" },
    ])
      expect(signatureProblem(changed, pub)).toBe("bad signature (forged or altered)");
    const other = CheckpointSigner.open(keyFile()).signer;
    expect(signatureProblem(other.sign(HEAD, c.at), pub)).toMatch(
      /^signed by another key \(fingerprint [0-9a-f]{16}…, expected [0-9a-f]{16}…\)$/,
    );
  });

  it("reuse the key at the next start, and refuse one others can read or one that is not Ed25519", () => {
    const file = keyFile();
    const first = CheckpointSigner.open(file);
    const again = CheckpointSigner.open(file);
    expect(again.created).toBe(false);
    expect(again.signer.fingerprint).toBe(first.signer.fingerprint);
    chmodSync(file, 0o640);
    expect(() => CheckpointSigner.open(file)).toThrow(KeyFileError);
    expect(() => CheckpointSigner.open(file)).toThrow(/readable by others \(mode 640\): chmod 600 it$/);
    const rsa = keyFile();
    writeFileSync(
      rsa,
      generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ type: "pkcs8", format: "pem" }),
      { mode: 0o600 },
    );
    expect(() => CheckpointSigner.open(rsa)).toThrow(/not an Ed25519 key/);
    const junk = keyFile();
    writeFileSync(junk, "junk", { mode: 0o600 });
    expect(() => CheckpointSigner.open(junk)).toThrow(/not a PEM private key/);
  });

  it("are picked out of log lines: pino's JSON, a shipper's prefix, a garbled claim; other lines ignored", () => {
    const c = { seq: 3, hash: "a".repeat(64), at: 1, fingerprint: "b".repeat(64), sig: "c2ln" };
    expect(checkpointFromLine(JSON.stringify({ msg: "audit checkpoint", auditCheckpoint: c }), 7)).toEqual({
      line: 7,
      checkpoint: c,
    });
    expect(checkpointFromLine(`Dec  1 host pscsd: ${JSON.stringify({ auditCheckpoint: c })}`, 8)).toEqual({
      line: 8,
      checkpoint: c,
    });
    expect(checkpointFromLine(JSON.stringify({ auditCheckpoint: { ...c, seq: "3" } }), 9)).toMatchObject({
      line: 9,
      problem: expect.stringMatching(/without seq/),
    });
    expect(checkpointFromLine('{"auditCheckpoint":{"seq":', 10)).toMatchObject({
      line: 10,
      problem: expect.stringMatching(/not a JSON line/),
    });
    expect(checkpointFromLine(JSON.stringify({ msg: "login", user: "auditCheckpoint" }), 11)).toBeUndefined();
    expect(checkpointFromLine(JSON.stringify({ msg: "pscsd started" }), 12)).toBeUndefined();
  });
});
