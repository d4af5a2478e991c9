import { execFileSync } from "node:child_process";
import { sign } from "node:crypto";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { openZip } from "../../src/exports/zip-read.js";
import {
  flipByte,
  newKeyPair,
  sealPackage,
  type TestPackage,
  writeTestPackage,
  zipPackage,
} from "../helpers/export-package.js";
import { startProc } from "../helpers/process.js";

/**
 * `pscs verify` through the built binary, as a recipient runs it: no config, no catalog, no pscsd.
 * Each tamper case must fail (exit 1) with a line naming the file or field; the untouched package
 * and its zip must pass (exit 0).
 */

const PSCS = join(import.meta.dirname, "../../dist/src/bin/pscs.js");
const root = mkdtempSync(join(tmpdir(), "pscs-verify-"));
// A config file that is not there: the command must not look for one.
const env = { ...process.env, PSCS_CONFIG: join(root, "no-such-config.yaml") };

async function pscsVerify(args: string[]) {
  const p = startProc(process.execPath, [PSCS, "verify", ...args], { cwd: root, env });
  const { code } = await p.exited;
  return { code, out: p.lines.join("\n") };
}

let pkg: TestPackage;
let n = 0;
/** A fresh copy of the untouched package folder. */
function copy(): string {
  const dir = join(root, `copy-${++n}`, "export-12");
  cpSync(pkg.dir, dir, { recursive: true });
  return dir;
}
async function zipOf(dir: string): Promise<string> {
  const file = join(root, `zip-${++n}.zip`);
  await zipPackage(dir, file, pkg.manifest);
  return file;
}
/** Replaces bytes of a zip entry in place, inside the archive's bytes. */
async function patchZipEntry(zip: string, path: string, patch: (b: Buffer) => void): Promise<void> {
  const entry = (await openZip(zip)).entries.get(path);
  if (!entry) throw new Error(`no entry ${path}`);
  const b = readFileSync(zip);
  const data = Buffer.from(b.subarray(entry.dataOffset, entry.dataOffset + entry.size));
  patch(data);
  data.copy(b, entry.dataOffset);
  writeFileSync(zip, b);
}
/** One byte of manifest.json changed, the JSON still sound: the recipient's name. */
const forgeManifest = (b: Buffer) => {
  const i = b.indexOf("J. Counsel");
  b[i] = "K".charCodeAt(0);
};
const otherSignature = (manifest: Buffer) =>
  `${sign(null, manifest, newKeyPair().privateKey).toString("base64")}\n`;
/** A base64 character in the middle of the PEM's key line changed. */
const forgeKey = (b: Buffer) => {
  const i = b.indexOf("\n") + 20;
  b[i] = b[i] === 0x41 ? 0x42 : 0x41;
};
const colons = (hex: string) => hex.toUpperCase().match(/../g)?.join(":") ?? "";

beforeAll(() => {
  pkg = writeTestPackage(join(root, "base", "export-12"));
});

describe("pscs verify: the untouched package", () => {
  it("a folder verifies, with and without the fingerprint (colons, upper case), and prints its summary", async () => {
    const plain = await pscsVerify([pkg.dir]);
    expect(plain, plain.out).toMatchObject({ code: 0 });
    expect(plain.out).toContain("verifies (folder)");
    expect(plain.out).toContain("export 12, hold 3");
    expect(plain.out).toContain("court order, docket HHD-CV26-6012345-S");
    expect(plain.out).toContain("cameras: cam1, cam2");
    expect(plain.out).toMatch(/files: 7 listed, \d+ bytes/);
    expect(plain.out).toContain(`signed by key ${pkg.fingerprint}`);
    expect(plain.out).toContain("not pinned");
    const pinned = await pscsVerify([pkg.dir, "--fingerprint", colons(pkg.fingerprint)]);
    expect(pinned, pinned.out).toMatchObject({ code: 0 });
    expect(pinned.out).toContain("(the fingerprint given)");
  });

  it("its zip verifies, and is one a stock unzip and Python's zipfile accept", async () => {
    const zip = await zipOf(pkg.dir);
    const r = await pscsVerify([zip, "--fingerprint", pkg.fingerprint]);
    expect(r, r.out).toMatchObject({ code: 0 });
    expect(r.out).toContain("verifies (zip)");
    expect(execFileSync("unzip", ["-t", zip], { encoding: "utf8" })).toContain("No errors detected");
    execFileSync("python3", ["-m", "zipfile", "-t", zip]);
  });

  it("--json carries the report", async () => {
    const r = await pscsVerify([pkg.dir, "--json"]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as { ok: boolean; keyFingerprint: string; problems: unknown[] };
    expect(report).toMatchObject({ ok: true, keyFingerprint: pkg.fingerprint, problems: [] });
  });
});

/** Each case changes a copy of the folder; the zip cases zip it or patch the zip's bytes. */
const FOLDER_CASES: { name: string; tamper: (dir: string) => void; lines: RegExp[] }[] = [
  {
    name: "one byte of a clip",
    tamper: (dir) => flipByte(join(dir, "clips/cam1.mp4")),
    lines: [/^ {2}clips\/cam1\.mp4: its SHA-256 differs from the manifest's \(altered\)$/m],
  },
  {
    name: "one byte of manifest.json",
    tamper: (dir) => {
      const b = readFileSync(join(dir, "manifest.json"));
      forgeManifest(b);
      writeFileSync(join(dir, "manifest.json"), b);
    },
    lines: [/^ {2}manifest\.sig: not a signature of manifest\.json by signing-key\.pem: manifest\.json or/m],
  },
  {
    name: "one byte of signing-key.pem",
    tamper: (dir) => {
      const b = readFileSync(join(dir, "signing-key.pem"));
      forgeKey(b);
      writeFileSync(join(dir, "signing-key.pem"), b);
    },
    lines: [/^ {2}signing-key\.pem: its SHA-256 differs from the manifest's \(altered\)$/m],
  },
  {
    name: "the signature replaced",
    tamper: (dir) =>
      writeFileSync(join(dir, "manifest.sig"), otherSignature(readFileSync(join(dir, "manifest.json")))),
    lines: [/^ {2}manifest\.sig: not a signature of manifest\.json/m],
  },
  {
    name: "a file added",
    tamper: (dir) => writeFileSync(join(dir, "clips/cam3.mp4"), "more footage"),
    lines: [/^ {2}clips\/cam3\.mp4: not listed in the manifest \(added\)$/m],
  },
  {
    name: "a file removed",
    tamper: (dir) => rmSync(join(dir, "clips/cam2.mp4")),
    lines: [/^ {2}clips\/cam2\.mp4: missing \(listed in the manifest\)$/m],
  },
];

describe("pscs verify: tampering with the folder", () => {
  for (const c of FOLDER_CASES)
    it(`${c.name}: exit 1, naming it`, async () => {
      const dir = copy();
      c.tamper(dir);
      const r = await pscsVerify([dir]);
      expect(r.code, r.out).toBe(1);
      expect(r.out).toContain("does NOT verify");
      for (const line of c.lines) expect(r.out).toMatch(line);
    });

  it("a new key pair that re-signs everything passes alone, and is not the department's key with --fingerprint", async () => {
    const dir = copy();
    const forger = newKeyPair();
    writeFileSync(join(dir, "signing-key.pem"), forger.publicKey.export({ type: "spki", format: "pem" }));
    sealPackage(dir, { ...pkg.manifest, purpose: "altered" }, forger);
    expect((await pscsVerify([dir])).code).toBe(0);
    const r = await pscsVerify([dir, "--fingerprint", pkg.fingerprint]);
    expect(r.code, r.out).toBe(1);
    expect(r.out).toMatch(
      /^ {2}signing-key\.pem: not the department's key: its fingerprint is [0-9a-f]{64}, expected/m,
    );
  });
});

describe("pscs verify: tampering with the zip", () => {
  it("a byte of a clip inside the zip: its hash and the zip's CRC-32 both fail, naming it", async () => {
    const zip = await zipOf(pkg.dir);
    await patchZipEntry(zip, "clips/cam1.mp4", (b) => {
      b[100] = (b[100] ?? 0) ^ 0x80;
    });
    const r = await pscsVerify([zip]);
    expect(r.code, r.out).toBe(1);
    expect(r.out).toMatch(/^ {2}clips\/cam1\.mp4: its SHA-256 differs/m);
    expect(r.out).toMatch(/^ {2}clips\/cam1\.mp4: its bytes do not match the zip's CRC-32/m);
  });

  it("a byte of manifest.json, of signing-key.pem, the signature replaced: each inside the zip, each named", async () => {
    const manifestZip = await zipOf(pkg.dir);
    await patchZipEntry(manifestZip, "manifest.json", forgeManifest);
    const keyZip = await zipOf(pkg.dir);
    await patchZipEntry(keyZip, "signing-key.pem", forgeKey);
    const sigZip = await zipOf(pkg.dir);
    const other = otherSignature(readFileSync(join(pkg.dir, "manifest.json")));
    await patchZipEntry(sigZip, "manifest.sig", (b) => b.write(other));
    for (const [zip, line] of [
      [manifestZip, /^ {2}manifest\.sig: not a signature of manifest\.json/m],
      [keyZip, /^ {2}signing-key\.pem: its SHA-256 differs/m],
      [sigZip, /^ {2}manifest\.sig: not a signature of manifest\.json/m],
    ] as const) {
      const r = await pscsVerify([zip]);
      expect(r.code, r.out).toBe(1);
      expect(r.out).toMatch(line);
    }
  });

  it("a file added, a file removed, a re-signed package under a new key: each zipped, each named", async () => {
    const added = copy();
    writeFileSync(join(added, "extra.txt"), "x");
    const removed = copy();
    rmSync(join(removed, "custody.html"));
    const resigned = copy();
    const forger = newKeyPair();
    writeFileSync(
      join(resigned, "signing-key.pem"),
      forger.publicKey.export({ type: "spki", format: "pem" }),
    );
    sealPackage(resigned, pkg.manifest, forger);
    for (const [dir, args, line] of [
      [added, [], /^ {2}extra\.txt: not listed in the manifest \(added\)$/m],
      [removed, [], /^ {2}custody\.html: missing/m],
      [resigned, ["--fingerprint", pkg.fingerprint], /^ {2}signing-key\.pem: not the department's key/m],
    ] as const) {
      const r = await pscsVerify([await zipOf(dir), ...args]);
      expect(r.code, r.out).toBe(1);
      expect(r.out).toMatch(line);
    }
  });

  it("a zip of the folder made by Python: stored it verifies, deflated (zipfile -c) it is refused entry by entry", async () => {
    const stored = join(root, "python-stored.zip");
    execFileSync("python3", [
      "-c",
      "import sys,zipfile,os\nwith zipfile.ZipFile(sys.argv[1],'w',zipfile.ZIP_STORED) as z:\n for d,_,fs in os.walk(sys.argv[2]):\n  z.write(d,os.path.relpath(d,os.path.dirname(sys.argv[2])))\n  for f in fs: z.write(os.path.join(d,f),os.path.relpath(os.path.join(d,f),os.path.dirname(sys.argv[2])))",
      stored,
      pkg.dir,
    ]);
    const ok = await pscsVerify([stored, "--fingerprint", pkg.fingerprint]);
    expect(ok, ok.out).toMatchObject({ code: 0 });
    const deflated = join(root, "python-deflated.zip");
    execFileSync("python3", ["-m", "zipfile", "-c", deflated, pkg.dir], { cwd: root });
    const r = await pscsVerify([deflated]);
    expect(r.code, r.out).toBe(1);
    expect(r.out).toMatch(
      /zip entry export-12\/clips\/cam1\.mp4: compressed \(method 8, deflate\); a package zip is stored/,
    );
  });
});

describe("pscs verify: usage", () => {
  it("a fingerprint that is not one, or no package there: exit 2 naming the option", async () => {
    const bad = await pscsVerify([pkg.dir, "--fingerprint", "abc"]);
    expect(bad).toMatchObject({ code: 2 });
    expect(bad.out).toContain("pscs: --fingerprint: expected 64 hex digits");
    const missing = await pscsVerify([join(root, "nothing-here")]);
    expect(missing).toMatchObject({ code: 2 });
    expect(missing.out).toContain("no such folder or file");
  });

  it("a file that is not a zip fails verification, naming it", async () => {
    const file = join(root, "not-a.zip");
    writeFileSync(file, "hello, this is no zip at all");
    const r = await pscsVerify([file]);
    expect(r.code, r.out).toBe(1);
    expect(r.out).toContain("not-a.zip: not a zip file");
  });
});
