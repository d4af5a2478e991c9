import { execFile } from "node:child_process";
import { createHash, createPublicKey, verify } from "node:crypto";
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { promisify } from "node:util";
import { crc32 } from "node:zlib";
import { chromium } from "playwright-core";
import { beforeAll, describe, expect, it } from "vitest";
import { SourceChangedError } from "../../retention/export/clips.js";
import { FolderPackageProducer } from "../../retention/export/producer.js";
import { openCatalog } from "../../src/catalog/catalog.js";
import { CameraIdentities } from "../../src/catalog/footage/camera-identities.js";
import { ClockSamples } from "../../src/catalog/footage/clock-samples.js";
import { Segments } from "../../src/catalog/footage/segments.js";
import type { PackageInput } from "../../src/exports/export.js";
import type { Manifest } from "../../src/exports/package-format.js";
import { ExportSigner } from "../../src/exports/signing-key.js";
import { segmentPath } from "../../src/footage/layout.js";
import { descendants, procName } from "../../src/proc/tree.js";
import { codedPictures } from "../helpers/media.js";

/**
 * The package producer with real ffmpeg on real MPEG-TS segments cut the way the recorder cuts them
 * (segment muxer, timestamps reset per file, 1 s GOP like the simulator): a 3-minute export across
 * four one-minute segments is a stream copy of exactly the sources' coded pictures, states its actual
 * span, is signed over its manifest's bytes, lists every file, and escapes what users typed. An
 * aborted production leaves no package; a crash's leftovers are swept.
 */

const run = promisify(execFile);
const T = Date.UTC(2026, 11, 1, 8, 0, 0);
const MIN = 60_000;
const FPS = 10;
const HOSTILE = `</script><img src=x onerror=alert(1)>"'&`;
const SCAN = Buffer.from("%PDF-1.4\n% court order (test)\n%%EOF\n");

const dir = mkdtempSync(join(tmpdir(), "pscs-export-"));
const rec = join(dir, "rec");
const exportsRoot = join(dir, "exports");
let producer: FolderPackageProducer;
let signer: ExportSigner;
let segments: Segments;

/** Four one-minute segments of cam1 from T, as the recorder writes them. */
async function recordSegments(): Promise<void> {
  const work = join(dir, "work");
  mkdirSync(work, { recursive: true });
  await run("ffmpeg", [
    ...["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", `testsrc2=size=320x180:rate=${FPS}`],
    ...["-t", "240", "-c:v", "libx264", "-preset", "ultrafast", "-profile:v", "baseline"],
    ...["-g", String(FPS), "-pix_fmt", "yuv420p", "-f", "mpegts", join(work, "src.ts")],
  ]);
  await run("ffmpeg", [
    ...["-hide_banner", "-loglevel", "error", "-i", join(work, "src.ts"), "-map", "0:v:0", "-c", "copy"],
    ...["-f", "segment", "-segment_format", "mpegts", "-segment_time", "60", "-reset_timestamps", "1"],
    join(work, "seg%d.ts"),
  ]);
  for (let i = 0; i < 4; i++) {
    const start = T + i * MIN;
    const path = segmentPath("cam1", start);
    mkdirSync(dirname(join(rec, path)), { recursive: true });
    copyFileSync(join(work, `seg${i}.ts`), join(rec, path));
    const bytes = readFileSync(join(rec, path));
    const id = segments.openRecording("cam1", "run1", start, `cam1/.incoming/run1-${i}.ts`);
    segments.complete(id, {
      startMs: start,
      endMs: start + MIN,
      path,
      bytes: bytes.length,
      sha256: createHash("sha256").update(bytes).digest("hex"),
      codec: "h264",
      width: 320,
      height: 180,
    });
  }
}

beforeAll(async () => {
  const db = openCatalog(join(dir, "catalog.db"));
  segments = new Segments(db);
  await recordSegments();
  const clock = new ClockSamples(db);
  for (const [at, offsetMs, rttMs] of [
    [T - 30 * MIN, 900, 10],
    [T - 10 * MIN, 1_200, 12],
    [T + 2 * MIN, 1_250, 9],
    [T + 10 * MIN, 1_300, 20],
    [T + 70 * MIN, 1_400, 20],
  ] as const)
    clock.record("cam1", { sampledAt: at, offsetMs, rttMs });
  const identities = new CameraIdentities(db);
  identities.record(
    "cam1",
    { manufacturer: "PSCS Sim", model: "SIM-PTZ-1", serial: "SIM-0123456789", firmware: "1.0.0" },
    T - 60 * MIN,
  );
  signer = ExportSigner.open(join(dir, "etc", "export-signing.key"), [rec, exportsRoot]);
  producer = new FolderPackageProducer({
    root: exportsRoot,
    recordings: rec,
    segments,
    clock,
    identities,
    signer,
    site: { name: "Norwich PD", timezone: "America/New_York" },
    now: () => T + 5 * 86_400_000,
  });
  writeFileSync(join(dir, "order.pdf"), SCAN);
});

/** 3 minutes from 30.45 s into the first segment (between keyframes) to 30.45 s into the fourth. */
const FROM = T + 30_450;
const TO = FROM + 3 * MIN;

function input(exportId: number): PackageInput {
  return {
    exportId,
    hold: 3,
    basis: {
      type: "court_order",
      dispute: "civil",
      court: "Superior Court of Connecticut",
      docketNumber: "NNH-CV26-0001234-S",
      judge: "Hon. A. Example",
      orderDate: "2026-11-28",
      scan: {
        file: "documents/court-order.pdf",
        sha256: createHash("sha256").update(SCAN).digest("hex"),
        type: "application/pdf",
        bytes: SCAN.length,
      },
    },
    scanFiles: { "documents/court-order.pdf": join(dir, "order.pdf") },
    recipient: { name: HOSTILE, organisation: "Law Office <b>LLC</b>", delivery: "in person, USB drive" },
    purpose: "civil discovery",
    ranges: [{ camera: "cam1", fromMs: FROM, toMs: TO }],
    requestedBy: { user: "records1", at: T + 86_400_000 },
    approvedBy: { user: "commander1", at: T + 2 * 86_400_000 },
  };
}

async function videoStream(file: string): Promise<Record<string, unknown>> {
  const { stdout } = await run("ffprobe", [
    ...["-v", "error", "-select_streams", "v:0", "-show_entries"],
    ...["stream=codec_name,profile,level,width,height,pix_fmt,has_b_frames", "-of", "json", file],
  ]);
  return (JSON.parse(stdout) as { streams: Record<string, unknown>[] }).streams[0] ?? {};
}

/** Top-level MP4 box types in file order. */
function boxes(file: string): string[] {
  const b = readFileSync(file);
  const types: string[] = [];
  for (let at = 0; at + 8 <= b.length; ) {
    let size = b.readUInt32BE(at);
    types.push(b.toString("latin1", at + 4, at + 8));
    if (size === 1) size = Number(b.readBigUInt64BE(at + 8));
    if (size < 8) break;
    at += size;
  }
  return types;
}

/** Runs in the page (a string: the tests are compiled without the DOM's types): plays, then samples a frame. */
const PLAY_AND_SAMPLE = `(async () => {
  const v = document.querySelector("video");
  v.muted = true;
  await v.play();
  const t0 = v.currentTime;
  await new Promise((r) => setTimeout(r, 1500));
  const c = document.createElement("canvas");
  c.width = v.videoWidth;
  c.height = v.videoHeight;
  const g = c.getContext("2d");
  g.drawImage(v, 0, 0);
  const px = g.getImageData(0, 0, c.width, c.height).data;
  let lit = 0;
  for (let i = 0; i < px.length; i += 4) if (px[i] + px[i + 1] + px[i + 2] > 60) lit++;
  return { advanced: v.currentTime - t0, lit: lit / (px.length / 4), width: v.videoWidth };
})()`;

function walk(root: string, at = root): string[] {
  return readdirSync(at, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(root, join(at, e.name)) : [relative(root, join(at, e.name))],
  );
}

describe("export package", () => {
  let manifest: Manifest;
  let pkg: string;
  const progress: { bytesDone: number; bytesTotal: number }[] = [];

  it("is a 3-minute stream copy across segment boundaries, from the keyframe at or before the start", async () => {
    let swept = -1;
    const made = await producer.produce(input(7), {
      onProgress: (p) => {
        progress.push(p);
        // A sweep while a package is being written leaves that package alone.
        if (swept < 0) void producer.sweep().then((n) => (swept = n));
      },
    });
    pkg = made.dir;
    manifest = made.manifest;
    expect(pkg).toBe(join(exportsRoot, "export-7"));
    expect(readdirSync(exportsRoot)).toEqual(["export-7", "export-7.crc32.json"]);
    // Beside it, every file's CRC-32 for the download's zip, computed as the file was hashed.
    const crcs = JSON.parse(readFileSync(join(exportsRoot, "export-7.crc32.json"), "utf8")) as {
      files: Record<string, { crc32: number; size: number }>;
    };
    const all = [...manifest.files.map((f) => f.path), "manifest.json", "manifest.sig"].sort();
    expect(Object.keys(crcs.files).sort()).toEqual(all);
    for (const path of all) {
      const bytes = readFileSync(join(pkg, path));
      expect(crcs.files[path], path).toMatchObject({ crc32: crc32(bytes), size: bytes.length });
    }
    expect(swept).toBe(0);
    const clip = join(pkg, "clips", "cam1.mp4");
    const source = join(rec, segmentPath("cam1", T));
    // Same codec parameters as the sources, and the moov before the media (faststart).
    expect(await videoStream(clip)).toEqual(await videoStream(source));
    expect(await videoStream(clip)).toMatchObject({ codec_name: "h264", width: 320, height: 180 });
    // One index, whole, before the one media box: not fragmented, not at the end.
    expect(boxes(clip).filter((b) => b !== "free")).toEqual(["ftyp", "moov", "mdat"]);
    // Not re-encoded: its coded pictures are the sources' own, in order, from the keyframe at 30 s.
    const sourcePictures = (
      await Promise.all(
        [0, 1, 2, 3].map((i) => codedPictures(["-i", join(rec, segmentPath("cam1", T + i * MIN))])),
      )
    ).flat();
    const clipPictures = await codedPictures(["-i", clip]);
    const first = 30 * FPS;
    expect(clipPictures.length).toBe(1805); // 30.0 s … 210.4 s at 10 fps
    expect(clipPictures).toEqual(sourcePictures.slice(first, first + clipPictures.length));
    // The stated actual span starts on that keyframe and is the clip's duration (within a GOP).
    const cam = manifest.cameras[0];
    expect(cam?.actual.from.utc).toBe(new Date(T + 30_000).toISOString());
    const span = Date.parse(cam?.actual.to.utc ?? "") - Date.parse(cam?.actual.from.utc ?? "");
    const { stdout } = await run("ffprobe", [
      ...["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", clip],
    ]);
    expect(Math.abs(Number(stdout) * 1000 - span)).toBeLessThanOrEqual(1_000);
    expect(Math.abs(span - 180_450)).toBeLessThanOrEqual(1_000);
    // Progress ran up to its total: every source hashed, then copied.
    expect(progress.at(-1)).toMatchObject({ bytesDone: progress.at(-1)?.bytesTotal });
    expect(progress.at(-1)?.bytesTotal).toBe(
      2 * (manifest.cameras[0]?.sources ?? []).reduce((n, s) => n + s.bytes, 0),
    );
  });

  it("states the release in its manifest: basis, recipient, spans in UTC and site time, camera, clock, people", () => {
    expect(manifest).toMatchObject({
      format: "pscs-export/1",
      exportId: 7,
      hold: 3,
      basis: { type: "court_order", court: "Superior Court of Connecticut" },
      purpose: "civil discovery",
      recipient: { name: HOSTILE },
      site: { name: "Norwich PD", timezone: "America/New_York" },
      requested: {
        from: { utc: "2026-12-01T08:00:30.450Z", local: "2026-12-01T03:00:30.450-05:00" },
        to: { utc: "2026-12-01T08:03:30.450Z", local: "2026-12-01T03:03:30.450-05:00" },
      },
      requestedBy: { user: "records1", at: "2026-12-02T08:00:00.000Z" },
      approvedBy: { user: "commander1", at: "2026-12-03T08:00:00.000Z" },
      producedBy: { by: "system", at: "2026-12-06T08:00:00.000Z" },
      software: { name: "pscs" },
      keyFingerprint: signer.fingerprint,
    });
    expect(manifest.actual.from.local).toBe("2026-12-01T03:00:30.000-05:00");
    const cam = manifest.cameras[0];
    expect(cam?.identity).toEqual({
      manufacturer: "PSCS Sim",
      model: "SIM-PTZ-1",
      serial: "SIM-0123456789",
      firmware: "1.0.0",
    });
    // The last sample before the span, the one inside it, the first after; ± (500 + rtt/2).
    expect(cam?.clock).toEqual([
      { at: new Date(T - 10 * MIN).toISOString(), offsetMs: 1_200, errorMs: 506 },
      { at: new Date(T + 2 * MIN).toISOString(), offsetMs: 1_250, errorMs: 505 },
      { at: new Date(T + 10 * MIN).toISOString(), offsetMs: 1_300, errorMs: 510 },
    ]);
    const rows = segments.overlapping("cam1", FROM, TO);
    expect(cam?.sources).toEqual(
      rows.map((r) => ({
        segment: r.id,
        file: r.path,
        from: new Date(r.startMs).toISOString(),
        to: new Date(r.endMs ?? 0).toISOString(),
        sha256: r.sha256,
        bytes: r.bytes,
      })),
    );
  });

  it("is signed over manifest.json's exact bytes, and lists every other file with its SHA-256 and size", () => {
    const bytes = readFileSync(join(pkg, "manifest.json"));
    expect(JSON.parse(bytes.toString("utf8"))).toEqual(manifest);
    const pem = readFileSync(join(pkg, "signing-key.pem"), "utf8");
    expect(pem).toBe(signer.publicKeyPem);
    const key = createPublicKey(pem);
    const der = key.export({ type: "spki", format: "der" });
    expect(createHash("sha256").update(der).digest("hex")).toBe(manifest.keyFingerprint);
    const sig = readFileSync(join(pkg, "manifest.sig"), "utf8");
    expect(sig).toMatch(/^[A-Za-z0-9+/=]+\n$/);
    expect(verify(null, bytes, key, Buffer.from(sig, "base64"))).toBe(true);
    const altered = Buffer.from(bytes);
    altered[10] = (altered[10] as number) ^ 1;
    expect(verify(null, altered, key, Buffer.from(sig, "base64"))).toBe(false);
    const onDisk = walk(pkg).filter((p) => p !== "manifest.json" && p !== "manifest.sig");
    expect(manifest.files.map((f) => f.path).sort()).toEqual(onDisk.sort());
    expect(onDisk.sort()).toEqual(
      [
        "README.txt",
        "clips/cam1.mp4",
        "custody.html",
        "documents/court-order.pdf",
        "index.html",
        "signing-key.pem",
      ].sort(),
    );
    for (const f of manifest.files) {
      const b = readFileSync(join(pkg, f.path));
      expect({ path: f.path, sha256: createHash("sha256").update(b).digest("hex"), bytes: b.length }).toEqual(
        f,
      );
    }
    expect(readFileSync(join(pkg, "documents/court-order.pdf"))).toEqual(SCAN);
    expect(readFileSync(join(pkg, "README.txt"), "utf8")).toContain(
      `pscs verify <this folder or its zip> --fingerprint <the fingerprint>`,
    );
    expect(readFileSync(join(pkg, "README.txt"), "utf8")).toContain(signer.fingerprint);
  });

  it("escapes a hostile recipient everywhere, and embeds the manifest so it cannot close its script", () => {
    for (const page of ["index.html", "custody.html"]) {
      const html = readFileSync(join(pkg, page), "utf8");
      expect(html).not.toContain("<img");
      expect(html).not.toContain("<b>");
      expect(html).toContain("&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;");
      expect(html).toContain(signer.fingerprint);
      expect(html).not.toMatch(/https?:\/\//); // nothing fetched: it opens offline
    }
    const viewer = readFileSync(join(pkg, "index.html"), "utf8");
    expect(viewer.match(/<\/script>/g)).toHaveLength(2);
    expect(viewer).toContain('<video controls preload="metadata" src="clips/cam1.mp4">');
    const embedded = /<script type="application\/json" id="manifest">([^<]*)<\/script>/.exec(viewer)?.[1];
    // The embedded copy is manifest.json less its own entry (a page cannot carry its own hash).
    expect(JSON.parse(embedded ?? "")).toEqual({
      ...manifest,
      files: manifest.files.filter((f) => f.path !== "index.html"),
    });
    const custody = readFileSync(join(pkg, "custody.html"), "utf8");
    expect(custody).toContain("@media print");
    expect(custody).toContain(manifest.files.find((f) => f.path === "clips/cam1.mp4")?.sha256);
    expect(custody).toContain("NNH-CV26-0001234-S");
  });

  it("index.html opened from file:// plays the clip, and checks the folder's hashes and signature in the browser", async () => {
    const browser = await chromium.launch({
      executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
      // Only so the test can read the video's pixels back from a canvas; the page itself needs nothing.
      args: ["--allow-file-access-from-files", "--autoplay-policy=no-user-gesture-required"],
    });
    try {
      const page = await browser.newPage();
      const requests: string[] = [];
      page.on("request", (r) => requests.push(r.url()));
      await page.goto(`file://${join(pkg, "index.html")}`);
      const played = (await page.evaluate(PLAY_AND_SAMPLE)) as {
        advanced: number;
        lit: number;
        width: number;
      };
      expect(played.width).toBe(320);
      expect(played.advanced).toBeGreaterThan(0.5);
      expect(played.lit).toBeGreaterThan(0.2);
      expect(requests.every((u) => u.startsWith("file://"))).toBe(true);
      const results = async (folder: string) => {
        await page.setInputFiles("#folder", folder);
        await page
          .locator("#results li", { hasText: /^(Every check passed|Some checks FAILED)/ })
          .waitFor({ timeout: 10_000 });
        return page.locator("#results li").allInnerTexts();
      };
      const good = await results(pkg);
      expect(good.at(-1)).toBe("Every check passed.");
      expect(good).toContain("signature: valid");
      const copy = join(dir, "tampered", "export-7");
      cpSync(pkg, copy, { recursive: true });
      const clip = readFileSync(join(copy, "clips", "cam1.mp4"));
      clip[clip.length - 100] = (clip[clip.length - 100] as number) ^ 1;
      writeFileSync(join(copy, "clips", "cam1.mp4"), clip);
      writeFileSync(join(copy, "extra.txt"), "added");
      const bad = await results(copy);
      expect(bad.at(-1)).toBe("Some checks FAILED: do not rely on this copy.");
      expect(bad.some((l) => l.startsWith("clips/cam1.mp4: CHANGED"))).toBe(true);
      expect(bad).toContain("extra.txt: not listed in the manifest (added)");
    } finally {
      await browser.close();
    }
  }, 30_000);

  it("aborted during production: rejects with the reason, leaves no package, no partial folder, no ffmpeg", async () => {
    const abort = new AbortController();
    const copying = producer.produce(input(8), {
      signal: abort.signal,
      onProgress: (p) => {
        // Once every source is checked: the clip is being made.
        if (p.bytesDone >= p.bytesTotal / 2) abort.abort(new Error("cancelled by test"));
      },
    });
    await expect(copying).rejects.toThrow("cancelled by test");
    expect(readdirSync(exportsRoot)).toEqual(["export-7", "export-7.crc32.json"]);
    expect(descendants(process.pid).filter((p) => procName(p) === "ffmpeg")).toEqual([]);
  });

  it("a crash's partial folder is swept; the finished package is not; producing it again is refused", async () => {
    const partial = join(exportsRoot, ".partial-9-abcdef");
    mkdirSync(join(partial, "clips"), { recursive: true });
    writeFileSync(join(partial, "clips", "cam1.mp4"), "half");
    expect(await producer.sweep()).toBe(1);
    expect(readdirSync(exportsRoot)).toEqual(["export-7", "export-7.crc32.json"]);
    await expect(producer.produce(input(7), {})).rejects.toThrow(/export-7 already exists/);
  });

  it("refuses footage whose file no longer matches its catalog hash, naming the segment, and a changed scan", async () => {
    const path = join(rec, segmentPath("cam1", T + 2 * MIN));
    const saved = `${path}.saved`;
    copyFileSync(path, saved);
    const b = readFileSync(path);
    b[5000] = (b[5000] as number) ^ 0xff;
    writeFileSync(path, b);
    try {
      const refused = producer.produce(input(10), {});
      await expect(refused).rejects.toThrow(SourceChangedError);
      await expect(refused).rejects.toThrow(
        /segment \d+ \(cam1\/2026\/12\/01\/08\/.*\) does not match the catalog/,
      );
    } finally {
      renameSync(saved, path);
    }
    // Likewise a stored scan that is not the one the export recorded.
    const wrongScan = input(11);
    if (wrongScan.basis.type === "court_order") wrongScan.basis.scan.sha256 = "0".repeat(64);
    await expect(producer.produce(wrongScan, {})).rejects.toThrow(
      /^basis\.scan: the stored scan .* does not match/,
    );
    expect(readdirSync(exportsRoot)).toEqual(["export-7", "export-7.crc32.json"]);
    expect(existsSync(join(exportsRoot, "export-10"))).toBe(false);
    expect(statSync(join(dir, "etc", "export-signing.key")).mode & 0o777).toBe(0o600);
  });
});
