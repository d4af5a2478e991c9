import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { Reconciler } from "../../recorder/reconcile.js";
import { openCatalog } from "../../src/catalog/catalog.js";
import { Segments } from "../../src/catalog/footage/segments.js";
import { segmentPath } from "../../src/footage/layout.js";
import { createLogger } from "../../src/log/logger.js";

/** The rolling sweep on a real catalog and real files: a row whose file is gone, and only such a row, becomes missing. */

describe("reconciliation sweep", () => {
  it("marks exactly the rows whose files are gone missing, a file removed alone or with its whole hour", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pscs-sweep-"));
    const root = join(dir, "rec");
    const db = openCatalog(join(dir, "catalog.db"));
    const store = new Segments(db);
    const t0 = Date.UTC(2026, 10, 26, 9, 0, 0);
    const ids = new Map<string, number>();
    // Three hours of two cameras, one segment every 10 minutes.
    for (const camera of ["cam1", "cam2"])
      for (let t = t0; t < t0 + 3 * 3_600_000; t += 600_000) {
        const path = segmentPath(camera, t);
        mkdirSync(dirname(join(root, path)), { recursive: true });
        writeFileSync(join(root, path), "ts");
        const id = store.openRecording(camera, "r1", t, join(camera, ".incoming", `r1-${t}.ts`));
        store.complete(id, { startMs: t, endMs: t + 600_000, path, bytes: 2, sha256: "x".repeat(64) });
        ids.set(path, id);
      }
    const gone = [segmentPath("cam1", t0 + 600_000), segmentPath("cam2", t0 + 2 * 3_600_000 + 1_200_000)];
    for (const p of gone) unlinkSync(join(root, p));
    // All of cam2's first hour.
    const hour = dirname(segmentPath("cam2", t0));
    rmSync(join(root, hour), { recursive: true });
    const goneHour = [...ids.keys()].filter((p) => dirname(p) === hour);
    expect(goneHour).toHaveLength(6);

    const r = new Reconciler({
      root,
      cameras: ["cam1", "cam2"],
      store,
      log: createLogger({ name: "t", level: "silent" }),
    });
    // Batches of 10 rows: the sweep walks the catalog and comes round again.
    const found: string[] = [];
    for (let i = 0; i < 4; i++) found.push(...(await r.sweep(10)).missing.map((m) => m.path));
    expect(found.sort()).toEqual([...gone, ...goneHour].sort());
    const missing = db
      .prepare("SELECT path FROM segments WHERE state = 'missing' ORDER BY path")
      .pluck()
      .all();
    expect(missing).toEqual([...gone, ...goneHour].sort());
    expect(db.prepare("SELECT count(*) FROM segments WHERE state = 'complete'").pluck().get()).toBe(36 - 8);
    // Once missing, never reported again.
    expect((await r.sweep(100)).missing).toEqual([]);
    db.close();
  });
});
