import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_LIVE, LiveSource } from "../../recorder/live/live-source.js";
import { RtspSession } from "../../recorder/live/rtsp-client.js";
import type { LiveViewer } from "../../recorder/live/viewer.js";
import { rtspUrlWithCredentials } from "../../recorder/recorder.js";
import type { Simulator } from "../../sim/simulator.js";
import type { AccessUnit } from "../../src/live/feed.js";
import { createLogger } from "../../src/log/logger.js";
import { startTestCameras } from "../helpers/sim.js";

// One camera, one live session for every viewer, against the simulator's real RTSP server, beside a
// recording-style ffmpeg session (RTSP/TCP in, stream copy) as the recorder runs it.
const USER = "recorder";
const PASSWORD = "Fan-Out-Pw-2";
const FPS = 20;
let sim: Simulator;
let url: string;
let recording: ChildProcess;
let recordedFrames = 0;
const log = createLogger({ name: "live-test", level: "warn" });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function rtspClients(camera: string): Promise<{ connections: number; sessions: number }> {
  const r = await fetch(`${sim.controlUrl}/cameras/${camera}/rtsp-clients`);
  expect(r.status).toBe(200);
  return (await r.json()) as { connections: number; sessions: number };
}

async function until(what: string, check: () => Promise<boolean> | boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`${what} not within ${ms} ms`);
    await sleep(50);
  }
}

beforeAll(async () => {
  sim = await startTestCameras(mkdtempSync(join(tmpdir(), "live-fan-")), {
    user: USER,
    password: PASSWORD,
    fps: FPS,
  });
  url = (sim.describe()[0] as { rtsp: string }).rtsp;
  recording = spawn("ffmpeg", [
    ...[
      "-v",
      "error",
      "-nostats",
      "-rtsp_transport",
      "tcp",
      "-i",
      rtspUrlWithCredentials(url, USER, PASSWORD),
    ],
    ...["-c", "copy", "-f", "null", "-progress", "pipe:1", "-"],
  ]);
  recording.stdout?.on("data", (d: Buffer) => {
    const m = /frame=(\d+)\s*$/m.exec(d.toString().split("progress=")[0] ?? "");
    if (m) recordedFrames = Number(m[1]);
  });
  await until("recording session", async () => (await rtspClients("cam1")).sessions === 1, 10_000);
});
afterAll(async () => {
  recording?.kill("SIGKILL");
  await sim?.stop();
});

const source = () =>
  new LiveSource(
    "cam1",
    (onAccessUnit) => RtspSession.open({ camera: "cam1", url, user: USER, password: PASSWORD }, onAccessUnit),
    log,
    { ...DEFAULT_LIVE, lingerMs: 500, viewer: { maxFrames: 10, maxBytes: 1024 * 1024 } },
  );

/** Reads a viewer until it closes, recording how long each frame waited between arrival and read. */
function drain(viewer: LiveViewer, delays: number[] = [], got: AccessUnit[] = []): Promise<void> {
  return (async () => {
    for await (const au of viewer) {
      delays.push(Date.now() - au.receivedAt);
      got.push(au);
    }
  })();
}

describe("live source fan-out", () => {
  it("8 viewers share one camera session; a stalled one delays nobody; recording is untouched", async () => {
    const live = source();
    const fast = live.subscribe();
    const stalled = live.subscribe();
    const others = Array.from({ length: 6 }, () => live.subscribe());
    const delays: number[] = [];
    const got: AccessUnit[] = [];
    const reading = [drain(fast, delays, got), ...others.map((v) => drain(v))];
    await until("live session", () => live.stats().open);
    // Skip the cached/first GOP: measure steady state while `stalled` never reads.
    await sleep(1_500);
    const recordedBefore = recordedFrames;
    delays.length = 0;
    got.length = 0;
    await sleep(3_000);

    // The camera sees the recording session and one live session, however many watch.
    expect(await rtspClients("cam1")).toEqual({ connections: 2, sessions: 2 });
    expect(live.stats()).toMatchObject({ viewers: 8, sessionsOpened: 1, open: true });

    // The stalled viewer was paused at its bound and lost frames; its queue never grew past it.
    expect(stalled.dropped).toBeGreaterThan(FPS);
    expect(stalled.queued).toBeLessThanOrEqual(10);
    expect(live.stats().drops).toBeGreaterThanOrEqual(stalled.dropped);
    // The fast viewer got every frame, each within a few ms of its arrival.
    expect(fast.dropped).toBe(0);
    expect(got.length).toBeGreaterThan(3 * FPS - 4);
    expect(Math.max(...delays)).toBeLessThan(25);
    for (const v of others) expect(v.dropped).toBe(0);
    // Recording kept its pace meanwhile.
    expect(recordedFrames - recordedBefore).toBeGreaterThan(3 * FPS - 10);

    // The stalled viewer, reading again, resumes at a key frame.
    const resumed = (await stalled.next()) as AccessUnit;
    expect(resumed.keyframe).toBe(true);

    // A late viewer starts at once, from the cached key frame.
    const t0 = Date.now();
    const late = live.subscribe();
    const first = (await late.next()) as AccessUnit;
    expect(Date.now() - t0).toBeLessThan(50);
    expect(first.keyframe).toBe(true);
    expect(await rtspClients("cam1")).toEqual({ connections: 2, sessions: 2 });

    // The last viewer leaving tears the session down after the linger; recording stays.
    for (const v of [fast, stalled, late, ...others]) v.close();
    await Promise.all(reading);
    expect((await rtspClients("cam1")).sessions).toBe(2); // lingering
    await until("live session closed", async () => {
      const c = await rtspClients("cam1");
      return c.connections === 1 && c.sessions === 1;
    });
    expect(live.stats()).toMatchObject({ viewers: 0, open: false, sessionsOpened: 1 });
    expect(live.stats().bytesIn).toBeGreaterThan(0);

    // Watching again opens one new session.
    const again = live.subscribe();
    expect((await again.next())?.keyframe).toBe(true);
    expect(live.stats().sessionsOpened).toBe(2);
    await live.stop();
    expect(live.stats().open).toBe(false);
    await until("stopped", async () => (await rtspClients("cam1")).sessions === 1);
  });

  it("a viewer returning within the linger reuses the session", async () => {
    const live = source();
    const a = live.subscribe();
    expect((await a.next())?.keyframe).toBe(true);
    a.close();
    await sleep(200);
    const b = live.subscribe();
    expect((await b.next())?.keyframe).toBe(true);
    expect(live.stats().sessionsOpened).toBe(1);
    await live.stop();
    // The server counts a connection gone once it has seen it close, a moment after TEARDOWN.
    await until("the live connection closed", async () => (await rtspClients("cam1")).connections === 1);
    expect(await rtspClients("cam1")).toEqual({ connections: 1, sessions: 1 });
  });
});
