import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { MigrationError, openCatalog, SchemaTooNewError, schemaVersion } from "../../src/catalog/catalog.js";
import { SqliteDirectory } from "../../src/catalog/directory/sqlite.js";
import { MIGRATIONS } from "../../src/catalog/migrations.js";

const tmp = () => join(mkdtempSync(join(tmpdir(), "pscs-cat-")), "catalog.db");

describe("catalog", () => {
  it("creates a WAL database at the latest schema version and records history", () => {
    const file = tmp();
    const db = openCatalog(file, { now: () => 1234 });
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    const latest = MIGRATIONS.at(-1)?.version;
    expect(schemaVersion(db)).toBe(latest);
    expect(db.prepare("SELECT version, applied_at FROM schema_history ORDER BY version").all()).toEqual(
      MIGRATIONS.map((m) => ({ version: m.version, applied_at: 1234 })),
    );
    db.close();
    // Reopening applies nothing twice.
    const again = openCatalog(file, { now: () => 9999 });
    expect(again.prepare("SELECT count(*) n FROM schema_history WHERE applied_at = 9999").get()).toEqual({
      n: 0,
    });
    again.close();
  });

  it("refuses a catalog written by a newer binary, without touching it", () => {
    const file = tmp();
    openCatalog(file).close();
    const raw = new Database(file);
    const newer = (MIGRATIONS.at(-1)?.version ?? 0) + 1;
    raw.pragma(`user_version = ${newer}`);
    raw.close();
    expect(() => openCatalog(file)).toThrow(SchemaTooNewError);
    expect(() => openCatalog(file)).toThrow(/schema version \d+, this pscsd supports up to \d+/);
    const check = new Database(file);
    expect(check.pragma("user_version", { simple: true })).toBe(newer);
    check.close();
  });

  it("applies new migrations on upgrade and rolls back a failing one whole", () => {
    const file = tmp();
    openCatalog(file).close();
    const v = MIGRATIONS.at(-1)?.version ?? 0;
    const good = { version: v + 1, name: "add t1", sql: "CREATE TABLE t1 (x INTEGER) STRICT;" };
    const bad = {
      version: v + 2,
      name: "half broken",
      sql: "CREATE TABLE t2 (x INTEGER); SELECT * FROM no_such;",
    };
    expect(() => openCatalog(file, { migrations: [...MIGRATIONS, good, bad] })).toThrow(MigrationError);
    const raw = new Database(file);
    expect(raw.pragma("user_version", { simple: true })).toBe(v + 1);
    const tables = raw.prepare("SELECT name FROM sqlite_master WHERE type='table'").pluck().all();
    expect(tables).toContain("t1");
    expect(tables).not.toContain("t2");
    raw.close();
  });

  it("gives every account of an older catalog no last sign-in, and keeps its other fields", async () => {
    const file = tmp();
    const added = MIGRATIONS.find((m) => m.name === "an account's last sign-in")?.version;
    if (added === undefined) throw new Error("no last sign-in migration");
    const old = openCatalog(file, { migrations: MIGRATIONS.filter((m) => m.version < added) });
    const insert = old.prepare(
      `INSERT INTO users (username, display_name, password_hash, roles, disabled, must_change_password,
         failed_attempts, locked_until, created_at, created_by, password_changed_at)
       VALUES (?, ?, 'h', '["admin"]', 0, 0, ?, NULL, 1000, 'local:test', 2000)`,
    );
    insert.run("ann", "Ann A.", 2);
    insert.run("bob", "Bob B.", 0);
    expect(old.prepare("SELECT name FROM pragma_table_info('users')").pluck().all()).not.toContain(
      "last_sign_in_at",
    );
    old.close();

    const db = openCatalog(file);
    expect(schemaVersion(db)).toBe(MIGRATIONS.at(-1)?.version);
    const users = await new SqliteDirectory(db).read((d) => d.users.list());
    db.close();
    expect(users.map((u) => [u.username, u.displayName, u.failedAttempts, u.lastSignInAt])).toEqual([
      ["ann", "Ann A.", 2, null],
      ["bob", "Bob B.", 0, null],
    ]);
  });
});
