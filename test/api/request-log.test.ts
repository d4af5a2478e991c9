import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { Writable } from "node:stream";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openCatalog } from "../../src/catalog/catalog.js";
import { Segments } from "../../src/catalog/footage/segments.js";
import { type Pscsd, startPscsd } from "../../src/compose/daemon.js";
import { loadConfig } from "../../src/config/load.js";
import { segmentPath } from "../../src/footage/layout.js";
import { createLogger } from "../../src/log/logger.js";
import {
  type Client,
  daemonDir,
  type LocalCatalog,
  login,
  openLocalCatalog,
  SAMPLE_START,
  sampleSegment,
  seedSegment,
  seedUsers,
} from "../helpers/pscsd.js";

const LONG_S = 60;

/** A second, longer segment after the sample, so a playback is still streaming when its viewer leaves. */
async function seedLongSegment(dir: string, startMs: number, seconds: number): Promise<void> {
  const rel = segmentPath("cam1", startMs);
  const file = join(dir, "rec", rel);
  mkdirSync(dirname(file), { recursive: true });
  await run("ffmpeg", [
    ...["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25"],
    ...["-t", String(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p"],
    ...["-f", "mpegts", file],
  ]);
  const bytes = readFileSync(file);
  const db = openCatalog(join(dir, "catalog.db"));
  new Segments(db).insertRecovered({
    camera: "cam1",
    startMs,
    endMs: startMs + seconds * 1000,
    path: rel,
    bytes: bytes.length,
    sha256: createHash("sha256").update(bytes).digest("hex"),
    codec: "h264",
    width: 640,
    height: 360,
  });
  db.close();
}

/** What pscsd's own log says about requests: readable at info, and calm about viewers who leave. */

const run = promisify(execFile);

interface Line {
  level: number;
  msg: string;
  req?: { path?: string };
  err?: { stack?: string };
  [k: string]: unknown;
}

let daemon: Pscsd;
let local: LocalCatalog;
let records: Client;
const lines: Line[] = [];

beforeAll(async () => {
  const d = await daemonDir();
  local = openLocalCatalog(d.configFile);
  await seedUsers(local, { records1: ["records"] });
  seedSegment(d, await sampleSegment(d.dir));
  await seedLongSegment(d.dir, SAMPLE_START + 2_000, LONG_S);
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split("\n")) if (l) lines.push(JSON.parse(l) as Line);
      cb();
    },
  });
  daemon = await startPscsd(
    loadConfig(d.configFile),
    createLogger({ name: "pscsd", destination: sink, level: "debug" }),
  );
  records = await login(daemon.url, "records1");
});
afterAll(async () => {
  await daemon?.stop();
  local?.close();
});

describe("pscsd's request log", () => {
  it("writes answered requests at debug, so the info log is about the system, not every click", async () => {
    expect((await records.request("GET", "/api/cameras")).status).toBe(200);
    await new Promise((r) => setTimeout(r, 100));
    const logged = lines.filter((l) => l.msg === "request completed" && l.req?.path === "/api/cameras");
    expect(logged.length).toBeGreaterThan(0);
    expect(logged.every((l) => l.level === 20)).toBe(true);
  });

  it("logs a viewer who disconnects mid-playback below warn, without a stack trace", async () => {
    const start = lines.length;
    const ac = new AbortController();
    const from = new Date(SAMPLE_START).toISOString();
    const to = new Date(SAMPLE_START + 2_000 + LONG_S * 1000).toISOString();
    const res = await fetch(`${daemon.url}/api/cameras/cam1/playback?from=${from}&to=${to}&purpose=log`, {
      headers: { cookie: records.cookie as string },
      signal: ac.signal,
    });
    expect(res.status).toBe(200);
    const reader = res.body?.getReader();
    await reader?.read(); // the first bytes are out: the answer has started
    ac.abort();
    await new Promise((r) => setTimeout(r, 1_500));
    // Only the lines about requests: the test's camera is not there, and says so at warn.
    const after = lines
      .slice(start)
      .filter((l) => "req" in l || "requestId" in l || /playback|viewer/.test(l.msg));
    expect(after.filter((l) => l.level >= 40)).toEqual([]);
    expect(after.filter((l) => l.err?.stack)).toEqual([]);
    expect(after.some((l) => l.msg === "viewer disconnected" && l.level === 30)).toBe(true);
  });

  it("logs a viewer who stops a segment download midway below warn, without a stack trace", async () => {
    const start = lines.length;
    const timeline = (await (
      await records.request(
        "GET",
        `/api/cameras/cam1/timeline?from=${SAMPLE_START}&to=${SAMPLE_START + 3_600_000}`,
      )
    ).json()) as { segments: { id: number; bytes: number }[] };
    const long = timeline.segments.reduce((a, b) => (b.bytes > a.bytes ? b : a));
    expect(long.bytes).toBeGreaterThan(1_000_000);
    const ac = new AbortController();
    const res = await fetch(`${daemon.url}/api/segments/${long.id}/file?purpose=log`, {
      headers: { cookie: records.cookie as string },
      signal: ac.signal,
    });
    expect(res.status).toBe(200);
    await res.body?.getReader().read();
    ac.abort();
    await new Promise((r) => setTimeout(r, 1_000));
    const after = lines.slice(start).filter((l) => "req" in l || "requestId" in l);
    expect(after.filter((l) => l.level >= 40)).toEqual([]);
    expect(after.filter((l) => l.err?.stack)).toEqual([]);
  });
});
