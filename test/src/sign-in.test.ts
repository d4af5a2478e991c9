import { describe, expect, it } from "vitest";
import { HashPool, HashPoolFull } from "../../src/auth/hash-pool.js";
import { SIGN_IN_FAILED } from "../../src/auth/sign-in.js";
import { addressKey } from "../../src/auth/throttle.js";
import { ServiceError } from "../../src/errors/service-error.js";
import { addUsers, authService, CONSOLE, GOOD_PASSWORD } from "../helpers/auth.js";

const WRONG = "Wrong-Pass-1!";

/** The refusal a login ends in (undefined when it signed in). */
async function outcome(p: Promise<unknown>): Promise<ServiceError | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    if (e instanceof ServiceError) return e;
    throw e;
  }
}

function details(e: { details: string }): Record<string, unknown> {
  return JSON.parse(e.details) as Record<string, unknown>;
}

describe("lockout (AuthService.login)", () => {
  it("counts each attempt before its check: a parallel burst checks at most lockoutAttempts passwords and never signs in after the lock", async () => {
    const now = { t: 1_000_000 };
    const { auth, audit } = authService(now);
    await addUsers(auth, { jdoe: ["records"] });
    // Distinct addresses, so only the account's own lockout stands in the way.
    const burst = [
      ...Array.from({ length: 39 }, (_, i) => auth.login("jdoe", WRONG, `10.0.0.${i}`)),
      auth.login("jdoe", GOOD_PASSWORD, "10.0.1.1"),
    ].map(outcome);
    const results = await Promise.all(burst);
    const logins = await audit.list({ action: "auth.login", target: "user:jdoe", limit: 1000 });
    // A password was checked for every success, every "bad password", and every refusal that says so.
    const checked = logins.filter(
      (e) =>
        e.outcome === "success" ||
        details(e).reason === "bad password" ||
        details(e).passwordChecked === true,
    );
    expect(checked.length).toBeLessThanOrEqual(5);
    const lockout = await audit.list({ action: "auth.lockout", target: "user:jdoe" });
    expect(lockout).toHaveLength(1);
    // A success, if any, came before the lock; nothing after it signed in.
    for (const s of logins.filter((e) => e.outcome === "success"))
      expect(s.seq).toBeLessThan(lockout[0]?.seq ?? 0);
    expect(results.filter((r) => r === undefined).length).toBeLessThanOrEqual(1);
    // Locked: even the right password is refused, alike.
    const after = await outcome(auth.login("jdoe", GOOD_PASSWORD, "10.0.2.1"));
    expect(after?.kind).toBe("unauthenticated");
    expect(after?.message).toBe(SIGN_IN_FAILED);
  });

  it("stays locked for the right password until the lock expires, or an admin releases it", async () => {
    const now = { t: 1_000_000 };
    const { auth } = authService(now);
    await addUsers(auth, { jdoe: ["records"] });
    for (let i = 0; i < 5; i++) await outcome(auth.login("jdoe", WRONG, `10.0.0.${i}`));
    expect(await outcome(auth.login("jdoe", GOOD_PASSWORD, "10.0.1.1"))).toBeDefined();
    now.t += 15 * 60_000 - 1;
    expect(await outcome(auth.login("jdoe", GOOD_PASSWORD, "10.0.1.2"))).toBeDefined();
    now.t += 1;
    expect(await outcome(auth.login("jdoe", GOOD_PASSWORD, "10.0.1.3"))).toBeUndefined();

    for (let i = 0; i < 5; i++) await outcome(auth.login("jdoe", WRONG, `10.0.2.${i}`));
    expect(await outcome(auth.login("jdoe", GOOD_PASSWORD, "10.0.3.1"))).toBeDefined();
    expect((await auth.unlockUser("jdoe", CONSOLE)).lockedUntil).toBeNull();
    expect(await outcome(auth.login("jdoe", GOOD_PASSWORD, "10.0.3.2"))).toBeUndefined();
  });

  it("answers unknown, disabled, locked and wrong-password sign-ins alike, and audits the real reason", async () => {
    const now = { t: 1_000_000 };
    const { auth, audit } = authService(now, { addressFailures: 100 });
    await addUsers(auth, { known: ["ops"], gone: ["ops"], shut: ["ops"] });
    await auth.updateUser("gone", { disabled: true }, CONSOLE);
    for (let i = 0; i < 5; i++) await outcome(auth.login("shut", WRONG, "c"));
    const refusals = [
      await outcome(auth.login("nobody", WRONG, "c")),
      await outcome(auth.login("gone", GOOD_PASSWORD, "c")),
      await outcome(auth.login("shut", GOOD_PASSWORD, "c")),
      await outcome(auth.login("known", WRONG, "c")),
    ];
    expect(refusals.map((r) => [r?.kind, r?.message, r?.extra])).toEqual(
      Array(4).fill(["unauthenticated", SIGN_IN_FAILED, undefined]),
    );
    const reasons = (await audit.list({ action: "auth.login", order: "desc", limit: 4 }))
      .reverse()
      .map((e) => [e.target, details(e).reason]);
    expect(reasons).toEqual([
      ["user:nobody", "unknown user"],
      ["user:gone", "disabled"],
      ["user:shut", "locked"],
      ["user:known", "bad password"],
    ]);
  });
});

describe("per-address throttle", () => {
  it("refuses an address past its failure budget (429 with a wait) before it can lock more than a few accounts", async () => {
    const now = { t: 1_000_000 };
    const { auth, audit } = authService(now, { addressFailures: 10, windowMinutes: 10 });
    const names = ["ua", "ub", "uc", "ud", "ue", "uf"];
    await addUsers(auth, Object.fromEntries(names.map((n) => [n, ["ops"]])));
    // Parallel, so the budget must hold for attempts still being checked.
    const results = await Promise.all(
      names.flatMap((n) => Array.from({ length: 5 }, () => outcome(auth.login(n, WRONG, "10.9.9.9")))),
    );
    const throttled = results.filter((r) => r?.kind === "throttled");
    expect(throttled).toHaveLength(20);
    expect(throttled[0]?.extra?.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(await audit.list({ action: "auth.login", limit: 1000 })).toHaveLength(10);
    expect((await auth.listUsers()).filter((u) => u.lockedUntil !== null).length).toBeLessThanOrEqual(2);
    // Audited once for the episode, not once per refused request.
    expect(await audit.list({ action: "auth.throttle" })).toHaveLength(1);
    // A right password from the same address is refused too: a valid account does not refill the budget.
    expect((await outcome(auth.login("uf", GOOD_PASSWORD, "10.9.9.9")))?.kind).toBe("throttled");
    expect(await outcome(auth.login("uf", GOOD_PASSWORD, "10.9.9.8"))).toBeUndefined();
    now.t += 10 * 60_000;
    expect(await outcome(auth.login("uf", GOOD_PASSWORD, "10.9.9.9"))).toBeUndefined();
  });

  it("answers 'busy' (throttled) rather than queue hashes past the bound", async () => {
    const now = { t: 1_000_000 };
    const { auth } = authService(now, { hashConcurrency: 1, hashQueue: 3, addressFailures: 1000 });
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => outcome(auth.login(`nobody${i}`, WRONG, "c"))),
    );
    expect(results.filter((r) => r?.kind === "throttled")).toHaveLength(6);
    expect(results.filter((r) => r?.kind === "unauthenticated")).toHaveLength(4);
  });
});

describe("addressKey", () => {
  it("keys IPv4 (also IPv4-mapped) by address and IPv6 by its /64", () => {
    expect(addressKey("10.1.2.3")).toBe("10.1.2.3");
    expect(addressKey("::ffff:10.1.2.3")).toBe("10.1.2.3");
    expect(addressKey("2001:db8:0:12:aaaa::1")).toBe("2001:db8:0:12::/64");
    expect(addressKey("2001:DB8:0000:0012:ffff:1:2:3")).toBe("2001:db8:0:12::/64");
    expect(addressKey("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(addressKey("::1")).toBe("0:0:0:0::/64");
    expect(addressKey("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
    expect(addressKey("cli")).toBe("cli");
  });
  it("gives one /64 one budget", async () => {
    const now = { t: 1_000_000 };
    const { auth } = authService(now, { addressFailures: 3 });
    for (let i = 1; i <= 3; i++) await outcome(auth.login("nobody", WRONG, `2001:db8:0:12::${i}`));
    expect((await outcome(auth.login("nobody", WRONG, "2001:db8:0:12:ffff::9")))?.kind).toBe("throttled");
    expect((await outcome(auth.login("nobody", WRONG, "2001:db8:0:13::1")))?.kind).toBe("unauthenticated");
  });
});

describe("lockout storm", () => {
  it("raises one alert (audit entry, state for the metric) when many accounts are locked within the window", async () => {
    const now = { t: 1_000_000 };
    const { auth, audit } = authService(now, { stormAccounts: 3, windowMinutes: 10 });
    await addUsers(auth, { sa: ["ops"], sb: ["ops"], sc: ["ops"], sd: ["ops"] });
    const lock = async (n: string) => {
      for (let i = 0; i < 5; i++) await outcome(auth.login(n, WRONG, `10.1.${n.charCodeAt(1)}.${i}`));
    };
    await lock("sa");
    await lock("sb");
    expect(auth.lockoutState()).toEqual({ lockouts: 2, storm: false });
    await lock("sc");
    await lock("sd");
    expect(auth.lockoutState()).toEqual({ lockouts: 4, storm: true });
    const storm = await audit.list({ action: "auth.lockout.storm" });
    expect(storm).toHaveLength(1);
    expect(details(storm[0] as { details: string }).accounts).toEqual(["sa", "sb", "sc"]);
    now.t += 10 * 60_000 + 1;
    expect(auth.lockoutState()).toEqual({ lockouts: 4, storm: false });
  });
});

describe("HashPool", () => {
  it("runs at most `concurrency` jobs, queues at most `queue`, and refuses the rest at once", async () => {
    const pool = new HashPool(2, 3);
    let running = 0;
    let most = 0;
    const job = async () => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 10));
      running--;
      return 1;
    };
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => pool.run(job)));
    expect(most).toBe(2);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(5);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(refused.map((r) => r.reason instanceof HashPoolFull)).toEqual([true, true, true]);
    expect(pool.busy).toEqual({ running: 0, waiting: 0 });
  });
});
