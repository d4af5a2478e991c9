import { unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { AuditLog } from "../src/audit/log.js";
import type { ActionContext } from "../src/auth/service.js";
import type { Db } from "../src/catalog/catalog.js";
import type { Directory } from "../src/catalog/directory/directory.js";
import { type MarkedSegment, type Protected, PurgeCatalog } from "../src/catalog/footage/purge.js";
import type { PurgeRunSummary } from "../src/health/health.js";
import type { Logger } from "../src/log/logger.js";
import type {
  DestroyedSegment,
  DestructionFilter,
  PurgePlan,
  PurgeReason,
  PurgeResult,
  PurgeTrigger,
} from "../src/purge/service.js";
import { fsyncPath } from "../src/storage/durable.js";
import type { EvidenceTree } from "./evidence.js";

/**
 * Destroys footage the retention schedule says must go, and only that.
 * Invariants:
 * - a hold committed in the directory before the purger's last check of a batch never loses
 *   footage: the protocol is (1) read the protecting ranges (pending requests and active holds)
 *   from the directory; (2) in one footage transaction, mark (state 'purging' + purge_marks) expired
 *   segments none of them overlaps; (3) read the protecting ranges again and give back every marked
 *   segment one now overlaps; (4) unlink, fsync the directories; (5) record (state 'purged' +
 *   destruction_log, one transaction). The directory and the footage catalog may be different
 *   databases, so no transaction spans both; the window is a hold committed after step 3 began
 *   (docs/design/crash-consistency.md, "Purge across the two stores");
 * - "older than the retention period" means the segment's last frame is: end_ms <= now − days, so
 *   unheld footage lives at most the retention period + one segment + one purge interval;
 * - a run killed anywhere is finished by the next with the same reason, after the same re-check (3),
 *   so catalog, disk and destruction log agree;
 * - disk pressure destroys the oldest unheld footage early (reason disk_pressure), never held
 *   footage and never footage younger than MIN_PRESSURE_AGE_MS.
 */

const DAY_MS = 86_400_000;
/** Disk pressure never destroys the last hour: investigators ask for the last hour most of all. */
const MIN_PRESSURE_AGE_MS = 3_600_000;
/** Unlinks and directory fsyncs in flight at once. */
const UNLINK_CONCURRENCY = 8;

export interface DiskPressure {
  floorBytes: number;
  action: "purge_oldest" | "alert";
  /** Free bytes on the recordings volume now. */
  freeBytes: () => Promise<number>;
}

export interface PurgerOptions {
  /** The footage catalog of the node holding the recordings. */
  db: Db;
  /** Where holds live (the protecting ranges) and the audit entry of each run goes. */
  directory: Directory;
  recordingsRoot: string;
  retentionDays: number;
  audit: AuditLog;
  log: Logger;
  /** Linked before every run, so a hold's footage is in the evidence tree before anything goes. */
  evidence?: EvidenceTree;
  pressure?: DiskPressure;
  batchSize?: number;
  now?: () => number;
}

export class PurgeError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PurgeError";
  }
}

export class Purger {
  private readonly now: () => number;
  private readonly batch: number;
  private running: Promise<PurgeResult> | undefined;
  private readonly catalog: PurgeCatalog;

  constructor(private readonly o: PurgerOptions) {
    this.now = o.now ?? Date.now;
    // Each batch costs two catalog commits and one fsync per directory it touched: fewer, larger
    // batches are cheaper; a batch of 2,000 one-minute segments is about two hours of 16 cameras.
    this.batch = o.batchSize ?? 2_000;
    this.catalog = new PurgeCatalog(o.db);
  }

  cutoff(now = this.now()): number {
    return now - this.o.retentionDays * DAY_MS;
  }

  /**
   * The ranges protecting footage now: pending requests and active holds, as the directory has them.
   * Given a cutoff, only those that can overlap footage ending by it: the selection then loads the
   * ranges that matter, not every hold on recent footage.
   */
  private protecting(cutoffMs?: number): Promise<Protected[]> {
    return this.o.directory.read((d) => d.holds.protectingRanges(cutoffMs));
  }

  /** What a run now would destroy for age (disk pressure aside): `pscs purge --dry-run`. */
  async plan(show = 50): Promise<PurgePlan> {
    const cutoffMs = this.cutoff();
    const ranges = await this.protecting(cutoffMs);
    return { cutoffMs, ...this.catalog.expired(ranges, cutoffMs, show) };
  }

  /** UTC ms of the last frame of the oldest footage no hold protects, if any. */
  async oldestUnheldEndMs(): Promise<number | undefined> {
    return this.catalog.oldestUnheldEndMs(await this.protecting());
  }

  lastRun(): PurgeRunSummary | undefined {
    return this.catalog.lastRun();
  }

  /** The destruction log, newest first. */
  destroyed(f: DestructionFilter): DestroyedSegment[] {
    return this.catalog.destroyed(f);
  }

  /** One run at a time per process; a second caller gets the run in progress. */
  run(trigger: PurgeTrigger, by: ActionContext): Promise<PurgeResult> {
    this.running ??= this.runOnce(trigger, by).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async runOnce(trigger: PurgeTrigger, by: ActionContext): Promise<PurgeResult> {
    const startedAt = this.now();
    const cutoffMs = this.cutoff(startedAt);
    const run = this.catalog.startRun(trigger, by.actor, startedAt, cutoffMs);
    const result: PurgeResult = {
      run,
      trigger,
      cutoffMs,
      destroyed: 0,
      bytes: 0,
      pressure: 0,
      recovered: 0,
      failures: [],
      startedAt,
      finishedAt: startedAt,
    };
    let error: string | undefined;
    try {
      if (this.o.evidence) await this.o.evidence.sync();
      // A run killed between mark and record left marks: finish them first, with their own reason.
      result.recovered = await this.destroyMarked(run, result);
      for (;;) {
        const n = await this.markAndDestroy(run, "retention", cutoffMs, this.batch, result);
        if (n < this.batch) break;
      }
      await this.relievePressure(run, result);
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
      this.o.log.error({ err: e, run }, "purge run failed");
    }
    result.finishedAt = this.now();
    this.catalog.finishRun(run, {
      finishedAt: result.finishedAt,
      destroyed: result.destroyed,
      bytes: result.bytes,
      failures: result.failures.length,
      error: error ?? null,
    });
    await this.o.directory.tx((d) =>
      this.o.audit.appendIn(d, {
        ...by,
        action: "retention.purge",
        target: `purge:${run}`,
        outcome: error || result.failures.length ? "failure" : "success",
        details: {
          trigger,
          cutoffMs,
          destroyed: result.destroyed,
          bytes: result.bytes,
          diskPressure: result.pressure,
          recovered: result.recovered,
          failures: result.failures.slice(0, 20),
          ...(error ? { error } : {}),
        },
      }),
    );
    if (error) throw new PurgeError(`purge run ${run} failed: ${error}`);
    return result;
  }

  /**
   * Steps 1–2: marks up to `size` segments ending before `cutoffMs` that no range protecting at the
   * first check overlaps, then destroys them (steps 3–5). Returns how many were marked.
   */
  private async markAndDestroy(
    run: number,
    reason: PurgeReason,
    cutoffMs: number,
    size: number,
    result: PurgeResult,
  ): Promise<number> {
    const marked = this.catalog.mark(await this.protecting(cutoffMs), run, reason, cutoffMs, size);
    if (marked > 0) await this.destroyMarked(run, result);
    return marked;
  }

  /**
   * Steps 3–5 for every marked segment: the last check gives back what a hold committed since the
   * mark now protects; the rest are unlinked, their directories fsynced, and each destruction recorded.
   */
  private async destroyMarked(run: number, result: PurgeResult): Promise<number> {
    const kept = this.catalog.unmarkHeld(await this.protecting());
    if (kept > 0)
      this.o.log.info({ run, kept }, "a hold committed since the mark protects marked footage: kept");
    // A mark whose unlink already failed in this run waits for the next run, not the next batch.
    const failed = new Set(result.failures.map((f) => f.segment));
    const marked = this.catalog.marked().filter((m) => !failed.has(m.id));
    if (marked.length === 0) return 0;
    const gone: MarkedSegment[] = [];
    const dirs = new Set<string>();
    // Unlinks are independent: several at once keep the disk (and libuv's thread pool) busy.
    const unlinkOne = async (m: MarkedSegment) => {
      const file = join(this.o.recordingsRoot, m.path);
      try {
        await unlink(file);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== "ENOENT") {
          // Left marked: the next run tries again; the failure is counted, audited and in health.
          result.failures.push({ segment: m.id, path: m.path, error: code ?? String(e) });
          return;
        }
      }
      gone.push(m);
      dirs.add(dirname(file));
    };
    for (let i = 0; i < marked.length; i += UNLINK_CONCURRENCY) {
      await Promise.all(marked.slice(i, i + UNLINK_CONCURRENCY).map(unlinkOne));
    }
    const syncDir = (d: string) =>
      fsyncPath(d).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== "ENOENT") throw e;
      });
    const list = [...dirs];
    for (let i = 0; i < list.length; i += UNLINK_CONCURRENCY) {
      await Promise.all(list.slice(i, i + UNLINK_CONCURRENCY).map(syncDir));
    }
    for (const m of this.catalog.recordDestroyed(gone, run, this.now())) {
      result.destroyed++;
      result.bytes += m.bytes;
      if (m.reason === "disk_pressure") result.pressure++;
    }
    return gone.length;
  }

  /** Below the floor: destroy the oldest unheld footage (at least an hour old) until above it again. */
  private async relievePressure(run: number, result: PurgeResult): Promise<void> {
    const p = this.o.pressure;
    if (!p) return;
    let free = await p.freeBytes();
    if (free >= p.floorBytes) return;
    if (p.action === "alert") {
      this.o.log.warn({ freeBytes: free, floorBytes: p.floorBytes }, "recordings volume below its floor");
      return;
    }
    const youngest = this.now() - MIN_PRESSURE_AGE_MS;
    while (free < p.floorBytes) {
      const before = result.destroyed;
      // One small batch at a time: free space is measured again after each.
      const n = await this.markAndDestroy(run, "disk_pressure", youngest, Math.min(this.batch, 50), result);
      if (n === 0 || result.destroyed === before) break;
      free = await p.freeBytes();
    }
    this.o.log.warn(
      { freeBytes: free, floorBytes: p.floorBytes, destroyed: result.pressure },
      free < p.floorBytes
        ? "recordings volume below its floor and nothing unheld older than an hour is left to destroy"
        : "destroyed the oldest unheld footage early to keep the recordings volume above its floor",
    );
  }
}
