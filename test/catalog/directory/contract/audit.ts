import { expect, it } from "vitest";
import type { AuditEntry, AuditFilter } from "../../../../src/catalog/directory/audit.js";
import type { Directory } from "../../../../src/catalog/directory/directory.js";

/** What every audit repository promises: rows back as written, filters, paging, no edits. */
export function auditRepositoryContract(open: () => Directory): void {
  const entry = (seq: number, over: Partial<AuditEntry> = {}): AuditEntry => ({
    seq,
    at: 1_000 * seq,
    actor: `user:u${seq % 3}`,
    role: "records",
    action: seq % 2 ? "auth.login" : "hold.request",
    target: `t${seq % 4}`,
    outcome: seq % 5 ? "success" : "denied",
    client: "127.0.0.1",
    details: JSON.stringify({ seq }),
    prevHash: `h${seq - 1}`,
    hash: `h${seq}`,
    ...over,
  });
  const seed = async (dir: Directory, n: number) =>
    dir.tx(async (d) => {
      for (let i = 1; i <= n; i++) await d.audit.insert(entry(i));
    });

  it("reads entries back exactly as inserted, the head being the newest", async () => {
    const dir = open();
    expect(await dir.read((d) => d.audit.head())).toBeUndefined();
    await seed(dir, 3);
    const rows = await dir.read((d) => d.audit.after(0, 10));
    expect(rows).toEqual([entry(1), entry(2), entry(3)]);
    expect(await dir.read((d) => d.audit.head())).toEqual({ seq: 3, hash: "h3" });
    expect(await dir.read((d) => d.audit.hashAt(2))).toBe("h2");
    expect(await dir.read((d) => d.audit.hashAt(9))).toBeUndefined();
  });

  it("refuses a second entry with a sequence number already taken", async () => {
    const dir = open();
    await seed(dir, 2);
    await expect(dir.tx((d) => d.audit.insert(entry(2, { hash: "other" })))).rejects.toThrow();
    expect(await dir.read((d) => d.audit.hashAt(2))).toBe("h2");
  });

  it("filters by time, actor, exact action, action prefix, target and outcome, and pages both ways", async () => {
    const dir = open();
    await seed(dir, 20);
    const seqs = async (f: AuditFilter) => (await dir.read((d) => d.audit.list(f))).map((e) => e.seq);
    expect(await seqs({ from: 5_000, to: 8_000 })).toEqual([5, 6, 7]);
    expect(await seqs({ actor: "user:u0" })).toEqual([3, 6, 9, 12, 15, 18]);
    expect(await seqs({ action: "hold.request", target: "t2" })).toEqual([2, 6, 10, 14, 18]);
    expect(await seqs({ action: "auth.", outcome: "denied" })).toEqual([5, 15]);
    // A prefix is a prefix of whole dotted words, never a LIKE pattern.
    expect(await seqs({ action: "auth" })).toEqual([]);
    expect(await seqs({ action: "a%." })).toEqual([]);
    expect(await seqs({ order: "desc", limit: 3 })).toEqual([20, 19, 18]);
    expect(await seqs({ order: "desc", after: 18, limit: 2 })).toEqual([17, 16]);
    expect(await seqs({ after: 18 })).toEqual([19, 20]);
    expect((await dir.read((d) => d.audit.after(15, 3))).map((e) => e.seq)).toEqual([16, 17, 18]);
  });

  it("finds the entries about one camera: its target, details naming it, or one of its ranges", async () => {
    const dir = open();
    const about = [
      entry(1, { target: "camera:gate" }),
      entry(2, { target: "ptz-session:7", details: JSON.stringify({ camera: "gate", command: "absolute" }) }),
      entry(3, {
        target: "export:4",
        details: JSON.stringify({ ranges: [{ camera: "lot" }, { camera: "gate" }] }),
      }),
      entry(4, { target: "camera:gatehouse" }),
      entry(5, { target: "hold:2", details: JSON.stringify({ ranges: [{ camera: "lot" }] }) }),
      entry(6, { target: "user:gate", details: JSON.stringify({ note: "camera:gate" }) }),
      entry(7, { target: "camera:gate", details: "{}" }),
    ];
    await dir.tx(async (d) => {
      for (const e of about) await d.audit.insert(e);
    });
    const seqs = async (f: AuditFilter) => (await dir.read((d) => d.audit.list(f))).map((e) => e.seq);
    expect(await seqs({ camera: "gate" })).toEqual([1, 2, 3, 7]);
    expect(await seqs({ camera: "lot" })).toEqual([3, 5]);
    expect(await seqs({ camera: "gate", from: 2_000, to: 4_000 })).toEqual([2, 3]);
    // Nothing in the value is SQL or a pattern.
    expect(await seqs({ camera: "g%" })).toEqual([]);
  });
}
