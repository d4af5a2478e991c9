import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import type { Simulator } from "../../sim/simulator.js";
import { writeDaemonConfig } from "../helpers/config.js";
import { freePort } from "../helpers/ports.js";
import { type Proc, startProc } from "../helpers/process.js";
import { type Client, client, login, openLocalCatalog, seedUsers, TEST_AUTH } from "../helpers/pscsd.js";
import { simCameraConfigs, startTestCameras } from "../helpers/sim.js";

/**
 * Camera outages as pscsd records them, against the simulator's faults: a gap names the real cause
 * (updated while the outage lasts, one gap however many ffmpeg runs fail), ffmpeg restarts back off,
 * recording comes back promptly, and the camera's password never leaves pscsd: not in an API
 * answer, a catalog row or a log line, whatever the fault (ffmpeg prints its input URL, credentials
 * and all, in its errors).
 */
const PSCSD = join(import.meta.dirname, "../../dist/src/bin/pscsd.js");
const PASSWORD = "Leak-Check-Pw-9731";
// Each test has its own simulator, whose faults it sets, so the two run at once.
const sims: Simulator[] = [];
async function startSim(): Promise<Simulator> {
  const sim = await startTestCameras(mkdtempSync(join(tmpdir(), "pscs-outages-sim-")), {
    user: "recorder",
    password: PASSWORD,
  });
  sims.push(sim);
  return sim;
}
afterAll(async () => {
  await Promise.all(sims.map((s) => s.stop()));
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Gap {
  id: number;
  camera: string;
  start_ms: number;
  end_ms: number | null;
  cause: string;
}

interface Daemon {
  proc: Proc;
  dir: string;
  q<T>(sql: string, ...args: unknown[]): T[];
  ops: Client;
  auditor: Client;
  records: Client;
  waitFor<T>(
    what: string,
    ok: () => T | undefined | false | Promise<T | undefined | false>,
    ms: number,
  ): Promise<T>;
  /** Stops pscsd cleanly and starts it again on the same catalog and recordings. */
  restart(): Promise<{ stoppedAt: number; startedAt: number }>;
  /** Fails if the camera password is in any API answer, catalog row or log line right now. */
  noLeak(after: string): Promise<void>;
}

/** pscsd recording both simulated cameras, with an ops and an auditor token and a records clerk. */
async function startDaemon(sim: Simulator, recording: Record<string, unknown>): Promise<Daemon> {
  const dir = mkdtempSync(join(tmpdir(), "pscs-outages-"));
  writeFileSync(join(dir, "cam.pw"), `${PASSWORD}\n`);
  const httpPort = await freePort();
  const cfg = writeDaemonConfig(dir, {
    httpPort,
    // A generous request timeout: a heartbeat slowed by a loaded machine must not look like an ONVIF
    // outage (a stopped ONVIF server refuses at once, so noticing one is not slowed by it).
    onvif: { heartbeatSeconds: 2, requestTimeoutSeconds: 5 },
    cameras: simCameraConfigs(sim),
    extra: { recording: { segmentSeconds: 4, stallSeconds: 5, ...recording }, auth: TEST_AUTH },
  });
  const local = openLocalCatalog(cfg);
  const by = { actor: "local:test", role: "admin", client: "cli" };
  const opsToken = (await local.auth.createToken({ name: "ops", role: "ops" }, by)).secret;
  const auditorToken = (await local.auth.createToken({ name: "audit", role: "auditor" }, by)).secret;
  await seedUsers(local, { clerk: ["records"] });
  local.close();
  const proc = startProc(process.execPath, [PSCSD, "--config", cfg]);
  const url = `http://127.0.0.1:${httpPort}`;
  const q = <T>(sql: string, ...args: unknown[]): T[] => {
    const d = new Database(join(dir, "catalog.db"), { readonly: true });
    try {
      return d.prepare(sql).all(...args) as T[];
    } finally {
      d.close();
    }
  };
  const waitFor = async <T>(
    what: string,
    ok: () => T | undefined | false | Promise<T | undefined | false>,
    ms: number,
  ): Promise<T> => {
    for (const until = Date.now() + ms; Date.now() < until; await sleep(250)) {
      const v = await ok();
      if (v !== undefined && v !== false) return v;
    }
    throw new Error(`timed out after ${ms} ms waiting for ${what}`);
  };
  await proc.waitForLine(/"msg":"pscsd started"/, 30_000);
  const d: Daemon = {
    proc,
    dir,
    q,
    waitFor,
    ops: client(url, { bearer: opsToken }),
    auditor: client(url, { bearer: auditorToken }),
    records: await login(url, "clerk"),
    async restart() {
      const { code } = await d.proc.stop("SIGTERM", 15_000);
      expect(code).toBe(0);
      const stoppedAt = Date.now();
      await sleep(2_000);
      const startedAt = Date.now();
      d.proc = startProc(process.execPath, [PSCSD, "--config", cfg]);
      await d.proc.waitForLine(/"msg":"pscsd started"/, 30_000);
      d.records = await login(url, "clerk");
      return { stoppedAt, startedAt };
    },
    async noLeak(after) {
      const secrets = [PASSWORD, encodeURIComponent(PASSWORD)];
      const leaks: string[] = [];
      const check = (where: string, text: string) => {
        const at = Math.max(...secrets.map((s) => text.indexOf(s)));
        if (at >= 0) leaks.push(`${where}: …${text.slice(Math.max(0, at - 200), at + 100)}…`);
      };
      const from = new Date(Date.now() - 3_600_000).toISOString();
      const to = new Date(Date.now() + 60_000).toISOString();
      const answers: [string, Client][] = [
        ["/api/cameras", d.ops],
        ["/api/health", d.ops],
        ["/metrics", d.ops],
        ["/api/audit", d.auditor],
        ...["cam1", "cam2"].map(
          (c) => [`/api/cameras/${c}/timeline?from=${from}&to=${to}`, d.records] as [string, Client],
        ),
      ];
      for (const [path, who] of answers) {
        const res = await who.request("GET", path);
        expect(res.status, path).toBe(200);
        check(path, await res.text());
      }
      // Every text of every row of every table (blobs read as text too).
      const tables = q<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'");
      for (const { name } of tables) {
        for (const row of q<Record<string, unknown>>(`SELECT * FROM "${name}"`)) {
          const text = Object.values(row)
            .map((v) => (Buffer.isBuffer(v) ? v.toString("latin1") : String(v)))
            .join("\u0000");
          check(`catalog ${name}`, text);
        }
      }
      for (const line of d.proc.lines) check("log", line);
      expect(leaks, `the camera password, after ${after}`).toEqual([]);
    },
  };
  return d;
}

const completeSince = (d: Daemon, camera: string, ms: number) =>
  d.q<{ s: number | null }>(
    "SELECT min(start_ms) s FROM segments WHERE camera = ? AND state = 'complete' AND start_ms >= ?",
    camera,
    ms,
  )[0]?.s ?? undefined;

/** The times (ms) of a camera's "ffmpeg ended" log lines, with the wait each announced. */
const ffmpegEnds = (d: Daemon, camera: string) =>
  d.proc.lines.flatMap((l) => {
    if (!l.includes('"msg":"ffmpeg ended, will restart"') || !l.includes(`"camera":"${camera}"`)) return [];
    const e = JSON.parse(l) as { time: string; retryInMs: number; cause: string };
    return [{ at: Date.parse(e.time), retryInMs: e.retryInMs, cause: e.cause }];
  });

const recordingState = async (d: Daemon, camera: string) => {
  const res = await d.ops.request("GET", "/api/cameras");
  const body = (await res.json()) as {
    cameras: { id: string; recording?: { state: string; lastError?: string } }[];
  };
  return body.cameras.find((c) => c.id === camera)?.recording;
};

describe.concurrent("camera outages", () => {
  it("names each outage's real cause in one gap, backs off ffmpeg restarts, resumes within the cap, and never shows the camera password", async () => {
    const BASE_MS = 250;
    const CAP_MS = 4_000;
    const sim = await startSim();
    const d = await startDaemon(sim, { retry: { baseSeconds: BASE_MS / 1000, capSeconds: CAP_MS / 1000 } });
    const [cam1, cam2] = [sim.cameras[0], sim.cameras[1]];
    try {
      const first1 = await d.waitFor("cam1 recording", () => completeSince(d, "cam1", 0), 60_000);
      const first2 = await d.waitFor("cam2 recording", () => completeSince(d, "cam2", 0), 60_000);
      // A fresh catalog: the only gap before the first footage is pscsd's own start.
      for (const [cam, first] of [
        ["cam1", first1],
        ["cam2", first2],
      ] as const) {
        const startup = d.q<Gap>("SELECT * FROM recording_gaps WHERE camera = ? ORDER BY start_ms", cam);
        expect(startup[0], `${cam}'s start-up gap`).toMatchObject({ cause: "pscsd starting" });
        expect(startup[0]?.end_ms).toBeLessThanOrEqual(first);
      }
      await d.noLeak("start-up");
      // Health has no use for a stream URI (some makes put credentials in it): it carries none.
      const health = (await (await d.ops.request("GET", "/api/health")).json()) as { cameras: object[] };
      expect(health.cameras).toHaveLength(2);
      for (const c of health.cameras) expect(c).not.toHaveProperty("streamUri");

      // cam1's RTSP refuses connections for 24 s while its ONVIF stays up.
      const refusedAt = Date.now();
      await cam1?.setRtspAccepting(false);
      // Meanwhile cam2 goes through the faults that do not refuse: stream down, frozen, path moved.
      await cam2?.setStreaming(false);
      await d.waitFor(
        "cam2's stream failure in health",
        async () => (await recordingState(d, "cam2"))?.state !== "recording",
        20_000,
      );
      await d.waitFor(
        "cam2's ffmpeg to fail",
        () => ffmpegEnds(d, "cam2").some((e) => e.at >= refusedAt),
        20_000,
      );
      await d.noLeak("cam2's stream down");
      await cam2?.setStreaming(true);
      await sleep(20_000 - (Date.now() - refusedAt));
      await d.noLeak("cam1's RTSP refused");
      const acceptAt = Math.max(Date.now(), refusedAt + 24_000);
      await sleep(acceptAt - Date.now());
      await cam1?.setRtspAccepting(true);
      const resumed = await d.waitFor(
        "cam1 recording again",
        () => completeSince(d, "cam1", acceptAt),
        30_000,
      );

      // One gap for the whole outage, naming the refusal (not "camera not connected", not ffmpeg's banner).
      const outage = d.q<Gap>(
        "SELECT * FROM recording_gaps WHERE camera = 'cam1' AND coalesce(end_ms, 9e15) > ? ORDER BY start_ms",
        refusedAt,
      );
      expect(outage, "gaps of cam1's outage").toHaveLength(1);
      expect(outage[0]?.cause).toMatch(/Connection refused/);
      expect(outage[0]?.cause).not.toMatch(/camera not connected|progress period/);
      expect(outage[0]?.end_ms).toBe(resumed);
      // Prompt: within the backoff's cap (plus ffmpeg's connect and first segment) of the fault's end.
      expect(resumed - acceptAt).toBeLessThan(CAP_MS + 8_000);

      // The restarts slow down: each wait is at least half its doubling ceiling, so the second half of
      // the outage saw fewer ffmpeg runs than the first (a fixed retry would see as many). The first
      // end is the recording run's (the refusal drops the session); the refusals follow.
      const ends = ffmpegEnds(d, "cam1").filter((e) => e.at >= refusedAt && e.at < acceptAt);
      expect(ends.length).toBeGreaterThan(5);
      for (const e of ends.slice(1)) expect(e.cause).toMatch(/Connection refused$/);
      for (let i = 1; i < ends.length; i++) {
        // After end i-1 (its run the (i-1)th failure in a row) the wait's attempt is max(0, i - 2).
        const floor = Math.min(CAP_MS, BASE_MS * 2 ** Math.max(0, i - 2)) / 2;
        expect(
          (ends[i]?.at ?? 0) - (ends[i - 1]?.at ?? 0),
          `wait before run ${i + 1}`,
        ).toBeGreaterThanOrEqual(floor);
      }
      const refusals = ends.slice(1);
      const t0 = refusals[0]?.at ?? refusedAt;
      const firstHalf = refusals.filter((e) => e.at < t0 + (acceptAt - t0) / 2).length;
      expect(refusals.length - firstHalf).toBeLessThan(firstHalf);

      // cam2's picture freezes (the stream goes on: no gap), then its stream moves; no password anywhere.
      await d.waitFor("cam2 recording again", () => completeSince(d, "cam2", acceptAt), 30_000);
      const frozenAt = Date.now();
      cam2?.setFrozen(true);
      await d.waitFor("cam2 recording a frozen picture", () => completeSince(d, "cam2", frozenAt), 30_000);
      await d.noLeak("cam2 frozen");
      cam2?.setFrozen(false);
      await cam2?.setStreamPath("/moved");
      const movedAt = Date.now();
      await d.waitFor("cam2 recording after the move", () => completeSince(d, "cam2", movedAt), 45_000);
      await d.noLeak("cam2's stream moved");
      const stream2 = d.q<Gap>(
        "SELECT * FROM recording_gaps WHERE camera = 'cam2' AND end_ms >= ? ORDER BY start_ms",
        refusedAt,
      );
      expect(stream2.length).toBeGreaterThanOrEqual(2); // stream down, moved
      for (const g of stream2) {
        expect(g.end_ms, g.cause).not.toBeNull();
        expect(g.cause).toMatch(/^(stalled: no media for 5 s|ffmpeg (exited|ended): .+)/);
        expect(g.cause).not.toMatch(/progress period/);
      }
    } finally {
      const { code } = await d.proc.stop("SIGTERM", 15_000);
      expect(code).toBe(0);
      await sim.cameras[1]?.setStreamPath("/stream");
    }
  }, 240_000);

  it("a camera whose RTSP refuses from the start: the start-up gap says so, its cause follows the outage, an ONVIF reconnect retries at once whatever the backoff; after a restart the gaps say pscsd was not running, then starting", async () => {
    const sim = await startSim();
    const [cam1, cam2] = [sim.cameras[0], sim.cameras[1]];
    await cam1?.setRtspAccepting(false);
    // A long backoff (16 s, doubling): only a wake from the camera's connection can make the retry prompt.
    const d = await startDaemon(sim, { retry: { baseSeconds: 16, capSeconds: 120 } });
    try {
      // cam2 power-cycles meanwhile (ONVIF, RTSP and stream down 6 s).
      await d.waitFor("cam2 recording", () => completeSince(d, "cam2", 0), 60_000);
      const rebootAt = Date.now();
      await cam2?.reboot(6);

      // Two refusals in a row: cam1 now waits 16-32 s before the next run.
      const second = await d.waitFor("cam1's second refused run", () => ffmpegEnds(d, "cam1")[1], 40_000);
      expect(second.retryInMs).toBeGreaterThanOrEqual(16_000);
      const startup = d.q<Gap>("SELECT * FROM recording_gaps WHERE camera = 'cam1' ORDER BY start_ms");
      expect(startup).toHaveLength(1);
      expect(startup[0]?.end_ms).toBeNull();
      // What the field saw was "camera not connected" for the whole outage: ONVIF is connected here.
      expect(startup[0]?.cause).toMatch(/^pscsd starting; then ffmpeg exited: .*Connection refused$/);
      await d.noLeak("cam1's RTSP refused from the start, cam2 rebooting");

      // cam1's ONVIF goes down until the daemon notices, then the camera is back, RTSP and all.
      await cam1?.setOnvifOnline(false);
      await d.waitFor(
        "cam1's connection to go offline",
        async () => {
          const res = await d.ops.request("GET", "/api/cameras");
          const cams = ((await res.json()) as { cameras: { id: string; state: string }[] }).cameras;
          return cams.find((c) => c.id === "cam1")?.state === "offline";
        },
        15_000,
      );
      // The same gap, its cause updated: the outage goes on for another reason now.
      const during = await d.waitFor(
        "the gap's cause to follow",
        () =>
          d.q<Gap>(
            "SELECT * FROM recording_gaps WHERE camera = 'cam1' AND cause LIKE '%camera not connected%'",
          )[0],
        10_000,
      );
      expect(during.id).toBe(startup[0]?.id);
      expect(during.cause).toMatch(/^pscsd starting; then camera not connected: /);
      await d.noLeak("cam1's ONVIF down");
      await cam1?.setRtspAccepting(true);
      await cam1?.setOnvifOnline(true);
      const backAt = Date.now();
      const resumed = await d.waitFor("cam1 recording", () => completeSince(d, "cam1", 0), 40_000);
      // Recording came back before the backoff would have tried again: the reconnect woke it.
      expect(resumed).toBeLessThan(second.at + second.retryInMs);
      expect(resumed - backAt).toBeLessThan(10_000);
      const gaps = d.q<Gap>("SELECT * FROM recording_gaps WHERE camera = 'cam1' ORDER BY start_ms");
      expect(gaps, "one gap for the whole outage").toHaveLength(1);
      expect(gaps[0]?.end_ms).toBe(resumed);

      await d.waitFor(
        "cam2 recording after its reboot",
        () => completeSince(d, "cam2", rebootAt + 6_000),
        60_000,
      );
      await d.noLeak("cam2's reboot");

      // A restart: the time pscsd was down is a gap of its own, then pscsd's start is one.
      const { stoppedAt, startedAt } = await d.restart();
      const again = await d.waitFor(
        "cam1 recording after the restart",
        () => completeSince(d, "cam1", startedAt),
        60_000,
      );
      const [down, starting] = d.q<Gap>(
        "SELECT * FROM recording_gaps WHERE camera = 'cam1' AND start_ms >= ? ORDER BY start_ms",
        stoppedAt - 10_000,
      );
      expect(down).toMatchObject({ cause: "pscsd not running" });
      expect(down?.end_ms).toBeGreaterThanOrEqual(stoppedAt);
      expect(down?.end_ms).toBeLessThanOrEqual(Date.now());
      expect(starting).toMatchObject({ cause: "pscsd starting", start_ms: down?.end_ms, end_ms: again });
      await d.noLeak("a restart");
    } finally {
      await cam1?.setRtspAccepting(true);
      await cam1?.setOnvifOnline(true);
      const { code } = await d.proc.stop("SIGTERM", 15_000);
      expect(code).toBe(0);
    }
  }, 240_000);
});
