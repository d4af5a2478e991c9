import { join } from "node:path";
import type { Writable } from "node:stream";
import { ServiceError } from "../src/errors/service-error.js";
import { type PlaybackPlan, planPlayback, streamPlayback } from "./playback.js";
import type { SegmentRow, SegmentStore } from "./segment-store.js";
import { type Timeline, timeline } from "./timeline.js";

/** What the api may ask of recorded footage: read-only, and only for configured cameras. */
export class Recordings {
  constructor(
    private readonly store: SegmentStore,
    private readonly root: string,
    private readonly cameras: ReadonlySet<string>,
    private readonly ffmpegPath = "ffmpeg",
    private readonly ffprobePath = "ffprobe",
  ) {}

  private known(camera: string): void {
    if (!this.cameras.has(camera))
      throw new ServiceError("not_found", `no camera '${camera}' is configured`, "camera");
  }

  timeline(camera: string, fromMs: number, toMs: number): Timeline {
    this.known(camera);
    if (!(toMs > fromMs)) throw new ServiceError("invalid", "to: must be after from", "to");
    return timeline(this.store, camera, fromMs, toMs);
  }

  plan(camera: string, fromMs: number, toMs: number): PlaybackPlan {
    this.known(camera);
    return planPlayback(this.store, camera, fromMs, toMs);
  }

  stream(plan: PlaybackPlan, out: Writable): Promise<void> {
    return streamPlayback(this.root, plan, out, this.ffmpegPath, this.ffprobePath);
  }

  /** One finished segment and where its file is. */
  segment(id: number): { row: SegmentRow; file: string } {
    const row = this.store.get(id);
    if (row?.state !== "complete") throw new ServiceError("not_found", `no finished segment ${id}`, "id");
    return { row, file: join(this.root, row.path) };
  }
}
