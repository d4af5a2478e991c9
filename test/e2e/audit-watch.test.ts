import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { appendEntries, FAST_AUDIT, intruder, rehash, until, writeAnchor } from "../helpers/audit-tamper.js";
import { client, daemonDir, openLocalCatalog, startInProcess } from "../helpers/pscsd.js";

// pscsd's watch over its own audit chain: a tamper shows in health and metrics within one period
// (audit.verifySeconds, 1 s here), not at the next hourly walk.

describe("the running daemon's watch over its chain", () => {
  async function opsToken(configFile: string): Promise<string> {
    const local = openLocalCatalog(configFile);
    const t = await local.auth.createToken(
      { name: "monitor", role: "ops" },
      { actor: "local:test", role: "admin", client: "cli" },
    );
    local.close();
    return t.secret;
  }

  it("turns health failing and raises the alert metric within a period of two tampers, naming both", async () => {
    const d = await daemonDir({}, FAST_AUDIT);
    const token = await opsToken(d.configFile);
    await appendEntries(d.configFile, 20, "x");
    const daemon = await startInProcess(d);
    const c = client(daemon.url, { bearer: token });
    try {
      const health = async () =>
        (await (await c.request("GET", "/api/health")).json()) as {
          status: string;
          audit: {
            chain: { result: { ok: boolean; breakCount: number; breaks: { seq: number; reason: string }[] } };
          };
        };
      expect((await health()).audit.chain.result).toMatchObject({ ok: true, breakCount: 0 });
      expect(await (await c.request("GET", "/metrics")).text()).toMatch(/^pscs_audit_chain_breaks 0$/m);
      const db = intruder(d.dir);
      db.exec(
        "UPDATE audit_log SET actor = 'user:mallory' WHERE seq = 4; UPDATE audit_log SET outcome = 'denied' WHERE seq = 15;",
      );
      db.close();
      const tampered = Date.now();
      // Each UPDATE commits alone, so a walk may come between them: wait for both.
      const h = await until("health failing with both tampers", async () => {
        const r = await health();
        return r.status === "failing" && r.audit.chain.result.breakCount === 2 ? r : undefined;
      });
      expect(Date.now() - tampered).toBeLessThan(5_000); // verifySeconds is 1
      expect(h.audit.chain.result.ok).toBe(false);
      expect(h.audit.chain.result.breaks.map((b) => b.seq)).toEqual([4, 15]);
      const metrics = await (await c.request("GET", "/metrics")).text();
      expect(metrics).toMatch(/^pscs_audit_chain_ok 0$/m);
      expect(metrics).toMatch(/^pscs_audit_chain_breaks 2$/m);
    } finally {
      await daemon.stop();
    }
  }, 60_000);

  it("notices the newest rows rewritten consistently, anchor included, while it runs", async () => {
    const d = await daemonDir({}, FAST_AUDIT);
    const token = await opsToken(d.configFile);
    await appendEntries(d.configFile, 10, "y");
    const daemon = await startInProcess(d);
    const c = client(daemon.url, { bearer: token });
    try {
      const db = intruder(d.dir);
      const top = (db.prepare("SELECT max(seq) AS n FROM audit_log").get() as { n: number }).n;
      await until("the watch to verify the head", async () => {
        const h = (await (await c.request("GET", "/api/health")).json()) as {
          audit: { chain: { result: { headSeq: number } } };
        };
        return h.audit.chain.result.headSeq === top ? true : undefined;
      });
      db.prepare("UPDATE audit_log SET outcome = 'denied' WHERE seq = ?").run(top - 1);
      const head = rehash(db, top - 1);
      db.close();
      writeAnchor(d.dir, head);
      const r = await until("health failing", async () => {
        const h = (await (await c.request("GET", "/api/health")).json()) as {
          status: string;
          audit: { chain: { result: { breaks: { seq: number; reason: string }[] } } };
        };
        return h.status === "failing" ? h : undefined;
      });
      expect(r.audit.chain.result.breaks).toEqual([
        {
          seq: top,
          reason: expect.stringMatching(new RegExp(`^entry ${top} changed after it was verified at `)),
        },
        // The rewritten anchor lost pscsd's checkpoint, which the intruder cannot make.
        {
          seq: expect.any(Number),
          reason: expect.stringMatching(/^anchor checkpoint: the anchor carries no checkpoint/),
        },
      ]);
    } finally {
      await daemon.stop();
    }
  }, 60_000);

  it("keeps a new catalog beside an existing key healthy, and checks the anchor's checkpoint from then on", async () => {
    const d = await daemonDir({}, FAST_AUDIT);
    await (await startInProcess(d)).stop(); // makes the key
    for (const f of ["catalog.db", "catalog.db.audit-anchor"]) rmSync(join(d.dir, f));
    const token = await opsToken(d.configFile);
    const daemon = await startInProcess(d);
    const c = client(daemon.url, { bearer: token });
    const chain = async () =>
      (
        (await (await c.request("GET", "/api/health")).json()) as {
          audit: {
            chain: { result: { ok: boolean; breakCount: number; breaks: { seq: number; reason: string }[] } };
          };
        }
      ).audit.chain.result;
    try {
      expect(await chain()).toMatchObject({ ok: true });
      // pscsd has signed the new catalog's head; an anchor replaced without it is now a break.
      const anchor = join(d.dir, "catalog.db.audit-anchor");
      const { checkpoint: _, ...unsigned } = JSON.parse(readFileSync(anchor, "utf8")) as Record<
        string,
        unknown
      >;
      expect(_).toBeDefined();
      writeFileSync(anchor, JSON.stringify(unsigned));
      await appendEntries(d.configFile, 1, "z"); // another writer: the next period walks the whole chain
      const broken = await until("the anchor's missing checkpoint to be noticed", async () => {
        const r = await chain();
        return r.ok ? undefined : r;
      });
      expect(broken).toMatchObject({ ok: false });
      expect(broken.breaks).toEqual([
        {
          seq: expect.any(Number),
          reason: expect.stringMatching(/^anchor checkpoint: the anchor carries no checkpoint/),
        },
      ]);
      // pscsd's next checkpoint signs the anchor again; the break stays until restart all the same.
      await appendEntries(d.configFile, 1, "w");
      await new Promise((r) => setTimeout(r, 2_500));
      expect(await chain()).toMatchObject({ ok: false, breakCount: 1 });
      expect(JSON.parse(readFileSync(anchor, "utf8"))).toHaveProperty("checkpoint");
    } finally {
      await daemon.stop();
    }
  }, 60_000);

  it("runs on without checkpoints when the key cannot be made, and says so in health", async () => {
    const d = await daemonDir(
      {},
      { audit: { verifySeconds: 1, checkpointSeconds: 1, checkpointKey: "not-a-dir/key" } },
    );
    writeFileSync(join(d.dir, "not-a-dir"), "a file where the key's directory should be\n");
    const token = await opsToken(d.configFile);
    const daemon = await startInProcess(d);
    const c = client(daemon.url, { bearer: token });
    try {
      const h = (await (await c.request("GET", "/api/health")).json()) as {
        status: string;
        audit: { chain: { checkpointProblem?: string; result: { ok: boolean } } };
      };
      expect(h.status).toBe("degraded");
      expect(h.audit.chain.result.ok).toBe(true);
      expect(h.audit.chain.checkpointProblem).toMatch(
        /^audit\.checkpointKey .*not-a-dir\/key: cannot create: EEXIST \(pscsd makes it at first start/,
      );
      const metrics = await (await c.request("GET", "/metrics")).text();
      expect(metrics).toMatch(/^pscs_audit_chain_ok 1$/m);
      expect(metrics).toMatch(/^pscs_audit_checkpoint_timestamp_seconds 0$/m); // never signed
    } finally {
      await daemon.stop();
    }
  }, 60_000);
});
