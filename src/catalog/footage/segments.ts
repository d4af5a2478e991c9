import { type Db, type Prepare, statementCache } from "../catalog.js";

/**
 * The segments table: one row per segment file, its state and what is known of it. SQL and row
 * mapping only; the order of file and row operations (the write protocol) is the recorder's.
 */

/** recording → complete → purging → purged (the purger), or missing (the file was lost). */
export type SegmentState = "recording" | "complete" | "missing" | "purging" | "purged";

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
  /** Frames per second of its video; null when not known. */
  fps: number | null;
  state: SegmentState;
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
  fps?: number | undefined;
}

/** A timeline's columns of one row: id, start, end, bytes, sha256, state, recovered (0/1), fps. */
export type TimelineRow = [
  number,
  number,
  number | null,
  number | null,
  string | null,
  SegmentState,
  number,
  number | null,
];

/** A camera's complete footage in one figure: how many segments, their bytes, first and last time. */
export interface FootageTotals {
  segments: number;
  bytes: number;
  firstMs: number | null;
  lastMs: number | null;
}

/** Longer than any segment can be (segmentSeconds is at most 600). */
const MAX_SEGMENT_MS = 660_000;

/** A row's columns under SegmentRow's names, so only `recovered` needs mapping. */
const COLUMNS =
  "id, camera, start_ms AS startMs, end_ms AS endMs, path, bytes, sha256, codec, width, height, fps, state, recovered, run";

type StoredSegment = Omit<SegmentRow, "recovered"> & { recovered: number };

const toSegment = (r: StoredSegment): SegmentRow => ({ ...r, recovered: r.recovered === 1 });

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
    s.fps ?? null,
  ] as const;

export class Segments {
  private readonly timelineStmt;
  private readonly pathsAfterStmt;
  private readonly sql: Prepare;

  constructor(
    db: Db,
    private readonly now: () => number = Date.now,
  ) {
    this.sql = statementCache(db);
    this.timelineStmt = db
      .prepare(
        `SELECT id, start_ms, end_ms, bytes, sha256, state, recovered, fps FROM segments
         WHERE camera = ? AND start_ms >= ? AND start_ms < ? AND coalesce(end_ms, start_ms) > ? ORDER BY start_ms`,
      )
      .raw(true);
    this.pathsAfterStmt = db
      .prepare<[number, number]>(
        "SELECT id, path FROM segments WHERE id > ? AND state = 'complete' ORDER BY id LIMIT ?",
      )
      .raw(true);
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
           codec = ?, width = ?, height = ?, fps = ? WHERE id = ?`,
    ).run(...finishedColumns(s), id);
  }

  get(id: number): SegmentRow | undefined {
    const r = this.sql<[number], StoredSegment>(`SELECT ${COLUMNS} FROM segments WHERE id = ?`).get(id);
    return r && toSegment(r);
  }

  /** Rows still 'recording' (from a crash), except those of runs now being written. */
  unfinished(camera: string, activeRuns: ReadonlySet<string>): SegmentRow[] {
    return this.sql<[string], StoredSegment>(
      `SELECT ${COLUMNS} FROM segments WHERE camera = ? AND state = 'recording' ORDER BY start_ms`,
    )
      .all(camera)
      .map(toSegment)
      .filter((r) => !activeRuns.has(r.run));
  }

  /** Indexes a file reconciliation found on disk without a row. */
  insertRecovered(s: FinishedSegment & { camera: string }): void {
    this.sql(
      `INSERT INTO segments (camera, start_ms, end_ms, path, bytes, sha256, codec, width, height, fps, state, recovered, run, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'complete', 1, 'recovered', ?)`,
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
    return this.sql<[string, number], StoredSegment>(
      `SELECT ${COLUMNS} FROM segments WHERE camera = ? AND start_ms >= ? AND state = 'complete' ORDER BY start_ms`,
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

  /** Rows overlapping [fromMs, toMs), in start order. */
  overlapping(camera: string, fromMs: number, toMs: number): SegmentRow[] {
    return this.sql<[string, number, number, number], StoredSegment>(
      // Overlap is start < to and end > from; a segment starts at most one segment length before
      // `from`, which bounds the index range scanned to the query's own span.
      `SELECT ${COLUMNS} FROM segments WHERE camera = ? AND start_ms >= ? AND start_ms < ? AND coalesce(end_ms, start_ms) > ?
         ORDER BY start_ms`,
    )
      .all(camera, fromMs - MAX_SEGMENT_MS, toMs, fromMs)
      .map(toSegment);
  }

  /**
   * The columns a timeline shows, as arrays (no per-row object building in the driver): the
   * timeline of a camera-day is 1,440 rows at 60 s segments, and it is asked for interactively.
   */
  timelineRows(camera: string, fromMs: number, toMs: number): TimelineRow[] {
    return this.timelineStmt.all(camera, fromMs - MAX_SEGMENT_MS, toMs, fromMs) as TimelineRow[];
  }

  /** The camera's complete footage as totals (the console's camera list). */
  completeTotals(camera: string): FootageTotals {
    const t = this.sql<
      [string],
      { n: number; bytes: number | null; first: number | null; last: number | null }
    >(
      "SELECT count(*) n, sum(bytes) bytes, min(start_ms) first, max(end_ms) last FROM segments WHERE camera = ? AND state = 'complete'",
    ).get(camera);
    return { segments: t?.n ?? 0, bytes: t?.bytes ?? 0, firstMs: t?.first ?? null, lastMs: t?.last ?? null };
  }
}
