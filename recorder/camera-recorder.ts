import type { Gaps } from "../src/catalog/footage/gaps.js";
import type { Segments } from "../src/catalog/footage/segments.js";
import type { Config } from "../src/config/load.js";
import type { RecordingHealth } from "../src/health/health.js";
import type { RecordingState } from "../src/health/recording-state.js";
import type { Logger } from "../src/log/logger.js";
import { type BackoffPolicy, backoffDelay, sleep } from "../src/retry/backoff.js";
import { FfmpegRun, type RunEvents, type RunResult } from "./ffmpeg-run.js";
import { type ClosedGap, OutageGaps } from "./outage.js";

/**
 * Records one camera: one ffmpeg run at a time (ffmpeg-run.ts), restarted with backoff after it ends,
 * waiting while the camera is not connected or recording is paused.
 * Invariant: any time between runs is a gap row with its cause (one row per outage: outage.ts); the
 * segments of a run are contiguous by construction (run-segments.ts).
 */

/** A camera's recorder as health and metrics show it. */
export interface RecorderStatus extends RecordingHealth {
  camera: string;
}

/** What every camera records with, the same for each: Recorder hands it on whole. */
export interface RecordingOptions {
  root: string;
  /**
   * A local directory for ffmpeg's progress FIFO: not the recordings volume, which may be a network
   * share that cannot hold a FIFO (SMB refuses mkfifo).
   */
  runDir: string;
  /** Segment length, stall limit, ffmpeg and ffprobe, and the waits between failed runs (retry). */
  recording: Config["recording"];
  store: Segments;
  gaps: Gaps;
  log: Logger;
  /** Called with each segment's row id once it is finished and indexed. */
  onSegment?: (segment: number) => void;
  /** Why recording must not go on now (disk pressure, as configured), or undefined to record. */
  paused?: () => string | undefined;
}

export interface CameraRecorderOptions extends RecordingOptions {
  camera: string;
  /** The camera's current RTSP URL with credentials, or undefined while it is not connected. */
  streamUrl: () => string | undefined;
  /** Why the camera is not connected (undefined while its first connection is being tried). */
  cameraError: () => string | undefined;
  /** Re-fetches the stream URI from the camera after ffmpeg failed; streamUrl() answers with it. */
  refreshStreamUrl: () => Promise<void>;
  /** Asks the watchdog to look within `ms` (a run started; its first deadline may be nearer than the next look). */
  lookWithin?: (ms: number) => void;
  now?: () => number;
}

/** Footage a run must keep for the backoff to start again from its base: one good run, not a flap. */
const RECORDED_RESET_S = 10;

export class CameraRecorder {
  private current: RecorderStatus;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  /** The ffmpeg run writing now, from its start until its last segment is indexed. */
  private run: FfmpegRun | undefined;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly gaps: OutageGaps;
  /** Set by wake(): the camera's connection changed, so the wait before the next run is cut short. */
  private woken = false;
  private wakeup: AbortController | undefined;
  /** Waits between failed runs (equal jitter); also the longest wait for a camera to connect. */
  private readonly backoff: BackoffPolicy;

  constructor(private readonly o: CameraRecorderOptions) {
    this.now = o.now ?? Date.now;
    const { baseSeconds, capSeconds } = o.recording.retry;
    this.backoff = { baseMs: baseSeconds * 1000, capMs: capSeconds * 1000, jitter: "equal" };
    this.log = o.log.child({ camera: o.camera, component: "recorder" });
    this.gaps = new OutageGaps(o.gaps, o.camera);
    this.current = {
      camera: o.camera,
      state: "connecting",
      since: this.now(),
      restarts: 0,
      segments: 0,
      bytes: 0,
      writeErrors: 0,
    };
  }

  /** The ffmpeg run writing now, if any: reconciliation leaves its rows and files alone. */
  activeRun(): string | undefined {
    return this.run?.id;
  }

  status(): RecorderStatus {
    return { ...this.current };
  }

  /**
   * The watchdog's look (see watchdog.ts) at the running ffmpeg, if any (FfmpegRun.look): answers in
   * how many ms this camera's stall limit runs out, or undefined when no ffmpeg is being watched.
   */
  look(): number | undefined {
    return this.run?.look();
  }

  start(): void {
    this.loop ??= this.retryLoop().catch((err: unknown) =>
      this.log.error({ err }, "recorder loop ended unexpectedly"),
    );
  }

  /**
   * The camera's connection changed (connected again, offline, a new stream URI), or recording was
   * paused or resumed: whatever the wait was for, the next run is tried now (or the pause noted).
   * Nothing else is as good a sign that a retry will work.
   */
  wake(): void {
    this.woken = true;
    this.wakeup?.abort();
  }

  /** Asks ffmpeg to close the current segment cleanly (SIGINT), then waits for it to be indexed. */
  async stop(): Promise<void> {
    this.abort.abort(new Error("stopping"));
    this.wakeup?.abort();
    this.run?.interrupt();
    await this.loop;
  }

  private setState(state: RecordingState, lastError?: string): void {
    if (state !== this.current.state) {
      this.current = { ...this.current, state, since: this.now() };
      this.log.info({ state, lastError }, "recorder state");
    }
    if (lastError !== undefined) this.current.lastError = lastError;
  }

  /** Sleeps `ms`, less if woken; false once stopping. */
  private async rest(ms: number): Promise<boolean> {
    const signal = this.abort.signal;
    if (!this.woken && !signal.aborted) {
      // Aborted by wake() and by stop(): either way the wait is over.
      this.wakeup = new AbortController();
      await sleep(ms, this.wakeup.signal).catch(() => undefined);
      this.wakeup = undefined;
    }
    return !signal.aborted;
  }

  private async retryLoop(): Promise<void> {
    const signal = this.abort.signal;
    // Time since the last recorded segment, while pscsd itself was down, is a gap of its own; the
    // time until this start's first media is the start-up gap.
    this.gaps.start(this.now());
    let failures = 0;
    while (!signal.aborted) {
      this.woken = false;
      const pause = this.o.paused?.();
      if (pause) {
        const entering = this.current.state !== "paused";
        this.setState("paused", pause);
        // The reason's free-space figure changes at every sample: written when the pause begins only.
        if (entering) this.gaps.note(this.current.since, pause);
        // Woken when the pause ends (Recorder.pauseChanged); the cap is only a fallback. A wait on a
        // short beat would wake a paused pscsd once per camera each beat (BENCHMARKS.md).
        if (!(await this.rest(this.backoff.capMs))) return;
        continue;
      }
      const url = this.o.streamUrl();
      if (!url) {
        const err = this.o.cameraError();
        const cause = `camera not connected${err ? `: ${err}` : ""}`;
        // While the first connection is still being tried there is no news: the outage's cause stands.
        if (err !== undefined || !this.gaps.open) this.gaps.note(this.current.since, cause);
        this.setState(err !== undefined ? "offline" : "connecting", err !== undefined ? cause : undefined);
        // The next run is on a new connection: its failures back off from the base again.
        failures = 0;
        // The connection wakes this wait when the camera is back; the cap is only a fallback.
        if (!(await this.rest(this.backoff.capMs))) return;
        continue;
      }
      const { result: r, closedGap } = await this.runOnce(url);
      if (signal.aborted) return;
      if (!r.paused) this.current.restarts++;
      // Media flowed but nothing was kept (a full disk fails the first write): the same outage.
      if (closedGap && !r.kept) this.gaps.reopen(closedGap);
      this.gaps.note(r.endMs ?? this.now(), r.cause);
      if (r.paused) {
        // Noted above with the run's end; the loop's top waits out the pause. No backoff, no URI refresh.
        this.setState("paused", r.paused);
        continue;
      }
      const recorded = r.kept && r.mediaS >= RECORDED_RESET_S;
      failures = recorded ? 0 : failures + 1;
      this.setState(r.stalled ? "stalled" : failures > 2 ? "offline" : "connecting", r.cause);
      const retryInMs = backoffDelay(this.backoff, Math.max(0, failures - 1));
      this.log.warn({ cause: r.cause, recorded, retryInMs }, "ffmpeg ended, will restart");
      await this.o.refreshStreamUrl();
      if (!(await this.rest(retryInMs))) return;
    }
  }

  /** One ffmpeg run; answers how it ended and the gap its first media closed, if it did. */
  private async runOnce(url: string): Promise<{ result: RunResult; closedGap?: ClosedGap }> {
    let closedGap: ClosedGap | undefined;
    const events: RunEvents = {
      // The run's first media: whatever gap was open ends where recording starts.
      flowing: (startMs) => {
        closedGap = this.gaps.close(startMs);
        this.setState("recording");
      },
      startRefined: (startMs) => {
        if (closedGap) this.gaps.moveEnd(closedGap, startMs);
      },
      progressed: () => this.setState("recording"),
      stalled: (cause) => this.setState("stalled", cause),
      finished: (rowId, bytes) => {
        this.current.segments++;
        this.current.bytes += bytes;
        this.current.lastSegmentAt = Date.now();
        this.o.onSegment?.(rowId);
      },
      writeFailed: (err) => {
        this.current.writeErrors++;
        this.current.lastError = err.message;
        this.log.error({ err }, "segment could not be finished");
      },
    };
    this.run = new FfmpegRun(url, {
      ...this.o,
      log: this.log,
      stopping: this.abort.signal,
      now: this.now,
      events,
    });
    try {
      return { result: await this.run.done, ...(closedGap ? { closedGap } : {}) };
    } finally {
      this.run = undefined;
    }
  }
}
