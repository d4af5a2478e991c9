import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditLog } from "../../src/audit/log.js";
import type { ActionContext } from "../../src/auth/acting.js";
import type { PtzCamera } from "../../src/cameras/ptz.js";
import { openCatalog } from "../../src/catalog/catalog.js";
import { SqliteDirectory } from "../../src/catalog/directory/sqlite.js";
import { ServiceError } from "../../src/errors/service-error.js";
import { createLogger } from "../../src/log/logger.js";
import { PrivacyZones } from "../../src/ptz/privacy-zones.js";
import { PtzService } from "../../src/ptz/service.js";
import {
  breaks,
  centreIn,
  DEFAULT_AXIS_SPEEDS,
  DEFAULT_FIELD_OF_VIEW,
  firstBreak,
  inView,
  maskIn,
  type PrivacyZone,
  pathBreak,
  viewHalf,
} from "../../src/ptz/zones.js";
import { simPtzCamera } from "../helpers/ptz-camera.js";

const log = createLogger({ name: "test", level: "silent" });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const dana: ActionContext = { actor: "dana", role: "dispatcher", client: "127.0.0.1" };
const lee: ActionContext = { actor: "lee", role: "dispatcher", client: "127.0.0.2" };
const root: ActionContext = { actor: "root", role: "admin", client: "127.0.0.9" };
const CAD = { kind: "incident", reference: "CAD-2026-0042" };
const fov = DEFAULT_FIELD_OF_VIEW;
/** A flat's windows: never the view's centre, and in view only up to zoom 0.3. */
const FLATS: PrivacyZone = { id: "flats", pan: [0.4, 0.7], tilt: [-0.3, 0.3], maxZoom: 0.3 };

async function refusal(p: Promise<unknown>): Promise<ServiceError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ServiceError) return e;
    throw e;
  }
  throw new Error("not refused");
}

// The test's own reading of the rule, written apart from src/ptz/zones.ts: centre inside the
// rectangle, or any overlap of the view with it above the zoom limit (the simulator's view model).
function looksIn(z: PrivacyZone, p: { pan: number; tilt: number; zoom: number }): boolean {
  const centre = p.pan >= z.pan[0] && p.pan <= z.pan[1] && p.tilt >= z.tilt[0] && p.tilt <= z.tilt[1];
  const w = 0.5 / (1 + 9 * p.zoom);
  const h = 2 / (1 + 9 * p.zoom);
  const seen =
    p.pan + w >= z.pan[0] && p.pan - w <= z.pan[1] && p.tilt + h >= z.tilt[0] && p.tilt - h <= z.tilt[1];
  return centre || (p.zoom > z.maxZoom && seen);
}

describe("privacy zone geometry", () => {
  it("narrows the view with zoom; the centre or an over-zoomed view breaks a zone, nothing else", () => {
    expect(viewHalf(fov, 0)).toEqual({ pan: 0.5, tilt: 2 });
    expect(viewHalf(fov, 1)).toEqual({ pan: 0.05, tilt: 0.2 });
    expect(centreIn(FLATS, { pan: 0.4, tilt: 0, zoom: 0 })).toBe(true); // an edge counts as inside
    expect(centreIn(FLATS, { pan: 0.39, tilt: 0, zoom: 0 })).toBe(false);
    expect(inView(FLATS, { pan: 0.3, tilt: 0, zoom: 0.8 }, fov)).toBe(false); // half-width 0.061
    expect(inView(FLATS, { pan: 0.35, tilt: 0, zoom: 0.8 }, fov)).toBe(true);
    expect(breaks(FLATS, { pan: 0.35, tilt: 0, zoom: 0.8 }, fov)).toBe(true);
    expect(breaks(FLATS, { pan: 0.35, tilt: 0, zoom: 0.3 }, fov)).toBe(false); // at its limit: allowed
    expect(breaks(FLATS, { pan: 0.55, tilt: 0.5, zoom: 0 }, fov)).toBe(false); // above it, zoomed out
  });

  it("finds where a straight path first breaks a zone, and nothing on a path that misses", () => {
    const from = { pan: 0, tilt: 0, zoom: 0 };
    const hit = firstBreak([FLATS], from, { pan: 1 }, DEFAULT_AXIS_SPEEDS, fov, 2_000);
    // 0.5 units a second: the edge at 0.4 is 800 ms away.
    expect(hit?.zone.id).toBe("flats");
    expect(hit?.afterMs).toBeGreaterThan(795);
    expect(hit?.afterMs).toBeLessThanOrEqual(800.5);
    expect(firstBreak([FLATS], from, { pan: 1 }, DEFAULT_AXIS_SPEEDS, fov, 700)).toBeUndefined();
    expect(firstBreak([FLATS], from, { pan: -1 }, DEFAULT_AXIS_SPEEDS, fov, 5_000)).toBeUndefined();
    // Zooming in at pan 0.3: the zone is in view until zoom 0.444, so zoom may not pass 0.3.
    const zoom = firstBreak(
      [FLATS],
      { pan: 0.3, tilt: 0, zoom: 0 },
      { zoom: 1 },
      DEFAULT_AXIS_SPEEDS,
      fov,
      2_000,
    );
    expect(zoom?.afterMs).toBeGreaterThan(595);
    expect(zoom?.afterMs).toBeLessThanOrEqual(601);
  });
});

describe("privacy zone paths and masks", () => {
  const speeds = DEFAULT_AXIS_SPEEDS;
  it("refuses a way across a zone on either path a camera may take, but lets a camera leave one", () => {
    const here = { pan: 0, tilt: 0, zoom: 0 };
    expect(pathBreak([FLATS], here, { pan: 0.9, tilt: 0, zoom: 0 }, speeds, fov)?.id).toBe("flats");
    expect(pathBreak([FLATS], here, { pan: 0.3, tilt: 0, zoom: 0 }, speeds, fov)).toBeUndefined();
    // Straight from (0.2, 0.5) to (0.9, 0.35) passes above the zone (tilt > 0.3 all the way); pan
    // and tilt each at full speed reach tilt 0.35 at pan 0.35, then pan runs on at tilt 0.35: clear.
    expect(
      pathBreak([FLATS], { pan: 0.2, tilt: 0.5, zoom: 0 }, { pan: 0.9, tilt: 0.35, zoom: 0 }, speeds, fov),
    ).toBeUndefined();
    // To (0.9, 0.1): straight, it enters the zone; axis by axis it reaches tilt 0.1 at pan 0.6: inside.
    expect(
      pathBreak([FLATS], { pan: 0.2, tilt: 0.5, zoom: 0 }, { pan: 0.9, tilt: 0.1, zoom: 0 }, speeds, fov)?.id,
    ).toBe("flats");
    // From (0.2, 0.2) to (0.9, 0.6) the straight line passes just above the zone (tilt 0.314 at pan
    // 0.4), and so does the way axis by axis at equal speeds; with pan far faster than tilt, pan
    // crosses the zone before tilt has risen: refused.
    const rising = [
      { pan: 0.2, tilt: 0.2, zoom: 0 },
      { pan: 0.9, tilt: 0.6, zoom: 0 },
    ] as const;
    expect(pathBreak([FLATS], ...rising, speeds, fov)).toBeUndefined();
    expect(pathBreak([FLATS], ...rising, { pan: 1, tilt: 0.05, zoom: 1 }, fov)?.id).toBe("flats");
    expect(
      pathBreak([FLATS], { pan: 0.3, tilt: 0.5, zoom: 0 }, { pan: 0.3, tilt: 0.5, zoom: 0 }, speeds, fov),
    ).toBeUndefined();
    // Inside already (a zone added since): the way out is allowed, a way deeper in or back is not.
    const inside = { pan: 0.5, tilt: 0, zoom: 0 };
    expect(pathBreak([FLATS], inside, { pan: 0, tilt: 0, zoom: 0 }, speeds, fov)).toBeUndefined();
    expect(pathBreak([FLATS], inside, { pan: 0.6, tilt: 0, zoom: 0 }, speeds, fov)?.id).toBe("flats");
  });

  it("places a zone in view in the picture: fractions from the top left, clipped", () => {
    // Pointing into it (refused, but a zone added since may be there): masked like any other.
    expect(maskIn(FLATS, { pan: 0.55, tilt: 0, zoom: 0 }, fov)?.x).toBeCloseTo(0.35, 9);
    // At pan 0.3 zoom 0: the view spans pan -0.2..0.8, tilt -2..2; the zone pan 0.4..0.7, tilt -0.3..0.3.
    const m = maskIn(FLATS, { pan: 0.3, tilt: 0, zoom: 0 }, fov);
    expect(m?.x).toBeCloseTo(0.6, 9);
    expect(m?.w).toBeCloseTo(0.3, 9);
    expect(m?.y).toBeCloseTo(0.425, 9);
    expect(m?.h).toBeCloseTo(0.15, 9);
    const clipped = maskIn(FLATS, { pan: 0.0, tilt: 0, zoom: 0 }, fov);
    expect(clipped?.x).toBeCloseTo(0.9, 9);
    expect(clipped?.w).toBeCloseTo(0.1, 9);
    expect(maskIn(FLATS, { pan: -0.5, tilt: 0, zoom: 0 }, fov)).toBeUndefined();
  });
});

describe("privacy zones enforced on the simulated camera through the onvif client", () => {
  const cam = simPtzCamera({ ...DEFAULT_AXIS_SPEEDS });
  const { model, server } = cam;
  const directory = new SqliteDirectory(openCatalog(":memory:"));
  const audit = new AuditLog(directory);
  const zones = new PrivacyZones({ directory, audit, cameras: new Map([["cam1", { zones: [FLATS] }]]) });
  let ptz: PtzCamera;
  let service: PtzService;
  const refusedEntries = async () =>
    (await directory.read((d) => d.audit.list({ action: "ptz.refused", order: "asc" }))).map((e) => ({
      ...e,
      details: JSON.parse(e.details ?? "{}"),
    }));
  const goTo = async (p: { pan: number; tilt: number; zoom: number }) => {
    model.absoluteMove(p);
    await cam.settled(200);
  };

  beforeAll(async () => {
    ptz = await cam.connect();
    service = new PtzService({
      directory,
      audit,
      cameras: { ids: new Set(["cam1"]), ptz: () => ptz },
      zones,
      log,
      limits: { commandsPerSecond: 50, commandBurst: 50, refusalWindowMs: 300 },
    });
    await service.take("cam1", CAD, dana);
  });
  afterAll(async () => {
    await service.stop();
    await server.stop();
  });

  it("refuses a move into a zone, naming it; the camera stays out", async () => {
    await goTo({ pan: 0, tilt: 0, zoom: 0 });
    const no = await refusal(service.absolute("cam1", { pan: 0.5, tilt: 0 }, undefined, dana));
    expect(no).toMatchObject({ kind: "forbidden", field: "zone", extra: { zone: { id: "flats" } } });
    expect(no.message).toContain("privacy zone 'flats'");
    await sleep(300);
    expect(model.position()).toEqual({ pan: 0, tilt: 0, zoom: 0 });
    // Relative: computed from where the camera is.
    await goTo({ pan: 0.2, tilt: 0, zoom: 0 });
    expect(
      (await refusal(service.relative("cam1", { pan: 0.3 }, undefined, dana))).extra?.zone,
    ).toMatchObject({
      id: "flats",
    });
    // Zoomed in close to it: the zone would be in view above its limit.
    expect(
      (await refusal(service.absolute("cam1", { pan: 0.35, zoom: 0.8 }, undefined, dana))).message,
    ).toContain("'flats'");
    await sleep(200);
    expect(model.position()).toEqual({ pan: 0.2, tilt: 0, zoom: 0 });
    // Beside it, zoomed in no more than its limit allows, and zoomed in where it is out of view: allowed.
    await service.absolute("cam1", { pan: 0.35, zoom: 0.3 }, undefined, dana);
    expect(await cam.settled(200)).toEqual({ pan: 0.35, tilt: 0, zoom: 0.3 });
    // Zooming in on the way away from it would show it closer than allowed: refused, go around.
    const way = await refusal(service.absolute("cam1", { pan: 0.2, zoom: 0.8 }, undefined, dana));
    expect(way.message).toMatch(/on its way .* privacy zone 'flats' \(go around it\)/);
    await service.absolute("cam1", { pan: 0.2 }, undefined, dana);
    await cam.settled(200);
    await service.absolute("cam1", { zoom: 0.8 }, undefined, dana);
    expect(await cam.settled(200)).toEqual({ pan: 0.2, tilt: 0, zoom: 0.8 });
    // Across it to the far side: the target is fine, the way there is not.
    await service.absolute("cam1", { zoom: 0 }, undefined, dana);
    await cam.settled(200);
    expect(
      (await refusal(service.absolute("cam1", { pan: 0.9 }, undefined, dana))).extra?.zone,
    ).toMatchObject({
      id: "flats",
    });
    await sleep(100);
    expect(model.position()).toEqual({ pan: 0.2, tilt: 0, zoom: 0 });
    const entries = await refusedEntries();
    expect(entries[0]).toMatchObject({
      actor: "dana",
      outcome: "denied",
      details: { zones: ["flats"], commands: { absolute: 1 } },
    });
  });

  it("refuses a preset or home saved inside a zone, and a preset whose position is inside one", async () => {
    await goTo({ pan: 0.5, tilt: 0, zoom: 0 }); // moved there by other means than pscsd
    const presets = model.presets().length;
    expect((await refusal(service.savePreset("cam1", "Window", undefined, dana))).extra?.zone).toMatchObject({
      id: "flats",
    });
    expect((await refusal(service.setHome("cam1", dana))).kind).toBe("forbidden");
    expect(model.presets()).toHaveLength(presets);
    const inside = model.setPreset("Inside"); // saved at the camera itself
    await service.absolute("cam1", { pan: -0.5, tilt: 0, zoom: 0 }, undefined, dana);
    await cam.settled(200);
    expect((await refusal(service.gotoPreset("cam1", inside, dana))).extra?.zone).toMatchObject({
      id: "flats",
    });
    // Home: unknown to pscsd until set through it, then checked like any target.
    expect((await refusal(service.gotoHome("cam1", dana))).message).toMatch(/set home through pscsd/);
    await service.setHome("cam1", dana);
    await service.absolute("cam1", { pan: 0 }, undefined, dana);
    await cam.settled(200);
    await service.gotoHome("cam1", dana);
    expect(await cam.settled(200)).toEqual({ pan: -0.5, tilt: 0, zoom: 0 });
    await sleep(200);
    expect(model.position()).toEqual({ pan: -0.5, tilt: 0, zoom: 0 });
  });

  /** Runs a continuous move, looking at the mechanism every 5 ms; returns every position seen. */
  async function watched(velocity: { pan?: number; zoom?: number }, ms: number) {
    const seen: { pan: number; tilt: number; zoom: number }[] = [];
    const start = Date.now();
    let stopped = false;
    const keepAlive = setInterval(() => {
      if (!stopped) service.keepAlive("cam1", dana);
    }, 150);
    await service.continuous("cam1", velocity, dana);
    while (Date.now() - start < ms) {
      seen.push(model.position());
      await sleep(5);
    }
    stopped = true;
    clearInterval(keepAlive);
    seen.push(model.position());
    return seen;
  }

  it("stops a continuous move toward a zone at its edge; it is never inside, during or after", async () => {
    await goTo({ pan: 0, tilt: 0, zoom: 0 });
    const seen = await watched({ pan: 1 }, 1_600); // 0.8 units at full speed: would end at 0.8
    expect(seen.filter((p) => looksIn(FLATS, p))).toEqual([]);
    expect(model.status().moveStatus.panTilt).toBe("IDLE");
    const end = model.position().pan;
    expect(end).toBeLessThan(0.4);
    expect(end).toBeGreaterThan(0.4 - 0.15); // stopped near the edge, not far short of it
    await sleep(200);
    expect(model.position().pan).toBe(end);
    const stops = await directory.read((d) => d.audit.list({ action: "ptz.zone-stop" }));
    expect(stops).toHaveLength(1);
    expect(JSON.parse(stops[0]?.details ?? "{}")).toMatchObject({
      camera: "cam1",
      zone: "flats",
      holder: "dana",
    });
    expect(service.events.after(0).at(-1)).toMatchObject({ kind: "zone-stop", actor: "dana" });
    // Pushing on toward it: refused at once, the camera does not move.
    const again = await refusal(service.continuous("cam1", { pan: 1 }, dana));
    expect(again.extra?.zone).toMatchObject({ id: "flats" });
    await sleep(150);
    expect(model.position().pan).toBe(end);
    // Away from it: allowed.
    await service.continuous("cam1", { pan: -1 }, dana);
    await sleep(150);
    await service.stopMove("cam1", dana);
    expect(model.position().pan).toBeLessThan(end);
  });

  it("stops a zoom-in before the zone in view passes its zoom limit", async () => {
    await goTo({ pan: 0.3, tilt: 0, zoom: 0 });
    const seen = await watched({ zoom: 1 }, 1_400); // would reach zoom 0.7
    expect(seen.filter((p) => looksIn(FLATS, p))).toEqual([]);
    expect(model.status().moveStatus.zoom).toBe("IDLE");
    expect(model.position().zoom).toBeLessThanOrEqual(0.3);
    expect(model.position().zoom).toBeGreaterThan(0.15);
  });

  it("holds a zone an admin adds at once, audited with the reason; config zones are not the API's", async () => {
    expect(
      (
        await refusal(
          zones.put("cam1", { id: "yard", pan: [-0.9, -0.6], tilt: [-1, 1], maxZoom: 0 }, "", root),
        )
      ).field,
    ).toBe("reason");
    expect(
      (await refusal(zones.put("cam1", { id: "x", pan: [0, 0.5], tilt: [0, 1], maxZoom: 0 }, "r", dana)))
        .kind,
    ).toBe("forbidden");
    expect((await refusal(zones.remove("cam1", "flats", "gone", root))).kind).toBe("conflict");
    await zones.put(
      "cam1",
      { id: "yard", pan: [-0.9, -0.6], tilt: [-1, 1], maxZoom: 0 },
      "complaint 113",
      root,
    );
    await goTo({ pan: 0, tilt: 0, zoom: 0 });
    // maxZoom 0: in view only fully zoomed out; pan -0.4 at zoom 0.1 sees down to -0.66.
    expect(
      (await refusal(service.absolute("cam1", { pan: -0.4, zoom: 0.1 }, undefined, dana))).extra?.zone,
    ).toMatchObject({
      id: "yard",
    });
    const view = await service.privacyZones("cam1", dana);
    expect(view.zones.map((z) => [z.id, z.source, z.inView])).toEqual([
      ["flats", "config", true],
      ["yard", "api", false],
    ]);
    await zones.remove("cam1", "yard", "complaint withdrawn", root);
    await service.absolute("cam1", { pan: -0.4, zoom: 0.1 }, undefined, dana);
    expect(await cam.settled(200)).toEqual({ pan: -0.4, tilt: 0, zoom: 0.1 });
    const changes = await directory.read((d) => d.audit.list({ action: "zones.", order: "asc" }));
    expect(changes.map((e) => [e.action, e.actor, e.target, JSON.parse(e.details ?? "{}").reason])).toEqual([
      ["zones.put", "root", "privacy-zone:cam1/yard", "complaint 113"],
      ["zones.remove", "root", "privacy-zone:cam1/yard", "complaint withdrawn"],
    ]);
  });

  it("audits a stuck joystick's refusals as one denied entry per second, counting them all", async () => {
    const before = (await refusedEntries()).length;
    for (let i = 0; i < 30; i++) await refusal(service.continuous("cam1", { pan: 0.5 }, lee));
    await sleep(400);
    const added = (await refusedEntries()).slice(before);
    expect(added.map((e) => e.actor)).toEqual(["lee", "lee"]);
    expect(added.map((e) => e.details.refusals)).toEqual([1, 29]);
    expect(added[1]?.details).toMatchObject({
      commands: { continuous: 29 },
      reasons: [expect.stringContaining("dana")],
    });
  });
});
