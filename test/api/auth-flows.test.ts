import { createHash } from "node:crypto";
import http from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type Proc, startProc } from "../helpers/process.js";
import {
  type Client,
  client,
  daemonDir,
  type LocalCatalog,
  login,
  openLocalCatalog,
  PASSWORD,
  seedUsers,
} from "../helpers/pscsd.js";

// Against the built daemon in its own process, as a browser or a monitoring system meets it.
const PSCSD = join(import.meta.dirname, "../../dist/src/bin/pscsd.js");
const IDLE_S = 6;
const LOCKOUT_S = 3;

let proc: Proc;
let url: string;
let local: LocalCatalog;
let admin: Client;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
type Problem = {
  status: number;
  detail: string;
  errors?: { field: string; message: string }[];
  problems?: string[];
};

beforeAll(async () => {
  // Request lines are written at debug: the secrets check below reads them.
  const d = await daemonDir(
    {
      sessionIdleMinutes: IDLE_S / 60,
      lockoutMinutes: LOCKOUT_S / 60,
      lockoutAttempts: 5,
      // These tests sign in wrongly from one address more often than a person would.
      throttle: { addressFailures: 100 },
    },
    { log: { level: "debug" }, site: { name: "Norwich PD", timezone: "America/Chicago" } },
  );
  local = openLocalCatalog(d.configFile);
  await seedUsers(local, { admin1: ["admin"], ops1: ["ops"], aud1: ["auditor"], disp1: ["dispatcher"] });
  proc = startProc(process.execPath, [PSCSD, "--config", d.configFile]);
  await proc.waitForLine(/"msg":"pscsd started"/, 15_000);
  url = `http://127.0.0.1:${d.httpPort}`;
});

// Fresh each time: the idle-timeout test leaves every older session expired.
beforeEach(async () => {
  admin = await login(url, "admin1");
});

afterAll(async () => {
  await proc?.stop();
  local?.close();
});

describe("password policy (POST /api/users)", () => {
  const cases: [string, string][] = [
    ["Sh0rt!pw", "must be at least 9 characters"],
    ["alllower-case-1!", "must contain an upper-case letter"],
    ["ALLUPPER-CASE-1!", "must contain a lower-case letter"],
    ["No-Digits-Here!", "must contain a digit"],
    ["NoSymbols12345", "must contain a symbol"],
    ["Xx-newbie-99!", "must not contain the user name"],
  ];
  for (const [password, problem] of cases) {
    it(`refuses '${password}': ${problem}`, async () => {
      const res = await admin.request("POST", "/api/users", {
        username: "newbie",
        displayName: "N",
        roles: ["ops"],
        password,
      });
      expect(res.status).toBe(400);
      expect(res.headers.get("content-type")).toMatch(/problem\+json/);
      const body = (await res.json()) as Problem;
      expect(body.errors?.[0]?.field).toBe("body.password");
      expect(body.problems).toContain(problem);
      expect(body.problems).toHaveLength(1);
    });
  }
  it("accepts a compliant password, and the new user must change it first", async () => {
    const res = await admin.request("POST", "/api/users", {
      username: "newbie",
      displayName: "New Bie",
      roles: ["ops"],
      password: "Temp-Pass-2026!",
    });
    expect(res.status).toBe(201);
    const n = await login(url, "newbie", "Temp-Pass-2026!");
    const blocked = await n.request("GET", "/api/cameras");
    expect(blocked.status).toBe(403);
    expect(((await blocked.json()) as Problem).detail).toMatch(/password change required/);
    const changed = await n.request("PUT", "/api/session/password", {
      currentPassword: "Temp-Pass-2026!",
      newPassword: "Own-Pass-2026?",
    });
    expect(changed.status).toBe(204);
    expect((await n.request("GET", "/api/cameras")).status).toBe(200);
  });
});

describe("lockout", () => {
  it("locks after 5 failures (even the right password is refused), audits each, unlocks after the configured time", async () => {
    const before = await local.audit.headSeq();
    for (let i = 0; i < 5; i++) {
      const r = await client(url).request("POST", "/api/session", {
        username: "disp1",
        password: "Wrong-Pass-1!",
      });
      expect(r.status).toBe(401);
    }
    const locked = await client(url).request("POST", "/api/session", {
      username: "disp1",
      password: PASSWORD,
    });
    // Answered like any failed sign-in; the reason is in the audit log.
    expect(locked.status).toBe(401);
    expect(((await locked.json()) as Problem).detail).toMatch(/^sign-in failed: wrong user name or password/);
    const entries = await local.audit.list({ after: before, target: "user:disp1" });
    expect(entries.filter((e) => e.action === "auth.login" && e.outcome === "failure")).toHaveLength(6);
    expect(entries.filter((e) => e.action === "auth.lockout")).toHaveLength(1);
    await sleep(LOCKOUT_S * 1000 + 300);
    await login(url, "disp1");
  });
  it("does not say whether a user name exists", async () => {
    const unknown = await client(url).request("POST", "/api/session", {
      username: "nobody",
      password: "Wrong-Pass-1!",
    });
    const known = await client(url).request("POST", "/api/session", {
      username: "ops1",
      password: "Wrong-Pass-1!",
    });
    expect(unknown.status).toBe(401);
    expect(known.status).toBe(401);
    expect(((await unknown.json()) as Problem).detail).toBe(((await known.json()) as Problem).detail);
  });
});

describe("sessions", () => {
  it("ends a session idle longer than the timeout, and audits why", async () => {
    const c = await login(url, "ops1");
    // Activity inside the window keeps it alive...
    for (let i = 0; i < 3; i++) {
      await sleep((IDLE_S * 1000) / 3);
      expect((await c.request("GET", "/api/session")).status).toBe(200);
    }
    // ...inactivity past it does not.
    await sleep(IDLE_S * 1000 + 500);
    expect((await c.request("GET", "/api/session")).status).toBe(401);
    const expired = await local.audit.list({ action: "auth.session.expired", target: "user:ops1" });
    expect(JSON.parse(expired.at(-1)?.details ?? "{}")).toEqual({ reason: "idle" });
  }, 40_000);

  it("tells the caller the site's name and zone, in which the browser shows and takes every time", async () => {
    const site = { name: "Norwich PD", timezone: "America/Chicago" };
    const signIn = await client(url).request("POST", "/api/session", {
      username: "aud1",
      password: PASSWORD,
    });
    expect(((await signIn.json()) as { site: unknown }).site).toEqual(site);
    const c = await login(url, "ops1");
    const me = (await (await c.request("GET", "/api/session")).json()) as { username: string; site: unknown };
    expect(me).toMatchObject({ username: "ops1", site });
  });

  it("logout ends the session", async () => {
    const c = await login(url, "ops1");
    expect((await c.request("DELETE", "/api/session")).status).toBe(204);
    expect((await c.request("GET", "/api/session")).status).toBe(401);
  });

  it("sets the session cookie HttpOnly, SameSite=Strict", async () => {
    const res = await client(url).request("POST", "/api/session", { username: "aud1", password: PASSWORD });
    expect(res.headers.get("set-cookie")).toMatch(
      /pscs_session=[\w-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+; Secure/,
    );
  });
});

describe("CSRF", () => {
  it("refuses a cookie-authenticated write without the token or with a wrong one, and audits it", async () => {
    const c = await login(url, "admin1");
    const body = { name: "csrf test", role: "ops" };
    const none = await client(url).request("POST", "/api/tokens", body, { cookie: c.cookie as string });
    expect(none.status).toBe(403);
    expect(((await none.json()) as Problem).detail).toMatch(/X-CSRF-Token/);
    const wrong = await client(url).request("POST", "/api/tokens", body, {
      cookie: c.cookie as string,
      "x-csrf-token": `${(c.csrf as string).slice(0, -1)}x`,
    });
    expect(wrong.status).toBe(403);
    expect((await c.request("POST", "/api/tokens", body)).status).toBe(201);
    const denied = await local.audit.list({ action: "http.denied", actor: "user:admin1" });
    expect(denied.filter((e) => JSON.parse(e.details).reason === "csrf token missing or wrong")).toHaveLength(
      2,
    );
  });
  it("is stored only as its SHA-256, like the session id", async () => {
    const c = await login(url, "aud1");
    const rows = local.db.prepare("SELECT csrf_token FROM sessions").all() as { csrf_token: string }[];
    const stored = rows.map((r) => r.csrf_token);
    expect(stored).not.toContain(c.csrf);
    expect(stored).toContain(
      createHash("sha256")
        .update(c.csrf as string)
        .digest("hex"),
    );
  });
  it("does not ask bearer-token clients for one (no cookie, no cross-site risk)", async () => {
    const made = (await (
      await admin.request("POST", "/api/tokens", { name: "aud", role: "auditor" })
    ).json()) as { secret: string };
    const res = await client(url, { bearer: made.secret }).request("POST", "/api/audit/sample", { count: 4 });
    expect(res.status).toBe(200);
  });
});

describe("machine tokens", () => {
  it("work until revoked, then never again; use and refusal are audited", async () => {
    const made = (await (
      await admin.request("POST", "/api/tokens", { name: "prometheus", role: "ops" })
    ).json()) as {
      token: { id: string };
      secret: string;
    };
    const m = client(url, { bearer: made.secret });
    expect((await m.request("GET", "/metrics")).status).toBe(200);
    expect((await m.request("GET", "/api/users")).status).toBe(403);
    expect((await admin.request("DELETE", `/api/tokens/${made.token.id}`)).status).toBe(200);
    const after = await m.request("GET", "/metrics");
    expect(after.status).toBe(401);
    expect(((await after.json()) as Problem).detail).toMatch(/revoked/);
    const uses = await local.audit.list({ action: "token.use", target: `token:${made.token.id}` });
    expect(uses.map((e) => e.outcome)).toEqual(["success", "failure"]);
    expect(JSON.parse(uses[1]?.details ?? "{}")).toEqual({ reason: "revoked" });
  });
  it("made-up tokens cannot grow the audit log: one entry a minute per address, the real token's refusals apart", async () => {
    const refused = async () => (await local.audit.list({ action: "token.use", outcome: "failure" })).length;
    const before = await refused();
    // Each a different made-up id: the id is the sender's choice, the address is not. Sent through
    // an agent of 32 sockets: one address may hold http.maxConnectionsPerAddress (64) at once, and
    // fetch's pool opens new sockets instead of waiting for busy ones under load.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
    const statusOf = (bearer: string) =>
      new Promise<number>((resolve, reject) => {
        const req = http.get(
          new URL("/metrics", url),
          { agent, headers: { authorization: `Bearer ${bearer}` } },
          (res) => {
            res.resume();
            res.on("end", () => resolve(res.statusCode ?? 0));
          },
        );
        req.on("error", reject);
      });
    const statuses = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        statusOf(`pscs_t_${i.toString(16).padStart(12, "0")}_${"s".repeat(43)}`),
      ),
    );
    agent.destroy();
    expect(statuses.filter((s) => s !== 401)).toEqual([]);
    expect((await refused()) - before).toBeLessThanOrEqual(1);
    // A revoked token is still named the first time it comes back.
    const made = (await (
      await admin.request("POST", "/api/tokens", { name: "old", role: "ops" })
    ).json()) as {
      token: { id: string };
      secret: string;
    };
    expect((await admin.request("DELETE", `/api/tokens/${made.token.id}`)).status).toBe(200);
    for (let i = 0; i < 3; i++)
      expect((await client(url, { bearer: made.secret }).request("GET", "/metrics")).status).toBe(401);
    const revoked = await local.audit.list({
      action: "token.use",
      outcome: "failure",
      target: `token:${made.token.id}`,
    });
    expect(revoked).toHaveLength(1);
  });
  it("cannot be made for a video role", async () => {
    const res = await admin.request("POST", "/api/tokens", { name: "x", role: "dispatcher" });
    expect(res.status).toBe(400);
    expect(((await res.json()) as Problem).errors?.[0]?.field).toBe("body.role");
  });
});

describe("accounts", () => {
  it("refuses a display name of spaces alone naming the field, and keeps one as sent", async () => {
    const blank = await admin.request("PATCH", "/api/users/aud1", { displayName: "   " });
    expect(blank.status).toBe(400);
    expect(((await blank.json()) as Problem).errors?.[0]).toMatchObject({
      field: "body.displayName",
      message: "expected a name: 1 to 100 characters",
    });
    const named = await admin.request("PATCH", "/api/users/aud1", { displayName: "A. Auditor" });
    expect(named.status).toBe(200);
    expect(((await named.json()) as { displayName: string }).displayName).toBe("A. Auditor");
  });

  it("a disabled user cannot sign in and loses open sessions; nobody disables themselves", async () => {
    const c = await login(url, "aud1");
    expect((await admin.request("PATCH", "/api/users/aud1", { disabled: true })).status).toBe(200);
    expect((await c.request("GET", "/api/session")).status).toBe(401);
    const again = await client(url).request("POST", "/api/session", { username: "aud1", password: PASSWORD });
    expect(again.status).toBe(401);
    const self = await admin.request("PATCH", "/api/users/admin1", { disabled: true });
    expect(self.status).toBe(403);
    expect(((await self.json()) as Problem).detail).toMatch(/own account/);
    const roles = await local.audit.list({ action: "user.disable", target: "user:aud1" });
    expect(roles).toHaveLength(1);
    expect(roles[0]?.actor).toBe("user:admin1");
    expect(roles[0]?.role).toBe("admin");
  });

  it("never writes a password, session id or token secret to the log", async () => {
    const made = (await (
      await admin.request("POST", "/api/tokens", { name: "log check", role: "ops" })
    ).json()) as { secret: string };
    await client(url, { bearer: made.secret }).request("GET", "/api/health");
    const out = proc.lines.join("\n");
    expect(out).toContain('"msg":"request completed"');
    for (const secret of [
      PASSWORD,
      "Temp-Pass-2026!",
      made.secret,
      (admin.cookie as string).split("=")[1] as string,
    ]) {
      expect(out).not.toContain(secret);
    }
  });
});

describe("last sign-in (GET /api/users)", () => {
  const lastSignIn = async (username: string) =>
    ((await (await admin.request("GET", `/api/users/${username}`)).json()) as { lastSignInAt: number | null })
      .lastSignInAt;

  it("is null until the first sign-in, then its time; a refused sign-in leaves it, even with the right password", async () => {
    const made = await admin.request("POST", "/api/users", {
      username: "last1",
      displayName: "L. Ast",
      roles: ["ops"],
      password: "Temp-Pass-2026!",
    });
    expect(made.status).toBe(201);
    expect(((await made.json()) as { lastSignInAt: unknown }).lastSignInAt).toBeNull();
    expect(await lastSignIn("last1")).toBeNull();

    const before = Date.now();
    await login(url, "last1", "Temp-Pass-2026!");
    const after = Date.now();
    const at = await lastSignIn("last1");
    expect(at).toBeGreaterThanOrEqual(before);
    expect(at).toBeLessThanOrEqual(after);
    const listed = (await (await admin.request("GET", "/api/users")).json()) as {
      users: { username: string; lastSignInAt: number | null }[];
    };
    expect(listed.users.find((u) => u.username === "last1")?.lastSignInAt).toBe(at);

    await sleep(5);
    const wrong = { username: "last1", password: "Wrong-Pass-1!" };
    expect((await client(url).request("POST", "/api/session", wrong)).status).toBe(401);
    expect(await lastSignIn("last1")).toBe(at);
    expect((await admin.request("PATCH", "/api/users/last1", { disabled: true })).status).toBe(200);
    const right = { username: "last1", password: "Temp-Pass-2026!" };
    expect((await client(url).request("POST", "/api/session", right)).status).toBe(401);
    expect(await lastSignIn("last1")).toBe(at);
  });
});
