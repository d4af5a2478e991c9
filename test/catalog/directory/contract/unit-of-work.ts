import { expect, it } from "vitest";
import type { AuditEntry } from "../../../../src/catalog/directory/audit.js";
import { type Directory, UnitOfWorkError } from "../../../../src/catalog/directory/directory.js";

/** A plain audit row: units of work are shown writing and rolling back real directory rows. */
export const entry = (seq: number, prevHash = "g"): AuditEntry => ({
  seq,
  at: 1_700_000_000_000 + seq,
  actor: "user:a",
  role: null,
  action: "test.write",
  target: null,
  outcome: "success",
  client: null,
  details: "{}",
  prevHash,
  hash: `h${seq}`,
});

/** What every Directory implementation promises of its units of work (SQLite now, PostgreSQL later). */
export function unitOfWorkContract(open: () => Directory): void {
  it("commits every change of a unit of work together, and runs afterCommit hooks once it has", async () => {
    const dir = open();
    const seen: number[] = [];
    await dir.tx(async (d) => {
      await d.audit.insert(entry(1, "g"));
      d.afterCommit(() => seen.push(1));
      await d.audit.insert(entry(2, "h1"));
      expect(seen).toEqual([]);
    });
    expect(seen).toEqual([1]);
    expect((await dir.read((d) => d.audit.after(0, 10))).map((e) => e.seq)).toEqual([1, 2]);
  });

  it("rolls back every change of a unit of work that throws, rethrows, and runs no afterCommit hook", async () => {
    const dir = open();
    const hooks: string[] = [];
    const failure = new Error("refused half-way");
    await expect(
      dir.tx(async (d) => {
        await d.audit.insert(entry(1, "g"));
        d.afterCommit(() => hooks.push("ran"));
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(hooks).toEqual([]);
    expect(await dir.read((d) => d.audit.head())).toBeUndefined();
    // The directory is usable again after a rollback.
    await dir.tx((d) => d.audit.insert(entry(1, "g")));
    expect((await dir.read((d) => d.audit.head()))?.seq).toBe(1);
  });

  it("refuses a unit of work opened inside another, and keeps neither's changes", async () => {
    const dir = open();
    await expect(
      dir.tx(async (d) => {
        await d.audit.insert(entry(1, "g"));
        await dir.tx((inner) => inner.audit.insert(entry(2, "h1")));
      }),
    ).rejects.toBeInstanceOf(UnitOfWorkError);
    expect(await dir.read((d) => d.audit.head())).toBeUndefined();
  });

  it("runs the units of work of independent callers each whole, refusing neither", async () => {
    const dir = open();
    const [a, b] = await Promise.all([
      dir.tx(async (d) => {
        await d.audit.insert(entry(1, "g"));
        await d.audit.insert(entry(2, "h1"));
        return "a";
      }),
      dir.tx(async (d) => {
        await d.audit.insert(entry(3, "h2"));
        return "b";
      }),
    ]);
    expect([a, b]).toEqual(["a", "b"]);
    expect((await dir.read((d) => d.audit.after(0, 10))).map((e) => e.seq)).toEqual([1, 2, 3]);
  });

  it("returns the unit of work's value", async () => {
    const dir = open();
    expect(await dir.tx(async () => 42)).toBe(42);
    expect(await dir.read(async () => "read")).toBe("read");
  });
}

/** SQLite only: a unit of work is one turn of the event loop; one that waits on I/O is refused. */
export function sqliteTurnContract(open: () => Directory): void {
  it("rolls back a unit of work that awaits something besides its repositories", async () => {
    const dir = open();
    await expect(
      dir.tx(async (d) => {
        await d.audit.insert(entry(1));
        await new Promise((r) => setTimeout(r, 5));
      }),
    ).rejects.toBeInstanceOf(UnitOfWorkError);
    expect(await dir.read((d) => d.audit.head())).toBeUndefined();
  });
  it("runs a unit of work that reaches it while another is open after that one", async () => {
    const dir = open();
    const steps: string[] = [];
    const first = dir.tx(async (d) => {
      steps.push("first begins");
      await d.audit.insert(entry(1));
      await d.audit.insert(entry(2));
      steps.push("first ends");
    });
    const second = dir.tx(async (d) => {
      steps.push("second begins");
      await d.audit.insert(entry(3));
    });
    await Promise.all([first, second]);
    expect(steps).toEqual(["first begins", "first ends", "second begins"]);
  });
}
