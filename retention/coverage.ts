import type { Db } from "../src/catalog/catalog.js";

/**
 * What is and is not still there for a camera and a time range: footage on disk, footage destroyed
 * (with when and why), and time never recorded. A hold request is checked against it, and a refused
 * one answers with it, so the clerk can tell the requester exactly what exists.
 */

const MAX_SEGMENT_MS = 660_000;

export interface Span {
  fromMs: number;
  toMs: number;
  segments: number;
}

export interface Coverage {
  camera: string;
  fromMs: number;
  toMs: number;
  /** Recorded and still on disk (complete, or being recorded now). */
  present: Span[];
  /** Destroyed by the purger: gone for good. */
  destroyed: (Span & { reason: string; destroyedAt: number })[];
  /** Recorded once but whose file was lost (reconciliation found it gone). */
  lost: Span[];
  /** Milliseconds of the range with nothing recorded at all. */
  notRecordedMs: number;
}

/** Adjacent or overlapping intervals (within 1 s) merged, for a readable answer. */
function merge<T extends { fromMs: number; toMs: number }>(
  rows: T[],
  same: (a: T, b: T) => boolean = () => true,
) {
  const out: (T & { segments: number })[] = [];
  for (const r of rows) {
    const last = out.at(-1);
    if (last && r.fromMs <= last.toMs + 1_000 && same(last, r)) {
      last.toMs = Math.max(last.toMs, r.toMs);
      last.segments++;
    } else out.push({ ...r, segments: 1 });
  }
  return out;
}

export function coverage(db: Db, camera: string, fromMs: number, toMs: number, now: number): Coverage {
  const segs = db
    .prepare<[number, string, number, number, number], { fromMs: number; toMs: number; state: string }>(
      `SELECT start_ms fromMs, coalesce(end_ms, ?) toMs, state FROM segments
       WHERE camera = ? AND start_ms >= ? AND start_ms < ? AND coalesce(end_ms, start_ms + 1) > ?
       ORDER BY start_ms`,
    )
    .all(now, camera, fromMs - MAX_SEGMENT_MS, toMs, fromMs)
    .map((r) => ({ ...r, fromMs: Math.max(r.fromMs, fromMs), toMs: Math.min(r.toMs, toMs) }));
  const present = merge(segs.filter((s) => s.state === "complete" || s.state === "recording"));
  const lost = merge(segs.filter((s) => s.state === "missing"));
  const destroyed = merge(
    db
      .prepare<
        [string, number, number, number],
        { fromMs: number; toMs: number; reason: string; destroyedAt: number }
      >(
        `SELECT start_ms fromMs, end_ms toMs, reason, destroyed_at destroyedAt FROM destruction_log
         WHERE camera = ? AND start_ms >= ? AND start_ms < ? AND end_ms > ? ORDER BY start_ms`,
      )
      .all(camera, fromMs - MAX_SEGMENT_MS, toMs, fromMs)
      .map((r) => ({ ...r, fromMs: Math.max(r.fromMs, fromMs), toMs: Math.min(r.toMs, toMs) })),
    (a, b) => a.reason === b.reason,
  );
  const covered = [...present, ...lost, ...destroyed].reduce((n, s) => n + (s.toMs - s.fromMs), 0);
  const horizon = Math.min(toMs, now);
  return {
    camera,
    fromMs,
    toMs,
    present,
    destroyed,
    lost,
    notRecordedMs: Math.max(0, horizon - fromMs - covered),
  };
}
