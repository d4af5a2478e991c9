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
import { simPtzCamera } from "../helpers/ptz-camera.js";

// The PTZ service's rules with real parts: the `onvif` client moving the simulated camera, a real
// SQLite directory and audit chain.
const log = createLogger({ name: "test", level: "silent" });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const dana: ActionContext = { actor: "dana", role: "dispatcher", client: "127.0.0.1" };
const lee: ActionContext = { actor: "lee", role: "dispatcher", client: "127.0.0.2" };
const sam: ActionContext = { actor: "sam", role: "supervisor", client: "127.0.0.3" };
const ann: ActionContext = { actor: "ann", role: "auditor", client: "127.0.0.4" };
const CAD = { kind: "incident", reference: "CAD-2026-0042" };

async function refusal(p: Promise<unknown> | (() => unknown)): Promise<ServiceError> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    if (e instanceof ServiceError) return e;
    throw e;
  }
  throw new Error("not refused");
}

describe("PTZ service against the simulated camera", () => {
  const cam = simPtzCamera({ pan: 2, tilt: 2, zoom: 2 });
  const { model, server } = cam;
  const directory = new SqliteDirectory(openCatalog(":memory:"));
  const audit = new AuditLog(directory);
  let ptz: PtzCamera;
  let service: PtzService;
  const entries = () => directory.read((d) => d.audit.list({ action: "ptz.", order: "asc" }));
  const settled = () => cam.settled(150);

  beforeAll(async () => {
    ptz = await cam.connect();
    service = new PtzService({
      directory,
      audit,
      cameras: { ids: new Set(["cam1", "cam2"]), ptz: (c) => (c === "cam1" ? ptz : undefined) },
      zones: new PrivacyZones({ directory, audit, cameras: new Map() }),
      log,
      limits: {
        leaseMs: 1_500,
        deadmanMs: 400,
        cameraCallsPerSecond: 5,
        commandsPerSecond: 20,
        commandBurst: 20,
      },
    });
    await service.start();
  });
  afterAll(async () => {
    await service.stop();
    await server.stop();
  });

  it("refuses control without a well-formed purpose, naming the field", async () => {
    expect(await refusal(service.take("cam1", undefined, dana))).toMatchObject({
      kind: "invalid",
      field: "purpose",
    });
    expect(await refusal(service.take("cam1", { kind: "curiosity" }, dana))).toMatchObject({
      field: "purpose/kind",
    });
    expect(await refusal(service.take("cam1", { kind: "incident" }, dana))).toMatchObject({
      field: "purpose/reference",
    });
    expect(
      await refusal(service.take("cam1", { kind: "investigation", reference: "a\nb" }, dana)),
    ).toMatchObject({
      field: "purpose/reference",
    });
    expect(await refusal(service.take("cam1", { kind: "event" }, dana))).toMatchObject({
      field: "purpose/note",
    });
    expect(await refusal(service.take("cam1", CAD, ann))).toMatchObject({ kind: "forbidden" });
    expect(await refusal(service.absolute("cam1", { pan: 0 }, undefined, dana))).toMatchObject({
      kind: "conflict",
    });
    expect(service.lock("cam1", dana)).toBeNull();
  });

  it("moves the camera for its controller only; a second operator sees who holds it and is refused", async () => {
    const granted = await service.take("cam1", CAD, dana);
    expect(granted).toMatchObject({
      actor: "dana",
      purpose: { kind: "incident", reference: "CAD-2026-0042" },
    });
    await service.absolute("cam1", { pan: 0.5, tilt: -0.5, zoom: 0.2 }, undefined, dana);
    expect(await settled()).toEqual({ pan: 0.5, tilt: -0.5, zoom: 0.2 });
    await service.relative("cam1", { pan: -0.25 }, undefined, dana);
    expect((await settled()).pan).toBeCloseTo(0.25, 6);
    const no = await refusal(service.take("cam1", { kind: "emergency" }, lee));
    expect(no).toMatchObject({
      kind: "conflict",
      extra: { holder: { actor: "dana", session: granted.session } },
    });
    expect(no.message).toContain("dana");
    const moved = await refusal(service.absolute("cam1", { pan: -1 }, undefined, lee));
    expect(moved.kind).toBe("conflict");
    expect(model.position().pan).toBeCloseTo(0.25, 6);
    expect(service.lock("cam1", lee)).toMatchObject({ actor: "dana", purpose: CAD });
    // lee's refused take is audited at once, denied, with the reason; the move after it is counted
    // into the next entry, written when the second is over.
    const refused = (await entries()).filter((e) => e.action === "ptz.refused" && e.actor === "lee");
    expect(refused).toMatchObject([{ actor: "lee", outcome: "denied", target: "camera:cam1" }]);
    expect(JSON.parse(refused[0]?.details ?? "{}")).toMatchObject({
      refusals: 1,
      commands: { control: 1 },
      reasons: [expect.stringContaining("controlled by dana")],
    });
    // Out-of-range targets never reach the camera.
    expect(await refusal(service.absolute("cam1", { pan: 2 }, undefined, dana))).toMatchObject({
      field: "position/pan",
    });

    const token = await service.savePreset("cam1", "Main gate", undefined, dana);
    await service.gotoHome("cam1", dana);
    await settled();
    await service.gotoPreset("cam1", token, dana);
    expect((await settled()).pan).toBeCloseTo(0.25, 6);
    expect((await service.presets("cam1", dana)).map((p) => p.name)).toContain("Main gate");
    await service.deletePreset("cam1", token, dana);
    expect(model.presets().some((p) => p.token === token)).toBe(false);
    const status = await service.status("cam1", dana);
    expect(status).toMatchObject({ moveStatus: { panTilt: "IDLE" }, lock: { actor: "dana" } });

    const mine = (await entries()).filter((e) => e.target === `ptz-session:${granted.session}`);
    expect(mine.map((e) => e.action)).toEqual([
      "ptz.control",
      "ptz.absolute",
      "ptz.relative",
      "ptz.preset.save",
      "ptz.home.goto",
      "ptz.preset.goto",
      "ptz.preset.delete",
    ]);
    expect(JSON.parse(mine[1]?.details ?? "{}")).toEqual({
      camera: "cam1",
      command: "absolute",
      params: { position: { pan: 0.5, tilt: -0.5, zoom: 0.2 } },
      purpose: CAD,
    });
    await service.release("cam1", dana);
    expect(service.lock("cam1", lee)).toBeNull();
    const s = await service.session(granted.session, ann);
    expect(s).toMatchObject({ actor: "dana", endReason: "released", purpose: CAD });
    expect(s.commands.map((c) => c.kind)).toEqual([
      "absolute",
      "relative",
      "preset.save",
      "home.goto",
      "preset.goto",
      "preset.delete",
    ]);
    expect(await refusal(service.sessions({}, lee))).toMatchObject({ kind: "forbidden" });
  });

  it("lets a supervisor take over, audited, and tells the previous holder", async () => {
    const first = await service.take("cam1", CAD, lee);
    expect(await refusal(service.takeover("cam1", { kind: "emergency" }, dana))).toMatchObject({
      kind: "forbidden",
    });
    const taken = await service.takeover("cam1", { kind: "emergency", note: "officer down" }, sam);
    expect(taken).toMatchObject({ actor: "sam" });
    const told = await refusal(service.absolute("cam1", { pan: 0 }, undefined, lee));
    expect(told).toMatchObject({ kind: "conflict", extra: { takenOverBy: "sam" } });
    expect(told.message).toContain("taken over by sam");
    expect(service.events.after(0).filter((e) => e.kind === "taken-over")).toMatchObject([
      { camera: "cam1", actor: "lee", by: "sam", session: first.session },
    ]);
    expect(await service.session(first.session, sam)).toMatchObject({
      endReason: "taken-over",
      endedBy: "sam",
    });
    const all = await entries();
    expect(all.find((e) => e.action === "ptz.takeover")).toMatchObject({
      actor: "sam",
      target: `ptz-session:${taken.session}`,
    });
    expect(
      all.find((e) => e.action === "ptz.end" && e.target === `ptz-session:${first.session}`),
    ).toMatchObject({
      actor: "sam",
    });
    await service.release("cam1", sam);
  });

  it("coalesces a joystick's updates and stops a move whose keep-alives lapse (dead-man)", async () => {
    await service.absolute(
      "cam1",
      { pan: 0 },
      undefined,
      await service.take("cam1", CAD, dana).then(() => dana),
    );
    await settled();
    const before = (await entries()).length;
    await service.continuous("cam1", { pan: -0.2 }, dana);
    // A stuck joystick: 40 updates at once reach the camera at its rate and make no audit entries.
    for (let i = 0; i < 40; i++) await service.continuous("cam1", { pan: i % 2 ? -0.2 : -0.21 }, dana);
    for (let i = 0; i < 3; i++) {
      await sleep(200);
      service.keepAlive("cam1", dana);
    }
    expect(model.status().moveStatus.panTilt).toBe("MOVING");
    // Keep-alives stop: pscsd stops the camera within the dead-man timeout.
    const lapsedAt = Date.now();
    for (;;) {
      if (model.status().moveStatus.panTilt === "IDLE") break;
      if (Date.now() - lapsedAt > 2_000) throw new Error("the move was not stopped");
      await sleep(20);
    }
    expect(Date.now() - lapsedAt).toBeLessThan(400 + 300);
    const at = model.position().pan;
    await sleep(200);
    expect(model.position().pan).toBe(at);
    await sleep(50);
    // (lee's refusals counted in the first test are written meanwhile: not this move's)
    const added = (await entries()).slice(before).filter((e) => e.action !== "ptz.refused");
    expect(added.map((e) => e.action)).toEqual(["ptz.continuous", "ptz.deadman-stop"]);
    const stop = JSON.parse(added[1]?.details ?? "{}");
    expect(stop).toMatchObject({ camera: "cam1", holder: "dana", ended: { updates: 40 } });
    expect(stop.ended.calls).toBeLessThanOrEqual(1 + Math.ceil((stop.ended.durationMs / 1000) * 5) + 1);
    expect(service.events.after(0).at(-1)).toMatchObject({ kind: "deadman-stop", actor: "dana" });
    const session = service.lock("cam1", dana)?.session ?? 0;
    const rows = await directory.read((d) => d.ptzSessions.commands(session));
    expect(rows.map((r) => [r.kind, r.updates])).toEqual([
      ["absolute", 1],
      ["continuous", 41],
      ["deadman-stop", 1],
    ]);
  });

  it("ends control that is left idle past the lease", async () => {
    const held = service.lock("cam1", dana);
    expect(held?.actor).toBe("dana");
    await sleep(1_800);
    expect(service.lock("cam1", dana)).toBeNull();
    expect(await service.session(held?.session ?? 0, sam)).toMatchObject({ endReason: "expired" });
    expect(await refusal(service.stopMove("cam1", dana))).toMatchObject({ kind: "conflict" });
  });

  it("grants one of two operators asking at the same moment, never both", async () => {
    const asked = await Promise.allSettled([service.take("cam1", CAD, dana), service.take("cam1", CAD, lee)]);
    expect(asked.map((a) => a.status).sort()).toEqual(["fulfilled", "rejected"]);
    const winner = asked.find((a) => a.status === "fulfilled")?.value.actor;
    expect(service.lock("cam1", dana)?.actor).toBe(winner);
    const open = await directory.read((d) => d.ptzSessions.unended());
    expect(open.map((s) => s.actor)).toEqual([winner]);
  });

  it("rate limits a person's commands; the refusals are audited, one entry counting those of a second", async () => {
    const own = new SqliteDirectory(openCatalog(":memory:"));
    const ownAudit = new AuditLog(own);
    const limited = new PtzService({
      directory: own,
      audit: ownAudit,
      cameras: { ids: new Set(["cam1"]), ptz: () => ptz },
      zones: new PrivacyZones({ directory: own, audit: ownAudit, cameras: new Map() }),
      log,
      limits: { commandsPerSecond: 2, commandBurst: 2, refusalWindowMs: 500 },
    });
    await limited.take("cam1", CAD, lee);
    await limited.relative("cam1", { pan: 0.01 }, undefined, lee);
    await limited.relative("cam1", { pan: 0.01 }, undefined, lee);
    const refusals = [];
    for (let i = 0; i < 5; i++)
      refusals.push(await refusal(limited.relative("cam1", { pan: 0.01 }, undefined, lee)));
    expect(refusals.map((r) => r.kind)).toEqual(Array(5).fill("throttled"));
    await sleep(600);
    await limited.relative("cam1", { pan: 0.01 }, undefined, lee);
    const moves = await own.read((d) => d.audit.list({ action: "ptz.relative", order: "asc" }));
    expect(moves).toHaveLength(3);
    // The first refusal's entry at once; the four after it within the window, one entry when it closes.
    const denied = await own.read((d) => d.audit.list({ action: "ptz.refused", order: "asc" }));
    expect(denied.map((e) => e.outcome)).toEqual(["denied", "denied"]);
    expect(denied.map((e) => JSON.parse(e.details ?? "{}"))).toMatchObject([
      {
        camera: "cam1",
        refusals: 1,
        commands: { relative: 1 },
        reasons: [expect.stringMatching(/too many/)],
      },
      { camera: "cam1", refusals: 4, commands: { relative: 4 } },
    ]);
    await limited.stop();
  });

  it("tells the dispatcher and the record what the camera refused, without the camera's address", async () => {
    const own = new SqliteDirectory(openCatalog(":memory:"));
    const ownAudit = new AuditLog(own);
    const mine = new PtzService({
      directory: own,
      audit: ownAudit,
      cameras: { ids: new Set(["cam1"]), ptz: () => ptz },
      zones: new PrivacyZones({ directory: own, audit: ownAudit, cameras: new Map() }),
      log,
    });
    await mine.take("cam1", CAD, lee);
    const gone = await refusal(mine.gotoPreset("cam1", "no-such-preset", lee));
    expect(gone.message).toMatch(/refused preset\.goto: ONVIF/);
    expect(gone.message).not.toContain("127.0.0.1");
    const entry = (await own.read((d) => d.audit.list({ action: "ptz.preset.goto" }))).at(0);
    expect(entry?.outcome).toBe("failure");
    expect(entry?.details).toMatch(/ONVIF/);
    expect(entry?.details).not.toContain("127.0.0.1");
    await mine.stop();
  });
});
