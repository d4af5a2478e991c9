import { expect, it } from "vitest";
import type { Directory } from "../../../../src/catalog/directory/directory.js";
import type { NewExport } from "../../../../src/catalog/directory/exports.js";
import { newHold } from "./holds.js";

/** An export request as records enters it, for the directory contracts. */
const newExport = (hold: number, over: Partial<NewExport> = {}): NewExport => ({
  hold,
  basis: {
    type: "court_order",
    dispute: "civil",
    court: "Superior Court of Connecticut",
    docketNumber: "NNH-CV26-1",
    judge: "Hon. A. Judge",
    orderDate: "2026-01-03",
    scan: { file: "documents/court-order.pdf", sha256: "ab", type: "application/pdf", bytes: 9 },
  },
  scanPath: "forms/ab.pdf",
  recipient: { name: "A. Lawyer", organisation: "Firm LLP", delivery: "in person, USB drive" },
  purpose: "civil discovery",
  ranges: [{ camera: "cam1", fromMs: 1_000, toMs: 2_000 }],
  requestedBy: "user:records1",
  requestedAt: 100,
  ...over,
});

/** What every export repository promises: requests back as entered, decisions, jobs, downloads. */
export function exportRepositoryContract(open: () => Directory): void {
  const withHold = async (dir: Directory) => dir.tx((d) => d.holds.insert(newHold()));

  it("stores a request as entered, requested, with nothing decided or produced", async () => {
    const dir = open();
    const hold = await withHold(dir);
    const id = await dir.tx((d) => d.exports.insert(newExport(hold)));
    const e = await dir.read((d) => d.exports.get(id));
    const { requestedBy, requestedAt, ...entered } = newExport(hold);
    expect(e).toEqual({
      ...entered,
      id,
      status: "requested",
      requestedBy,
      requestedAt,
      decidedBy: null,
      decidedAt: null,
      decisionNote: null,
      progress: null,
      error: null,
      packagePath: null,
      manifestSha256: null,
      packageBytes: null,
      producedAt: null,
      downloads: [],
    });
    expect(await dir.read((d) => d.exports.get(id + 1))).toBeUndefined();
  });

  it("records decisions, cancellations and a job's course; lists newest first and by status oldest first", async () => {
    const dir = open();
    const hold = await withHold(dir);
    const [a, b, c] = await dir.tx(async (d) => [
      await d.exports.insert(newExport(hold)),
      await d.exports.insert(newExport(hold, { scanPath: null })),
      await d.exports.insert(newExport(hold)),
    ]);
    await dir.tx(async (d) => {
      await d.exports.decide(a as number, { status: "queued", by: "user:c1", at: 200, note: "ok" });
      await d.exports.decide(b as number, {
        status: "refused",
        by: "user:c1",
        at: 201,
        note: "no basis",
        error: "refused by user:c1: no basis",
      });
      await d.exports.cancel(c as number, { by: "user:records1", at: 202, reason: "typo" });
    });
    expect(await dir.read((d) => d.exports.get(a as number))).toMatchObject({
      status: "queued",
      decidedBy: "user:c1",
      decidedAt: 200,
      decisionNote: "ok",
      error: null,
    });
    expect(await dir.read((d) => d.exports.get(b as number))).toMatchObject({
      status: "refused",
      error: "refused by user:c1: no basis",
      scanPath: null,
    });
    expect((await dir.read((d) => d.exports.get(c as number)))?.error).toBe(
      "cancelled by user:records1: typo",
    );
    expect((await dir.read((d) => d.exports.list())).map((e) => e.id)).toEqual([c, b, a]);

    // The job runner's side: running with progress, then done (or failed with the reason).
    await dir.tx(async (d) => {
      await d.exports.setStatus(a as number, "running");
      await d.exports.progress(a as number, { bytesDone: 5, bytesTotal: 10, etaMs: null });
    });
    expect(await dir.read((d) => d.exports.get(a as number))).toMatchObject({
      status: "running",
      progress: { bytesDone: 5, bytesTotal: 10, etaMs: null },
    });
    expect((await dir.read((d) => d.exports.listByStatus(["queued", "running"]))).map((e) => e.id)).toEqual([
      a,
    ]);
    await dir.tx((d) =>
      d.exports.markProduced(a as number, {
        packagePath: "export-1",
        manifestSha256: "cd",
        bytes: 99,
        at: 300,
      }),
    );
    expect(await dir.read((d) => d.exports.get(a as number))).toMatchObject({
      status: "done",
      packagePath: "export-1",
      manifestSha256: "cd",
      packageBytes: 99,
      producedAt: 300,
    });
    await dir.tx((d) => d.exports.setStatus(b as number, "failed", "disk full"));
    expect(await dir.read((d) => d.exports.get(b as number))).toMatchObject({
      status: "failed",
      error: "disk full",
    });
    expect(await dir.read((d) => d.exports.listByStatus([]))).toEqual([]);
  });

  it("keeps every download of an export, in order, with who, from where and whether it completed", async () => {
    const dir = open();
    const hold = await withHold(dir);
    const [a, b] = await dir.tx(async (d) => [
      await d.exports.insert(newExport(hold)),
      await d.exports.insert(newExport(hold)),
    ]);
    const first = { by: "user:records1", at: 400, from: "127.0.0.1", bytes: 10, complete: false };
    const second = { by: "user:records1", at: 401, from: "::1", bytes: 99, complete: true };
    await dir.tx(async (d) => {
      await d.exports.addDownload(a as number, first);
      await d.exports.addDownload(a as number, second);
    });
    expect((await dir.read((d) => d.exports.get(a as number)))?.downloads).toEqual([first, second]);
    expect((await dir.read((d) => d.exports.get(b as number)))?.downloads).toEqual([]);
  });
}
