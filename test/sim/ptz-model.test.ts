import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PtzError, PtzModel, PtzStateFileError } from "../../sim/ptz.js";

function clocked(opts: ConstructorParameters<typeof PtzModel>[0] = {}) {
  let t = 1_000_000;
  const ptz = new PtzModel({ ...opts, now: () => t });
  return { ptz, advance: (ms: number) => (t += ms) };
}

function subcodeOf(fn: () => void): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof PtzError) return e.subcode;
    throw e;
  }
  return undefined;
}

describe("PTZ model", () => {
  it("at speed 1 crosses the full pan range in 4 s and the zoom range in 2 s", () => {
    const { ptz, advance } = clocked();
    ptz.absoluteMove({ pan: -1, zoom: 0 });
    advance(2000);
    expect(ptz.position().pan).toBe(-1);
    ptz.absoluteMove({ pan: 1, zoom: 1 });
    advance(1999);
    expect(ptz.status().moveStatus).toEqual({ panTilt: "MOVING", zoom: "MOVING" });
    advance(1);
    expect(ptz.position().zoom).toBe(1);
    expect(ptz.status().moveStatus.zoom).toBe("IDLE");
    advance(1999);
    expect(ptz.position().pan).toBeCloseTo(0.9995, 6);
    expect(ptz.status().moveStatus.panTilt).toBe("MOVING");
    advance(1);
    expect(ptz.position().pan).toBe(1);
    expect(ptz.status()).toMatchObject({ moveStatus: { panTilt: "IDLE", zoom: "IDLE" }, utcTime: 1_006_000 });
  });

  it("absolute moves travel at the set speed, MOVING until they arrive, then IDLE", () => {
    const { ptz, advance } = clocked();
    ptz.absoluteMove({ pan: 0.5, tilt: -0.25, zoom: 0.5 });
    expect(ptz.status().moveStatus).toEqual({ panTilt: "MOVING", zoom: "MOVING" });
    advance(500); // 0.5 units/s at speed 1
    expect(ptz.position().pan).toBeCloseTo(0.25);
    expect(ptz.position().tilt).toBeCloseTo(-0.25); // already there
    advance(500);
    expect(ptz.position()).toEqual({ pan: 0.5, tilt: -0.25, zoom: 0.5 });
    expect(ptz.status().moveStatus).toEqual({ panTilt: "IDLE", zoom: "IDLE" });
    // Half speed takes twice as long.
    ptz.absoluteMove({ pan: 0 }, { pan: 0.5 });
    advance(1000);
    expect(ptz.position().pan).toBeCloseTo(0.25);
  });

  it("relative moves add to the current position, MOVING until they arrive", () => {
    const { ptz, advance } = clocked();
    ptz.absoluteMove({ pan: 0.2, tilt: 0.2, zoom: 0.2 });
    advance(1000);
    ptz.relativeMove({ pan: -0.3, zoom: 0.1 });
    expect(ptz.status().moveStatus).toEqual({ panTilt: "MOVING", zoom: "MOVING" });
    advance(200); // zoom: 0.1 units at 0.5/s
    expect(ptz.status().moveStatus).toEqual({ panTilt: "MOVING", zoom: "IDLE" });
    advance(400);
    expect(ptz.position().pan).toBeCloseTo(-0.1, 9);
    expect(ptz.position().tilt).toBe(0.2);
    expect(ptz.position().zoom).toBeCloseTo(0.3, 9);
    expect(ptz.status().moveStatus.panTilt).toBe("IDLE");
  });

  it("refuses speeds, translations and velocities outside their generic spaces", () => {
    const { ptz } = clocked();
    expect(subcodeOf(() => ptz.absoluteMove({ pan: 0.5 }, { pan: 1.5 }))).toBe("ter:InvalidSpeed");
    expect(subcodeOf(() => ptz.gotoHome({ zoom: -0.1 }))).toBe("ter:InvalidSpeed");
    expect(subcodeOf(() => ptz.relativeMove({ tilt: 1.01 }))).toBe("ter:InvalidTranslation");
    expect(subcodeOf(() => ptz.relativeMove({ pan: Number.POSITIVE_INFINITY }))).toBe(
      "ter:InvalidTranslation",
    );
    expect(subcodeOf(() => ptz.continuousMove({ pan: 1, zoom: -1.5 }))).toBe("ter:InvalidVelocity");
    expect(subcodeOf(() => ptz.absoluteMove({ pan: 0.5, tilt: 3 }))).toBe("ter:InvalidPosition");
    // A refused request changes nothing, not even the axes that were valid.
    expect(ptz.status().moveStatus).toEqual({ panTilt: "IDLE", zoom: "IDLE" });
  });

  it("refuses continuous-move timeouts outside the supported range", () => {
    const { ptz } = clocked({ minTimeoutMs: 500, maxTimeoutMs: 5000 });
    expect(subcodeOf(() => ptz.continuousMove({ pan: 1 }, 60_000))).toBe("ter:TimeoutNotSupported");
    expect(subcodeOf(() => ptz.continuousMove({ pan: 1 }, 100))).toBe("ter:TimeoutNotSupported");
    expect(subcodeOf(() => ptz.continuousMove({ pan: 1 }, 500))).toBeUndefined();
  });

  it("refuses absolute positions outside the limits, clamps relative moves at the end stop", () => {
    const { ptz, advance } = clocked({ limits: { pan: [-1, 1], tilt: [-0.5, 0.5], zoom: [0, 1] } });
    expect(() => ptz.absoluteMove({ tilt: 0.9 })).toThrow(PtzError);
    expect(() => ptz.absoluteMove({ pan: Number.NaN })).toThrow(/outside/);
    try {
      ptz.absoluteMove({ zoom: 2 });
    } catch (e) {
      expect((e as PtzError).subcode).toBe("ter:InvalidPosition");
    }
    ptz.relativeMove({ tilt: 1, pan: -0.5 });
    advance(10_000);
    expect(ptz.position()).toEqual({ pan: -0.5, tilt: 0.5, zoom: 0 });
    ptz.relativeMove({ pan: 0.25 });
    advance(10_000);
    expect(ptz.position().pan).toBeCloseTo(-0.25);
  });

  it("continuous moves stop at their timeout and at the limits", () => {
    const { ptz, advance } = clocked();
    ptz.continuousMove({ pan: 1, zoom: 0.5 }, 1000);
    advance(400);
    expect(ptz.status().moveStatus.panTilt).toBe("MOVING");
    advance(1600);
    expect(ptz.position().pan).toBeCloseTo(0.5); // 1 s at 0.5 units/s, then stopped
    expect(ptz.position().zoom).toBeCloseTo(0.25);
    expect(ptz.status().moveStatus).toEqual({ panTilt: "IDLE", zoom: "IDLE" });
    ptz.continuousMove({ tilt: -1 }, 60_000);
    advance(10_000);
    expect(ptz.position().tilt).toBe(-1);
    expect(ptz.status().moveStatus.panTilt).toBe("IDLE"); // pressed against the end stop
    expect(() => ptz.continuousMove({ pan: 2 })).toThrow(/velocity/);
  });

  it("a continuous move without timeout uses the default; stop halts only the named axes", () => {
    const { ptz, advance } = clocked({ defaultTimeoutMs: 2000 });
    ptz.continuousMove({ pan: 0.2, zoom: 0.2 });
    advance(1000);
    ptz.stop(true, false);
    const pan = ptz.position().pan;
    advance(500);
    expect(ptz.position().pan).toBe(pan);
    expect(ptz.status().moveStatus).toEqual({ panTilt: "IDLE", zoom: "MOVING" });
    advance(5000);
    expect(ptz.position().zoom).toBeCloseTo(0.2); // 2 s × 0.1 units/s
  });

  it("presets: set, overwrite, go to, remove, with ONVIF's errors", () => {
    const { ptz, advance } = clocked();
    ptz.absoluteMove({ pan: 0.3, tilt: 0.1, zoom: 0.2 });
    advance(5000);
    const door = ptz.setPreset("Door");
    expect(subcodeOf(() => ptz.setPreset("Door"))).toBe("ter:PresetExist");
    expect(subcodeOf(() => ptz.setPreset(" "))).toBe("ter:InvalidPresetName");
    expect(subcodeOf(() => ptz.setPreset("x".repeat(65)))).toBe("ter:InvalidPresetName");
    expect(subcodeOf(() => ptz.setPreset("X", "preset_99"))).toBe("ter:NoToken");
    ptz.absoluteMove({ pan: -0.6 });
    advance(5000);
    const corner = ptz.setPreset("Corner");
    expect(ptz.presets().map((p) => p.name)).toEqual(["Door", "Corner"]);
    ptz.gotoPreset(door);
    expect(ptz.status().moveStatus.panTilt).toBe("MOVING");
    advance(5000);
    expect(ptz.position()).toEqual({ pan: 0.3, tilt: 0.1, zoom: 0.2 });
    ptz.setPreset(undefined, corner); // overwrite with the current position, keep the name
    expect(ptz.presets()[1]).toMatchObject({ token: corner, name: "Corner", position: { pan: 0.3 } });
    ptz.removePreset(door);
    expect(() => ptz.gotoPreset(door)).toThrow(PtzError);
    expect(() => ptz.removePreset(door)).toThrow(/no preset/);
  });

  it("refuses presets beyond the maximum", () => {
    const { ptz } = clocked({ maxPresets: 2 });
    ptz.setPreset("a");
    ptz.setPreset("b");
    expect(() => ptz.setPreset("c")).toThrow(/at most 2/);
  });

  it("persists presets and home across a restart; a new camera starts at home", () => {
    const stateFile = join(mkdtempSync(join(tmpdir(), "ptz-")), "cam1.ptz.json");
    const a = clocked({ stateFile });
    a.ptz.absoluteMove({ pan: -0.4, tilt: 0.2, zoom: 0.1 });
    a.advance(5000);
    a.ptz.setHome();
    const token = a.ptz.setPreset("Gate");
    a.ptz.absoluteMove({ pan: 0.9 });
    a.advance(5000);
    const b = clocked({ stateFile });
    expect(b.ptz.position()).toEqual({ pan: -0.4, tilt: 0.2, zoom: 0.1 });
    expect(b.ptz.presets()).toEqual([{ token, name: "Gate", position: { pan: -0.4, tilt: 0.2, zoom: 0.1 } }]);
    b.ptz.absoluteMove({ pan: 0 });
    b.advance(5000);
    b.ptz.gotoHome();
    b.advance(5000);
    expect(b.ptz.position().pan).toBe(-0.4);
    expect(b.ptz.setPreset("Next")).not.toBe(token);
    // Written by rename: no temporary file is left next to the state file.
    expect(readdirSync(join(stateFile, ".."))).toEqual(["cam1.ptz.json"]);
  });

  it("refuses to start from a damaged state file instead of silently forgetting presets", () => {
    const stateFile = join(mkdtempSync(join(tmpdir(), "ptz-")), "cam1.ptz.json");
    writeFileSync(stateFile, '{"presets": [{"token": 1}]');
    expect(() => clocked({ stateFile })).toThrow(PtzStateFileError);
    writeFileSync(
      stateFile,
      '{"presets": [{"token": 1}], "home": {"pan": 0, "tilt": 0, "zoom": 0}, "nextToken": 1}',
    );
    expect(() => clocked({ stateFile })).toThrow(/cam1\.ptz\.json is unreadable/);
  });
});
