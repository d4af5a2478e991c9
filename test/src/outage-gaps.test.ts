import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { OutageGaps } from "../../recorder/outage.js";
import { openCatalog } from "../../src/catalog/catalog.js";
import { Gaps } from "../../src/catalog/footage/gaps.js";
import { Segments } from "../../src/catalog/footage/segments.js";

/** Outages as gap rows in a real catalog file: one row per outage, its cause following the outage. */

const T = Date.UTC(2026, 11, 1, 8, 0, 0);

function fresh() {
  const db = openCatalog(join(mkdtempSync(join(tmpdir(), "pscs-gaps-")), "catalog.db"));
  const store = new Gaps(db);
  const segments = new Segments(db);
  const rows = () =>
    db
      .prepare("SELECT start_ms, end_ms, cause FROM recording_gaps WHERE camera = 'cam1' ORDER BY id")
      .all() as { start_ms: number; end_ms: number | null; cause: string }[];
  return { db, store, segments, rows };
}

describe("outage gaps", () => {
  it("keeps one row for an outage whose runs fail again and again, its cause saying what began it and what goes on", () => {
    const { store, rows } = fresh();
    const gaps = new OutageGaps(store, "cam1");
    gaps.start(T);
    gaps.note(T + 1_000, "ffmpeg exited: rtsp://127.0.0.1/s: Connection refused");
    gaps.note(T + 5_000, "ffmpeg exited: rtsp://127.0.0.1/s: Connection refused");
    gaps.note(T + 9_000, "camera not connected: connect ECONNREFUSED 127.0.0.1:8000");
    expect(rows()).toEqual([
      {
        start_ms: T,
        end_ms: null,
        cause: "pscsd starting; then camera not connected: connect ECONNREFUSED 127.0.0.1:8000",
      },
    ]);
    gaps.close(T + 20_000);
    expect(rows()[0]?.end_ms).toBe(T + 20_000);
    // Recording, then a new outage: a row of its own.
    gaps.note(T + 80_000, "stalled: no media for 15 s");
    expect(rows()).toHaveLength(2);
    expect(rows()[1]).toEqual({ start_ms: T + 80_000, end_ms: null, cause: "stalled: no media for 15 s" });
  });

  it("reopens the gap a run closed when the run kept nothing (a full disk fails its first write)", () => {
    const { store, rows } = fresh();
    const gaps = new OutageGaps(store, "cam1");
    gaps.start(T);
    gaps.note(T + 1_000, "ffmpeg exited: No space left on device");
    for (let attempt = 1; attempt <= 5; attempt++) {
      const closed = gaps.close(T + attempt * 10_000);
      gaps.moveEnd(closed, T + attempt * 10_000 + 300);
      gaps.reopen(closed);
      gaps.note(T + attempt * 10_000 + 2_000, "ffmpeg exited: No space left on device");
    }
    expect(rows()).toEqual([
      { start_ms: T, end_ms: null, cause: "pscsd starting; then ffmpeg exited: No space left on device" },
    ]);
  });

  it("at start, names the time pscsd was down: after a clean stop from the last footage, after a crash mid-outage in the open gap", () => {
    const { store, segments, rows } = fresh();
    segments.insertRecovered({
      camera: "cam1",
      startMs: T - 60_000,
      endMs: T - 30_000,
      path: "cam1/x.ts",
      bytes: 1,
      sha256: "0".repeat(64),
    });
    const first = new OutageGaps(store, "cam1");
    first.start(T);
    expect(rows()).toEqual([
      { start_ms: T - 30_000, end_ms: T, cause: "pscsd not running" },
      { start_ms: T, end_ms: null, cause: "pscsd starting" },
    ]);
    // That pscsd dies in its start-up outage (the gap still open); the next one starts an hour later.
    first.note(T + 5_000, "stalled: no media for 15 s");
    new OutageGaps(store, "cam1").start(T + 3_600_000);
    expect(rows().slice(1)).toEqual([
      {
        start_ms: T,
        end_ms: T + 3_600_000,
        cause: "pscsd starting; then stalled: no media for 15 s; then pscsd not running",
      },
      { start_ms: T + 3_600_000, end_ms: null, cause: "pscsd starting" },
    ]);
  });
});
