import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { Purger } from "../../retention/purger.js";
import { AuditLog } from "../../src/audit/log.js";
import { openCatalog } from "../../src/catalog/catalog.js";
import { SqliteDirectory } from "../../src/catalog/directory/sqlite.js";
import { createLogger } from "../../src/log/logger.js";

/** A segment the purger cannot delete: counted once, left marked, audited, and finished next run. */

const DAY = 86_400_000;

describe("purger failures", () => {
  it("counts a failed unlink once per run, keeps it marked, audits it, and destroys it at the next run", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pscs-purger-"));
    const rec = join(dir, "rec");
    const now = Date.UTC(2026, 5, 1);
    const db = openCatalog(":memory:");
    const directory = new SqliteDirectory(db);
    const audit = new AuditLog(directory, { now: () => now });
    const purger = new Purger({
      db,
      directory,
      recordingsRoot: rec,
      retentionDays: 30,
      audit,
      log: createLogger({ name: "t", destination: new Writable({ write: (_c, _e, cb) => cb() }) }),
      batchSize: 2, // several batches in one run: the failure must not be retried (and counted) in each
      now: () => now,
    });
    const insert = db.prepare(
      `INSERT INTO segments (camera, start_ms, end_ms, path, bytes, sha256, state, run, created_at)
       VALUES ('cam1', ?, ?, ?, 1, 'x', 'complete', 't', 0)`,
    );
    mkdirSync(join(rec, "cam1"), { recursive: true });
    for (let i = 0; i < 7; i++) {
      const start = now - 40 * DAY + i * 60_000;
      const path = `cam1/${i}.ts`;
      // Segment 3's "file" is a directory with something in it: unlink fails (EISDIR), even as root.
      if (i === 3) {
        mkdirSync(join(rec, path));
        writeFileSync(join(rec, path, "x"), "x");
      } else writeFileSync(join(rec, path), "x");
      insert.run(start, start + 60_000, path);
    }
    const first = await purger.run("manual", { actor: "t", role: null, client: "t" });
    expect(first.destroyed).toBe(6);
    expect(first.failures).toEqual([
      { segment: 4, path: "cam1/3.ts", error: expect.stringMatching(/EISDIR|EPERM/) },
    ]);
    expect(db.prepare("SELECT state FROM segments WHERE id = 4").get()).toEqual({ state: "purging" });
    expect(db.prepare("SELECT count(*) n FROM purge_marks").get()).toEqual({ n: 1 });
    expect(purger.lastRun()).toMatchObject({ destroyed: 6, failures: 1 });
    expect((await audit.list({ action: "retention.purge" })).map((e) => e.outcome)).toEqual(["failure"]);

    rmSync(join(rec, "cam1/3.ts"), { recursive: true });
    writeFileSync(join(rec, "cam1/3.ts"), "x");
    const second = await purger.run("manual", { actor: "t", role: null, client: "t" });
    expect(second).toMatchObject({ destroyed: 1, recovered: 1, failures: [] });
    expect(existsSync(join(rec, "cam1/3.ts"))).toBe(false);
    expect(db.prepare("SELECT reason FROM destruction_log WHERE segment = 4").get()).toEqual({
      reason: "retention",
    });
    db.close();
  });
});
