import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { drawSample } from "../../src/audit/sample.js";
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
 * Export requests through the real HTTP API and a real catalog: the legal basis the policy demands
 * (each refusal naming its field and quoting the policy sentence), the hold every export belongs to,
 * the two-person rule, cancellation, and the audit entries of each.
 */

let d: TestDaemonDir;
let daemon: Pscsd;
let local: LocalCatalog;
let records: Client;
let records2: Client;
let commander: Client;
let commander2: Client;
let both: Client;
let dispatcher: Client;

// The policy's sentences, as "Storage & Archive Procedures" has them.
const STORAGE_1 =
  "All recordings, unless being used in a criminal investigation or prosecution shall be destroyed or deleted in accordance with the State of Connecticut Retention Schedule after thirty (30) days.";
const STORAGE_2 =
  "No images will be stored absent a formal written request on forms provided by the Norwich Police Department.";
const STORAGE_4 =
  "Images collected by the PSCS shall not be made available to parties or discoverable in civil disputes between private litigants except pursuant to an order issued by a Judge of the Superior Court of Connecticut.";
const STORAGE_5 =
  "Images collected by the PSCS shall not be made available to other governmental agencies absent a formal written request.";

type Problem = {
  status: number;
  detail: string;
  errors?: { field: string; message: string }[];
  policy?: { rule: string; text: string };
};
type Export = {
  id: number;
  hold: number;
  status: string;
  requestedBy: string;
  decidedBy: string | null;
  error: string | null;
  basis: { type: string; scan?: { file: string; sha256: string; type: string; bytes: number } };
  trail?: { action: string; outcome: string; actor: string }[];
};

const scan = { contentType: "application/pdf", data: FORM_PDF.toString("base64") };
const RANGE = { camera: "cam1", from: SAMPLE_START - 60_000, to: SAMPLE_START + 60_000 };
const recipient = {
  name: "A. Lawyer",
  organisation: "Example & Partners LLP",
  delivery: "in person, USB drive",
};
const criminal = { type: "criminal", caseNumber: "26-000500", requestingOfficer: "Det. A. Example" };
const civilOrder = (over: Record<string, unknown> = {}) => ({
  type: "court_order",
  dispute: "civil",
  court: "Superior Court of Connecticut",
  docketNumber: "NNH-CV26-6000001-S",
  judge: "Hon. J. Example",
  orderDate: "2026-01-05",
  scan,
  ...over,
});
const agency = (over: Record<string, unknown> = {}) => ({
  type: "agency_request",
  agency: "Connecticut State Police",
  requestNumber: "CSP-2026-17",
  requestDate: "2026-01-04",
  scan,
  ...over,
});
const body = (over: Record<string, unknown> = {}) => ({
  basis: criminal,
  recipient,
  purpose: "Prosecution of case 26-000500",
  ranges: [RANGE],
  ...over,
});

const enter = async (c: Client, over: Record<string, unknown> = {}): Promise<Export> => {
  const res = await c.request("POST", "/api/exports", body(over));
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as Export;
};

const refusal = (res: Response) => problemBody<Problem>(res);

const holdCount = () => (local.db.prepare("SELECT count(*) n FROM holds").get() as { n: number }).n;

beforeAll(async () => {
  d = await daemonDir();
  local = openLocalCatalog(d.configFile);
  await seedUsers(local, {
    records1: ["records"],
    records2: ["records"],
    commander1: ["commander"],
    commander2: ["commander"],
    dispatcher1: ["dispatcher"],
  });
  // One person holding both roles, as an older catalog may hold (the admin flow no longer makes one).
  await insertUserRow(local, "both1", ["records", "commander"]);
  seedSegment(d, await sampleSegment(d.dir));
  daemon = await startInProcess(d);
  [records, records2, commander, commander2, both, dispatcher] = (await Promise.all(
    ["records1", "records2", "commander1", "commander2", "both1", "dispatcher1"].map((u) =>
      login(daemon.url, u),
    ),
  )) as [Client, Client, Client, Client, Client, Client];
});
afterAll(async () => {
  await daemon?.stop();
  local?.close();
});

describe("the legal basis", () => {
  it("refuses each basis the policy does not allow, naming the field and quoting the rule, and audits the attempt", async () => {
    const inTwoDays = new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10);
    const cases: [string, Record<string, unknown>, string, string, RegExp][] = [
      [
        "civil order of a federal court",
        civilOrder({ court: "United States District Court for the District of Connecticut" }),
        "body.basis.court",
        STORAGE_4,
        /only an order of the Superior Court of Connecticut/,
      ],
      [
        "civil order of another state's court",
        civilOrder({ court: "Superior Court of California" }),
        "body.basis.court",
        STORAGE_4,
        /Superior Court of Connecticut/,
      ],
      [
        "civil order without its scan",
        civilOrder({ scan: undefined }),
        "body.basis.scan",
        STORAGE_4,
        /court order/,
      ],
      [
        "court order without a dispute",
        civilOrder({ dispute: undefined }),
        "body.basis.dispute",
        STORAGE_4,
        /civil/,
      ],
      ["court order without a judge", civilOrder({ judge: " " }), "body.basis.judge", STORAGE_4, /judge/],
      [
        "court order dated in the future",
        civilOrder({ orderDate: inTwoDays }),
        "body.basis.orderDate",
        STORAGE_4,
        /cannot be dated after today/,
      ],
      [
        "agency request without the written request",
        agency({ scan: undefined }),
        "body.basis.scan",
        STORAGE_5,
        /formal written request/,
      ],
      [
        "agency request whose scan is not a document",
        agency({ scan: { data: Buffer.from("just text").toString("base64") } }),
        "body.basis.scan",
        STORAGE_5,
        /application\/pdf/,
      ],
      [
        "agency request without its number",
        agency({ requestNumber: undefined }),
        "body.basis.requestNumber",
        STORAGE_5,
        /number/,
      ],
      [
        "agency request with no real date",
        agency({ requestDate: "2026-02-30" }),
        "body.basis.requestDate",
        STORAGE_5,
        /YYYY-MM-DD/,
      ],
      [
        "criminal basis without a case number",
        { ...criminal, caseNumber: "" },
        "body.basis.caseNumber",
        STORAGE_1,
        /case number/,
      ],
      [
        "criminal basis without the requesting officer",
        { type: "criminal", caseNumber: "26-1" },
        "body.basis.requestingOfficer",
        STORAGE_1,
        /officer or prosecutor/,
      ],
      [
        "criminal basis for footage not held (no written request to hold it on)",
        criminal,
        "body.hold",
        STORAGE_2,
        /no hold covers this footage/,
      ],
    ];
    const deniedBefore = (await local.audit.list({ action: "export.request", outcome: "denied" })).length;
    for (const [what, basis, field, policy, detail] of cases) {
      const res = await records.request("POST", "/api/exports", body({ basis }));
      const p = await refusal(res);
      expect(res.status, what).toBe(400);
      expect(p.errors?.[0]?.field, `${what}: ${JSON.stringify(p)}`).toBe(field);
      expect(p.detail, what).toMatch(detail);
      expect(p.policy?.text, what).toBe(policy);
      expect(p.policy?.rule, what).toMatch(/^Storage & Archive Procedures [1-5]$/);
    }
    // Nothing stored: no export, and no hold request made from a refused basis.
    expect(local.db.prepare("SELECT count(*) n FROM exports").get()).toEqual({ n: 0 });
    expect(holdCount()).toBe(0);
    const denied = await local.audit.list({ action: "export.request", outcome: "denied", order: "asc" });
    expect(denied).toHaveLength(deniedBefore + cases.length);
    expect(JSON.parse(denied.at(-1)?.details ?? "{}")).toMatchObject({
      basis: "criminal",
      recipient,
      purpose: "Prosecution of case 26-000500",
      field: "hold",
      policy: "Storage & Archive Procedures 2",
    });
    expect(denied.at(-1)).toMatchObject({ actor: "user:records1", role: "records" });
  });

  it("requires the recipient and the purpose, naming the field", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ recipient: { ...recipient, name: "" } }, "body.recipient.name"],
      [{ recipient: { name: "A", organisation: "B" } }, "body.recipient.delivery"],
      [{ purpose: "  " }, "body.purpose"],
      [{ basis: { type: "civil" } }, "body.basis.type"],
    ];
    for (const [over, field] of cases) {
      const res = await records.request("POST", "/api/exports", body(over));
      expect(res.status, field).toBe(400);
      expect((await refusal(res)).errors?.[0]?.field).toBe(field);
    }
  });

  it("refuses a role without exports.* with a 403", async () => {
    for (const [method, path] of [
      ["POST", "/api/exports"],
      ["GET", "/api/exports"],
    ] as const) {
      const res = await dispatcher.request(method, path, method === "POST" ? body() : undefined);
      expect(res.status, path).toBe(403);
      expect((await refusal(res)).detail).toMatch(/permission 'exports\./);
    }
  });
});

describe("the hold an export belongs to", () => {
  it("holds unheld footage first from a court order (the commander approves the hold before the export)", async () => {
    const e = await enter(records, {
      basis: civilOrder({ court: "State of Connecticut Superior Court, Judicial District of New London" }),
    });
    expect(e).toMatchObject({ status: "requested", requestedBy: "user:records1" });
    const sha = createHash("sha256").update(FORM_PDF).digest("hex");
    expect(e.basis.scan).toEqual({
      file: "documents/court-order.pdf",
      sha256: sha,
      type: "application/pdf",
      bytes: FORM_PDF.length,
    });
    // The order served as the hold's written request.
    const hold = (await (await commander.request("GET", `/api/holds/${e.hold}`)).json()) as {
      status: string;
      legalBasis: string;
      enteredBy: string;
      form: { sha256: string };
      formNumber: string;
    };
    expect(hold).toMatchObject({
      status: "requested",
      legalBasis: "court_order",
      enteredBy: "user:records1",
      formNumber: "NNH-CV26-6000001-S",
      form: { sha256: sha },
    });

    // The hold awaits the commander: the export cannot be approved yet.
    const early = await commander.request("POST", `/api/exports/${e.id}/approve`, { note: "ok" });
    expect(early.status).toBe(409);
    expect((await refusal(early)).detail).toMatch(
      new RegExp(`hold ${e.hold} is requested.*awaits the commander`),
    );
    expect((await commander.request("POST", `/api/holds/${e.hold}/approve`, { note: "order" })).status).toBe(
      200,
    );
    const ok = await commander.request("POST", `/api/exports/${e.id}/approve`, { note: "per the order" });
    expect(ok.status, await ok.clone().text()).toBe(200);
    expect((await ok.json()) as Export).toMatchObject({ status: "queued", decidedBy: "user:commander1" });

    // A second export of the same footage belongs to the same hold: no new hold request.
    const holds = holdCount();
    const again = await enter(records, { basis: agency() });
    expect(again.hold).toBe(e.hold);
    expect(again.basis.scan?.file).toBe("documents/written-request.pdf");
    expect(holdCount()).toBe(holds);

    const shown = (await (await commander.request("GET", `/api/exports/${e.id}`)).json()) as Export;
    // After these, the approved export's production (pscsd's job, as the system: test/retention/export-jobs.test.ts).
    expect(shown.trail?.slice(0, 3).map((t) => `${t.action} ${t.outcome} ${t.actor}`)).toEqual([
      "export.request success user:records1",
      "export.approve denied user:commander1",
      "export.approve success user:commander1",
    ]);
    expect(
      shown.trail?.slice(3).every((t) => t.actor === "system" && t.action.startsWith("export.produce")),
    ).toBe(true);
    // The random inspection draws exports too.
    const sample = await drawSample(local.audit, { count: 50, seed: "exports" });
    expect(sample.items.map((i) => i.target)).toContain(`export:${e.id}`);
    const [request] = await local.audit.list({ target: `export:${e.id}`, action: "export.request" });
    expect(JSON.parse(request?.details ?? "{}")).toMatchObject({
      basis: "court_order",
      hold: e.hold,
      recipient,
      purpose: "Prosecution of case 26-000500",
      holdRequested: true,
    });
  });

  it("takes a named hold only if it covers every range and is not refused or released", async () => {
    const e = await enter(records, {
      basis: civilOrder({ court: "Connecticut Superior Court" }),
    });
    const outside = { camera: "cam1", from: SAMPLE_START + 120_000, to: SAMPLE_START + 180_000 };
    const res = await records.request(
      "POST",
      "/api/exports",
      body({ hold: e.hold, ranges: [RANGE, outside] }),
    );
    expect(res.status).toBe(400);
    expect((await refusal(res)).errors?.[0]?.field).toBe("body.ranges[1]");
    const missing = await records.request("POST", "/api/exports", body({ hold: 999 }));
    expect((await refusal(missing)).errors?.[0]?.field).toBe("body.hold");
    // A criminal export of held footage needs no scan: the hold has its written form.
    const held = await enter(records, { hold: e.hold });
    expect(held.hold).toBe(e.hold);
  });
});

describe("two-person rule", () => {
  it("never lets the person who entered an export approve or refuse it, even holding both roles", async () => {
    const own = await enter(both);
    for (const [verb, b] of [
      ["approve", { note: "mine" }],
      ["refuse", { reason: "mine" }],
    ] as const) {
      const res = await both.request("POST", `/api/exports/${own.id}/${verb}`, b);
      expect(res.status, verb).toBe(403);
      expect((await refusal(res)).detail).toMatch(
        /entered this export request; another commander must decide it/,
      );
    }
    const denied = await local.audit.list({ target: `export:${own.id}`, outcome: "denied", order: "asc" });
    expect(denied.map((e) => `${e.action} ${e.actor} ${e.role}`)).toEqual([
      "export.approve user:both1 commander",
      "export.refuse user:both1 commander",
    ]);
    expect(JSON.parse(denied[0]?.details ?? "{}")).toMatchObject({ basis: "criminal", recipient });
    // Records cannot approve at all; another commander can.
    expect((await records.request("POST", `/api/exports/${own.id}/approve`, { note: "x" })).status).toBe(403);
    const ok = await commander2.request("POST", `/api/exports/${own.id}/approve`, { note: "ok" });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as Export).status).toBe("queued");
    // Decided once: a second decision is a conflict.
    expect(
      (await commander.request("POST", `/api/exports/${own.id}/refuse`, { reason: "late" })).status,
    ).toBe(409);

    // The two-role person decides everyone else's.
    const other = await enter(records);
    const refused = await both.request("POST", `/api/exports/${other.id}/refuse`, { reason: "no basis" });
    expect(refused.status).toBe(200);
    expect((await refused.json()) as Export).toMatchObject({
      status: "refused",
      decidedBy: "user:both1",
      error: "refused by user:both1: no basis",
    });
  });
});

describe("cancellation", () => {
  it("lets the requester or a commander cancel, audited; nobody else", async () => {
    const mine = await enter(records);
    const res = await records2.request("POST", `/api/exports/${mine.id}/cancel`, { reason: "not mine" });
    expect(res.status).toBe(403);
    expect((await refusal(res)).detail).toMatch(/only the person who entered it or a commander/);
    const ok = await records.request("POST", `/api/exports/${mine.id}/cancel`, { reason: "entered twice" });
    expect((await ok.json()) as Export).toMatchObject({ status: "cancelled" });
    expect(
      (await records.request("POST", `/api/exports/${mine.id}/cancel`, { reason: "again" })).status,
    ).toBe(409);

    // A commander cancels another's (a queued or running one: test/retention/export-jobs.test.ts,
    // since here pscsd's job would take an approved one at once).
    const other = await enter(records);
    const byCommander = await commander2.request("POST", `/api/exports/${other.id}/cancel`, {
      reason: "withdrawn",
    });
    expect((await byCommander.json()) as Export).toMatchObject({
      status: "cancelled",
      error: "cancelled by user:commander2: withdrawn",
    });
    expect(
      (await local.audit.list({ action: "export.cancel", order: "asc" })).map(
        (e) => `${e.actor} ${e.outcome}`,
      ),
    ).toEqual([
      "user:records2 denied",
      "user:records1 success",
      "user:records1 denied",
      "user:commander2 success",
    ]);

    const list = (await (await commander.request("GET", "/api/exports")).json()) as { exports: Export[] };
    expect(list.exports[0]?.id).toBe(other.id);
    expect(list.exports.find((e) => e.id === mine.id)?.status).toBe("cancelled");
  });
});
