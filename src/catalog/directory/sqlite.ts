import { AsyncLocalStorage } from "node:async_hooks";
import type { Db } from "../catalog.js";
import { statementCache } from "../catalog.js";
import { SqliteAuditRepository, SqliteAuditRows } from "./audit.js";
import { type Directory, type DirectoryTx, UnitOfWorkError } from "./directory.js";
import { SqliteSessionRepository } from "./sessions.js";
import { SqliteTokenRepository } from "./tokens.js";
import { SqliteUserRepository } from "./users.js";

/**
 * The embedded directory: the catalog's own SQLite connection (one file holds both stores), a unit of
 * work being one transaction on it (BEGIN IMMEDIATE for `tx`, a deferred BEGIN for `read`).
 * Invariant: a unit of work runs within one turn of the event loop. Its repositories answer at once
 * (better-sqlite3 is synchronous), so nothing else on the connection (a segment close, another
 * request) can run inside it; one that awaits anything else is rolled back with a UnitOfWorkError.
 * Units of work of independent callers (two sign-ins of one burst) run one after the other: a caller
 * whose promise chain reaches `tx` while another's is open waits for it, within the same turn; only
 * one opened from inside another's work (nested) is refused.
 */
export class SqliteDirectory implements Directory {
  private readonly repositories: Omit<DirectoryTx, "afterCommit">;
  private open = false;
  /** Settles when the open unit of work ends: what a concurrent caller waits on. */
  private idle: Promise<void> = Promise.resolve();
  /** Set inside a unit of work's callback (and what it awaits): how a nested one is told apart. */
  private readonly inside = new AsyncLocalStorage<true>();

  constructor(private readonly db: Db) {
    const prepare = statementCache(db);
    this.repositories = {
      audit: new SqliteAuditRepository(new SqliteAuditRows(db, prepare)),
      users: new SqliteUserRepository(prepare),
      sessions: new SqliteSessionRepository(prepare),
      tokens: new SqliteTokenRepository(prepare),
    };
  }

  tx<T>(work: (d: DirectoryTx) => Promise<T>): Promise<T> {
    return this.run("BEGIN IMMEDIATE", work);
  }

  read<T>(work: (d: DirectoryTx) => Promise<T>): Promise<T> {
    return this.run("BEGIN", work);
  }

  private async run<T>(begin: string, work: (d: DirectoryTx) => Promise<T>): Promise<T> {
    if (this.inside.getStore())
      throw new UnitOfWorkError("a unit of work was opened inside another: pass its repositories down");
    while (this.open) await this.idle;
    if (this.db.inTransaction)
      throw new UnitOfWorkError("a unit of work was opened inside a footage catalog transaction");
    const after: (() => void)[] = [];
    this.db.exec(begin);
    this.open = true;
    let ended = () => {};
    this.idle = new Promise((resolve) => {
      ended = resolve;
    });
    let yielded = false;
    const turn = setImmediate(() => {
      yielded = true;
    });
    let value: T;
    try {
      const d: DirectoryTx = { ...this.repositories, afterCommit: (fn) => after.push(fn) };
      value = await this.inside.run(true, () => work(d));
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
      ended();
    }
    for (const fn of after) fn();
    return value;
  }
}
