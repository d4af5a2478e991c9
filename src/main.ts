import { createApp } from "../api/app.js";
import { listen, type RunningServer } from "../api/server.js";
import { CameraConnection } from "./cameras/connection.js";
import { openCatalog } from "./catalog/catalog.js";
import type { Config } from "./config/load.js";
import type { Logger } from "./log/logger.js";
import { VERSION } from "./version.js";

/**
 * The composition root of pscsd: the one place that wires src/ services into recorder/, retention/
 * and api/. Start order is catalog → cameras → HTTP; stop order is the reverse, so nothing outlives
 * what it depends on.
 */

export interface Pscsd {
  url: string;
  cameras: CameraConnection[];
  stop(): Promise<void>;
}

export async function startPscsd(config: Config, log: Logger): Promise<Pscsd> {
  const startedAt = Date.now();
  const db = openCatalog(config.storage.catalog);
  const insertClock = db.prepare(
    "INSERT OR REPLACE INTO camera_clock_samples (camera, sampled_at, offset_ms, rtt_ms) VALUES (?, ?, ?, ?)",
  );
  const cameras = config.cameras.map(
    (cam) =>
      new CameraConnection(cam, {
        log,
        heartbeatMs: config.onvif.heartbeatSeconds * 1000,
        requestTimeoutMs: config.onvif.requestTimeoutSeconds * 1000,
        onClockSample: (id, s) => insertClock.run(id, s.sampledAt, s.offsetMs, s.rttMs),
      }),
  );
  let server: RunningServer;
  try {
    server = await listen(createApp({ version: VERSION, startedAt }), config.http);
  } catch (e) {
    db.close();
    throw e;
  }
  for (const c of cameras) c.start();
  log.info({ url: server.url, cameras: cameras.length, version: VERSION }, "pscsd started");

  return {
    url: server.url,
    cameras,
    async stop() {
      await server.close();
      await Promise.all(cameras.map((c) => c.stop()));
      db.close();
      log.info("pscsd stopped");
    },
  };
}
