import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openCatalog } from "../../src/catalog/catalog.js";
import { Gaps } from "../../src/catalog/footage/gaps.js";
import { runPscs } from "../helpers/process.js";
import { daemonDir, SAMPLE_START, sampleSegment, seedSegment } from "../helpers/pscsd.js";

const pscs = runPscs;

describe("pscs cameras / timeline", () => {
  it("show what the catalog holds, spans and gaps with causes, and refuse bad input clearly", async () => {
    const d = await daemonDir();
    seedSegment(d, await sampleSegment(d.dir));
    const db = openCatalog(join(d.dir, "catalog.db"));
    const store = new Gaps(db);
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
    expect(bad.stderr).toMatch(/--from: expected an ISO 8601 time .* or epoch ms, got 'yesterday'/);
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
    expect(long.stderr).toMatch(/\npscs: --to: a timeline covers at most 31 days\n$/);
  });

  it("reads a typed time in site.timezone whatever the TZ it runs under, echoes it in local time and UTC, refuses non-ISO", async () => {
    const d = await daemonDir({}, { site: { name: "Norwich", timezone: "America/New_York" } });
    seedSegment(d, await sampleSegment(d.dir));
    const args = [
      "timeline",
      "cam1",
      "--from",
      "2025-12-31T19:00",
      "--to",
      "2025-12-31 19:02",
      "-c",
      d.configFile,
    ];
    const runs = await Promise.all(
      ["America/New_York", "Asia/Tokyo", "UTC"].map((TZ) =>
        pscs([...args, "--json"], "", { ...process.env, TZ }),
      ),
    );
    for (const r of runs) {
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({
        fromMs: SAMPLE_START,
        toMs: SAMPLE_START + 120_000,
        spans: [{ startMs: SAMPLE_START, segments: 1 }],
      });
      expect(r.stderr).toBe(
        "from 2025-12-31 19:00 EST (2026-01-01T00:00:00Z)\nto 2025-12-31 19:02 EST (2026-01-01T00:02:00Z)\n",
      );
    }
    // An explicit offset is taken as written; the echo still shows the site's local time.
    const z = await pscs(
      [
        "timeline",
        "cam1",
        "--from",
        "2026-01-01T09:00+09:00",
        "--to",
        "2026-01-01T00:02Z",
        "-c",
        d.configFile,
      ],
      "",
      { ...process.env, TZ: "Asia/Tokyo" },
    );
    expect(z.stderr).toContain("from 2025-12-31 19:00 EST (2026-01-01T00:00:00Z)");
    for (const TZ of ["America/New_York", "Asia/Tokyo"]) {
      const us = await pscs(
        ["timeline", "cam1", "--from", "12/01/2026 05:44", "--to", "2026-12-01T06:00", "-c", d.configFile],
        "",
        { ...process.env, TZ },
      );
      expect(us.code).toBe(2);
      expect(us.stderr).toBe(
        "pscs: --from: expected an ISO 8601 time (2026-11-24T08:00, 2026-11-24T13:00:00Z) or epoch ms, got '12/01/2026 05:44'\n",
      );
      const gap = await pscs(["audit", "export", "--from", "2026-03-08T02:30", "-c", d.configFile], "", {
        ...process.env,
        TZ,
      });
      expect(gap.code).toBe(2);
      expect(gap.stderr).toMatch(/^pscs: --from: '2026-03-08T02:30' does not exist in America\/New_York/);
    }
    // The hold request's ranges (the field report: "cam1,12/01/2026 05:44,…" was accepted).
    const hold = (range: string) =>
      pscs([
        ...[
          "hold",
          "request",
          "-c",
          d.configFile,
          "--as",
          "clerk",
          "--form",
          join(d.dir, "no-such-scan.pdf"),
        ],
        ...[
          "--form-number",
          "F-1",
          "--received-on",
          "2026-01-02",
          "--requested-by",
          "Det. X",
          "--agency",
          "NPD",
        ],
        ...["--case", "26-1", "--basis", "criminal", "--reason", "r", "--range", range],
      ]);
    const us = await hold("cam1,12/01/2026 05:44,12/01/2026 06:00");
    expect(us.code).toBe(2);
    expect(us.stderr).toMatch(
      /^pscs: --range FROM: expected an ISO 8601 time .*, got '12\/01\/2026 05:44'$/m,
    );
    const local = await hold("cam1,2025-12-31T19:00,2025-12-31T19:01");
    expect(local.stderr).toContain(
      "cam1 from 2025-12-31 19:00 EST (2026-01-01T00:00:00Z)\ncam1 to 2025-12-31 19:01 EST (2026-01-01T00:01:00Z)\n",
    );
    const exported = await pscs(["audit", "export", "--from", "2026-11-01T01:30-05:00", "-c", d.configFile]);
    expect(exported.code).toBe(0);
    expect(exported.stderr).toBe("from 2026-11-01 01:30 EST (2026-11-01T06:30:00Z)\n");
  });
});
