import { expect, it } from "vitest";
import type { Directory } from "../../../../src/catalog/directory/directory.js";
import type { NewToken } from "../../../../src/catalog/directory/tokens.js";

/** What every token repository promises: the secret hash only through credential, revoked once, kept. */
export function tokenRepositoryContract(open: () => Directory): void {
  const token = (id: string, over: Partial<NewToken> = {}): NewToken => ({
    id,
    name: `name of ${id}`,
    role: "ops",
    createdAt: 1_000,
    createdBy: "local:test",
    expiresAt: null,
    secretHash: `hash-${id}`,
    ...over,
  });

  it("reads a token back as inserted, never used or revoked; its hash only through credential", async () => {
    const dir = open();
    await dir.tx((d) => d.tokens.insert(token("t_1", { expiresAt: 9_000, role: "auditor" })));
    const { secretHash, ...shown } = token("t_1", { expiresAt: 9_000, role: "auditor" });
    const expected = { ...shown, revokedAt: null, revokedBy: null, lastUsedAt: null };
    expect(await dir.read((d) => d.tokens.get("t_1"))).toEqual(expected);
    expect(await dir.read((d) => d.tokens.list())).toEqual([expected]);
    expect(await dir.read((d) => d.tokens.credential("t_1"))).toEqual({ token: expected, secretHash });
    expect(await dir.read((d) => d.tokens.credential("t_2"))).toBeUndefined();
    expect(await dir.read((d) => d.tokens.get("t_2"))).toBeUndefined();
  });

  it("refuses a second token under an id already taken", async () => {
    const dir = open();
    await dir.tx((d) => d.tokens.insert(token("t_1")));
    await expect(dir.tx((d) => d.tokens.insert(token("t_1", { secretHash: "other" })))).rejects.toThrow();
    expect((await dir.read((d) => d.tokens.credential("t_1")))?.secretHash).toBe("hash-t_1");
  });

  it("revokes once: the first revocation stands, and a revoked token is still listed", async () => {
    const dir = open();
    await dir.tx((d) => d.tokens.insert(token("t_1")));
    expect(await dir.tx((d) => d.tokens.revoke("t_1", "user:ann", 5_000))).toBe(true);
    expect(await dir.tx((d) => d.tokens.revoke("t_1", "user:bob", 6_000))).toBe(false);
    expect(await dir.tx((d) => d.tokens.revoke("t_9", "user:bob", 6_000))).toBe(false);
    expect(await dir.read((d) => d.tokens.get("t_1"))).toMatchObject({
      revokedAt: 5_000,
      revokedBy: "user:ann",
    });
    expect((await dir.read((d) => d.tokens.list())).map((t) => t.id)).toEqual(["t_1"]);
    await dir.read(async (d) => expect("delete" in d.tokens).toBe(false));
  });

  it("records the last use, and lists oldest first", async () => {
    const dir = open();
    await dir.tx(async (d) => {
      await d.tokens.insert(token("t_b", { createdAt: 2_000 }));
      await d.tokens.insert(token("t_c", { createdAt: 1_000 }));
      await d.tokens.insert(token("t_a", { createdAt: 2_000 }));
    });
    await dir.tx((d) => d.tokens.markUsed("t_a", 8_000));
    expect((await dir.read((d) => d.tokens.get("t_a")))?.lastUsedAt).toBe(8_000);
    expect((await dir.read((d) => d.tokens.list())).map((t) => t.id)).toEqual(["t_c", "t_a", "t_b"]);
  });

  it("rolls back every change of a unit of work that fails half-way", async () => {
    const dir = open();
    await dir.tx((d) => d.tokens.insert(token("t_1")));
    await expect(
      dir.tx(async (d) => {
        await d.tokens.revoke("t_1", "user:ann", 5_000);
        await d.tokens.insert(token("t_2"));
        throw new Error("refused half-way");
      }),
    ).rejects.toThrow("refused half-way");
    expect((await dir.read((d) => d.tokens.get("t_1")))?.revokedAt).toBeNull();
    expect(await dir.read((d) => d.tokens.get("t_2"))).toBeUndefined();
  });
}
