import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe } from "vitest";
import { type Db, openCatalog } from "../../../src/catalog/catalog.js";
import type { Directory } from "../../../src/catalog/directory/directory.js";
import { SqliteDirectory } from "../../../src/catalog/directory/sqlite.js";
import { auditRepositoryContract } from "./contract/audit.js";
import { evidenceLinkRepositoryContract } from "./contract/evidence-links.js";
import { holdRepositoryContract } from "./contract/holds.js";
import { sqliteTurnContract, unitOfWorkContract } from "./contract/unit-of-work.js";

// Every directory contract, against the embedded SQLite directory on a real catalog file.
const catalogs = new WeakMap<Directory, Db>();
const open = () => {
  const db = openCatalog(join(mkdtempSync(join(tmpdir(), "pscs-dir-")), "catalog.db"));
  const dir = new SqliteDirectory(db);
  catalogs.set(dir, db);
  return dir;
};
/** Segments 1..n in the footage catalog sharing the directory's file (evidence links name them). */
const segments = (dir: Directory, n: number) => {
  const insert = catalogs.get(dir)?.prepare(
    `INSERT INTO segments (id, camera, start_ms, end_ms, path, bytes, sha256, state, run, created_at)
       VALUES (?, 'cam1', ?, ?, ?, 1, 'x', 'complete', 't', 0)`,
  );
  for (let i = 1; i <= n; i++) insert?.run(i, i * 1_000, i * 1_000 + 1_000, `cam1/${i}.ts`);
};

describe("SQLite directory: unit of work", () => {
  unitOfWorkContract(open);
  sqliteTurnContract(open);
});
describe("SQLite directory: audit repository", () => auditRepositoryContract(open));
describe("SQLite directory: hold repository", () => holdRepositoryContract(open));
describe("SQLite directory: evidence link repository", () => evidenceLinkRepositoryContract(open, segments));
