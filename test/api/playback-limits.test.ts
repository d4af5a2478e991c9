import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { type IncomingMessage, request } from "node:http";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openCatalog } from "../../src/catalog/catalog.js";
import { Segments } from "../../src/catalog/footage/segments.js";
import type { Pscsd } from "../../src/compose/daemon.js";
import { segmentPath } from "../../src/footage/layout.js";
import { descendants, isAlive, procArgs } from "../../src/proc/tree.js";
import {
  type Client,
  daemonDir,
  type LocalCatalog,
  login,
  openLocalCatalog,
  seedUsers,
  startInProcess,
  type TestDaemonDir,
} from "../helpers/pscsd.js";

/**
 * Playbacks as resources a caller holds open, with real HTTP and real ffmpeg: a viewer that stops
 * reading has its ffmpeg killed within playback.stalledSeconds (audited), and one person's playbacks beyond
 * playback.maxPerUser are refused (429, Retry-After, audited) while another person's are not.
 */

const STALLED_S = 2;
// Recent footage (whole seconds): pscsd's hourly purge must not take it if the test runs across the hour.
const START = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;
const SECONDS = 6;
let d: TestDaemonDir;
let daemon: Pscsd;
let local: LocalCatalog;
let records: Client;
let commander: Client;

/** 6 s of noise, lossless: ~16 MB of MP4, several times what loopback socket buffers hold. */
async function noiseSegment(file: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const ff = spawn("ffmpeg", [
      ...["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi"],
      ...["-i", "color=c=gray:s=320x180:r=25,noise=alls=100:allf=t+u", "-t", String(SECONDS)],
      ...["-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-g", "25", "-pix_fmt", "yuv420p"],
      ...["-f", "mpegts", file],
    ]);
    ff.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg exited ${code}`))));
  });
}

interface Viewer {
  res: IncomingMessage;
  /** Bytes read so far. */
  bytes(): number;
  close(): void;
}

/** A playback over raw HTTP, read until `pauseAfter` bytes, then not read at all (socket paused). */
function play(c: Client, pauseAfter = Number.POSITIVE_INFINITY): Promise<Viewer> {
  const url = new URL(
    `/api/cameras/cam1/playback?from=${START}&to=${START + SECONDS * 1000}&purpose=limits`,
    daemon.url,
  );
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { cookie: c.cookie ?? "" } }, (res) => {
      let n = 0;
      res.on("data", (chunk: Buffer) => {
        n += chunk.length;
        if (n >= pauseAfter) res.pause();
      });
      resolve({ res, bytes: () => n, close: () => req.destroy() });
    });
    req.once("error", reject);
    req.end();
  });
}

/** This process's ffmpeg remuxers (pscsd runs in it): playback is the only ffmpeg reading a concat list. */
const remuxers = () =>
  descendants(process.pid).filter((pid) => (procArgs(pid) ?? []).some((a) => a.endsWith("list.txt")));

async function until<T>(
  what: string,
  f: () => T | undefined | Promise<T | undefined>,
  ms: number,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  d = await daemonDir({}, { playback: { maxPerUser: 2, stalledSeconds: STALLED_S } });
  const rel = segmentPath("cam1", START);
  mkdirSync(dirname(join(d.dir, "rec", rel)), { recursive: true });
  await noiseSegment(join(d.dir, "rec", rel));
  const bytes = readFileSync(join(d.dir, "rec", rel));
  const db = openCatalog(join(d.dir, "catalog.db"));
  new Segments(db).insertRecovered({
    camera: "cam1",
    startMs: START,
    endMs: START + SECONDS * 1000,
    path: rel,
    bytes: bytes.length,
    sha256: createHash("sha256").update(bytes).digest("hex"),
    codec: "h264",
    width: 320,
    height: 180,
  });
  db.close();
  local = openLocalCatalog(d.configFile);
  await seedUsers(local, { records1: ["records"], commander1: ["commander"] });
  daemon = await startInProcess(d);
  [records, commander] = (await Promise.all(["records1", "commander1"].map((u) => login(daemon.url, u)))) as [
    Client,
    Client,
  ];
}, 60_000);
afterAll(async () => {
  await daemon?.stop();
  local?.close();
});

describe("playback limits", () => {
  it("kills the ffmpeg of a viewer that stops reading, within the bound", async () => {
    const viewer = await play(records, 64 * 1024);
    expect(viewer.res.statusCode).toBe(200);
    const [pid] = await until("the remuxer", () => (remuxers().length ? remuxers() : undefined), 10_000);
    const pausedAt = Date.now();
    // Still there while the viewer could yet resume: the output does not fit the socket buffers.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(isAlive(pid as number)).toBe(true);
    await until("the remuxer to be killed", () => (isAlive(pid as number) ? undefined : true), 10_000);
    const tookMs = Date.now() - pausedAt;
    expect(tookMs).toBeLessThan((STALLED_S + 3) * 1000);
    expect(viewer.bytes()).toBeLessThan(10 * 2 ** 20);
    viewer.close();
    // The stop is in the audit trail: who was watching which camera, and why it ended.
    const stopped = await until(
      "the stop's audit entry",
      async () => (await local.audit.list({ action: "video.playback.stopped" }))[0],
      5_000,
    );
    expect(stopped).toMatchObject({ actor: "user:records1", role: "records", target: "camera:cam1" });
    expect(JSON.parse(stopped.details)).toEqual({
      from: START,
      to: START + SECONDS * 1000,
      purpose: "limits",
      reason: "viewer read nothing",
      stalledMs: STALLED_S * 1000,
    });
  }, 30_000);

  it("refuses one person's playback beyond the limit (429, audited) while another person's plays", async () => {
    const held = [await play(records, 64 * 1024), await play(records, 64 * 1024)];
    expect(held.map((v) => v.res.statusCode)).toEqual([200, 200]);
    const refused = await records.request(
      "GET",
      `/api/cameras/cam1/playback?from=${START}&to=${START + SECONDS * 1000}&purpose=limits`,
    );
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe(String(STALLED_S));
    expect(refused.headers.get("content-type")).toMatch(/application\/problem\+json/);
    expect(((await refused.json()) as { detail: string }).detail).toMatch(
      /already has 2 playbacks streaming/,
    );
    const denied = await local.audit.list({ action: "video.playback", outcome: "denied" });
    expect(denied.map((e) => e.actor)).toEqual(["user:records1"]);

    // Another person is not affected, and reads the whole playback.
    const other = await play(commander);
    expect(other.res.statusCode).toBe(200);
    await new Promise((r) => other.res.once("end", r));
    expect(other.bytes()).toBeGreaterThan(10 * 2 ** 20);

    // The stalled two are stopped, which frees their slots.
    await until("the stalled remuxers to be killed", () => (remuxers().length ? undefined : true), 15_000);
    for (const v of held) v.close();
    const again = await play(records);
    expect(again.res.statusCode).toBe(200);
    await new Promise((r) => again.res.once("end", r));
    expect(again.bytes()).toBeGreaterThan(10 * 2 ** 20);
  }, 60_000);
});

describe("a viewer who leaves while the playback starts", () => {
  /** A playback request whose client hangs up before the answer starts (during ffprobe). */
  function abandon(c: Client): Promise<void> {
    const url = new URL(
      `/api/cameras/cam1/playback?from=${START}&to=${START + SECONDS * 1000}&purpose=limits`,
      daemon.url,
    );
    return new Promise((resolve) => {
      const req = request(url, { headers: { cookie: c.cookie ?? "" } });
      req.once("error", () => resolve());
      req.once("response", (res) => {
        res.destroy();
        resolve();
      });
      req.end(() => setTimeout(() => req.destroy(), 20));
    });
  }

  it("frees its slot and leaves no remuxer, so the person can still play", async () => {
    for (let i = 0; i < 3; i++) await abandon(commander);
    // Each slot comes free once its request finds the client gone (on a loaded machine, after its
    // ffprobe returns): the person plays again, and no remuxer of the abandoned ones is left.
    const after = await until(
      "a playback slot free again",
      async () => {
        const v = await play(commander);
        if (v.res.statusCode === 200) return v;
        v.close();
        await new Promise((r) => setTimeout(r, 250));
        return undefined;
      },
      15_000,
    );
    after.close();
    await until("no remuxer", () => (remuxers().length ? undefined : true), 10_000);
  }, 30_000);
});
