import { Cam, type DeviceInformation } from "onvif";

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

export interface PtzVector {
  x: number;
  y: number;
  zoom: number;
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

type Callback<T> = (err: Error | null, result?: T) => void;

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

  private call<T>(operation: string, fn: (cb: Callback<T>) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      try {
        fn((err, result) => {
          if (err) reject(new OnvifError(this.label, operation, err));
          else if (result === undefined)
            reject(new OnvifError(this.label, operation, new Error("empty response")));
          else resolve(result);
        });
      } catch (e) {
        reject(new OnvifError(this.label, operation, e));
      }
    });
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
    const str = (v: unknown) => (v === undefined || v === null ? "" : String(v));
    return {
      manufacturer: str(d.manufacturer),
      model: str(d.model),
      firmwareVersion: str(d.firmwareVersion),
      serialNumber: str(d.serialNumber),
      hardwareId: str(d.hardwareId),
    };
  }

  async streamUri(): Promise<string> {
    const profileToken = this.profileToken;
    const r = await this.call<{ uri: string }>("GetStreamUri", (cb) =>
      this.cam.getStreamUri(profileToken ? { protocol: "RTSP", profileToken } : { protocol: "RTSP" }, cb),
    );
    return r.uri;
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
