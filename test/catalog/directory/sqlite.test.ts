import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openCatalog } from "../../../src/catalog/catalog.js";
import { SqliteDirectory } from "../../../src/catalog/directory/sqlite.js";
import { auditRepositoryContract } from "./contract/audit.js";
import { sessionRepositoryContract } from "./contract/sessions.js";
import { tokenRepositoryContract } from "./contract/tokens.js";
import { sqliteTurnContract, unitOfWorkContract } from "./contract/unit-of-work.js";
import { userRepositoryContract } from "./contract/users.js";

// Every directory contract, against the embedded SQLite directory on a real catalog file.
const open = () =>
  new SqliteDirectory(openCatalog(join(mkdtempSync(join(tmpdir(), "pscs-dir-")), "catalog.db")));

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
      await d.audit.insert({
        seq: 1,
        at: 1,
        actor: "user:a",
        role: null,
        action: "test.write",
        target: null,
        outcome: "success",
        client: null,
        details: "{}",
        prevHash: "g",
        hash: "h1",
      });
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
describe("SQLite directory: user repository", () => userRepositoryContract(open));
describe("SQLite directory: session repository", () => sessionRepositoryContract(open));
describe("SQLite directory: token repository", () => tokenRepositoryContract(open));
