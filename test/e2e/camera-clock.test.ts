import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Simulator } from "../../sim/simulator.js";
import { writeDaemonConfig } from "../helpers/config.js";
import { freePort } from "../helpers/ports.js";
import { startProc } from "../helpers/process.js";
import { client, openLocalCatalog, TEST_AUTH } from "../helpers/pscsd.js";
import { simCameraConfigs, startTestCameras } from "../helpers/sim.js";

/**
 * A camera's clock goes 41 s off (the simulator's `clock` fault) under the built pscsd: health turns
 * degraded naming the camera and its offset, the alert gauge is set, and the excursion is audited
 * once (a restart in its middle included); undone, all of it clears, and its end is audited once too.
 */
const PSCSD = join(import.meta.dirname, "../../dist/src/bin/pscsd.js");
const PASSWORD = "Clock-Test-41s!";
const dir = mkdtempSync(join(tmpdir(), "pscs-clock-"));
let sim: Simulator;

beforeAll(async () => {
  sim = await startTestCameras(dir, { user: "recorder", password: PASSWORD });
});
afterAll(() => sim?.stop());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Health {
  status: string;
  cameras: { id: string; clockOff?: string; clock?: { offsetMs: number } }[];
}

describe("camera clock offset", () => {
  it("degrades health, raises the alert gauge and audits once per excursion, and clears when the clock is back", async () => {
    writeFileSync(join(dir, "cam.pw"), `${PASSWORD}\n`);
    const httpPort = await freePort();
    const cfg = writeDaemonConfig(dir, {
      httpPort,
      // Every heartbeat samples the clock: one a second, recording or not.
      onvif: { heartbeatSeconds: 1, streamingHeartbeatSeconds: 1, requestTimeoutSeconds: 2 },
      cameras: simCameraConfigs(sim),
      extra: { auth: TEST_AUTH, health: { storageFloorGiB: 0.001 } },
    });
    const local = openLocalCatalog(cfg);
    const token = (
      await local.auth.createToken(
        { name: "ops", role: "ops" },
        { actor: "local:test", role: "admin", client: "cli" },
      )
    ).secret;
    local.close();
    const ops = client(`http://127.0.0.1:${httpPort}`, { bearer: token });
    const health = async () => (await (await ops.request("GET", "/api/health")).json()) as Health;
    const until = async (what: string, ok: (h: Health) => boolean, ms = 30_000): Promise<Health> => {
      const end = Date.now() + ms;
      let h: Health | undefined;
      while (Date.now() < end) {
        h = await health().catch(() => undefined);
        if (h && ok(h)) return h;
        await sleep(250);
      }
      throw new Error(`${what}: not within ${ms} ms; last health ${JSON.stringify(h)}`);
    };
    const gauge = async (name: string, camera: string) => {
      const text = await (await ops.request("GET", "/metrics")).text();
      const line = text.split("\n").find((l) => l.startsWith(`${name}{camera="${camera}"}`));
      return line === undefined ? undefined : Number(line.split(" ")[1]);
    };
    const audited = (action: string) => {
      const db = new Database(join(dir, "catalog.db"), { readonly: true });
      try {
        return db
          .prepare("SELECT target, outcome, details FROM audit_log WHERE action = ? ORDER BY seq")
          .all(action) as { target: string; outcome: string; details: string }[];
      } finally {
        db.close();
      }
    };
    const skew = async (camera: string, skewMs: number) => {
      const res = await fetch(`${sim.controlUrl}/cameras/${camera}/clock`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ skewMs }),
      });
      expect(res.status).toBe(200);
    };

    let daemon = startProc(process.execPath, [PSCSD, "--config", cfg]);
    try {
      await daemon.waitForLine(/"msg":"pscsd started"/, 30_000);
      await until("healthy with both cameras recording", (h) => h.status === "ok");
      expect(await gauge("pscs_camera_clock_off", "cam1")).toBe(0);

      await skew("cam1", 41_000);
      const off = await until("degraded by cam1's clock", (h) => h.status === "degraded");
      const cam1 = off.cameras.find((c) => c.id === "cam1");
      expect(cam1?.clockOff).toMatch(
        /^camera clock 4\d(\.\d)? s ahead of this server \(±\d(\.\d)? s; limit 2 s\)$/,
      );
      expect(Math.abs((cam1?.clock?.offsetMs ?? 0) - 41_000)).toBeLessThan(1_500);
      expect(off.cameras.find((c) => c.id === "cam2")?.clockOff).toBeUndefined();
      expect(await gauge("pscs_camera_clock_off", "cam1")).toBe(1);
      expect(await gauge("pscs_camera_clock_off", "cam2")).toBe(0);
      const offsetSeconds = (await gauge("pscs_camera_clock_offset_seconds", "cam1")) ?? 0;
      expect(Math.abs(offsetSeconds - 41)).toBeLessThan(1.5);
      // Several more samples, all of them off: still the one entry.
      await sleep(3_500);
      const offEntries = audited("camera.clock_off");
      expect(offEntries.map((e) => [e.target, e.outcome])).toEqual([["camera:cam1", "failure"]]);
      expect(JSON.parse(offEntries[0]?.details ?? "{}")).toMatchObject({ limitMs: 2_000 });
      expect(audited("camera.clock_restored")).toEqual([]);

      // pscsd restarts in the middle of the excursion: the same excursion, not a second entry.
      expect((await daemon.stop("SIGTERM", 15_000)).code).toBe(0);
      daemon = startProc(process.execPath, [PSCSD, "--config", cfg]);
      await daemon.waitForLine(/"msg":"pscsd started"/, 30_000);
      await until("cam1's clock still named after the restart", (h) =>
        h.cameras.some((c) => c.id === "cam1" && c.clockOff !== undefined),
      );
      await sleep(2_000);
      expect(audited("camera.clock_off")).toHaveLength(1);

      await skew("cam1", 0);
      const back = await until("ok once cam1's clock is back", (h) => h.status === "ok");
      expect(back.cameras.every((c) => c.clockOff === undefined)).toBe(true);
      expect(await gauge("pscs_camera_clock_off", "cam1")).toBe(0);
      await sleep(2_500);
      expect(audited("camera.clock_restored").map((e) => [e.target, e.outcome])).toEqual([
        ["camera:cam1", "success"],
      ]);
      expect(audited("camera.clock_off")).toHaveLength(1);

      // A camera whose clock is years off (a lost RTC battery) is named just the same.
      await skew("cam2", Math.round(11.9 * 365.25 * 86_400_000));
      const years = await until("degraded by cam2's clock", (h) => h.status === "degraded");
      expect(years.cameras.find((c) => c.id === "cam2")?.clockOff).toMatch(
        /^camera clock 11\.9 years ahead of this server/,
      );
      await skew("cam2", 0);
      await until("ok once cam2's clock is back", (h) => h.status === "ok");
      expect(audited("camera.clock_off").map((e) => e.target)).toEqual(["camera:cam1", "camera:cam2"]);
    } finally {
      const { code } = await daemon.stop("SIGTERM", 15_000);
      expect(code).toBe(0);
    }
  }, 120_000);
});
