import { expect, it } from "vitest";
import type { Directory } from "../../../../src/catalog/directory/directory.js";
import type { PtzSessionFilter, PtzSessionRecord } from "../../../../src/catalog/directory/ptz-sessions.js";

/** What every PTZ session repository promises. */
export function ptzSessionRepositoryContract(open: () => Directory): void {
  const opened = (over: Partial<PtzSessionRecord> = {}) => ({
    camera: "cam1",
    actor: "dana",
    role: "dispatcher",
    purpose: { kind: "incident" as const, reference: "CAD-2026-0042" },
    startedAt: 1_000,
    ...over,
  });

  it("opens, records commands in order, ends once, and reads back in full", async () => {
    const dir = open();
    const id = await dir.tx((d) => d.ptzSessions.open(opened()));
    expect(await dir.read((d) => d.ptzSessions.unended())).toMatchObject([{ id, endedAt: null }]);
    const seqs = await dir.tx(async (d) => [
      await d.ptzSessions.addCommand({
        session: id,
        at: 1_100,
        kind: "absolute",
        params: { pan: 0.5 },
        outcome: "success",
        updates: 1,
        error: null,
      }),
      await d.ptzSessions.addCommand({
        session: id,
        at: 1_200,
        kind: "continuous",
        params: { pan: 0.1 },
        outcome: "success",
        updates: 1,
        error: null,
      }),
    ]);
    expect(seqs).toEqual([1, 2]);
    await dir.tx((d) =>
      d.ptzSessions.updateCommand({
        session: id,
        seq: 2,
        at: 1_200,
        kind: "continuous",
        params: { pan: 0.3 },
        outcome: "failure",
        updates: 7,
        error: "camera offline",
      }),
    );
    expect(await dir.tx((d) => d.ptzSessions.end(id, 2_000, "taken-over", "sam"))).toBe(true);
    expect(await dir.tx((d) => d.ptzSessions.end(id, 3_000, "released"))).toBe(false);
    expect(await dir.read((d) => d.ptzSessions.get(id))).toEqual({
      id,
      ...opened(),
      endedAt: 2_000,
      endReason: "taken-over",
      endedBy: "sam",
    });
    expect(await dir.read((d) => d.ptzSessions.commands(id))).toEqual([
      {
        session: id,
        seq: 1,
        at: 1_100,
        kind: "absolute",
        params: { pan: 0.5 },
        outcome: "success",
        updates: 1,
        error: null,
      },
      {
        session: id,
        seq: 2,
        at: 1_200,
        kind: "continuous",
        params: { pan: 0.3 },
        outcome: "failure",
        updates: 7,
        error: "camera offline",
      },
    ]);
    expect(await dir.read((d) => d.ptzSessions.unended())).toEqual([]);
    expect(await dir.read((d) => d.ptzSessions.get(id + 1))).toBeUndefined();
  });

  it("finds a camera's latest successful command of a kind across its sessions", async () => {
    const dir = open();
    const a = await dir.tx((d) => d.ptzSessions.open(opened({ startedAt: 1_000 })));
    const b = await dir.tx((d) => d.ptzSessions.open(opened({ startedAt: 2_000 })));
    const other = await dir.tx((d) => d.ptzSessions.open(opened({ camera: "cam2", startedAt: 3_000 })));
    const home = (session: number, at: number, pan: number, outcome: "success" | "failure" = "success") =>
      dir.tx((d) =>
        d.ptzSessions.addCommand({
          session,
          at,
          kind: "home.set",
          params: { position: { pan, tilt: 0, zoom: 0 } },
          outcome,
          updates: 1,
          error: null,
        }),
      );
    expect(await dir.read((d) => d.ptzSessions.lastSucceeded("cam1", "home.set"))).toBeUndefined();
    await home(a, 1_100, 0.1);
    await home(b, 2_100, 0.2);
    await home(b, 2_200, 0.3, "failure");
    await home(other, 3_100, 0.9);
    expect(await dir.read((d) => d.ptzSessions.lastSucceeded("cam1", "home.set"))).toMatchObject({
      session: b,
      at: 2_100,
      params: { position: { pan: 0.2 } },
    });
    expect(await dir.read((d) => d.ptzSessions.lastSucceeded("cam1", "preset.save"))).toBeUndefined();
  });

  it("lists newest first, filtered by camera, person and start", async () => {
    const dir = open();
    const a = await dir.tx((d) => d.ptzSessions.open(opened({ startedAt: 1_000 })));
    const b = await dir.tx((d) =>
      d.ptzSessions.open(opened({ camera: "cam2", startedAt: 2_000, purpose: { kind: "emergency" } })),
    );
    const c = await dir.tx((d) =>
      d.ptzSessions.open(
        opened({ actor: "lee", startedAt: 3_000, purpose: { kind: "event", note: "Harbourfest" } }),
      ),
    );
    const ids = async (f: PtzSessionFilter) =>
      (await dir.read((d) => d.ptzSessions.list(f))).map((s) => s.id);
    expect(await ids({})).toEqual([c, b, a]);
    expect(await ids({ camera: "cam1" })).toEqual([c, a]);
    expect(await ids({ actor: "dana" })).toEqual([b, a]);
    expect(await ids({ from: 2_000, to: 3_000 })).toEqual([b]);
    expect(await ids({ limit: 1 })).toEqual([c]);
    expect((await dir.read((d) => d.ptzSessions.get(b)))?.purpose).toEqual({ kind: "emergency" });
  });
}
