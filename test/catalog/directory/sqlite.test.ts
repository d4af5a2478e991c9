import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type Db, openCatalog } from "../../../src/catalog/catalog.js";
import type { Directory } from "../../../src/catalog/directory/directory.js";
import { SqliteDirectory } from "../../../src/catalog/directory/sqlite.js";
import { auditRepositoryContract } from "./contract/audit.js";
import { evidenceLinkRepositoryContract } from "./contract/evidence-links.js";
import { exportRepositoryContract } from "./contract/exports.js";
import { holdRepositoryContract } from "./contract/holds.js";
import { privacyZoneRepositoryContract } from "./contract/privacy-zones.js";
import { ptzSessionRepositoryContract } from "./contract/ptz-sessions.js";
import { sessionRepositoryContract } from "./contract/sessions.js";
import { tokenRepositoryContract } from "./contract/tokens.js";
import { entry, sqliteTurnContract, unitOfWorkContract } from "./contract/unit-of-work.js";
import { userRepositoryContract } from "./contract/users.js";

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
describe("SQLite directory: one connection shared with the footage catalog", () => {
  it("never lets another promise chain's statement into a unit of work, so a rollback undoes only its own changes", async () => {
    const db = openCatalog(join(mkdtempSync(join(tmpdir(), "pscs-dir-")), "catalog.db"));
    const dir = new SqliteDirectory(db);
    const gap = (cause: string) =>
      db
        .prepare("INSERT INTO recording_gaps (camera, start_ms, end_ms, cause) VALUES ('c1', 1, 2, ?)")
        .run(cause);
    const refused = dir.tx(async (d) => {
      await d.audit.insert(entry(1));
      await d.audit.head();
      throw new Error("refused after writing");
    });
    // A footage write from another chain, its microtasks queued beside the unit of work's.
    const other = Promise.resolve()
      .then(() => undefined)
      .then(() => gap("written beside the unit of work"));
    await expect(refused).rejects.toThrow("refused after writing");
    await other;
    expect(db.prepare("SELECT cause FROM recording_gaps").all()).toEqual([
      { cause: "written beside the unit of work" },
    ]);
    expect(await dir.read((d) => d.audit.head())).toBeUndefined();
  });
});
describe("SQLite directory: audit repository", () => auditRepositoryContract(open));
describe("SQLite directory: hold repository", () => holdRepositoryContract(open));
describe("SQLite directory: evidence link repository", () => evidenceLinkRepositoryContract(open, segments));
describe("SQLite directory: export repository", () => exportRepositoryContract(open));
describe("SQLite directory: user repository", () => userRepositoryContract(open));
describe("SQLite directory: session repository", () => sessionRepositoryContract(open));
describe("SQLite directory: token repository", () => tokenRepositoryContract(open));
describe("SQLite directory: PTZ session repository", () => ptzSessionRepositoryContract(open));
describe("SQLite directory: privacy zone repository", () => privacyZoneRepositoryContract(open));
