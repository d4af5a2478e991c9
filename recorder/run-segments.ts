import { stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { Segments } from "../src/catalog/footage/segments.js";
import { incomingDir, SEGMENT_EXT, segmentPath } from "../src/footage/layout.js";
import { probeSegment } from "../src/footage/probe.js";
import type { Logger } from "../src/log/logger.js";
import type { SegmentClose } from "./segment-list.js";
import { finishSegment, SegmentWriteError } from "./segment-writer.js";
import type { StreamClock } from "./stream-clock.js";

/**
 * The segments of one ffmpeg run in the catalog and on disk: a `recording` row opened for each file
 * ffmpeg writes, finished (write protocol, segment-writer.ts) when ffmpeg lists it closed, and the one
 * it was writing when it exited resolved from the file itself.
 * Invariant: segments of one run are contiguous by construction: each starts where the previous
 * ended, from ffmpeg's own segment list.
 */

/** What the camera hears of a run's segments. */
export interface SegmentEvents {
  /** The run's first media: its first segment starts at `startMs` (any gap ends there). */
  flowing(startMs: number): void;
  /** The first segment's start, refined by its close (the first estimate came from a progress report). */
  startRefined(startMs: number): void;
  /** A segment was finished and indexed. */
  finished(rowId: number, bytes: number): void;
  /** A segment could not be finished; its row stays `recording`, for reconciliation. */
  writeFailed(err: SegmentWriteError): void;
}

export interface RunSegmentsOptions {
  camera: string;
  root: string;
  ffprobePath: string;
  store: Segments;
  log: Logger;
  events: SegmentEvents;
}

/** What ffmpeg's stderr said of the input's video, for the segment rows (see ffmpeg-run.ts). */
export interface VideoInfo {
  codec?: string;
  width?: number;
  height?: number;
  fps?: number;
}

export class RunSegments {
  /** Row and wall-clock start of the segment being written. */
  private open: { id: number; index: number; startMs: number } | undefined;
  /** Finishing is serialized: rows complete in the order ffmpeg closed their files. */
  private queue: Promise<void> = Promise.resolve();
  /** A segment was finished (or left for reconciliation): the run's rows stay in the catalog. */
  kept = false;
  /** The end of the run's last footage kept (a gap after the run starts there). */
  lastEndMs: number | undefined;
  readonly video: VideoInfo = {};

  constructor(
    private readonly runId: string,
    private readonly clock: StreamClock,
    private readonly o: RunSegmentsOptions,
  ) {}

  /** The path of the run's `index`th file, relative to the recordings root. */
  private fileOf(index: number): string {
    return join(incomingDir(this.o.camera), `${this.runId}-${String(index).padStart(6, "0")}.${SEGMENT_EXT}`);
  }

  private openRow(index: number, startMs: number): { id: number; index: number; startMs: number } {
    return {
      index,
      startMs,
      id: this.o.store.openRecording(this.o.camera, this.runId, startMs, this.fileOf(index)),
    };
  }

  /** Whether the run's first segment exists (media has flowed). */
  get started(): boolean {
    return this.open !== undefined;
  }

  /** Media is flowing: the first segment exists from `startMs`. */
  first(startMs: number): void {
    this.open = this.openRow(0, startMs);
    this.o.events.flowing(startMs);
  }

  /** ffmpeg closed segment `closed.file`: finish it, then open the row of the one that follows. */
  closed(closed: SegmentClose): void {
    const index = Number(/-(\d+)\.\w+$/.exec(closed.file)?.[1]);
    const open = this.open;
    // A segment can close before the run's first usable progress report (a wall-clock boundary just
    // after the start); its close is then the first word that media flows.
    if (!open) this.o.events.flowing(this.clock.wallMs(closed.startS));
    let startMs = open && open.index === index ? open.startMs : this.clock.wallMs(closed.startS);
    if (index === 0 && open?.index === 0) {
      // The run's first segment: its start was estimated from the first report; use the refined one.
      const refined = this.clock.wallMs(closed.startS);
      if (refined !== startMs) this.o.events.startRefined(refined);
      startMs = refined;
    }
    // The clock follows the camera's drift, so a segment's length is its media length give or take
    // the drift since the last close (milliseconds); never negative.
    const endMs = Math.max(startMs, this.clock.wallMs(closed.endS));
    const rowId = open && open.index === index ? open.id : this.openRow(index, startMs).id;
    this.open = this.openRow(index + 1, endMs);
    void this.after(() => this.finish(rowId, this.fileOf(index), startMs, endMs));
  }

  /**
   * After ffmpeg exits (and the segments it listed are finished): the row opened for a segment ffmpeg
   * never listed is resolved from disk. `lastMediaMs` is when the last reported media was received.
   */
  closeDangling(lastMediaMs: number | undefined): Promise<void> {
    return this.after(() => this.resolveDangling(lastMediaMs));
  }

  /** Runs `step` once the segments closed so far are finished; resolves when it has run. */
  after(step: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(step);
    return this.queue;
  }

  private async resolveDangling(lastMediaMs: number | undefined): Promise<void> {
    const open = this.open;
    if (!open) return;
    this.open = undefined;
    const path = join(this.o.root, this.fileOf(open.index));
    const size = await stat(path).then(
      (s) => s.size,
      () => 0,
    );
    // The last progress line is up to one stats period old; the file itself says how far it got.
    const probed = size > 0 ? await probeSegment(path, this.o.ffprobePath) : undefined;
    const endMs = probed ? open.startMs + probed.durationMs : (lastMediaMs ?? open.startMs);
    if (size === 0 || endMs <= open.startMs) {
      this.o.store.discard(open.id);
      await unlink(path).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== "ENOENT") throw e; // never created: nothing to remove
      });
      return;
    }
    // ffmpeg died mid-segment (killed, crashed): keep what it wrote, which MPEG-TS leaves readable.
    await this.finish(open.id, this.fileOf(open.index), open.startMs, endMs);
  }

  private async finish(rowId: number, from: string, startMs: number, endMs: number): Promise<void> {
    const to = segmentPath(this.o.camera, startMs);
    try {
      const { bytes, sha256 } = await finishSegment(this.o.root, from, to);
      if (bytes === 0) {
        // ffmpeg closes a segment it could not write a byte of (a full volume): no footage, no row.
        this.o.store.discard(rowId);
        await unlink(join(this.o.root, to));
        this.o.log.warn({ segment: to, startMs, endMs }, "empty segment discarded");
        return;
      }
      this.kept = true;
      this.lastEndMs = endMs;
      this.o.store.complete(rowId, { startMs, endMs, path: to, bytes, sha256, ...this.video });
      this.o.events.finished(rowId, bytes);
    } catch (e) {
      // ENOSPC, EIO: the daemon goes on (other cameras, live view); the row stays 'recording' for
      // reconciliation (the footage may be there), and the error is counted for health and metrics.
      if (!(e instanceof SegmentWriteError)) throw e;
      this.kept = true;
      this.lastEndMs = endMs;
      this.o.events.writeFailed(e);
    }
  }
}
