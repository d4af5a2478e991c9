import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { runPscs } from "../helpers/process.js";
import { daemonDir, openLocalCatalog, PASSWORD, seedUsers, startInProcess } from "../helpers/pscsd.js";

// The built CLI, run as an operator runs it: password on stdin (never an argument), exit codes.
const PSCS = join(import.meta.dirname, "../../dist/src/bin/pscs.js");

const pscs = runPscs;

describe("pscs user", () => {
  it("adds the first admin from a password on stdin, refuses bad input with a reason, lists, resets, guards the last admin", async () => {
    const { configFile: c } = await daemonDir();
    const add = await pscs(
      ["user", "add", "chief", "--role", "admin", "--name", "Chief Admin", "-c", c, "--json"],
      "Head-Pass-2026!\n",
    );
    expect(add.stderr).toBe("");
    expect(add.code).toBe(0);
    expect(JSON.parse(add.stdout)).toMatchObject({
      username: "chief",
      roles: ["admin"],
      mustChangePassword: false,
      createdBy: expect.stringMatching(/^local:/),
    });

    const weak = await pscs(["user", "add", "weak", "--role", "ops", "-c", c], "password\n");
    expect(weak.code).toBe(2);
    expect(weak.stderr).toMatch(
      /^pscs: password: .*must contain an upper-case letter.*must contain a digit.*must contain a symbol\n$/,
    );
    const role = await pscs(["user", "add", "x1", "--role", "janitor", "-c", c], "Head-Pass-2026!\n");
    expect(role.code).toBe(2);
    expect(role.stderr).toMatch(
      /--role: unknown role 'janitor' \(expected dispatcher, supervisor, records, commander, ops, auditor, admin\)/,
    );
    const dup = await pscs(["user", "add", "chief", "--role", "ops", "-c", c], "Other-Pass-2026!\n");
    expect(dup.code).toBe(1);
    expect(dup.stderr).toBe("pscs: <username>: 'chief' already exists\n");
    const badName = await pscs(["user", "add", "Chief.Two", "--role", "ops", "-c", c], "Other-Pass-2026!\n");
    expect(badName.code).toBe(2);
    expect(badName.stderr).toMatch(/^pscs: <username>: expected 2-32 characters/);
    const argPassword = await pscs([
      "user",
      "add",
      "p1",
      "--role",
      "ops",
      "--password",
      "Head-Pass-2026!",
      "-c",
      c,
    ]);
    expect(argPassword.code).not.toBe(0);
    expect(argPassword.stderr).toMatch(/unknown option '--password'/);
    const noStdin = await pscs(["user", "add", "p2", "--role", "ops", "-c", c], "");
    expect(noStdin.code).toBe(2);
    expect(noStdin.stderr).toMatch(/expected the password on standard input/);

    expect(
      (await pscs(["user", "add", "dana", "--role", "dispatcher,records", "-c", c], "Disp-Pass-2026!\n"))
        .code,
    ).toBe(0);
    const list = JSON.parse((await pscs(["user", "list", "-c", c, "--json"])).stdout) as {
      username: string;
      roles: string[];
    }[];
    expect(list.map((u) => [u.username, u.roles])).toEqual([
      ["chief", ["admin"]],
      ["dana", ["dispatcher", "records"]],
    ]);
    expect((await pscs(["user", "reset-password", "dana", "-c", c], "Reset-Pass-2026!\n")).code).toBe(0);
    const last = await pscs(["user", "disable", "chief", "-c", c]);
    expect(last.code).toBe(1);
    expect(last.stderr).toMatch(/last active admin/);
    expect((await pscs(["user", "disable", "dana", "-c", c])).code).toBe(0);

    const local = openLocalCatalog(c);
    const actions = (await local.audit.list()).map((e) => `${e.action} ${e.target} ${e.outcome}`);
    local.close();
    expect(actions).toEqual([
      "user.add user:chief success",
      "user.add user:chief failure",
      "user.add user:dana success",
      "user.password.reset user:dana success",
      "user.update user:chief failure",
      "user.disable user:dana success",
    ]);
  }, 60_000);
});

describe("pscs user unlock", () => {
  it("releases an account locked after failed sign-ins before its lock expires, on the record; the list then shows its last sign-in", async () => {
    const { configFile: c } = await daemonDir({ lockoutAttempts: 3, lockoutMinutes: 60 });
    const local = openLocalCatalog(c);
    await seedUsers(local, { dana: ["dispatcher"] });
    for (let i = 0; i < 3; i++)
      await local.auth.login("dana", "Wrong-Pass-2026!", "10.0.0.1").catch(() => undefined);
    expect((await local.auth.publicUser("dana")).lockedUntil).toBeGreaterThan(Date.now());
    const r = await pscs(["user", "unlock", "dana", "-c", c, "--json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ username: "dana", lockedUntil: null });
    await expect(local.auth.login("dana", PASSWORD, "10.0.0.1")).resolves.toBeDefined();
    // The sign-in after the unlock is the account's last, in UTC; one never used says so.
    await seedUsers(local, { neve: ["ops"] });
    const at = (await local.auth.publicUser("dana")).lastSignInAt;
    if (at === null) throw new Error("dana signed in, yet no last sign-in");
    const lines = (await pscs(["user", "list", "-c", c])).stdout.split("\n");
    expect(lines.find((l) => l.startsWith("dana "))).toContain(new Date(at).toISOString());
    expect(lines.find((l) => l.startsWith("neve "))).toContain("never signed in");
    const unlock = await local.audit.list({ action: "user.unlock" });
    local.close();
    expect(unlock.map((e) => [e.actor, e.target, JSON.parse(e.details).wasLocked])).toEqual([
      [expect.stringMatching(/^local:/), "user:dana", true],
    ]);
    const unknown = await pscs(["user", "unlock", "nobody", "-c", c]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^pscs: user 'nobody' does not exist\n$/);
  }, 30_000);
});

describe("pscs user add at a terminal", () => {
  /** Runs pscs on a pseudo-terminal (util-linux `script`), answering each prompt when it appears. */
  function onTty(args: string[], answers: string[]): Promise<{ code: number; out: string }> {
    return new Promise((resolve) => {
      const cmd = [process.execPath, PSCS, ...args].map((a) => `'${a}'`).join(" ");
      const child = spawn("script", ["-qec", cmd, "/dev/null"], { stdio: ["pipe", "pipe", "pipe"] });
      let out = "";
      let answered = 0;
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        const prompts = out.match(/password for \S+( again)?: /g)?.length ?? 0;
        while (answered < prompts && answered < answers.length) child.stdin.write(`${answers[answered++]}\r`);
      });
      child.on("exit", (code) => resolve({ code: code ?? 1, out }));
    });
  }

  it("asks twice without echoing, and refuses two different answers", async () => {
    const { configFile: c } = await daemonDir();
    const ok = await onTty(
      ["user", "add", "tty1", "--role", "ops", "-c", c],
      ["Tty-Pass-2026!", "Tty-Pass-2026!"],
    );
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/password for tty1: \r\npassword for tty1 again: \r\nadded tty1 \(ops\)/);
    expect(ok.out).not.toContain("Tty-Pass");
    const differ = await onTty(
      ["user", "add", "tty2", "--role", "ops", "-c", c],
      ["Tty-Pass-2026!", "Tty-Pass-2027!"],
    );
    expect(differ.code).toBe(2);
    expect(differ.out).toMatch(/the two passwords differ; nothing was changed/);
  });
});

describe("pscs audit", () => {
  async function catalogWithEntries(n: number): Promise<string> {
    const { configFile } = await daemonDir();
    const local = openLocalCatalog(configFile);
    for (let i = 0; i < n; i++) {
      const kind = ["hold", "export", "ptz-session"][i % 3];
      await local.audit.append({
        actor: `user:u${i % 5}`,
        action: `${kind}.create`,
        target: `${kind}:${i}`,
        outcome: "success",
      });
    }
    local.close();
    return configFile;
  }
  function tamper(configFile: string, sql: string): void {
    const db = new Database(join(configFile, "..", "catalog.db"));
    db.exec(`DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete; ${sql}`);
    db.close();
  }

  it("verify: exit 0 on an intact chain; exit 1 listing every edit, deletion and reorder, past the first", async () => {
    const c = await catalogWithEntries(30);
    const ok = await pscs(["audit", "verify", "-c", c]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^audit chain ok: 30 entries, head [0-9a-f]{16}…, matches its anchor/);
    for (const [sql, named] of [
      [
        "UPDATE audit_log SET details = '{\"x\":1}' WHERE seq = 17",
        ["entry 17: entry 17 content does not match its hash"],
      ],
      ["DELETE FROM audit_log WHERE seq = 9", ["entry 10: entry 9 missing before entry 10"]],
      ["DELETE FROM audit_log WHERE seq = 30", ["entry 30: entries 30-30 missing"]],
      [
        "UPDATE audit_log SET seq = -1 WHERE seq = 4; UPDATE audit_log SET seq = 4 WHERE seq = 5; UPDATE audit_log SET seq = 5 WHERE seq = -1",
        ["entry 4: entry 4 does not link to entry 3"],
      ],
      [
        "UPDATE audit_log SET actor = 'user:mallory' WHERE seq = 5; DELETE FROM audit_log WHERE seq IN (12, 13); UPDATE audit_log SET outcome = 'denied' WHERE seq = 22",
        [
          "entry 5: entry 5 content does not match its hash",
          "entry 14: entries 12-13 missing before entry 14",
          "entry 22: entry 22 content does not match its hash",
        ],
      ],
    ] as const) {
      const t = await catalogWithEntries(30);
      tamper(t, sql);
      const r = await pscs(["audit", "verify", "-c", t]);
      expect(r.code, sql).toBe(1);
      expect(r.stderr, sql).toMatch(
        /^pscs: audit chain broken: \d+ broken entr(y|ies) or gaps? among \d+ entries\n/,
      );
      for (const n of named) expect(r.stderr, sql).toContain(`\n  ${n}`);
    }
    // Three tampers, three reports and nothing else: each break is named once.
    const t = await catalogWithEntries(30);
    tamper(
      t,
      "UPDATE audit_log SET actor = 'user:mallory' WHERE seq = 5; DELETE FROM audit_log WHERE seq = 12; UPDATE audit_log SET outcome = 'denied' WHERE seq = 22",
    );
    const three = await pscs(["audit", "verify", "-c", t, "--json"]);
    expect(three.code).toBe(1);
    expect(JSON.parse(three.stdout)).toMatchObject({
      ok: false,
      breakCount: 3,
      breaks: [{ seq: 5 }, { seq: 13 }, { seq: 22 }],
    });
  }, 60_000);

  it("sample: four distinct items, the same four again from the printed seed, each with a checklist; the draw is audited", async () => {
    const c = await catalogWithEntries(24);
    const first = JSON.parse((await pscs(["audit", "sample", "--count", "4", "-c", c, "--json"])).stdout) as {
      seed: string;
      items: { target: string; checklist: string[] }[];
    };
    expect(new Set(first.items.map((i) => i.target)).size).toBe(4);
    const again = JSON.parse(
      (await pscs(["audit", "sample", "--count", "4", "--seed", first.seed, "-c", c, "--json"])).stdout,
    ) as typeof first;
    expect(again.items.map((i) => i.target)).toEqual(first.items.map((i) => i.target));
    const human = await pscs(["audit", "sample", "--seed", first.seed, "-c", c]);
    expect(human.stdout).toContain(`seed ${first.seed}`);
    expect(human.stdout).toMatch(/\[ \] /);
    const bad = await pscs(["audit", "sample", "--count", "many", "-c", c]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--count: expected a whole number 1-100, got 'many'/);
    const local = openLocalCatalog(c);
    const draws = await local.audit.list({ action: "audit.sample" });
    local.close();
    expect(draws).toHaveLength(3);
    expect(JSON.parse(draws[1]?.details ?? "{}")).toMatchObject({
      seed: first.seed,
      items: first.items.map((i) => i.target),
    });
  }, 60_000);

  it("export: CSV with a header, every entry and its hashes", async () => {
    const c = await catalogWithEntries(12);
    const r = await pscs(["audit", "export", "--action", "hold.", "-c", c]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\r\n");
    expect(lines[0]).toBe("seq,at,actor,role,action,target,outcome,client,details,prev_hash,hash");
    expect(
      lines
        .slice(1)
        .every((l) => /^\d+,20\d\d-.*,hold\.create,hold:\d+,success,.*,[0-9a-f]{64},[0-9a-f]{64}$/.test(l)),
    ).toBe(true);
    expect(lines).toHaveLength(1 + 4);
  });
});

describe("pscs health", () => {
  it("shows liveness and readiness, and the detail with an ops token; a clear error when nothing answers", async () => {
    const d = await daemonDir();
    const local = openLocalCatalog(d.configFile);
    const t = await local.auth.createToken(
      { name: "cli", role: "ops" },
      { actor: "local:test", role: "admin", client: "cli" },
    );
    local.close();
    const tokenFile = join(d.dir, "token");
    writeFileSync(tokenFile, `${t.secret}\n`);
    const daemon = await startInProcess(d);
    try {
      const r = await pscs(["health", "--url", daemon.url, "--token-file", tokenFile]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^pscsd \S+ at http:\/\/127\.0\.0\.1:\d+: alive, up \d+ s, ready\n/);
      expect(r.stdout).toMatch(/camera cam1 +(connecting|offline)/);
      expect(r.stdout).toMatch(/audit +\d+ entries, chain ok/);
      const j = JSON.parse((await pscs(["health", "--url", daemon.url, "--json"])).stdout) as {
        detail: unknown;
      };
      expect(j.detail).toBeNull();
    } finally {
      await daemon.stop();
    }
    const down = await pscs(["health", "--url", daemon.url]);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^pscs: pscsd at http:\/\/127\.0\.0\.1:\d+ is not answering: /);
  });
});
