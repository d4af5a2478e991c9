import { type Db, type Prepare, statementCache } from "../catalog.js";

/**
 * The footage catalog's side of coverage: a camera's segments and destroyed segments in a time
 * range, each clipped to it. Bounded by the (camera, start_ms) indexes: a segment starts at most
 * MAX_SEGMENT_MS before the range.
 */

/** Longer than any segment can be (segmentSeconds is at most 600): bounds the index scan. */
export const MAX_SEGMENT_MS = 660_000;

export interface SegmentSpan {
  fromMs: number;
  toMs: number;
  state: string;
}

export interface DestroyedSpan {
  fromMs: number;
  toMs: number;
  reason: string;
  destroyedAt: number;
}

export class CoverageCatalog {
  private readonly sql: Prepare;

  constructor(db: Db) {
    this.sql = statementCache(db);
  }

  /** Segments of `camera` overlapping [fromMs, toMs), by start; one being recorded ends at `now`. */
  segments(camera: string, fromMs: number, toMs: number, now: number): SegmentSpan[] {
    return this.sql<[number, string, number, number, number], SegmentSpan>(
      `SELECT start_ms fromMs, coalesce(end_ms, ?) toMs, state FROM segments
       WHERE camera = ? AND start_ms >= ? AND start_ms < ? AND coalesce(end_ms, start_ms + 1) > ?
       ORDER BY start_ms`,
    )
      .all(now, camera, fromMs - MAX_SEGMENT_MS, toMs, fromMs)
      .map((r) => ({ ...r, fromMs: Math.max(r.fromMs, fromMs), toMs: Math.min(r.toMs, toMs) }));
  }

  /** The destruction log's entries of `camera` overlapping [fromMs, toMs), by start. */
  destroyed(camera: string, fromMs: number, toMs: number): DestroyedSpan[] {
    return this.sql<[string, number, number, number], DestroyedSpan>(
      `SELECT start_ms fromMs, end_ms toMs, reason, destroyed_at destroyedAt FROM destruction_log
       WHERE camera = ? AND start_ms >= ? AND start_ms < ? AND end_ms > ? ORDER BY start_ms`,
    )
      .all(camera, fromMs - MAX_SEGMENT_MS, toMs, fromMs)
      .map((r) => ({ ...r, fromMs: Math.max(r.fromMs, fromMs), toMs: Math.min(r.toMs, toMs) }));
  }
}
