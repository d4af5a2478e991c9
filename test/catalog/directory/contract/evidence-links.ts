import { expect, it } from "vitest";
import type { Directory } from "../../../../src/catalog/directory/directory.js";
import type { EvidenceLink } from "../../../../src/catalog/directory/evidence-links.js";
import { newHold } from "./holds.js";

/**
 * What every evidence link repository promises. The links name footage catalog segments; on the
 * embedded directory the tables share a file, so the segments they name are made first.
 */
export function evidenceLinkRepositoryContract(
  open: () => Directory,
  segments: (dir: Directory, n: number) => void,
): void {
  const enter = (dir: Directory) => dir.tx((d) => d.holds.insert(newHold()));
  const link = (hold: number, segment: number, over: Partial<EvidenceLink> = {}): EvidenceLink => ({
    hold,
    segment,
    file: `${hold}/cam1/${String(segment).padStart(3, "0")}.ts`,
    sha256: `h${segment}`,
    bytes: 10 * segment,
    linkedAt: 1_000 + segment,
    ...over,
  });

  it("records links, tells which segments are not linked yet, and keeps a first link as it was", async () => {
    const dir = open();
    segments(dir, 4);
    const h = await enter(dir);
    expect(await dir.read((d) => d.evidenceLinks.unlinked(h, [3, 1, 2]))).toEqual([3, 1, 2]);
    await dir.tx(async (d) => {
      await d.evidenceLinks.insert(link(h, 2));
      await d.evidenceLinks.insert(link(h, 1));
      await d.evidenceLinks.insert(link(h, 1, { sha256: "other" }));
    });
    expect(await dir.read((d) => d.evidenceLinks.unlinked(h, [3, 1, 2, 4]))).toEqual([3, 4]);
    expect(await dir.read((d) => d.evidenceLinks.unlinked(h, []))).toEqual([]);
    expect(await dir.read((d) => d.evidenceLinks.ofHold(h))).toEqual([link(h, 1), link(h, 2)]);
    const totals = await dir.read((d) => d.evidenceLinks.totals([h, h + 1]));
    expect([...totals]).toEqual([[h, { segments: 2, bytes: 30 }]]);
  });

  it("rolls back links whose unit of work throws", async () => {
    const dir = open();
    segments(dir, 1);
    const h = await enter(dir);
    await expect(
      dir.tx(async (d) => {
        await d.evidenceLinks.insert(link(h, 1));
        throw new Error("manifest failed");
      }),
    ).rejects.toThrow("manifest failed");
    expect(await dir.read((d) => d.evidenceLinks.ofHold(h))).toEqual([]);
  });
}
