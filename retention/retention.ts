import { mkdirSync } from "node:fs";
import type { AuditLog } from "../src/audit/log.js";
import type { ActionContext } from "../src/auth/service.js";
import type { Db } from "../src/catalog/catalog.js";
import type { Directory } from "../src/catalog/directory/directory.js";
import { CoverageCatalog } from "../src/catalog/footage/coverage.js";
import type { Config } from "../src/config/load.js";
import type { PurgeHealth } from "../src/health/health.js";
import type { Logger } from "../src/log/logger.js";
import type {
  DestroyedSegment,
  DestructionFilter,
  PurgeDesk,
  PurgePlan,
  PurgeResult,
  PurgeTrigger,
} from "../src/purge/service.js";
import { EvidenceTree } from "./evidence.js";
import { ExportService, type ExportServiceOptions } from "./export/desk.js";
import { DEFAULT_HOLD_LIMITS, type HoldLimits, overdueCutoff } from "./hold-rules.js";
import { HoldService } from "./holds.js";
import { type DiskPressure, Purger } from "./purger.js";
import { PurgeSchedule } from "./schedule.js";

/**
 * The footage lifecycle after recording: holds, evidence tree, export requests, purger and its
 * schedule, as one service.
 */

export interface RetentionOptions {
  /** The footage catalog of this node. */
  db: Db;
  /** Holds, evidence links and the audit chain. */
  directory: Directory;
  audit: AuditLog;
  log: Logger;
  recordingsRoot: string;
  evidenceRoot: string;
  cameras: ReadonlySet<string>;
  /** The site's name, printed on the hold log. */
  site?: string;
  days: number;
  purgeSchedule: string;
  /** What pscsd does below the free-space floor; only 'purge_oldest' involves the purger. */
  onDiskPressure: Config["retention"]["onDiskPressure"];
  batchSize?: number;
  holdLimits?: HoldLimits;
  /** The site's IANA zone: a form's received date is checked against the site's today. */
  timeZone?: string;
  pressure?: Omit<DiskPressure, "action">;
  /** Told after an export is approved or cancelled (see ExportServiceOptions.onChange). */
  onExportChange?: ExportServiceOptions["onChange"];
  now?: () => number;
}

const DAY_MS = 86_400_000;
/** A run's own duration: the oldest unheld footage may be this much past its interval before "overdue". */
const RUN_GRACE_MS = 10 * 60_000;

/** The retention service as a config file describes it (pscsd adds disk pressure; the CLI does not). */
export function retentionFromConfig(
  config: Config,
  db: Db,
  directory: Directory,
  audit: AuditLog,
  log: Logger,
  pressure?: RetentionOptions["pressure"],
  onExportChange?: RetentionOptions["onExportChange"],
): Retention {
  return new Retention({
    db,
    directory,
    audit,
    log,
    recordingsRoot: config.storage.recordings,
    evidenceRoot: config.storage.evidence,
    cameras: new Set(config.cameras.map((c) => c.id)),
    site: config.site.name,
    days: config.retention.days,
    purgeSchedule: config.retention.purgeSchedule,
    batchSize: config.retention.purgeBatchSize,
    holdLimits: config.retention.holds,
    timeZone: config.site.timezone,
    onDiskPressure: pressure ? config.retention.onDiskPressure : "alert",
    ...(pressure ? { pressure } : {}),
    ...(onExportChange ? { onExportChange } : {}),
  });
}

export class Retention implements PurgeDesk {
  readonly evidence: EvidenceTree;
  readonly holds: HoldService;
  readonly exports: ExportService;
  readonly purger: Purger;
  readonly schedule: PurgeSchedule;
  private readonly now: () => number;

  constructor(private readonly o: RetentionOptions) {
    this.now = o.now ?? Date.now;
    mkdirSync(o.evidenceRoot, { recursive: true });
    this.evidence = new EvidenceTree({
      directory: o.directory,
      db: o.db,
      recordingsRoot: o.recordingsRoot,
      root: o.evidenceRoot,
      now: this.now,
    });
    this.holds = new HoldService({
      directory: o.directory,
      footage: new CoverageCatalog(o.db),
      audit: o.audit,
      evidence: this.evidence,
      cameras: o.cameras,
      log: o.log.child({ component: "holds" }),
      ...(o.site !== undefined ? { site: o.site } : {}),
      limits: o.holdLimits ?? DEFAULT_HOLD_LIMITS,
      ...(o.timeZone ? { timeZone: o.timeZone } : {}),
      now: this.now,
    });
    this.exports = new ExportService({
      directory: o.directory,
      audit: o.audit,
      holds: this.holds,
      evidenceRoot: o.evidenceRoot,
      cameras: o.cameras,
      limits: o.holdLimits ?? DEFAULT_HOLD_LIMITS,
      ...(o.timeZone ? { timeZone: o.timeZone } : {}),
      ...(o.onExportChange ? { onChange: o.onExportChange } : {}),
      now: this.now,
    });
    this.purger = new Purger({
      db: o.db,
      directory: o.directory,
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

  plan(show?: number): Promise<PurgePlan> {
    return this.purger.plan(show);
  }

  run(trigger: PurgeTrigger, by: ActionContext): Promise<PurgeResult> {
    return this.purger.run(trigger, by);
  }

  destroyed(f: DestructionFilter): DestroyedSegment[] {
    return this.purger.destroyed(f);
  }

  async health(): Promise<PurgeHealth> {
    const oldest = (await this.purger.oldestUnheldEndMs()) ?? null;
    const interval = this.schedule.intervalMs() ?? 3_600_000;
    const { overdueDays } = this.holds.limits;
    const [counts, late] = await this.o.directory.read(
      async (d) =>
        [
          await d.holds.countByStatus(),
          await d.holds.pendingSince(overdueCutoff(this.now(), overdueDays)),
        ] as const,
    );
    const n = (s: "requested" | "active") => counts[s] ?? 0;
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
