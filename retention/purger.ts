import { unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { AuditLog } from "../src/audit/log.js";
import type { ActionContext } from "../src/auth/service.js";
import type { Db } from "../src/catalog/catalog.js";
import type { PurgeRunSummary } from "../src/health/health.js";
import type { Logger } from "../src/log/logger.js";
import { fsyncPath } from "../src/storage/durable.js";
import type { EvidenceTree } from "./evidence.js";

/**
 * Destroys footage the retention schedule says must go, and only that.
 * Invariants:
 * - a segment overlapping a protecting hold range (a pending request or an active hold) is never
 *   marked, so never destroyed; marking and the hold check happen in one IMMEDIATE transaction;
 * - "older than the retention period" means the segment's last frame is: end_ms <= now − days;
 * - the protocol is mark (state 'purging' + purge_marks, one transaction) → unlink → fsync the
 *   directory → record (state 'purged' + destruction_log, one transaction); a run killed anywhere is
 *   finished by the next with the same reason, so catalog, disk and destruction log agree;
 * - disk pressure destroys the oldest unheld footage early (reason disk_pressure), never held
 *   footage and never footage younger than MIN_PRESSURE_AGE_MS.
 */

const DAY_MS = 86_400_000;
/** Disk pressure never destroys the last hour: investigators ask for the last hour most of all. */
const MIN_PRESSURE_AGE_MS = 3_600_000;
/** Unlinks and directory fsyncs in flight at once. */
const UNLINK_CONCURRENCY = 8;

export type PurgeReason = "retention" | "disk_pressure";
export type PurgeTrigger = "schedule" | "manual" | "disk_pressure";

export interface ExpiredSegment {
  id: number;
  camera: string;
  startMs: number;
  endMs: number;
  path: string;
  bytes: number;
  sha256: string;
}

export interface PurgePlan {
  cutoffMs: number;
  count: number;
  bytes: number;
  /** The first ones, oldest first (a dry run shows these). */
  segments: ExpiredSegment[];
}

export interface PurgeResult {
  run: number;
  trigger: PurgeTrigger;
  cutoffMs: number;
  destroyed: number;
  bytes: number;
  /** Of which destroyed early because the disk was short of space. */
  pressure: number;
  /** Marked rows from an earlier, interrupted run that this run finished. */
  recovered: number;
  failures: { segment: number; path: string; error: string }[];
  startedAt: number;
  finishedAt: number;
}

export interface DiskPressure {
  floorBytes: number;
  action: "purge_oldest" | "alert";
  /** Free bytes on the recordings volume now. */
  freeBytes: () => Promise<number>;
}

export interface PurgerOptions {
  db: Db;
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

const UNHELD = `NOT EXISTS (SELECT 1 FROM hold_ranges r WHERE r.protecting = 1 AND r.camera = s.camera
  AND r.start_ms < s.end_ms AND r.end_ms > s.start_ms)`;
const COLUMNS = "s.id, s.camera, s.start_ms startMs, s.end_ms endMs, s.path, s.bytes, s.sha256";

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
  private readonly expiredStmt;
  private readonly oldestStmt;

  constructor(private readonly o: PurgerOptions) {
    this.now = o.now ?? Date.now;
    // Each batch costs two catalog commits and one fsync per directory it touched: fewer, larger
    // batches are cheaper; a batch of 2,000 one-minute segments is about two hours of 16 cameras.
    this.batch = o.batchSize ?? 2_000;
    this.expiredStmt = o.db.prepare<[number, number], ExpiredSegment>(
      `SELECT ${COLUMNS} FROM segments s WHERE s.state = 'complete' AND s.end_ms <= ? AND ${UNHELD}
       ORDER BY s.end_ms LIMIT ?`,
    );
    this.oldestStmt = o.db.prepare<[], { endMs: number }>(
      `SELECT s.end_ms endMs FROM segments s WHERE s.state = 'complete' AND ${UNHELD} ORDER BY s.end_ms LIMIT 1`,
    );
  }

  cutoff(now = this.now()): number {
    return now - this.o.retentionDays * DAY_MS;
  }

  /** What a run now would destroy for age (disk pressure aside): `pscs purge --dry-run`. */
  plan(show = 50): PurgePlan {
    const cutoffMs = this.cutoff();
    const totals = this.o.db
      .prepare<[number], { n: number; bytes: number | null }>(
        `SELECT count(*) n, sum(s.bytes) bytes FROM segments s WHERE s.state = 'complete' AND s.end_ms <= ? AND ${UNHELD}`,
      )
      .get(cutoffMs);
    return {
      cutoffMs,
      count: totals?.n ?? 0,
      bytes: totals?.bytes ?? 0,
      segments: this.expiredStmt.all(cutoffMs, show),
    };
  }

  /** UTC ms of the last frame of the oldest footage no hold protects, if any. */
  oldestUnheldEndMs(): number | undefined {
    return this.oldestStmt.get()?.endMs;
  }

  lastRun(): PurgeRunSummary | undefined {
    return this.o.db
      .prepare<[], PurgeRunSummary>(
        `SELECT id, trigger, started_at startedAt, finished_at finishedAt, destroyed, bytes, failures, error
         FROM purge_runs ORDER BY id DESC LIMIT 1`,
      )
      .get();
  }

  /** One run at a time per process; a second caller gets the run in progress. */
  run(trigger: PurgeTrigger, by: ActionContext): Promise<PurgeResult> {
    this.running ??= this.runOnce(trigger, by).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async runOnce(trigger: PurgeTrigger, by: ActionContext): Promise<PurgeResult> {
    const db = this.o.db;
    const startedAt = this.now();
    const cutoffMs = this.cutoff(startedAt);
    const run = Number(
      db
        .prepare("INSERT INTO purge_runs (trigger, actor, started_at, cutoff_ms) VALUES (?, ?, ?, ?)")
        .run(trigger, by.actor, startedAt, cutoffMs).lastInsertRowid,
    );
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
    db.prepare(
      "UPDATE purge_runs SET finished_at = ?, destroyed = ?, bytes = ?, failures = ?, error = ? WHERE id = ?",
    ).run(result.finishedAt, result.destroyed, result.bytes, result.failures.length, error ?? null, run);
    this.o.audit.append({
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
    });
    if (error) throw new PurgeError(`purge run ${run} failed: ${error}`);
    return result;
  }

  /**
   * Marks up to `size` unheld segments ending before `cutoffMs` (the hold check and the mark in one
   * IMMEDIATE transaction, so a hold committed first always wins), then destroys them.
   */
  private async markAndDestroy(
    run: number,
    reason: PurgeReason,
    cutoffMs: number,
    size: number,
    result: PurgeResult,
  ): Promise<number> {
    const marked = this.o.db
      .transaction(() => {
        const rows = this.expiredStmt.all(cutoffMs, size);
        const mark = this.o.db.prepare(
          "UPDATE segments SET state = 'purging' WHERE id = ? AND state = 'complete'",
        );
        const note = this.o.db.prepare("INSERT INTO purge_marks (segment, run, reason) VALUES (?, ?, ?)");
        for (const r of rows) {
          mark.run(r.id);
          note.run(r.id, run, reason);
        }
        return rows.length;
      })
      .immediate();
    if (marked > 0) await this.destroyMarked(run, result);
    return marked;
  }

  /** Unlinks every marked segment's file, fsyncs their directories, then records each destruction. */
  private async destroyMarked(run: number, result: PurgeResult): Promise<number> {
    const db = this.o.db;
    // A mark whose unlink already failed in this run waits for the next run, not the next batch.
    const failed = new Set(result.failures.map((f) => f.segment));
    const marked = db
      .prepare<[], ExpiredSegment & { reason: PurgeReason }>(
        `SELECT ${COLUMNS}, m.reason FROM purge_marks m JOIN segments s ON s.id = m.segment ORDER BY s.end_ms`,
      )
      .all()
      .filter((m) => !failed.has(m.id));
    if (marked.length === 0) return 0;
    const gone: typeof marked = [];
    const dirs = new Set<string>();
    // Unlinks are independent: several at once keep the disk (and libuv's thread pool) busy.
    const unlinkOne = async (m: (typeof marked)[number]) => {
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
    const at = this.now();
    db.transaction(() => {
      const purged = db.prepare("UPDATE segments SET state = 'purged' WHERE id = ? AND state = 'purging'");
      const log = db.prepare(
        `INSERT INTO destruction_log (segment, camera, start_ms, end_ms, bytes, sha256, path, reason, run, destroyed_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      const unmark = db.prepare("DELETE FROM purge_marks WHERE segment = ?");
      for (const m of gone) {
        if (purged.run(m.id).changes === 1) {
          log.run(m.id, m.camera, m.startMs, m.endMs, m.bytes, m.sha256, m.path, m.reason, run, at);
          result.destroyed++;
          result.bytes += m.bytes;
          if (m.reason === "disk_pressure") result.pressure++;
        }
        unmark.run(m.id);
      }
    })();
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
