import { mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CheckpointSigner } from "../../src/audit/checkpoint.js";
import { AuditLog } from "../../src/audit/log.js";
import { openCatalog } from "../../src/catalog/catalog.js";
import { SqliteDirectory } from "../../src/catalog/directory/sqlite.js";

// Files that hold the audit trail and the key that vouches for it are the pscs user's alone, even when
// pscsd is started under a careless umask.

const mode = (f: string) => (statSync(f).mode & 0o777).toString(8);

async function underUmask<T>(umask: number, f: () => T | Promise<T>): Promise<T> {
  const was = process.umask(umask);
  try {
    return await f();
  } finally {
    process.umask(was);
  }
}

describe("files at rest", () => {
  it("creates the catalog, its -wal and -shm, and the anchor 0600 in a 0700 directory under umask 000", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "pscs-modes-")), "var", "pscs");
    const file = join(dir, "catalog.db");
    const anchor = `${file}.audit-anchor`;
    const db = await underUmask(0o000, async () => {
      const opened = openCatalog(file);
      await new AuditLog(new SqliteDirectory(opened), { anchorFile: anchor }).append({
        actor: "system",
        action: "x",
        outcome: "success",
      });
      return opened;
    });
    try {
      expect({
        parent: mode(join(dir, "..")),
        dir: mode(dir),
        catalog: mode(file),
        wal: mode(`${file}-wal`),
        shm: mode(`${file}-shm`),
        anchor: mode(anchor),
      }).toEqual({ parent: "700", dir: "700", catalog: "600", wal: "600", shm: "600", anchor: "600" });
    } finally {
      db.close();
    }
  });

  it("creates the checkpoint key 0600 in a 0700 directory under umask 000; its public half is world-readable", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "pscs-modes-")), "keys");
    const key = join(dir, "audit-checkpoint.key");
    const { created } = await underUmask(0o000, () => CheckpointSigner.open(key));
    expect(created).toBe(true);
    expect({ dir: mode(dir), key: mode(key), pub: mode(`${key}.pub`) }).toEqual({
      dir: "700",
      key: "600",
      pub: "644",
    });
    expect(CheckpointSigner.open(key).created).toBe(false);
  });
});
