import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe } from "vitest";
import { openCatalog } from "../../../src/catalog/catalog.js";
import { SqliteDirectory } from "../../../src/catalog/directory/sqlite.js";
import { auditRepositoryContract } from "./contract/audit.js";
import { sqliteTurnContract, unitOfWorkContract } from "./contract/unit-of-work.js";

// Every directory contract, against the embedded SQLite directory on a real catalog file.
const open = () =>
  new SqliteDirectory(openCatalog(join(mkdtempSync(join(tmpdir(), "pscs-dir-")), "catalog.db")));

describe("SQLite directory: unit of work", () => {
  unitOfWorkContract(open);
  sqliteTurnContract(open);
});
describe("SQLite directory: audit repository", () => auditRepositoryContract(open));
