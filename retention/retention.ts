import { mkdirSync } from "node:fs";
import type { AuditLog } from "../src/audit/log.js";
import type { Db } from "../src/catalog/catalog.js";
import type { Config } from "../src/config/load.js";
import type { PurgeHealth } from "../src/health/health.js";
import type { Logger } from "../src/log/logger.js";
import { EvidenceTree } from "./evidence.js";
import { DEFAULT_HOLD_LIMITS, type HoldLimits, overdueCutoff } from "./hold-rules.js";
import { HoldService } from "./holds.js";
import { type DiskPressure, Purger } from "./purger.js";
import { PurgeSchedule } from "./schedule.js";

/** The footage lifecycle after recording: holds, evidence tree, purger and its schedule, as one service. */

export interface RetentionOptions {
  db: Db;
  audit: AuditLog;
  log: Logger;
  recordingsRoot: string;
  evidenceRoot: string;
  cameras: ReadonlySet<string>;
  days: number;
  purgeSchedule: string;
  /** What pscsd does below the free-space floor; only 'purge_oldest' involves the purger. */
  onDiskPressure: Config["retention"]["onDiskPressure"];
  batchSize?: number;
  holdLimits?: HoldLimits;
  /** The site's IANA zone: a form's received date is checked against the site's today. */
  timeZone?: string;
  pressure?: Omit<DiskPressure, "action">;
  now?: () => number;
}

export interface DestroyedSegment {
  segment: number;
  camera: string;
  startMs: number;
  endMs: number;
  bytes: number;
  sha256: string;
  path: string;
  reason: string;
  run: number;
  destroyedAt: number;
}

const DAY_MS = 86_400_000;
/** A run's own duration: the oldest unheld footage may be this much past its interval before "overdue". */
const RUN_GRACE_MS = 10 * 60_000;

/** The retention service as a config file describes it (pscsd adds disk pressure; the CLI does not). */
export function retentionFromConfig(
  config: Config,
  db: Db,
  audit: AuditLog,
  log: Logger,
  pressure?: RetentionOptions["pressure"],
): Retention {
  return new Retention({
    db,
    audit,
    log,
    recordingsRoot: config.storage.recordings,
    evidenceRoot: config.storage.evidence,
    cameras: new Set(config.cameras.map((c) => c.id)),
    days: config.retention.days,
    purgeSchedule: config.retention.purgeSchedule,
    batchSize: config.retention.purgeBatchSize,
    holdLimits: config.retention.holds,
    timeZone: config.site.timezone,
    onDiskPressure: pressure ? config.retention.onDiskPressure : "alert",
    ...(pressure ? { pressure } : {}),
  });
}

export class Retention {
  readonly evidence: EvidenceTree;
  readonly holds: HoldService;
  readonly purger: Purger;
  readonly schedule: PurgeSchedule;
  private readonly now: () => number;

  constructor(private readonly o: RetentionOptions) {
    this.now = o.now ?? Date.now;
    mkdirSync(o.evidenceRoot, { recursive: true });
    this.evidence = new EvidenceTree(o.db, o.recordingsRoot, o.evidenceRoot, this.now);
    this.holds = new HoldService({
      db: o.db,
      audit: o.audit,
      evidence: this.evidence,
      cameras: o.cameras,
      log: o.log.child({ component: "holds" }),
      limits: o.holdLimits ?? DEFAULT_HOLD_LIMITS,
      ...(o.timeZone ? { timeZone: o.timeZone } : {}),
      now: this.now,
    });
    this.purger = new Purger({
      db: o.db,
      recordingsRoot: o.recordingsRoot,
      retentionDays: o.days,
      audit: o.audit,
      log: o.log.child({ component: "purger" }),
      evidence: this.evidence,
      ...(o.batchSize ? { batchSize: o.batchSize } : {}),
      ...(o.pressure
        ? {
            pressure: {
              ...o.pressure,
              action: o.onDiskPressure === "purge_oldest" ? ("purge_oldest" as const) : ("alert" as const),
            },
          }
        : {}),
      now: this.now,
    });
    this.schedule = new PurgeSchedule(this.purger, o.purgeSchedule, o.log.child({ component: "purger" }));
  }

  /** The destruction log, newest first. */
  destroyed(f: { camera?: string; from?: number; to?: number; limit?: number }): DestroyedSegment[] {
    return this.o.db
      .prepare<
        { camera: string | null; from: number | null; to: number | null; limit: number },
        DestroyedSegment
      >(
        `SELECT segment, camera, start_ms startMs, end_ms endMs, bytes, sha256, path, reason, run, destroyed_at destroyedAt
         FROM destruction_log WHERE (:camera IS NULL OR camera = :camera) AND (:from IS NULL OR end_ms > :from)
           AND (:to IS NULL OR start_ms < :to) ORDER BY id DESC LIMIT :limit`,
      )
      .all({ camera: f.camera ?? null, from: f.from ?? null, to: f.to ?? null, limit: f.limit ?? 1000 });
  }

  health(): PurgeHealth {
    const oldest = this.purger.oldestUnheldEndMs() ?? null;
    const interval = this.schedule.intervalMs() ?? 3_600_000;
    const counts = this.o.db
      .prepare<[], { status: string; n: number }>(
        "SELECT status, count(*) n FROM holds WHERE status IN ('requested', 'active') GROUP BY status",
      )
      .all();
    const n = (s: string) => counts.find((c) => c.status === s)?.n ?? 0;
    const { overdueDays } = this.holds.limits;
    const late = this.o.db
      .prepare<[number], { n: number; oldest: number | null }>(
        "SELECT count(*) n, min(entered_at) oldest FROM holds WHERE status = 'requested' AND entered_at < ?",
      )
      .get(overdueCutoff(this.now(), overdueDays)) ?? { n: 0, oldest: null };
    return {
      retentionDays: this.o.days,
      schedule: this.o.purgeSchedule,
      onDiskPressure: this.o.onDiskPressure,
      lastRun: this.purger.lastRun() ?? null,
      nextRunAt: this.schedule.nextRun() ?? null,
      oldestUnheldEndMs: oldest,
      overdue: oldest !== null && this.now() - oldest > this.o.days * DAY_MS + interval + RUN_GRACE_MS,
      holds: {
        requested: n("requested"),
        active: n("active"),
        overdueRequests: late.n,
        overdueAfterDays: overdueDays,
        oldestOverdueEnteredAt: late.oldest,
      },
    };
  }
}
