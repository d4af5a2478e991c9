import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Manifest } from "../../src/exports/package-format.js";
import { parseFingerprint, verifyPackage } from "../../src/exports/verify.js";
import { importsOf, parse, resolveImport } from "../architecture/source-files.js";
import {
  flipByte,
  sealPackage,
  writeSignedManifest,
  writeTestPackage,
  zipPackage,
} from "../helpers/export-package.js";

/**
 * verifyPackage's report: every problem at once, each naming its file or manifest field, on a folder
 * and on a zip alike; and it needs nothing but the package (no catalog, no config in its imports).
 */

const root = mkdtempSync(join(tmpdir(), "pscs-verify-unit-"));
const pkg = writeTestPackage(join(root, "base", "export-12"));
let n = 0;
function copy(): string {
  const dir = join(root, `copy-${++n}`, "export-12");
  cpSync(pkg.dir, dir, { recursive: true });
  return dir;
}
const lines = (r: { problems: { subject: string; problem: string }[] }) =>
  r.problems.map((p) => `${p.subject}: ${p.problem}`);

describe("verifyPackage", () => {
  it("lists every problem, not the first: a clip altered, one removed, a file added, all in one report", async () => {
    const dir = copy();
    flipByte(join(dir, "clips/cam1.mp4"));
    writeFileSync(join(dir, "notes.txt"), "added");
    cpSync(join(dir, "clips/cam2.mp4"), join(dir, "clips/cam2.bak"));
    rmSync(join(dir, "README.txt"));
    const r = await verifyPackage(dir);
    expect(r.ok).toBe(false);
    expect(lines(r)).toEqual([
      "README.txt: missing (listed in the manifest)",
      "clips/cam1.mp4: its SHA-256 differs from the manifest's (altered)",
      "clips/cam2.bak: not listed in the manifest (added)",
      "notes.txt: not listed in the manifest (added)",
    ]);
    // The same changes, zipped.
    const zip = join(root, `z-${++n}.zip`);
    await zipPackage(dir, zip, pkg.manifest);
    expect(lines(await verifyPackage(zip))).toEqual(lines(r));
  });

  it("names each manifest field that breaks the format, and a clip or scan the files do not list", async () => {
    const dir = copy();
    writeSignedManifest(
      dir,
      {
        ...pkg.manifest,
        exportId: "12",
        basis: { ...pkg.manifest.basis, orderDate: "28/11/2026" },
        files: pkg.manifest.files.map((f) => (f.path === "index.html" ? { ...f, sha256: "ABC" } : f)),
      },
      pkg.key,
    );
    const r = await verifyPackage(dir);
    expect(lines(r)).toEqual([
      "manifest.json exportId: Invalid input: expected number, received string",
      "manifest.json basis/orderDate: expected YYYY-MM-DD",
      `manifest.json files/${pkg.manifest.files.findIndex((f) => f.path === "index.html")}/sha256: expected a SHA-256 as 64 lowercase hex digits`,
    ]);
    expect(r.manifest).toBeNull();

    const unlisted = copy();
    const wrongRefs: Manifest = {
      ...pkg.manifest,
      cameras: [{ ...(pkg.manifest.cameras[0] as Manifest["cameras"][0]), clip: "clips/cam9.mp4" }],
      basis: {
        ...(pkg.manifest.basis as Extract<Manifest["basis"], { type: "court_order" }>),
        scan: {
          file: "documents/court-order.pdf",
          sha256: "0".repeat(64),
          type: "application/pdf",
          bytes: 1,
        },
      },
    };
    sealPackage(unlisted, wrongRefs, pkg.key);
    expect(lines(await verifyPackage(unlisted))).toEqual([
      "manifest.json cameras/0/clip: clips/cam9.mp4 is not in files",
      "manifest.json basis/scan: its SHA-256 or size differs from documents/court-order.pdf's in files",
    ]);
  });

  it("a signature that is not one, a key that is not one, a manifest that is not JSON: each named", async () => {
    const dir = copy();
    writeFileSync(join(dir, "manifest.sig"), "not base64!\n");
    writeFileSync(
      join(dir, "signing-key.pem"),
      "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
    );
    expect(lines(await verifyPackage(dir))).toEqual([
      "signing-key.pem: not a PEM Ed25519 public key",
      "manifest.sig: not one line of base64 holding a 64-byte Ed25519 signature",
      `signing-key.pem: 57 bytes, the manifest says ${pkg.manifest.files.find((f) => f.path === "signing-key.pem")?.bytes}`,
    ]);
    const notJson = copy();
    writeFileSync(join(notJson, "manifest.json"), "{ nope");
    const r = await verifyPackage(notJson);
    expect(lines(r)[0]).toMatch(/^manifest\.json: not UTF-8 JSON/);
    expect(lines(r)).toContain("manifest.sig: not a signature of manifest.json by signing-key.pem");
  });

  it("a symbolic link in the folder is refused, not followed", async () => {
    const dir = copy();
    symlinkSync("/etc/passwd", join(dir, "clips/link.mp4"));
    expect(lines(await verifyPackage(dir))).toEqual([
      "clips/link.mp4: not a regular file (a link or device)",
    ]);
  });

  it("takes the fingerprint with or without colons, in any case; anything else is refused", async () => {
    const hex = pkg.fingerprint;
    const colons = hex.toUpperCase().match(/../g)?.join(":") ?? "";
    expect([parseFingerprint(hex), parseFingerprint(colons), parseFingerprint(` ${colons} `)]).toEqual([
      hex,
      hex,
      hex,
    ]);
    expect(parseFingerprint(hex.slice(2))).toBeUndefined();
    expect(parseFingerprint(`${hex.slice(2)}zz`)).toBeUndefined();
    await expect(verifyPackage(pkg.dir, { fingerprint: "abc" })).rejects.toMatchObject({
      kind: "invalid",
      field: "fingerprint",
    });
    expect((await verifyPackage(pkg.dir, { fingerprint: colons })).ok).toBe(true);
  });

  it("needs nothing but the package: nothing it imports, however deep, reaches the catalog or the config", () => {
    const seen = new Set<string>();
    const walk = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const spec of importsOf(parse(file))) {
        const target = resolveImport(file, spec);
        if (target) walk(target);
      }
    };
    walk("src/exports/verify.ts");
    expect(seen.has("src/exports/zip-read.ts")).toBe(true);
    expect([...seen].filter((f) => /^src\/(catalog|config|compose)\//.test(f))).toEqual([]);
  });
});
