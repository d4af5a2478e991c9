import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { LIVE_PEOPLE, type LiveDaemon, mseUrl, startLiveDaemon, stuckViewer } from "../helpers/live.js";
import { type Client, type LocalCatalog, login, openLocalCatalog } from "../helpers/pscsd.js";

// Live view as fMP4 over a WebSocket, against pscsd in this process and the simulator's RTSP stream:
// the protocol's messages, fragments that real ffprobe/ffmpeg decode as the camera's stream, the
// refusals (answered before the upgrade, audited), the open/close trail, a stalled viewer cut, the
// sign-in's end and video.live's withdrawal closing the socket.
const dir = mkdtempSync(join(tmpdir(), "pscs-mse-"));
const STALLED_S = 2;
let live: LiveDaemon;
let local: LocalCatalog;
let origin: string;
let cam: string;
let disp1: string;
let disp2: string;
let rec1: string;
let adm1: Client;

beforeAll(async () => {
  live = await startLiveDaemon(dir, {
    users: LIVE_PEOPLE,
    live: { maxPerUser: 2, stalledSeconds: STALLED_S, sendBufferKiB: 16 },
  });
  local = openLocalCatalog(live.configFile);
  origin = live.daemon.url;
  cam = live.camera;
  disp1 = (await login(origin, "disp1")).cookie ?? "";
  disp2 = (await login(origin, "disp2")).cookie ?? "";
  rec1 = (await login(origin, "rec1")).cookie ?? "";
  adm1 = await login(origin, "adm1");
}, 60_000);
afterAll(async () => {
  await live?.stop();
  local?.close();
});

const wsUrl = (camera: string) => mseUrl(origin, camera);

type Message = Buffer | Record<string, unknown>;
const inbox = new WeakMap<WebSocket, Message[]>();

type Opened = { ws: WebSocket } | { status: number; body: Record<string, unknown> };

/** Opens a live socket; a refusal arrives as the HTTP answer to the upgrade. */
function open(camera: string, h: { cookie?: string; origin?: string | null } = {}): Promise<Opened> {
  const ws = new WebSocket(wsUrl(camera), {
    headers: h.cookie ? { cookie: h.cookie } : {},
    ...(h.origin === null ? {} : { origin: h.origin ?? origin }),
  });
  // Collected from the start: the first messages can arrive in the same read as the 101 answer, and
  // ws emits them before a listener added after 'open' runs.
  const got: Message[] = [];
  inbox.set(ws, got);
  ws.on("message", (data: Buffer, binary: boolean) => {
    got.push(binary ? data : (JSON.parse(data.toString()) as Record<string, unknown>));
    ws.emit("collected");
  });
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve({ ws }));
    ws.once("unexpected-response", (_req, res) => {
      expect(res.headers["content-type"]).toMatch(/application\/problem\+json/);
      let body = "";
      res.on("data", (d: Buffer) => {
        body += d.toString();
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(body) }));
    });
    ws.once("error", reject);
  });
}

async function watching(camera: string, cookie: string): Promise<WebSocket> {
  const o = await open(camera, { cookie });
  if (!("ws" in o)) throw new Error(`refused ${o.status}: ${JSON.stringify(o.body)}`);
  return o.ws;
}

/** The first `n` messages the socket received (text as parsed JSON, binary as Buffer). */
function messages(ws: WebSocket, n: number): Promise<Message[]> {
  const got = inbox.get(ws) ?? [];
  return new Promise((resolve, reject) => {
    const check = () => {
      if (got.length < n) return;
      ws.off("collected", check);
      resolve(got.slice(0, n));
    };
    ws.on("collected", check);
    ws.once("close", (code) => reject(new Error(`closed ${code} after ${got.length} messages`)));
    check();
  });
}

function closed(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => ws.once("close", (code) => resolve(code)));
}

/** Audit entries of `action` (by `actor`), their details parsed. */
async function entries(action: string, actor?: string) {
  const list = await local.audit.list({ action, ...(actor ? { actor } : {}), order: "desc", limit: 1000 });
  return list.map((e) => ({ ...e, details: JSON.parse(e.details || "{}") as Record<string, unknown> }));
}

async function until<T>(what: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await what();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
}

// Never a synchronous child: the simulator's RTSP server runs on this event loop.
const run = promisify(execFile);
const ffprobe = async (file: string, ...args: string[]) =>
  JSON.parse(
    (await run("ffprobe", ["-v", "error", "-of", "json", ...args, file], { timeout: 20_000 })).stdout,
  );

describe("live view over a WebSocket (fMP4 for MSE)", () => {
  it("sends init text, init segment, then one fragment per access unit that ffprobe decodes as the camera's stream; open and close audited with bytes", async () => {
    const ws = await watching(cam, disp1);
    const FRAMES = 25;
    const [init, segment, ...fragments] = await messages(ws, 2 + FRAMES);
    expect(init).toMatchObject({ type: "init", width: 320, height: 180 });
    const { session, codec } = init as { session: string; codec: string };
    expect(session).toMatch(/^[0-9a-f-]{36}$/);
    expect(codec).toMatch(/^avc1\.[0-9a-f]{6}$/);
    expect(Buffer.isBuffer(segment) && segment.subarray(4, 8).toString()).toBe("ftyp");
    for (const f of fragments) expect((f as Buffer).subarray(4, 8).toString()).toBe("moof");
    const file = join(dir, "live.mp4");
    writeFileSync(file, Buffer.concat([segment as Buffer, ...(fragments as Buffer[])]));
    const ours = (await ffprobe(file, "-count_frames", "-show_streams")).streams[0];
    expect(ours.nb_read_frames).toBe(String(FRAMES));
    // Decoded without a single error from the first fragment (a key frame) on. The null muxer keeps
    // the stream's own 90 kHz times: in one of frame-rate ticks, two frames a starved simulator sent
    // closer than a frame interval apart would share a tick and read as a muxer error.
    expect(
      (
        await run("ffmpeg", [
          "-v",
          "error",
          "-i",
          file,
          "-fps_mode",
          "passthrough",
          "-enc_time_base",
          "-1",
          "-f",
          "null",
          "-",
        ])
      ).stderr,
    ).toBe("");
    const camera = (
      await ffprobe(
        live.rtsp.replace("rtsp://", `rtsp://recorder:${live.password}@`),
        "-rtsp_transport",
        "tcp",
        "-show_streams",
      )
    ).streams[0];
    for (const k of ["codec_name", "profile", "level", "width", "height", "pix_fmt"])
      expect([k, ours[k]]).toEqual([k, camera[k]]);
    expect(Number.parseInt(codec.slice(9), 16)).toBe(camera.level);
    // The first fragment is a key frame, the later ones in the group are not (trun's sample flags).
    const flags = (f: Buffer) => f.readUInt32BE(f.indexOf("trun") + 24);
    expect(flags(fragments[0] as Buffer)).toBe(0x02000000);
    expect(flags(fragments[1] as Buffer)).toBe(0x01010000);
    // Decode times (tfdt, 90 kHz) strictly increase, one frame interval (10 fps) apart on average.
    const tfdt = (fragments as Buffer[]).map((f) => Number(f.readBigUInt64BE(f.indexOf("tfdt") + 8)));
    for (let i = 1; i < tfdt.length; i++) expect(tfdt[i]).toBeGreaterThan(tfdt[i - 1] as number);
    expect(((tfdt.at(-1) as number) - (tfdt[0] as number)) / (FRAMES - 1)).toBeCloseTo(9000, -3);

    const received = [init, segment, ...fragments].reduce<number>(
      (n, m) => n + (Buffer.isBuffer(m) ? m.length : JSON.stringify(m).length),
      0,
    );
    ws.close(1000);
    expect(await closed(ws)).toBe(1000);
    const close = await until(async () =>
      (await entries("video.live.close", "user:disp1")).find((e) => e.details.session === session),
    );
    expect(close.details).toMatchObject({ transport: "mse", reason: "client closed (1000)" });
    expect(close.details.bytes as number).toBeGreaterThanOrEqual(received);
    expect(close.details.frames as number).toBeGreaterThanOrEqual(FRAMES);
    const opened = (await entries("video.live.open", "user:disp1")).find(
      (e) => e.details.session === session,
    );
    expect(opened).toMatchObject({ outcome: "success", target: `camera:${cam}`, role: "dispatcher" });
  }, 30_000);

  it("refuses before the upgrade, as problem+json, and audits each: no cookie, foreign or missing Origin, no video.live, unknown camera, past the per-person bound", async () => {
    const denied = async (actor: string, reason: RegExp) =>
      expect(
        (await entries("video.live.open", actor))
          .filter((e) => e.outcome === "denied")
          .map((e) => e.details.reason),
      ).toContainEqual(expect.stringMatching(reason));

    const deniedCount = async (actor: string) =>
      (await entries("video.live.open", actor)).filter((e) => e.outcome === "denied").length;
    expect(await open(cam)).toMatchObject({ status: 401, body: { status: 401 } });
    await denied("anonymous", /sign in/);
    // Repeatable at will: answered every time, audited once a minute per caller.
    const anonymous = await deniedCount("anonymous");
    expect(await open(cam)).toMatchObject({ status: 401 });
    expect(await deniedCount("anonymous")).toBe(anonymous);
    expect(await open(cam, { cookie: disp1, origin: "https://evil.example" })).toMatchObject({ status: 403 });
    await denied("user:disp1", /Origin 'https:\/\/evil\.example'/);
    const foreign = await deniedCount("user:disp1");
    expect(await open(cam, { cookie: disp1, origin: "https://evil.example" })).toMatchObject({ status: 403 });
    expect(await deniedCount("user:disp1")).toBe(foreign);
    expect(await open(cam, { cookie: disp2, origin: null })).toMatchObject({ status: 403 });
    await denied("user:disp2", /Origin missing/);
    expect(await open(cam, { cookie: rec1 })).toMatchObject({ status: 403, body: { detail: /video\.live/ } });
    await denied("user:rec1", /video\.live/);
    expect(await open("nosuch", { cookie: disp1 })).toMatchObject({
      status: 404,
      body: { errors: [{ field: "path.camera" }] },
    });
    await denied("user:disp1", /no camera 'nosuch'/);

    const two = [await watching(cam, disp2), await watching(cam, disp2)];
    expect(await open(cam, { cookie: disp2 })).toMatchObject({ status: 429, body: { retryAfterSeconds: 1 } });
    await denied("user:disp2", /already has 2 live sessions/);
    for (const ws of two) ws.close();
    await Promise.all(two.map(closed));
    // Any other upgrade path is no route.
    expect(await open("a/b", { cookie: disp1 })).toMatchObject({ status: 404 });
  }, 30_000);

  it("a viewer that stops reading is paused past the bound, then closed as stalled and audited", async () => {
    const { head, child: viewer } = await stuckViewer(wsUrl(cam), origin, disp1);
    expect(head).toMatch(/^HTTP\/1.1 101/);
    const started = Date.now();
    const close = await until(
      async () =>
        (await entries("video.live.close", "user:disp1")).find((e) => e.details.reason === "stalled"),
      90_000,
    );
    const took = Date.now() - started;
    expect(took).toBeGreaterThan(STALLED_S * 1000);
    expect(close.details).toMatchObject({ transport: "mse", session: expect.any(String) });
    expect(close.details.bytes as number).toBeGreaterThan(0);
    viewer.kill();
  }, 120_000);

  it("signing out closes the viewer's socket with 4001, audited", async () => {
    const c = await login(origin, "disp1");
    const ws = await watching(cam, c.cookie ?? "");
    const [init] = await messages(ws, 2);
    const { session } = init as { session: string };
    const code = closed(ws);
    expect((await c.request("DELETE", "/api/session")).status).toBeLessThan(300);
    const started = Date.now();
    expect(await code).toBe(4001);
    expect(Date.now() - started).toBeLessThan(3_000);
    const close = await until(async () =>
      (await entries("video.live.close", "user:disp1")).find((e) => e.details.session === session),
    );
    expect(close.details).toMatchObject({ reason: "signed out" });
  }, 30_000);

  it("an admin resetting the password or taking video.live away closes the viewer at the next sign-in check (1 s): 4001, 4003, audited with why", async () => {
    const [c3, c4] = await Promise.all([login(origin, "disp3"), login(origin, "disp4")]);
    const revoked = await watching(cam, c3.cookie ?? "");
    const withdrawn = await watching(cam, c4.cookie ?? "");
    const sessions = (await Promise.all([messages(revoked, 2), messages(withdrawn, 2)])).map(
      ([init]) => (init as { session: string }).session,
    );
    const codes = Promise.all([closed(revoked), closed(withdrawn)]);
    const changed = Date.now();
    const reset = await adm1.request("POST", "/api/users/disp3/password", { password: "Temporary-Pass2!" });
    expect(reset.status).toBe(204);
    expect((await adm1.request("PATCH", "/api/users/disp4", { roles: ["records"] })).status).toBe(200);
    expect(await codes).toEqual([4001, 4003]);
    expect(Date.now() - changed).toBeLessThan(3_000);
    const reasons = await until(async () => {
      const all = await entries("video.live.close");
      const found = sessions.map((id) => all.find((e) => e.details.session === id)?.details.reason);
      return found.every(Boolean) ? found : undefined;
    });
    expect(reasons).toEqual(["session ended", "permission withdrawn"]);
  }, 30_000);

  it("pscsd stopping closes its viewers with 1001, each close audited (runs last: it stops pscsd)", async () => {
    const ws = await watching(cam, disp1);
    const [init] = await messages(ws, 2);
    const { session } = init as { session: string };
    const code = closed(ws);
    const stopped = live.stop();
    expect(await code).toBe(1001);
    await stopped;
    const close = (await entries("video.live.close", "user:disp1")).find(
      (e) => e.details.session === session,
    );
    expect(close?.details).toMatchObject({ reason: "pscsd stopping", transport: "mse" });
  }, 30_000);
});
