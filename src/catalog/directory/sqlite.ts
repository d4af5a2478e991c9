import { AsyncLocalStorage } from "node:async_hooks";
import type { Db } from "../catalog.js";
import { statementCache } from "../catalog.js";
import { SqliteAuditRepository, SqliteAuditRows } from "./audit.js";
import { type Directory, type DirectoryTx, UnitOfWorkError } from "./directory.js";
import { SqliteEvidenceLinkRepository } from "./evidence-links.js";
import { SqliteHoldRepository } from "./holds.js";

/** Units of work queue per connection, however many directories are made on it. */
const turns = new WeakMap<Db, Promise<unknown>>();
/** Set while a unit of work runs, through every await inside it. */
const inside = new AsyncLocalStorage<true>();
/** Connections with a unit of work open now (its BEGIN is theirs, not a footage transaction's). */
const open = new WeakSet<Db>();

/**
 * The embedded directory: the catalog's own SQLite connection (one file holds both stores), a unit of
 * work being one transaction on it (BEGIN IMMEDIATE for `tx`, a deferred BEGIN for `read`).
 * Invariant: a unit of work runs within one turn of the event loop. Its repositories answer at once
 * (better-sqlite3 is synchronous), so nothing else on the connection (a segment close, another
 * request) can run inside it; one that awaits anything else is rolled back with a UnitOfWorkError.
 * Invariant: units of work run one after another. Between two of its repository calls another
 * caller's promise may run; one that asks for a unit of work then waits its turn (one asked for from
 * inside a unit of work is refused: it would wait for itself).
 */
export class SqliteDirectory implements Directory {
  private readonly repositories: Omit<DirectoryTx, "afterCommit">;

  constructor(private readonly db: Db) {
    const prepare = statementCache(db);
    this.repositories = {
      audit: new SqliteAuditRepository(new SqliteAuditRows(db, prepare)),
      holds: new SqliteHoldRepository(prepare),
      evidenceLinks: new SqliteEvidenceLinkRepository(prepare),
    };
  }

  tx<T>(work: (d: DirectoryTx) => Promise<T>): Promise<T> {
    return this.run("BEGIN IMMEDIATE", work);
  }

  read<T>(work: (d: DirectoryTx) => Promise<T>): Promise<T> {
    return this.run("BEGIN", work);
  }

  private run<T>(begin: string, work: (d: DirectoryTx) => Promise<T>): Promise<T> {
    if (inside.getStore())
      return Promise.reject(
        new UnitOfWorkError("a unit of work was opened inside another: pass its repositories down"),
      );
    if (this.db.inTransaction && !open.has(this.db)) return Promise.reject(insideFootage());
    const mine = (turns.get(this.db) ?? Promise.resolve()).then(async () => {
      const after: (() => void)[] = [];
      const value = await inside.run(true, () => this.once(begin, work, after));
      for (const fn of after) fn();
      return value;
    });
    turns.set(
      this.db,
      mine.catch(() => undefined),
    );
    return mine;
  }

  private async once<T>(
    begin: string,
    work: (d: DirectoryTx) => Promise<T>,
    after: (() => void)[],
  ): Promise<T> {
    if (this.db.inTransaction) throw insideFootage();
    this.db.exec(begin);
    open.add(this.db);
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
      open.delete(this.db);
    }
    return value;
  }
}

const insideFootage = () =>
  new UnitOfWorkError("a unit of work was opened inside a footage catalog transaction");
