import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PtzCamera } from "../../src/cameras/ptz.js";
import { simPtzCamera } from "../helpers/ptz-camera.js";

// pscsd's PTZ commands through the real `onvif` client, moving the simulated mechanism (its position
// read from the model itself, not from what the client says).
const FAST = { pan: 4, tilt: 4, zoom: 4 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("PTZ commands against the simulated camera", () => {
  const cam = simPtzCamera(FAST);
  const { model, server } = cam;
  const settled = () => cam.settled();
  let ptz: PtzCamera;

  beforeAll(async () => {
    ptz = await cam.connect();
  });
  afterAll(() => server.stop());

  it("moves absolutely and relatively, and reports the position and move status", async () => {
    await ptz.absoluteMove({ pan: 0.5, tilt: -0.25, zoom: 0.4 });
    expect(await settled()).toEqual({ pan: 0.5, tilt: -0.25, zoom: 0.4 });
    await ptz.relativeMove({ pan: -0.2, tilt: 0.1 });
    const p = await settled();
    expect(p.pan).toBeCloseTo(0.3, 6);
    expect(p.tilt).toBeCloseTo(-0.15, 6);
    expect(p.zoom).toBeCloseTo(0.4, 6);
    const s = await ptz.status();
    expect(s.position.pan).toBeCloseTo(0.3, 6);
    expect(s.moveStatus).toEqual({ panTilt: "IDLE", zoom: "IDLE" });
    // Zoom alone leaves pan and tilt where they are.
    await ptz.absoluteMove({ zoom: 0.9 });
    expect(await settled()).toMatchObject({ zoom: 0.9 });
    expect(model.position().pan).toBeCloseTo(0.3, 6);
  });

  it("moves continuously until stopped", async () => {
    await ptz.absoluteMove({ pan: 0, tilt: 0, zoom: 0 });
    await settled();
    await ptz.continuousMove({ pan: 0.1 }, 10_000);
    await sleep(150);
    expect((await ptz.status()).moveStatus.panTilt).toBe("MOVING");
    await ptz.stop();
    const stoppedAt = model.position().pan;
    expect(stoppedAt).toBeGreaterThan(0);
    await sleep(150);
    expect(model.position().pan).toBe(stoppedAt);
    expect(model.status().moveStatus.panTilt).toBe("IDLE");
  });

  it("saves, lists, goes to and deletes presets; names are sent as text, not XML", async () => {
    await ptz.absoluteMove({ pan: -0.6, tilt: 0.2, zoom: 0.3 });
    await settled();
    const name = "Gate <A> & 'B'";
    const token = await ptz.setPreset(name);
    expect(model.presets().find((p) => p.token === token)?.name).toBe(name);
    const listed = await ptz.presets();
    expect(listed.find((p) => p.token === token)).toEqual({
      token,
      name,
      position: { pan: -0.6, tilt: 0.2, zoom: 0.3 },
    });
    await ptz.absoluteMove({ pan: 0.9, tilt: 0.9, zoom: 1 });
    await settled();
    await ptz.gotoPreset(token);
    expect(await settled()).toEqual({ pan: -0.6, tilt: 0.2, zoom: 0.3 });
    await ptz.removePreset(token);
    expect(model.presets().some((p) => p.token === token)).toBe(false);
    await expect(ptz.gotoPreset(token)).rejects.toThrow(/GotoPreset/);
  });

  it("sets and goes home", async () => {
    await ptz.absoluteMove({ pan: 0.25, tilt: 0.5, zoom: 0.5 });
    await settled();
    await ptz.setHome();
    await ptz.absoluteMove({ pan: -1, tilt: -1, zoom: 0 });
    await settled();
    await ptz.gotoHome();
    expect(await settled()).toEqual({ pan: 0.25, tilt: 0.5, zoom: 0.5 });
  });

  it("turns a refused command into an OnvifError naming the operation", async () => {
    await expect(ptz.absoluteMove({ pan: 3 })).rejects.toThrow(/AbsoluteMove failed/);
  });
});
