import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Simulator } from "../../sim/simulator.js";
import { CameraConnection } from "../../src/cameras/connection.js";
import { createLogger } from "../../src/log/logger.js";
import { startTestCameras } from "../helpers/sim.js";

/**
 * The ONVIF heartbeat against a real simulated camera, through the real `onvif` client: every poll
 * is a GetSystemDateAndTime whose clock sample replaces the last one, so distinct samples count polls.
 */

const PASSWORD = "Heartbeat-Only-3!";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let sim: Simulator;

beforeAll(async () => {
  sim = await startTestCameras(mkdtempSync(join(tmpdir(), "pscs-hb-")), {
    user: "recorder",
    password: PASSWORD,
  });
});
afterAll(() => sim?.stop());

describe("camera heartbeat", () => {
  it("polls every heartbeat without a stream, rarely while the stream arrives, at once when the stream fails", async () => {
    const cam = sim.describe()[0];
    let arriving = false;
    const conn = new CameraConnection(
      {
        id: "cam1",
        name: "Heartbeat",
        required: true,
        onvif: { host: "127.0.0.1", port: cam?.onvif.port as number, user: "recorder", password: PASSWORD },
      },
      {
        log: createLogger({ name: "test", level: "silent" }),
        heartbeatMs: 250,
        streamingHeartbeatMs: 60_000,
        requestTimeoutMs: 2_000,
      },
    );
    conn.streamArriving(() => arriving);
    const polls = new Set<number>();
    const watch = setInterval(() => {
      const at = conn.status().clock?.sampledAt;
      if (at !== undefined) polls.add(at);
    }, 20);
    const pollsIn = async (ms: number) => {
      const before = polls.size;
      await sleep(ms);
      return polls.size - before;
    };
    conn.start();
    try {
      for (let i = 0; i < 200 && conn.status().state !== "connected"; i++) await sleep(50);
      expect(conn.status().state).toBe("connected");
      // No stream: one poll per 250 ms heartbeat.
      expect(await pollsIn(1_500)).toBeGreaterThanOrEqual(4);

      // The stream arrives: after the wait already under way, no poll for the streaming period.
      arriving = true;
      await sleep(400);
      expect(await pollsIn(1_500)).toBe(0);

      // The stream fails (the recorder asks for the stream URI again): the session is checked at once,
      // then every heartbeat again.
      arriving = false;
      await conn.refreshStreamUri();
      expect(await pollsIn(200)).toBeGreaterThanOrEqual(1);
      expect(await pollsIn(1_000)).toBeGreaterThanOrEqual(3);

      // A stop during a long streaming wait returns at once.
      arriving = true;
      await sleep(400);
      const t = performance.now();
      await conn.stop();
      expect(performance.now() - t).toBeLessThan(500);
    } finally {
      clearInterval(watch);
      await conn.stop();
    }
  }, 30_000);
});
