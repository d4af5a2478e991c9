import { describe, expect, it } from "vitest";
import { progressMeter } from "../../retention/export/progress.js";
import type { ExportProgress } from "../../src/exports/export.js";

describe("export progress", () => {
  it("counts steps and progress within a step, and estimates what is left from the rate so far", () => {
    let t = 0;
    const seen: ExportProgress[] = [];
    const p = progressMeter(
      1_000,
      (x) => seen.push(x),
      () => t,
    );
    t = 500;
    p.add(100); // too early to estimate
    t = 2_000;
    p.within(150); // 250 of 1,000 in 2 s: 6 s left
    p.add(400);
    t = 4_000;
    p.add(500);
    expect(seen).toEqual([
      { bytesDone: 100, bytesTotal: 1_000, etaMs: null },
      { bytesDone: 250, bytesTotal: 1_000, etaMs: 6_000 },
      { bytesDone: 500, bytesTotal: 1_000, etaMs: 2_000 },
      { bytesDone: 1_000, bytesTotal: 1_000, etaMs: 0 },
    ]);
  });
});
