import type { CameraConnection } from "../src/cameras/connection.js";
import type { CameraConfig } from "../src/config/load.js";
import { CameraRecorder, type RecorderStatus, type RecordingOptions } from "./camera-recorder.js";
import { reportPeriodSeconds } from "./ffmpeg-args.js";
import { Watchdog } from "./watchdog.js";

/** Every configured camera's recorder, started after its ONVIF connection and stopped before it. */

/** A camera to record: its config and the ONVIF connection that hands the recorder its stream URI. */
export interface RecordedCamera {
  config: CameraConfig;
  connection: CameraConnection;
}

/** The camera's stream URI with the camera's credentials, which RTSP servers usually demand too. */
export function rtspUrlWithCredentials(uri: string, user: string, password: string): string {
  const url = new URL(uri);
  if (!url.username) {
    url.username = encodeURIComponent(user);
    url.password = encodeURIComponent(password);
  }
  return url.toString();
}

export class Recorder {
  readonly cameras: CameraRecorder[];
  private readonly watchdog: Watchdog;

  constructor(cameras: readonly RecordedCamera[], o: RecordingOptions) {
    this.watchdog = new Watchdog(
      () => {
        let next: number | undefined;
        for (const c of this.cameras) {
          const ms = c.look();
          if (ms !== undefined) next = Math.min(ms, next ?? ms);
        }
        return next;
      },
      // At least as often as a flowing camera's stall limit, so a look is never later than one.
      {
        minMs: 250,
        maxMs: (o.recording.stallSeconds + reportPeriodSeconds(o.recording.stallSeconds)) * 1000,
      },
    );
    this.cameras = cameras.map(({ config: cfg, connection: conn }) => {
      const camera = new CameraRecorder({
        ...o,
        camera: cfg.id,
        streamUrl: () => {
          const st = conn.status();
          return st.state === "connected" && st.streamUri
            ? rtspUrlWithCredentials(st.streamUri, cfg.onvif.user, cfg.onvif.password)
            : undefined;
        },
        cameraError: () => conn.status().lastError,
        refreshStreamUrl: () => conn.refreshStreamUri(),
        lookWithin: (ms) => this.watchdog.within(ms),
      });
      conn.onChange(() => camera.wake());
      // A stream being recorded shows the camera is up: its connection polls it less often meanwhile.
      conn.streamArriving(() => camera.status().state === "recording");
      return camera;
    });
  }

  start(): void {
    this.watchdog.start();
    for (const c of this.cameras) c.start();
  }

  /**
   * Recording was paused or resumed, which must not wait: every camera is looked at now (a running
   * ffmpeg is stopped at once) and every waiting camera is woken (a paused one records again).
   * Invariant: a paused camera waits for this, with only its backoff cap as a fallback.
   */
  pauseChanged(): void {
    this.watchdog.lookNow();
    for (const c of this.cameras) c.wake();
  }

  async stop(): Promise<void> {
    // The watchdog runs until every camera has stopped: an ffmpeg that hangs on its way out is
    // still watched for stalls.
    await Promise.all(this.cameras.map((c) => c.stop()));
    this.watchdog.stop();
  }

  activeRuns(): ReadonlySet<string> {
    return new Set(this.cameras.map((c) => c.activeRun()).filter((r): r is string => r !== undefined));
  }

  status(): RecorderStatus[] {
    return this.cameras.map((c) => c.status());
  }
}
