import { closeSync, constants, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { MIGRATIONS, type Migration } from "./migrations.js";

export type Db = Database.Database;

/** Compiles a statement on first use and returns the compiled one after (see statementCache). */
export type Prepare = <P extends unknown[] = unknown[], R = unknown>(sql: string) => Database.Statement<P, R>;

/**
 * A connection's statements, each compiled once: better-sqlite3's prepare() parses and plans the SQL
 * again on every call, and the recorder's statements run at every segment close of every camera.
 */
export function statementCache(db: Db): Prepare {
  const cache = new Map<string, Database.Statement>();
  return <P extends unknown[], R>(sql: string) => {
    let s = cache.get(sql);
    if (!s) {
      s = db.prepare(sql);
      cache.set(sql, s);
    }
    return s as unknown as Database.Statement<P, R>;
  };
}

/** The catalog file was written by a newer pscsd; running an older binary on it could corrupt it. */
export class SchemaTooNewError extends Error {
  constructor(
    readonly file: string,
    readonly found: number,
    readonly supported: number,
  ) {
    super(
      `catalog ${file} has schema version ${found}, this pscsd supports up to ${supported}: upgrade pscsd, do not downgrade`,
    );
    this.name = "SchemaTooNewError";
  }
}

export class MigrationError extends Error {
  constructor(
    readonly file: string,
    readonly migration: Migration,
    cause: unknown,
  ) {
    super(
      `catalog ${file}: migration ${migration.version} (${migration.name}) failed and was rolled back: ${String(cause)}`,
      {
        cause,
      },
    );
    this.name = "MigrationError";
  }
}

export interface OpenCatalogOptions {
  migrations?: readonly Migration[];
  now?: () => number;
}

/**
 * Opens (creating if needed) the SQLite catalog in WAL mode and brings its schema up to date.
 * Invariant: each migration and its version bump commit in one transaction, so a crash mid-upgrade
 * leaves the previous version intact.
 * Invariant: a catalog this creates is 0600 in a directory it creates 0700, whatever the umask; SQLite
 * gives its -wal and -shm files the catalog's own mode.
 */
export function openCatalog(file: string, opts: OpenCatalogOptions = {}): Db {
  const migrations = opts.migrations ?? MIGRATIONS;
  const now = opts.now ?? Date.now;
  if (file !== ":memory:") createPrivate(file);
  const db = new Database(file);
  try {
    db.pragma("journal_mode = WAL");
    // FULL: a committed catalog row must survive power loss, since rows vouch for files on disk.
    db.pragma("synchronous = FULL");
    db.pragma("foreign_keys = ON");
    db.pragma("busy_timeout = 5000");
    migrate(db, file, migrations, now);
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

/**
 * Left to SQLite, a new catalog would be 0644 (it sets that mode itself, past the umask); created
 * here first, it is 0600. A mode given at creation is cut by the umask, never widened by it.
 */
function createPrivate(file: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  closeSync(openSync(file, constants.O_RDWR | constants.O_CREAT, 0o600));
}

export function schemaVersion(db: Db): number {
  return db.pragma("user_version", { simple: true }) as number;
}

function migrate(db: Db, file: string, migrations: readonly Migration[], now: () => number): void {
  const latest = migrations.at(-1)?.version ?? 0;
  const current = schemaVersion(db);
  if (current > latest) throw new SchemaTooNewError(file, current, latest);
  for (const m of migrations) {
    if (m.version <= current) continue;
    const apply = db.transaction(() => {
      db.exec(m.sql);
      db.prepare("INSERT INTO schema_history (version, name, applied_at) VALUES (?, ?, ?)").run(
        m.version,
        m.name,
        now(),
      );
      db.pragma(`user_version = ${m.version}`);
    });
    try {
      apply.immediate();
    } catch (e) {
      throw new MigrationError(file, m, e);
    }
  }
}
