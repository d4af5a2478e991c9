import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LiveView } from "../../recorder/live/live.js";
import type { Simulator } from "../../sim/simulator.js";
import { AuditLog } from "../../src/audit/log.js";
import { CameraConnection } from "../../src/cameras/connection.js";
import { openCatalog } from "../../src/catalog/catalog.js";
import { SqliteDirectory } from "../../src/catalog/directory/sqlite.js";
import { HealthService, type PurgeHealth, toCameraHealth } from "../../src/health/health.js";
import { createLogger } from "../../src/log/logger.js";
import { createMetrics } from "../../src/metrics/metrics.js";
import { StorageMonitor } from "../../src/storage/monitor.js";
import { startTestCameras } from "../helpers/sim.js";

// pscsd's live view of configured cameras: the stream URI from the real ONVIF connection, the
// session from the simulator's RTSP server, the counts in the real metrics registry.
const PASSWORD = "Live-View-Pw-3";
const work = mkdtempSync(join(tmpdir(), "live-view-"));
const log = createLogger({ name: "live-view-test", level: "silent" });
let sim: Simulator;
let conn: CameraConnection;
let live: LiveView;

beforeAll(async () => {
  sim = await startTestCameras(work, { user: "recorder", password: PASSWORD });
  const cam = sim.describe()[0] as { onvif: { port: number } };
  conn = new CameraConnection(
    {
      id: "cam1",
      name: "Live",
      required: true,
      onvif: { host: "127.0.0.1", port: cam.onvif.port, user: "recorder", password: PASSWORD },
    },
    { log, heartbeatMs: 30_000, streamingHeartbeatMs: 60_000, requestTimeoutMs: 2_000 },
  );
  live = new LiveView(
    [{ config: { id: "cam1", onvif: { user: "recorder", password: PASSWORD } }, connection: conn }],
    log,
  );
});
afterAll(async () => {
  await live?.stop();
  await conn?.stop();
  await sim?.stop();
});

function metrics() {
  // As pscsd's composition does it (src/compose/recording.ts): the live view in the camera's health.
  const cameras = () =>
    live.stats().map(({ camera: _, ...l }) => toCameraHealth(conn.status(), true, undefined, l));
  const db = openCatalog(join(work, "catalog.db"));
  const audit = new AuditLog(new SqliteDirectory(db));
  const storage = new StorageMonitor({ recordings: work }, 0);
  const purge = async (): Promise<PurgeHealth> => ({
    retentionDays: 30,
    schedule: "0 * * * *",
    onDiskPressure: "log",
    lastRun: null,
    nextRunAt: null,
    oldestUnheldEndMs: null,
    overdue: false,
    holds: { requested: 0, active: 0, overdueRequests: 0, overdueAfterDays: 3, oldestOverdueEnteredAt: null },
  });
  const health = new HealthService({
    db,
    audit,
    storage,
    writableDirs: { recordings: work },
    cameras,
    version: "test",
    startedAt: Date.now(),
    purge,
    chain: () => null,
  });
  const m = createMetrics({
    cameras,
    storage,
    health,
    audit,
    purge,
    version: "test",
    lockouts: () => ({ lockouts: 0, storm: false }),
  });
  return {
    value: async (name: string) =>
      (await m.registry.getSingleMetric(name)?.get())?.values.find((v) => v.labels.camera === "cam1")?.value,
    health: () => health.report(),
    close: () => db.close(),
  };
}

describe("live view of configured cameras", () => {
  it("a viewer before the camera is connected waits, then plays once its stream URI is known; metrics count it", async () => {
    expect(live.subscribe("nope")).toBeUndefined();
    const viewer = live.subscribe("cam1");
    if (!viewer) throw new Error("no viewer");
    await new Promise((r) => setTimeout(r, 300));
    expect(live.stats()[0]).toMatchObject({ camera: "cam1", viewers: 1, open: false });
    expect(live.stats()[0]?.lastError).toMatch(/cam1.*no stream URI/);
    conn.start();
    const first = await viewer.next();
    expect(first?.keyframe).toBe(true);
    for (let i = 0; i < 10; i++) await viewer.next();

    const m = metrics();
    try {
      const report = await m.health();
      expect(report.cameras[0]?.live).toMatchObject({ viewers: 1, open: true, sessionsOpened: 1 });
      expect(await m.value("pscs_live_viewers")).toBe(1);
      expect(await m.value("pscs_live_session_open")).toBe(1);
      expect(await m.value("pscs_live_sessions_opened_total")).toBe(1);
      expect(await m.value("pscs_live_received_bytes_total")).toBeGreaterThan(1000);
      expect(await m.value("pscs_live_delivered_bytes_total")).toBeGreaterThan(1000);
      const stats = live.stats()[0];
      expect(await m.value("pscs_live_dropped_frames_total")).toBe(stats?.drops);
      viewer.close();
      await live.stop();
      expect(await m.value("pscs_live_viewers")).toBe(0);
      expect(await m.value("pscs_live_session_open")).toBe(0);
    } finally {
      m.close();
    }
    const clients = (await (await fetch(`${sim.controlUrl}/cameras/cam1/rtsp-clients`)).json()) as object;
    expect(clients).toEqual({ connections: 0, sessions: 0 });
  });
});
