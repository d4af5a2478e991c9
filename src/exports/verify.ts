import { createHash, createPublicKey, type KeyObject, verify } from "node:crypto";
import { open, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { ServiceError } from "../errors/service-error.js";
import { fingerprintOf } from "../keys/ed25519-file.js";
import { sha256File } from "../storage/durable.js";
import { manifestSchema } from "./manifest-schema.js";
import { packageFolder } from "./package-folder.js";
import { MANIFEST_FILE, type Manifest, PUBLIC_KEY_FILE, SIGNATURE_FILE } from "./package-format.js";
import { packagePathProblem } from "./package-path.js";
import { openZip, type ZipArchive, ZipFormatError } from "./zip-read.js";

/**
 * A package checked with nothing but itself (and, to pin the department's key, its fingerprint):
 * what a court's expert runs, so it reads no catalog, config or network (test/src/export-verify.test.ts
 * follows its imports). Every problem is reported,
 * not the first, each naming the file or manifest field at fault.
 *
 * Invariant: a package verifies only when all of these hold
 *   - manifest.json is JSON of the package format;
 *   - manifest.sig is an Ed25519 signature over manifest.json's exact bytes by signing-key.pem;
 *   - that key's fingerprint (SHA-256 of its SPKI DER) is manifest.keyFingerprint, and the one given;
 *   - every file manifest.files lists is there with its size and SHA-256, and the package holds no
 *     other file but manifest.json and manifest.sig;
 *   - every clip and scan the manifest names is among manifest.files;
 *   - as a zip: every entry is stored, sound, uniquely named and inside one top folder.
 */

export interface VerifyProblem {
  /** The file (path inside the package), manifest field (`manifest.json cameras/0/clip`) or zip at fault. */
  subject: string;
  problem: string;
}

export interface VerifyReport {
  ok: boolean;
  form: "folder" | "zip";
  /** The manifest when it parsed (it may still be unsigned or altered: see ok). */
  manifest: Manifest | null;
  /** Fingerprint of the signing-key.pem found in the package. */
  keyFingerprint: string | null;
  /** Files listed in the manifest, and their bytes. */
  files: number;
  bytes: number;
  problems: VerifyProblem[];
}

/**
 * The fingerprint as typed (hex, any case, colons or spaces allowed: `pscs export key` prints it in
 * groups for reading aloud), normalised; undefined when it is not one.
 */
export function parseFingerprint(typed: string): string | undefined {
  const hex = typed.replace(/[\s:]/g, "").toLowerCase();
  return /^[0-9a-f]{64}$/.test(hex) ? hex : undefined;
}

/** The package's files, folder or zip alike. */
interface Contents {
  form: "folder" | "zip";
  /** Every readable file in the package by path, with its size. */
  sizes: Map<string, number>;
  /** What is wrong with the package as a folder or zip; reading adds a zip entry's CRC-32 failure. */
  problems: VerifyProblem[];
  /** A zip entry refused for its own reason (compressed, unsafe name…): already among the problems. */
  refused(path: string): boolean;
  /** A file's bytes, when it is at most `max` bytes. */
  read(path: string, max: number): Promise<Buffer | undefined>;
  /** A file's SHA-256, streamed. */
  sha256(path: string): Promise<string>;
}

const MAX_MANIFEST = 16 * 1024 * 1024;
const MAX_SMALL = 64 * 1024;
const PACKAGE_FIELD = "package";

export async function verifyPackage(path: string, o: { fingerprint?: string } = {}): Promise<VerifyReport> {
  const pinned = o.fingerprint === undefined ? undefined : parseFingerprint(o.fingerprint);
  if (o.fingerprint !== undefined && !pinned)
    throw new ServiceError(
      "invalid",
      "fingerprint: expected 64 hex digits (SHA-256), colons or spaces allowed",
      "fingerprint",
    );
  const contents = await openContents(path);
  const problems = contents.problems;
  const report: VerifyReport = {
    ok: false,
    form: contents.form,
    manifest: null,
    keyFingerprint: null,
    files: 0,
    bytes: 0,
    problems,
  };
  const add = (subject: string, problem: string) => problems.push({ subject, problem });

  const manifestBytes = await readSmall(contents, MANIFEST_FILE, MAX_MANIFEST, add);
  const manifest = manifestBytes && parseManifest(manifestBytes, add);
  report.manifest = manifest ?? null;

  const key = await readKey(contents, add);
  if (key) report.keyFingerprint = fingerprintOf(key);
  const signature = await readSignature(contents, add);
  const fp = report.keyFingerprint;
  const keyNamed = !!fp && !!manifest && fp === manifest.keyFingerprint;
  if (manifestBytes && key && signature && !verify(null, manifestBytes, key, signature))
    add(
      SIGNATURE_FILE,
      `not a signature of ${MANIFEST_FILE} by ${PUBLIC_KEY_FILE}${keyNamed ? `: ${MANIFEST_FILE} or ${SIGNATURE_FILE} was altered or replaced` : ""}`,
    );
  if (fp && manifest && !keyNamed)
    add(
      PUBLIC_KEY_FILE,
      `its fingerprint ${fp} is not the one the manifest names (keyFingerprint ${manifest.keyFingerprint})`,
    );
  if (fp && pinned && fp !== pinned)
    add(PUBLIC_KEY_FILE, `not the department's key: its fingerprint is ${fp}, expected ${pinned}`);

  if (manifest) {
    checkReferences(manifest, add);
    await checkFiles(manifest, contents, report, add);
  }
  report.ok = problems.length === 0;
  return report;
}

async function openContents(path: string): Promise<Contents> {
  let isDir: boolean;
  try {
    const s = await stat(path);
    if (!s.isDirectory() && !s.isFile()) throw new Error("neither");
    isDir = s.isDirectory();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ServiceError(
      "invalid",
      `${PACKAGE_FIELD}: ${path}: ${code === "ENOENT" ? "no such folder or file" : code ? `cannot read it (${code})` : "not a folder or a zip file"}`,
      PACKAGE_FIELD,
    );
  }
  return isDir ? folderContents(path) : zipContents(path);
}

async function folderContents(dir: string): Promise<Contents> {
  const { files, irregular } = await packageFolder(dir);
  const sizes = new Map(files.map((f) => [f.path, f.size]));
  const problems = irregular.map((path) => ({
    subject: path,
    problem: "not a regular file (a link or device)",
  }));
  const abs = (p: string) => join(dir, ...p.split("/"));
  return {
    form: "folder",
    sizes,
    problems,
    refused: () => false,
    async read(path, max) {
      const fh = await open(abs(path), "r");
      try {
        const { size } = await fh.stat();
        return size > max ? undefined : await fh.readFile();
      } finally {
        await fh.close();
      }
    },
    sha256: (path) => sha256File(abs(path)),
  };
}

async function zipContents(file: string): Promise<Contents> {
  let archive: ZipArchive;
  try {
    archive = await openZip(file);
  } catch (e) {
    if (!(e instanceof ZipFormatError)) throw e;
    return {
      form: "zip",
      sizes: new Map(),
      problems: [{ subject: basename(file), problem: e.message }],
      refused: () => false,
      read: async () => undefined,
      sha256: async () => "",
    };
  }
  const sizes = new Map([...archive.entries].map(([p, e]) => [p, e.size]));
  const problems = archive.problems.map((p) => ({ subject: `zip entry ${p.name}`, problem: p.problem }));
  const refused = new Set(archive.problems.map((p) => p.name));
  const crcFailed = new Set<string>();
  const stream = async (path: string, each: (chunk: Buffer) => void): Promise<void> => {
    const entry = archive.entries.get(path);
    if (!entry) throw new Error(`no zip entry ${path}`);
    try {
      for await (const chunk of archive.read(entry)) each(chunk as Buffer);
    } catch (e) {
      if (!(e instanceof ZipFormatError)) throw e;
      if (crcFailed.has(path)) return;
      crcFailed.add(path);
      problems.push({
        subject: path,
        problem: "its bytes do not match the zip's CRC-32 for them (altered inside the zip)",
      });
    }
  };
  return {
    form: "zip",
    sizes,
    problems,
    refused: (path) => refused.has(`${archive.top}/${path}`),
    async read(path, max) {
      if ((sizes.get(path) ?? 0) > max) return undefined;
      const chunks: Buffer[] = [];
      await stream(path, (c) => chunks.push(c));
      return Buffer.concat(chunks);
    },
    async sha256(path) {
      const hash = createHash("sha256");
      await stream(path, (c) => hash.update(c));
      return hash.digest("hex");
    },
  };
}

async function readSmall(
  contents: Contents,
  path: string,
  max: number,
  add: (subject: string, problem: string) => void,
): Promise<Buffer | undefined> {
  if (!contents.sizes.has(path)) {
    if (!contents.refused(path)) add(path, "missing");
    return undefined;
  }
  const b = await contents.read(path, max);
  if (!b) add(path, `larger than ${max} bytes`);
  return b;
}

function parseManifest(b: Buffer, add: (subject: string, problem: string) => void): Manifest | undefined {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(b));
  } catch (e) {
    add(MANIFEST_FILE, `not UTF-8 JSON (${(e as Error).message})`);
    return undefined;
  }
  const parsed = manifestSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues)
    add(`${MANIFEST_FILE} ${issue.path.join("/") || "(root)"}`, issue.message);
  return undefined;
}

async function readKey(
  contents: Contents,
  add: (subject: string, problem: string) => void,
): Promise<KeyObject | undefined> {
  const pem = await readSmall(contents, PUBLIC_KEY_FILE, MAX_SMALL, add);
  if (!pem) return undefined;
  try {
    const key = createPublicKey({ key: pem, format: "pem", type: "spki" });
    if (key.asymmetricKeyType === "ed25519") return key;
  } catch {
    // reported below
  }
  add(PUBLIC_KEY_FILE, "not a PEM Ed25519 public key");
  return undefined;
}

async function readSignature(
  contents: Contents,
  add: (subject: string, problem: string) => void,
): Promise<Buffer | undefined> {
  const text = await readSmall(contents, SIGNATURE_FILE, MAX_SMALL, add);
  if (!text) return undefined;
  const line = text.toString("latin1").replace(/\r?\n$/, "");
  const sig = Buffer.from(line, "base64");
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(line) && sig.length === 64) return sig;
  add(SIGNATURE_FILE, "not one line of base64 holding a 64-byte Ed25519 signature");
  return undefined;
}

/** Every clip and scan the manifest names is one of its files, with the same hash and size. */
function checkReferences(m: Manifest, add: (subject: string, problem: string) => void): void {
  const listed = new Map(m.files.map((f) => [f.path, f]));
  m.cameras.forEach((c, i) => {
    if (!listed.has(c.clip)) add(`${MANIFEST_FILE} cameras/${i}/clip`, `${c.clip} is not in files`);
  });
  if (m.basis.type !== "criminal") {
    const { scan } = m.basis;
    const f = listed.get(scan.file);
    if (!f) add(`${MANIFEST_FILE} basis/scan/file`, `${scan.file} is not in files`);
    else if (f.sha256 !== scan.sha256 || f.bytes !== scan.bytes)
      add(`${MANIFEST_FILE} basis/scan`, `its SHA-256 or size differs from ${scan.file}'s in files`);
  }
}

async function checkFiles(
  m: Manifest,
  contents: Contents,
  report: VerifyReport,
  add: (subject: string, problem: string) => void,
): Promise<void> {
  const seen = new Set<string>();
  for (const [i, f] of m.files.entries()) {
    if (seen.has(f.path)) add(`${MANIFEST_FILE} files/${i}`, `${f.path} is listed twice`);
    seen.add(f.path);
    if (f.path === MANIFEST_FILE || f.path === SIGNATURE_FILE)
      add(`${MANIFEST_FILE} files/${i}`, `${f.path} cannot list itself or its signature`);
  }
  for (const f of [...m.files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    if (f.path === MANIFEST_FILE || f.path === SIGNATURE_FILE) continue;
    report.files++;
    report.bytes += f.bytes;
    const size = contents.sizes.get(f.path);
    if (size === undefined) {
      // A zip entry refused for its own reason is reported once, as that.
      if (!contents.refused(f.path)) add(f.path, "missing (listed in the manifest)");
      continue;
    }
    if (size !== f.bytes) {
      add(f.path, `${size} bytes, the manifest says ${f.bytes}`);
      continue;
    }
    if ((await contents.sha256(f.path)) !== f.sha256)
      add(f.path, "its SHA-256 differs from the manifest's (altered)");
  }
  for (const path of [...contents.sizes.keys()].sort()) {
    if (seen.has(path) || path === MANIFEST_FILE || path === SIGNATURE_FILE) continue;
    const unsafe = packagePathProblem(path);
    add(path, `not listed in the manifest (added)${unsafe ? `; and ${unsafe}` : ""}`);
  }
}
