import type { CameraConnection } from "../../src/cameras/connection.js";
import type { CameraConfig } from "../../src/config/load.js";
import type { LiveFeed } from "../../src/live/feed.js";
import type { Logger } from "../../src/log/logger.js";
import { DEFAULT_LIVE, type LiveOptions, LiveSource, type LiveStats } from "./live-source.js";
import { RtspError, RtspSession } from "./rtsp-client.js";
import type { LiveViewer } from "./viewer.js";

/**
 * Every configured camera's live view: one LiveSource each, whose camera session is opened with the
 * stream URI the camera's ONVIF connection holds (the same one the recorder uses) and the camera's
 * credentials. Nothing is opened until someone watches.
 */

export interface LiveCamera {
  config: Pick<CameraConfig, "id"> & { onvif: Pick<CameraConfig["onvif"], "user" | "password"> };
  connection: CameraConnection;
}

export class LiveView implements LiveFeed {
  private readonly sources: Map<string, LiveSource>;

  constructor(cameras: readonly LiveCamera[], log: Logger, o: LiveOptions = DEFAULT_LIVE) {
    const live = log.child({ component: "live" });
    this.sources = new Map(
      cameras.map(({ config: cfg, connection: conn }) => [
        cfg.id,
        new LiveSource(
          cfg.id,
          (onAccessUnit) => {
            const st = conn.status();
            if (st.state !== "connected" || !st.streamUri) {
              throw new RtspError("offline", cfg.id, `no stream URI: the camera is ${st.state}`);
            }
            const source = {
              camera: cfg.id,
              url: st.streamUri,
              user: cfg.onvif.user,
              password: cfg.onvif.password,
            };
            return RtspSession.open(source, onAccessUnit);
          },
          live,
          o,
        ),
      ]),
    );
  }

  /** A new viewer of `camera`, or undefined for a camera not configured. */
  subscribe(camera: string): LiveViewer | undefined {
    return this.sources.get(camera)?.subscribe();
  }

  stats(): LiveStats[] {
    return [...this.sources.values()].map((s) => s.stats());
  }

  async stop(): Promise<void> {
    await Promise.all([...this.sources.values()].map((s) => s.stop()));
  }
}
