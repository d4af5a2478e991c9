import { expect, it } from "vitest";
import type { Directory } from "../../../../src/catalog/directory/directory.js";
import type { NewUser, UserFilter } from "../../../../src/catalog/directory/users.js";

/** What every user repository promises: unique names, never deleted, changes kept apart, filters. */
export function userRepositoryContract(open: () => Directory): void {
  const user = (username: string, over: Partial<NewUser> = {}): NewUser => ({
    username,
    displayName: `${username} name`,
    passwordHash: `hash-of-${username}`,
    roles: ["records"],
    disabled: false,
    mustChangePassword: true,
    createdAt: 1_000,
    createdBy: "local:test",
    passwordChangedAt: 1_000,
    ...over,
  });

  it("reads a user back as inserted, with no failed attempts, no lock and no sign-in", async () => {
    const dir = open();
    expect(await dir.tx((d) => d.users.insert(user("ann", { roles: ["admin", "ops"] })))).toBe(true);
    expect(await dir.read((d) => d.users.get("ann"))).toEqual({
      ...user("ann", { roles: ["admin", "ops"] }),
      failedAttempts: 0,
      lockedUntil: null,
      lastSignInAt: null,
    });
    expect(await dir.read((d) => d.users.get("nobody"))).toBeUndefined();
  });

  it("keeps a name unique: a second insert under it changes nothing, even once the first is disabled", async () => {
    const dir = open();
    await dir.tx((d) => d.users.insert(user("ann")));
    await dir.tx((d) => d.users.update("ann", { disabled: true }));
    expect(await dir.tx((d) => d.users.insert(user("ann", { displayName: "Someone else" })))).toBe(false);
    const ann = await dir.read((d) => d.users.get("ann"));
    expect(ann).toMatchObject({ displayName: "ann name", disabled: true, passwordHash: "hash-of-ann" });
  });

  it("offers no way to delete or rename an account", async () => {
    const dir = open();
    await dir.read(async (d) => {
      for (const verb of ["delete", "remove", "rename"]) expect(verb in d.users, verb).toBe(false);
    });
  });

  it("changes only the fields given, and the password apart from them", async () => {
    const dir = open();
    await dir.tx((d) => d.users.insert(user("ann")));
    await dir.tx((d) => d.users.update("ann", { failedAttempts: 3, lockedUntil: 9_000 }));
    await dir.tx((d) => d.users.update("ann", { lastSignInAt: 7_000 }));
    await dir.tx((d) => d.users.update("ann", { roles: ["commander"] }));
    expect(await dir.read((d) => d.users.get("ann"))).toMatchObject({
      roles: ["commander"],
      displayName: "ann name",
      failedAttempts: 3,
      lockedUntil: 9_000,
      lastSignInAt: 7_000,
    });
    await dir.tx((d) => d.users.update("ann", { lockedUntil: null, failedAttempts: 0 }));
    expect(
      await dir.tx((d) =>
        d.users.setPassword("ann", { passwordHash: "new-hash", mustChangePassword: false, at: 5_000 }),
      ),
    ).toBe(true);
    expect(await dir.read((d) => d.users.get("ann"))).toMatchObject({
      passwordHash: "new-hash",
      mustChangePassword: false,
      passwordChangedAt: 5_000,
      lockedUntil: null,
      failedAttempts: 0,
    });
    expect(await dir.tx((d) => d.users.update("nobody", { disabled: true }))).toBe(false);
    expect(
      await dir.tx((d) =>
        d.users.setPassword("nobody", { passwordHash: "h", mustChangePassword: false, at: 1 }),
      ),
    ).toBe(false);
  });

  it("lists by name, filtered by role and by state", async () => {
    const dir = open();
    await dir.tx(async (d) => {
      await d.users.insert(user("cat", { roles: ["admin"] }));
      await d.users.insert(user("ann", { roles: ["records", "admin"] }));
      await d.users.insert(user("bob", { roles: ["admin"], disabled: true }));
      // A role is matched whole: a longer name that starts the same is not it.
      await d.users.insert(user("dan", { roles: ["administrator" as "admin"] }));
    });
    const names = async (f?: UserFilter) => (await dir.read((d) => d.users.list(f))).map((u) => u.username);
    expect(await names()).toEqual(["ann", "bob", "cat", "dan"]);
    expect(await names({ role: "admin" })).toEqual(["ann", "bob", "cat"]);
    expect(await names({ role: "admin", disabled: false })).toEqual(["ann", "cat"]);
    expect(await names({ disabled: true })).toEqual(["bob"]);
    // A listed user carries no password hash.
    expect((await dir.read((d) => d.users.list()))[0]).not.toHaveProperty("passwordHash");
  });

  it("rolls back every change of a unit of work that fails half-way", async () => {
    const dir = open();
    await dir.tx((d) => d.users.insert(user("ann")));
    await expect(
      dir.tx(async (d) => {
        await d.users.update("ann", { disabled: true, failedAttempts: 4 });
        await d.users.insert(user("bob"));
        throw new Error("refused half-way");
      }),
    ).rejects.toThrow("refused half-way");
    expect(await dir.read((d) => d.users.get("ann"))).toMatchObject({ disabled: false, failedAttempts: 0 });
    expect(await dir.read((d) => d.users.get("bob"))).toBeUndefined();
  });
}
