import { generateKeyPairSync, sign } from "node:crypto";
import {
  appendFileSync,
  chmodSync,
  cpSync,
  createWriteStream,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { type AuditContent, chainHash, GENESIS_HASH } from "../../src/audit/chain.js";
import { loadConfig } from "../../src/config/load.js";
import { createLogger } from "../../src/log/logger.js";
import { startPscsd } from "../../src/main.js";
import { runPscs, startProc } from "../helpers/process.js";
import { client, daemonDir, openLocalCatalog, startInProcess, type TestDaemonDir } from "../helpers/pscsd.js";

// What an intruder with write access to the catalog's directory does, and what catches it: pscsd's
// watch while it runs (health, metrics), and the checkpoints pscsd logged (shipped off the host).

const PSCSD = join(import.meta.dirname, "../../dist/src/bin/pscsd.js");
const FAST = { audit: { verifySeconds: 1, checkpointSeconds: 1 } };

interface LoggedCheckpoint {
  seq: number;
  hash: string;
  at: number;
  fingerprint: string;
  sig: string;
}

function loggedCheckpoints(logFile: string): { line: number; c: LoggedCheckpoint }[] {
  return readFileSync(logFile, "utf8")
    .split("\n")
    .map((l, i) => ({
      line: i + 1,
      v: l ? (JSON.parse(l) as { msg?: string; auditCheckpoint?: LoggedCheckpoint }) : {},
    }))
    .filter((x) => x.v.msg === "audit checkpoint" && x.v.auditCheckpoint)
    .map((x) => ({ line: x.line, c: x.v.auditCheckpoint as LoggedCheckpoint }));
}

async function until<T>(
  what: string,
  f: () => T | undefined | Promise<T | undefined>,
  ms = 15_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function appendEntries(configFile: string, n: number, tag: string): void {
  const local = openLocalCatalog(configFile);
  for (let i = 0; i < n; i++)
    local.audit.append({
      actor: `user:u${i % 3}`,
      action: "user.update",
      target: `user:${tag}${i}`,
      outcome: "success",
    });
  local.close();
}

/** An intruder's connection: the append-only guards dropped first. */
function intruder(dir: string): Database.Database {
  const db = new Database(join(dir, "catalog.db"));
  db.exec("DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete;");
  return db;
}

type Row = AuditContent & { prev_hash: string; hash: string };

/** Recomputes prev_hash and hash of every row from `fromSeq` on, so the chain is consistent again. */
function rehash(db: Database.Database, fromSeq: number): { seq: number; hash: string } {
  const rows = db.prepare("SELECT * FROM audit_log ORDER BY seq").all() as Row[];
  let prev = GENESIS_HASH;
  const set = db.prepare("UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?");
  for (const r of rows) {
    if (r.seq >= fromSeq) {
      const hash = chainHash(prev, r);
      set.run(prev, hash, r.seq);
      prev = hash;
    } else prev = r.hash;
  }
  return { seq: rows.at(-1)?.seq ?? 0, hash: prev };
}

function writeAnchor(dir: string, a: object): void {
  writeFileSync(join(dir, "catalog.db.audit-anchor"), `${JSON.stringify(a)}\n`);
}

function copyOf(d: TestDaemonDir): string {
  const dir = mkdtempSync(join(tmpdir(), "pscs-tamper-"));
  cpSync(d.dir, dir, { recursive: true });
  return dir;
}

const verify = (dir: string, ...more: string[]) =>
  runPscs(["audit", "verify", "-c", join(dir, "pscs.yaml"), ...more]);

describe("signed checkpoints, checked against the log shipped off the host", () => {
  it("catch truncation with the anchor rolled back, a full re-hash, and edited rows re-hashed; forged lines are named", async () => {
    const d = await daemonDir({}, FAST);
    const logFile = join(d.dir, "pscsd.log");
    const out = createWriteStream(logFile);
    const daemon = await startPscsd(
      loadConfig(d.configFile),
      createLogger({ name: "pscsd", destination: out, level: "warn" }),
    );
    try {
      for (const [tag, n] of [
        ["a", 10],
        ["b", 10],
        ["c", 10],
      ] as const) {
        appendEntries(d.configFile, n, tag);
        const head = openLocalCatalog(d.configFile);
        const seq = head.audit.headSeq();
        head.close();
        await until(`a checkpoint of entry ${seq}`, () =>
          loggedCheckpoints(logFile).some((x) => x.c.seq === seq) ? true : undefined,
        );
      }
    } finally {
      await daemon.stop();
      await new Promise<void>((r) => out.end(r));
    }
    const logged = loggedCheckpoints(logFile);
    const seqs = [...new Set(logged.map((x) => x.c.seq))];
    expect(seqs.length).toBeGreaterThanOrEqual(4); // at start, after each batch, at stop
    // The key beside the config file by default; logged at level warn all the same; never logged itself.
    const key = readFileSync(join(d.dir, "audit-checkpoint.key"), "utf8");
    expect(key).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(readFileSync(join(d.dir, "audit-checkpoint.key.pub"), "utf8")).toMatch(
      /^-----BEGIN PUBLIC KEY-----\n/,
    );
    expect(readFileSync(logFile, "utf8")).not.toContain(key.split("\n")[1]);

    const intact = await verify(d.dir, "--checkpoints", logFile);
    expect(intact.stderr).toBe("");
    expect(intact.code).toBe(0);
    expect(intact.stdout).toMatch(
      new RegExp(`${logged.length + 1} signed checkpoints match \\(newest: entry ${seqs.at(-1)}`),
    );

    // The checkpoint an intruder would keep in the anchor: genuine, and older than what they changed.
    const older = (seq: number) => logged.filter((x) => x.c.seq <= seq).at(-1)?.c;
    const firstAfter = (seq: number) => logged.find((x) => x.c.seq > seq);

    // (i) the newest rows deleted and the anchor rolled back to the new head with an older checkpoint.
    const cut = seqs[2] ?? 0;
    const t1 = copyOf(d);
    const db1 = intruder(t1);
    db1.prepare("DELETE FROM audit_log WHERE seq > ?").run(cut - 3);
    const head1 = db1.prepare("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").get() as object;
    db1.close();
    writeAnchor(t1, { ...head1, checkpoint: older(cut - 3) });
    expect((await verify(t1)).code, "the local copies alone are fooled").toBe(0);
    const r1 = await verify(t1, "--checkpoints", logFile);
    expect(r1.code).toBe(1);
    const first1 = firstAfter(cut - 3);
    expect(r1.stderr).toContain(
      `first checkpoint the chain no longer matches: line ${first1?.line} (entry ${first1?.c.seq}, signed ${new Date(first1?.c.at ?? 0).toISOString()}): the chain ends at entry ${cut - 3}`,
    );

    // (ii) every row rewritten (an edit to entry 2, then every hash recomputed), anchor to match.
    const t2 = copyOf(d);
    const db2 = intruder(t2);
    db2.exec("UPDATE audit_log SET actor = 'user:mallory' WHERE seq = 2");
    const head2 = rehash(db2, 1);
    db2.close();
    writeAnchor(t2, head2);
    const r2 = await verify(t2, "--checkpoints", logFile);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(
      /^pscs: audit chain does not match its checkpoints \(its \d+ entries link up\)/,
    );
    const first2 = firstAfter(1);
    expect(r2.stderr).toContain(
      `first checkpoint the chain no longer matches: line ${first2?.line} (entry ${first2?.c.seq}`,
    );
    expect(r2.stderr).toContain("(rewritten)");
    expect(r2.stderr).toContain("anchor: the anchor carries no checkpoint");

    // (iii) two rows in the middle edited, the rest re-hashed, the anchor given a genuine older checkpoint.
    const from = (seqs[1] ?? 0) + 2;
    const t3 = copyOf(d);
    const db3 = intruder(t3);
    db3.prepare("UPDATE audit_log SET outcome = 'denied' WHERE seq IN (?, ?)").run(from, from + 4);
    const head3 = rehash(db3, from);
    db3.close();
    writeAnchor(t3, { ...head3, checkpoint: older(from - 1) });
    expect((await verify(t3)).code, "the local copies alone are fooled").toBe(0);
    const r3 = await verify(t3, "--checkpoints", logFile, "--json");
    expect(r3.code).toBe(1);
    const json3 = JSON.parse(r3.stdout) as {
      breakCount: number;
      checkpoints: { mismatched: { seq: number }[] };
    };
    expect(json3.breakCount).toBe(0);
    expect(json3.checkpoints.mismatched[0]?.seq).toBe(firstAfter(from - 1)?.c.seq);
    expect(json3.checkpoints.mismatched.every((m) => m.seq >= from)).toBe(true);

    // (iv) forged lines: one altered after signing, one signed by another key.
    const forgedLog = join(d.dir, "forged.log");
    const genuine = logged.at(-1)?.c as LoggedCheckpoint;
    const other = generateKeyPairSync("ed25519");
    const alien = {
      ...genuine,
      fingerprint: "ab".repeat(32),
      sig: sign(null, Buffer.from("anything"), other.privateKey).toString("base64"),
    };
    writeFileSync(forgedLog, readFileSync(logFile));
    for (const c of [{ ...genuine, seq: genuine.seq + 5 }, alien])
      appendFileSync(
        forgedLog,
        `${JSON.stringify({ level: 30, msg: "audit checkpoint", auditCheckpoint: c })}\n`,
      );
    const r4 = await verify(d.dir, "--checkpoints", forgedLog);
    expect(r4.code).toBe(1);
    const lines = readFileSync(forgedLog, "utf8").trimEnd().split("\n").length;
    expect(r4.stderr).toContain(
      `forged checkpoint: line ${lines - 1} (claims entry ${genuine.seq + 5}): bad signature (forged or altered)`,
    );
    expect(r4.stderr).toContain(
      `forged checkpoint: line ${lines} (claims entry ${genuine.seq}): signed by another key`,
    );
    expect(r4.stderr).not.toContain("no longer matches");
  }, 120_000);

  it("refuses a log without checkpoint lines, and an unreadable one, as usage errors", async () => {
    const d = await daemonDir({}, FAST);
    await (await startInProcess(d)).stop();
    const empty = join(d.dir, "empty.log");
    writeFileSync(empty, '{"level":30,"msg":"pscsd started"}\n');
    const r = await verify(d.dir, "--checkpoints", empty);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^pscs: --checkpoints: no 'audit checkpoint' lines in .*empty\.log/);
    const missing = await verify(d.dir, "--checkpoints", join(d.dir, "nope.log"));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^pscs: --checkpoints: cannot read .*nope\.log: ENOENT\n$/);
  }, 60_000);
});

describe("the checkpoint key", () => {
  it("is refused when others can read it: pscsd exits 78 naming audit.checkpointKey, before the catalog is touched", async () => {
    const d = await daemonDir({}, FAST);
    const keyFile = join(d.dir, "audit-checkpoint.key");
    await (await startInProcess(d)).stop();
    const pem = readFileSync(keyFile, "utf8");
    chmodSync(keyFile, 0o644);
    rmSync(join(d.dir, "catalog.db"));
    const proc = startProc(process.execPath, [PSCSD, "--config", d.configFile]);
    const { code } = await proc.exited;
    const out = proc.lines.join("\n");
    expect(code).toBe(78);
    expect(out).toContain(
      `pscsd: audit.checkpointKey ${keyFile}: readable by others (mode 644): chmod 600 it`,
    );
    expect(out).not.toMatch(/\n\s+at /);
    expect(out).not.toContain(pem.split("\n")[1]);
    expect(existsSync(join(d.dir, "catalog.db"))).toBe(false);
  }, 60_000);
});

describe("the running daemon's watch over its chain", () => {
  async function opsToken(configFile: string): Promise<string> {
    const local = openLocalCatalog(configFile);
    const t = local.auth.createToken(
      { name: "monitor", role: "ops" },
      { actor: "local:test", role: "admin", client: "cli" },
    );
    local.close();
    return t.secret;
  }

  it("turns health failing and raises the alert metric within a period of two tampers, naming both", async () => {
    const d = await daemonDir({}, FAST);
    const token = await opsToken(d.configFile);
    appendEntries(d.configFile, 20, "x");
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
    const d = await daemonDir({}, FAST);
    const token = await opsToken(d.configFile);
    appendEntries(d.configFile, 10, "y");
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
      ]);
    } finally {
      await daemon.stop();
    }
  }, 60_000);
});
