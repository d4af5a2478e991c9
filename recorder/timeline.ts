import type { GapRow, SegmentRow, SegmentStore } from "./segment-store.js";

/**
 * A camera's recording over a time range, as a person reads it: what was recorded (merged into
 * spans where segments are contiguous), and every hole with its cause.
 */

export interface Span {
  startMs: number;
  endMs: number;
  segments: number;
}

export interface Timeline {
  camera: string;
  fromMs: number;
  toMs: number;
  spans: Span[];
  gaps: { startMs: number; endMs: number | null; cause: string }[];
  segments: Pick<SegmentRow, "id" | "startMs" | "endMs" | "bytes" | "sha256" | "state" | "recovered">[];
}

/** Segments whose start is within this of the previous end are one span (one frame at ≥10 fps). */
const CONTIGUOUS_MS = 100;

export function timeline(store: SegmentStore, camera: string, fromMs: number, toMs: number): Timeline {
  const segs = store.segments(camera, fromMs, toMs);
  const spans: Span[] = [];
  for (const s of segs) {
    if (s.state !== "complete" || s.endMs === null) continue;
    const last = spans.at(-1);
    if (last && s.startMs - last.endMs <= CONTIGUOUS_MS) {
      last.endMs = Math.max(last.endMs, s.endMs);
      last.segments++;
    } else spans.push({ startMs: s.startMs, endMs: s.endMs, segments: 1 });
  }
  return {
    camera,
    fromMs,
    toMs,
    spans,
    gaps: store
      .gaps(camera, fromMs, toMs)
      .map((g: GapRow) => ({ startMs: g.startMs, endMs: g.endMs, cause: g.cause })),
    segments: segs.map(({ id, startMs, endMs, bytes, sha256, state, recovered }) => ({
      id,
      startMs,
      endMs,
      bytes,
      sha256,
      state,
      recovered,
    })),
  };
}
