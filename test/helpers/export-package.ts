import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from "node:crypto";
import { createWriteStream, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { pipeline } from "node:stream/promises";
import {
  CUSTODY_FILE,
  MANIFEST_FILE,
  type Manifest,
  PACKAGE_FORMAT,
  PUBLIC_KEY_FILE,
  README_FILE,
  SIGNATURE_FILE,
  VIEWER_FILE,
} from "../../src/exports/package-format.js";
import { folderSources, planZip } from "../../src/exports/zip.js";
import { fingerprintOf } from "../../src/keys/ed25519-file.js";

/**
 * A package that follows the contract in src/exports/package-format.ts, made without the producer:
 * a few files (random bytes for the clips), a manifest listing them, signed with a fresh Ed25519
 * key. `sealPackage` re-lists and re-signs a folder, as a forger holding their own key would.
 */

export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export interface TestPackage {
  dir: string;
  manifest: Manifest;
  key: KeyPair;
  fingerprint: string;
}

export const newKeyPair = (): KeyPair => generateKeyPairSync("ed25519");

const at = (iso: string) => ({ utc: iso, local: iso.replace("Z", "-05:00") });
const span = { from: at("2026-11-30T14:00:00.000Z"), to: at("2026-11-30T14:03:00.000Z") };
const SCAN = "documents/court-order.pdf";

/** Writes a signed package into `dir` (created): two cameras' clips, a court order's scan. */
export function writeTestPackage(
  dir: string,
  o: { exportId?: number; clipBytes?: number } = {},
): TestPackage {
  const clipBytes = o.clipBytes ?? 200_000;
  const key = newKeyPair();
  const files: Record<string, Buffer> = {
    [PUBLIC_KEY_FILE]: Buffer.from(key.publicKey.export({ type: "spki", format: "pem" }).toString()),
    [VIEWER_FILE]: Buffer.from("<!doctype html><title>export</title>\n"),
    [CUSTODY_FILE]: Buffer.from("<!doctype html><title>chain of custody</title>\n"),
    [README_FILE]: Buffer.from("Run: pscs verify <this folder> --fingerprint <the department's>\n"),
    "clips/cam1.mp4": randomBytes(clipBytes),
    "clips/cam2.mp4": randomBytes(Math.ceil(clipBytes / 3)),
    [SCAN]: Buffer.concat([Buffer.from("%PDF-1.4\n"), randomBytes(2000)]),
  };
  for (const [path, bytes] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), bytes);
  }
  const scan = files[SCAN] as Buffer;
  const camera = (id: string) => ({
    camera: id,
    clip: `clips/${id}.mp4`,
    requested: span,
    actual: { from: at("2026-11-30T13:59:58.000Z"), to: span.to },
    identity: { manufacturer: "Axis", model: "Q6075", serial: `SN-${id}`, firmware: "10.12.1" },
    clock: [{ at: "2026-11-30T13:59:00.000Z", offsetMs: 120, errorMs: 510 }],
    sources: [
      {
        segment: 41,
        file: `${id}/2026/11/30/14/2026-11-30T14-00-00Z.ts`,
        from: "2026-11-30T14:00:00.000Z",
        to: "2026-11-30T14:01:00.000Z",
        sha256: "a".repeat(64),
        bytes: 3_800_000,
      },
    ],
  });
  const base: Manifest = {
    format: PACKAGE_FORMAT,
    exportId: o.exportId ?? 12,
    hold: 3,
    basis: {
      type: "court_order",
      dispute: "civil",
      court: "Superior Court of Connecticut",
      docketNumber: "HHD-CV26-6012345-S",
      judge: "Hon. A. Judge",
      orderDate: "2026-11-28",
      scan: { file: SCAN, sha256: sha256(scan), type: "application/pdf", bytes: scan.length },
    },
    purpose: "civil discovery, docket HHD-CV26-6012345-S",
    recipient: { name: "J. Counsel", organisation: "Counsel LLP", delivery: "download" },
    site: { name: "Test PD", timezone: "America/New_York" },
    requested: span,
    actual: { from: at("2026-11-30T13:59:58.000Z"), to: span.to },
    cameras: [camera("cam1"), camera("cam2")],
    files: [],
    requestedBy: { user: "records1", at: "2026-11-30T15:00:00.000Z" },
    approvedBy: { user: "commander1", at: "2026-11-30T15:10:00.000Z" },
    producedBy: { by: "system", at: "2026-11-30T15:11:00.000Z" },
    software: { name: "pscs", version: "0.1.0" },
    keyFingerprint: "",
  };
  const manifest = sealPackage(dir, base, key);
  return { dir, manifest, key, fingerprint: fingerprintOf(key.publicKey) };
}

/**
 * Lists every file of the folder (but the manifest and its signature) in `base`'s files, names the
 * key, writes manifest.json and manifest.sig signed by it: a valid package for that key.
 */
export function sealPackage(dir: string, base: Manifest, key: KeyPair): Manifest {
  const files = listFiles(dir)
    .filter((p) => p !== MANIFEST_FILE && p !== SIGNATURE_FILE)
    .map((path) => {
      const bytes = readFileSync(join(dir, path));
      return { path, sha256: sha256(bytes), bytes: bytes.length };
    });
  const manifest: Manifest = { ...base, files, keyFingerprint: fingerprintOf(key.publicKey) };
  writeSignedManifest(dir, manifest, key);
  return manifest;
}

/** Writes `value` as manifest.json, as it is (even if no manifest), and manifest.sig signing it. */
export function writeSignedManifest(dir: string, value: unknown, key: KeyPair): void {
  const text = Buffer.from(`${JSON.stringify(value, null, 2)}\n`);
  writeFileSync(join(dir, MANIFEST_FILE), text);
  writeFileSync(join(dir, SIGNATURE_FILE), `${sign(null, text, key.privateKey).toString("base64")}\n`);
}

/** The package folder as the download would send it, under `export-<id>/`. */
export async function zipPackage(dir: string, zipFile: string, manifest: Manifest): Promise<void> {
  const plan = planZip(await folderSources(dir), {
    top: `export-${manifest.exportId}`,
    time: new Date(manifest.producedBy.at),
  });
  await pipeline(plan.stream(), createWriteStream(zipFile));
}

export function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((p) => statSync(join(dir, p)).isFile())
    .map((p) => relative(dir, join(dir, p)).split(sep).join("/"))
    .sort();
}

/** Flips one byte of a file at `offset` (default: its middle). */
export function flipByte(file: string, offset?: number): void {
  const b = readFileSync(file);
  const i = offset ?? Math.floor(b.length / 2);
  b[i] = (b[i] ?? 0) ^ 0x01;
  writeFileSync(file, b);
}

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
