import type { GapRow, Gaps } from "../catalog/footage/gaps.js";
import type { SegmentRow, Segments, TimelineRow } from "../catalog/footage/segments.js";
import { ServiceError } from "../errors/service-error.js";

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
  /** Each with its video's frame rate (null: not known): a player steps one frame by it. */
  segments: Pick<
    SegmentRow,
    "id" | "startMs" | "endMs" | "bytes" | "sha256" | "state" | "recovered" | "fps"
  >[];
}

/** Segments whose start is within this of the previous end are one span (one frame at ≥10 fps). */
const CONTIGUOUS_MS = 100;
/**
 * One query spans at most a month: a year of one camera is ~525,000 one-minute segments, an answer
 * of tens of MB built on the event loop; a month is ~45,000 rows, a few MB.
 */
export const MAX_TIMELINE_DAYS = 31;

/** The catalog tables a timeline reads. */
export interface FootageRows {
  segments: Segments;
  gaps: Gaps;
}

export function timeline(rows: FootageRows, camera: string, fromMs: number, toMs: number): Timeline {
  if (!(toMs > fromMs)) throw new ServiceError("invalid", "to: must be after from", "to");
  if (toMs - fromMs > MAX_TIMELINE_DAYS * 86_400_000) {
    throw new ServiceError("invalid", `to: a timeline covers at most ${MAX_TIMELINE_DAYS} days`, "to");
  }
  const found = rows.segments.timelineRows(camera, fromMs, toMs);
  const spans: Span[] = [];
  const segments: Timeline["segments"] = new Array(found.length);
  let last: Span | undefined;
  for (let i = 0; i < found.length; i++) {
    const [id, startMs, endMs, bytes, sha256, state, recovered, fps] = found[i] as TimelineRow;
    segments[i] = { id, startMs, endMs, bytes, sha256, state, recovered: recovered === 1, fps };
    if (state !== "complete" || endMs === null) continue;
    if (last && startMs - last.endMs <= CONTIGUOUS_MS) {
      if (endMs > last.endMs) last.endMs = endMs;
      last.segments++;
    } else {
      last = { startMs, endMs, segments: 1 };
      spans.push(last);
    }
  }
  return {
    camera,
    fromMs,
    toMs,
    spans,
    gaps: rows.gaps
      .list(camera, fromMs, toMs)
      .map((g: GapRow) => ({ startMs: g.startMs, endMs: g.endMs, cause: g.cause })),
    segments,
  };
}
