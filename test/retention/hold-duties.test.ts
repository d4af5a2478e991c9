import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import {
  checkReceivedOn,
  DEFAULT_HOLD_LIMITS,
  type HoldLimits,
  latestSiteDate,
} from "../../retention/hold-rules.js";
import { Retention } from "../../retention/retention.js";
import { AuditLog } from "../../src/audit/log.js";
import { openCatalog } from "../../src/catalog/catalog.js";
import { SqliteDirectory } from "../../src/catalog/directory/sqlite.js";
import { ServiceError } from "../../src/errors/service-error.js";
import { HealthService } from "../../src/health/health.js";
import { createLogger } from "../../src/log/logger.js";
import { StorageMonitor } from "../../src/storage/monitor.js";

/**
 * The hold service's own rules, called as the CLI calls it (no HTTP route in front): who may decide
 * a request, the date its form was received and how many one person may have pending, on a real
 * catalog file.
 */

const work = mkdtempSync(join(tmpdir(), "pscs-duties-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const NOW = Date.UTC(2026, 2, 1, 3, 0); // 22:00 the day before in New York
const ctx = (actor: string, role: string | null) => ({ actor: `user:${actor}`, role, client: "cli" });

function service(holdLimits?: Partial<HoldLimits>) {
  const db = openCatalog(join(work, `catalog-${Math.random().toString(36).slice(2)}.db`));
  const directory = new SqliteDirectory(db);
  const audit = new AuditLog(directory, { now: () => NOW });
  const rec = join(work, "rec");
  mkdirSync(join(rec, "cam1"), { recursive: true });
  writeFileSync(join(rec, "cam1", "a.ts"), "x");
  db.prepare(
    `INSERT INTO segments (camera, start_ms, end_ms, path, bytes, sha256, state, run, created_at)
     VALUES ('cam1', ?, ?, 'cam1/a.ts', 1, 'x', 'complete', 't', ?)`,
  ).run(NOW - 7_200_000, NOW - 7_140_000, NOW);
  const retention = new Retention({
    db,
    directory,
    audit,
    log: createLogger({ name: "t", destination: new Writable({ write: (_c, _e, cb) => cb() }) }),
    recordingsRoot: rec,
    evidenceRoot: join(work, "ev"),
    cameras: new Set(["cam1"]),
    days: 30,
    purgeSchedule: "0 * * * *",
    onDiskPressure: "alert",
    ...(holdLimits ? { holdLimits: { ...DEFAULT_HOLD_LIMITS, ...holdLimits } } : {}),
    now: () => NOW,
  });
  const enter = (by: ReturnType<typeof ctx>, receivedOn = "2026-02-27") =>
    retention.holds.request(
      {
        formNumber: "F-1",
        receivedOn,
        requestedBy: "Det. X",
        agency: "NPD",
        caseNumber: "26-1",
        legalBasis: "criminal",
        reason: "duties test",
        ranges: [{ camera: "cam1", fromMs: NOW - 7_200_000, toMs: NOW - 7_100_000 }],
        form: Buffer.from("%PDF-1.4\n"),
      },
      by,
    );
  return { db, audit, retention, holds: retention.holds, enter };
}

const refusal = async (p: Promise<unknown> | (() => unknown)) => {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    if (e instanceof ServiceError) return e;
    throw e;
  }
  throw new Error("expected a refusal");
};

describe("hold decisions in the service", () => {
  it("refuses the enterer (even holding commander) and a non-commander, audits each, allows another commander", async () => {
    const { holds, audit, enter } = service();
    const both = ctx("both1", "commander");
    const h = await enter({ ...both, role: "records" });
    const self = await refusal(holds.approve(h.id, "", both));
    expect(self.kind).toBe("forbidden");
    expect(self.message).toMatch(/entered this request/);
    expect((await refusal(() => holds.refuse(h.id, "no", both))).kind).toBe("forbidden");
    const clerk = await refusal(holds.approve(h.id, "", ctx("records2", "records")));
    expect(clerk.message).toMatch(/only a commander/);
    expect((await refusal(holds.approve(h.id, "", ctx("nobody", null)))).kind).toBe("forbidden");
    expect(
      (await audit.list({ target: `hold:${h.id}`, outcome: "denied", order: "asc" })).map(
        (e) => `${e.action} ${e.actor}`,
      ),
    ).toEqual([
      "hold.approve user:both1",
      "hold.refuse user:both1",
      "hold.approve user:records2",
      "hold.approve user:nobody",
    ]);
    expect((await holds.get(h.id)).status).toBe("requested");

    expect((await holds.approve(h.id, "ok", ctx("commander1", "commander"))).status).toBe("active");
    expect((await refusal(holds.release(h.id, "done", both))).kind).toBe("forbidden");
    expect((await holds.release(h.id, "done", ctx("commander2", "commander"))).status).toBe("released");
  });

  it("writes the entry of each form view, log export and evidence verification itself, whoever calls it", async () => {
    const { holds, audit, enter } = service();
    const h = await enter(ctx("records1", "records"));
    await holds.approve(h.id, "ok", ctx("commander1", "commander"));
    const by = ctx("commander1", "commander");
    const form = await holds.viewForm(h.id, by);
    expect(form.sha256).toMatch(/^[0-9a-f]{64}$/);
    const log = await holds.exportLog({ caseNumber: "26-1" }, "csv", by);
    expect(log.holds.map((x) => x.id)).toEqual([h.id]);
    expect(log.body).toContain("26-1");
    // The fixture's segment row carries a made-up hash: verification finds it and says so.
    const report = await holds.verify(h.id, by);
    expect(report.problems).toHaveLength(1);
    const entries = await audit.list({ actor: "user:commander1", order: "asc" });
    expect(entries.map((e) => `${e.action} ${e.target ?? "-"} ${e.outcome}`)).toEqual([
      `hold.approve hold:${h.id} success`,
      `hold.form.view hold:${h.id} success`,
      "holds.log.export - success",
      `hold.verify hold:${h.id} failure`,
    ]);
    expect(JSON.parse(entries[2]?.details ?? "{}")).toMatchObject({ format: "csv", entries: 1 });
    expect(JSON.parse(entries[3]?.details ?? "{}")).toMatchObject({ files: 1, problems: report.problems });
  });

  it("refuses a form date after the site's today; without a zone, after the latest date anywhere", async () => {
    const { enter } = service();
    // 03:00 UTC on 1 March: already 1 March in UTC and east of it, still 28 February in New York.
    expect(latestSiteDate(NOW, "America/New_York")).toBe("2026-02-28");
    expect(latestSiteDate(NOW, "Pacific/Kiritimati")).toBe("2026-03-01");
    expect(latestSiteDate(NOW)).toBe("2026-03-01");
    expect(() => checkReceivedOn("2026-03-01", NOW, "America/New_York")).toThrow(/after today \(2026-02-28/);
    expect(() => checkReceivedOn("2026-03-01", NOW, "Europe/Paris")).not.toThrow();
    expect(() => checkReceivedOn("2026-02-30", NOW)).toThrow(/YYYY-MM-DD/);
    const future = await refusal(enter(ctx("records1", "records"), "2026-03-02"));
    expect(future.field).toBe("receivedOn");
    expect((await enter(ctx("records1", "records"), "2026-03-01")).status).toBe("requested");
  });

  it("degrades health while a request waits past overdueDays, and not before", async () => {
    const { db, audit, retention, enter } = service();
    const health = new HealthService({
      db,
      audit,
      storage: new StorageMonitor({ evidence: join(work, "ev") }, 0),
      writableDirs: { evidence: join(work, "ev") },
      cameras: () => [],
      version: "test",
      startedAt: NOW,
      purge: () => retention.health(),
      chain: () => null,
      now: () => NOW,
    });
    const h = await enter(ctx("records1", "records"));
    expect((await health.report()).status).toBe("ok");
    db.prepare("UPDATE holds SET entered_at = ? WHERE id = ?").run(NOW - 3 * 86_400_000 - 1, h.id);
    const late = await health.report();
    expect(late.status).toBe("degraded");
    expect(late.purge.holds).toMatchObject({ requested: 1, overdueRequests: 1, overdueAfterDays: 3 });
  });

  it("refuses a person's request beyond maxPendingPerPerson, even in parallel, audited; a decision frees a place", async () => {
    const { holds, audit, enter } = service({ maxPendingPerPerson: 2 });
    const clerk = ctx("records1", "records");
    // All three pass the early count before any has written its row.
    const burst = await Promise.allSettled([enter(clerk), enter(clerk), enter(clerk)]);
    expect(burst.map((r) => r.status).sort()).toEqual(["fulfilled", "fulfilled", "rejected"]);
    const refused = (burst.find((r) => r.status === "rejected") as PromiseRejectedResult).reason;
    expect(refused).toBeInstanceOf(ServiceError);
    expect(refused.kind).toBe("conflict");
    expect(refused.message).toMatch(/^too many pending requests: user:records1 has 2 hold requests/);
    expect(refused.extra).toMatchObject({ reason: "too many pending requests", pending: 2, limit: 2 });
    expect(await holds.list({ status: "requested" })).toHaveLength(2);
    const denied = await audit.list({ action: "hold.request", outcome: "denied" });
    expect(denied.map((e) => [e.actor, JSON.parse(e.details)])).toEqual([
      [
        "user:records1",
        { reason: "too many pending requests", pending: 2, limit: 2, formNumber: "F-1", caseNumber: "26-1" },
      ],
    ]);

    // Sequentially too, before anything is written; another person is not held back.
    expect((await refusal(enter(clerk))).kind).toBe("conflict");
    expect(await audit.list({ action: "hold.request", outcome: "denied" })).toHaveLength(2);
    expect((await enter(ctx("records2", "records"))).status).toBe("requested");

    // A decided request no longer counts.
    const [first] = (await holds.list({ status: "requested" })).filter((h) => h.enteredBy === clerk.actor);
    await holds.refuse((first as { id: number }).id, "no basis", ctx("commander1", "commander"));
    expect((await enter(clerk)).status).toBe("requested");
  });
});
