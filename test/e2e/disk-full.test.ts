import { execFileSync } from "node:child_process";
import { appendFileSync, mkdirSync, mkdtempSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Simulator } from "../../sim/simulator.js";
import { writeDaemonConfig } from "../helpers/config.js";
import { freePort } from "../helpers/ports.js";
import { type Proc, startProc } from "../helpers/process.js";
import { client, openLocalCatalog, TEST_AUTH } from "../helpers/pscsd.js";
import { simCameraConfigs, startTestCameras } from "../helpers/sim.js";

/**
 * The recordings volume fills up (a real 1.5 MB tmpfs): ffmpeg's writes fail with ENOSPC, pscsd stays
 * up, says so (gap cause, health, log), and records again once there is room. Mounting needs root,
 * which CI has; elsewhere the test says why it did not run.
 */
const PSCSD = join(import.meta.dirname, "../../dist/src/bin/pscsd.js");
const PASSWORD = "Disk-Test-2026!";
const dir = mkdtempSync(join(tmpdir(), "pscs-full-"));
const rec = join(dir, "rec");
// The second test's volume: roomy, but under a floor set above its size.
const dir2 = mkdtempSync(join(tmpdir(), "pscs-floor-"));
const rec2 = join(dir2, "rec");
// The third test's volume: filled to the last byte while recording.
const dir3 = mkdtempSync(join(tmpdir(), "pscs-nospace-"));
const rec3 = join(dir3, "rec");
let mounted = false;
let mounted2 = false;
let mounted3 = false;
let why = "";
let sim: Simulator;

beforeAll(async () => {
  mkdirSync(rec);
  mkdirSync(rec2);
  mkdirSync(rec3);
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=1500k", "tmpfs", rec], { stdio: "pipe" });
    mounted = true;
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=32m", "tmpfs", rec2], { stdio: "pipe" });
    mounted2 = true;
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=8m", "tmpfs", rec3], { stdio: "pipe" });
    mounted3 = true;
  } catch (e) {
    why = `cannot mount a small tmpfs here (${String((e as { stderr?: Buffer }).stderr ?? e).trim()})`;
    return;
  }
  sim = await startTestCameras(dir, { user: "recorder", password: PASSWORD });
});
afterAll(async () => {
  await sim?.stop();
  if (mounted) execFileSync("umount", [rec]);
  if (mounted2) execFileSync("umount", [rec2]);
  if (mounted3) execFileSync("umount", [rec3]);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** pscsd recording the simulated cameras into `home/rec`, with an ops token and a catalog reader. */
async function startDaemon(home: string, extra: Record<string, unknown>) {
  writeFileSync(join(home, "cam.pw"), `${PASSWORD}\n`);
  const httpPort = await freePort();
  const cfg = writeDaemonConfig(home, {
    httpPort,
    onvif: { heartbeatSeconds: 5, requestTimeoutSeconds: 2 },
    cameras: simCameraConfigs(sim),
    extra: { recording: { segmentSeconds: 4, stallSeconds: 5 }, auth: TEST_AUTH, ...extra },
  });
  const local = openLocalCatalog(cfg);
  const token = (
    await local.auth.createToken(
      { name: "ops", role: "ops" },
      { actor: "local:test", role: "admin", client: "cli" },
    )
  ).secret;
  local.close();
  const daemon: Proc = startProc(process.execPath, [PSCSD, "--config", cfg]);
  const url = `http://127.0.0.1:${httpPort}`;
  const q = <T>(sql: string): T[] => {
    const d = new Database(join(home, "catalog.db"), { readonly: true });
    try {
      return d.prepare(sql).all() as T[];
    } finally {
      d.close();
    }
  };
  return { daemon, url, ops: client(url, { bearer: token }), q };
}

// Each test has its own volume, catalog and pscsd; only the simulator is shared, and only read.
describe.concurrent("recordings volume full", () => {
  it("keeps pscsd up and says why nothing is recorded, then records again when there is room", async (ctx) => {
    if (!mounted) ctx.skip(why);
    const { daemon, url, ops, q } = await startDaemon(dir, { health: { storageFloorGiB: 0.001 } });
    try {
      await daemon.waitForLine(/"msg":"pscsd started"/, 30_000);
      let full: { cause: string } | undefined;
      for (let i = 0; i < 240 && !full; i++) {
        await sleep(500);
        full = q<{ cause: string }>("SELECT cause FROM recording_gaps WHERE cause LIKE '%No space left%'")[0];
      }
      expect(full?.cause, "a gap names the full disk").toMatch(/No space left on device/);
      // Still up, and telling ops.
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      const health = (await (await ops.request("GET", "/api/health")).json()) as {
        status: string;
        storage: { volume: string; low: boolean }[];
        cameras: { recording?: { state: string; lastError?: string } }[];
      };
      expect(health.status).not.toBe("ok");
      expect(health.storage.find((v) => v.volume === "recordings")?.low).toBe(true);
      expect(health.cameras.some((c) => /No space left/.test(c.recording?.lastError ?? ""))).toBe(true);
      expect(daemon.lines.some((l) => /"level":(40|50)/.test(l) && /No space left/.test(l))).toBe(true);
      // Room again: recording resumes on its own.
      const before = q<{ n: number }>("SELECT count(*) n FROM segments WHERE state = 'complete'")[0]?.n ?? 0;
      execFileSync("mount", ["-o", "remount,size=64m", rec]);
      let after = before;
      for (let i = 0; i < 60 && after <= before; i++) {
        await sleep(500);
        after = q<{ n: number }>("SELECT count(*) n FROM segments WHERE state = 'complete'")[0]?.n ?? 0;
      }
      expect(after).toBeGreaterThan(before);
      expect(daemon.child.exitCode).toBeNull();
    } finally {
      const { code } = await daemon.stop("SIGTERM", 15_000);
      expect(code).toBe(0);
    }
  }, 180_000);

  it("with onDiskPressure: stop_recording, stops below the floor (gap, health, audit) and resumes above it", async (ctx) => {
    if (!mounted2) ctx.skip(why);
    const { daemon, ops, q } = await startDaemon(dir2, {
      // 0.05 GiB is more than the 32 MiB volume holds: below the floor from the start.
      health: { storageFloorGiB: 0.05 },
      retention: { onDiskPressure: "stop_recording" },
    });
    const complete = () =>
      q<{ n: number }>("SELECT count(*) n FROM segments WHERE state = 'complete'")[0]?.n ?? 0;
    try {
      await daemon.waitForLine(/"msg":"pscsd started"/, 30_000);
      await sleep(8_000); // long enough for a camera to connect and record, were it allowed
      expect(complete()).toBe(0);
      const gaps = q<{ cause: string }>("SELECT cause FROM recording_gaps");
      expect(gaps.length).toBeGreaterThan(0);
      for (const g of gaps)
        expect(g.cause).toMatch(/recording stopped: recordings volume has .* below its floor/);
      const health = (await (await ops.request("GET", "/api/health")).json()) as {
        cameras: { recording?: { state: string } }[];
      };
      expect(health.cameras.map((c) => c.recording?.state)).toEqual(["paused", "paused"]);

      const roomAt = Date.now();
      execFileSync("mount", ["-o", "remount,size=256m", rec2]);
      for (let i = 0; i < 80 && complete() === 0; i++) await sleep(250);
      expect(complete()).toBeGreaterThan(0);
      // Resumed within a storage sample (5 s), a camera start and one 4 s segment.
      expect(Date.now() - roomAt).toBeLessThan(20_000);
      const actions = q<{ action: string }>(
        "SELECT action FROM audit_log WHERE action LIKE 'recording.%' ORDER BY seq",
      ).map((r) => r.action);
      expect(actions).toEqual(["recording.pause", "recording.resume"]);
    } finally {
      const { code } = await daemon.stop("SIGTERM", 15_000);
      expect(code).toBe(0);
    }
  }, 180_000);

  it("with no room at all, keeps one gap per camera for the whole outage (not one per ffmpeg run), and records again promptly once there is room", async (ctx) => {
    if (!mounted3) ctx.skip(why);
    const { daemon, q } = await startDaemon(dir3, {
      health: { storageFloorGiB: 0.001 },
      retention: { onDiskPressure: "alert" },
      recording: { segmentSeconds: 4, stallSeconds: 5, retry: { baseSeconds: 0.5, capSeconds: 4 } },
    });
    const completeSince = (ms: number) =>
      q<{ camera: string }>(
        `SELECT DISTINCT camera FROM segments WHERE state = 'complete' AND start_ms >= ${ms} ORDER BY camera`,
      ).map((r) => r.camera);
    const waitForBoth = async (what: string, since: number, ms: number) => {
      for (const until = Date.now() + ms; Date.now() < until; await sleep(250))
        if (completeSince(since).length === 2) return;
      throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    };
    try {
      await daemon.waitForLine(/"msg":"pscsd started"/, 30_000);
      await waitForBoth("both cameras recording", 0, 60_000);
      // Every byte of the volume taken: each ffmpeg run now fails at its first write.
      const fill = join(rec3, "fill");
      for (const chunk of [1 << 20, 1 << 12, 1 << 9]) {
        try {
          for (;;) appendFileSync(fill, Buffer.alloc(chunk));
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "ENOSPC") throw e;
        }
      }
      const fullAt = Date.now();
      await sleep(24_000);
      const runs = daemon.lines.filter(
        (l) => l.includes('"msg":"ffmpeg ended, will restart"') && Date.parse(JSON.parse(l).time) > fullAt,
      );
      expect(runs.length, "ffmpeg runs that failed on the full volume").toBeGreaterThanOrEqual(4);
      const gaps = q<{ camera: string; end_ms: number | null; cause: string }>(
        `SELECT camera, end_ms, cause FROM recording_gaps WHERE coalesce(end_ms, 9e15) > ${fullAt} ORDER BY camera`,
      );
      expect(
        gaps.map((g) => g.camera),
        "one gap per camera",
      ).toEqual(["cam1", "cam2"]);
      for (const g of gaps) {
        expect(g.end_ms).toBeNull();
        expect(g.cause).toMatch(/No space left on device/);
      }
      unlinkSync(fill);
      const roomAt = Date.now();
      await waitForBoth("both cameras recording again", roomAt, 30_000);
      // Within the backoff's cap (4 s) plus a camera start and one 4 s segment.
      expect(Date.now() - roomAt).toBeLessThan(15_000);
      expect(
        q(`SELECT * FROM recording_gaps WHERE coalesce(end_ms, 9e15) > ${fullAt}`),
        "still one gap per camera",
      ).toHaveLength(2);
      // ffmpeg "closed" segments it wrote nothing of: none of them became a complete, empty row.
      expect(q("SELECT * FROM segments WHERE state = 'complete' AND bytes = 0")).toEqual([]);
    } finally {
      const { code } = await daemon.stop("SIGTERM", 15_000);
      expect(code).toBe(0);
    }
  }, 180_000);
});
