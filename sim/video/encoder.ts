import { type ChildProcess, spawn } from "node:child_process";
import type { Logger } from "../../src/log/logger.js";
import { Yuv420Frame } from "./yuv.js";

/**
 * Feeds one camera's rendered frames to an ffmpeg H.264 encoder that sends RTP to the RTSP server.
 * Invariants: frames are paced on an absolute schedule (start + n/fps), so timing does not drift; a
 * busy encoder costs a dropped frame, never an unbounded queue; stop() returns only after ffmpeg has
 * exited.
 */

export interface EncoderOptions {
  width: number;
  height: number;
  fps: number;
  /** Loopback UDP port the RTSP server's udpsrc listens on. */
  rtpPort: number;
  /** Draws the picture at `now` into `frame`. */
  render: (now: number, frame: Yuv420Frame) => void;
  log: Logger;
  ffmpegPath?: string;
}

/** The H.264-over-RTP half of the encoder command: shared with the benchmark's bare baseline. */
export function x264RtpArgs(o: { fps: number; rtpPort: number }): string[] {
  return [
    // ultrafast stays within Constrained Baseline under this Main ceiling: browsers' WebRTC receivers
    // take constrained baseline and main, not high.
    ...["-an", "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-profile:v", "main"],
    // One-second fixed GOP: recordings and live view can start on any whole second.
    ...["-g", String(o.fps), "-keyint_min", String(o.fps), "-sc_threshold", "0"],
    ...["-b:v", "1000k", "-maxrate", "1200k", "-bufsize", "600k", "-pix_fmt", "yuv420p"],
    ...["-f", "rtp", `rtp://127.0.0.1:${o.rtpPort}?pkt_size=1200`],
  ];
}

export function encoderArgs(o: Pick<EncoderOptions, "width" | "height" | "fps" | "rtpPort">): string[] {
  return [
    ...["-hide_banner", "-nostdin", "-loglevel", "error"],
    ...["-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", `${o.width}x${o.height}`, "-framerate", String(o.fps)],
    ...["-i", "pipe:0"],
    ...x264RtpArgs(o),
  ];
}

export class Encoder {
  private child: ChildProcess | undefined;
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private frameNo = 0;
  /** A write to ffmpeg is in flight: `frame` is not to be touched until its callback. */
  private busy = false;
  private readonly frame: Yuv420Frame;
  private frozen: Uint8Array | undefined;
  private wantRunning = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private restarts = 0;
  dropped = 0;
  sent = 0;

  constructor(private readonly opts: EncoderOptions) {
    this.frame = new Yuv420Frame(opts.width, opts.height);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.wantRunning;
  }

  start(): void {
    if (this.wantRunning) return;
    this.wantRunning = true;
    this.spawnEncoder();
  }

  /** "Freeze frames" fault: keep sending the last frame as it was. */
  setFrozen(on: boolean): void {
    if (!on) this.frozen = undefined;
    else if (!this.frozen) {
      const still = new Yuv420Frame(this.opts.width, this.opts.height);
      this.opts.render(Date.now(), still);
      this.frozen = still.data;
    }
  }

  get isFrozen(): boolean {
    return this.frozen !== undefined;
  }

  async stop(): Promise<void> {
    this.wantRunning = false;
    clearTimeout(this.restartTimer);
    clearTimeout(this.timer);
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.stdin?.destroy();
    child.kill("SIGTERM");
    const kill = setTimeout(() => child.kill("SIGKILL"), 2_000);
    await exited;
    clearTimeout(kill);
  }

  private spawnEncoder(): void {
    const child = spawn(this.opts.ffmpegPath ?? "ffmpeg", encoderArgs(this.opts), {
      stdio: ["pipe", "ignore", "pipe"],
    });
    this.child = child;
    this.busy = false;
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2000);
    });
    // EPIPE when ffmpeg dies mid-write: the exit handler below restarts it.
    child.stdin?.on("error", (e) => this.opts.log.debug({ err: e }, "encoder stdin closed"));
    child.once("exit", (code, signal) => {
      clearTimeout(this.timer);
      if (this.child !== child || !this.wantRunning) return;
      this.child = undefined;
      this.restarts += 1;
      const delay = Math.min(5_000, 250 * 2 ** Math.min(this.restarts, 5));
      this.opts.log.warn(
        { code, signal, stderr: stderr.trim(), retryInMs: delay },
        "encoder exited, restarting",
      );
      this.restartTimer = setTimeout(() => this.wantRunning && this.spawnEncoder(), delay);
    });
    this.startedAt = Date.now();
    this.frameNo = 0;
    this.tick();
  }

  private tick = (): void => {
    const child = this.child;
    if (!child?.stdin || !this.wantRunning) return;
    const now = Date.now();
    const interval = 1000 / this.opts.fps;
    // After a stall longer than a second (process paused, machine overloaded), restart the schedule
    // rather than burst frames to catch up.
    if (now - (this.startedAt + this.frameNo * interval) > 1000) {
      this.startedAt = now;
      this.frameNo = 0;
    }
    if (this.busy) {
      this.dropped += 1;
    } else {
      // No copy: the frame is rendered in place only when no write of it is in flight.
      let data = this.frozen;
      if (!data) {
        this.opts.render(now, this.frame);
        data = this.frame.data;
      }
      this.sent += 1;
      this.busy = true;
      // The callback also runs with an error (ffmpeg gone): the exit handler restarts it.
      child.stdin.write(data, () => {
        if (this.child === child) this.busy = false;
      });
    }
    this.frameNo += 1;
    this.timer = setTimeout(this.tick, Math.max(0, this.startedAt + this.frameNo * interval - Date.now()));
  };
}
