import type { VolumeStatus } from "../storage/monitor.js";
import type { CameraHealth } from "./health.js";

/**
 * The last 24 hours of what the operations screen charts: each volume's free space, and each
 * camera's connection, bytes recorded so far and live viewers, one sample a minute. Kept in memory
 * only (a restart starts it afresh; the durable record of what happened is the audit log, the
 * gaps table and the purge log).
 * Invariant: at most `capacity` samples, oldest dropped first; samples in time order.
 */

export interface HistorySample {
  at: number;
  /** Free bytes per volume. */
  free: Record<string, number>;
  cameras: Record<string, { connected: boolean; recordedBytes: number; viewers: number }>;
}

export const DAY_OF_MINUTES = 24 * 60;

export class HealthHistory {
  private readonly samples: HistorySample[] = [];

  constructor(private readonly capacity = DAY_OF_MINUTES) {}

  record(at: number, cameras: readonly CameraHealth[], volumes: readonly VolumeStatus[]): void {
    const last = this.samples.at(-1);
    if (last && at <= last.at) return;
    this.samples.push({
      at,
      free: Object.fromEntries(volumes.filter((v) => !v.error).map((v) => [v.volume, v.freeBytes])),
      cameras: Object.fromEntries(
        cameras.map((c) => [
          c.id,
          {
            connected: c.state === "connected",
            recordedBytes: c.recording?.bytes ?? 0,
            viewers: c.live?.viewers ?? 0,
          },
        ]),
      ),
    });
    if (this.samples.length > this.capacity) this.samples.shift();
  }

  /** Samples taken at or after `fromMs`, oldest first. */
  since(fromMs: number): HistorySample[] {
    return this.samples.filter((s) => s.at >= fromMs);
  }
}
