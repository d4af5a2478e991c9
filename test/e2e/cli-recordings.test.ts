import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SegmentStore } from "../../recorder/segment-store.js";
import { openCatalog } from "../../src/catalog/catalog.js";
import { runPscs } from "../helpers/process.js";
import { daemonDir, SAMPLE_START, sampleSegment, seedSegment } from "../helpers/pscsd.js";

const pscs = runPscs;

describe("pscs cameras / timeline", () => {
  it("show what the catalog holds, spans and gaps with causes, and refuse bad input clearly", async () => {
    const d = await daemonDir();
    seedSegment(d, await sampleSegment(d.dir));
    const db = openCatalog(join(d.dir, "catalog.db"));
    const store = new SegmentStore(db);
    store.openGap("cam1", SAMPLE_START + 2_000, "stalled: no media for 15 s");
    store.closeGap("cam1", SAMPLE_START + 60_000);
    db.close();

    const cams = JSON.parse((await pscs(["cameras", "-c", d.configFile, "--json"])).stdout) as {
      id: string;
      segments: number;
      firstMs: number;
    }[];
    expect(cams).toMatchObject([{ id: "cam1", segments: 1, firstMs: SAMPLE_START }]);

    const from = new Date(SAMPLE_START - 1_000).toISOString();
    const to = new Date(SAMPLE_START + 120_000).toISOString();
    const t = await pscs(["timeline", "cam1", "--from", from, "--to", to, "-c", d.configFile]);
    expect(t.code).toBe(0);
    expect(t.stdout.trim().split("\n")).toEqual([
      "recorded  2026-01-01T00:00:00.000Z → 2026-01-01T00:00:02.000Z  (1 segments)",
      "GAP       2026-01-01T00:00:02.000Z → 2026-01-01T00:01:00.000Z  stalled: no media for 15 s",
    ]);
    const j = JSON.parse(
      (await pscs(["timeline", "cam1", "--from", from, "--to", to, "-c", d.configFile, "--json"])).stdout,
    );
    expect(j.segments[0]).toMatchObject({
      startMs: SAMPLE_START,
      endMs: SAMPLE_START + 2_000,
      state: "complete",
    });

    const unknown = await pscs(["timeline", "gate9", "--from", from, "--to", to, "-c", d.configFile]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe("pscs: camera 'gate9' is not configured (configured: cam1)\n");
    const bad = await pscs(["timeline", "cam1", "--from", "yesterday", "--to", to, "-c", d.configFile]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--from: expected an ISO 8601 time or epoch ms, got 'yesterday'/);
    const long = await pscs([
      "timeline",
      "cam1",
      "--from",
      from,
      "--to",
      String(SAMPLE_START + 32 * 86_400_000),
      "-c",
      d.configFile,
    ]);
    expect(long.code).toBe(2);
    expect(long.stderr).toBe("pscs: to: a timeline covers at most 31 days from 'from'\n");
  });
});
