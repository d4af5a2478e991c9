import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Segments } from "../src/catalog/footage/segments.js";
import type { Config } from "../src/config/load.js";
import { incomingDir, SEGMENT_EXT } from "../src/footage/layout.js";
import type { Logger } from "../src/log/logger.js";
import { causeText, exitCause, StderrErrors } from "./exit-cause.js";
import { inputOptions, outputOptions, progressOptions, reportPeriodSeconds } from "./ffmpeg-args.js";
import { FfmpegProcess, ffmpegArgs } from "./ffmpeg-process.js";
import { InputVideo, reportedTime } from "./ffmpeg-stderr.js";
import { ProgressFifo } from "./progress-fifo.js";
import { RunSegments, type SegmentEvents } from "./run-segments.js";
import { parseSegmentLine } from "./segment-list.js";
import { StreamClock } from "./stream-clock.js";

/**
 * One ffmpeg run of one camera, from spawn to exit and its last segment indexed: ffmpeg's segment list
 * and progress reports mapped to wall-clock time (stream-clock.ts), the input's codec read from its
 * stderr, a stall or a pause ending the run, and why it ended, in words (exit-cause.ts).
 * Invariant: a run is declared stalled only when no media newer than the stall limit can have been
 * received, however the watchdog's looks and ffmpeg's reports fall.
 */

export interface FfmpegRunOptions {
  camera: string;
  root: string;
  /** A local directory for the progress FIFO (see RecordingOptions in camera-recorder.ts). */
  runDir: string;
  /** Segment length, stall limit, ffmpeg and ffprobe (config.recording). */
  recording: Config["recording"];
  store: Segments;
  log: Logger;
  /** Why recording must not go on now; checked at each look. */
  paused?: () => string | undefined;
  /** Asks the watchdog to look within `ms`. */
  lookWithin?: (ms: number) => void;
  /** Set once the camera's recorder is stopping: a process spawned after that is interrupted at once. */
  stopping: AbortSignal;
  now: () => number;
  events: RunEvents;
}

/** What the camera hears of a run as it goes. */
export interface RunEvents extends SegmentEvents {
  /** Media reported while flowing: the camera is recording. */
  progressed(): void;
  /** No media for the stall limit: the run is being ended. */
  stalled(cause: string): void;
}

export interface RunResult {
  cause: string;
  /** A segment of this run was finished (or left for reconciliation). */
  kept: boolean;
  /** Media seconds the run reached (progress and closes). */
  mediaS: number;
  /** The end of the run's last footage kept. */
  endMs: number | undefined;
  stalled: boolean;
  /** Set when the run was ended because recording was paused. */
  paused?: string;
}

export class FfmpegRun {
  readonly id: string;
  /** When each media time was received (see stream-clock.ts); sampled by reports and closes. */
  private readonly clock = new StreamClock();
  /** Set by the first usable sample: media is flowing. */
  private flowing = false;
  private lastTimemarkS = -1;
  private lastMediaAt: number;
  /** Media seconds the run reached (progress and closes). */
  private mediaS = 0;
  private stalled = false;
  private paused: string | undefined;
  private readonly errors = new StderrErrors();
  private readonly segments: RunSegments;
  private proc: FfmpegProcess | undefined;
  /** The stall and pause check while ffmpeg runs; see look(). */
  private watch: (() => number | undefined) | undefined;
  /** Resolves once ffmpeg has exited and its last segment is indexed. */
  readonly done: Promise<RunResult>;

  constructor(
    url: string,
    private readonly o: FfmpegRunOptions,
  ) {
    this.id = `${Math.floor(o.now() / 1000).toString(36)}${randomBytes(3).toString("hex")}`;
    this.lastMediaAt = o.now();
    this.segments = new RunSegments(this.id, this.clock, { ...o, ffprobePath: o.recording.ffprobe });
    this.done = this.run(url);
  }

  /**
   * The watchdog's look: reads the progress ffmpeg reported since the last look, then checks for a
   * pause or a stall. Answers in how many ms the stall limit runs out if no newer media is reported,
   * or undefined when no ffmpeg is being watched.
   */
  look(): number | undefined {
    return this.watch?.();
  }

  /** Asks ffmpeg to close the current segment cleanly (SIGINT). */
  interrupt(): void {
    this.proc?.interrupt();
  }

  private async run(url: string): Promise<RunResult> {
    const incoming = incomingDir(this.o.camera);
    let progress: ProgressFifo;
    try {
      await mkdir(join(this.o.root, incoming), { recursive: true });
      await mkdir(this.o.runDir, { recursive: true });
      progress = await ProgressFifo.open(join(this.o.runDir, `${this.o.camera}.progress`));
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      return {
        cause: causeText(`cannot prepare ${incoming}: ${why}`),
        kept: false,
        mediaS: 0,
        endMs: undefined,
        stalled: false,
      };
    }
    const exit = await new Promise<Error | undefined>((ended) => {
      const video = new InputVideo();
      const args = ffmpegArgs(
        url,
        [
          ...inputOptions(),
          ...progressOptions(reportPeriodSeconds(this.o.recording.stallSeconds), progress.path),
        ],
        outputOptions({ rtspUrl: url, segmentSeconds: this.o.recording.segmentSeconds, outputPattern: "" }),
        join(this.o.root, incoming, `${this.id}-%06d.${SEGMENT_EXT}`),
      );
      this.proc = new FfmpegProcess(this.o.recording.ffmpeg, args, {
        stdoutLine: (line) => {
          const closed = parseSegmentLine(line);
          if (!closed) return;
          // Every close is also a sample of the clock that, unlike a report read at a watchdog look,
          // arrives the moment it is made.
          this.clock.sample(this.o.now(), closed.endS);
          this.flowing = true;
          this.mediaS = Math.max(this.mediaS, closed.endS);
          this.segments.closed(closed);
        },
        stderrLine: (line) => {
          // -nostats still prints a last report, on the way out.
          const reported = reportedTime(line);
          if (reported !== undefined) return this.onProgress(reported);
          this.errors.push(line);
          const info = video.read(line);
          if (info) Object.assign(this.segments.video, info);
        },
        ended,
      });
      // stop() may have come while the run was still preparing, before there was a process.
      if (this.o.stopping.aborted) this.proc.interrupt();
      const connectingLimitMs = Math.max(this.o.recording.stallSeconds * 1000, 20_000);
      this.watch = () => this.check(progress, connectingLimitMs);
      this.o.lookWithin?.(this.lastMediaAt + connectingLimitMs - this.o.now() + 1);
    });
    this.watch = undefined;
    this.proc = undefined;
    void this.segments.after(() =>
      progress.close().catch((err: unknown) =>
        // The next run replaces it; nothing else reads it.
        this.o.log.warn({ err }, "progress FIFO not removed"),
      ),
    );
    const lastMediaMs = this.flowing ? this.clock.wallMs(this.lastTimemarkS) : undefined;
    // A failure to finish a segment other than a write error (the catalog refusing its row) is not
    // an outcome of the run: as with the segments before (run-segments.ts), it is left to end pscsd.
    return new Promise((resolve) => {
      void this.segments.closeDangling(lastMediaMs).then(() => resolve(this.result(exit)));
    });
  }

  private result(exit: Error | undefined): RunResult {
    const cause =
      this.paused ??
      (this.stalled
        ? `stalled: no media for ${this.o.recording.stallSeconds} s`
        : exitCause(this.errors, exit));
    return {
      cause,
      kept: this.segments.kept,
      mediaS: this.mediaS,
      endMs: this.segments.lastEndMs,
      stalled: this.stalled,
      ...(this.paused ? { paused: this.paused } : {}),
    };
  }

  /** Media time `t` was reported (progress FIFO or ffmpeg's last stderr report). */
  private onProgress(t: number): void {
    if (!(t > this.lastTimemarkS)) return;
    const now = this.o.now();
    this.lastTimemarkS = t;
    this.mediaS = Math.max(this.mediaS, t);
    // The first report (time 0, give or take µs) comes after ffmpeg's input probe has buffered a few
    // seconds, so it says nothing about when they arrived; later ones lag real time by up to one look
    // (segment closes, which are not delayed, refine the clock).
    if (t < 0.01) {
      this.lastMediaAt = now;
      return;
    }
    this.clock.sample(now, t);
    this.flowing = true;
    // When that media arrived, not when its report was read (up to a look later): the stall limit
    // runs from the media itself, however the looks and the reports fall.
    this.lastMediaAt = Math.max(this.lastMediaAt, this.clock.wallMs(t));
    // Media is flowing: the first segment exists, and any gap ends where it starts.
    if (!this.segments.started) this.segments.first(this.clock.wallMs(0));
    else this.o.events.progressed();
  }

  private check(progress: ProgressFifo, connectingLimitMs: number): number | undefined {
    let reported: number | undefined;
    try {
      reported = progress.drain();
    } catch (err) {
      // Unreadable progress looks like no progress: the stall limit then restarts ffmpeg.
      this.o.log.error({ err }, "ffmpeg's progress could not be read");
    }
    if (reported !== undefined) this.onProgress(reported);
    const pause = this.o.paused?.();
    if (pause && !this.paused) {
      // The current segment is closed cleanly (SIGINT), then nothing new is written.
      this.paused = pause;
      this.proc?.stop();
    }
    if (this.paused || this.stalled) return undefined;
    // Before the first media, connecting and probing take their own time (RTSP DESCRIBE, ffmpeg's
    // input probe); ffmpeg's socket timeout bounds that phase. After it, media newer than the last
    // report may be up to one report period unreported: a stall is declared after stallSeconds plus
    // that, so flowing media never looks stalled.
    const limitMs = !this.flowing
      ? connectingLimitMs
      : (this.o.recording.stallSeconds + reportPeriodSeconds(this.o.recording.stallSeconds)) * 1000;
    const left = this.lastMediaAt + limitMs - this.o.now();
    if (left >= 0) return left + 1;
    this.stalled = true;
    this.o.events.stalled(`no media for ${this.o.recording.stallSeconds} s`);
    this.proc?.stop();
    return undefined;
  }
}
