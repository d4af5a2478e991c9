import type { Db } from "../catalog.js";
import { statementCache } from "../catalog.js";
import { SqliteAuditRepository } from "./audit.js";
import { type Directory, type DirectoryTx, UnitOfWorkError } from "./directory.js";
import { SqliteEvidenceLinkRepository } from "./evidence-links.js";
import { SqliteExportRepository } from "./exports.js";
import { SqliteHoldRepository } from "./holds.js";
import { SqlitePrivacyZoneRepository } from "./privacy-zones.js";
import { SqlitePtzSessionRepository } from "./ptz-sessions.js";
import { SqliteSessionRepository } from "./sessions.js";
import { SqliteTokenRepository } from "./tokens.js";
import { SqliteUserRepository } from "./users.js";

/**
 * The embedded directory: the catalog's own SQLite connection (one file holds both stores), a unit of
 * work being one transaction on it (BEGIN IMMEDIATE for `tx`, a deferred BEGIN for `read`).
 * Invariant: a unit of work has an event-loop turn to itself. It starts in a turn of its own (units
 * of work queue, one per turn) and must end within it: its repositories answer at once (better-sqlite3
 * is synchronous), and one that awaits anything else is rolled back with a UnitOfWorkError. So no
 * other statement on the connection (a segment close, another request's audit entry) ever runs inside
 * it, not even from another promise chain, and a rollback undoes only its own changes.
 * One asked for while a unit of work is open can only come from inside it (nested): refused.
 */
export class SqliteDirectory implements Directory {
  private readonly repositories: Omit<DirectoryTx, "afterCommit">;
  private open = false;
  private readonly queue: (() => void)[] = [];
  private scheduled = false;

  constructor(private readonly db: Db) {
    const prepare = statementCache(db);
    this.repositories = {
      audit: new SqliteAuditRepository(db, prepare),
      users: new SqliteUserRepository(prepare),
      sessions: new SqliteSessionRepository(prepare),
      tokens: new SqliteTokenRepository(prepare),
      holds: new SqliteHoldRepository(prepare),
      evidenceLinks: new SqliteEvidenceLinkRepository(prepare),
      exports: new SqliteExportRepository(prepare),
      ptzSessions: new SqlitePtzSessionRepository(prepare),
      privacyZones: new SqlitePrivacyZoneRepository(prepare),
    };
  }

  tx<T>(work: (d: DirectoryTx) => Promise<T>): Promise<T> {
    return this.run("BEGIN IMMEDIATE", work);
  }

  read<T>(work: (d: DirectoryTx) => Promise<T>): Promise<T> {
    return this.run("BEGIN", work);
  }

  private run<T>(begin: string, work: (d: DirectoryTx) => Promise<T>): Promise<T> {
    if (this.open)
      return Promise.reject(
        new UnitOfWorkError("a unit of work was opened inside another: pass its repositories down"),
      );
    return new Promise<T>((resolve, reject) => {
      this.queue.push(() => this.once(begin, work).then(resolve, reject));
      this.schedule();
    });
  }

  /** Starts the next queued unit of work in a turn of its own (setImmediate), once none is open. */
  private schedule(): void {
    if (this.scheduled || this.open || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (!this.open) this.queue.shift()?.();
      this.schedule();
    });
  }

  private async once<T>(begin: string, work: (d: DirectoryTx) => Promise<T>): Promise<T> {
    if (this.db.inTransaction)
      throw new UnitOfWorkError("a unit of work was opened inside a footage catalog transaction");
    const after: (() => void)[] = [];
    this.db.exec(begin);
    this.open = true;
    let yielded = false;
    const turn = setImmediate(() => {
      yielded = true;
    });
    let value: T;
    try {
      value = await work({ ...this.repositories, afterCommit: (fn) => after.push(fn) });
      if (yielded)
        throw new UnitOfWorkError(
          "a unit of work awaited something other than its repositories (I/O belongs before or after it)",
        );
      this.db.exec("COMMIT");
    } catch (e) {
      if (this.db.inTransaction) this.db.exec("ROLLBACK");
      throw e;
    } finally {
      clearImmediate(turn);
      this.open = false;
      this.schedule();
    }
    for (const fn of after) fn();
    return value;
  }
}
