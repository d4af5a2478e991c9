import { expect, it } from "vitest";
import type { Directory } from "../../../../src/catalog/directory/directory.js";
import type { SessionRow } from "../../../../src/catalog/directory/sessions.js";

/** What every session repository promises: rows as given (hashes only), expiry deletes, per-user ends. */
export function sessionRepositoryContract(open: () => Directory): void {
  const session = (idHash: string, over: Partial<SessionRow> = {}): SessionRow => ({
    idHash,
    username: "ann",
    csrfHash: `csrf-${idHash}`,
    createdAt: 1_000,
    lastSeenAt: 1_000,
    expiresAt: 100_000,
    client: "10.0.0.1",
    ...over,
  });
  /** A directory holding the people sessions belong to. */
  const withPeople = async () => {
    const dir = open();
    await dir.tx(async (d) => {
      for (const username of ["ann", "bob"])
        await d.users.insert({
          username,
          displayName: username,
          passwordHash: "h",
          roles: ["ops"],
          disabled: false,
          mustChangePassword: false,
          createdAt: 1,
          createdBy: "local:test",
          passwordChangedAt: 1,
        });
    });
    return dir;
  };

  it("reads a session back as stored, by the hash of its id; keeps only the hashes it is given", async () => {
    const dir = await withPeople();
    await dir.tx((d) => d.sessions.insert(session("h1")));
    const got = await dir.read((d) => d.sessions.get("h1"));
    expect(got).toEqual(session("h1"));
    expect(Object.keys(got ?? {}).sort()).toEqual(
      ["client", "createdAt", "csrfHash", "expiresAt", "idHash", "lastSeenAt", "username"].sort(),
    );
    expect(await dir.read((d) => d.sessions.get("h2"))).toBeUndefined();
  });

  it("refuses a session of nobody, and a second session under the same id", async () => {
    const dir = await withPeople();
    await expect(dir.tx((d) => d.sessions.insert(session("h1", { username: "nobody" })))).rejects.toThrow();
    await dir.tx((d) => d.sessions.insert(session("h1")));
    await expect(dir.tx((d) => d.sessions.insert(session("h1", { username: "bob" })))).rejects.toThrow();
    expect((await dir.read((d) => d.sessions.get("h1")))?.username).toBe("ann");
  });

  it("marks a session seen, and deletes one, a user's (but one), and the expired", async () => {
    const dir = await withPeople();
    await dir.tx(async (d) => {
      await d.sessions.insert(session("a1"));
      await d.sessions.insert(session("a2"));
      await d.sessions.insert(session("a3"));
      await d.sessions.insert(session("b1", { username: "bob" }));
    });
    await dir.tx((d) => d.sessions.seen("a1", 7_000));
    expect((await dir.read((d) => d.sessions.get("a1")))?.lastSeenAt).toBe(7_000);
    expect(await dir.tx((d) => d.sessions.delete("a3"))).toBe(true);
    expect(await dir.tx((d) => d.sessions.delete("a3"))).toBe(false);
    expect(await dir.tx((d) => d.sessions.deleteForUser("ann", "a1"))).toBe(1);
    expect(await dir.read((d) => d.sessions.get("a1"))).toBeDefined();
    expect(await dir.tx((d) => d.sessions.deleteForUser("ann"))).toBe(1);
    expect(await dir.read((d) => d.sessions.get("b1"))).toBeDefined();
  });

  it("deletes sessions past their absolute end or not seen since the idle limit, and no other", async () => {
    const dir = await withPeople();
    await dir.tx(async (d) => {
      await d.sessions.insert(session("over", { expiresAt: 5_000 }));
      await d.sessions.insert(session("idle", { lastSeenAt: 2_000 }));
      await d.sessions.insert(session("live", { lastSeenAt: 4_500 }));
    });
    expect(await dir.tx((d) => d.sessions.deleteExpired(5_000, 3_000))).toBe(2);
    expect(await dir.read((d) => d.sessions.get("live"))).toBeDefined();
    expect(await dir.read((d) => d.sessions.get("over"))).toBeUndefined();
    expect(await dir.read((d) => d.sessions.get("idle"))).toBeUndefined();
  });

  it("rolls back every change of a unit of work that fails half-way", async () => {
    const dir = await withPeople();
    await dir.tx((d) => d.sessions.insert(session("a1")));
    await expect(
      dir.tx(async (d) => {
        await d.sessions.delete("a1");
        await d.sessions.insert(session("a2"));
        throw new Error("refused half-way");
      }),
    ).rejects.toThrow("refused half-way");
    expect(await dir.read((d) => d.sessions.get("a1"))).toBeDefined();
    expect(await dir.read((d) => d.sessions.get("a2"))).toBeUndefined();
  });
}
