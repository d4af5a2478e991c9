import type { CameraConfig } from "../config/load.js";
import type { Logger } from "../log/logger.js";
import { scrubText } from "../log/redact.js";
import { type BackoffPolicy, backoffDelay, sleep } from "../retry/backoff.js";
import { ClockCheck, describeClockOffset } from "./clock-check.js";
import { type ClockSample, type DeviceInfo, OnvifCamera } from "./onvif-client.js";
import { PtzCamera } from "./ptz.js";

/**
 * Keeps one camera's ONVIF session alive: connect with backoff, then a heartbeat that doubles as the
 * clock-offset sampler; a failed heartbeat drops back to reconnecting. While the camera's stream is
 * arriving, the stream itself shows the camera is up, so the heartbeat runs only every
 * streamingHeartbeatMs (each ONVIF request costs pscsd ~1.7 ms of CPU, mostly the `onvif` package's
 * XML parsing, and the camera's web server its own); a stream failure brings the next heartbeat
 * forward to at once. Every clock sample is judged against the offset limit (./clock-check.ts).
 * Invariant: exactly one loop runs per connection, and stop() returns only after it has exited.
 */

export type CameraState = "connecting" | "connected" | "offline";

export interface CameraStatus {
  id: string;
  name: string;
  state: CameraState;
  /** UTC epoch ms of the last state change. */
  since: number;
  attempts: number;
  lastError?: string;
  device?: DeviceInfo;
  streamUri?: string;
  clock?: ClockSample;
  /** Present while the camera's clock is beyond the offset limit: what is wrong, in words. */
  clockOff?: string;
}

/** A camera's clock went beyond the offset limit (`off`) or came back within it. */
export interface ClockExcursion {
  camera: string;
  off: boolean;
  sample: ClockSample;
  limitMs: number;
}

export interface CameraConnectionOptions {
  log: Logger;
  backoff?: BackoffPolicy;
  heartbeatMs?: number;
  /** Heartbeat period while the stream is arriving (see streamArriving()); default 300 s. */
  streamingHeartbeatMs?: number;
  requestTimeoutMs?: number;
  /** Called with what the camera says it is (GetDeviceInformation) at every connect. */
  onDeviceInfo?: (camera: string, device: DeviceInfo, at: number) => void;
  /** Called with every clock sample worth keeping (first after connect, then on drift or hourly). */
  onClockSample?: (camera: string, sample: ClockSample) => void;
  /** How far the camera's clock may be from ours; default 2 s. */
  clockOffsetLimitMs?: number;
  /** Called once when an excursion beyond the limit begins and once when it ends. */
  onClockExcursion?: (e: ClockExcursion) => void;
  /** Whether an excursion was still open when pscsd last ran: asked once, at the first sample. */
  clockWasOff?: () => Promise<boolean>;
  now?: () => number;
}

const RECORD_CLOCK_EVERY_MS = 3_600_000;
const RECORD_CLOCK_DRIFT_MS = 1_000;

export class CameraConnection {
  private current: CameraStatus;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly log: Logger;
  private readonly backoff: BackoffPolicy;
  private readonly now: () => number;
  private lastRecorded: ClockSample | undefined;
  /** The ONVIF session while connected, for requests between heartbeats. */
  private session: OnvifCamera | undefined;
  /** Aborted to end the heartbeat's current wait early (the stream failed): see heartbeat(). */
  private hurry = new AbortController();
  private clockCheck: ClockCheck | undefined;
  private readonly listeners: (() => void)[] = [];
  private arriving: () => boolean = () => false;

  constructor(
    private readonly cfg: CameraConfig,
    private readonly opts: CameraConnectionOptions,
  ) {
    this.log = opts.log.child({ camera: cfg.id });
    this.backoff = opts.backoff ?? { baseMs: 1_000, capMs: 60_000 };
    this.now = opts.now ?? Date.now;
    this.current = { id: cfg.id, name: cfg.name, state: "connecting", since: this.now(), attempts: 0 };
  }

  status(): CameraStatus {
    return { ...this.current };
  }

  /** `listener` is called when the camera's state or stream URI changes (the recorder retries at once). */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** `probe` says whether the camera's stream is arriving now (the recorder's word, once it exists). */
  streamArriving(probe: () => boolean): void {
    this.arriving = probe;
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }

  start(): void {
    if (this.loop) return;
    this.loop = this.run().catch((e: unknown) => {
      if (!this.abort.signal.aborted) this.log.error({ err: e }, "camera loop ended unexpectedly");
    });
  }

  async stop(): Promise<void> {
    this.abort.abort(new Error("stopping"));
    this.hurry.abort();
    await this.loop;
  }

  private setState(state: CameraState, patch: Partial<CameraStatus> = {}): void {
    const since = state === this.current.state ? this.current.since : this.now();
    const was = this.current.state;
    this.current = { ...this.current, ...patch, state, since };
    if (state !== was) this.changed();
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    let failures = 0;
    while (!signal.aborted) {
      const cam = new OnvifCamera({ ...this.cfg.onvif, timeoutMs: this.opts.requestTimeoutMs ?? 10_000 });
      try {
        this.current.attempts += 1;
        await cam.connect();
        const device = await cam.deviceInfo();
        const streamUri = await cam.streamUri();
        const clock = await cam.clockSample(this.now);
        // An excursion that outlived a restart is the same excursion: not reported again at start.
        this.clockCheck ??= new ClockCheck(
          this.opts.clockOffsetLimitMs ?? 2_000,
          await this.opts.clockWasOff?.(),
        );
        if (signal.aborted) return;
        failures = 0;
        const { lastError: _cleared, ...rest } = this.current;
        this.current = rest;
        this.setState("connected", { device, streamUri });
        this.opts.onDeviceInfo?.(this.cfg.id, device, this.now());
        this.keepClock(clock);
        this.log.info({ device, streamUri, clockOffsetMs: clock.offsetMs }, "camera connected");
        this.session = cam;
        await this.heartbeat(cam, signal);
      } catch (e) {
        this.session = undefined;
        if (signal.aborted) return;
        failures += 1;
        // Shown in health and gap causes: an error may quote a URL with the camera's credentials.
        const message = scrubText(e instanceof Error ? e.message : String(e));
        const wasConnected = this.current.state === "connected";
        this.setState("offline", { lastError: message });
        const delay = backoffDelay(this.backoff, failures - 1);
        this.log.warn({ err: e, retryInMs: delay, wasConnected }, "camera unreachable, will retry");
        try {
          await sleep(delay, signal);
        } catch {
          return; // aborted by stop(): the only way sleep rejects
        }
      }
    }
  }

  /** The camera's PTZ commands over the current session; undefined while it is not connected. */
  ptz(): PtzCamera | undefined {
    return this.session ? new PtzCamera(this.session) : undefined;
  }

  /**
   * Asks the camera again for its stream URI (GetStreamUri): after the stream failed, the URI we hold
   * may be stale (profile reconfigured, firmware update, DHCP). A failed request is left to the
   * heartbeat, which reconnects when the camera really is unreachable.
   */
  async refreshStreamUri(): Promise<void> {
    const cam = this.session;
    if (!cam) return;
    // The stream failing is news about the camera: the heartbeat checks the session now.
    this.hurry.abort();
    let streamUri: string;
    try {
      streamUri = await cam.streamUri();
    } catch (err) {
      this.log.warn({ err }, "GetStreamUri failed after a stream failure");
      return;
    }
    if (this.session !== cam || streamUri === this.current.streamUri) return;
    this.log.warn({ was: this.current.streamUri, streamUri }, "camera's stream URI changed");
    this.current = { ...this.current, streamUri };
    this.changed();
  }

  /** Returns only by throwing: a heartbeat failure (to reconnect) or the abort (to stop). */
  private async heartbeat(cam: OnvifCamera, signal: AbortSignal): Promise<never> {
    for (;;) {
      const streaming = this.arriving();
      const wait = streaming
        ? Math.max(this.opts.streamingHeartbeatMs ?? 300_000, this.opts.heartbeatMs ?? 30_000)
        : (this.opts.heartbeatMs ?? 30_000);
      // stop() hurries too; only a hurry that is not a stop goes on to check now.
      await sleep(wait, this.hurry.signal).catch(() => {
        this.hurry = new AbortController();
      });
      if (signal.aborted) throw signal.reason;
      this.keepClock(await cam.clockSample(this.now));
    }
  }

  private keepClock(sample: ClockSample): void {
    // Made at connect with what the audit log says of the last run (see run()).
    this.clockCheck ??= new ClockCheck(this.opts.clockOffsetLimitMs ?? 2_000);
    const check = this.clockCheck;
    const { limitMs } = check;
    const { off, changed } = check.judge(sample);
    const { clockOff: _was, ...rest } = this.current;
    this.current = {
      ...rest,
      clock: sample,
      ...(off ? { clockOff: describeClockOffset(sample, limitMs) } : {}),
    };
    if (changed) {
      this.log.warn(
        { clockOffsetMs: sample.offsetMs, rttMs: sample.rttMs, limitMs },
        off ? "camera clock beyond the offset limit" : "camera clock back within the offset limit",
      );
      this.opts.onClockExcursion?.({ camera: this.cfg.id, off, sample, limitMs });
    }
    const last = this.lastRecorded;
    if (
      last &&
      Math.abs(sample.offsetMs - last.offsetMs) < RECORD_CLOCK_DRIFT_MS &&
      sample.sampledAt - last.sampledAt < RECORD_CLOCK_EVERY_MS
    ) {
      return;
    }
    this.lastRecorded = sample;
    this.opts.onClockSample?.(this.cfg.id, sample);
  }
}
