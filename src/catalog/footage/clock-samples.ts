import type { ClockSample } from "../../cameras/onvif-client.js";
import { type Db, type Prepare, statementCache } from "../catalog.js";

/**
 * The camera_clock_samples table: each camera's clock against ours, kept as history, because an
 * export must say what a burned-in camera time meant.
 */
export class ClockSamples {
  private readonly sql: Prepare;

  constructor(db: Db) {
    this.sql = statementCache(db);
  }

  /** One sample; a second one of the same camera at the same instant replaces it. */
  record(camera: string, s: Pick<ClockSample, "sampledAt" | "offsetMs" | "rttMs">): void {
    this.sql(
      "INSERT OR REPLACE INTO camera_clock_samples (camera, sampled_at, offset_ms, rtt_ms) VALUES (?, ?, ?, ?)",
    ).run(camera, s.sampledAt, s.offsetMs, s.rttMs);
  }
}
