import { join } from "node:path";
import type { SegmentRow, Segments } from "../../src/catalog/footage/segments.js";
import type { SourceSegment } from "../../src/exports/package-format.js";
import { type PlaybackPlan, planRange, writeClip } from "../../src/footage/remux.js";
import type { HoldRange } from "../../src/holds/hold.js";
import { sha256File } from "../../src/storage/durable.js";

/**
 * One range of one camera as a package clip: its held segments, each checked against the hash the
 * catalog recorded when it was closed, stream-copied into one faststart MP4 from the keyframe at or
 * before the requested start.
 * Invariant: a clip is made only from segments whose bytes hash to their catalog row's SHA-256; one
 * that does not fails the whole production (SourceChangedError), never a package with it inside.
 */

/** A source segment whose file no longer matches the catalog: the footage was changed or damaged. */
export class SourceChangedError extends Error {
  constructor(
    readonly segment: SegmentRow,
    found: string,
  ) {
    super(
      `segment ${segment.id} (${segment.path}) does not match the catalog: SHA-256 ${found}, the catalog recorded ${segment.sha256 ?? "none"}; the footage was changed or damaged, nothing is exported`,
    );
    this.name = "SourceChangedError";
  }
}

export interface ClipPlan {
  range: HoldRange;
  plan: PlaybackPlan;
  /** Sum of the source segments' sizes. */
  sourceBytes: number;
}

export interface MadeClip {
  /** UTC ms of the keyframe the clip starts on. */
  fromMs: number;
  /** UTC ms of its last packet's end. */
  toMs: number;
  sources: SourceSegment[];
}

export function planClip(segments: Segments, range: HoldRange): ClipPlan {
  const plan = planRange(segments, range.camera, range.fromMs, range.toMs);
  return { range, plan, sourceBytes: plan.segments.reduce((n, s) => n + (s.bytes ?? 0), 0) };
}

/** Hashes each source against its catalog row; `onBytes` is told each one's size once it is hashed. */
export async function checkSources(
  recordings: string,
  c: ClipPlan,
  o: { signal?: AbortSignal | undefined; onBytes: (bytes: number) => void },
): Promise<void> {
  for (const s of c.plan.segments) {
    o.signal?.throwIfAborted();
    const found = await sha256File(join(recordings, s.path));
    if (found !== s.sha256) throw new SourceChangedError(s, found);
    o.onBytes(s.bytes ?? 0);
  }
}

/**
 * Writes the clip to `file`. The span it states: from the keyframe it starts on to its last packet's
 * end, as ffprobe reads the file, plus any time between source segments that was not recorded (the
 * concat joins segments end to end, so a recording gap shortens the file, not the wall-clock span).
 */
export async function makeClip(
  recordings: string,
  c: ClipPlan,
  file: string,
  o: {
    ffmpegPath: string;
    ffprobePath: string;
    signal?: AbortSignal | undefined;
    onBytes: (bytes: number) => void;
  },
): Promise<MadeClip> {
  const { plan } = c;
  const written = await writeClip(recordings, plan, file, {
    ffmpegPath: o.ffmpegPath,
    ffprobePath: o.ffprobePath,
    ...(o.signal ? { signal: o.signal } : {}),
    onBytes: (n) => o.onBytes(Math.min(n, c.sourceBytes)),
  });
  let unrecordedMs = 0;
  for (let i = 1; i < plan.segments.length; i++) {
    const prev = plan.segments[i - 1] as SegmentRow;
    const next = plan.segments[i] as SegmentRow;
    unrecordedMs += Math.max(0, next.startMs - (prev.endMs ?? next.startMs));
  }
  const fromMs = (plan.segments[0] as SegmentRow).startMs + written.startOffsetMs;
  return {
    fromMs,
    toMs: fromMs + written.durationMs + unrecordedMs,
    sources: plan.segments.map((s) => ({
      segment: s.id,
      file: s.path,
      from: new Date(s.startMs).toISOString(),
      to: new Date(s.endMs ?? s.startMs).toISOString(),
      sha256: s.sha256 ?? "",
      bytes: s.bytes ?? 0,
    })),
  };
}
