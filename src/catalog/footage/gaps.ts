import { type Db, type Prepare, statementCache } from "../catalog.js";

/**
 * The recording_gaps table: time a running camera was not recorded, and why. SQL only; when an
 * outage opens, changes cause or ends is the recorder's business (recorder/outage.ts).
 */

export interface GapRow {
  id: number;
  camera: string;
  startMs: number;
  endMs: number | null;
  cause: string;
}

export class Gaps {
  private readonly sql: Prepare;

  constructor(private readonly db: Db) {
    this.sql = statementCache(db);
  }

  /**
   * The camera's outage, with its cause as known now: a new gap from `startMs`, or the open one's
   * cause updated (the reason can change while an outage lasts; it stays one gap).
   * Invariant: at most one open gap per camera.
   */
  openGap(camera: string, startMs: number, cause: string): void {
    const open = this.sql<[string], { id: number; cause: string }>(
      "SELECT id, cause FROM recording_gaps WHERE camera = ? AND end_ms IS NULL",
    ).get(camera);
    if (open) {
      if (open.cause !== cause)
        this.sql("UPDATE recording_gaps SET cause = ? WHERE id = ?").run(cause, open.id);
      return;
    }
    this.sql("INSERT INTO recording_gaps (camera, start_ms, cause) VALUES (?, ?, ?)").run(
      camera,
      startMs,
      cause,
    );
  }

  /**
   * At the recorder's start: the time since the camera's last footage is a gap of its own, pscsd not
   * running (a gap a dead pscsd left open ends here too, saying so); then `cause`'s gap opens.
   */
  startGaps(camera: string, startMs: number, cause: string): void {
    this.db.transaction(() => {
      const open = this.sql<[string], { id: number }>(
        "SELECT id FROM recording_gaps WHERE camera = ? AND end_ms IS NULL",
      ).get(camera);
      const last = this.sql<[string], { end_ms: number | null }>(
        "SELECT end_ms FROM segments WHERE camera = ? ORDER BY start_ms DESC LIMIT 1",
      ).get(camera);
      if (open) {
        this.sql(
          "UPDATE recording_gaps SET end_ms = max(start_ms, ?), cause = cause || '; then pscsd not running' WHERE id = ?",
        ).run(startMs, open.id);
      } else if (last?.end_ms && last.end_ms < startMs) {
        this.sql("INSERT INTO recording_gaps (camera, start_ms, end_ms, cause) VALUES (?, ?, ?, ?)").run(
          camera,
          last.end_ms,
          startMs,
          "pscsd not running",
        );
      }
      this.sql("INSERT INTO recording_gaps (camera, start_ms, cause) VALUES (?, ?, ?)").run(
        camera,
        startMs,
        cause,
      );
    })();
  }

  closeGap(camera: string, endMs: number): void {
    this.sql("UPDATE recording_gaps SET end_ms = max(start_ms, ?) WHERE camera = ? AND end_ms IS NULL").run(
      endMs,
      camera,
    );
  }

  /** A gap closed at an estimate of when recording resumed, corrected once the estimate improves. */
  moveGapEnd(camera: string, fromMs: number, toMs: number): void {
    this.sql("UPDATE recording_gaps SET end_ms = max(start_ms, ?) WHERE camera = ? AND end_ms = ?").run(
      toMs,
      camera,
      fromMs,
    );
  }

  /**
   * The gap a run closed at `endMs` (its first media) is open again: the run kept no footage (it
   * failed before its first segment), so the outage goes on as one gap.
   */
  reopenGap(camera: string, endMs: number): void {
    this.sql(
      `UPDATE recording_gaps SET end_ms = NULL WHERE id =
         (SELECT id FROM recording_gaps WHERE camera = ? ORDER BY start_ms DESC, id DESC LIMIT 1) AND end_ms = ?`,
    ).run(camera, endMs);
  }

  /** Gaps overlapping [fromMs, toMs] (an open one reaches to now), in start order. */
  list(camera: string, fromMs = 0, toMs = Number.MAX_SAFE_INTEGER): GapRow[] {
    return this.sql<[string, number, number, number], GapRow>(
      `SELECT id, camera, start_ms AS startMs, end_ms AS endMs, cause FROM recording_gaps
         WHERE camera = ? AND start_ms < ? AND coalesce(end_ms, ?) >= ? ORDER BY start_ms`,
    ).all(camera, toMs, Number.MAX_SAFE_INTEGER, fromMs);
  }
}
