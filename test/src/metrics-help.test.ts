import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AuditLog } from "../../src/audit/log.js";
import { openCatalog } from "../../src/catalog/catalog.js";
import { SqliteDirectory } from "../../src/catalog/directory/sqlite.js";
import { HealthService } from "../../src/health/health.js";
import { createMetrics } from "../../src/metrics/metrics.js";
import { StorageMonitor } from "../../src/storage/monitor.js";

/**
 * What a metric's help text says about when it is absent is what a scrape shows: an alert rule is
 * written from the help text, and a value where "absent" was promised would fire it (or hide it).
 */

const work = mkdtempSync(join(tmpdir(), "pscs-metrics-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("metric help texts", () => {
  it("before the audit chain's first walk, every metric said to be absent has no sample", async () => {
    const db = openCatalog(join(work, "catalog.db"));
    const audit = new AuditLog(new SqliteDirectory(db));
    const storage = new StorageMonitor({ recordings: work }, 0);
    const purge = () => {
      throw new Error("not read by the chain's metrics");
    };
    const health = new HealthService({
      db,
      audit,
      storage,
      writableDirs: { recordings: work },
      cameras: () => [],
      version: "test",
      startedAt: Date.now(),
      purge,
      chain: () => null,
    });
    const { registry } = createMetrics({
      cameras: () => [],
      storage,
      health,
      audit,
      purge,
      version: "test",
      lockouts: () => ({ lockouts: 0, storm: false }),
    });
    // Only the chain's metrics are collected: the others read sources this test does not make.
    const audits = await Promise.all(
      registry
        .getMetricsAsArray()
        .map((m) => m.name)
        .filter((name) => name.startsWith("pscs_audit_chain"))
        .map(async (name) => {
          const m = await registry.getSingleMetric(name)?.get();
          if (!m) throw new Error(`no metric ${name}`);
          return m;
        }),
    );
    expect(audits.map((m) => m.name)).toEqual(expect.arrayContaining(["pscs_audit_chain_ok"]));
    for (const m of audits) {
      const samples = m.values.map((v) => v.value);
      if (/absent before the first walk/.test(m.help)) expect(samples, m.name).toEqual([]);
      else if (samples.length) expect(m.help, m.name).toMatch(/0 [^;)]*before the first walk/);
    }
    expect(audits.find((m) => m.name === "pscs_audit_chain_ok")?.values.map((v) => v.value)).toEqual([0]);
    db.close();
  });
});
