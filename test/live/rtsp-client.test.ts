import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { annexB, nalType } from "../../recorder/live/rtp-h264.js";
import { RtspError, RtspSession } from "../../recorder/live/rtsp-client.js";
import type { Simulator } from "../../sim/simulator.js";
import { decodeTimecode } from "../../sim/video/timecode.js";
import type { AccessUnit } from "../../src/live/feed.js";
import { startTestCameras } from "../helpers/sim.js";

// pscsd's RTSP client against the simulator's real gst-rtsp-server (Digest demanded), real ffmpeg decoding.
const USER = "recorder";
const PASSWORD = "Live-Pw-1!@:/";
const FPS = 10;
const SESSION_TIMEOUT_S = 3;
let sim: Simulator;
let url1: string;
let url2: string;

beforeAll(async () => {
  // Sessions expire after 3 s without a request (cameras say 60): the keep-alive is what keeps them.
  sim = await startTestCameras(mkdtempSync(join(tmpdir(), "live-rtsp-")), {
    user: USER,
    password: PASSWORD,
    fps: FPS,
    rtspSessionTimeoutSeconds: SESSION_TIMEOUT_S,
  });
  [url1, url2] = sim.describe().map((c) => c.rtsp) as [string, string];
});
afterAll(async () => {
  await sim?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The first picture of an Annex B stream, decoded by ffmpeg, as RGBA. */
function decodeFirst(stream: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const ff = spawn("ffmpeg", [
      "-v",
      "error",
      "-f",
      "h264",
      "-i",
      "-",
      "-frames:v",
      "1",
      "-f",
      "rawvideo",
      "-pix_fmt",
      "rgba",
      "-",
    ]);
    const out: Buffer[] = [];
    let err = "";
    ff.stdout.on("data", (d: Buffer) => out.push(d));
    ff.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    ff.on("error", reject);
    ff.on("close", (code) =>
      code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`ffmpeg ${code}: ${err}`)),
    );
    ff.stdin.end(stream);
  });
}

describe("RTSP client", () => {
  it("plays the camera's H.264 at its rate, starting at a decodable key frame, with sub-second latency", async () => {
    const units: AccessUnit[] = [];
    const session = await RtspSession.open(
      { camera: "cam1", url: url1, user: USER, password: PASSWORD },
      (au) => units.push(au),
    );
    await sleep(3_000);
    await session.stop();
    expect(await session.done).toBeUndefined();

    const first = units[0] as AccessUnit;
    expect(first.keyframe).toBe(true);
    // SPS and PPS (in-band, or remembered from the SDP) before the IDR.
    const types = first.nals.map(nalType);
    expect(types.indexOf(7)).toBeGreaterThanOrEqual(0);
    expect(types.indexOf(8)).toBeGreaterThan(types.indexOf(7));
    expect(types.indexOf(5)).toBeGreaterThan(types.indexOf(8));
    // Every frame: as many as the 90 kHz clock spans frame intervals (the server stamps on arrival,
    // so one interval jitters, their sum does not), counted from the second key frame (on joining, the
    // server sends the frames it holds in a burst) …
    const steady = units.slice(units.findIndex((u, i) => i > 0 && u.keyframe));
    const ticks = ((steady.at(-1) as AccessUnit).rtpTime - (steady[0] as AccessUnit).rtpTime) >>> 0;
    expect(Math.abs(steady.length - 1 - ticks / (90_000 / FPS))).toBeLessThan(1.5);
    // … at the simulator's rate, in real time.
    const span = ((steady.at(-1) as AccessUnit).receivedAt - (steady[0] as AccessUnit).receivedAt) / 1000;
    expect(span).toBeGreaterThan(1);
    expect(Math.abs(ticks / 90_000 - span)).toBeLessThan(0.25);
    expect(units.filter((u) => u.keyframe).length).toBeGreaterThanOrEqual(Math.floor(span));
    expect(session.bytes).toBeGreaterThan(units.reduce((s, u) => s + u.bytes, 0) * 0.9);

    // The first unit alone decodes; its burned-in time is close to when it arrived.
    const rgba = await decodeFirst(annexB(first));
    expect(rgba.length).toBe(320 * 180 * 4);
    const shown = decodeTimecode(new Uint8Array(rgba), 320, 180);
    expect(shown).not.toBeNull();
    const latency = first.receivedAt - (shown as number);
    expect(latency).toBeGreaterThan(-50);
    expect(latency).toBeLessThan(1_000);
    // Past the join, a key frame is here within 100 ms of its capture (on this machine, a few ms).
    const key = steady[0] as AccessUnit;
    const keyShown = decodeTimecode(new Uint8Array(await decodeFirst(annexB(key))), 320, 180) as number;
    expect(key.receivedAt - keyShown).toBeGreaterThan(-50);
    expect(key.receivedAt - keyShown).toBeLessThan(100);
    // And the whole received stream decodes as one.
    const whole = await decodeFirst(Buffer.concat(units.map(annexB)));
    expect(decodeTimecode(new Uint8Array(whole), 320, 180)).toBe(shown);
  });

  it("keep-alives, every half of the session timeout the camera states, are answered past that timeout", async () => {
    // gst-rtsp-server never expires a session while it streams over TCP, as some cameras do: a
    // keep-alive it refused (or did not answer) would end the session with an error.
    const units: AccessUnit[] = [];
    const session = await RtspSession.open(
      { camera: "cam1", url: url1, user: USER, password: PASSWORD },
      (au) => units.push(au),
    );
    await sleep(SESSION_TIMEOUT_S * 2_000 + 500);
    const before = units.length;
    await sleep(300);
    expect(units.length).toBeGreaterThan(before);
    await session.stop();
    expect(await session.done).toBeUndefined();
  });

  it("a wrong password is a typed auth error naming the camera, without the password", async () => {
    const wrong = "Not-The-Pw-9";
    const err = await RtspSession.open(
      { camera: "cam1", url: url1, user: USER, password: wrong },
      () => {},
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RtspError);
    expect(err).toMatchObject({ kind: "auth", camera: "cam1", status: 401 });
    const text = `${(err as Error).message} ${(err as Error).stack}`;
    expect(text).toContain("cam1");
    expect(text).toContain(USER);
    expect(text).not.toContain(wrong);
    // Credentials in the URL are used, never shown.
    const inUrl = new URL(url1);
    inUrl.username = USER;
    inUrl.password = encodeURIComponent(wrong);
    const err2 = (await RtspSession.open({ camera: "cam1", url: inUrl.toString() }, () => {}).catch(
      (e: unknown) => e,
    )) as RtspError;
    expect(err2.kind).toBe("auth");
    expect(`${err2.message} ${err2.stack}`).not.toContain(encodeURIComponent(wrong));
  });

  it("a camera that stops sending ends the session with a timeout error", async () => {
    const session = await RtspSession.open(
      { camera: "cam2", url: url2, user: USER, password: PASSWORD },
      () => {},
      { mediaTimeoutMs: 1_500 },
    );
    const stopped = Date.now();
    await fetch(`${sim.controlUrl}/cameras/cam2/stream`, {
      method: "POST",
      body: JSON.stringify({ up: false }),
    });
    try {
      const why = await session.done;
      expect(why).toBeInstanceOf(RtspError);
      expect(why).toMatchObject({ kind: "timeout", camera: "cam2" });
      expect(Date.now() - stopped).toBeLessThan(1_500 + 1_500);
    } finally {
      await fetch(`${sim.controlUrl}/cameras/cam2/stream`, {
        method: "POST",
        body: JSON.stringify({ up: true }),
      });
    }
  });

  it("a server that accepts but never answers is a timeout; an oversized head a protocol error", async () => {
    const silent: Server = createServer(() => {});
    const chatty: Server = createServer((s) => s.write(`RTSP/1.0 200 OK\r\nX: ${"a".repeat(20_000)}`));
    const port = (srv: Server) =>
      new Promise<number>((r) =>
        srv.listen(0, "127.0.0.1", () => r((srv.address() as { port: number }).port)),
      );
    try {
      const p1 = await port(silent);
      const t0 = Date.now();
      const e1 = (await RtspSession.open({ camera: "cam9", url: `rtsp://127.0.0.1:${p1}/s` }, () => {}, {
        replyTimeoutMs: 500,
      }).catch((e: unknown) => e)) as RtspError;
      expect(e1).toMatchObject({ kind: "timeout", camera: "cam9", method: "OPTIONS" });
      expect(Date.now() - t0).toBeLessThan(1_500);
      const p2 = await port(chatty);
      const e2 = (await RtspSession.open({ camera: "cam9", url: `rtsp://127.0.0.1:${p2}/s` }, () => {}).catch(
        (e: unknown) => e,
      )) as RtspError;
      expect(e2).toBeInstanceOf(RtspError);
      expect(e2.kind).toBe("protocol");
    } finally {
      silent.close();
      chatty.close();
    }
  });
});
