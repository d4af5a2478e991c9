import { spawn } from "node:child_process";
import { join } from "node:path";
import type { Logger } from "../src/log/logger.js";
import type { FaultState, FaultTarget } from "./control.js";
import { type AuthMode, OnvifServer } from "./onvif/server.js";
import { PtzModel } from "./ptz.js";
import type { RtspClients, RtspServer } from "./rtsp/server.js";
import { Encoder } from "./video/encoder.js";
import { Renderer } from "./video/renderer.js";

/**
 * One simulated PTZ camera: the PTZ mechanism, its ONVIF endpoint, the renderer and encoder that feed
 * its RTSP mount, and the faults that can be injected into each.
 */

export interface SimCameraOptions {
  id: string;
  name: string;
  host: string;
  onvifPort: number;
  rtspPort: number;
  rtpPort: number;
  width: number;
  height: number;
  fps: number;
  user: string;
  password: string;
  authMode: AuthMode;
  stateDir: string;
  rtsp: RtspServer;
  log: Logger;
}

export class SimCamera implements FaultTarget {
  readonly id: string;
  readonly ptz: PtzModel;
  readonly onvif: OnvifServer;
  readonly encoder: Encoder;
  private readonly renderer: Renderer;
  private rtspAccepting = true;
  private rebootingUntil: number | null = null;
  private rebootTimer: NodeJS.Timeout | undefined;
  private readonly log: Logger;

  constructor(private readonly opts: SimCameraOptions) {
    this.id = opts.id;
    this.log = opts.log.child({ camera: opts.id });
    this.ptz = new PtzModel({ stateFile: join(opts.stateDir, `${opts.id}.ptz.json`) });
    this.onvif = new OnvifServer({
      name: opts.name,
      host: opts.host,
      port: opts.onvifPort,
      user: opts.user,
      password: opts.password,
      authMode: opts.authMode,
      rtspPort: opts.rtspPort,
      width: opts.width,
      height: opts.height,
      fps: opts.fps,
      ptz: this.ptz,
      log: this.log,
      snapshot: () => this.snapshot(),
    });
    this.renderer = new Renderer({
      name: opts.name,
      width: opts.width,
      height: opts.height,
      clock: this.onvif.clock,
      viewport: () => this.ptz.position(),
    });
    this.encoder = new Encoder({
      width: opts.width,
      height: opts.height,
      fps: opts.fps,
      rtpPort: opts.rtpPort,
      render: (now, frame) => this.renderer.render(now, frame),
      log: this.log,
    });
  }

  async start(): Promise<void> {
    await this.onvif.start();
    this.encoder.start();
  }

  async stop(): Promise<void> {
    clearTimeout(this.rebootTimer);
    await Promise.all([this.onvif.stop(), this.encoder.stop()]);
  }

  describe() {
    const o = this.opts;
    return {
      id: o.id,
      name: o.name,
      onvif: { host: o.host, port: this.onvif.port, user: o.user, auth: o.authMode },
      rtsp: `rtsp://${o.host}:${o.rtspPort}${this.onvif.streamPath}`,
      video: { codec: "h264", width: o.width, height: o.height, fps: o.fps },
    };
  }

  faults(): FaultState {
    return {
      streaming: this.encoder.running,
      rtspAccepting: this.rtspAccepting,
      frozen: this.encoder.isFrozen,
      onvifOnline: this.onvif.isOnline,
      rebootingUntil: this.rebootingUntil,
      clockSkewMs: this.onvif.clockSkewMs,
      streamPath: this.onvif.streamPath,
    };
  }

  async setStreaming(on: boolean): Promise<void> {
    if (on) this.encoder.start();
    else await this.encoder.stop();
  }

  async setRtspAccepting(on: boolean): Promise<void> {
    await this.opts.rtsp.refuse(this.opts.rtspPort, !on);
    this.rtspAccepting = on;
  }

  /** The RTSP connections and sessions this camera's server has open now. */
  rtspClients(): Promise<RtspClients> {
    return this.opts.rtsp.clients(this.opts.rtspPort);
  }

  /** The stream moves to another RTSP path and GetStreamUri says so, as after a profile change. */
  async setStreamPath(path: string): Promise<void> {
    await this.opts.rtsp.move(this.opts.rtspPort, path);
    this.onvif.setRtspPath(path);
  }

  setFrozen(on: boolean): void {
    this.encoder.setFrozen(on);
  }

  setOnvifOnline(on: boolean): Promise<void> {
    return this.onvif.setOnline(on);
  }

  setClockSkew(ms: number): void {
    this.onvif.setClockSkew(ms);
  }

  /** Everything down for `seconds` (ONVIF, RTSP, stream), then back up, as after a power cycle. */
  async reboot(seconds: number): Promise<void> {
    clearTimeout(this.rebootTimer);
    this.rebootingUntil = Date.now() + seconds * 1000;
    await Promise.all([this.setOnvifOnline(false), this.setRtspAccepting(false), this.setStreaming(false)]);
    this.rebootTimer = setTimeout(() => {
      this.rebootingUntil = null;
      Promise.all([this.setOnvifOnline(true), this.setRtspAccepting(true), this.setStreaming(true)]).then(
        () => this.log.info("reboot finished"),
        (err: unknown) => this.log.error({ err }, "camera did not come back from reboot"),
      );
    }, seconds * 1000);
  }

  /** The current view as a JPEG (GetSnapshotUri), encoded by ffmpeg from one rendered frame. */
  private snapshot(): Promise<Buffer> {
    const frame = this.renderer.render(Date.now()).data;
    const { width, height } = this.opts;
    return new Promise((resolve, reject) => {
      const ff = spawn(
        "ffmpeg",
        [
          "-hide_banner",
          "-loglevel",
          "error",
          "-f",
          "rawvideo",
          "-pix_fmt",
          "yuv420p",
          "-s",
          `${width}x${height}`,
          "-i",
          "pipe:0",
        ].concat(["-frames:v", "1", "-c:v", "mjpeg", "-q:v", "4", "-f", "image2pipe", "pipe:1"]),
        { stdio: ["pipe", "pipe", "pipe"] },
      );
      const out: Buffer[] = [];
      let err = "";
      ff.stdout.on("data", (d: Buffer) => out.push(d));
      ff.stderr.on("data", (d: Buffer) => {
        err += d.toString();
      });
      ff.once("error", reject);
      ff.once("exit", (code) =>
        code === 0
          ? resolve(Buffer.concat(out))
          : reject(new Error(`snapshot encoder exited ${code}: ${err.trim()}`)),
      );
      ff.stdin.end(frame);
    });
  }
}
