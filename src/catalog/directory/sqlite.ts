import type { Db } from "../catalog.js";
import { statementCache } from "../catalog.js";
import { SqliteAuditRepository, SqliteAuditRows } from "./audit.js";
import { type Directory, type DirectoryTx, UnitOfWorkError } from "./directory.js";

/**
 * The embedded directory: the catalog's own SQLite connection (one file holds both stores), a unit of
 * work being one transaction on it (BEGIN IMMEDIATE for `tx`, a deferred BEGIN for `read`).
 * Invariant: a unit of work runs within one turn of the event loop. Its repositories answer at once
 * (better-sqlite3 is synchronous), so nothing else on the connection (a segment close, another
 * request) can run inside it; one that awaits anything else is rolled back with a UnitOfWorkError.
 */
export class SqliteDirectory implements Directory {
  private readonly repositories: Omit<DirectoryTx, "afterCommit">;
  private open = false;

  constructor(private readonly db: Db) {
    const prepare = statementCache(db);
    this.repositories = {
      audit: new SqliteAuditRepository(new SqliteAuditRows(db, prepare)),
    };
  }

  tx<T>(work: (d: DirectoryTx) => Promise<T>): Promise<T> {
    return this.run("BEGIN IMMEDIATE", work);
  }

  read<T>(work: (d: DirectoryTx) => Promise<T>): Promise<T> {
    return this.run("BEGIN", work);
  }

  private async run<T>(begin: string, work: (d: DirectoryTx) => Promise<T>): Promise<T> {
    if (this.open)
      throw new UnitOfWorkError("a unit of work was opened inside another: pass its repositories down");
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
    }
    for (const fn of after) fn();
    return value;
  }
}
