import { join } from "node:path";
import type { Writable } from "node:stream";
import type { AuditLog } from "../audit/log.js";
import type { ActionContext } from "../auth/service.js";
import type { SegmentRow } from "../catalog/footage/segments.js";
import { ServiceError } from "../errors/service-error.js";
import type { Logger } from "../log/logger.js";
import { watchStalled } from "../stream/stalled.js";
import { statedPurpose } from "./purpose.js";
import { type PlaybackEnd, type PlaybackPlan, planPlayback, streamPlayback } from "./remux.js";
import { type FootageRows, type Timeline, timeline } from "./timeline.js";

/**
 * What the api may ask of recorded footage: read-only, only for configured cameras, playbacks
 * bounded (api is typed against this, not against the class).
 */
export type Recordings = Pick<RecordingsService, "timeline" | "playback" | "segment">;

export interface RecordingsOptions extends FootageRows {
  root: string;
  cameras: ReadonlySet<string>;
  audit: AuditLog;
  log: Logger;
  /** Playbacks one person may have streaming at once (each holds an ffmpeg). */
  maxPlaybacksPerUser: number;
  /** A playback or segment download whose client has read nothing for this long is stopped. */
  stalledMs: number;
  ffmpegPath?: string;
  ffprobePath?: string;
}

export class RecordingsService {
  /** Playbacks streaming now, by actor. */
  private readonly playing = new Map<string, number>();

  constructor(private readonly o: RecordingsOptions) {}

  private known(camera: string): void {
    if (!this.o.cameras.has(camera))
      throw new ServiceError("not_found", `no camera '${camera}' is configured`, "camera");
  }

  timeline(camera: string, fromMs: number, toMs: number): Timeline {
    this.known(camera);
    return timeline(this.o, camera, fromMs, toMs);
  }

  plan(camera: string, fromMs: number, toMs: number): PlaybackPlan {
    this.known(camera);
    return planPlayback(this.o.segments, camera, fromMs, toMs);
  }

  /**
   * Plays a range into `out` (after `begin()`, which may set headers), audited with its segments and
   * the purpose stated for it (refused without one: nothing is shown unless the trail says why).
   * Invariant: a person has at most maxPlaybacksPerUser playbacks streaming; the slot is taken
   * before any slow work, so parallel requests cannot overshoot it, and every refusal is audited, as
   * is every playback stopped because its viewer read nothing (`video.playback.stopped`).
   */
  async playback(
    camera: string,
    fromMs: number,
    toMs: number,
    statedAs: string,
    by: ActionContext,
    out: Writable,
    begin: () => void,
  ): Promise<PlaybackEnd> {
    const purpose = statedPurpose(statedAs);
    const active = this.playing.get(by.actor) ?? 0;
    const target = `camera:${camera}`;
    if (active >= this.o.maxPlaybacksPerUser) {
      await this.o.audit.append({
        ...by,
        action: "video.playback",
        target,
        outcome: "denied",
        details: {
          from: fromMs,
          to: toMs,
          purpose,
          reason: "too many playbacks",
          active,
          limit: this.o.maxPlaybacksPerUser,
        },
      });
      throw new ServiceError(
        "throttled",
        `${by.actor} already has ${active} playbacks streaming, the most one person may; end one first`,
        undefined,
        // A stalled viewer's playback is stopped by then; a live one's slot is free when it ends.
        { retryAfterSeconds: Math.ceil(this.o.stalledMs / 1000), limit: this.o.maxPlaybacksPerUser },
      );
    }
    this.playing.set(by.actor, active + 1);
    try {
      const plan = this.plan(camera, fromMs, toMs);
      await this.o.audit.append({
        ...by,
        action: "video.playback",
        target,
        outcome: "success",
        details: { from: fromMs, to: toMs, purpose, segments: plan.segments.map((s) => s.id) },
      });
      begin();
      const end = await streamPlayback(this.o.root, plan, out, {
        stalledMs: this.o.stalledMs,
        ...(this.o.ffmpegPath ? { ffmpegPath: this.o.ffmpegPath } : {}),
        ...(this.o.ffprobePath ? { ffprobePath: this.o.ffprobePath } : {}),
      });
      if (end === "stalled") {
        // pscsd ended what the person was watching: the trail says so, not only the log.
        await this.o.audit.append({
          ...by,
          action: "video.playback.stopped",
          target,
          outcome: "success",
          details: {
            from: fromMs,
            to: toMs,
            purpose,
            reason: "viewer read nothing",
            stalledMs: this.o.stalledMs,
          },
        });
        this.o.log.info(
          { actor: by.actor, camera, stalledMs: this.o.stalledMs },
          "playback stopped: the viewer read nothing for too long",
        );
      } else if (end === "viewer_left") {
        // Routine (a player closed mid-stream), not a failure: info, and no stack.
        this.o.log.info({ actor: by.actor, camera }, "viewer disconnected");
      }
      return end;
    } finally {
      const n = (this.playing.get(by.actor) ?? 1) - 1;
      if (n > 0) this.playing.set(by.actor, n);
      else this.playing.delete(by.actor);
    }
  }

  /**
   * One finished segment, its file handed to `send` to write into `out` (HTTP: with ranges), for
   * `by` to download: audited (`video.segment`, with the byte range asked for and the purpose
   * stated) before the file is handed out. A client that reads nothing for `stalledMs` is cut off,
   * and that it got an incomplete download is audited too (`video.segment.stopped`).
   */
  async segment(
    id: number,
    statedAs: string,
    by: ActionContext,
    range: string | null,
    out: Writable,
    send: (file: string, row: SegmentRow) => Promise<void>,
  ): Promise<"sent" | "stalled"> {
    const purpose = statedPurpose(statedAs);
    const row = this.o.segments.get(id);
    if (row?.state !== "complete") throw new ServiceError("not_found", `no finished segment ${id}`, "id");
    const target = `camera:${row.camera}`;
    await this.o.audit.append({
      ...by,
      action: "video.segment",
      target,
      outcome: "success",
      details: { segment: row.id, from: row.startMs, to: row.endMs, sha256: row.sha256, range, purpose },
    });
    let stalled = false;
    watchStalled(out, this.o.stalledMs, () => {
      stalled = true;
      out.destroy();
    });
    await send(join(this.o.root, row.path), row);
    if (!stalled) return "sent";
    await this.o.audit.append({
      ...by,
      action: "video.segment.stopped",
      target,
      outcome: "success",
      details: {
        segment: row.id,
        range,
        purpose,
        complete: false,
        reason: "stalled",
        stalledMs: this.o.stalledMs,
      },
    });
    this.o.log.info(
      { actor: by.actor, segment: row.id, stalledMs: this.o.stalledMs },
      "segment download stopped: the client read nothing for too long",
    );
    return "stalled";
  }
}
