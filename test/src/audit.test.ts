import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type AuditContent, chainHash, GENESIS_HASH } from "../../src/audit/chain.js";
import { AuditLog } from "../../src/audit/log.js";
import { drawSample, seededRandom, xoshiro128ss } from "../../src/audit/sample.js";
import { type Db, openCatalog } from "../../src/catalog/catalog.js";
import type { Directory } from "../../src/catalog/directory/directory.js";
import { SqliteDirectory } from "../../src/catalog/directory/sqlite.js";
import { csvCell } from "../../src/report/csv.js";

async function fresh(n: number): Promise<{ db: Db; directory: Directory; audit: AuditLog; anchor: string }> {
  const dir = mkdtempSync(join(tmpdir(), "pscs-audit-"));
  const db = openCatalog(join(dir, "catalog.db"));
  const anchor = join(dir, "catalog.db.audit-anchor");
  const directory = new SqliteDirectory(db);
  const audit = new AuditLog(directory, { anchorFile: anchor });
  for (let i = 0; i < n; i++) {
    await audit.append({
      actor: `user:u${i % 7}`,
      role: "records",
      action: i % 3 ? "auth.login" : "user.update",
      target: `user:t${i}`,
      outcome: "success",
      client: "127.0.0.1",
      details: { i, nested: { b: 2, a: 1 } },
    });
  }
  return { db, directory, audit, anchor };
}

/** What an attacker with write access to the file would do: drop the guards first. */
function unguard(db: Db): void {
  db.exec("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;");
}

describe("audit chain", () => {
  it("links each entry to the previous one and verifies an untouched chain", async () => {
    const { audit } = await fresh(20);
    const [first, second] = await audit.list({ limit: 2 });
    expect(first?.prevHash).toBe(GENESIS_HASH);
    expect(second?.prevHash).toBe(first?.hash);
    expect(await audit.verify()).toMatchObject({ ok: true, entries: 20, headSeq: 20, anchored: true });
  });

  it("stores details canonically: the same object in any key order gives the same text", async () => {
    const { audit } = await fresh(1);
    expect((await audit.list())[0]?.details).toBe('{"i":0,"nested":{"a":1,"b":2}}');
  });

  it("refuses UPDATE and DELETE on the table outright", async () => {
    const { db } = await fresh(3);
    expect(() => db.prepare("UPDATE audit_log SET actor = 'x' WHERE seq = 2").run()).toThrow(/append-only/);
    expect(() => db.prepare("DELETE FROM audit_log WHERE seq = 2").run()).toThrow(/append-only/);
  });

  // Every row, first and last included: each kind of tampering names the entry where the chain breaks.
  const N = 12;
  for (let seq = 1; seq <= N; seq++) {
    it(`names entry ${seq} when it is edited`, async () => {
      const { db, audit } = await fresh(N);
      unguard(db);
      db.prepare("UPDATE audit_log SET outcome = 'failure' WHERE seq = ?").run(seq);
      expect(await audit.verify()).toMatchObject({
        ok: false,
        brokenSeq: seq,
        reason: expect.stringMatching(/edited/),
        breakCount: 1,
      });
    });
    it(`notices entry ${seq} deleted`, async () => {
      const { db, audit } = await fresh(N);
      unguard(db);
      db.prepare("DELETE FROM audit_log WHERE seq = ?").run(seq);
      const r = await audit.verify();
      expect(r.ok).toBe(false);
      // A gap is reported at the entry after it; the newest row's loss is caught by the anchor.
      expect(r).toMatchObject({
        brokenSeq: seq === N ? N : seq + 1,
        reason: expect.stringContaining(`${seq}`),
        breakCount: 1,
      });
    });
  }
  for (const [a, b] of [
    [1, 2],
    [3, 9],
    [11, 12],
  ] as const) {
    it(`names entry ${a} when rows ${a} and ${b} are swapped (content or sequence numbers)`, async () => {
      const { db, audit } = await fresh(N);
      unguard(db);
      // Swap whole rows, hashes included, by exchanging their sequence numbers.
      db.exec(`UPDATE audit_log SET seq = -1 WHERE seq = ${a}; UPDATE audit_log SET seq = ${a} WHERE seq = ${b};
               UPDATE audit_log SET seq = ${b} WHERE seq = -1;`);
      expect(await audit.verify()).toMatchObject({ ok: false, brokenSeq: a });
    });
  }
  it("reports every edited entry: a second tamper does not hide behind the first", async () => {
    const { db, audit } = await fresh(N);
    unguard(db);
    db.exec(
      "UPDATE audit_log SET actor = 'user:mallory' WHERE seq = 3; UPDATE audit_log SET details = '{}' WHERE seq = 9",
    );
    const r = await audit.verify();
    expect(r).toMatchObject({ ok: false, brokenSeq: 3, breakCount: 2, entries: N });
    expect(r.breaks).toEqual([
      { seq: 3, reason: "entry 3 content does not match its hash (edited)" },
      { seq: 9, reason: "entry 9 content does not match its hash (edited)" },
    ]);
  });
  it("reports a gap and goes on past it to the next break", async () => {
    const { db, audit } = await fresh(N);
    unguard(db);
    db.exec(
      "DELETE FROM audit_log WHERE seq BETWEEN 4 AND 6; UPDATE audit_log SET outcome = 'denied' WHERE seq = 10",
    );
    const r = await audit.verify();
    expect(r).toMatchObject({ ok: false, breakCount: 2, entries: N - 3, headSeq: N });
    expect(r.breaks).toEqual([
      { seq: 7, reason: "entries 4-6 missing before entry 7" },
      { seq: 10, reason: "entry 10 content does not match its hash (edited)" },
    ]);
  });
  it("names an entry whose hash was recomputed after an edit at the entry that no longer links to it", async () => {
    const { db, audit } = await fresh(N);
    unguard(db);
    const row = db.prepare("SELECT * FROM audit_log WHERE seq = 5").get() as Record<string, unknown>;
    const edited = { ...(row as unknown as AuditContent), actor: "user:mallory" };
    db.prepare("UPDATE audit_log SET actor = ?, hash = ? WHERE seq = 5").run(
      edited.actor,
      chainHash(row.prev_hash as string, edited),
    );
    expect(await audit.verify()).toMatchObject({
      ok: false,
      breakCount: 1,
      breaks: [{ seq: 6, reason: "entry 6 does not link to entry 5 (prev_hash differs)" }],
    });
  });
  it("catches a rewritten chain (every hash recomputed after an edit) by its anchor", async () => {
    const { db, directory, audit, anchor } = await fresh(5);
    unguard(db);
    db.exec("DELETE FROM audit_log WHERE seq >= 3");
    // Re-append two entries so the chain is self-consistent again, but the anchor is not rolled back.
    writeFileSync(
      anchor,
      JSON.stringify({ seq: 5, hash: (await audit.list({ order: "desc", limit: 1 }))[0]?.hash }),
    );
    const again = new AuditLog(directory, { anchorFile: `${anchor}.other` });
    await again.append({ actor: "system", action: "x", outcome: "success" });
    await again.append({ actor: "system", action: "x", outcome: "success" });
    await again.append({ actor: "system", action: "x", outcome: "success" });
    expect(await audit.verify()).toMatchObject({
      ok: false,
      brokenSeq: 5,
      reason: expect.stringMatching(/anchored head/),
    });
  });
  it("reports a garbled anchor file", async () => {
    const { audit, anchor } = await fresh(3);
    writeFileSync(anchor, "not json");
    expect(await audit.verify()).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/anchor .* unreadable/),
    });
  });

  it("verifies 100,000 entries in under 5 s", async () => {
    const { audit } = await fresh(0);
    await audit.appendMany(
      Array.from({ length: 100_000 }, (_, i) => ({
        actor: "system",
        action: "bench.entry",
        target: `camera:c${i % 64}`,
        outcome: "success" as const,
        details: { i },
      })),
    );
    const t = performance.now();
    const r = await audit.verify();
    const ms = performance.now() - t;
    expect(r).toMatchObject({ ok: true, entries: 100_000 });
    expect(ms).toBeLessThan(5_000);
  }, 120_000);

  it("filters by action prefix without matching look-alikes", async () => {
    const { audit } = await fresh(0);
    for (const action of ["auth.login", "auth.logout", "authx.other", "auth"])
      await audit.append({ actor: "system", action, outcome: "success" });
    expect((await audit.list({ action: "auth." })).map((e) => e.action)).toEqual([
      "auth.login",
      "auth.logout",
    ]);
    expect((await audit.list({ action: "auth" })).map((e) => e.action)).toEqual(["auth"]);
  });
});

describe("random inspection sample", () => {
  async function population(): Promise<AuditLog> {
    const { audit } = await fresh(0);
    for (let i = 0; i < 30; i++) {
      const kind = ["hold", "export", "ptz-session"][i % 3];
      await audit.append({
        actor: `user:r${i % 4}`,
        action: `${kind}.create`,
        target: `${kind}:${i}`,
        outcome: "success",
      });
      await audit.append({
        actor: "user:cmdr",
        action: `${kind}.review`,
        target: `${kind}:${i}`,
        outcome: "success",
      });
    }
    await audit.append({ actor: "user:x", action: "auth.login", target: "user:x", outcome: "success" });
    return audit;
  }
  it("draws distinct items from holds, exports and PTZ sessions only, repeatably from its seed", async () => {
    const audit = await population();
    const a = await drawSample(audit, { count: 4, seed: "2026-Q3" });
    const b = await drawSample(audit, { count: 4, seed: "2026-Q3" });
    expect(a.items.map((i) => i.target)).toEqual(b.items.map((i) => i.target));
    expect(new Set(a.items.map((i) => i.target)).size).toBe(4);
    expect(a.population).toEqual({ hold: 10, export: 10, "ptz-session": 10 });
    for (const item of a.items) {
      expect(item.events).toBe(2);
      expect(item.checklist.length).toBeGreaterThan(2);
    }
    const seeds = new Set<string>();
    for (let i = 0; i < 20; i++)
      seeds.add((await drawSample(audit, { count: 4, seed: `s${i}` })).items.map((x) => x.target).join());
    expect(seeds.size).toBeGreaterThan(15);
  });
  it("is uniform: over many seeds every item is drawn about equally often", async () => {
    const audit = await population();
    const counts = new Map<string, number>();
    const draws = 1500;
    for (let i = 0; i < draws; i++)
      for (const it of (await drawSample(audit, { count: 4, seed: `u${i}` })).items)
        counts.set(it.target, (counts.get(it.target) ?? 0) + 1);
    const expectedEach = (draws * 4) / 30;
    for (const n of counts.values()) expect(Math.abs(n - expectedEach)).toBeLessThan(expectedEach * 0.35);
    expect(counts.size).toBe(30);
  });
  it("prints a fresh seed when none is given, and lists everything when fewer items exist than asked", async () => {
    const { audit } = await fresh(0);
    await audit.append({ actor: "user:a", action: "hold.create", target: "hold:1", outcome: "success" });
    const s = await drawSample(audit, { count: 4 });
    expect(s.seed).toMatch(/^[0-9a-f]{16}$/);
    expect(s.items.map((i) => i.target)).toEqual(["hold:1"]);
  });
  it("xoshiro128** matches the reference implementation's output for state {1, 2, 3, 4}", () => {
    const next = xoshiro128ss([1, 2, 3, 4]);
    expect([next(), next(), next()]).toEqual([11520, 0, 5927040]);
    expect(seededRandom("a")()).toBe(seededRandom("a")());
  });
});

describe("csv", () => {
  it("neutralises spreadsheet formulas and quotes separators", () => {
    expect(csvCell('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvCell("+1")).toBe(`"'+1"`);
    expect(csvCell("a,b")).toBe('"a,b"');
    expect(csvCell(null)).toBe("");
    expect(csvCell("plain")).toBe("plain");
  });
});
