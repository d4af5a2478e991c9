import { createHash, generateKeyPairSync, sign } from "node:crypto";
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
import { beforeAll, describe, expect, it } from "vitest";
import { startPscsd } from "../../src/compose/daemon.js";
import { loadConfig } from "../../src/config/load.js";
import { createLogger } from "../../src/log/logger.js";
import { appendEntries, FAST_AUDIT, intruder, rehash, until, writeAnchor } from "../helpers/audit-tamper.js";
import { runPscs, startProc } from "../helpers/process.js";
import { daemonDir, openLocalCatalog, startInProcess, type TestDaemonDir } from "../helpers/pscsd.js";

// What an intruder with write access to the catalog's directory does once pscsd has stopped, and
// what catches it: the checkpoints pscsd signed and logged (the copy shipped off the host).

const PSCSD = join(import.meta.dirname, "../../dist/src/bin/pscsd.js");

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

function copyOf(d: TestDaemonDir): string {
  const dir = mkdtempSync(join(tmpdir(), "pscs-tamper-"));
  cpSync(d.dir, dir, { recursive: true });
  return dir;
}

const verify = (dir: string, ...more: string[]) =>
  runPscs(["audit", "verify", "-c", join(dir, "pscs.yaml"), ...more]);

describe("signed checkpoints, checked against the log shipped off the host", () => {
  let d: TestDaemonDir;
  let logFile: string;
  let logged: { line: number; c: LoggedCheckpoint }[];
  let seqs: number[];
  let finalHead: number;
  // The checkpoint an intruder would keep in the anchor: genuine, and older than what they changed.
  const older = (seq: number) => logged.filter((x) => x.c.seq <= seq).at(-1)?.c;
  const firstAfter = (seq: number) => logged.find((x) => x.c.seq > seq);

  // One real daemon run, its log written as pino writes it (at level warn: checkpoints are logged
  // whatever the level), with entries added by another connection between checkpoints.
  beforeAll(async () => {
    d = await daemonDir({}, FAST_AUDIT);
    logFile = join(d.dir, "pscsd.log");
    const out = createWriteStream(logFile);
    const daemon = await startPscsd(
      loadConfig(d.configFile),
      createLogger({ name: "pscsd", destination: out, level: "warn" }),
    );
    try {
      for (const tag of ["a", "b", "c"]) {
        await appendEntries(d.configFile, 10, tag);
        const head = openLocalCatalog(d.configFile);
        const seq = await head.audit.headSeq();
        head.close();
        await until(`a checkpoint of entry ${seq}`, () =>
          loggedCheckpoints(logFile).some((x) => x.c.seq === seq) ? true : undefined,
        );
      }
    } finally {
      await daemon.stop();
      await new Promise<void>((r) => out.end(r));
    }
    logged = loggedCheckpoints(logFile);
    seqs = [...new Set(logged.map((x) => x.c.seq))];
    const head = openLocalCatalog(d.configFile);
    finalHead = await head.audit.headSeq();
    head.close();
  }, 60_000);

  it("are logged at start, as the chain grows and at stop, and all match the untouched chain; the key never appears", async () => {
    expect(seqs.length).toBeGreaterThanOrEqual(4);
    // The stop's own entry (daemon.stop) is written last: only the checkpoint at stop covers it.
    expect(logged.at(-1)?.c.seq, "the last checkpoint is of the head pscsd stopped at").toBe(finalHead);
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
      new RegExp(
        `${logged.length + 1} signed checkpoints match \\(key [0-9a-f]{16}…; newest: entry ${seqs.at(-1)}`,
      ),
    );
  });

  it("(i) catch the newest rows deleted with the anchor rolled back to the new head and an older genuine checkpoint", async () => {
    const cut = (seqs[2] ?? 0) - 3;
    const t = copyOf(d);
    const db = intruder(t);
    db.prepare("DELETE FROM audit_log WHERE seq > ?").run(cut);
    const head = db.prepare("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").get() as object;
    db.close();
    writeAnchor(t, { ...head, checkpoint: older(cut) });
    expect((await verify(t)).code, "the local copies alone are fooled").toBe(0);
    const r = await verify(t, "--checkpoints", logFile);
    expect(r.code).toBe(1);
    const first = firstAfter(cut);
    expect(r.stderr).toContain(
      `first checkpoint the chain no longer matches: line ${first?.line} (entry ${first?.c.seq}, signed ${new Date(first?.c.at ?? 0).toISOString()}): the chain ends at entry ${cut}`,
    );
  });

  it("(ii) catch a full re-hash: entry 2 edited, every hash recomputed, the anchor rewritten to match", async () => {
    const t = copyOf(d);
    const db = intruder(t);
    db.exec("UPDATE audit_log SET actor = 'user:mallory' WHERE seq = 2");
    writeAnchor(t, rehash(db, 1));
    db.close();
    const r = await verify(t, "--checkpoints", logFile);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^pscs: audit chain does not match its checkpoints \(its \d+ entries link up\)/);
    const first = firstAfter(1);
    expect(r.stderr).toContain(
      `first checkpoint the chain no longer matches: line ${first?.line} (entry ${first?.c.seq}`,
    );
    expect(r.stderr).toContain("(rewritten)");
    expect(r.stderr).toContain("anchor: the anchor carries no checkpoint");
  });

  it("(iii) catch rows edited through dropped triggers, re-hashed from there, with an older genuine checkpoint in the anchor", async () => {
    const from = (seqs[1] ?? 0) + 2;
    const t = copyOf(d);
    const db = intruder(t);
    db.prepare("UPDATE audit_log SET outcome = 'denied' WHERE seq IN (?, ?)").run(from, from + 4);
    writeAnchor(t, { ...rehash(db, from), checkpoint: older(from - 1) });
    db.close();
    expect((await verify(t)).code, "the local copies alone are fooled").toBe(0);
    const r = await verify(t, "--checkpoints", logFile, "--json");
    expect(r.code).toBe(1);
    const json = JSON.parse(r.stdout) as {
      breakCount: number;
      checkpoints: { mismatched: { seq: number }[] };
    };
    expect(json.breakCount).toBe(0);
    expect(json.checkpoints.mismatched[0]?.seq).toBe(firstAfter(from - 1)?.c.seq);
    expect(json.checkpoints.mismatched.every((m) => m.seq >= from)).toBe(true);
  });

  it("read the log as a shipper writes it (a prefix before each JSON line), and name a garbled checkpoint line", async () => {
    const shipped = join(d.dir, "shipped.log");
    const prefixed = readFileSync(logFile, "utf8")
      .trimEnd()
      .split("\n")
      .map((l) => `Dec  1 08:00:00 cam-host pscsd[123]: ${l}`);
    writeFileSync(shipped, `${prefixed.join("\n")}\n`);
    const ok = await verify(d.dir, "--checkpoints", shipped);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`${logged.length + 1} signed checkpoints match`);
    appendFileSync(
      shipped,
      `Dec  1 08:00:01 cam-host pscsd[123]: {"msg":"audit checkpoint","auditCheckpoint":{"seq":\n`,
    );
    const garbled = await verify(d.dir, "--checkpoints", shipped);
    expect(garbled.code).toBe(1);
    expect(garbled.stderr).toContain(
      `forged checkpoint: line ${prefixed.length + 1}: names a checkpoint but is not a JSON line`,
    );
  });

  it("report forged lines as forged: one altered after signing, one signed by another key", async () => {
    const forgedLog = join(d.dir, "forged.log");
    const genuine = logged.at(-1)?.c as LoggedCheckpoint;
    const other = generateKeyPairSync("ed25519");
    const otherFingerprint = createHash("sha256")
      .update(other.publicKey.export({ type: "spki", format: "der" }))
      .digest("hex");
    const alien = {
      ...genuine,
      fingerprint: otherFingerprint,
      sig: sign(null, Buffer.from("anything"), other.privateKey).toString("base64"),
    };
    writeFileSync(forgedLog, readFileSync(logFile));
    for (const c of [{ ...genuine, seq: genuine.seq + 5 }, alien])
      appendFileSync(
        forgedLog,
        `${JSON.stringify({ level: 30, msg: "audit checkpoint", auditCheckpoint: c })}\n`,
      );
    const r = await verify(d.dir, "--checkpoints", forgedLog);
    expect(r.code).toBe(1);
    const lines = readFileSync(forgedLog, "utf8").trimEnd().split("\n").length;
    expect(r.stderr).toContain(
      `forged checkpoint: line ${lines - 1} (claims entry ${genuine.seq + 5}): bad signature (forged or altered)`,
    );
    expect(r.stderr).toContain(
      `forged checkpoint: line ${lines} (claims entry ${genuine.seq}): signed by another key (fingerprint ${otherFingerprint.slice(0, 16)}`,
    );
    expect(r.stderr).not.toContain("no longer matches");
  });

  it("refuses a log without checkpoint lines, and an unreadable one, as usage errors", async () => {
    const d = await daemonDir({}, FAST_AUDIT);
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
    const d = await daemonDir({}, FAST_AUDIT);
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
