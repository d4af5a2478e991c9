import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Cam } from "onvif";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rtspUrlWithCredentials } from "../../recorder/recorder.js";
import { type Simulator, startSimulator } from "../../sim/simulator.js";
import { decodeTimecode } from "../../sim/video/timecode.js";
import { createLogger } from "../../src/log/logger.js";
import { changedShare, grabFrames, probe } from "../helpers/media.js";
import { freeSimBase } from "../helpers/ports.js";

// Two simulated cameras with everything real: ffmpeg encoders, gst-rtsp-server, ONVIF over HTTP.
const W = 640;
const H = 360;
const FPS = 15;
const USER = "admin";
// Characters a URL must escape: the stream is read with the same credentials the recorder injects.
const PASSWORD = "Stream-Test-1!@:/";
let sim: Simulator;
let rtsp1: string;
let rtsp2: string;
const withCredentials = (uri: string) => rtspUrlWithCredentials(uri, USER, PASSWORD);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function fault(camera: string, name: string, body: unknown): Promise<Response> {
  return fetch(`${sim.controlUrl}/cameras/${camera}/${name}`, { method: "POST", body: JSON.stringify(body) });
}
async function eventually<T>(what: string, probeFn: () => Promise<T>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      return await probeFn();
    } catch (e) {
      last = e;
      await sleep(250);
    }
  }
  throw new Error(`${what} did not happen within ${timeoutMs} ms: ${String(last)}`);
}

beforeAll(async () => {
  const base = await freeSimBase(2);
  sim = await startSimulator({
    cameras: 2,
    host: "127.0.0.1",
    basePort: base,
    width: W,
    height: H,
    fps: FPS,
    user: USER,
    password: PASSWORD,
    authMode: "wsse",
    stateDir: mkdtempSync(join(tmpdir(), "sim-state-")),
    log: createLogger({ name: "sim", level: "warn" }),
  });
  // GetStreamUri's URIs carry no credentials; the RTSP server demands them (Digest), as cameras do.
  [rtsp1, rtsp2] = sim.describe().map((c) => withCredentials(c.rtsp)) as [string, string];
});

afterAll(async () => {
  const pids = [sim.rtsp.pid, ...sim.cameras.map((c) => c.encoder.pid)].filter(
    (p): p is number => p !== undefined,
  );
  await sim.stop();
  // No orphans: every child the simulator started is gone.
  for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
});

describe("simulated camera video over RTSP", () => {
  it("ffprobe reads H.264 at the configured size and rate", async () => {
    const info = await eventually("stream readable", () => probe(rtsp1), 10_000);
    expect(info).toMatchObject({ codec_name: "h264", width: W, height: H });
    // ffprobe guesses the rate from RTP timestamps: 15/1 or, on some joins, 15000/1001.
    const [num, den] = info.r_frame_rate.split("/").map(Number) as [number, number];
    expect(Math.abs(num / den - FPS)).toBeLessThan(0.5);
    // x264's ultrafast preset stays within Constrained Baseline under the Main ceiling: both are
    // what browsers' WebRTC receivers accept (High is not).
    expect(["Constrained Baseline", "Main"]).toContain(info.profile);
  });

  it("delivers about FPS frames a second, each with a time code within 200 ms of the wall clock", async () => {
    const frames = await grabFrames(rtsp1, 3 * FPS, W, H);
    const latencies = frames.map((f) => {
      const tc = decodeTimecode(f.rgba, W, H);
      expect(tc).not.toBeNull();
      // Decode time, not pipe arrival: see grabFrames. What remains of the client's share is one
      // frame interval: ffmpeg's H.264 parser ends a frame when the next one starts.
      expect(Number.isFinite(f.decodedAt) && f.decodedAt <= f.receivedAt).toBe(true);
      return f.decodedAt - (tc as number);
    });
    // Skip the first second: ffmpeg's stream analysis delivers its frames in a burst.
    const steady = latencies.slice(FPS).sort((a, b) => a - b);
    const median = steady[Math.floor(steady.length / 2)] as number;
    console.info(`time code latency at decode: median ${median} ms over ${steady.length} frames`);
    expect(median).toBeGreaterThanOrEqual(0);
    expect(median).toBeLessThan(200);
    const codes = frames.map((f) => decodeTimecode(f.rgba, W, H) as number);
    const intervals = codes.length - 1 - FPS;
    const span = (codes.at(-1) as number) - (codes[FPS] as number);
    // One frame interval (1000/FPS ms) apart, give or take three frames of jitter or drops on a
    // loaded 2-core machine (other suites run alongside).
    expect(span).toBeGreaterThanOrEqual(((intervals - 3) * 1000) / FPS);
    expect(span).toBeLessThanOrEqual(((intervals + 3) * 1000) / FPS);
  });

  it("a frame after an ONVIF AbsoluteMove shows a different view", async () => {
    const cam = new Cam({
      hostname: "127.0.0.1",
      port: sim.cameras[0]?.onvif.port,
      username: USER,
      password: PASSWORD,
      autoconnect: false,
    });
    const call = (fn: (cb: (e: Error | null) => void) => void) =>
      new Promise<void>((ok, no) => fn((e) => (e ? no(e) : ok())));
    await call((cb) => cam.connect(cb));
    const idle = async () => {
      await eventually(
        "PTZ idle",
        async () => {
          const moving = await new Promise<string>((ok, no) =>
            cam.getStatus({}, (e, s) => (e ? no(e) : ok(String(s?.moveStatus?.panTilt)))),
          );
          if (moving !== "IDLE") throw new Error(moving);
        },
        10_000,
      );
    };
    await call((cb) => cam.absoluteMove({ x: -0.8, y: 0, zoom: 0 }, cb));
    await idle();
    const [before] = await grabFrames(rtsp1, 1, W, H);
    await call((cb) => cam.absoluteMove({ x: 0.6, y: -0.4, zoom: 0.7 }, cb));
    await sleep(200);
    await idle();
    const [after] = await grabFrames(rtsp1, 1, W, H);
    // Compare the picture, not the burned-in text band or the time code strip.
    const share = changedShare(before?.rgba as Uint8Array, after?.rgba as Uint8Array, W, 20, H - 30);
    expect(share).toBeGreaterThan(0.3);
  });

  it("serves several clients of one camera at once (shared media)", async () => {
    // Without shared media the second client's pipeline could not bind the camera's RTP port.
    const [a, b] = await Promise.all([grabFrames(rtsp2, 10, W, H), grabFrames(rtsp2, 10, W, H)]);
    for (const frames of [a, b]) {
      const codes = frames.map((f) => decodeTimecode(f.rgba, W, H));
      expect(codes.every((c) => c !== null && Math.abs(c - Date.now()) < 3000)).toBe(true);
    }
  });
});

describe("faults on command", () => {
  it("freeze: the picture and its time code stop changing, then resume", async () => {
    expect((await fault("cam2", "freeze", { on: true })).status).toBe(200);
    const [x] = await grabFrames(rtsp2, 1, W, H);
    await sleep(1000);
    const [y] = await grabFrames(rtsp2, 1, W, H);
    expect(decodeTimecode(x?.rgba as Uint8Array, W, H)).toBe(decodeTimecode(y?.rgba as Uint8Array, W, H));
    await fault("cam2", "freeze", { on: false });
    const [z] = await grabFrames(rtsp2, 1, W, H);
    expect(Math.abs((decodeTimecode(z?.rgba as Uint8Array, W, H) as number) - Date.now())).toBeLessThan(1000);
  });

  it("demands the camera's credentials with an RTSP Digest challenge: none or wrong ones are refused (401)", async () => {
    const plain = String(sim.describe()[0]?.rtsp);
    await expect(probe(plain, 2)).rejects.toThrow(/401 Unauthorized/);
    await expect(probe(rtspUrlWithCredentials(plain, USER, "not-the-password"), 2)).rejects.toThrow(
      /401 Unauthorized/,
    );
    await expect(grabFrames(plain, 1, W, H, 5000)).rejects.toThrow(/401 Unauthorized/);
    const url = new URL(plain);
    const challenge = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname, () =>
        socket.write(`DESCRIBE ${plain} RTSP/1.0\r\nCSeq: 1\r\n\r\n`),
      );
      let reply = "";
      socket.on("data", (d: Buffer) => {
        reply += d.toString();
        if (reply.includes("\r\n\r\n")) {
          socket.end();
          resolve(reply);
        }
      });
      socket.on("error", reject);
    });
    expect(challenge).toMatch(/^RTSP\/1\.0 401 Unauthorized\r\n/);
    expect(challenge).toMatch(/\r\nWWW-Authenticate: Digest realm="[^"]+", nonce="[^"]+"/i);
    expect(challenge).not.toMatch(/Basic/i);
    // With them, the same stream is read (every other test here reads it so).
    expect((await probe(rtsp1)).codec_name).toBe("h264");
  });

  it("stream down: nobody can read the stream; back up: readable again within 5 s", async () => {
    expect((await fault("cam2", "stream", { up: false })).status).toBe(200);
    await expect(probe(rtsp2, 2)).rejects.toThrow();
    const upAt = Date.now();
    await fault("cam2", "stream", { up: true });
    await eventually("stream back", () => grabFrames(rtsp2, 1, W, H, 5000), 10_000);
    expect(Date.now() - upAt).toBeLessThan(5000);
  });

  it("RTSP refused: connection refused; accepted again: works", async () => {
    await fault("cam2", "rtsp", { accept: false });
    await expect(probe(rtsp2, 2)).rejects.toThrow(/Connection refused/);
    await fault("cam2", "rtsp", { accept: true });
    await eventually("RTSP back", () => probe(rtsp2), 10_000);
  });

  it("path: the stream moves, the old path answers 404, GetStreamUri names the new one", async () => {
    const moved = String(sim.describe()[1]?.rtsp).replace(/\/stream$/, "/profile2");
    const res = await fault("cam2", "path", { path: "/profile2" });
    expect(((await res.json()) as { rtsp: string }).rtsp).toBe(moved);
    try {
      await expect(probe(rtsp2, 2)).rejects.toThrow(/404|Not Found/);
      await eventually("stream at the new path", () => probe(withCredentials(moved)), 10_000);
      expect((await fault("cam2", "path", { path: "no-slash" })).status).toBe(400);
    } finally {
      await fault("cam2", "path", { path: "/stream" });
    }
    await eventually("stream back at /stream", () => probe(rtsp2), 10_000);
  });

  it("reboot: ONVIF and RTSP both down for the given time, then back", async () => {
    const port = sim.cameras[1]?.onvif.port;
    const res = await fault("cam2", "reboot", { seconds: 2 });
    expect(
      ((await res.json()) as { faults: { rebootingUntil: number } }).faults.rebootingUntil,
    ).toBeGreaterThan(Date.now());
    await expect(
      fetch(`http://127.0.0.1:${port}/onvif/device_service`, { method: "POST", body: "" }),
    ).rejects.toThrow();
    await expect(probe(rtsp2, 1)).rejects.toThrow(/Connection refused/);
    await sleep(2000);
    await eventually("RTSP after reboot", () => probe(rtsp2), 10_000);
    const time = await fetch(`http://127.0.0.1:${port}/onvif/device_service`, {
      method: "POST",
      body: '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>',
    });
    expect(time.status).toBe(200);
  });

  it("clock skew moves the camera's clock and its burned-in time, not the time code", async () => {
    const res = await fault("cam1", "clock", { skewMs: -7_200_000 });
    expect(((await res.json()) as { faults: { clockSkewMs: number } }).faults.clockSkewMs).toBe(-7_200_000);
    const body = await (
      await fetch(`http://127.0.0.1:${sim.cameras[0]?.onvif.port}/onvif/device_service`, {
        method: "POST",
        body: '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>',
      })
    ).text();
    const hour = Number(/<tt:UTCDateTime><tt:Time><tt:Hour>(\d+)</.exec(body)?.[1]);
    expect(hour).toBe(new Date(Date.now() - 7_200_000).getUTCHours());
    const [f] = await grabFrames(rtsp1, 1, W, H);
    expect(Math.abs((decodeTimecode(f?.rgba as Uint8Array, W, H) as number) - Date.now())).toBeLessThan(1000);
    await fault("cam1", "clock", { skewMs: 0 });
  });

  it("the control endpoint names bad fields and unknown cameras", async () => {
    const bad = await fault("cam1", "reboot", { seconds: "soon" });
    expect(bad.status).toBe(400);
    expect(bad.headers.get("content-type")).toBe("application/problem+json");
    expect(await bad.json()).toMatchObject({ errors: [{ field: "seconds" }] });
    const extra = await fault("cam1", "stream", { up: true, colour: "red" });
    expect(extra.status).toBe(400);
    expect((await fault("cam9", "stream", { up: true })).status).toBe(404);
    expect((await fetch(`${sim.controlUrl}/cameras/cam1/stream`)).status).toBe(405);
    const notJson = await fetch(`${sim.controlUrl}/cameras/cam1/stream`, { method: "POST", body: "{" });
    expect(notJson.status).toBe(400);
    const list = (await (await fetch(`${sim.controlUrl}/cameras`)).json()) as Array<{
      id: string;
      faults: object;
    }>;
    expect(list.map((c) => c.id)).toEqual(["cam1", "cam2"]);
  });

  it("serves a JPEG snapshot of the current view behind HTTP Digest", async () => {
    const url = `http://127.0.0.1:${sim.cameras[0]?.onvif.port}/onvif/snapshot.jpg`;
    const challenge = await fetch(url);
    expect(challenge.status).toBe(401);
    const params = Object.fromEntries(
      [...(challenge.headers.get("www-authenticate") ?? "").matchAll(/(\w+)="?([^",]+)"?/g)].map((m) => [
        m[1],
        m[2],
      ]),
    );
    const md5 = (s: string) => createHash("md5").update(s).digest("hex");
    const cnonce = randomBytes(8).toString("hex");
    const path = "/onvif/snapshot.jpg";
    const response = md5(
      `${md5(`${USER}:${params.realm}:${PASSWORD}`)}:${params.nonce}:00000001:${cnonce}:auth:${md5(`GET:${path}`)}`,
    );
    const res = await fetch(url, {
      headers: {
        authorization: `Digest username="${USER}", realm="${params.realm}", nonce="${params.nonce}", uri="${path}", qop=auth, nc=00000001, cnonce="${cnonce}", response="${response}"`,
      },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/jpeg");
    const jpeg = Buffer.from(await res.arrayBuffer());
    expect(jpeg.subarray(0, 2).toString("hex")).toBe("ffd8");
    expect(jpeg.length).toBeGreaterThan(5000);
  });
});
