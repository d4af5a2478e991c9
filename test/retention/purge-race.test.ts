import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { Purger } from "../../retention/purger.js";
import { Retention } from "../../retention/retention.js";
import { AuditLog } from "../../src/audit/log.js";
import { openCatalog } from "../../src/catalog/catalog.js";
import type { Directory } from "../../src/catalog/directory/directory.js";
import { SqliteDirectory } from "../../src/catalog/directory/sqlite.js";
import { createLogger } from "../../src/log/logger.js";

/**
 * The purge across two stores: a hold committed in the directory after the purger marked its
 * footage, but before the purger's last check, keeps that footage (docs/design/crash-consistency.md, "Purge across the two stores").
 */

const DAY = 86_400_000;
const MIN = 60_000;
const quiet = createLogger({ name: "t", destination: new Writable({ write: (_c, _e, cb) => cb() }) });

describe("purge protocol across the directory and the footage catalog", () => {
  it("gives back marked footage a hold committed between the mark and the re-check protects", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pscs-race-"));
    const rec = join(dir, "rec");
    const now = Date.UTC(2026, 5, 1);
    const db = openCatalog(join(dir, "catalog.db"));
    const directory = new SqliteDirectory(db);
    const audit = new AuditLog(directory, { now: () => now });
    // Holds as the daemon makes them; the purger alone sees the racing directory below.
    const { holds } = new Retention({
      db,
      directory,
      audit,
      log: quiet,
      recordingsRoot: rec,
      evidenceRoot: join(dir, "ev"),
      cameras: new Set(["cam1"]),
      days: 30,
      purgeSchedule: "0 * * * *",
      onDiskPressure: "alert",
      now: () => now,
    });
    const insert = db.prepare(
      `INSERT INTO segments (camera, start_ms, end_ms, path, bytes, sha256, state, run, created_at)
       VALUES ('cam1', ?, ?, ?, 1, 'x', 'complete', 't', 0)`,
    );
    mkdirSync(join(rec, "cam1"), { recursive: true });
    const starts = [now - 33 * DAY, now - 33 * DAY + MIN, now - 33 * DAY + 2 * MIN, now - 27 * DAY];
    for (const [i, start] of starts.entries()) {
      writeFileSync(join(rec, `cam1/${i}.ts`), "x");
      insert.run(start, start + MIN, `cam1/${i}.ts`);
    }
    const marks = db.prepare<[], { n: number }>("SELECT count(*) n FROM purge_marks");
    // The directory as the purger sees it: the first read after its mark lets a clerk's request commit first.
    let requested: number | undefined;
    const racing: Directory = {
      tx: (work) => directory.tx(work),
      read: async (work) => {
        if (requested === undefined && (marks.get()?.n ?? 0) > 0) {
          requested = -1;
          const h = await holds.request(
            {
              formNumber: "F-9",
              receivedOn: "2026-05-30",
              requestedBy: "Det. R",
              agency: "NPD",
              caseNumber: "26-9",
              legalBasis: "criminal",
              reason: "race",
              // The second and third (marked) segments, through one not yet expired (30 days), still on disk.
              ranges: [{ camera: "cam1", fromMs: starts[1] as number, toMs: (starts[3] as number) + MIN }],
              form: Buffer.from("%PDF-1.4\n"),
            },
            { actor: "user:records1", role: "records", client: "test" },
          );
          requested = h.id;
        }
        return directory.read(work);
      },
    };
    const purger = new Purger({
      db,
      directory: racing,
      recordingsRoot: rec,
      retentionDays: 30,
      audit,
      log: quiet,
      now: () => now,
    });
    const r = await purger.run("manual", { actor: "t", role: null, client: "t" });
    expect(requested).toBeGreaterThan(0);
    expect(r).toMatchObject({ destroyed: 1, failures: [] });
    const state = db.prepare<[string], { state: string }>("SELECT state FROM segments WHERE path = ?");
    for (const kept of ["cam1/1.ts", "cam1/2.ts"]) {
      expect(state.get(kept)).toEqual({ state: "complete" });
      expect(existsSync(join(rec, kept))).toBe(true);
    }
    expect(state.get("cam1/0.ts")).toEqual({ state: "purged" });
    expect(existsSync(join(rec, "cam1/0.ts"))).toBe(false);
    expect(marks.get()).toEqual({ n: 0 });
    // The next run sees the hold at its first check: nothing of it is marked again.
    expect((await purger.run("manual", { actor: "t", role: null, client: "t" })).destroyed).toBe(0);
    expect(existsSync(join(rec, "cam1/1.ts"))).toBe(true);
    db.close();
  });
});
