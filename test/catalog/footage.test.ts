import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { type Db, openCatalog } from "../../src/catalog/catalog.js";
import { CameraIdentities } from "../../src/catalog/footage/camera-identities.js";
import { ClockSamples } from "../../src/catalog/footage/clock-samples.js";
import { Gaps } from "../../src/catalog/footage/gaps.js";
import { ReadinessProbe } from "../../src/catalog/footage/readiness-probe.js";
import { Segments } from "../../src/catalog/footage/segments.js";

/** The footage catalog's repositories against a real SQLite file: what each promises its callers. */

const T = Date.UTC(2026, 11, 1, 8, 0, 0);
const HASH = "ab".repeat(32);
const dirs: string[] = [];

function fresh(): { db: Db; file: string } {
  const dir = mkdtempSync(join(tmpdir(), "pscs-footage-"));
  dirs.push(dir);
  const file = join(dir, "catalog.db");
  return { db: openCatalog(file), file };
}

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("segments", () => {
  it("keeps a segment from its open row to complete, with every field read back as written", () => {
    const { db } = fresh();
    const segments = new Segments(db, () => T);
    const id = segments.openRecording("cam1", "run1", T, "cam1/.incoming/run1-0.ts");
    expect(segments.get(id)).toEqual({
      id,
      camera: "cam1",
      startMs: T,
      endMs: null,
      path: "cam1/.incoming/run1-0.ts",
      bytes: null,
      sha256: null,
      codec: null,
      width: null,
      height: null,
      fps: null,
      state: "recording",
      recovered: false,
      run: "run1",
    });
    expect(segments.unfinished("cam1", new Set(["run1"]))).toEqual([]);
    expect(segments.unfinished("cam1", new Set()).map((s) => s.id)).toEqual([id]);
    const finished = { startMs: T, endMs: T + 60_000, path: "cam1/a.ts", bytes: 9, sha256: HASH };
    segments.complete(id, { ...finished, codec: "h264", width: 1920, height: 1080, fps: 29.97 });
    expect(segments.get(id)).toMatchObject({
      ...finished,
      codec: "h264",
      fps: 29.97,
      state: "complete",
      recovered: false,
    });
    expect(segments.hasPath("cam1/a.ts")).toBe(true);
    expect(segments.hasPath("cam1/.incoming/run1-0.ts")).toBe(false);
    // A complete row is not discarded: only an open one whose file never got a frame is.
    segments.discard(id);
    expect(segments.get(id)?.state).toBe("complete");
    db.close();
  });

  it("answers ranges by overlap, totals complete footage only, and pages complete paths by id", () => {
    const { db } = fresh();
    const segments = new Segments(db);
    for (let i = 0; i < 3; i++)
      segments.insertRecovered({
        camera: "cam1",
        startMs: T + i * 60_000,
        endMs: T + (i + 1) * 60_000,
        path: `cam1/${i}.ts`,
        bytes: 10,
        sha256: HASH,
      });
    const open = segments.openRecording("cam1", "run2", T + 180_000, "cam1/.incoming/run2-0.ts");
    segments.markMissing(1);
    expect(segments.overlapping("cam1", T + 59_999, T + 60_001).map((s) => s.path)).toEqual([
      "cam1/0.ts",
      "cam1/1.ts",
    ]);
    expect(segments.overlapping("cam2", T, T + 600_000)).toEqual([]);
    expect(segments.timelineRows("cam1", T, T + 60_000)).toEqual([
      [1, T, T + 60_000, 10, HASH, "missing", 1, null],
    ]);
    expect(segments.completeTotals("cam1")).toEqual({
      segments: 2,
      bytes: 20,
      firstMs: T + 60_000,
      lastMs: T + 180_000,
    });
    expect(segments.completeTotals("cam2")).toEqual({ segments: 0, bytes: 0, firstMs: null, lastMs: null });
    expect(segments.completeSince("cam1", T + 120_000).map((s) => s.path)).toEqual(["cam1/2.ts"]);
    expect(segments.completePathsAfter(0, 1)).toEqual([{ id: 2, path: "cam1/1.ts" }]);
    expect(segments.completePathsAfter(2, 10)).toEqual([{ id: 3, path: "cam1/2.ts" }]);
    segments.discard(open);
    expect(segments.get(open)).toBeUndefined();
    db.close();
  });
});

describe("gaps", () => {
  it("keeps at most one open gap per camera, its cause updated, and lists gaps overlapping a range", () => {
    const { db } = fresh();
    const gaps = new Gaps(db);
    gaps.openGap("cam1", T, "pscsd starting");
    gaps.openGap("cam1", T + 5_000, "stalled: no media for 15 s");
    expect(gaps.list("cam1")).toEqual([
      { id: 1, camera: "cam1", startMs: T, endMs: null, cause: "stalled: no media for 15 s" },
    ]);
    gaps.closeGap("cam1", T + 10_000);
    gaps.moveGapEnd("cam1", T + 10_000, T + 9_000);
    expect(gaps.list("cam1")[0]?.endMs).toBe(T + 9_000);
    // An end before the start is clamped to the start.
    gaps.moveGapEnd("cam1", T + 9_000, T - 1);
    expect(gaps.list("cam1")[0]?.endMs).toBe(T);
    gaps.reopenGap("cam1", T);
    expect(gaps.list("cam1")[0]?.endMs).toBeNull();
    gaps.closeGap("cam1", T + 10_000);
    expect(gaps.list("cam1", T + 10_001, T + 20_000)).toEqual([]);
    expect(gaps.list("cam1", T + 10_000, T + 20_000)).toHaveLength(1);
    expect(gaps.list("cam2")).toEqual([]);
    db.close();
  });

  it("at start, names the time since the last footage 'pscsd not running', and ends a dead pscsd's open gap", () => {
    const { db } = fresh();
    const gaps = new Gaps(db);
    new Segments(db).insertRecovered({
      camera: "cam1",
      startMs: T - 60_000,
      endMs: T - 30_000,
      path: "cam1/x.ts",
      bytes: 1,
      sha256: HASH,
    });
    gaps.startGaps("cam1", T, "pscsd starting");
    gaps.startGaps("cam1", T + 60_000, "pscsd starting");
    expect(gaps.list("cam1").map(({ startMs, endMs, cause }) => ({ startMs, endMs, cause }))).toEqual([
      { startMs: T - 30_000, endMs: T, cause: "pscsd not running" },
      { startMs: T, endMs: T + 60_000, cause: "pscsd starting; then pscsd not running" },
      { startMs: T + 60_000, endMs: null, cause: "pscsd starting" },
    ]);
    db.close();
  });
});

describe("clock samples", () => {
  it("keeps each sample as history, one row per camera and instant", () => {
    const { db } = fresh();
    const samples = new ClockSamples(db);
    samples.record("cam1", { sampledAt: T, offsetMs: 1_200, rttMs: 40 });
    samples.record("cam1", { sampledAt: T, offsetMs: 1_300, rttMs: 30 });
    samples.record("cam1", { sampledAt: T + 1, offsetMs: -5, rttMs: 10 });
    expect(
      db
        .prepare("SELECT camera, sampled_at, offset_ms, rtt_ms FROM camera_clock_samples ORDER BY sampled_at")
        .all(),
    ).toEqual([
      { camera: "cam1", sampled_at: T, offset_ms: 1_300, rtt_ms: 30 },
      { camera: "cam1", sampled_at: T + 1, offset_ms: -5, rtt_ms: 10 },
    ]);
    db.close();
  });
});

describe("readiness probe", () => {
  it("writes the catalog for real, throws when it cannot, and leaves the connection's lock wait at 5 s", () => {
    const { db, file } = fresh();
    const probe = new ReadinessProbe(db);
    probe.write(T);
    expect(db.prepare("SELECT at FROM readiness_probe").get()).toEqual({ at: T });
    db.close();
    const readOnly = new Database(file, { readonly: true });
    try {
      expect(() => new ReadinessProbe(readOnly).write(T + 1)).toThrow(/readonly/);
      expect(readOnly.pragma("busy_timeout", { simple: true })).toBe(5000);
    } finally {
      readOnly.close();
    }
  });
});

describe("camera identities and clock samples, as an export reads them", () => {
  it("keep an identity once per change, and answer which one was in force at an instant", () => {
    const { db } = fresh();
    const ids = new CameraIdentities(db);
    const sim = { manufacturer: "PSCS Sim", model: "SIM-PTZ-1", serial: "S1", firmware: "1.0.0" };
    ids.record("cam1", sim, T);
    ids.record("cam1", sim, T + 1_000); // a reconnect, same camera: no new row
    ids.record("cam1", { ...sim, firmware: "1.1.0" }, T + 5_000);
    expect(ids.latestAt("cam1", T + 4_000)).toEqual({ ...sim, seenAt: T });
    expect(ids.latestAt("cam1", T + 5_000)).toEqual({ ...sim, firmware: "1.1.0", seenAt: T + 5_000 });
    expect(ids.latestAt("cam1", T - 1)).toBeUndefined();
    expect(ids.firstAfter("cam1", T - 1)).toEqual({ ...sim, seenAt: T });
    expect(ids.latestAt("cam2", T + 9_000)).toBeUndefined();
  });

  it("give the last sample before a span, every one inside it and the first after it", () => {
    const { db } = fresh();
    const clock = new ClockSamples(db);
    for (const [at, off] of [
      [T - 20_000, 1],
      [T - 10_000, 2],
      [T, 3],
      [T + 5_000, 4],
      [T + 20_000, 5],
      [T + 30_000, 6],
    ] as const)
      clock.record("cam1", { sampledAt: at, offsetMs: off, rttMs: 8 });
    clock.record("cam2", { sampledAt: T + 1, offsetMs: 99, rttMs: 8 });
    expect(clock.around("cam1", T, T + 10_000).map((s) => s.offsetMs)).toEqual([2, 3, 4, 5]);
    expect(clock.around("cam1", T + 40_000, T + 50_000).map((s) => s.offsetMs)).toEqual([6]);
    expect(clock.around("cam3", T, T + 1)).toEqual([]);
  });
});
