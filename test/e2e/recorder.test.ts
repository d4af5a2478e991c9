import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Simulator } from "../../sim/simulator.js";
import { decodeTimecode } from "../../sim/video/timecode.js";
import { writeDaemonConfig } from "../helpers/config.js";
import { freePort } from "../helpers/ports.js";
import { descendants, isAlive, startProc } from "../helpers/process.js";
import { login, openLocalCatalog, seedUsers } from "../helpers/pscsd.js";
import { simCameraConfigs, startTestCameras } from "../helpers/sim.js";

const run = promisify(execFile);

// The built daemon recording two simulated cameras for two minutes, with faults on the second.
const PSCSD = join(import.meta.dirname, "../../dist/src/bin/pscsd.js");
const PASSWORD = "Rec-Test-2026!";
const SEGMENT_S = 10;
const FPS = 10;
const GOP_MS = 1_000; // the simulator's encoder: one keyframe a second
const PURPOSE = "case 26-0042: review";

interface Seg {
  camera: string;
  start_ms: number;
  end_ms: number;
  path: string;
  bytes: number;
  sha256: string;
  state: string;
  codec: string;
  width: number;
  height: number;
  fps: number | null;
}
interface Gap {
  camera: string;
  start_ms: number;
  end_ms: number | null;
  cause: string;
}

let sim: Simulator;
const dir = mkdtempSync(join(tmpdir(), "pscs-rec-"));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  sim = await startTestCameras(dir, { user: "recorder", password: PASSWORD, fps: FPS });
});
afterAll(() => sim?.stop());

function query<T>(sql: string, ...args: unknown[]): T[] {
  const db = new Database(join(dir, "catalog.db"), { readonly: true });
  try {
    return db.prepare(sql).all(...args) as T[];
  } finally {
    db.close();
  }
}

async function until<T>(what: string, f: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

/** Playback of recorded footage through the API, checked against the time code burned into each frame. */
async function checkPlayback(configFile: string, url: string): Promise<void> {
  const local = openLocalCatalog(configFile);
  await seedUsers(local, { rec1: ["records"] });
  const c = await login(url, "rec1");
  const cam1 = query<Seg & { id: number }>(
    "SELECT * FROM segments WHERE camera = 'cam1' AND state = 'complete' ORDER BY start_ms",
  );
  const mid = cam1[Math.floor(cam1.length / 2)] as Seg & { id: number };
  const from = mid.start_ms + 3_500; // inside a segment, between keyframes
  const to = from + 4_000;
  const res = await c.request(
    "GET",
    `/api/cameras/cam1/playback?from=${from}&to=${to}&purpose=${encodeURIComponent(PURPOSE)}`,
  );
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("video/mp4");
  const mp4 = join(dir, "playback.mp4");
  writeFileSync(mp4, Buffer.from(await res.arrayBuffer()));
  const { stdout } = await run("ffprobe", [
    "-v",
    "error",
    "-show_entries",
    "format=duration:stream=codec_name,width,height",
    "-of",
    "json",
    mp4,
  ]);
  const info = JSON.parse(stdout) as {
    format: { duration: string };
    streams: { codec_name: string; width: number }[];
  };
  expect(info.streams[0]).toMatchObject({ codec_name: "h264", width: 320 });
  const duration = Number(info.format.duration) * 1000;
  expect(duration).toBeGreaterThan(4_000 - 200);
  expect(duration).toBeLessThan(4_000 + GOP_MS + 200);
  // The first frame is the keyframe at or before `from`: its burned-in time is within one GOP before.
  const frame = await run(
    "ffmpeg",
    ["-v", "error", "-i", mp4, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgba", "pipe:1"],
    {
      encoding: "buffer",
      maxBuffer: 1 << 24,
    },
  );
  const shown = decodeTimecode(new Uint8Array(frame.stdout as unknown as Buffer), 320, 180) as number;
  expect(shown).toBeGreaterThan(from - GOP_MS - 400);
  expect(shown).toBeLessThanOrEqual(from + 400);
  // A single segment, by HTTP range.
  const part = await c.request(
    "GET",
    `/api/segments/${mid.id}/file?purpose=${encodeURIComponent(PURPOSE)}`,
    undefined,
    { range: "bytes=0-187" },
  );
  expect(part.status).toBe(206);
  expect((await part.arrayBuffer()).byteLength).toBe(188);
  expect(part.headers.get("x-content-sha256")).toBe(mid.sha256);
  // Both views audited with who, which camera, what range and why.
  const seen = await local.audit.list({ actor: "user:rec1", action: "video." });
  expect(seen.map((e) => [e.action, e.target, e.role])).toEqual([
    ["video.playback", "camera:cam1", "records"],
    ["video.segment", "camera:cam1", "records"],
  ]);
  expect(JSON.parse(seen[0]?.details ?? "{}")).toMatchObject({ from, to, purpose: PURPOSE });
  expect(JSON.parse(seen[1]?.details ?? "{}")).toMatchObject({ segment: mid.id, purpose: PURPOSE });
  // The timeline names cam2's gaps and their causes (a query spans at most 31 days).
  const t = (await (
    await c.request("GET", `/api/cameras/cam2/timeline?from=${Date.now() - 86_400_000}&to=${Date.now()}`)
  ).json()) as {
    gaps: { cause: string }[];
    spans: unknown[];
  };
  expect(t.gaps.map((g) => g.cause)).toEqual(
    expect.arrayContaining([expect.stringMatching(/^stalled/), expect.stringMatching(/^ffmpeg exited/)]),
  );
  expect(t.spans.length).toBeGreaterThanOrEqual(3);
  local.close();
}

describe("recorder", () => {
  it("records contiguous, hashed 10 s segments for 2 minutes; a stream outage and an ffmpeg kill become gaps with causes, and recording resumes", async () => {
    writeFileSync(join(dir, "cam.pw"), `${PASSWORD}\n`);
    const cams = sim.describe();
    const httpPort = await freePort();
    const cfg = writeDaemonConfig(dir, {
      httpPort,
      onvif: { heartbeatSeconds: 2, requestTimeoutSeconds: 2 },
      cameras: simCameraConfigs(sim),
      extra: { recording: { segmentSeconds: SEGMENT_S, stallSeconds: 3 } },
    });
    const daemon = startProc(process.execPath, [PSCSD, "--config", cfg]);
    let ffmpegs: number[] = [];
    let streamBackAt = 0;
    let killedAt = 0;
    try {
      await daemon.waitForLine(/"msg":"pscsd started"/, 15_000);
      const firstOf = (camera: string) =>
        query<{ s: number | null }>("SELECT min(start_ms) s FROM segments WHERE camera = ?", camera)[0]?.s ??
        undefined;
      const recordingSince = await until("cam1 recording", () => firstOf("cam1"), 30_000);
      await until("cam2 recording", () => firstOf("cam2"), 30_000);

      // cam2's stream stops for 20 s.
      await sleep(12_000);
      await sim.cameras[1]?.setStreaming(false);
      await sleep(20_000);
      await sim.cameras[1]?.setStreaming(true);
      streamBackAt = Date.now();
      await until(
        "cam2 to resume after the outage",
        () =>
          query<Gap>(
            "SELECT * FROM recording_gaps WHERE camera = 'cam2' AND cause LIKE 'stalled%' AND end_ms IS NOT NULL",
          )[0],
        30_000,
      );

      // cam2's ffmpeg killed by hand.
      await sleep(5_000);
      const rtspPort = new URL(cams[1]?.rtsp as string).port;
      const victim = descendants(daemon.child.pid as number).find((pid) => {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
        return cmdline.startsWith("ffmpeg") && cmdline.includes(`:${rtspPort}/`);
      });
      expect(victim).toBeDefined();
      process.kill(victim as number, "SIGKILL");
      killedAt = Date.now();
      await until(
        "cam2 to be restarted after the kill",
        () =>
          query<Gap>(
            "SELECT * FROM recording_gaps WHERE camera = 'cam2' AND cause LIKE 'ffmpeg exited%' AND end_ms IS NOT NULL",
          )[0],
        20_000,
      );

      // At least two minutes of cam1.
      await until(
        "two minutes of cam1",
        () => (Date.now() - recordingSince > 125_000 ? true : undefined),
        150_000,
      );
      ffmpegs = descendants(daemon.child.pid as number);
      await checkPlayback(cfg, `http://127.0.0.1:${httpPort}`);
    } finally {
      const { code } = await daemon.stop("SIGTERM", 15_000);
      expect(code).toBe(0);
    }
    expect(ffmpegs.length).toBe(2);
    expect(ffmpegs.filter(isAlive)).toEqual([]);

    const segs = (camera: string) =>
      query<Seg>("SELECT * FROM segments WHERE camera = ? ORDER BY start_ms", camera);
    const cam1 = segs("cam1");
    // After a clean stop every row is complete, and nothing is left being written.
    expect(query("SELECT * FROM segments WHERE state <> 'complete'")).toEqual([]);
    expect(readdirSync(join(dir, "rec", "cam1", ".incoming"))).toEqual([]);
    expect(cam1.at(-1)?.end_ms ?? 0).toBeGreaterThan((cam1[0]?.start_ms ?? 0) + 120_000);
    for (let i = 1; i < cam1.length; i++) {
      const gapMs = (cam1[i]?.start_ms ?? 0) - (cam1[i - 1]?.end_ms ?? 0);
      expect(gapMs, `between cam1 segments ${i - 1} and ${i}`).toBeGreaterThanOrEqual(0);
      expect(gapMs, `between cam1 segments ${i - 1} and ${i}`).toBeLessThanOrEqual(1000 / FPS);
    }
    // First and last are cut short by start and stop; the rest are one segment length, to a GOP.
    for (const s of cam1.slice(1, -1)) {
      expect(Math.abs(s.end_ms - s.start_ms - SEGMENT_S * 1000)).toBeLessThanOrEqual(GOP_MS);
    }
    for (const s of [...cam1, ...segs("cam2")]) {
      const file = readFileSync(join(dir, "rec", s.path));
      expect(file.length).toBe(s.bytes);
      expect(createHash("sha256").update(file).digest("hex"), s.path).toBe(s.sha256);
      expect(s).toMatchObject({ codec: "h264", width: 320, height: 180, fps: FPS });
      expect(s.path).toMatch(
        new RegExp(`^${s.camera}/\\d{4}/\\d\\d/\\d\\d/\\d\\d/\\d{8}T\\d{6}\\.\\d{3}Z\\.ts$`),
      );
    }
    expect(
      query("SELECT * FROM recording_gaps WHERE camera = 'cam1' AND start_ms > ?", cam1[0]?.start_ms),
    ).toEqual([]);

    const gaps = query<Gap>("SELECT * FROM recording_gaps WHERE camera = 'cam2' ORDER BY start_ms");
    const outage = gaps.find((g) => g.cause.startsWith("stalled"));
    expect(outage).toBeDefined();
    const outageMs = (outage?.end_ms ?? 0) - (outage?.start_ms ?? 0);
    expect(outageMs).toBeGreaterThan(18_000);
    expect(outageMs).toBeLessThan(27_000);
    expect(
      (outage?.end_ms ?? 0) - streamBackAt,
      "recording resumed within 5 s of the stream's return",
    ).toBeLessThan(5_000);
    const kill = gaps.find((g) => g.cause.startsWith("ffmpeg exited"));
    expect(kill?.cause).toMatch(/SIGKILL/);
    expect((kill?.end_ms ?? 0) - killedAt).toBeLessThan(8_000);
    // Segments on either side of each gap meet it: the gap is exactly the time not recorded.
    const cam2 = segs("cam2");
    for (const g of [outage, kill]) {
      expect(cam2.some((s) => Math.abs(s.end_ms - (g?.start_ms ?? 0)) < 2_000)).toBe(true);
      expect(cam2.some((s) => s.start_ms === g?.end_ms)).toBe(true);
    }
  }, 240_000);
});
