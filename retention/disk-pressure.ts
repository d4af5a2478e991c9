import { SYSTEM_ACTOR } from "../src/audit/actors.js";
import type { AuditLog } from "../src/audit/log.js";
import type { Config } from "../src/config/load.js";
import type { Logger } from "../src/log/logger.js";
import type { StorageMonitor, VolumeStatus } from "../src/storage/monitor.js";
import type { Purger } from "./purger.js";

/**
 * What pscsd does when the recordings volume falls below its floor (`retention.onDiskPressure`),
 * decided at each sample of the volumes (`check()`): every low volume is logged; `purge_oldest` runs the purger
 * at once (disk pressure does not wait for the hourly run); `stop_recording` pauses recording until
 * the volume is above its floor again; `alert` only logs.
 * Invariant: recording is paused only while the recordings volume is below its floor under
 * `stop_recording`, and each pause and each resume is audited once.
 */

export interface DiskPressurePolicyOptions {
  onDiskPressure: Config["retention"]["onDiskPressure"];
  floorGiB: number;
  storage: StorageMonitor;
  purger: Purger;
  audit: AuditLog;
  log: Logger;
}

/** Under stop_recording: recording stops and resumes within seconds of the floor being crossed. */
const PAUSED_SAMPLE_EVERY_MS = 5_000;

export class DiskPressurePolicy {
  /**
   * How often the volumes must be sampled for this policy; undefined when a sample a minute is
   * enough (it then rides on pscsd's minute timer: one wake-up a minute, not two).
   */
  readonly sampleEveryMs: number | undefined;
  private pausedReason: string | undefined;
  private readonly pauseListeners: (() => void)[] = [];

  constructor(private readonly o: DiskPressurePolicyOptions) {
    this.sampleEveryMs = o.onDiskPressure === "stop_recording" ? PAUSED_SAMPLE_EVERY_MS : undefined;
  }

  /** Why no camera may record now (the recorder asks before and during every run). */
  paused(): string | undefined {
    return this.pausedReason;
  }

  /** `listener` is called when recording is paused or resumed (the recorder acts at once). */
  onPauseChange(listener: () => void): void {
    this.pauseListeners.push(listener);
  }

  /** Samples the volumes and acts on them now; a sample that fails is thrown (pscsd's start fails). */
  async checkNow(): Promise<void> {
    await this.act(await this.o.storage.sample());
  }

  /** Samples the volumes and acts on them; a sample that fails is logged (the next one may succeed). */
  check(): void {
    this.o.storage.sample().then(
      (vols) =>
        this.act(vols).catch((err: unknown) => this.o.log.error({ err }, "acting on disk pressure failed")),
      (err: unknown) => this.o.log.error({ err }, "storage sampling failed"),
    );
  }

  private async act(vols: VolumeStatus[]): Promise<void> {
    const { onDiskPressure, floorGiB, purger, audit, log } = this.o;
    for (const v of vols) if (v.low) log.warn({ volume: v }, "storage low");
    const rec = vols.find((v) => v.volume === "recordings");
    const low = rec?.low === true && !rec.error;
    if (low && onDiskPressure === "purge_oldest") {
      purger
        .run("disk_pressure", SYSTEM_ACTOR)
        .catch((err: unknown) => log.error({ err }, "disk-pressure purge failed"));
    }
    if (onDiskPressure !== "stop_recording") return;
    const was = this.pausedReason;
    this.pausedReason =
      low && rec
        ? `recording stopped: recordings volume has ${(rec.freeBytes / 2 ** 30).toFixed(2)} GiB free, below its floor of ${floorGiB} GiB`
        : undefined;
    if (!was === !this.pausedReason) return;
    // A pause closes every camera's segment now, not at the watchdog's next look; a resume wakes
    // the paused cameras.
    for (const l of this.pauseListeners) l();
    log.warn(
      { paused: this.pausedReason ?? null },
      this.pausedReason ? "recording paused" : "recording resumed",
    );
    await audit.append({
      ...SYSTEM_ACTOR,
      action: this.pausedReason ? "recording.pause" : "recording.resume",
      outcome: "success",
      details: { reason: this.pausedReason ?? "free space above the floor again", freeBytes: rec?.freeBytes },
    });
  }
}
