import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Simulator } from "../../sim/simulator.js";
import { procName } from "../../src/proc/tree.js";
import { writeDaemonConfig } from "../helpers/config.js";
import { freePort } from "../helpers/ports.js";
import { descendants, isAlive, startProc } from "../helpers/process.js";
import { simCameraConfigs, startTestCameras } from "../helpers/sim.js";

// The built pscsd, as a separate process, against two simulated cameras: the real onvif client end to end.
const PSCSD = join(import.meta.dirname, "../../dist/src/bin/pscsd.js");
const PSCS = join(import.meta.dirname, "../../dist/src/bin/pscs.js");
const PASSWORD = "Cam-Secret-77!";
let sim: Simulator;
const dir = mkdtempSync(join(tmpdir(), "pscsd-cams-"));

beforeAll(async () => {
  sim = await startTestCameras(dir, { user: "recorder", password: PASSWORD, fps: 10 });
  // Skew one camera's clock so the daemon's clock sampling has something to find.
  sim.cameras[1]?.setClockSkew(42_000);
});
afterAll(() => sim?.stop());

const entries = (lines: string[]) =>
  lines.flatMap((l) => {
    try {
      return [JSON.parse(l) as Record<string, unknown>];
    } catch {
      return [];
    }
  });

describe("pscsd with simulated cameras", () => {
  it("connects to every camera, logs identity and stream URI, samples clocks, follows a camera down and back, stops cleanly", async () => {
    writeFileSync(join(dir, "cam.pw"), `${PASSWORD}\n`);
    let children: number[] = [];
    const cfg = writeDaemonConfig(dir, {
      httpPort: await freePort(),
      // The camera is recorded: its stream would otherwise stand in for most heartbeats.
      onvif: { heartbeatSeconds: 1, streamingHeartbeatSeconds: 1, requestTimeoutSeconds: 2 },
      cameras: simCameraConfigs(sim),
    });
    // What a pscsd killed while producing an export leaves: a partial folder beside a finished package.
    mkdirSync(join(dir, "exports", ".partial-3-0a1b2c", "clips"), { recursive: true });
    writeFileSync(join(dir, "exports", ".partial-3-0a1b2c", "clips", "cam1.mp4"), "half");
    mkdirSync(join(dir, "exports", "export-2"), { recursive: true });
    const daemon = startProc(process.execPath, [PSCSD, "--config", cfg]);
    try {
      for (const id of ["cam1", "cam2"]) {
        await daemon.waitForLine(
          (l) => l.includes('"msg":"camera connected"') && l.includes(`"camera":"${id}"`),
          20_000,
        );
      }
      // At start: the export key made beside the config (0600, fingerprint logged, never the key), the
      // partial package swept, the finished one left.
      const keyFile = join(dir, "export-signing.key");
      expect(statSync(keyFile).mode & 0o777).toBe(0o600);
      const made = entries(daemon.lines).find((e) => e.msg === "export signing key created");
      expect(made?.fingerprint).toMatch(/^[0-9a-f]{64}$/);
      const keyBody = readFileSync(keyFile, "utf8").split("\n")[1] as string;
      expect(daemon.lines.join("\n")).not.toContain(keyBody);
      expect(entries(daemon.lines).find((e) => e.msg === "unfinished export packages removed")?.removed).toBe(
        1,
      );
      expect(readdirSync(join(dir, "exports"))).toEqual(["export-2"]);
      expect(existsSync(join(dir, "exports", ".partial-3-0a1b2c"))).toBe(false);

      const connected = entries(daemon.lines).filter((e) => e.msg === "camera connected");
      const cam1 = connected.find((e) => e.camera === "cam1");
      expect(cam1?.device).toMatchObject({ manufacturer: "PSCS Sim", model: "SIM-PTZ-1" });
      expect(cam1?.streamUri).toBe(sim.describe()[0]?.rtsp);
      const cam2 = connected.find((e) => e.camera === "cam2");
      // ONVIF time has whole seconds: an offset is known to ±(500 ms + half the round trip).
      expect(Math.abs((cam2?.clockOffsetMs as number) - 42_000)).toBeLessThan(1_500);

      // The pscs CLI probes the same camera directly.
      const probe = startProc(process.execPath, [
        PSCS,
        "camera",
        "probe",
        "--host",
        "127.0.0.1",
        "--port",
        String(sim.cameras[0]?.onvif.port),
        "--user",
        "recorder",
        "--password-file",
        join(dir, "cam.pw"),
        "--json",
      ]);
      expect((await probe.exited).code).toBe(0);
      expect(JSON.parse(probe.lines.join("\n"))).toMatchObject({
        streamUri: sim.describe()[0]?.rtsp,
        profile: "profile_main",
      });

      // Camera 1 drops off the network: the heartbeat notices, then the daemon reconnects.
      await sim.cameras[0]?.setOnvifOnline(false);
      await daemon.waitForLine(
        (l) =>
          l.includes("camera unreachable") &&
          l.includes('"camera":"cam1"') &&
          l.includes('"wasConnected":true'),
        10_000,
      );
      await sim.cameras[0]?.setOnvifOnline(true);
      await daemon.waitForLine(
        (l) =>
          l.includes('"msg":"camera connected"') &&
          l.includes('"camera":"cam1"') &&
          daemon.lines.filter((x) => x.includes('"camera connected"') && x.includes('"camera":"cam1"'))
            .length >= 2,
        30_000,
      );
      // Its only children are the recorders' ffmpeg processes, and none outlives it.
      children = descendants(daemon.child.pid as number);
      expect(children.map(procName)).toEqual(children.map(() => "ffmpeg"));
    } finally {
      const { code, signal } = await daemon.stop("SIGTERM");
      expect({ code, signal }).toEqual({ code: 0, signal: null });
    }
    expect(children.filter(isAlive)).toEqual([]);
    expect(daemon.lines.join("\n")).not.toContain(PASSWORD);
    const db = new Database(join(dir, "catalog.db"), { readonly: true });
    const samples = db
      .prepare("SELECT camera, offset_ms FROM camera_clock_samples ORDER BY sampled_at")
      .all() as { camera: string; offset_ms: number }[];
    // What each camera said it is, once: cam1's reconnect reported the same identity.
    const identities = db
      .prepare("SELECT camera, manufacturer, model, serial, firmware FROM camera_identities ORDER BY camera")
      .all();
    db.close();
    expect(identities).toEqual(
      ["cam1", "cam2"].map((camera) => ({
        camera,
        manufacturer: "PSCS Sim",
        model: "SIM-PTZ-1",
        serial: expect.stringMatching(/^SIM-[0-9A-F]{10}$/),
        firmware: "1.0.0",
      })),
    );
    expect(new Set(samples.map((s) => s.camera))).toEqual(new Set(["cam1", "cam2"]));
    expect(Math.abs((samples.find((s) => s.camera === "cam2")?.offset_ms ?? 0) - 42_000)).toBeLessThan(1_500);
  });
});
