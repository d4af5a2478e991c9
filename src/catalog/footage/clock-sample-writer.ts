import type { Db } from "../catalog.js";

/**
 * Writes camera clock samples into their history (`camera_clock_samples`): an export must say what a
 * burned-in camera time meant when it was recorded. A sample taken twice at the same moment is kept once.
 */

export interface ClockSampleRow {
  sampledAt: number;
  offsetMs: number;
  rttMs: number;
}

export function clockSampleWriter(db: Db): (camera: string, sample: ClockSampleRow) => void {
  const insert = db.prepare<[string, number, number, number]>(
    "INSERT OR REPLACE INTO camera_clock_samples (camera, sampled_at, offset_ms, rtt_ms) VALUES (?, ?, ?, ?)",
  );
  return (camera, s) => {
    insert.run(camera, s.sampledAt, s.offsetMs, s.rttMs);
  };
}
