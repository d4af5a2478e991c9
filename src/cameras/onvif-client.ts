import { Cam, type DeviceInformation } from "onvif";
import { textFault } from "../text/well-formed.js";

/**
 * A promise-shaped view of one ONVIF camera through the `onvif` package.
 * Invariant: every camera call is bounded by `timeoutMs`; a camera that stops answering turns into an
 * error, never a hung connector.
 */

export interface OnvifTarget {
  host: string;
  port: number;
  user: string;
  password: string;
  profile?: string | undefined;
  timeoutMs?: number;
}

export interface DeviceInfo {
  manufacturer: string;
  model: string;
  firmwareVersion: string;
  serialNumber: string;
  hardwareId: string;
}

export interface ClockSample {
  /** Camera clock minus server clock, ms. */
  offsetMs: number;
  /**
   * Round trip of the GetSystemDateAndTime request. ONVIF's time has whole seconds, so the offset is
   * known to ±(500 + rtt/2) ms.
   */
  rttMs: number;
  sampledAt: number;
}

export class OnvifError extends Error {
  constructor(
    readonly camera: string,
    readonly operation: string,
    cause: unknown,
  ) {
    super(`${camera}: ONVIF ${operation} failed: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
    this.name = "OnvifError";
  }
}

/** A camera answered with text pscsd would act on (send back, hand to ffmpeg) that is not acceptable. */
export class CameraTextError extends Error {
  constructor(
    /** The element of the camera's answer, as ONVIF names it: `MediaUri.Uri`, `Profile.token`. */
    readonly field: string,
    readonly fault: string,
  ) {
    super(`${field}: ${fault}`);
    this.name = "CameraTextError";
  }
}

/** ONVIF's ReferenceToken is at most 64 characters; no RTSP URI of a real camera comes near 2048. */
export const MAX_TOKEN_CHARS = 64;
const MAX_URI_CHARS = 2048;
const MAX_SHOWN_CHARS = 256;

/**
 * Text pscsd acts on: refused unless well-formed, NUL-free and bounded. The client decodes answers
 * as UTF-8, turning bytes that are not into U+FFFD, so U+FFFD is refused here too (a URI or token
 * has no business holding one).
 */
export function actedOn(field: string, value: unknown, max: number): string {
  const s = String(value);
  const fault =
    s.length > max
      ? `longer than ${max} characters`
      : s.includes("\ufffd")
        ? "not valid UTF-8 (the camera sent bytes that are not UTF-8)"
        : textFault(s);
  if (fault) throw new CameraTextError(field, fault);
  return s;
}

/**
 * Identity text (manufacturer, model, serial…) is only shown and logged, so a sloppy firmware does
 * not keep its camera from recording: ill-formed parts and NUL become U+FFFD, and it is bounded.
 */
function shown(value: unknown): string {
  const s = value === undefined || value === null ? "" : String(value);
  return s.replaceAll("\0", "\ufffd").slice(0, MAX_SHOWN_CHARS).toWellFormed();
}

export type Callback<T> = (err: Error | null, result?: T) => void;

export class OnvifCamera {
  private readonly cam: Cam;
  private readonly label: string;

  constructor(private readonly target: OnvifTarget) {
    this.label = `${target.host}:${target.port}`;
    this.cam = new Cam({
      hostname: target.host,
      port: target.port,
      username: target.user,
      password: target.password,
      timeout: target.timeoutMs ?? 10_000,
      autoconnect: false,
      // Cameras behind NAT or on a recorder VLAN advertise service addresses we cannot reach; the
      // address we were configured with is the one that works.
      preserveAddress: true,
    });
  }

  private call<T>(operation: string, fn: (cb: Callback<T>) => void, emptyOk = false): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      try {
        fn((err, result) => {
          if (err) reject(new OnvifError(this.label, operation, err));
          else if (result === undefined && !emptyOk)
            reject(new OnvifError(this.label, operation, new Error("empty response")));
          else resolve(result as T);
        });
      } catch (e) {
        reject(new OnvifError(this.label, operation, e));
      }
    });
  }

  /**
   * One request through the client for the PTZ commands (./ptz.ts), bounded like every other call;
   * `emptyOk` for the operations whose answer has no content (moves, Stop, presets).
   */
  request<T>(operation: string, fn: (cam: Cam, cb: Callback<T>) => void, emptyOk = false): Promise<T> {
    return this.call<T>(operation, (cb) => fn(this.cam, cb), emptyOk);
  }

  get name(): string {
    return this.label;
  }

  /** Fetches capabilities, profiles and PTZ nodes; must precede every other call. */
  async connect(): Promise<void> {
    await new Promise<void>((resolve, reject) =>
      this.cam.connect((err) => (err ? reject(new OnvifError(this.label, "connect", err)) : resolve())),
    );
    if (this.target.profile !== undefined) {
      const profile = this.cam.profiles?.find((p) => String(p.$.token) === this.target.profile);
      if (!profile) {
        throw new OnvifError(
          this.label,
          "connect",
          new Error(`no media profile with token '${this.target.profile}'`),
        );
      }
      // The client streams from `defaultProfile`; point it at the configured one.
      this.cam.defaultProfile = profile;
    }
    const token: unknown = this.cam.defaultProfile?.$.token;
    try {
      if (token !== undefined) actedOn("Profile.token", token, MAX_TOKEN_CHARS);
    } catch (e) {
      throw new OnvifError(this.label, "connect", e);
    }
  }

  get profileToken(): string | undefined {
    const token: unknown = this.cam.defaultProfile?.$.token;
    return token === undefined ? undefined : String(token);
  }

  async deviceInfo(): Promise<DeviceInfo> {
    const d = await this.call<DeviceInformation>("GetDeviceInformation", (cb) =>
      this.cam.getDeviceInformation(cb),
    );
    // The client turns numeric-looking text into numbers (firmware "2.5" arrives as 2.5): coerce back.
    return {
      manufacturer: shown(d.manufacturer),
      model: shown(d.model),
      firmwareVersion: shown(d.firmwareVersion),
      serialNumber: shown(d.serialNumber),
      hardwareId: shown(d.hardwareId),
    };
  }

  async streamUri(): Promise<string> {
    const profileToken = this.profileToken;
    const r = await this.call<{ uri: string }>("GetStreamUri", (cb) =>
      this.cam.getStreamUri(profileToken ? { protocol: "RTSP", profileToken } : { protocol: "RTSP" }, cb),
    );
    try {
      return actedOn("MediaUri.Uri", r.uri, MAX_URI_CHARS);
    } catch (e) {
      throw new OnvifError(this.label, "GetStreamUri", e);
    }
  }

  async clockSample(now: () => number = Date.now): Promise<ClockSample> {
    const sent = now();
    const cameraTime = await this.call<Date>("GetSystemDateAndTime", (cb) =>
      this.cam.getSystemDateAndTime(cb),
    );
    return clockSampleOf(cameraTime, sent, now());
  }
}

/**
 * Camera clock minus ours, from the camera's answer and our clock when we asked and when it came.
 * The camera answered somewhere in the round trip (its middle is our estimate), and with whole
 * seconds: somewhere in the reported second, whose middle is the unbiased estimate (without it
 * every offset reads about half a second slow).
 */
export function clockSampleOf(cameraTime: Date, sent: number, received: number): ClockSample {
  const mid = Math.round((sent + received) / 2);
  const cameraMs = cameraTime.getTime() + (cameraTime.getTime() % 1000 === 0 ? 500 : 0);
  return { offsetMs: cameraMs - mid, rttMs: received - sent, sampledAt: mid };
}
