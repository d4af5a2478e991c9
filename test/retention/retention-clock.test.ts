import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import { createTask } from "node-cron";
import { afterAll, describe, expect, it } from "vitest";
import { Retention } from "../../retention/retention.js";
import { AuditLog } from "../../src/audit/log.js";
import { openCatalog } from "../../src/catalog/catalog.js";
import { SqliteDirectory } from "../../src/catalog/directory/sqlite.js";
import { createLogger } from "../../src/log/logger.js";

/**
 * Five weeks of recording on a simulated clock, with purge runs when the default cron schedule says:
 * at every moment the oldest footage no hold protects is at most retention + one purge interval old,
 * health never calls the purger overdue, and held footage outlives them all.
 */

const DAY = 86_400_000;
const STEP = 300_000; // one 5-minute segment per camera per step
const SCHEDULE = "0 * * * *";
const base = existsSync("/dev/shm") ? "/dev/shm" : undefined;
const work = mkdtempSync(join(base ?? "/tmp", "pscs-clock-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("retention on a simulated clock", () => {
  it("never lets unheld footage get older than retention + one purge interval", async () => {
    let now = Date.UTC(2026, 2, 1); // a month with a DST change in most places; the schedule is UTC
    const clock = () => now;
    const db = openCatalog(":memory:");
    const directory = new SqliteDirectory(db);
    const audit = new AuditLog(directory, { now: clock });
    const rec = join(work, "rec");
    const retention = new Retention({
      db,
      directory,
      audit,
      log: createLogger({ name: "clock", destination: new Writable({ write: (_c, _e, cb) => cb() }) }),
      recordingsRoot: rec,
      evidenceRoot: join(work, "ev"),
      cameras: new Set(["cam1", "cam2"]),
      days: 30,
      purgeSchedule: SCHEDULE,
      onDiskPressure: "alert",
      now: clock,
    });
    const cron = createTask(SCHEDULE, () => {}, { timezone: "Etc/UTC" });
    const insert = db.prepare(
      `INSERT INTO segments (camera, start_ms, end_ms, path, bytes, sha256, state, run, created_at)
       VALUES (?, ?, ?, ?, 1, 'x', 'complete', 'sim', ?)`,
    );
    const by = { actor: "system", role: null, client: "test" };
    const clerk = { actor: "user:records1", role: "records", client: "test" };
    const commander = { actor: "user:commander1", role: "commander", client: "test" };
    const end = now + 35 * DAY;
    const heldFrom = now + 2 * DAY;
    let holdId: number | undefined;
    let worstAgeMs = 0;
    let runs = 0;
    for (; now < end; now += STEP) {
      for (const cam of ["cam1", "cam2"]) {
        const path = `${cam}/${now}.ts`;
        mkdirSync(join(rec, cam), { recursive: true });
        writeFileSync(join(rec, path), "x");
        insert.run(cam, now - STEP, now, path, now);
      }
      if (holdId === undefined && now >= heldFrom + 3_600_000) {
        const h = await retention.holds.request(
          {
            formNumber: "F-1",
            receivedOn: "2026-03-03",
            requestedBy: "Det. X",
            agency: "NPD",
            caseNumber: "26-1",
            legalBasis: "criminal",
            reason: "clock test",
            ranges: [{ camera: "cam1", fromMs: heldFrom, toMs: heldFrom + 3_600_000 }],
            form: Buffer.from("%PDF-1.4\n"),
          },
          clerk,
        );
        holdId = (await retention.holds.approve(h.id, "", commander)).id;
      }
      if (cron.match(new Date(now))) {
        await retention.purger.run("schedule", by);
        runs++;
      }
      const oldest = await retention.purger.oldestUnheldEndMs();
      if (oldest !== undefined) worstAgeMs = Math.max(worstAgeMs, now - oldest);
      // Health's own judgement, with the schedule's interval (one hour), agrees.
      expect((await retention.health()).overdue, new Date(now).toISOString()).toBe(false);
    }
    expect(runs).toBe(35 * 24);
    expect(worstAgeMs).toBeLessThanOrEqual(30 * DAY + 3_600_000);
    // It was not trivially young either: the purger really was what kept it down.
    expect(worstAgeMs).toBeGreaterThan(30 * DAY);
    // The held hour outlived the retention period, in the catalog and on disk.
    const held = db
      .prepare<[number, number], { n: number }>(
        "SELECT count(*) n FROM segments WHERE camera = 'cam1' AND state = 'complete' AND end_ms > ? AND start_ms < ?",
      )
      .get(heldFrom, heldFrom + 3_600_000);
    expect(held?.n).toBe(12); // the twelve five-minute segments of the held hour
    db.close();
  }, 300_000);
});
