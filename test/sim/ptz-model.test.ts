import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PtzError, PtzModel } from "../../sim/ptz.js";

function clocked(opts: ConstructorParameters<typeof PtzModel>[0] = {}) {
  let t = 1_000_000;
  const ptz = new PtzModel({ ...opts, now: () => t });
  return { ptz, advance: (ms: number) => (t += ms) };
}

describe("PTZ model", () => {
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

  it("refuses absolute positions outside the limits, clamps relative moves at the end stop", () => {
    const { ptz, advance } = clocked({ limits: { pan: [-1, 1], tilt: [-0.5, 0.5], zoom: [0, 1] } });
    expect(() => ptz.absoluteMove({ tilt: 0.9 })).toThrow(PtzError);
    expect(() => ptz.absoluteMove({ pan: Number.NaN })).toThrow(/outside/);
    try {
      ptz.absoluteMove({ zoom: 2 });
    } catch (e) {
      expect((e as PtzError).subcode).toBe("ter:InvalidPosition");
    }
    ptz.relativeMove({ tilt: 5, pan: -0.5 });
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
    expect(() => ptz.setPreset("Door")).toThrow(/already exists/);
    expect(() => ptz.setPreset("X", "preset_99")).toThrow(/no preset/);
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
  });
});
