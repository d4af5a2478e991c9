import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Pscsd } from "../../src/compose/daemon.js";
import {
  type Client,
  daemonDir,
  FORM_PDF,
  insertUserRow,
  type LocalCatalog,
  login,
  openLocalCatalog,
  problemBody,
  SAMPLE_START,
  sampleSegment,
  seedSegment,
  seedUsers,
  startInProcess,
  type TestDaemonDir,
} from "../helpers/pscsd.js";

/**
 * The rules of hold requests through the real HTTP API and a real catalog: who may decide a request
 * (never the person who entered it), how much footage one request may protect, the date the form was
 * received, and the commander's overdue requests in the hold log, health and metrics.
 */

const DAY = 86_400_000;
let d: TestDaemonDir;
let daemon: Pscsd;
let local: LocalCatalog;
let records: Client;
let records2: Client;
let commander: Client;
let commander2: Client;
let both: Client;
let ops: Client;

type Problem = { status: number; detail: string; errors?: { field: string; message: string }[] };
type Hold = { id: number; status: string; overdue: boolean };

const request = (over: Record<string, unknown> = {}) => ({
  formNumber: "PSCS-H-0100",
  receivedOn: "2026-01-02",
  requestedBy: "Det. A. Example",
  agency: "Norwich Police Department",
  caseNumber: "26-000100",
  legalBasis: "criminal",
  reason: "Robbery at the bus station",
  ranges: [{ camera: "cam1", from: SAMPLE_START - 60_000, to: SAMPLE_START + 60_000 }],
  form: { contentType: "application/pdf", data: FORM_PDF.toString("base64") },
  ...over,
});

const enter = async (c: Client, over: Record<string, unknown> = {}): Promise<Hold> => {
  const res = await c.request("POST", "/api/holds", request(over));
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as Hold;
};

const refusal = (res: Response) => problemBody<Problem>(res);

beforeAll(async () => {
  d = await daemonDir();
  local = openLocalCatalog(d.configFile);
  await seedUsers(local, {
    records1: ["records"],
    records2: ["records"],
    commander1: ["commander"],
    commander2: ["commander"],
    ops1: ["ops"],
  });
  // One person holding both roles, as the admin flow should no longer make.
  await insertUserRow(local, "both1", ["records", "commander"]);
  seedSegment(d, await sampleSegment(d.dir));
  daemon = await startInProcess(d);
  [records, commander, commander2, both, ops, records2] = (await Promise.all(
    ["records1", "commander1", "commander2", "both1", "ops1", "records2"].map((u) => login(daemon.url, u)),
  )) as [Client, Client, Client, Client, Client, Client];
});
afterAll(async () => {
  await daemon?.stop();
  local?.close();
});

describe("separation of duties", () => {
  it("never lets the person who entered a request approve, refuse or release it; another commander can", async () => {
    const own = await enter(both, { formNumber: "PSCS-H-0101" });
    for (const [verb, body] of [
      ["approve", { note: "mine" }],
      ["refuse", { reason: "mine" }],
    ] as const) {
      const res = await both.request("POST", `/api/holds/${own.id}/${verb}`, body);
      expect(res.status, verb).toBe(403);
      expect((await refusal(res)).detail).toMatch(/entered this request; another commander must decide it/);
    }
    expect(
      (await local.audit.list({ target: `hold:${own.id}`, outcome: "denied", order: "asc" })).map(
        (e) => `${e.action} ${e.actor} ${e.role}`,
      ),
    ).toEqual(["hold.approve user:both1 commander", "hold.refuse user:both1 commander"]);
    expect(local.db.prepare("SELECT status, decided_by FROM holds WHERE id = ?").get(own.id)).toEqual({
      status: "requested",
      decided_by: null,
    });

    // A different commander decides it; its enterer still cannot release it.
    const approved = await commander.request("POST", `/api/holds/${own.id}/approve`, { note: "ok" });
    expect(approved.status).toBe(200);
    expect(((await approved.json()) as Hold).status).toBe("active");
    const release = await both.request("POST", `/api/holds/${own.id}/release`, { reason: "closed" });
    expect(release.status).toBe(403);
    expect(await local.audit.list({ action: "hold.release", outcome: "denied" })).toHaveLength(1);
    const released = await commander2.request("POST", `/api/holds/${own.id}/release`, { reason: "closed" });
    expect(released.status).toBe(200);

    // The two-role person is a commander for everyone else's requests.
    const other = await enter(records, { formNumber: "PSCS-H-0102" });
    const refused = await both.request("POST", `/api/holds/${other.id}/refuse`, { reason: "no basis" });
    expect(refused.status).toBe(200);
    expect(((await refused.json()) as Hold).status).toBe("refused");
  });
});

describe("what one request may protect", () => {
  it("bounds the number of ranges, each range's span and their total, naming the field", async () => {
    const past = SAMPLE_START - 60 * DAY;
    const range = (i: number, days: number) => ({
      camera: "cam1",
      from: past + i * 10 * DAY,
      to: past + i * 10 * DAY + days * DAY,
    });
    const cases: [unknown[], string, RegExp][] = [
      [Array.from({ length: 21 }, (_, i) => range(0, i / 100)), "body.ranges", /at most 20 camera ranges/],
      [[range(0, 7), range(1, 7.01)], "body.ranges[1].to", /at most 7 days/],
      [[0, 1, 2, 3, 4].map((i) => range(i, 6.5)), "body.ranges", /at most 31 days in all/],
      [
        [{ camera: "cam1", from: SAMPLE_START, to: SAMPLE_START - 1 }],
        "body.ranges[0].to",
        /to end after it starts/,
      ],
    ];
    for (const [ranges, field, detail] of cases) {
      for (const path of ["/api/holds", "/api/holds/coverage"]) {
        const res = await records.request(
          "POST",
          path,
          path === "/api/holds" ? request({ ranges }) : { ranges },
        );
        const p = await refusal(res);
        expect(res.status, `${path} ${field}`).toBe(400);
        expect(p.errors?.[0]?.field, JSON.stringify(p)).toBe(field);
        expect(p.detail).toMatch(detail);
      }
    }
    // At the bounds: accepted.
    for (const ranges of [
      Array.from({ length: 20 }, (_, i) => range(i % 5, 1.55)),
      [0, 1, 2, 3].map((i) => range(i, 7)),
    ]) {
      const fine = await records.request("POST", "/api/holds/coverage", { ranges });
      expect(fine.status, await fine.clone().text()).toBe(200);
    }
  });

  it("refuses a form received in the future, whatever the time zone, and takes today's", async () => {
    const inTwoDays = new Date(Date.now() + 2 * DAY).toISOString().slice(0, 10);
    const res = await records.request("POST", "/api/holds", request({ receivedOn: inTwoDays }));
    const p = await refusal(res);
    expect(res.status).toBe(400);
    expect(p.errors?.[0]?.field).toBe("body.receivedOn");
    expect(p.detail).toMatch(/cannot have been received after today/);
    const today = new Date().toISOString().slice(0, 10);
    await enter(records, { formNumber: "PSCS-H-0103", receivedOn: today });
  });
});

describe("pending requests per person", () => {
  it("refuses a person's 21st pending request with a 409 naming the reason, audited, even in one burst", async () => {
    const burst = await Promise.all(
      Array.from({ length: 22 }, (_, i) =>
        records2.request("POST", "/api/holds", request({ formNumber: `PSCS-H-02${i}` })),
      ),
    );
    expect(burst.map((r) => r.status).sort()).toEqual([...Array(20).fill(201), 409, 409]);
    const p = (await refusal(burst.find((r) => r.status === 409) as Response)) as Problem & {
      reason: string;
      pending: number;
      limit: number;
    };
    expect(p).toMatchObject({ reason: "too many pending requests", pending: 20, limit: 20 });
    expect(p.detail).toMatch(/user:records2 has 20 hold requests awaiting a commander/);
    expect(
      await local.audit.list({ action: "hold.request", actor: "user:records2", outcome: "denied" }),
    ).toHaveLength(2);
    // Another person is not held back; a decided request frees a place.
    await enter(records, { formNumber: "PSCS-H-0300" });
    const mine = (await burst.find((r) => r.status === 201)?.json()) as Hold;
    await commander.request("POST", `/api/holds/${mine.id}/refuse`, { reason: "no basis" });
    await enter(records2, { formNumber: "PSCS-H-0301" });
  });
});

describe("overdue requests", () => {
  it("shows a request pending past overdueDays in the hold log, health and metrics", async () => {
    const late = await enter(records, { formNumber: "PSCS-H-0104" });
    const fresh = await enter(records, { formNumber: "PSCS-H-0105" });
    local.db
      .prepare("UPDATE holds SET entered_at = ? WHERE id = ?")
      .run(Date.now() - 3 * DAY - 60_000, late.id);

    const list = ((await (await commander.request("GET", "/api/holds")).json()) as { holds: Hold[] }).holds;
    expect(list.find((h) => h.id === late.id)?.overdue).toBe(true);
    expect(list.find((h) => h.id === fresh.id)?.overdue).toBe(false);
    expect(list.filter((h) => h.overdue).map((h) => h.id)).toEqual([late.id]);

    const csv = (await (await commander.request("GET", "/api/holds?format=csv")).text()).split("\r\n");
    expect(csv[0]).toMatch(/,overdue$/);
    expect(csv.find((l) => l.startsWith(`${late.id},`))).toMatch(/,OVERDUE$/);
    expect(csv.find((l) => l.startsWith(`${fresh.id},`))).toMatch(/,$/);
    const html = await (await commander.request("GET", "/api/holds?format=html")).text();
    expect(html).toMatch(new RegExp(`<tr class="overdue"[^>]*><td><a href="/api/holds/${late.id}">`));
    expect(html.match(/<tr class="overdue"/g)).toHaveLength(1);

    const health = (await (await ops.request("GET", "/api/health")).json()) as {
      purge: { holds: { overdueRequests: number; overdueAfterDays: number; oldestOverdueEnteredAt: number } };
    };
    expect(health.purge.holds).toMatchObject({ overdueRequests: 1, overdueAfterDays: 3 });
    expect(health.purge.holds.oldestOverdueEnteredAt).toBeLessThan(Date.now() - 3 * DAY);
    const metrics = await (await ops.request("GET", "/metrics")).text();
    expect(metrics).toMatch(/^pscs_hold_requests_overdue 1$/m);

    // Decided: no longer overdue.
    await commander.request("POST", `/api/holds/${late.id}/refuse`, { reason: "too late" });
    const after = ((await (await commander.request("GET", "/api/holds")).json()) as { holds: Hold[] }).holds;
    expect(after.some((h) => h.overdue)).toBe(false);
  });
});

describe("timeline bounds", () => {
  it("answers at most 31 days per query, naming query.to beyond it or before from", async () => {
    const from = new Date(SAMPLE_START - DAY).toISOString();
    const at = (days: number) => new Date(SAMPLE_START - DAY + days * DAY).toISOString();
    const ok = await records.request("GET", `/api/cameras/cam1/timeline?from=${from}&to=${at(31)}`);
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { spans: unknown[] }).spans).toHaveLength(1);
    for (const to of [at(31.001), at(-1)]) {
      const res = await records.request("GET", `/api/cameras/cam1/timeline?from=${from}&to=${to}`);
      const p = await refusal(res);
      expect(res.status).toBe(400);
      expect(p.errors?.[0]?.field).toBe("query.to");
    }
    const unknown = await records.request("GET", `/api/cameras/nope/timeline?from=${from}&to=${at(1)}`);
    expect(unknown.status).toBe(404);
    expect((await refusal(unknown)).errors?.[0]?.field).toBe("path.camera");
  });
});
