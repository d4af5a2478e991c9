import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe } from "vitest";
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
describe("SQLite directory: audit repository", () => auditRepositoryContract(open));
describe("SQLite directory: user repository", () => userRepositoryContract(open));
describe("SQLite directory: session repository", () => sessionRepositoryContract(open));
describe("SQLite directory: token repository", () => tokenRepositoryContract(open));
