import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Simulator } from "../../sim/simulator.js";
import { decodeTimecode } from "../../sim/video/timecode.js";
import type { Pscsd } from "../../src/compose/daemon.js";
import type { Manifest } from "../../src/exports/package-format.js";
import { openBrowser, videoPlays } from "../helpers/browser.js";
import { writeDaemonConfig } from "../helpers/config.js";
import { flipByte, newKeyPair, sealPackage } from "../helpers/export-package.js";
import { codedPictures } from "../helpers/media.js";
import { freePort } from "../helpers/ports.js";
import { runPscs } from "../helpers/process.js";
import {
  type Client,
  FORM_PDF,
  type LocalCatalog,
  login,
  openLocalCatalog,
  seedUsers,
  startInProcess,
  TEST_AUTH,
  type TestDaemonDir,
} from "../helpers/pscsd.js";
import { simCameraConfigs, startTestCameras } from "../helpers/sim.js";

/**
 * An export as the department makes one, end to end: pscsd records a simulated camera in short
 * segments; records asks for a span across several of them on a civil court order (unheld footage:
 * the order becomes the hold request); a commander approves the hold and the export; pscsd produces
 * the package; records downloads the zip. The recipient's side needs nothing but the package: it
 * verifies offline against the department's fingerprint, its clip is the cameras' own coded pictures
 * from the keyframe at or before the start (the simulator's burned-in clock says when), and its
 * index.html plays it from file:// in chromium. Tampering with the real package is caught.
 */

const run = promisify(execFile);
const PASSWORD = "Export-Test-2026!";
// npm test exports ~14 s across three segment boundaries; `npm run soak` the 3 minutes.
const SPAN_S = Number(process.env.PSCS_EXPORT_SPAN_S ?? 14);
const SEGMENT_S = SPAN_S > 60 ? 10 : 4;
/** Segments to wait for: one before the span, the span's, one after. */
const SEGMENTS = Math.ceil(SPAN_S / SEGMENT_S) + 3;
const RECORD_MS = (SEGMENTS + 2) * SEGMENT_S * 1000 + 30_000;
const FPS = 10;
const GOP_MS = 1_000; // the simulator's encoder: one keyframe a second
const PURPOSE = "Civil case CV-26-6012345: order of production";

let sim: Simulator;
let d: TestDaemonDir;
let daemon: Pscsd;
let local: LocalCatalog;
let records: Client;
let commander: Client;
const work = mkdtempSync(join(tmpdir(), "pscs-export-flow-"));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(
  what: string,
  f: () => Promise<T | undefined> | T | undefined,
  ms: number,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

interface Seg {
  id: number;
  start_ms: number;
  end_ms: number;
  path: string;
  sha256: string;
}
const complete = () =>
  local.db
    .prepare(
      "SELECT id, start_ms, end_ms, path, sha256 FROM segments WHERE camera = 'cam1' AND state = 'complete' ORDER BY start_ms",
    )
    .all() as Seg[];

async function stream(file: string) {
  const { stdout } = await run("ffprobe", [
    ...["-v", "error", "-select_streams", "v:0", "-of", "json"],
    ...[
      "-show_entries",
      "stream=codec_name,profile,level,width,height,pix_fmt,extradata_size:format=duration",
    ],
    file,
  ]);
  const info = JSON.parse(stdout) as { streams: Record<string, unknown>[]; format: { duration?: string } };
  return { stream: info.streams[0] as Record<string, unknown>, durationS: Number(info.format.duration) };
}

beforeAll(async () => {
  sim = await startTestCameras(work, { user: "recorder", password: PASSWORD, fps: FPS });
  const httpPort = await freePort();
  writeFileSync(join(work, "cam.pw"), PASSWORD);
  const configFile = writeDaemonConfig(work, {
    httpPort,
    cameras: simCameraConfigs(sim).slice(0, 1),
    extra: {
      auth: TEST_AUTH,
      recording: { segmentSeconds: SEGMENT_S },
      site: { name: "Norwich PD", timezone: "America/New_York" },
    },
  });
  d = { dir: work, configFile, httpPort };
  local = openLocalCatalog(configFile);
  await seedUsers(local, { records1: ["records"], commander1: ["commander"] });
  daemon = await startInProcess(d);
  [records, commander] = await Promise.all([login(daemon.url, "records1"), login(daemon.url, "commander1")]);
  await until(
    `${SEGMENTS} complete segments`,
    () => (complete().length >= SEGMENTS ? true : undefined),
    RECORD_MS,
  );
}, RECORD_MS + 30_000);

afterAll(async () => {
  await daemon?.stop();
  local?.close();
  await sim?.stop();
});

describe("an export from request to a recipient's verified, playable package", () => {
  let manifest: Manifest;
  let pkg: string;
  let zip: string;
  let fingerprint: string;
  let from: number;
  let to: number;
  let sources: Seg[];

  beforeAll(async () => {
    sources = complete();
    from = (sources[1] as Seg).start_ms + 1_500; // between keyframes
    to = from + SPAN_S * 1000;
    const req = await records.request("POST", "/api/exports", {
      basis: {
        type: "court_order",
        dispute: "civil",
        court: "Superior Court of Connecticut",
        docketNumber: "NNL-CV26-6012345-S",
        judge: "Hon. A. Example",
        // Today at the site (New York), not in UTC: after 19:00 there UTC is already tomorrow.
        orderDate: new Intl.DateTimeFormat("en-CA", { timeZone: "America/New_York" }).format(new Date()),
        scan: { contentType: "application/pdf", data: FORM_PDF.toString("base64") },
      },
      recipient: { name: "B. Counsel", organisation: "Counsel & Co <LLP>", delivery: "download" },
      purpose: PURPOSE,
      ranges: [{ camera: "cam1", from, to }],
    });
    expect(req.status, await req.clone().text()).toBe(201);
    const e = (await req.json()) as { id: number; hold: number; status: string };
    expect(e.status).toBe("requested");
    // The order became the hold request: the commander approves it, then the export.
    expect(
      (await commander.request("POST", `/api/holds/${e.hold}/approve`, { note: "order on file" })).status,
    ).toBe(200);
    expect(
      (await commander.request("POST", `/api/exports/${e.id}/approve`, { note: "release per order" })).status,
    ).toBe(200);
    const done = await until(
      "the export produced",
      async () => {
        const r = (await (await records.request("GET", `/api/exports/${e.id}`)).json()) as {
          status: string;
          error: string | null;
        };
        if (r.status === "failed") throw new Error(`export failed: ${r.error}`);
        return r.status === "done" ? r : undefined;
      },
      60_000 + SPAN_S * 100,
    );
    expect(done.status).toBe("done");
    fingerprint = (
      (await (await records.request("GET", "/api/exports/key")).json()) as { fingerprint: string }
    ).fingerprint;
    const dl = await records.request("GET", `/api/exports/${e.id}/download`);
    expect(dl.status).toBe(200);
    expect(dl.headers.get("content-type")).toMatch(/application\/zip/);
    const bytes = Buffer.from(await dl.arrayBuffer());
    expect(Number(dl.headers.get("content-length"))).toBe(bytes.length);
    zip = join(work, `export-${e.id}.zip`);
    writeFileSync(zip, bytes);
    const out = join(work, "recipient");
    mkdirSync(out);
    await run("unzip", ["-q", zip, "-d", out]);
    pkg = join(out, `export-${e.id}`);
    manifest = JSON.parse(readFileSync(join(pkg, "manifest.json"), "utf8")) as Manifest;
  }, 120_000);

  it("verifies offline, folder and zip, against the department's fingerprint", async () => {
    for (const target of [pkg, zip]) {
      const r = await runPscs(["verify", target, "--fingerprint", fingerprint]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
    }
    expect(manifest.keyFingerprint).toBe(fingerprint);
  });

  it("holds the cameras' own coded pictures from the keyframe at or before the start, and states the span it has", async () => {
    const cam = manifest.cameras[0] as Manifest["cameras"][number];
    const clip = join(pkg, cam.clip);
    // Same codec parameters as the recording.
    const src = await stream(join(work, "rec", (sources[1] as Seg).path));
    const out = await stream(clip);
    for (const k of ["codec_name", "profile", "level", "width", "height", "pix_fmt"]) {
      expect(out.stream[k], k).toEqual(src.stream[k]);
    }
    // Not re-encoded: its coded pictures are a run of the sources' own, in order.
    const source = (
      await Promise.all(
        cam.sources.map((s) =>
          codedPictures(["-i", join(work, "rec", sources.find((x) => x.id === s.segment)?.path ?? "")]),
        ),
      )
    ).flat();
    const mine = await codedPictures(["-i", clip]);
    expect(mine.length).toBeGreaterThan(((to - from) / 1000) * FPS - FPS);
    const at = source.indexOf(mine[0] ?? "");
    expect(at).toBeGreaterThanOrEqual(0);
    expect(mine).toEqual(source.slice(at, at + mine.length));
    // Every source listed is one the catalog holds, with its hash.
    for (const s of cam.sources) expect(sources.find((x) => x.id === s.segment)?.sha256).toBe(s.sha256);
    // The stated span: its start is the keyframe at or before the requested start (the frame's own
    // burned-in clock says so), and the clip lasts it to within one GOP.
    const actualFrom = Date.parse(cam.actual.from.utc);
    const actualTo = Date.parse(cam.actual.to.utc);
    expect(Date.parse(cam.requested.from.utc)).toBe(from);
    expect(actualFrom).toBeLessThanOrEqual(from);
    expect(actualFrom).toBeGreaterThan(from - GOP_MS - 400);
    expect(Math.abs(out.durationS * 1000 - (actualTo - actualFrom))).toBeLessThanOrEqual(GOP_MS);
    const frame = await run(
      "ffmpeg",
      ["-v", "error", "-i", clip, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgba", "pipe:1"],
      { encoding: "buffer", maxBuffer: 1 << 24 },
    );
    const shown = decodeTimecode(new Uint8Array(frame.stdout as unknown as Buffer), 320, 180) as number;
    expect(Math.abs(shown - actualFrom)).toBeLessThan(500);
    // Local time is the site's, beside UTC.
    expect(cam.actual.from.local).toMatch(/-0[45]:00$/);
    expect(manifest.basis).toMatchObject({
      type: "court_order",
      dispute: "civil",
      court: "Superior Court of Connecticut",
    });
    expect(manifest.purpose).toBe(PURPOSE);
    expect(statSync(clip).size).toBe(manifest.files.find((f) => f.path === cam.clip)?.bytes);
  });

  it("plays from file:// in chromium, through the package's own index.html", async () => {
    const b = await openBrowser({ args: ["--allow-file-access-from-files"] });
    try {
      await b.page.goto(pathToFileURL(join(pkg, "index.html")).href);
      const r = await videoPlays(b.page, "video");
      expect(r.plays, r.reason ?? "").toBe(true);
      expect(b.errors).toEqual([]);
    } finally {
      await b.close();
    }
  });

  it("names what was changed in the real package: a clip's byte, a new key without the department's fingerprint", async () => {
    const cam = manifest.cameras[0] as Manifest["cameras"][number];
    const t1 = join(work, "tamper1");
    await run("cp", ["-r", pkg, t1]);
    flipByte(join(t1, cam.clip));
    const r1 = await runPscs(["verify", t1]);
    expect(r1.code).toBe(1);
    expect(r1.stdout + r1.stderr).toContain(cam.clip);
    const t2 = join(work, "tamper2");
    await run("cp", ["-r", pkg, t2]);
    flipByte(join(t2, cam.clip));
    const forger = newKeyPair();
    writeFileSync(join(t2, "signing-key.pem"), forger.publicKey.export({ type: "spki", format: "pem" }));
    sealPackage(t2, manifest, forger);
    expect((await runPscs(["verify", t2])).code, "a forger's own key alone passes").toBe(0);
    const r2 = await runPscs(["verify", t2, "--fingerprint", fingerprint]);
    expect(r2.code).toBe(1);
    expect(r2.stdout + r2.stderr).toMatch(/not the department's key/);
  });

  it("audits the request, the decisions, the production and the download, with the purpose", async () => {
    const trail = await local.audit.list({ target: `export:${manifest.exportId}` });
    const actions = trail.map((e) => `${e.action}:${e.outcome}`);
    for (const a of [
      "export.request:success",
      "export.approve:success",
      "export.produce:success",
      "export.download:success",
    ]) {
      expect(actions).toContain(a);
    }
    const request = trail.find((e) => e.action === "export.request");
    expect(JSON.stringify(request?.details)).toContain(PURPOSE);
    const shown = (await (await records.request("GET", `/api/exports/${manifest.exportId}`)).json()) as {
      downloads: { by: string; bytes: number; complete: boolean }[];
    };
    expect(shown.downloads).toEqual([
      expect.objectContaining({ by: "user:records1", bytes: statSync(zip).size, complete: true }),
    ]);
  });
});
