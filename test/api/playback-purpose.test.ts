import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Gaps } from "../../src/catalog/footage/gaps.js";
import { Segments } from "../../src/catalog/footage/segments.js";
import type { Pscsd } from "../../src/compose/daemon.js";
import { ServiceError } from "../../src/errors/service-error.js";
import { PURPOSE_MAX } from "../../src/footage/purpose.js";
import { RecordingsService } from "../../src/footage/recordings.js";
import { createLogger } from "../../src/log/logger.js";
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
  type TestDaemonDir,
} from "../helpers/pscsd.js";

/**
 * Footage is seen only with a stated purpose, and the audit entry keeps it: a playback or segment
 * download without one (missing, blank, ill-formed, too long) is a 400 naming query.purpose and
 * leaves no view in the trail; the service refuses it too, whoever calls it.
 */

let d: TestDaemonDir;
let daemon: Pscsd;
let local: LocalCatalog;
let records: Client;
const range = `from=${SAMPLE_START}&to=${SAMPLE_START + 2_000}`;
const views = async () =>
  (await local.audit.list({ action: "video." })).filter((e) => e.outcome === "success");

beforeAll(async () => {
  d = await daemonDir();
  seedSegment(d, await sampleSegment(d.dir));
  local = openLocalCatalog(d.configFile);
  await seedUsers(local, { records1: ["records"] });
  daemon = await startInProcess(d);
  records = await login(daemon.url, "records1");
}, 60_000);
afterAll(async () => {
  await daemon?.stop();
  local?.close();
});

describe("a stated purpose for seeing footage", () => {
  const bad: [string, string, RegExp][] = [
    ["missing", "", /expected the purpose/],
    ["blank", "&purpose=%20%09%20", /expected the purpose/],
    ["a lone surrogate", "&purpose=case%ED%A0%80", /not valid percent-encoded UTF-8/],
    ["a NUL", "&purpose=case%00", /NUL/],
    ["too long", `&purpose=${"x".repeat(PURPOSE_MAX + 1)}`, /500/],
  ];
  const refusal = async (res: Response, message: RegExp) => {
    expect(res.status).toBe(400);
    const p = (await res.json()) as { errors: { field: string; message: string }[] };
    expect(p.errors.map((e) => e.field)).toEqual(["query.purpose"]);
    expect(p.errors[0]?.message).toMatch(message);
  };
  it.each(bad)(
    "refuses a playback with the purpose %s (400, query.purpose), nothing audited as a view",
    async (_, q, message) => {
      await refusal(await records.request("GET", `/api/cameras/cam1/playback?${range}${q}`), message);
      expect(await views()).toEqual([]);
    },
  );

  it.each(bad)(
    "refuses a segment download with the purpose %s (400, query.purpose)",
    async (_, q, message) => {
      await refusal(await records.request("GET", `/api/segments/1/file?${q.slice(1)}`), message);
      expect(await views()).toEqual([]);
    },
  );

  it("keeps the purpose, trimmed, in the playback's and the download's audit entries", async () => {
    const purpose = "case 26-000123 — café robbery";
    const q = `purpose=${encodeURIComponent(`  ${purpose} `)}`;
    const play = await records.request("GET", `/api/cameras/cam1/playback?${range}&${q}`);
    expect(play.status).toBe(200);
    expect((await play.arrayBuffer()).byteLength).toBeGreaterThan(1000);
    const file = await records.request("GET", `/api/segments/1/file?${q}`);
    expect(file.status).toBe(200);
    await file.arrayBuffer();
    // As an inspector reads it through the API.
    const auditor = await seedAuditor();
    const listed = (await (await auditor.request("GET", "/api/audit?action=video.")).json()) as {
      entries: { action: string; details: string }[];
    };
    const seen = listed.entries.map((e) => [e.action, JSON.parse(e.details).purpose]);
    expect(seen).toEqual(
      expect.arrayContaining([
        ["video.playback", purpose],
        ["video.segment", purpose],
      ]),
    );
    expect(seen).toHaveLength(2);
  });

  it("is the service's rule: a caller other than the route is refused without one, unaudited", async () => {
    const service = new RecordingsService({
      segments: new Segments(local.db),
      gaps: new Gaps(local.db),
      root: local.config.storage.recordings,
      cameras: new Set(["cam1"]),
      audit: local.audit,
      log: createLogger({ name: "test", level: "silent" }),
      maxPlaybacksPerUser: 1,
      stalledMs: 5_000,
    });
    const by = { actor: "user:records1", role: "records", client: "test" };
    const before = (await local.audit.list({ action: "video." })).length;
    for (const purpose of ["", "   ", "a\0b"]) {
      const out = new PassThrough();
      await expect(
        service.playback("cam1", SAMPLE_START, SAMPLE_START + 1_000, purpose, by, out, () => {}),
      ).rejects.toMatchObject({ kind: "invalid", field: "purpose" });
      const sent: string[] = [];
      await expect(
        service.segment(1, purpose, by, null, out, async (file) => {
          sent.push(file);
        }),
      ).rejects.toBeInstanceOf(ServiceError);
      expect(sent).toEqual([]);
    }
    expect((await local.audit.list({ action: "video." })).length).toBe(before);
  });
});

async function seedAuditor(): Promise<Client> {
  await seedUsers(local, { aud1: ["auditor"] });
  return login(daemon.url, "aud1");
}
