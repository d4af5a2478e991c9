import { randomBytes } from "node:crypto";
import { mkdir, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import ffmpeg from "fluent-ffmpeg";
import type { Gaps } from "../src/catalog/footage/gaps.js";
import type { Segments } from "../src/catalog/footage/segments.js";
import { incomingDir, SEGMENT_EXT, segmentPath } from "../src/footage/layout.js";
import { probeSegment } from "../src/footage/probe.js";
import type { Logger } from "../src/log/logger.js";
import { type BackoffPolicy, backoffDelay, sleep } from "../src/retry/backoff.js";
import { causeText, exitCause, StderrErrors } from "./exit-cause.js";
import { inputOptions, outputOptions, progressOptions, reportPeriodSeconds } from "./ffmpeg-args.js";
import { type ClosedGap, OutageGaps } from "./outage.js";
import { ProgressFifo } from "./progress-fifo.js";
import { parseSegmentLine, type SegmentClose } from "./segment-list.js";
import { finishSegment, SegmentWriteError } from "./segment-writer.js";
import { StreamClock } from "./stream-clock.js";

/**
 * Records one camera: one supervised ffmpeg at a time, restarted with backoff, watched for stalls.
 * Invariant: segments of one ffmpeg run are contiguous by construction (each starts where the
 * previous ended, from ffmpeg's own segment list); any time between runs is a gap row with its cause
 * (one row per outage: outage.ts).
 */

export type RecorderState = "connecting" | "recording" | "stalled" | "offline" | "paused";

export interface RecorderStatus {
  camera: string;
  state: RecorderState;
  since: number;
  restarts: number;
  lastError?: string;
  segments: number;
  bytes: number;
  writeErrors: number;
}

export interface CameraRecorderOptions {
  camera: string;
  root: string;
  /**
   * A local directory for ffmpeg's progress FIFO: not the recordings volume, which may be a network
   * share that cannot hold a FIFO (SMB refuses mkfifo).
   */
  runDir: string;
  segmentSeconds: number;
  stallSeconds: number;
  ffmpegPath: string;
  ffprobePath: string;
  /** The camera's current RTSP URL with credentials, or undefined while it is not connected. */
  streamUrl: () => string | undefined;
  /** Why the camera is not connected (undefined while its first connection is being tried). */
  cameraError: () => string | undefined;
  /** Re-fetches the stream URI from the camera after ffmpeg failed; streamUrl() answers with it. */
  refreshStreamUrl: () => Promise<void>;
  store: Segments;
  gaps: Gaps;
  log: Logger;
  /** Asks the watchdog to look within `ms` (a run started; its first deadline may be nearer than the next look). */
  lookWithin?: (ms: number) => void;
  /** Called with each segment's row id once it is finished and indexed. */
  onSegment?: (segment: number) => void;
  /** Why recording must not go on now (disk pressure, as configured), or undefined to record. */
  paused?: () => string | undefined;
  /** Waits between failed runs (equal jitter); also the longest wait for a camera to connect. */
  backoff?: BackoffPolicy;
  now?: () => number;
}

/** Footage a run must keep for the backoff to start again from its base: one good run, not a flap. */
const RECORDED_RESET_S = 10;

interface Run {
  id: string;
  /** When each media time was received (see stream-clock.ts); sampled by reports and closes. */
  clock: StreamClock;
  /** Set by the first usable sample: media is flowing. */
  flowing: boolean;
  lastTimemarkS: number;
  lastMediaAt: number;
  /** Row and wall-clock start of the segment being written. */
  open: { id: number; index: number; startMs: number } | undefined;
  /** The end of the run's last footage kept (a gap after the run starts there). */
  lastEndMs: number | undefined;
  codec?: string;
  width?: number;
  height?: number;
  queue: Promise<void>;
  errors: StderrErrors;
  /** A segment of this run was finished (or left for reconciliation): its rows stay in the catalog. */
  kept: boolean;
  /** Media seconds the run reached (progress and closes). */
  mediaS: number;
  /** The gap this run closed at its first media. */
  closedGap?: ClosedGap;
  stalled: boolean;
  /** Set when the run was ended because recording was paused. */
  paused?: string;
}

const timemarkSeconds = (t: string) => {
  const m = /^(\d+):(\d\d):(\d\d(?:\.\d+)?)$/.exec(t);
  return m ? Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) : Number.NaN;
};

export class CameraRecorder {
  private current: RecorderStatus;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private proc: ReturnType<typeof ffmpeg> | undefined;
  private runId: string | undefined;
  private readonly now: () => number;
  private readonly log: Logger;
  /** The running ffmpeg's stall and pause check, while there is one; see look(). */
  private watch: (() => number | undefined) | undefined;
  private readonly gaps: OutageGaps;
  /** Set by wake(): the camera's connection changed, so the wait before the next run is cut short. */
  private woken = false;
  private wakeup: AbortController | undefined;
  private readonly backoff: BackoffPolicy;

  constructor(private readonly o: CameraRecorderOptions) {
    this.now = o.now ?? Date.now;
    this.backoff = { ...(o.backoff ?? { baseMs: 500, capMs: 30_000 }), jitter: "equal" };
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
    return this.runId;
  }

  status(): RecorderStatus {
    return { ...this.current };
  }

  /**
   * The watchdog's look (see watchdog.ts): reads the progress ffmpeg reported since the last look,
   * then checks for a stall or a pause. Answers in how many ms this camera's stall limit runs out if
   * no newer media is reported, or undefined when no ffmpeg is being watched.
   */
  look(): number | undefined {
    return this.watch?.();
  }

  start(): void {
    this.loop ??= this.run().catch((err: unknown) =>
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
    this.proc?.kill("SIGINT");
    await this.loop;
  }

  private setState(state: RecorderState, lastError?: string): void {
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

  private async run(): Promise<void> {
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
      const r = await this.runOnce(url);
      if (signal.aborted) return;
      if (!r.paused) this.current.restarts++;
      // Media flowed but nothing was kept (a full disk fails the first write): the same outage.
      if (r.closedGap && !r.kept) this.gaps.reopen(r.closedGap);
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

  /** One ffmpeg process, from spawn to exit and the last segment indexed. */
  private runOnce(url: string): Promise<{
    cause: string;
    kept: boolean;
    mediaS: number;
    closedGap?: ClosedGap;
    endMs: number | undefined;
    stalled: boolean;
    paused?: string;
  }> {
    const run: Run = {
      id: `${Math.floor(this.now() / 1000).toString(36)}${randomBytes(3).toString("hex")}`,
      clock: new StreamClock(),
      flowing: false,
      lastTimemarkS: -1,
      lastMediaAt: this.now(),
      open: undefined,
      lastEndMs: undefined,
      queue: Promise.resolve(),
      errors: new StderrErrors(),
      kept: false,
      mediaS: 0,
      stalled: false,
    };
    this.runId = run.id;
    const incoming = incomingDir(this.o.camera);
    const fileOf = (index: number) => `${run.id}-${String(index).padStart(6, "0")}.${SEGMENT_EXT}`;
    return new Promise((resolve) => {
      mkdir(join(this.o.root, incoming), { recursive: true })
        .then(() => mkdir(this.o.runDir, { recursive: true }))
        .then(() => ProgressFifo.open(join(this.o.runDir, `${this.o.camera}.progress`)))
        .then(
          (progress) => {
            const cmd = ffmpeg(url)
              .setFfmpegPath(this.o.ffmpegPath)
              .inputOptions([
                ...inputOptions(),
                ...progressOptions(reportPeriodSeconds(this.o.stallSeconds), progress.path),
              ])
              .outputOptions(
                outputOptions({ rtspUrl: url, segmentSeconds: this.o.segmentSeconds, outputPattern: "" }),
              )
              .output(join(this.o.root, incoming, `${run.id}-%06d.${SEGMENT_EXT}`));
            this.proc = cmd;
            let buffered = "";
            cmd.on("start", () => {
              const proc = (cmd as unknown as { ffmpegProc: import("node:child_process").ChildProcess })
                .ffmpegProc;
              // stop() may have come while fluent-ffmpeg was still preparing, before there was a process.
              if (this.abort.signal.aborted) proc.kill("SIGINT");
              proc.stdout?.on("data", (d: Buffer) => {
                buffered += d.toString();
                let nl = buffered.indexOf("\n");
                while (nl >= 0) {
                  const closed = parseSegmentLine(buffered.slice(0, nl));
                  buffered = buffered.slice(nl + 1);
                  if (closed) this.onClose(run, closed, fileOf);
                  nl = buffered.indexOf("\n");
                }
              });
            });
            cmd.on("codecData", (d: { video?: string; video_details?: string[] }) => {
              run.codec = d.video?.split(/\s/)[0];
              const size = d.video_details?.map((x) => /^(\d+)x(\d+)/.exec(x.trim())).find(Boolean);
              if (size) [run.width, run.height] = [Number(size[1]), Number(size[2])];
            });
            // Progress is read from ffmpeg's own reports: fluent-ffmpeg's 'progress' event would first
            // run ffprobe on the input, a second RTSP session to the camera at every start.
            const onProgress = (t: number) => {
              if (!(t > run.lastTimemarkS)) return;
              const now = this.now();
              run.lastTimemarkS = t;
              run.mediaS = Math.max(run.mediaS, t);
              // The first report (time 0, give or take µs) comes after ffmpeg's input probe has buffered
              // a few seconds, so it says nothing about when they arrived; later ones lag real time by
              // up to one look (segment closes, which are not delayed, refine the clock).
              if (t < 0.01) {
                run.lastMediaAt = now;
                return;
              }
              run.clock.sample(now, t);
              run.flowing = true;
              // When that media arrived, not when its report was read (up to a look later): the stall
              // limit runs from the media itself, however the looks and the reports fall.
              run.lastMediaAt = Math.max(run.lastMediaAt, run.clock.wallMs(t));
              if (!run.open) {
                // Media is flowing: the first segment exists, and any gap ends where it starts.
                const startMs = run.clock.wallMs(0);
                run.open = {
                  index: 0,
                  startMs,
                  id: this.o.store.openRecording(this.o.camera, run.id, startMs, join(incoming, fileOf(0))),
                };
                this.mediaFlowing(run, startMs);
              } else if (this.current.state !== "recording") this.setState("recording");
            };
            cmd.on("stderr", (line: string) => {
              // -nostats still prints a last report, on the way out.
              const timemark = /\btime=(\d+:\d\d:\d\d(?:\.\d+)?)/.exec(line)?.[1];
              if (timemark) return onProgress(timemarkSeconds(timemark));
              run.errors.push(line);
            });
            const connectingLimitMs = Math.max(this.o.stallSeconds * 1000, 20_000);
            this.watch = () => {
              let reported: number | undefined;
              try {
                reported = progress.drain();
              } catch (err) {
                // Unreadable progress looks like no progress: the stall limit then restarts ffmpeg.
                this.log.error({ err }, "ffmpeg's progress could not be read");
              }
              if (reported !== undefined) onProgress(reported);
              const pause = this.o.paused?.();
              if (pause && !run.paused) {
                // The current segment is closed cleanly (SIGINT), then nothing new is written.
                run.paused = pause;
                cmd.kill("SIGINT");
                setTimeout(() => cmd.kill("SIGKILL"), 3_000).unref();
              }
              if (run.paused || run.stalled) return undefined;
              // Before the first media, connecting and probing take their own time (RTSP DESCRIBE,
              // ffmpeg's input probe); ffmpeg's socket timeout bounds that phase. After it, media newer
              // than the last report may be up to one report period unreported: a stall is declared
              // after stallSeconds plus that, so flowing media never looks stalled.
              const limitMs = !run.flowing
                ? connectingLimitMs
                : (this.o.stallSeconds + reportPeriodSeconds(this.o.stallSeconds)) * 1000;
              const left = run.lastMediaAt + limitMs - this.now();
              if (left >= 0) return left + 1;
              run.stalled = true;
              this.setState("stalled", `no media for ${this.o.stallSeconds} s`);
              cmd.kill("SIGINT");
              setTimeout(() => cmd.kill("SIGKILL"), 3_000).unref();
              return undefined;
            };
            this.o.lookWithin?.(run.lastMediaAt + connectingLimitMs - this.now() + 1);
            const finish = (err: Error | undefined) => {
              this.watch = undefined;
              this.proc = undefined;
              run.queue = run.queue
                .then(() =>
                  progress.close().catch((err: unknown) =>
                    // The next run replaces it; nothing else reads it.
                    this.log.warn({ err }, "progress FIFO not removed"),
                  ),
                )
                .then(() => this.closeDangling(run, fileOf));
              run.queue.then(() => {
                const cause = run.paused
                  ? run.paused
                  : run.stalled
                    ? `stalled: no media for ${this.o.stallSeconds} s`
                    : exitCause(run.errors, err);
                this.runId = undefined;
                resolve({
                  cause,
                  kept: run.kept,
                  mediaS: run.mediaS,
                  ...(run.closedGap ? { closedGap: run.closedGap } : {}),
                  endMs: run.lastEndMs,
                  stalled: run.stalled,
                  ...(run.paused ? { paused: run.paused } : {}),
                });
              });
            };
            cmd.on("end", () => finish(undefined));
            cmd.on("error", (err: Error) => finish(err));
            cmd.run();
          },
          (err: unknown) => {
            resolve({
              cause: causeText(
                `cannot prepare ${incoming}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
              ),
              kept: false,
              mediaS: 0,
              endMs: undefined,
              stalled: false,
            });
          },
        );
    });
  }

  /** The run's first media: whatever gap was open ends where recording starts. */
  private mediaFlowing(run: Run, startMs: number): void {
    run.closedGap = this.gaps.close(startMs);
    this.setState("recording");
  }

  /** ffmpeg closed segment `closed.file`: finish it, then open the row of the one that follows. */
  private onClose(run: Run, closed: SegmentClose, fileOf: (i: number) => string): void {
    const index = Number(/-(\d+)\.\w+$/.exec(closed.file)?.[1]);
    // A segment can close before the run's first usable progress report (a wall-clock boundary just
    // after the start); its close is then the first word that media flows. Every close is also a
    // sample of the clock that, unlike a report read at a watchdog look, arrives the moment it is made.
    run.clock.sample(this.now(), closed.endS);
    run.flowing = true;
    run.mediaS = Math.max(run.mediaS, closed.endS);
    const open = run.open;
    if (!open) this.mediaFlowing(run, run.clock.wallMs(closed.startS));
    // Contiguous within a run: each segment starts exactly where the previous one ended.
    let startMs = open && open.index === index ? open.startMs : run.clock.wallMs(closed.startS);
    if (index === 0 && open?.index === 0) {
      // The run's first segment: its start was estimated from the first report; use the refined one.
      const refined = run.clock.wallMs(closed.startS);
      if (refined !== startMs && run.closedGap) this.gaps.moveEnd(run.closedGap, refined);
      startMs = refined;
    }
    // The clock follows the camera's drift, so a segment's length is its media length give or take
    // the drift since the last close (milliseconds); never negative.
    const endMs = Math.max(startMs, run.clock.wallMs(closed.endS));
    const rowId =
      open && open.index === index
        ? open.id
        : this.o.store.openRecording(
            this.o.camera,
            run.id,
            startMs,
            join(incomingDir(this.o.camera), fileOf(index)),
          );
    run.open = {
      index: index + 1,
      startMs: endMs,
      id: this.o.store.openRecording(
        this.o.camera,
        run.id,
        endMs,
        join(incomingDir(this.o.camera), fileOf(index + 1)),
      ),
    };
    run.queue = run.queue.then(() => this.finish(run, rowId, fileOf(index), startMs, endMs));
  }

  private async finish(run: Run, rowId: number, file: string, startMs: number, endMs: number): Promise<void> {
    const from = join(incomingDir(this.o.camera), file);
    const to = segmentPath(this.o.camera, startMs);
    try {
      const { bytes, sha256 } = await finishSegment(this.o.root, from, to);
      if (bytes === 0) {
        // ffmpeg closes a segment it could not write a byte of (a full volume): no footage, no row.
        this.o.store.discard(rowId);
        await unlink(join(this.o.root, to));
        this.log.warn({ segment: to, startMs, endMs }, "empty segment discarded");
        return;
      }
      run.kept = true;
      run.lastEndMs = endMs;
      this.o.store.complete(rowId, {
        startMs,
        endMs,
        path: to,
        bytes,
        sha256,
        codec: run.codec,
        width: run.width,
        height: run.height,
      });
      this.current.segments++;
      this.current.bytes += bytes;
      this.o.onSegment?.(rowId);
    } catch (e) {
      // ENOSPC, EIO: the daemon goes on (other cameras, live view); the row stays 'recording' for
      // reconciliation, and the error is counted for health and metrics.
      if (!(e instanceof SegmentWriteError)) throw e;
      // Its row stays, for reconciliation: the footage may be there.
      run.kept = true;
      run.lastEndMs = endMs;
      this.current.writeErrors++;
      this.current.lastError = e.message;
      this.log.error({ err: e }, "segment could not be finished");
    }
  }

  /** After ffmpeg exits: the row opened for a segment ffmpeg never reported is resolved from disk. */
  private async closeDangling(run: Run, fileOf: (i: number) => string): Promise<void> {
    const open = run.open;
    if (!open) return;
    run.open = undefined;
    const path = join(this.o.root, incomingDir(this.o.camera), fileOf(open.index));
    const size = await stat(path).then(
      (s) => s.size,
      () => 0,
    );
    // The last progress line is up to one stats period old; the file itself says how far it got.
    const probed = size > 0 ? await probeSegment(path, this.o.ffprobePath) : undefined;
    const endMs = probed
      ? open.startMs + probed.durationMs
      : run.flowing
        ? run.clock.wallMs(run.lastTimemarkS)
        : open.startMs;
    if (size === 0 || endMs <= open.startMs) {
      this.o.store.discard(open.id);
      await unlink(path).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== "ENOENT") throw e; // never created: nothing to remove
      });
      return;
    }
    // ffmpeg died mid-segment (killed, crashed): keep what it wrote, which MPEG-TS leaves readable.
    await this.finish(run, open.id, fileOf(open.index), open.startMs, endMs);
  }
}
