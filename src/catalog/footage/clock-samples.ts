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

  /**
   * The samples that say what the camera's clock was during [fromMs, toMs]: the last one before it,
   * every one inside it, the first one after it; in time order.
   */
  around(
    camera: string,
    fromMs: number,
    toMs: number,
  ): Pick<ClockSample, "sampledAt" | "offsetMs" | "rttMs">[] {
    const cols = "sampled_at AS sampledAt, offset_ms AS offsetMs, rtt_ms AS rttMs";
    type Row = Pick<ClockSample, "sampledAt" | "offsetMs" | "rttMs">;
    const before = this.sql<[string, number], Row>(
      `SELECT ${cols} FROM camera_clock_samples WHERE camera = ? AND sampled_at < ? ORDER BY sampled_at DESC LIMIT 1`,
    ).get(camera, fromMs);
    const inside = this.sql<[string, number, number], Row>(
      `SELECT ${cols} FROM camera_clock_samples WHERE camera = ? AND sampled_at >= ? AND sampled_at <= ? ORDER BY sampled_at`,
    ).all(camera, fromMs, toMs);
    const after = this.sql<[string, number], Row>(
      `SELECT ${cols} FROM camera_clock_samples WHERE camera = ? AND sampled_at > ? ORDER BY sampled_at LIMIT 1`,
    ).get(camera, toMs);
    return [...(before ? [before] : []), ...inside, ...(after ? [after] : [])];
  }
}
