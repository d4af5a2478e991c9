import { createHash, randomBytes } from "node:crypto";
import { copyFile, mkdir, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { crc32 } from "node:zlib";
import type { Db } from "../../src/catalog/catalog.js";
import { CameraIdentities } from "../../src/catalog/footage/camera-identities.js";
import { ClockSamples } from "../../src/catalog/footage/clock-samples.js";
import { Segments } from "../../src/catalog/footage/segments.js";
import type { Config } from "../../src/config/load.js";
import type {
  ExportProgress,
  PackageInput,
  PackageProducer,
  ProducedPackage,
} from "../../src/exports/export.js";
import {
  type CameraEntry,
  CLIPS_DIR,
  CUSTODY_FILE,
  MANIFEST_FILE,
  type Manifest,
  PACKAGE_FORMAT,
  PUBLIC_KEY_FILE,
  README_FILE,
  SIGNATURE_FILE,
  VIEWER_FILE,
} from "../../src/exports/package-format.js";
import type { ExportSigner } from "../../src/exports/signing-key.js";
import { isAlive, processesMatching } from "../../src/proc/tree.js";
import { fsyncPath } from "../../src/storage/durable.js";
import { VERSION } from "../../src/version.js";
import { type ClipPlan, checkSources, makeClip, planClip } from "./clips.js";
import { custodyHtml, readmeText } from "./custody.js";
import { clockFor, identityFor, instant, listFiles, manifestBytes, spanText } from "./manifest.js";
import { progressMeter } from "./progress.js";
import { viewerHtml } from "./viewer.js";
import { recordCrcs } from "./zip-crcs.js";

/**
 * Builds export packages in the exports root (the layout of src/exports/package-format.ts).
 * Write protocol: everything is written into `.partial-<export>-<random>/`, each file fsynced;
 * manifest.json (listing every other file's SHA-256) and manifest.sig are written last, the folder
 * fsynced, and only then renamed to `export-<export>` (and the root fsynced); then each file's CRC-32,
 * from the read that hashed it, is recorded beside the folder for the download's zip (./zip-crcs.ts).
 * Invariant: a folder named `export-<id>` is complete and signed; a crash or abort leaves only a
 * `.partial-` folder, which an abort removes at once and `sweep()` at the next start (killing any
 * ffmpeg the dead pscsd left writing into it).
 */

export const PARTIAL_PREFIX = ".partial-";

export const packageDirName = (exportId: number): string => `export-${exportId}`;

export interface FolderPackageProducerOptions {
  /** storage.exports: where packages are written. */
  root: string;
  /** storage.recordings: segment paths in the catalog are relative to it. */
  recordings: string;
  segments: Segments;
  clock: ClockSamples;
  identities: CameraIdentities;
  signer: ExportSigner;
  site: { name: string; timezone: string };
  /** Who the manifest names as producing it; default `system` (pscsd's job runner). */
  producedBy?: string;
  ffmpegPath?: string;
  ffprobePath?: string;
  now?: () => number;
}

/** A production that cannot be done as asked (package already there, no range, a scan not as recorded). */
export class PackageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PackageError";
  }
}

const iso = (t: number) => new Date(t).toISOString();

export class FolderPackageProducer implements PackageProducer {
  /** Temporary folders being written now: sweep() leaves them alone. */
  private readonly writing = new Set<string>();
  private readonly now: () => number;

  constructor(private readonly o: FolderPackageProducerOptions) {
    this.now = o.now ?? Date.now;
  }

  key(): { fingerprint: string; publicKeyPem: string } {
    return { fingerprint: this.o.signer.fingerprint, publicKeyPem: this.o.signer.publicKeyPem };
  }

  async sweep(): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.o.root);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return 0;
      throw e;
    }
    const stale = names.filter((n) => n.startsWith(PARTIAL_PREFIX) && !this.writing.has(n));
    for (const n of stale) {
      // A killed pscsd's remux may still be writing into it: stopped first, so nothing writes there after.
      const writers = processesMatching("ffmpeg", `${join(this.o.root, n)}/`);
      for (const pid of writers) process.kill(pid, "SIGKILL");
      for (let i = 0; i < 50 && writers.some(isAlive); i++) await new Promise((r) => setTimeout(r, 20));
      await rm(join(this.o.root, n), { recursive: true, force: true });
    }
    if (stale.length) await fsyncPath(this.o.root);
    return stale.length;
  }

  async produce(
    input: PackageInput,
    o: { onProgress?: (p: ExportProgress) => void; signal?: AbortSignal } = {},
  ): Promise<ProducedPackage> {
    const { root } = this.o;
    const final = join(root, packageDirName(input.exportId));
    if (await exists(final))
      throw new PackageError(`${final} already exists: export ${input.exportId} was produced`);
    if (input.ranges.length === 0) throw new PackageError("ranges: an export covers at least one range");
    // Planned before anything is written: footage not recorded fails here, with nothing to clean up.
    const clips = input.ranges.map((r) => planClip(this.o.segments, r));
    await mkdir(root, { recursive: true });
    const name = `${PARTIAL_PREFIX}${input.exportId}-${randomBytes(6).toString("hex")}`;
    const tmp = join(root, name);
    this.writing.add(name);
    try {
      await mkdir(join(tmp, CLIPS_DIR), { recursive: true });
      const crcs = new Map<string, number>();
      const manifest = await this.write(tmp, input, clips, o, crcs);
      const bytes = manifestBytes(manifest);
      await writeFile(join(tmp, MANIFEST_FILE), bytes);
      const signature = `${this.o.signer.sign(bytes)}\n`;
      await writeFile(join(tmp, SIGNATURE_FILE), signature);
      crcs.set(MANIFEST_FILE, crc32(bytes)).set(SIGNATURE_FILE, crc32(signature));
      await fsyncPath(join(tmp, MANIFEST_FILE));
      await fsyncPath(join(tmp, SIGNATURE_FILE));
      await fsyncPath(tmp);
      // A cancel that came while signing wins: the job is cancelled, so no package may appear.
      o.signal?.throwIfAborted();
      await rename(tmp, final);
      await fsyncPath(root);
      // After the rename: the package is complete without it (downloads then compute CRC-32 as they stream).
      await recordCrcs(final, crcs).catch(() => undefined);
      const total = manifest.files.reduce((n, f) => n + f.bytes, 0) + bytes.length + signature.length;
      const manifestSha256 = createHash("sha256").update(bytes).digest("hex");
      return { dir: final, manifest, manifestSha256, bytes: total };
    } catch (e) {
      await rm(tmp, { recursive: true, force: true });
      throw e;
    } finally {
      this.writing.delete(name);
    }
  }

  /** Every file but manifest.json and manifest.sig; returns the manifest listing them. */
  private async write(
    tmp: string,
    input: PackageInput,
    clips: ClipPlan[],
    o: { onProgress?: (p: ExportProgress) => void; signal?: AbortSignal },
    crcs: Map<string, number>,
  ): Promise<Manifest> {
    const { site, recordings } = this.o;
    const zone = site.timezone;
    const progress = progressMeter(2 * clips.reduce((n, c) => n + c.sourceBytes, 0), o.onProgress);
    // Every source is checked against the catalog before any clip is made of it.
    for (const c of clips) await checkSources(recordings, c, { signal: o.signal, onBytes: progress.add });
    const cameras: CameraEntry[] = [];
    const clipPaths = clipNames(clips);
    for (const [i, c] of clips.entries()) {
      const clip = clipPaths[i] as string;
      const made = await makeClip(recordings, c, join(tmp, clip), {
        ffmpegPath: this.o.ffmpegPath ?? "ffmpeg",
        ffprobePath: this.o.ffprobePath ?? "ffprobe",
        signal: o.signal,
        onBytes: progress.within,
      });
      progress.add(c.sourceBytes);
      const { camera, fromMs, toMs } = c.range;
      cameras.push({
        camera,
        clip,
        requested: spanText(fromMs, toMs, zone),
        actual: spanText(made.fromMs, made.toMs, zone),
        identity: identityFor(this.o.identities, camera, toMs),
        clock: clockFor(this.o.clock, camera, fromMs, toMs),
        sources: made.sources,
      });
    }
    const documents = await this.copyScans(tmp, input, crcs);
    await writeFile(join(tmp, PUBLIC_KEY_FILE), this.o.signer.publicKeyPem);
    const ranges = input.ranges;
    const actualFrom = Math.min(...cameras.map((c) => Date.parse(c.actual.from.utc)));
    const actualTo = Math.max(...cameras.map((c) => Date.parse(c.actual.to.utc)));
    const at = this.now();
    const manifest: Manifest = {
      format: PACKAGE_FORMAT,
      exportId: input.exportId,
      hold: input.hold,
      basis: input.basis,
      purpose: input.purpose,
      recipient: input.recipient,
      site,
      requested: spanText(
        Math.min(...ranges.map((r) => r.fromMs)),
        Math.max(...ranges.map((r) => r.toMs)),
        zone,
      ),
      actual: spanText(actualFrom, actualTo, zone),
      cameras,
      files: await listFiles(tmp, [...clipPaths, ...documents, PUBLIC_KEY_FILE], crcs),
      requestedBy: { user: input.requestedBy.user, at: iso(input.requestedBy.at) },
      approvedBy: { user: input.approvedBy.user, at: iso(input.approvedBy.at) },
      producedBy: { by: this.o.producedBy ?? "system", at: instant(at, zone).utc },
      software: { name: "pscs", version: VERSION },
      keyFingerprint: this.o.signer.fingerprint,
    };
    // README and the custody sheet list what exists before them; the viewer embeds all but itself.
    await writeFile(join(tmp, README_FILE), readmeText(manifest));
    manifest.files.push(...(await listFiles(tmp, [README_FILE], crcs)));
    await writeFile(join(tmp, CUSTODY_FILE), custodyHtml(manifest));
    manifest.files.push(...(await listFiles(tmp, [CUSTODY_FILE], crcs)));
    await writeFile(join(tmp, VIEWER_FILE), viewerHtml(manifest));
    manifest.files.push(...(await listFiles(tmp, [VIEWER_FILE], crcs)));
    for (const d of [join(tmp, CLIPS_DIR), ...(documents.length ? [join(tmp, "documents")] : [])])
      await fsyncPath(d);
    return manifest;
  }

  /** The basis's scan, copied to where its ScanRef says; returns the package paths written. */
  private async copyScans(tmp: string, input: PackageInput, crcs: Map<string, number>): Promise<string[]> {
    if (input.basis.type === "criminal") return [];
    const { file } = input.basis.scan;
    const from = input.scanFiles[file];
    if (!from) throw new PackageError(`basis.scan: no stored scan given for ${file}`);
    if (file !== join("documents", basename(file)))
      throw new PackageError(`basis.scan.file: ${file} is not a file under documents/`);
    await mkdir(join(tmp, "documents"), { recursive: true });
    await copyFile(from, join(tmp, file));
    const [copied] = await listFiles(tmp, [file], crcs);
    if (copied?.sha256 !== input.basis.scan.sha256 || copied.bytes !== input.basis.scan.bytes)
      throw new PackageError(
        `basis.scan: the stored scan ${from} does not match its record (SHA-256 ${copied?.sha256}, recorded ${input.basis.scan.sha256})`,
      );
    return [file];
  }
}

/** `clips/<camera>.mp4`; a camera's second range and later ones `clips/<camera>-2.mp4` and on. */
function clipNames(clips: ClipPlan[]): string[] {
  const seen = new Map<string, number>();
  return clips.map(({ range: { camera } }) => {
    const n = (seen.get(camera) ?? 0) + 1;
    seen.set(camera, n);
    return join(CLIPS_DIR, n === 1 ? `${camera}.mp4` : `${camera}-${n}.mp4`);
  });
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw e;
  }
}

/** The producer pscsd runs, as its config describes it. */
export function packageProducerFromConfig(
  config: Config,
  db: Db,
  signer: ExportSigner,
): FolderPackageProducer {
  return new FolderPackageProducer({
    root: config.storage.exports,
    recordings: config.storage.recordings,
    segments: new Segments(db),
    clock: new ClockSamples(db),
    identities: new CameraIdentities(db),
    signer,
    site: config.site,
    ffmpegPath: config.recording.ffmpeg,
    ffprobePath: config.recording.ffprobe,
  });
}
