import { type Db, type Prepare, statementCache } from "../catalog.js";
import { MAX_SEGMENT_MS } from "./coverage.js";

/** The footage catalog's side of the evidence tree: the complete segments a hold range covers. */

export interface HeldSegment {
  id: number;
  camera: string;
  startMs: number;
  endMs: number;
  path: string;
  sha256: string;
  bytes: number;
}

const COLUMNS = "s.id, s.camera, s.start_ms startMs, s.end_ms endMs, s.path, s.sha256, s.bytes";

export class EvidenceSegments {
  private readonly sql: Prepare;

  constructor(db: Db) {
    this.sql = statementCache(db);
  }

  /** Complete segments of `camera` overlapping [fromMs, toMs), by start (from the camera's index). */
  completeIn(camera: string, fromMs: number, toMs: number): HeldSegment[] {
    return this.sql<[string, number, number, number], HeldSegment>(
      `SELECT ${COLUMNS} FROM segments s
         WHERE s.camera = ? AND s.start_ms >= ? AND s.start_ms < ? AND s.end_ms > ? AND s.state = 'complete'
         ORDER BY s.start_ms`,
    ).all(camera, fromMs - MAX_SEGMENT_MS, toMs, fromMs);
  }

  /** The segment, if it is complete. */
  complete(id: number): HeldSegment | undefined {
    return this.sql<[number], HeldSegment>(
      `SELECT ${COLUMNS} FROM segments s WHERE s.id = ? AND s.state = 'complete'`,
    ).get(id);
  }

  /** The segments with these ids, whatever their state, by id. */
  byIds(ids: readonly number[]): Map<number, HeldSegment> {
    const rows = this.sql<[string], HeldSegment>(
      `SELECT ${COLUMNS} FROM json_each(?) j JOIN segments s ON s.id = j.value`,
    ).all(JSON.stringify(ids));
    return new Map(rows.map((r) => [r.id, r]));
  }
}
