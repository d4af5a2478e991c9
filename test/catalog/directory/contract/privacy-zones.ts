import { expect, it } from "vitest";
import type { Directory } from "../../../../src/catalog/directory/directory.js";
import type { StoredZone } from "../../../../src/catalog/directory/privacy-zones.js";

/** What every privacy zone repository promises. */
export function privacyZoneRepositoryContract(open: () => Directory): void {
  const zone = (over: Partial<StoredZone> = {}): StoredZone => ({
    camera: "cam1",
    id: "flats",
    pan: [0.4, 0.7],
    tilt: [-0.3, 0.3],
    maxZoom: 0.25,
    setAt: 1_000,
    setBy: "root",
    ...over,
  });

  it("stores a zone, replaces it by camera and id, lists per camera in order, removes once", async () => {
    const dir = open();
    await dir.tx(async (d) => {
      await d.privacyZones.put(zone());
      await d.privacyZones.put(zone({ id: "yard", pan: [-0.9, -0.6] }));
      await d.privacyZones.put(zone({ camera: "cam2" }));
    });
    expect(await dir.read((d) => d.privacyZones.get("cam1", "flats"))).toEqual(zone());
    await dir.tx((d) => d.privacyZones.put(zone({ maxZoom: 0, setAt: 2_000, setBy: "kim" })));
    expect(await dir.read((d) => d.privacyZones.list("cam1"))).toEqual([
      zone({ maxZoom: 0, setAt: 2_000, setBy: "kim" }),
      zone({ id: "yard", pan: [-0.9, -0.6] }),
    ]);
    expect((await dir.read((d) => d.privacyZones.list())).map((z) => `${z.camera}/${z.id}`)).toEqual([
      "cam1/flats",
      "cam1/yard",
      "cam2/flats",
    ]);
    expect(await dir.tx((d) => d.privacyZones.remove("cam1", "flats"))).toBe(true);
    expect(await dir.tx((d) => d.privacyZones.remove("cam1", "flats"))).toBe(false);
    expect(await dir.read((d) => d.privacyZones.get("cam1", "flats"))).toBeUndefined();
    expect(await dir.read((d) => d.privacyZones.list("cam2"))).toHaveLength(1);
  });

  it("rolls a zone back with its unit of work", async () => {
    const dir = open();
    await expect(
      dir.tx(async (d) => {
        await d.privacyZones.put(zone());
        throw new Error("refused after writing");
      }),
    ).rejects.toThrow("refused after writing");
    expect(await dir.read((d) => d.privacyZones.list())).toEqual([]);
  });
}
