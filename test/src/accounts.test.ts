import { describe, expect, it } from "vitest";
import { AuthService } from "../../src/auth/service.js";
import { sha256 } from "../../src/auth/sessions.js";
import type { Directory } from "../../src/catalog/directory/directory.js";
import { AUTH_SETTINGS, addUsers, authService, CONSOLE, GOOD_PASSWORD } from "../helpers/auth.js";

/** An admin acting through a session, as the API hands the service its context. */
const as = (username: string) => ({ actor: `user:${username}`, role: "admin", client: "10.0.0.1" });

describe("separation of duties (AuthService)", () => {
  it("refuses anyone signed in changing their own roles, state, lock or password, and audits the refusal", async () => {
    const now = { t: 1_000_000 };
    const { auth, audit } = authService(now);
    await addUsers(auth, { boss: ["admin"], other: ["admin"] });
    const refusals: [string, () => unknown][] = [
      [
        "change the roles",
        () => auth.updateUser("boss", { roles: ["admin", "records", "commander"] }, as("boss")),
      ],
      ["change the roles", () => auth.updateUser("boss", { roles: ["records"] }, as("boss"))],
      ["disable", () => auth.updateUser("boss", { disabled: true }, as("boss"))],
      ["unlock", () => auth.unlockUser("boss", as("boss"))],
    ];
    for (const [what, act] of refusals) {
      await expect(act(), what).rejects.toThrow(expect.objectContaining({ kind: "forbidden" }));
    }
    await expect(auth.resetPassword("boss", "New-Passw0rd!x", as("boss"))).rejects.toMatchObject({
      kind: "forbidden",
      message: expect.stringMatching(/own account/),
    });
    // Re-enabling yourself: only reachable if a session outlived the disable; refused all the same.
    await auth.updateUser("boss", { disabled: true }, as("other"));
    await expect(auth.updateUser("boss", { disabled: false }, as("boss"))).rejects.toThrow(/re-enable/);
    expect(await auth.publicUser("boss")).toMatchObject({ roles: ["admin"], disabled: true });
    const failed = await audit.list({ target: "user:boss", outcome: "failure", limit: 100 });
    expect(failed.map((e) => JSON.parse(e.details).reason)).toEqual([
      "own account: change the roles",
      "own account: change the roles",
      "own account: disable",
      "own account: unlock",
      "own account: reset the password",
      "own account: re-enable",
    ]);
    expect(failed.every((e) => e.actor === "user:boss")).toBe(true);
  });

  it("lets another admin, or the console, do each of those; a display name of your own is yours to change", async () => {
    const now = { t: 1_000_000 };
    const { auth } = authService(now);
    await addUsers(auth, { boss: ["admin"], other: ["admin"] });
    expect((await auth.updateUser("boss", { roles: ["admin", "records"] }, as("other"))).roles).toEqual([
      "admin",
      "records",
    ]);
    expect((await auth.updateUser("boss", { displayName: "The Boss" }, as("boss"))).displayName).toBe(
      "The Boss",
    );
    expect((await auth.updateUser("boss", { disabled: true }, as("other"))).disabled).toBe(true);
    expect((await auth.updateUser("boss", { disabled: false }, CONSOLE)).disabled).toBe(false);
    expect((await auth.unlockUser("boss", as("other"))).lockedUntil).toBeNull();
    await auth.resetPassword("boss", "New-Passw0rd!x", as("other"));
    // The last-admin guard still holds, for the console too.
    await auth.updateUser("other", { disabled: true }, as("boss"));
    await expect(auth.updateUser("boss", { disabled: true }, CONSOLE)).rejects.toThrow(/last active admin/);
  });
});

describe("sessions at rest", () => {
  it("store the SHA-256 of the CSRF token, not the token; a row holding a token itself is not accepted", async () => {
    const now = { t: 1_000_000 };
    const { auth, db } = authService(now);
    await addUsers(auth, { jdoe: ["ops"] });
    const { sessionId, principal } = await auth.login("jdoe", GOOD_PASSWORD, "c");
    const token = principal.session.csrfToken;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const row = db.prepare("SELECT id_hash, csrf_token FROM sessions").get() as {
      id_hash: string;
      csrf_token: string;
    };
    expect(row.csrf_token).not.toBe(token);
    expect(row.csrf_token).toBe(sha256(token));
    expect(row.id_hash).toBe(sha256(sessionId));
    const again = await auth.authenticateSession(sessionId, "c");
    expect(again?.session.csrfToken).toBe(token);
    expect(again?.session.csrfHash).toBe(row.csrf_token);
    // A session stored the old way (token in clear) is ended, not served.
    db.prepare("UPDATE sessions SET csrf_token = ?").run(token);
    expect(await auth.authenticateSession(sessionId, "c")).toBeUndefined();
    expect(db.prepare("SELECT count(*) AS n FROM sessions").get()).toEqual({ n: 0 });
  });
});

describe("a change and its audit entry (AuthService)", () => {
  it("commit together: when the entry cannot be written, the account and its sessions are unchanged", async () => {
    const now = { t: 1_000_000 };
    const { auth, audit, directory } = authService(now);
    await addUsers(auth, { boss: ["admin"], jdoe: ["ops"] });
    const { sessionId } = await auth.login("jdoe", GOOD_PASSWORD, "c");
    const before = await audit.headSeq();
    // The same service over a directory whose audit rows refuse every insert.
    const failing: Directory = {
      tx: (work) =>
        directory.tx((d) =>
          work({
            ...d,
            audit: Object.assign(Object.create(d.audit) as typeof d.audit, {
              insert: async () => {
                throw new Error("audit rows refused");
              },
            }),
          }),
        ),
      read: (work) => directory.read(work),
    };
    const broken = new AuthService(failing, audit, AUTH_SETTINGS, () => now.t);
    await expect(broken.updateUser("jdoe", { disabled: true }, as("boss"))).rejects.toThrow(
      "audit rows refused",
    );
    expect(await auth.publicUser("jdoe")).toMatchObject({ disabled: false });
    expect((await auth.authenticateSession(sessionId, "c"))?.username).toBe("jdoe");
    expect(await audit.headSeq()).toBe(before);
  });
});
