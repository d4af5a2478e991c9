import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Simulator } from "../../sim/simulator.js";
import type { Pscsd } from "../../src/compose/daemon.js";
import { writeDaemonConfig } from "../helpers/config.js";
import { freePort } from "../helpers/ports.js";
import { runPscs } from "../helpers/process.js";
import {
  type Client,
  login,
  openLocalCatalog,
  seedUsers,
  startInProcess,
  TEST_AUTH,
} from "../helpers/pscsd.js";
import { simCameraConfigs, startTestCameras } from "../helpers/sim.js";

// PTZ control through pscsd's HTTP API, the real `onvif` client moving the simulated camera; the
// simulator's own position is what is checked.
const PASSWORD = "Ptz-Test-2026!";
const dir = mkdtempSync(join(tmpdir(), "pscs-ptz-"));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let sim: Simulator;
let daemon: Pscsd;
let disp1: Client;
let disp2: Client;
let sup1: Client;
let aud1: Client;
let adm1: Client;
let cam: string;
let configFile: string;
const CAD = { purpose: { kind: "incident", reference: "CAD-2026-0042" } };

const model = () => {
  const c = sim.cameras.find((x) => x.describe().id === cam);
  if (!c) throw new Error("no simulated camera");
  return c.ptz;
};
async function settled() {
  for (let i = 0; i < 200; i++) {
    const s = model().status().moveStatus;
    if (s.panTilt === "IDLE" && s.zoom === "IDLE") return model().position();
    await sleep(25);
  }
  throw new Error("still moving");
}
const json = async (res: Response) => ({
  status: res.status,
  body: (await res.json()) as Record<string, unknown>,
});

beforeAll(async () => {
  sim = await startTestCameras(dir, { user: "recorder", password: PASSWORD });
  writeFileSync(join(dir, "cam.pw"), `${PASSWORD}\n`);
  configFile = writeDaemonConfig(dir, {
    httpPort: await freePort(),
    cameras: simCameraConfigs(sim),
    onvif: { heartbeatSeconds: 60, requestTimeoutSeconds: 3 },
    extra: { auth: TEST_AUTH, ptz: { deadmanMs: 500, keepAliveMs: 200, leaseSeconds: 30 } },
  });
  const local = openLocalCatalog(configFile);
  await seedUsers(local, {
    disp1: ["dispatcher"],
    disp2: ["dispatcher"],
    sup1: ["supervisor"],
    aud1: ["auditor"],
    adm1: ["admin"],
  });
  local.close();
  daemon = await startInProcess({ dir, configFile, httpPort: 0 });
  cam = sim.describe()[0]?.id ?? "";
  [disp1, disp2, sup1, aud1, adm1] = (await Promise.all(
    ["disp1", "disp2", "sup1", "aud1", "adm1"].map((u) => login(daemon.url, u)),
  )) as [Client, Client, Client, Client, Client];
  for (let i = 0; ; i++) {
    const { body } = await json(await disp1.request("GET", "/api/cameras"));
    const state = (body.cameras as { id: string; state: string }[]).find((c) => c.id === cam)?.state;
    if (state === "connected") break;
    if (i > 200) throw new Error(`camera not connected: ${state}`);
    await sleep(50);
  }
}, 30_000);
afterAll(async () => {
  await daemon?.stop();
  await sim?.stop();
});

describe("PTZ control over HTTP", () => {
  const base = () => `/api/cameras/${cam}/ptz`;

  it("refuses control without a purpose, naming the field", async () => {
    const none = await json(await disp1.request("POST", `${base()}/control`, {}));
    expect(none.status).toBe(400);
    expect(JSON.stringify(none.body)).toContain("body.purpose");
    const noCad = await json(
      await disp1.request("POST", `${base()}/control`, { purpose: { kind: "incident" } }),
    );
    expect(noCad.status).toBe(400);
    expect(noCad.body.errors).toEqual([
      { field: "body.purpose.reference", message: "incident needs the incident or CAD number" },
    ]);
    expect((await json(await disp1.request("GET", `${base()}/control`))).body).toEqual({ lock: null });
  });

  it("moves the camera for its controller; a second operator is refused and sees who holds it", async () => {
    const granted = await json(await disp1.request("POST", `${base()}/control`, CAD));
    expect(granted).toMatchObject({
      status: 200,
      body: { actor: "user:disp1", keepAliveMs: 200, deadmanMs: 500 },
    });
    expect(
      (await disp1.request("POST", `${base()}/absolute`, { position: { pan: 0.5, tilt: 0.25 } })).status,
    ).toBe(204);
    expect(await settled()).toMatchObject({ pan: 0.5, tilt: 0.25 });
    const other = await json(await disp2.request("POST", `${base()}/absolute`, { position: { pan: -0.5 } }));
    expect(other.status).toBe(409);
    expect(other.body).toMatchObject({ holder: { actor: "user:disp1", purpose: CAD.purpose } });
    const take = await json(
      await disp2.request("POST", `${base()}/control`, { purpose: { kind: "emergency" } }),
    );
    expect(take.status).toBe(409);
    await sleep(100);
    expect(model().position().pan).toBe(0.5);
    const status = await json(await disp2.request("GET", base()));
    expect(status.body).toMatchObject({ position: { pan: 0.5 }, lock: { actor: "user:disp1" } });
  });

  it("stops a continuous move whose client stops sending keep-alives, within the dead-man timeout", async () => {
    expect((await disp1.request("POST", `${base()}/continuous`, { velocity: { pan: -0.5 } })).status).toBe(
      200,
    );
    for (let i = 0; i < 4; i++) {
      await sleep(200);
      expect((await json(await disp1.request("POST", `${base()}/keepalive`))).body).toMatchObject({
        moving: true,
      });
    }
    expect(model().status().moveStatus.panTilt).toBe("MOVING");
    const lapsed = Date.now();
    while (model().status().moveStatus.panTilt === "MOVING") {
      if (Date.now() - lapsed > 3_000) throw new Error("still moving: the dead-man did not stop it");
      await sleep(20);
    }
    expect(Date.now() - lapsed).toBeLessThan(500 + 400);
    const at = model().position().pan;
    expect(at).toBeLessThan(0.5);
    await sleep(300);
    expect(model().position().pan).toBe(at);
    const events = await json(await disp1.request("GET", "/api/ptz/events"));
    expect((events.body.events as { kind: string }[]).map((e) => e.kind)).toContain("deadman-stop");
  });

  it("lets a supervisor take over and tells the previous holder; sessions are reviewable in full", async () => {
    const taken = await json(
      await sup1.request("POST", `${base()}/takeover`, { purpose: { kind: "emergency", note: "pursuit" } }),
    );
    expect(taken).toMatchObject({ status: 200, body: { actor: "user:sup1" } });
    const told = await json(await disp1.request("POST", `${base()}/stop`));
    expect(told.status).toBe(409);
    expect(told.body.detail).toContain("taken over by user:sup1");
    expect((await sup1.request("POST", `${base()}/home/goto`)).status).toBe(204);
    expect((await sup1.request("DELETE", `${base()}/control`)).status).toBe(204);

    expect((await disp1.request("GET", "/api/ptz/sessions")).status).toBe(403);
    const list = await json(await aud1.request("GET", `/api/ptz/sessions?camera=${cam}`));
    const sessions = list.body.sessions as { id: number; actor: string; endReason: string }[];
    expect(sessions.map((s) => [s.actor, s.endReason])).toEqual([
      ["user:sup1", "released"],
      ["user:disp1", "taken-over"],
    ]);
    const first = await json(await sup1.request("GET", `/api/ptz/sessions/${sessions[1]?.id}`));
    expect(first.body).toMatchObject({ purpose: CAD.purpose, endedBy: "user:sup1" });
    expect((first.body.commands as { kind: string }[]).map((c) => c.kind)).toEqual([
      "absolute",
      "continuous",
      "deadman-stop",
    ]);
  });

  it("`pscs ptz` moves, reports and goes home as a named user with a purpose, and releases control", async () => {
    const as = (user: string, args: string[]) =>
      runPscs(["ptz", ...args, "--as", user, "-c", configFile, "--url", daemon.url], "Example-Passw0rd!\n");
    const noPurpose = await as("disp2", ["move", cam, "--to", "0,0"]);
    expect(noPurpose.code).not.toBe(0);
    expect(noPurpose.stderr).toContain("--purpose");
    const badPurpose = await as("disp2", ["move", cam, "--to", "0,0", "--purpose", "incident"]);
    expect(badPurpose).toMatchObject({ code: 2 });
    expect(badPurpose.stderr).toContain("body.purpose.reference");
    const moved = await as("disp2", [
      "move",
      cam,
      "--to",
      "-0.25,0.5,0.1",
      "--purpose",
      "incident:CAD-2026-0077",
    ]);
    expect(moved).toMatchObject({ code: 0 });
    expect(await settled()).toEqual({ pan: -0.25, tilt: 0.5, zoom: 0.1 });
    const status = await as("disp2", ["status", cam, "--json"]);
    expect(JSON.parse(status.stdout)).toMatchObject({ position: { pan: -0.25 }, lock: null });
    const home = await as("disp2", ["home", cam, "--purpose", "emergency"]);
    expect(home).toMatchObject({ code: 0 });
    await settled();
    expect(model().position().pan).not.toBe(-0.25);
    const auditor = await as("aud1", ["status", cam]);
    expect(auditor.code).toBe(77);
  });

  it("shows a PTZ session drawn by the audit sample in full: who, purpose, end, every command", async () => {
    const drawn = await json(await aud1.request("POST", "/api/audit/sample", { count: 50 }));
    expect(drawn.status).toBe(200);
    const items = drawn.body.items as { kind: string; ptzSession?: Record<string, unknown> }[];
    const ptz = items.filter((i) => i.kind === "ptz-session");
    expect(ptz.length).toBeGreaterThanOrEqual(2);
    const first = ptz.find(
      (i) => i.ptzSession?.actor === "user:disp1" && i.ptzSession.endReason === "taken-over",
    );
    expect(first?.ptzSession).toMatchObject({ camera: cam, purpose: CAD.purpose, endedBy: "user:sup1" });
    expect(((first?.ptzSession?.commands ?? []) as { kind: string }[]).map((c) => c.kind)).toEqual([
      "absolute",
      "continuous",
      "deadman-stop",
    ]);
  });

  it("refuses a move into a privacy zone an admin set (problem+json naming it); serves the zones in view", async () => {
    const zonePath = `/api/cameras/${cam}/privacy-zones/flats`;
    const noReason = await disp1.request("PUT", zonePath, {
      pan: [0.4, 0.7],
      tilt: [-0.3, 0.3],
      maxZoom: 0.3,
      reason: "",
    });
    expect(noReason.status).toBe(403); // a dispatcher may not set zones at all
    const bad = await json(
      await adm1.request("PUT", zonePath, { pan: [0.7, 0.4], tilt: [-0.3, 0.3], maxZoom: 0.3, reason: "x" }),
    );
    expect(bad.status).toBe(400);
    const set = await json(
      await adm1.request("PUT", zonePath, {
        pan: [0.4, 0.7],
        tilt: [-0.3, 0.3],
        maxZoom: 0.3,
        reason: "complaint 2026-113",
      }),
    );
    expect(set).toMatchObject({ status: 200, body: { id: "flats", source: "api", setBy: "user:adm1" } });
    expect((await json(await disp1.request("POST", `${base()}/control`, CAD))).status).toBe(200);
    expect(
      (await disp1.request("POST", `${base()}/absolute`, { position: { pan: 0, tilt: 0, zoom: 0 } })).status,
    ).toBe(204);
    await settled();
    const into = await disp1.request("POST", `${base()}/absolute`, { position: { pan: 0.55, tilt: 0 } });
    expect(into.status).toBe(403);
    expect(into.headers.get("content-type")).toContain("application/problem+json");
    const problem = (await into.json()) as Record<string, unknown>;
    expect(problem.detail).toContain("privacy zone 'flats'");
    expect(problem).toMatchObject({ zone: { id: "flats", maxZoom: 0.3 } });
    await sleep(200);
    expect(model().position()).toEqual({ pan: 0, tilt: 0, zoom: 0 });
    const zones = await json(await disp1.request("GET", `/api/cameras/${cam}/privacy-zones`));
    expect(zones.body).toMatchObject({
      position: { pan: 0, tilt: 0, zoom: 0 },
      view: { pan: 0.5, tilt: 2 },
      zones: [{ id: "flats", inView: true, mask: { y: 0.425 } }],
    });
    // The mask a live view draws: the zone's part of the picture, right edge (pan 0.4..0.5 of -0.5..0.5).
    const mask = (zones.body.zones as { mask: { x: number; w: number } }[])[0]?.mask;
    expect(mask?.x).toBeCloseTo(0.9, 9);
    expect(mask?.w).toBeCloseTo(0.1, 9);
    expect((await json(await disp1.request("GET", base()))).body).toMatchObject({ zonesInView: ["flats"] });
    // A continuous move toward it over HTTP stops at its edge: the simulator never points inside.
    expect((await disp1.request("POST", `${base()}/continuous`, { velocity: { pan: 1 } })).status).toBe(200);
    const seen: number[] = [];
    // Watched until the guard has stopped it (a loaded machine moves the simulator late), 5 s at most.
    for (let t = Date.now(); Date.now() - t < 5_000; ) {
      seen.push(model().position().pan);
      if (seen.length > 40 && model().status().moveStatus.panTilt === "IDLE") break;
      if (seen.length % 20 === 0) await disp1.request("POST", `${base()}/keepalive`);
      await sleep(5);
    }
    expect(seen.filter((pan) => pan >= 0.4)).toEqual([]);
    expect(model().status().moveStatus.panTilt).toBe("IDLE");
    expect(model().position().pan).toBeGreaterThan(0.25);
    await disp1.request("POST", `${base()}/absolute`, { position: { pan: 0 } });
    await settled();
    const listed = await runPscs(
      ["ptz", "zones", cam, "--as", "disp2", "-c", configFile, "--url", daemon.url],
      "Example-Passw0rd!\n",
    );
    expect(listed).toMatchObject({ code: 0 });
    expect(listed.stdout).toMatch(/flats\s+pan 0\.400\.\.0\.700 .*\(api, in view\)/);
    expect((await disp1.request("DELETE", `${base()}/control`)).status).toBe(204);
    const removed = await adm1.request("DELETE", zonePath, { reason: "complaint withdrawn" });
    expect(removed.status).toBe(204);
    const changes = await json(await aud1.request("GET", "/api/audit?action=zones."));
    expect(
      (changes.body.entries as { action: string; details: string }[]).map((e) => e.action).sort(),
    ).toEqual(["zones.put", "zones.remove"]);
    const denied = await json(await aud1.request("GET", "/api/audit?action=ptz.refused"));
    expect(JSON.stringify(denied.body)).toContain("flats");
  });
});
