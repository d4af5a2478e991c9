import { describe, expect, it } from "vitest";
import { hashPassword, verifyPassword } from "../../src/auth/password.js";
import { passwordProblems } from "../../src/auth/password-rules.js";
import { authService as service } from "../helpers/auth.js";

const ctx = { actor: "local:test", role: "admin", client: "cli" };

describe("password policy", () => {
  it("accepts 9+ characters with upper, lower, digit and symbol, not containing the user name", () => {
    expect(passwordProblems("jdoe", "Abcdefg1!")).toEqual([]);
    expect(passwordProblems("jdoe", "Ábcdéfg1€")).toEqual([]); // letters and symbols beyond ASCII count
    expect(passwordProblems("jdoe", "Abcdef1!")).toEqual(["must be at least 9 characters"]);
    expect(passwordProblems("jdoe", "xJDOEx-1a")).toEqual(["must not contain the user name"]);
    expect(passwordProblems("jdoe", "abc def 12")).toEqual([
      "must contain an upper-case letter",
      "must contain a symbol",
    ]);
  });
  it("hashes with scrypt and a fresh salt; verifies only the right password; rejects a garbled hash", async () => {
    const a = await hashPassword("Abcdefg1!", 10);
    const b = await hashPassword("Abcdefg1!", 10);
    expect(a).toMatch(/^scrypt\$10\$8\$1\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword("Abcdefg1!", a)).toBe(true);
    expect(await verifyPassword("Abcdefg1?", a)).toBe(false);
    expect(await verifyPassword("Abcdefg1!", a.replace("scrypt$10", "scrypt$40"))).toBe(false);
    expect(await verifyPassword("Abcdefg1!", "plain")).toBe(false);
  });
});

describe("sessions", () => {
  it("expire after the idle timeout, and after the absolute lifetime however active", async () => {
    const now = { t: 1_000_000 };
    const { auth } = service(now);
    await auth.addUser(
      {
        username: "jdoe",
        displayName: "J",
        roles: ["ops"],
        password: "Abcdefg1!",
        mustChangePassword: false,
      },
      ctx,
    );
    const idle = await auth.login("jdoe", "Abcdefg1!", "1.2.3.4");
    now.t += 29 * 60_000;
    expect((await auth.authenticateSession(idle.sessionId, "1.2.3.4"))?.username).toBe("jdoe");
    now.t += 30 * 60_000 + 1;
    expect(await auth.authenticateSession(idle.sessionId, "1.2.3.4")).toBeUndefined();

    const busy = await auth.login("jdoe", "Abcdefg1!", "1.2.3.4");
    const start = now.t;
    while (now.t - start < 12 * 3_600_000 - 20 * 60_000) {
      now.t += 20 * 60_000; // active every 20 minutes, never idle
      expect(await auth.authenticateSession(busy.sessionId, "1.2.3.4")).toBeDefined();
    }
    now.t = start + 12 * 3_600_000;
    expect(await auth.authenticateSession(busy.sessionId, "1.2.3.4")).toBeUndefined();

    // A screen polling on its own is answered but keeps nobody signed in: idle is idle.
    const polled = await auth.login("jdoe", "Abcdefg1!", "1.2.3.4");
    for (let m = 0; m < 25; m += 5) {
      now.t += 5 * 60_000;
      expect(await auth.authenticateSession(polled.sessionId, "1.2.3.4", { presence: false })).toBeDefined();
    }
    now.t += 5 * 60_000 + 1;
    expect(await auth.authenticateSession(polled.sessionId, "1.2.3.4", { presence: false })).toBeUndefined();
  });
});

describe("tokens", () => {
  it("authenticate only with the exact secret, until revoked or expired", async () => {
    const now = { t: 5_000_000 };
    const { auth } = service(now);
    const { token, secret } = await auth.createToken({ name: "scraper", role: "ops", expiresInDays: 1 }, ctx);
    expect(secret).toMatch(/^pscs_t_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect((await auth.authenticateToken(secret, "c"))?.roles).toEqual(["ops"]);
    expect(
      await auth.authenticateToken(`${secret.slice(0, -1)}${secret.endsWith("A") ? "B" : "A"}`, "c"),
    ).toBeUndefined();
    expect(await auth.authenticateToken(`pscs_t_000000000000_${"A".repeat(43)}`, "c")).toBeUndefined();
    now.t += 86_400_000;
    expect(await auth.authenticateToken(secret, "c")).toBeUndefined();
    const other = await auth.createToken({ name: "b", role: "auditor" }, ctx);
    await auth.revokeToken(other.token.id, ctx);
    expect(await auth.authenticateToken(other.secret, "c")).toBeUndefined();
    await expect(auth.revokeToken(other.token.id, ctx)).rejects.toThrow(/already revoked/);
    expect((await auth.listTokens()).find((t) => t.id === token.id)?.revokedAt).toBeNull();
  });
});

describe("refused tokens in the audit log", () => {
  it("one entry per address a minute; the next one counts the refusals not written", async () => {
    const now = { t: 1_000_000 };
    const { auth, audit } = service(now);
    let n = 0;
    // Well-formed, so each names an id (its own): the id is the sender's choice.
    const made = () => `pscs_t_${(n++).toString(16).padStart(12, "0")}_${"s".repeat(43)}`;
    for (let i = 0; i < 50; i++) expect(await auth.authenticateToken(made(), "10.0.0.1")).toBeUndefined();
    expect(await auth.authenticateToken(made(), "::ffff:10.0.0.2")).toBeUndefined();
    now.t += 60_000;
    expect(await auth.authenticateToken(made(), "10.0.0.1")).toBeUndefined();
    const entries = await audit.list({ action: "token.use", outcome: "failure" });
    expect(entries.map((e) => [e.client, JSON.parse(e.details)])).toEqual([
      ["10.0.0.1", { reason: "unknown" }],
      ["::ffff:10.0.0.2", { reason: "unknown" }],
      ["10.0.0.1", { reason: "unknown", notAuditedSinceLastEntry: 49 }],
    ]);
  });
});
