import { describe, expect, it } from "vitest";
import { parse, type SourceString, sourceFiles, stringsOf } from "./source-files.js";

/**
 * `src/catalog/` is the only place SQL is written: a string literal or template holding an SQL
 * statement anywhere else in `src/`, `api/`, `recorder/` or `retention/` fails this test.
 * SQL here is written in capitals (as every statement in the catalog is), which is what tells a
 * statement from prose: "select a camera from the list" is not one, `SELECT id FROM segments` is.
 */

const STATEMENT: readonly RegExp[] = [
  /\bSELECT\s[\s\S]*?\bFROM\s+[\w"(]/,
  /\b(INSERT|REPLACE)\s+(OR\s+[A-Z]+\s+)?INTO\s+\w/,
  /\bUPDATE\s+(OR\s+[A-Z]+\s+)?\w+\s+SET\s/,
  /\bDELETE\s+FROM\s+\w/,
  /\bPRAGMA\s+\w/,
  /^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)(\s+[A-Z]+)?\s*;?\s*$/,
  /\b(CREATE|DROP)\s+(TEMP\s+|TEMPORARY\s+|UNIQUE\s+|VIRTUAL\s+)?(TABLE|INDEX|TRIGGER|VIEW)\b/,
  /\bALTER\s+TABLE\s+\w/,
  /\bWITH\s+(RECURSIVE\s+)?\w+(\s*\([^)]*\))?\s+AS\s*\(/,
  // Pragmas pscsd reads or sets, which better-sqlite3's pragma() takes without the keyword.
  /\b(data_version|user_version|schema_version|journal_mode|wal_checkpoint|foreign_keys|busy_timeout)\b/,
];

/** Methods whose string argument is SQL whatever it says: better-sqlite3's statement and pragma calls. */
const SQL_METHODS = new Set(["prepare", "pragma"]);

function isSql(s: SourceString): boolean {
  return (s.callee !== undefined && SQL_METHODS.has(s.callee)) || STATEMENT.some((re) => re.test(s.text));
}

function sqlIn(file: string, text?: string): string[] {
  return stringsOf(parse(file, text))
    .filter(isSql)
    .map((s) => `${file}:${s.line}: ${s.text.replace(/\s+/g, " ").trim().slice(0, 80)}`);
}

describe("SQL lives in src/catalog/", () => {
  const files = sourceFiles(["src", "api", "recorder", "retention"]).filter(
    (f) => !f.startsWith("src/catalog/"),
  );
  const found = new Map(files.map((f) => [f, sqlIn(f)] as const).filter(([, sql]) => sql.length > 0));

  it("no statement outside src/catalog/", () => {
    expect([...found.values()].flat(), "SQL outside src/catalog/").toEqual([]);
  });

  it("finds made-up statements of every kind, in strings and templates", () => {
    const statements = [
      "SELECT id, path FROM recording_segments WHERE camera = ?",
      "SELECT COUNT(*) AS n FROM audit_log",
      "INSERT INTO destruction_log (segment) VALUES (?)",
      "INSERT OR REPLACE INTO camera_clock_samples (camera) VALUES (?)",
      "UPDATE recording_segments SET state = 'purged' WHERE id = ?",
      "DELETE FROM purge_marks WHERE run = ?",
      "PRAGMA journal_mode = WAL",
      "BEGIN IMMEDIATE",
      "COMMIT",
      "CREATE TABLE x (id INTEGER PRIMARY KEY) STRICT",
      "CREATE UNIQUE INDEX x_id ON x (id)",
      "CREATE TRIGGER no_update BEFORE UPDATE ON x BEGIN SELECT RAISE(ABORT, 'no'); END",
      "WITH last AS (SELECT 1) SELECT * FROM last",
      "data_version",
    ];
    const text = [
      ...statements.map((s, i) => `const s${i} = "${s}";`),
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the source text of a template, parsed, never run
      "const t = `SELECT * FROM audit_log ${where} ORDER BY seq`;",
      'db.pragma("synchronous = FULL");',
      'const q = db.prepare(sql + " LIMIT 1");',
    ].join("\n");
    expect(sqlIn("retention/made-up.ts", text)).toHaveLength(statements.length + 3);
  });

  it("does not take prose for SQL", () => {
    const prose = [
      "select a camera from the list",
      "Select the footage from the hold's ranges",
      "update the config and set the floor again",
      "Delete from disk happens after the mark",
      "begin again",
      "Begin",
      "created the table of contents",
      "recording stopped: recordings volume has 1.00 GiB free, below its floor of 10 GiB",
      "the pragma is read at start",
      "expected SELECT permission",
      "with stop_recording, recording stops as soon as the floor is crossed",
    ];
    const text = prose.map((s, i) => `log.warn("${s}"); const p${i} = \`${s} \${i}\`;`).join("\n");
    expect(sqlIn("recorder/made-up.ts", text)).toEqual([]);
  });
});
