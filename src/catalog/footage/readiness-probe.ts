import { type Db, type Prepare, statementCache } from "../catalog.js";

/**
 * The readiness_probe row: a scratch write /readyz makes to prove the catalog accepts writes.
 * Invariant: the probe waits at most 250 ms for another writer's lock (better-sqlite3 blocks the
 * event loop while it waits), and the connection's usual 5 s wait is back afterwards, failed or not.
 */
export class ReadinessProbe {
  private readonly sql: Prepare;

  constructor(private readonly db: Db) {
    this.sql = statementCache(db);
  }

  /** Throws what SQLite refused with: a read-only file or volume, a full disk, a lock held past the wait. */
  write(at: number): void {
    try {
      this.db.pragma("busy_timeout = 250");
      this.sql("UPDATE readiness_probe SET at = ? WHERE id = 1").run(at);
    } finally {
      this.db.pragma("busy_timeout = 5000");
    }
  }
}
