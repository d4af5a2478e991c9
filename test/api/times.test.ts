import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Pscsd } from "../../src/compose/daemon.js";
import {
  type Client,
  daemonDir,
  type LocalCatalog,
  login,
  openLocalCatalog,
  SAMPLE_START,
  sampleSegment,
  seedSegment,
  seedUsers,
  startInProcess,
} from "../helpers/pscsd.js";

/** Times typed into the API: ISO 8601 only, read in site.timezone when they carry no offset. */

let daemon: Pscsd;
let local: LocalCatalog;
let records: Client;

type Problem = { status: number; errors?: { field: string; message: string }[] };

beforeAll(async () => {
  const d = await daemonDir({}, { site: { name: "Norwich", timezone: "America/New_York" } });
  local = openLocalCatalog(d.configFile);
  await seedUsers(local, { records1: ["records"] });
  seedSegment(d, await sampleSegment(d.dir));
  daemon = await startInProcess(d);
  records = await login(daemon.url, "records1");
});
afterAll(async () => {
  await daemon?.stop();
  local?.close();
});

describe("typed times in the API", () => {
  it("reads an offset-less timeline range in the site's zone and echoes the range in UTC", async () => {
    const res = await records.request(
      "GET",
      "/api/cameras/cam1/timeline?from=2025-12-31T19:00&to=2025-12-31T19:02",
    );
    expect(res.status).toBe(200);
    const t = (await res.json()) as Record<string, unknown>;
    expect(t).toMatchObject({
      fromMs: SAMPLE_START,
      toMs: SAMPLE_START + 120_000,
      spans: [{ startMs: SAMPLE_START, segments: 1 }],
      range: { from: "2026-01-01T00:00:00Z", to: "2026-01-01T00:02:00Z", timeZone: "America/New_York" },
    });
  });

  it("refuses non-ISO and nonexistent local times with a 400 naming the field", async () => {
    const cases: [string, string, RegExp][] = [
      ["from=12%2F01%2F2026%2005%3A44&to=2026-12-01T06:00", "query.from", /expected an ISO 8601 time/],
      ["from=2026-03-08T01:00&to=2026-03-08T02:30", "query.to", /does not exist in America\/New_York/],
      ["from=2026-11-01T01:30&to=2026-11-01T03:00", "query.from", /happens twice in America\/New_York/],
    ];
    for (const [query, field, message] of cases) {
      const res = await records.request("GET", `/api/cameras/cam1/timeline?${query}`);
      expect(res.status).toBe(400);
      const p = (await res.json()) as Problem;
      expect(p.errors?.[0]?.field).toBe(field);
      expect(p.errors?.[0]?.message).toMatch(message);
    }
    const cov = await records.request("POST", "/api/holds/coverage", {
      ranges: [{ camera: "cam1", from: "12/31/2025 19:00", to: "2025-12-31T19:02" }],
    });
    expect(cov.status).toBe(400);
    expect(((await cov.json()) as Problem).errors?.[0]?.field).toBe("body.ranges[0].from");
  });

  it("reads a hold range's typed times in the site's zone", async () => {
    const res = await records.request("POST", "/api/holds/coverage", {
      ranges: [{ camera: "cam1", from: "2025-12-31T19:00", to: SAMPLE_START + 120_000 }],
    });
    expect(res.status).toBe(200);
    const { coverage } = (await res.json()) as { coverage: { fromMs: number; toMs: number }[] };
    expect(coverage[0]).toMatchObject({ fromMs: SAMPLE_START, toMs: SAMPLE_START + 120_000 });
  });
});
