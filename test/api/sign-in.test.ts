import http from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Pscsd } from "../../src/compose/daemon.js";
import { type Proc, startProc } from "../helpers/process.js";
import {
  client,
  daemonDir,
  type LocalCatalog,
  login,
  openLocalCatalog,
  PASSWORD,
  seedUsers,
  startInProcess,
} from "../helpers/pscsd.js";

const PSCSD = join(import.meta.dirname, "../../dist/src/bin/pscsd.js");

// Real HTTP against pscsd's real app, real catalog file and real scrypt.

const WRONG = "Wrong-Pass-1!";
type Answer = { status: number; headers: http.IncomingHttpHeaders; body: string; ms: number };

/** A sign-in from a chosen loopback address (127.0.0.0/8 is all loopback), timed to the answer. */
function signInFrom(
  url: string,
  username: string,
  password: string,
  localAddress = "127.0.0.1",
): Promise<Answer> {
  const data = JSON.stringify({ username, password });
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      new URL("/api/session", url),
      {
        method: "POST",
        localAddress,
        agent: false,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(data) },
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          body += c;
        });
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, ms: performance.now() - start }),
        );
      },
    );
    req.on("error", reject);
    req.end(data);
  });
}

const details = (e: { details: string }) => JSON.parse(e.details) as Record<string, unknown>;

describe("lockout over HTTP", () => {
  let daemon: Pscsd;
  let local: LocalCatalog;
  beforeAll(async () => {
    // A hash slow enough (about 50 ms here) that parallel attempts overlap, as with the default cost.
    const d = await daemonDir({
      scryptLogN: 14,
      lockoutAttempts: 5,
      throttle: { addressFailures: 1000, hashQueue: 64, stormAccounts: 2 },
    });
    local = openLocalCatalog(d.configFile);
    await seedUsers(local, {
      admin1: ["admin"],
      disp1: ["dispatcher"],
      disp2: ["dispatcher"],
      ops1: ["ops"],
    });
    daemon = await startInProcess(d);
  });
  afterAll(async () => {
    await daemon?.stop();
    local?.close();
  });

  it("39 parallel wrong passwords and the right one: at most 5 checks, never a 200 after the lock; an admin releases it", async () => {
    const before = await local.audit.headSeq();
    const answers = await Promise.all([
      ...Array.from({ length: 39 }, () => signInFrom(daemon.url, "disp1", WRONG)),
      signInFrom(daemon.url, "disp1", PASSWORD),
    ]);
    const logins = await local.audit.list({
      after: before,
      action: "auth.login",
      target: "user:disp1",
      limit: 1000,
    });
    // A password was checked for every success, every "bad password", and every refusal that says so.
    const checks = logins.filter(
      (e) =>
        e.outcome === "success" ||
        details(e).reason === "bad password" ||
        details(e).passwordChecked === true,
    );
    expect(checks.length).toBeLessThanOrEqual(5);
    const lockout = await local.audit.list({ after: before, action: "auth.lockout", target: "user:disp1" });
    expect(lockout).toHaveLength(1);
    for (const s of logins.filter((e) => e.outcome === "success"))
      expect(s.seq).toBeLessThan(lockout[0]?.seq ?? 0);
    expect(answers.filter((a) => a.status === 200).length).toBeLessThanOrEqual(1);
    expect(answers.every((a) => a.status === 200 || a.status === 401)).toBe(true);

    // Once locked, no password unlocks it...
    expect((await signInFrom(daemon.url, "disp1", PASSWORD)).status).toBe(401);
    // ...but an administrator may.
    const admin = await login(daemon.url, "admin1");
    const released = await admin.request("POST", "/api/users/disp1/unlock");
    expect(released.status).toBe(200);
    expect(((await released.json()) as { lockedUntil: number | null }).lockedUntil).toBeNull();
    expect((await signInFrom(daemon.url, "disp1", PASSWORD)).status).toBe(200);
    const unlock = await local.audit.list({ action: "user.unlock", target: "user:disp1" });
    expect(unlock.map((e) => [e.actor, details(e).wasLocked])).toEqual([["user:admin1", true]]);
  });

  it("raises the lockout-storm alert (metric and audit entry) when several accounts lock within the window", async () => {
    for (let i = 0; i < 5; i++) await signInFrom(daemon.url, "disp2", WRONG);
    const storm = await local.audit.list({ action: "auth.lockout.storm" });
    expect(storm).toHaveLength(1);
    expect(details(storm[0] as { details: string }).accounts).toEqual(["disp1", "disp2"]);
    const t = await local.auth.createToken(
      { name: "prom", role: "ops" },
      { actor: "local:test", role: "admin", client: "cli" },
    );
    const text = await (await client(daemon.url, { bearer: t.secret }).request("GET", "/metrics")).text();
    expect(text).toMatch(/^pscs_auth_lockout_storm 1$/m);
    expect(text).toMatch(/^pscs_auth_lockouts_total 2$/m);
  });
});

describe("failed sign-ins look alike", () => {
  let daemon: Pscsd;
  beforeAll(async () => {
    // A cost where a skipped hash would show (about 50 ms here); the default is 16.
    const d = await daemonDir({ scryptLogN: 14, lockoutAttempts: 3, throttle: { addressFailures: 10_000 } });
    const local = openLocalCatalog(d.configFile);
    await seedUsers(local, { known: ["ops"], gone: ["ops"], shut: ["ops"] });
    await local.auth.updateUser(
      "gone",
      { disabled: true },
      { actor: "local:test", role: "admin", client: "cli" },
    );
    local.close();
    daemon = await startInProcess(d);
    for (let i = 0; i < 3; i++) await signInFrom(daemon.url, "shut", WRONG);
  });
  afterAll(async () => {
    await daemon?.stop();
  });

  it("unknown, disabled, locked and wrong-password: same status and body, comparable time", async () => {
    const kinds: Record<string, [string, string]> = {
      unknown: ["nobody", WRONG],
      disabled: ["gone", PASSWORD],
      locked: ["shut", PASSWORD],
      wrong: ["known", WRONG],
    };
    const times: Record<string, number[]> = { unknown: [], disabled: [], locked: [], wrong: [] };
    const shapes = new Set<string>();
    for (let round = 0; round < 10; round++) {
      // Interleaved, so load on the machine falls on every kind alike; round 0 warms up.
      for (const [kind, [username, password]] of Object.entries(kinds)) {
        const a = await signInFrom(daemon.url, username, password);
        const { requestId: _, ...body } = JSON.parse(a.body) as Record<string, unknown>;
        shapes.add(JSON.stringify({ status: a.status, type: a.headers["content-type"], body }));
        if (round > 0) times[kind]?.push(a.ms);
      }
    }
    expect([...shapes]).toHaveLength(1);
    expect(JSON.parse([...shapes][0] as string)).toMatchObject({ status: 401 });
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    const medians = Object.values(times).map(median);
    expect(Math.max(...medians) / Math.min(...medians), JSON.stringify(times)).toBeLessThan(3);
  });
});

describe("sign-in flood", () => {
  // The built daemon in its own process, so the flood's clients do not share its event loop.
  let proc: Proc;
  const daemon = { url: "" };
  beforeAll(async () => {
    // The production cost (0.2 s a hash here): 100 of them would hold libuv's four threads for seconds.
    const d = await daemonDir({ scryptLogN: 16 });
    proc = startProc(process.execPath, [PSCSD, "--config", d.configFile]);
    await proc.waitForLine(/"msg":"pscsd started"/, 15_000);
    daemon.url = `http://127.0.0.1:${d.httpPort}`;
  });
  afterAll(async () => {
    await proc?.stop();
  });

  it("100 parallel sign-ins from 100 addresses: /readyz stays under 1 s; past the hashing bound, 429 with Retry-After", async () => {
    expect((await fetch(`${daemon.url}/readyz`)).status).toBe(200);
    // A daemon in service has answered sign-ins before: its first one loads code (body parsing's
    // charset tables, the decoy hash), which is not what this measures.
    expect((await signInFrom(daemon.url, "warm-up", WRONG, "127.0.1.250")).status).toBe(401);
    const flood = Promise.all(
      Array.from({ length: 100 }, (_, i) => signInFrom(daemon.url, `nobody${i}`, WRONG, `127.0.1.${i + 1}`)),
    );
    let done = false;
    void flood.finally(() => {
      done = true;
    });
    const ready: number[] = [];
    await new Promise((r) => setTimeout(r, 50)); // the flood is in
    while (!done || ready.length < 3) {
      const start = performance.now();
      const res = await fetch(`${daemon.url}/readyz`);
      ready.push(performance.now() - start);
      expect(res.status).toBe(200);
      if (ready.length >= 20) break;
    }
    const answers = await flood;
    expect(Math.max(...ready), JSON.stringify(ready)).toBeLessThan(1000);
    const busy = answers.filter((a) => a.status === 429);
    expect(busy.length).toBeGreaterThan(0);
    // Not all 100 are in before the first hash ends, so a few more than 2 running + 32 waiting can be
    // checked; most cannot.
    expect(answers.filter((a) => a.status === 401).length).toBeLessThan(60);
    expect(answers.every((a) => a.status === 401 || a.status === 429)).toBe(true);
    for (const a of busy) {
      expect(Number(a.headers["retry-after"])).toBeGreaterThanOrEqual(1);
      expect(a.headers["content-type"]).toMatch(/problem\+json/);
    }
  });

  it("one address: 429 with Retry-After once its failures reach the budget, however many run in parallel", async () => {
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => signInFrom(daemon.url, `nobody${i}`, WRONG, "127.0.2.1")),
    );
    expect(answers.filter((a) => a.status === 401)).toHaveLength(10);
    const throttled = answers.filter((a) => a.status === 429);
    expect(throttled).toHaveLength(20);
    // While the budget is held by attempts still being checked, soon; once they failed, when the
    // oldest failure leaves the 10-minute window.
    expect(Number(throttled[0]?.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    const later = await signInFrom(daemon.url, "nobody", WRONG, "127.0.2.1");
    expect(later.status).toBe(429);
    expect(Number(later.headers["retry-after"])).toBeGreaterThan(590);
    // Another address is not held back by this one.
    expect((await signInFrom(daemon.url, "nobody", WRONG, "127.0.2.2")).status).toBe(401);
  });
});

describe("separation of duties over HTTP", () => {
  let daemon: Pscsd;
  let local: LocalCatalog;
  beforeAll(async () => {
    const d = await daemonDir();
    local = openLocalCatalog(d.configFile);
    await seedUsers(local, { admin1: ["admin"], admin2: ["admin"] });
    daemon = await startInProcess(d);
  });
  afterAll(async () => {
    await daemon?.stop();
    local?.close();
  });

  it("an admin cannot give itself roles, disable, unlock or reset itself; another admin can", async () => {
    const a1 = await login(daemon.url, "admin1");
    const grab = await a1.request("PATCH", "/api/users/admin1", { roles: ["admin", "records", "commander"] });
    expect(grab.status).toBe(403);
    const problem = (await grab.json()) as { detail: string; errors?: { field: string }[] };
    expect(problem.detail).toMatch(/own account/);
    expect(problem.errors?.[0]?.field).toBe("body.roles");
    expect((await a1.request("PATCH", "/api/users/admin1", { disabled: true })).status).toBe(403);
    expect((await a1.request("POST", "/api/users/admin1/unlock")).status).toBe(403);
    expect(
      (await a1.request("POST", "/api/users/admin1/password", { password: "Other-Passw0rd!" })).status,
    ).toBe(403);
    expect((await local.auth.publicUser("admin1")).roles).toEqual(["admin"]);
    const a2 = await login(daemon.url, "admin2");
    const given = await a2.request("PATCH", "/api/users/admin1", { roles: ["admin", "records"] });
    expect(given.status).toBe(200);
    const refused = await local.audit.list({ target: "user:admin1", outcome: "failure", limit: 100 });
    expect(refused.map((e) => [e.actor, e.action, details(e).reason])).toEqual([
      ["user:admin1", "user.update", "own account: change the roles"],
      ["user:admin1", "user.disable", "own account: disable"],
      ["user:admin1", "user.unlock", "own account: unlock"],
      ["user:admin1", "user.password.reset", "own account: reset the password"],
    ]);
  });
});
