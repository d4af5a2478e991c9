import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Pscsd } from "../../src/compose/daemon.js";
import {
  type Client,
  daemonDir,
  FORM_PDF,
  type LocalCatalog,
  login,
  openLocalCatalog,
  SAMPLE_START,
  sampleSegment,
  seedSegment,
  seedUsers,
  startInProcess,
} from "../helpers/pscsd.js";

/**
 * A problem names the place in the request that was wrong in one notation, whether the schema or a
 * service found it: `path.camera`, `query.to`, `body.ranges[0].from`.
 */

type Problem = { status: number; detail: string; errors?: { field: string; message: string }[] };

let daemon: Pscsd;
let local: LocalCatalog;
let admin: Client;
let records: Client;
let auditor: Client;

const T0 = new Date(SAMPLE_START).toISOString();
const T1 = new Date(SAMPLE_START + 60_000).toISOString();
const holdRequest = (ranges: unknown) => ({
  formNumber: "PSCS-H-0042",
  receivedOn: "2026-01-02",
  requestedBy: "Det. A. Example",
  agency: "Norwich Police Department",
  caseNumber: "26-000042",
  legalBasis: "criminal",
  reason: "Robbery at the bus station",
  ranges,
  form: { contentType: "application/pdf", data: FORM_PDF.toString("base64") },
});

beforeAll(async () => {
  const d = await daemonDir();
  local = openLocalCatalog(d.configFile);
  await seedUsers(local, {
    admin1: ["admin"],
    records1: ["records"],
    disp1: ["dispatcher"],
    aud1: ["auditor"],
  });
  seedSegment(d, await sampleSegment(d.dir));
  daemon = await startInProcess(d);
  [admin, records, auditor] = (await Promise.all(
    ["admin1", "records1", "aud1"].map((u) => login(daemon.url, u)),
  )) as [Client, Client, Client];
});
afterAll(async () => {
  await daemon?.stop();
  local?.close();
});

describe("problem fields", () => {
  it("name the path, query or body place, whoever refused the request", async () => {
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const future2 = new Date(Date.now() + 3_660_000).toISOString();
    const cases: [Client, string, string, unknown, number, string][] = [
      // services
      [records, "GET", `/api/cameras/nope/timeline?from=${T0}&to=${T1}`, undefined, 404, "path.camera"],
      [records, "GET", `/api/cameras/cam1/timeline?from=${T1}&to=${T0}`, undefined, 400, "query.to"],
      [
        records,
        "GET",
        `/api/cameras/cam1/playback?from=${T1}&to=${T0}&purpose=x`,
        undefined,
        400,
        "query.to",
      ],
      [records, "GET", "/api/segments/999999/file?purpose=x", undefined, 404, "path.id"],
      [admin, "PATCH", "/api/users/nobody", { disabled: true }, 404, "path.username"],
      [admin, "DELETE", "/api/tokens/t_000000000000", undefined, 404, "path.id"],
      [admin, "POST", "/api/tokens", { name: "x", role: "ops", extra: 1 }, 400, "body.extra"],
      [
        records,
        "POST",
        "/api/holds",
        holdRequest([{ camera: "cam1", from: T1, to: T0 }]),
        400,
        "body.ranges[0].to",
      ],
      [
        records,
        "POST",
        "/api/holds",
        holdRequest([
          { camera: "cam1", from: T0, to: T1 },
          { camera: "cam1", from: future, to: future2 },
        ]),
        400,
        "body.ranges[1].from",
      ],
      [
        records,
        "POST",
        "/api/holds",
        holdRequest([{ camera: "cam2", from: T0, to: T1 }]),
        400,
        "body.ranges[0].camera",
      ],
      // schemas
      [
        records,
        "POST",
        "/api/holds/coverage",
        { ranges: [{ camera: "cam1", from: "soon", to: T1 }] },
        400,
        "body.ranges[0].from",
      ],
      [auditor, "GET", "/api/audit?limit=many", undefined, 400, "query.limit"],
      [auditor, "GET", "/api/audit?nonsense=1", undefined, 400, "query.nonsense"],
      [admin, "GET", "/api/users/NOT-A-NAME", undefined, 400, "path.username"],
      [admin, "POST", "/api/tokens", { name: "x", role: "ops", "a.b": 1 }, 400, 'body["a.b"]'],
    ];
    for (const [who, method, path, body, status, field] of cases) {
      const res = await who.request(method, path, body);
      const p = (await res.json()) as Problem;
      const what = `${method} ${path}: ${JSON.stringify(p)}`;
      expect(res.status, what).toBe(status);
      expect(res.headers.get("content-type"), what).toMatch(/application\/problem\+json/);
      expect(p.errors?.[0]?.field, what).toBe(field);
      expect(p.detail.startsWith(`${field}: `), what).toBe(true);
    }
  });
});
