import { type Db, type Prepare, statementCache } from "../src/catalog/catalog.js";

/**
 * The recorder's catalog rows: segments and gaps. SQL only; the order of file and row operations
 * (the write protocol) is segment-writer.ts's and camera-recorder.ts's business.
 */

/** Longer than any segment can be (segmentSeconds is at most 600). */
const MAX_SEGMENT_MS = 660_000;

export interface SegmentRow {
  id: number;
  camera: string;
  startMs: number;
  endMs: number | null;
  path: string;
  bytes: number | null;
  sha256: string | null;
  codec: string | null;
  width: number | null;
  height: number | null;
  state: "recording" | "complete" | "missing" | "purging" | "purged";
  recovered: boolean;
  run: string;
}

/** What is known of a segment once its file is finished. */
export interface FinishedSegment {
  startMs: number;
  endMs: number;
  path: string;
  bytes: number;
  sha256: string;
  codec?: string | undefined;
  width?: number | undefined;
  height?: number | undefined;
}

export interface GapRow {
  id: number;
  camera: string;
  startMs: number;
  endMs: number | null;
  cause: string;
}

interface RawSegment {
  id: number;
  camera: string;
  start_ms: number;
  end_ms: number | null;
  path: string;
  bytes: number | null;
  sha256: string | null;
  codec: string | null;
  width: number | null;
  height: number | null;
  state: SegmentRow["state"];
  recovered: number;
  run: string;
}

const toSegment = (r: RawSegment): SegmentRow => ({
  id: r.id,
  camera: r.camera,
  startMs: r.start_ms,
  endMs: r.end_ms,
  path: r.path,
  bytes: r.bytes,
  sha256: r.sha256,
  codec: r.codec,
  width: r.width,
  height: r.height,
  state: r.state,
  recovered: r.recovered === 1,
  run: r.run,
});

/** A finished segment's values in the column order both statements that write one use. */
const finishedColumns = (s: FinishedSegment) =>
  [
    s.startMs,
    s.endMs,
    s.path,
    s.bytes,
    s.sha256,
    s.codec ?? null,
    s.width ?? null,
    s.height ?? null,
  ] as const;

export class SegmentStore {
  private readonly timelineStmt;
  private readonly gapsStmt;
  private readonly pathsAfterStmt;
  private readonly sql: Prepare;

  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {
    this.sql = statementCache(db);
    this.timelineStmt = db
      .prepare(
        `SELECT id, start_ms, end_ms, bytes, sha256, state, recovered FROM segments
         WHERE camera = ? AND start_ms >= ? AND start_ms < ? AND coalesce(end_ms, start_ms) > ? ORDER BY start_ms`,
      )
      .raw(true);
    this.pathsAfterStmt = db
      .prepare<[number, number]>(
        "SELECT id, path FROM segments WHERE id > ? AND state = 'complete' ORDER BY id LIMIT ?",
      )
      .raw(true);
    this.gapsStmt = db.prepare<
      [string, number, number, number],
      { id: number; camera: string; start_ms: number; end_ms: number | null; cause: string }
    >(
      "SELECT * FROM recording_gaps WHERE camera = ? AND start_ms < ? AND coalesce(end_ms, ?) >= ? ORDER BY start_ms",
    );
  }

  openRecording(camera: string, run: string, startMs: number, path: string): number {
    return Number(
      this.sql(
        "INSERT INTO segments (camera, start_ms, path, state, run, created_at) VALUES (?, ?, ?, 'recording', ?, ?)",
      ).run(camera, startMs, path, run, this.now()).lastInsertRowid,
    );
  }

  complete(id: number, s: FinishedSegment): void {
    this.sql(
      `UPDATE segments SET state = 'complete', start_ms = ?, end_ms = ?, path = ?, bytes = ?, sha256 = ?,
           codec = ?, width = ?, height = ? WHERE id = ?`,
    ).run(...finishedColumns(s), id);
  }

  get(id: number): SegmentRow | undefined {
    const r = this.sql<[number], RawSegment>("SELECT * FROM segments WHERE id = ?").get(id);
    return r && toSegment(r);
  }

  /** Rows still 'recording' (from a crash), except those of runs now being written. */
  unfinished(camera: string, activeRuns: ReadonlySet<string>): SegmentRow[] {
    return this.sql<[string], RawSegment>(
      "SELECT * FROM segments WHERE camera = ? AND state = 'recording' ORDER BY start_ms",
    )
      .all(camera)
      .map(toSegment)
      .filter((r) => !activeRuns.has(r.run));
  }

  /** Indexes a file reconciliation found on disk without a row. */
  insertRecovered(s: FinishedSegment & { camera: string }): void {
    this.sql(
      `INSERT INTO segments (camera, start_ms, end_ms, path, bytes, sha256, codec, width, height, state, recovered, run, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'complete', 1, 'recovered', ?)`,
    ).run(s.camera, ...finishedColumns(s), this.now());
  }

  markRecovered(id: number): void {
    this.sql("UPDATE segments SET recovered = 1 WHERE id = ?").run(id);
  }

  markMissing(id: number): void {
    this.sql("UPDATE segments SET state = 'missing' WHERE id = ?").run(id);
  }

  hasPath(path: string): boolean {
    return this.sql("SELECT 1 FROM segments WHERE path = ?").get(path) !== undefined;
  }

  completeSince(camera: string, fromMs: number): SegmentRow[] {
    return this.sql<[string, number], RawSegment>(
      "SELECT * FROM segments WHERE camera = ? AND start_ms >= ? AND state = 'complete' ORDER BY start_ms",
    )
      .all(camera, fromMs)
      .map(toSegment);
  }

  /**
   * Id and path of complete rows after `afterId` in id order: the periodic sweep's next batch. Only
   * the two columns it checks, as arrays: whole rows as objects cost 16 ms a batch of 5,000, these 2.
   */
  completePathsAfter(afterId: number, limit: number): { id: number; path: string }[] {
    return (this.pathsAfterStmt.all(afterId, limit) as [number, string][]).map(([id, path]) => ({
      id,
      path,
    }));
  }

  /** A row whose file never got a frame (ffmpeg died as it opened it). */
  discard(id: number): void {
    this.sql("DELETE FROM segments WHERE id = ? AND state = 'recording'").run(id);
  }

  segments(camera: string, fromMs: number, toMs: number): SegmentRow[] {
    return this.sql<[string, number, number, number], RawSegment>(
      // Overlap is start < to and end > from; a segment starts at most one segment length before
      // `from`, which bounds the index range scanned to the query's own span.
      `SELECT * FROM segments WHERE camera = ? AND start_ms >= ? AND start_ms < ? AND coalesce(end_ms, start_ms) > ?
         ORDER BY start_ms`,
    )
      .all(camera, fromMs - MAX_SEGMENT_MS, toMs, fromMs)
      .map(toSegment);
  }

  /**
   * The columns a timeline shows, as arrays (no per-row object building in the driver): the
   * timeline of a camera-day is 1,440 rows at 60 s segments, and it is asked for interactively.
   */
  timelineRows(
    camera: string,
    fromMs: number,
    toMs: number,
  ): [number, number, number | null, number | null, string | null, SegmentRow["state"], number][] {
    return this.timelineStmt.all(camera, fromMs - MAX_SEGMENT_MS, toMs, fromMs) as [
      number,
      number,
      number | null,
      number | null,
      string | null,
      SegmentRow["state"],
      number,
    ][];
  }

  allSegments(camera: string): SegmentRow[] {
    return this.sql<[string], RawSegment>("SELECT * FROM segments WHERE camera = ? ORDER BY start_ms")
      .all(camera)
      .map(toSegment);
  }

  /**
   * The camera's outage, with its cause as known now: a new gap from `startMs`, or the open one's
   * cause updated (the reason can change while an outage lasts; it stays one gap).
   * Invariant: at most one open gap per camera.
   */
  openGap(camera: string, startMs: number, cause: string): void {
    const open = this.sql<[string], { id: number; cause: string }>(
      "SELECT id, cause FROM recording_gaps WHERE camera = ? AND end_ms IS NULL",
    ).get(camera);
    if (open) {
      if (open.cause !== cause)
        this.sql("UPDATE recording_gaps SET cause = ? WHERE id = ?").run(cause, open.id);
      return;
    }
    this.sql("INSERT INTO recording_gaps (camera, start_ms, cause) VALUES (?, ?, ?)").run(
      camera,
      startMs,
      cause,
    );
  }

  /**
   * At the recorder's start: the time since the camera's last footage is a gap of its own, pscsd not
   * running (a gap a dead pscsd left open ends here too, saying so); then `cause`'s gap opens.
   */
  startGaps(camera: string, startMs: number, cause: string): void {
    this.db.transaction(() => {
      const open = this.sql<[string], { id: number }>(
        "SELECT id FROM recording_gaps WHERE camera = ? AND end_ms IS NULL",
      ).get(camera);
      const last = this.sql<[string], { end_ms: number | null }>(
        "SELECT end_ms FROM segments WHERE camera = ? ORDER BY start_ms DESC LIMIT 1",
      ).get(camera);
      if (open) {
        this.sql(
          "UPDATE recording_gaps SET end_ms = max(start_ms, ?), cause = cause || '; then pscsd not running' WHERE id = ?",
        ).run(startMs, open.id);
      } else if (last?.end_ms && last.end_ms < startMs) {
        this.sql("INSERT INTO recording_gaps (camera, start_ms, end_ms, cause) VALUES (?, ?, ?, ?)").run(
          camera,
          last.end_ms,
          startMs,
          "pscsd not running",
        );
      }
      this.sql("INSERT INTO recording_gaps (camera, start_ms, cause) VALUES (?, ?, ?)").run(
        camera,
        startMs,
        cause,
      );
    })();
  }

  closeGap(camera: string, endMs: number): void {
    this.sql("UPDATE recording_gaps SET end_ms = max(start_ms, ?) WHERE camera = ? AND end_ms IS NULL").run(
      endMs,
      camera,
    );
  }

  /** A gap closed at an estimate of when recording resumed, corrected once the estimate improves. */
  moveGapEnd(camera: string, fromMs: number, toMs: number): void {
    this.sql("UPDATE recording_gaps SET end_ms = max(start_ms, ?) WHERE camera = ? AND end_ms = ?").run(
      toMs,
      camera,
      fromMs,
    );
  }

  /**
   * The gap a run closed at `endMs` (its first media) is open again: the run kept no footage (it
   * failed before its first segment), so the outage goes on as one gap.
   */
  reopenGap(camera: string, endMs: number): void {
    this.sql(
      `UPDATE recording_gaps SET end_ms = NULL WHERE id =
         (SELECT id FROM recording_gaps WHERE camera = ? ORDER BY start_ms DESC, id DESC LIMIT 1) AND end_ms = ?`,
    ).run(camera, endMs);
  }

  gaps(camera: string, fromMs = 0, toMs = Number.MAX_SAFE_INTEGER): GapRow[] {
    return this.gapsStmt
      .all(camera, toMs, Number.MAX_SAFE_INTEGER, fromMs)
      .map((r) => ({ id: r.id, camera: r.camera, startMs: r.start_ms, endMs: r.end_ms, cause: r.cause }));
  }
}
