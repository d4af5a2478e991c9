import type { PurgeRunSummary } from "../../health/health.js";
import type {
  DestroyedSegment,
  DestructionFilter,
  ExpiredSegment,
  PurgeReason,
  PurgeTrigger,
} from "../../purge/service.js";
import { type Db, type Prepare, statementCache } from "../catalog.js";

/**
 * The purger's rows in the footage catalog: runs, marks (state 'purging' + purge_marks) and the
 * destruction log. The protecting hold ranges come from the directory, which may be another database:
 * each question that must exclude them loads them into a per-connection TEMP table first, so the
 * exclusion is answered from an index as it was when both lived in one file.
 */

/** A range no segment it overlaps may be destroyed. */
export interface Protected {
  camera: string;
  fromMs: number;
  toMs: number;
}

export interface MarkedSegment extends ExpiredSegment {
  reason: PurgeReason;
}

const UNHELD = `NOT EXISTS (SELECT 1 FROM temp.purge_protected r WHERE r.camera = s.camera
  AND r.start_ms < s.end_ms AND r.end_ms > s.start_ms)`;
const HELD = `EXISTS (SELECT 1 FROM temp.purge_protected r WHERE r.camera = s.camera
  AND r.start_ms < s.end_ms AND r.end_ms > s.start_ms)`;
const COLUMNS = "s.id, s.camera, s.start_ms startMs, s.end_ms endMs, s.path, s.bytes, s.sha256";

export class PurgeCatalog {
  private readonly sql: Prepare;

  constructor(private readonly db: Db) {
    db.exec(`CREATE TEMP TABLE IF NOT EXISTS purge_protected (
        camera TEXT NOT NULL, start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL) STRICT;
      CREATE INDEX IF NOT EXISTS temp.purge_protected_by_camera ON purge_protected(camera, start_ms, end_ms);`);
    this.sql = statementCache(db);
  }

  /** The ranges the next statement must leave alone. Call inside the transaction that reads them. */
  private protect(ranges: readonly Protected[]): void {
    this.sql("DELETE FROM temp.purge_protected").run();
    const add = this.sql("INSERT INTO temp.purge_protected (camera, start_ms, end_ms) VALUES (?, ?, ?)");
    for (const r of ranges) add.run(r.camera, r.fromMs, r.toMs);
  }

  /**
   * The complete segments whose last frame is at or before `cutoffMs` and that no range overlaps: how
   * many, their bytes, and the oldest `limit` of them; one load of the ranges for both questions.
   */
  expired(
    ranges: readonly Protected[],
    cutoffMs: number,
    limit: number,
  ): { count: number; bytes: number; segments: ExpiredSegment[] } {
    return this.db.transaction(() => {
      this.protect(ranges);
      const t = this.sql<[number], { n: number; bytes: number | null }>(
        `SELECT count(*) n, sum(s.bytes) bytes FROM segments s WHERE s.state = 'complete' AND s.end_ms <= ? AND ${UNHELD}`,
      ).get(cutoffMs);
      const segments = this.expiredStmt().all(cutoffMs, limit);
      return { count: t?.n ?? 0, bytes: t?.bytes ?? 0, segments };
    })();
  }

  private expiredStmt() {
    return this.sql<[number, number], ExpiredSegment>(
      `SELECT ${COLUMNS} FROM segments s WHERE s.state = 'complete' AND s.end_ms <= ? AND ${UNHELD}
       ORDER BY s.end_ms LIMIT ?`,
    );
  }

  /** UTC ms of the last frame of the oldest complete footage no range overlaps, if any. */
  oldestUnheldEndMs(ranges: readonly Protected[]): number | undefined {
    return this.db.transaction(() => {
      this.protect(ranges);
      return this.sql<[], { endMs: number }>(
        `SELECT s.end_ms endMs FROM segments s WHERE s.state = 'complete' AND ${UNHELD} ORDER BY s.end_ms LIMIT 1`,
      ).get()?.endMs;
    })();
  }

  /**
   * Marks up to `size` expired segments no range overlaps, in one IMMEDIATE transaction (the segment
   * states it read cannot change before the marks are written); returns how many.
   */
  mark(
    ranges: readonly Protected[],
    run: number,
    reason: PurgeReason,
    cutoffMs: number,
    size: number,
  ): number {
    return this.db
      .transaction(() => {
        this.protect(ranges);
        const rows = this.expiredStmt().all(cutoffMs, size);
        const mark = this.sql("UPDATE segments SET state = 'purging' WHERE id = ? AND state = 'complete'");
        const note = this.sql("INSERT INTO purge_marks (segment, run, reason) VALUES (?, ?, ?)");
        for (const r of rows) {
          mark.run(r.id);
          note.run(r.id, run, reason);
        }
        return rows.length;
      })
      .immediate();
  }

  /** Gives back every marked segment a range now overlaps (state 'complete', mark gone); returns how many. */
  unmarkHeld(ranges: readonly Protected[]): number {
    if (ranges.length === 0) return 0;
    return this.db
      .transaction(() => {
        this.protect(ranges);
        const held = this.sql<[], { id: number }>(
          `SELECT s.id FROM purge_marks m JOIN segments s ON s.id = m.segment WHERE ${HELD}`,
        ).all();
        const back = this.sql("UPDATE segments SET state = 'complete' WHERE id = ? AND state = 'purging'");
        const unmark = this.sql("DELETE FROM purge_marks WHERE segment = ?");
        for (const { id } of held) {
          back.run(id);
          unmark.run(id);
        }
        return held.length;
      })
      .immediate();
  }

  /** Every marked segment, oldest first, with the reason it was marked for. */
  marked(): MarkedSegment[] {
    return this.sql<[], MarkedSegment>(
      `SELECT ${COLUMNS}, m.reason FROM purge_marks m JOIN segments s ON s.id = m.segment ORDER BY s.end_ms`,
    ).all();
  }

  /**
   * Records the destruction of segments whose files are gone and durable so (state 'purged', a
   * destruction_log row, the mark cleared), in one transaction; returns those recorded now.
   */
  recordDestroyed(gone: readonly MarkedSegment[], run: number, at: number): MarkedSegment[] {
    return this.db.transaction(() => {
      const purged = this.sql("UPDATE segments SET state = 'purged' WHERE id = ? AND state = 'purging'");
      const log = this.sql(
        `INSERT INTO destruction_log (segment, camera, start_ms, end_ms, bytes, sha256, path, reason, run, destroyed_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      const unmark = this.sql("DELETE FROM purge_marks WHERE segment = ?");
      const recorded: MarkedSegment[] = [];
      for (const m of gone) {
        if (purged.run(m.id).changes === 1) {
          log.run(m.id, m.camera, m.startMs, m.endMs, m.bytes, m.sha256, m.path, m.reason, run, at);
          recorded.push(m);
        }
        unmark.run(m.id);
      }
      return recorded;
    })();
  }

  startRun(trigger: PurgeTrigger, actor: string, startedAt: number, cutoffMs: number): number {
    return Number(
      this.sql("INSERT INTO purge_runs (trigger, actor, started_at, cutoff_ms) VALUES (?, ?, ?, ?)").run(
        trigger,
        actor,
        startedAt,
        cutoffMs,
      ).lastInsertRowid,
    );
  }

  finishRun(
    run: number,
    r: { finishedAt: number; destroyed: number; bytes: number; failures: number; error: string | null },
  ): void {
    this.sql(
      "UPDATE purge_runs SET finished_at = ?, destroyed = ?, bytes = ?, failures = ?, error = ? WHERE id = ?",
    ).run(r.finishedAt, r.destroyed, r.bytes, r.failures, r.error, run);
  }

  lastRun(): PurgeRunSummary | undefined {
    return this.sql<[], PurgeRunSummary>(
      `SELECT id, trigger, started_at startedAt, finished_at finishedAt, destroyed, bytes, failures, error
       FROM purge_runs ORDER BY id DESC LIMIT 1`,
    ).get();
  }

  /** The destruction log, newest first. */
  destroyed(f: DestructionFilter): DestroyedSegment[] {
    return this.sql<
      [{ camera: string | null; from: number | null; to: number | null; limit: number }],
      DestroyedSegment
    >(
      `SELECT segment, camera, start_ms startMs, end_ms endMs, bytes, sha256, path, reason, run, destroyed_at destroyedAt
       FROM destruction_log WHERE (:camera IS NULL OR camera = :camera) AND (:from IS NULL OR end_ms > :from)
         AND (:to IS NULL OR start_ms < :to) ORDER BY id DESC LIMIT :limit`,
    ).all({ camera: f.camera ?? null, from: f.from ?? null, to: f.to ?? null, limit: f.limit ?? 1000 });
  }
}
