import { expect, it } from "vitest";
import type { Directory } from "../../../../src/catalog/directory/directory.js";
import type { HoldChange, NewHold } from "../../../../src/catalog/directory/holds.js";
import type { HoldFilter, HoldStatus } from "../../../../src/holds/hold.js";

/** A request as a clerk enters it, for the directory contracts. */
export const newHold = (over: Partial<NewHold> = {}): NewHold => ({
  formNumber: "F-1",
  receivedOn: "2026-01-02",
  requestedBy: "Det. A",
  agency: "NPD",
  caseNumber: "26-1",
  legalBasis: "criminal",
  reason: "contract",
  ranges: [
    { camera: "cam1", fromMs: 1_000, toMs: 2_000 },
    { camera: "cam2", fromMs: 5_000, toMs: 6_000 },
  ],
  form: { path: "forms/x.pdf", sha256: "ab", type: "application/pdf", bytes: 9 },
  enteredBy: "user:records1",
  enteredAt: 100,
  ...over,
});

const change = (status: HoldStatus, by: string, at: number, text: string): HoldChange => ({
  status,
  kind: status === "released" ? "release" : "decision",
  by,
  at,
  text,
});

/** What every hold repository promises: requests back as entered, decisions, protection, counts. */
export function holdRepositoryContract(open: () => Directory): void {
  const hold = newHold;

  it("stores a request with its ranges in order, pending and protecting", async () => {
    const dir = open();
    const id = await dir.tx((d) => d.holds.insert(hold()));
    const h = await dir.read((d) => d.holds.get(id));
    expect(h).toMatchObject({
      id,
      status: "requested",
      caseNumber: "26-1",
      form: { path: "forms/x.pdf", sha256: "ab", type: "application/pdf", bytes: 9 },
      enteredBy: "user:records1",
      decidedBy: null,
      releasedBy: null,
    });
    expect(h?.ranges).toEqual(hold().ranges);
    expect(await dir.read((d) => d.holds.get(id + 1))).toBeUndefined();
    expect(await dir.read((d) => d.holds.pendingCount("user:records1"))).toBe(1);
    expect(await dir.read((d) => d.holds.protectingRanges())).toEqual(
      hold().ranges.map((r) => ({ hold: id, ...r })),
    );
    // Only ranges starting before the given time: footage ending by then can overlap no other.
    expect(await dir.read((d) => d.holds.protectingRanges(5_000))).toEqual([
      { hold: id, camera: "cam1", fromMs: 1_000, toMs: 2_000 },
    ]);
    expect(await dir.read((d) => d.holds.protectingRanges(5_001))).toHaveLength(2);
    // Pending is not active: nothing goes into the evidence tree yet.
    expect(await dir.read((d) => d.holds.activeRanges({}))).toEqual([]);
  });

  it("records decisions and releases; a refused or released hold stops protecting", async () => {
    const dir = open();
    const [a, b] = await dir.tx(async (d) => [await d.holds.insert(hold()), await d.holds.insert(hold())]);
    await dir.tx(async (d) => {
      await d.holds.change(a as number, change("active", "user:c1", 200, "ok"));
      await d.holds.change(b as number, change("refused", "user:c1", 201, "no"));
      await d.holds.endProtection(b as number);
    });
    expect(await dir.read((d) => d.holds.get(a as number))).toMatchObject({
      status: "active",
      decidedBy: "user:c1",
      decidedAt: 200,
      decisionNote: "ok",
    });
    expect((await dir.read((d) => d.holds.protectingRanges())).map((r) => r.hold)).toEqual([a, a]);
    expect(
      await dir.read((d) => d.holds.activeRanges({ camera: "cam1", fromMs: 1_500, toMs: 1_600 })),
    ).toEqual([{ hold: a, camera: "cam1", fromMs: 1_000, toMs: 2_000 }]);
    expect(
      await dir.read((d) => d.holds.activeRanges({ camera: "cam1", fromMs: 2_000, toMs: 3_000 })),
    ).toEqual([]);
    expect((await dir.read((d) => d.holds.activeRanges({ hold: a as number }))).length).toBe(2);
    await dir.tx(async (d) => {
      await d.holds.change(a as number, change("released", "user:c2", 300, "closed"));
      await d.holds.endProtection(a as number);
    });
    expect(await dir.read((d) => d.holds.get(a as number))).toMatchObject({
      status: "released",
      decidedBy: "user:c1",
      releasedBy: "user:c2",
      releasedAt: 300,
      releaseReason: "closed",
    });
    expect(await dir.read((d) => d.holds.protectingRanges())).toEqual([]);
    expect(await dir.read((d) => d.holds.countByStatus())).toEqual({ released: 1, refused: 1 });
  });

  it("lists newest first, filtered by entry time, case, camera and status; counts late requests", async () => {
    const dir = open();
    await dir.tx(async (d) => {
      await d.holds.insert(hold({ enteredAt: 10 }));
      await d.holds.insert(
        hold({ enteredAt: 20, caseNumber: "26-2", ranges: [{ camera: "cam3", fromMs: 1, toMs: 2 }] }),
      );
      await d.holds.insert(hold({ enteredAt: 30 }));
    });
    const ids = async (f: HoldFilter) => (await dir.read((d) => d.holds.list(f))).map((h) => h.id);
    expect(await ids({})).toEqual([3, 2, 1]);
    expect(await ids({ from: 15, to: 30 })).toEqual([2]);
    expect(await ids({ caseNumber: "26-1" })).toEqual([3, 1]);
    expect(await ids({ camera: "cam3" })).toEqual([2]);
    expect(await ids({ status: "active" })).toEqual([]);
    expect(await dir.read((d) => d.holds.pendingSince(25))).toEqual({ n: 2, oldest: 10 });
    expect(await dir.read((d) => d.holds.pendingSince(5))).toEqual({ n: 0, oldest: null });
  });

  it("rolls back a request whose unit of work throws: neither the hold nor its ranges remain", async () => {
    const dir = open();
    const failure = new Error("form check failed after the insert");
    await expect(
      dir.tx(async (d) => {
        await d.holds.insert(hold());
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(await dir.read((d) => d.holds.list({}))).toEqual([]);
    expect(await dir.read((d) => d.holds.protectingRanges())).toEqual([]);
  });
}
