import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openCatalog } from "../../src/catalog/catalog.js";
import { Segments } from "../../src/catalog/footage/segments.js";
import type { Pscsd } from "../../src/compose/daemon.js";
import type { ExportRecord } from "../../src/exports/export.js";
import { MANIFEST_FILE } from "../../src/exports/package-format.js";
import { segmentPath } from "../../src/footage/layout.js";
import { writeTestPackage } from "../helpers/export-package.js";
import {
  type Client,
  daemonDir,
  type LocalCatalog,
  login,
  openLocalCatalog,
  SAMPLE_START,
  sampleSegment,
  seedDone,
  seedHolds,
  seedSegment,
  seedUsers,
  startInProcess,
  type TestDaemonDir,
} from "../helpers/pscsd.js";

/**
 * Downloads whose client stops reading, over a raw socket that never reads: a package download and
 * a segment download are cut off once the client has read nothing for playback.stalledSeconds, and
 * each is on the record as an incomplete download stopped for that reason.
 */

const STALLED_S = 1;
/** Far more than loopback's socket buffers hold, so the server's writes back up. */
const BIG = 48 * 1024 * 1024;
// Recent footage: pscsd's hourly purge must not take it.
const START = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;
let d: TestDaemonDir;
let daemon: Pscsd;
let local: LocalCatalog;
let records: Client;
let big: ExportRecord;
let segmentId: number;

async function until<T>(what: string, f: () => Promise<T | undefined>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A GET over a socket that reads nothing; `drain()` then reads what is left and counts it all. */
async function stalledGet(path: string): Promise<{ socket: Socket; drain(): Promise<number> }> {
  const url = new URL(daemon.url);
  const socket = connect(Number(url.port), url.hostname);
  await new Promise((r) => socket.once("connect", r));
  socket.pause();
  socket.write(`GET ${path} HTTP/1.1\r\nHost: ${url.host}\r\nCookie: ${records.cookie}\r\n\r\n`);
  return {
    socket,
    drain: () =>
      new Promise((resolve) => {
        let n = 0;
        socket.on("data", (c: Buffer) => {
          n += c.length;
        });
        socket.once("close", () => resolve(n));
        socket.resume();
      }),
  };
}

beforeAll(async () => {
  d = await daemonDir({}, { playback: { stalledSeconds: STALLED_S } });
  local = openLocalCatalog(d.configFile);
  await seedUsers(local, { records1: ["records"], commander1: ["commander"] });
  seedSegment(d, await sampleSegment(d.dir));
  await seedHolds(d);
  big = await seedDone(d, { fromMs: SAMPLE_START, toMs: SAMPLE_START + 1_000 }, async (e, l) => {
    const dir = join(l.config.storage.exports, `export-${e.id}`);
    const p = writeTestPackage(dir, { exportId: e.id, clipBytes: BIG });
    const manifest = readFileSync(join(dir, MANIFEST_FILE));
    return {
      dir,
      manifestSha256: createHash("sha256").update(manifest).digest("hex"),
      bytes: p.manifest.files.reduce((n, f) => n + f.bytes, 0),
      at: Date.parse(p.manifest.producedBy.at),
    };
  });
  // The segment download sends the file as stored: random bytes do.
  const rel = segmentPath("cam1", START);
  mkdirSync(dirname(join(d.dir, "rec", rel)), { recursive: true });
  const bytes = randomBytes(BIG);
  writeFileSync(join(d.dir, "rec", rel), bytes);
  const db = openCatalog(join(d.dir, "catalog.db"));
  const segments = new Segments(db);
  segments.insertRecovered({
    camera: "cam1",
    startMs: START,
    endMs: START + 60_000,
    path: rel,
    bytes: BIG,
    sha256: createHash("sha256").update(bytes).digest("hex"),
    codec: "h264",
    width: 320,
    height: 180,
  });
  segmentId = (segments.overlapping("cam1", START, START + 1).at(0) as { id: number }).id;
  db.close();
  daemon = await startInProcess(d);
  records = await login(daemon.url, "records1");
}, 60_000);

afterAll(async () => {
  await daemon?.stop();
  local?.close();
});

describe("a download whose client reads nothing", () => {
  it("is cut off after playback.stalledSeconds: the export's download recorded incomplete, audited as stalled", async () => {
    const started = Date.now();
    const client = await stalledGet(`/api/exports/${big.id}/download`);
    const [entry] = await until(
      "the download's record",
      async () => {
        const l = await local.audit.list({ action: "export.download", target: `export:${big.id}` });
        return l.length ? l : undefined;
      },
      10_000,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(STALLED_S * 1000);
    expect(entry?.outcome).toBe("failure");
    expect(JSON.parse(entry?.details ?? "{}")).toMatchObject({ complete: false, reason: "stalled" });
    const res = await records.request("GET", `/api/exports/${big.id}`);
    const { downloads } = (await res.json()) as { downloads: { bytes: number; complete: boolean }[] };
    expect(downloads).toHaveLength(1);
    expect(downloads[0]?.complete).toBe(false);
    expect(downloads[0]?.bytes).toBeLessThan(BIG);
    // pscsd closed the socket: what the client can still read is what was buffered, not the package.
    expect(await client.drain()).toBeLessThan(BIG);
  }, 30_000);

  it("is cut off after playback.stalledSeconds: the segment download audited as stopped, incomplete", async () => {
    const started = Date.now();
    const client = await stalledGet(`/api/segments/${segmentId}/file?purpose=stall%20test`);
    const [stopped] = await until(
      "the stop's entry",
      async () => {
        const l = await local.audit.list({ action: "video.segment.stopped" });
        return l.length ? l : undefined;
      },
      10_000,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(STALLED_S * 1000);
    expect(stopped).toMatchObject({ actor: "user:records1", target: "camera:cam1" });
    expect(JSON.parse(stopped?.details ?? "{}")).toMatchObject({
      segment: segmentId,
      purpose: "stall test",
      complete: false,
      reason: "stalled",
      stalledMs: STALLED_S * 1000,
    });
    expect(await client.drain()).toBeLessThan(BIG);
    client.socket.destroy();
  }, 30_000);
});
