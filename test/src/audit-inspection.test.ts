import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { AuditInspectionService } from "../../src/audit/inspection.js";
import { type AuditEntry, AuditLog } from "../../src/audit/log.js";
import type { ActionContext } from "../../src/auth/service.js";
import { openCatalog } from "../../src/catalog/catalog.js";
import { SqliteDirectory } from "../../src/catalog/directory/sqlite.js";
import { ServiceError } from "../../src/errors/service-error.js";

/** The audit log's reading side through its service, as any caller (route, command, job) reaches it. */

const auditor: ActionContext = { actor: "user:aud", role: "auditor", client: "10.0.0.9" };

async function fresh(): Promise<{ audit: AuditLog; inspection: AuditInspectionService }> {
  const audit = new AuditLog(new SqliteDirectory(openCatalog(":memory:")), { now: () => 1_700_000_000_000 });
  for (let i = 0; i < 6; i++) {
    await audit.append({ actor: "user:r", action: "hold.create", target: `hold:${i}`, outcome: "success" });
    await audit.append({ actor: "user:r", action: "auth.login", target: "user:r", outcome: "success" });
  }
  return { audit, inspection: new AuditInspectionService(audit) };
}

const entries = (audit: AuditLog, action: string): Promise<AuditEntry[]> =>
  audit.list({ action, limit: 1000 });

/** The details of the one entry of `action`, which must name the auditor as who, role and client. */
async function onlyDetails(audit: AuditLog, action: string): Promise<unknown> {
  const [entry, ...more] = await entries(audit, action);
  expect(more).toHaveLength(0);
  expect(entry).toMatchObject({ actor: "user:aud", role: "auditor", client: "10.0.0.9", outcome: "success" });
  return JSON.parse(entry?.details ?? "{}");
}

async function refusal(p: Promise<unknown>): Promise<ServiceError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ServiceError);
  return e as ServiceError;
}

async function drain(write: (out: PassThrough) => Promise<number>): Promise<{ n: number; text: string }> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on("data", (c: Buffer) => chunks.push(c));
  const n = await write(out);
  return { n, text: Buffer.concat(chunks).toString("utf8") };
}

describe("audit export through the service", () => {
  it("writes exactly one audit.export entry naming who and the filter, before any row is written", async () => {
    const { audit, inspection } = await fresh();
    const csv = await inspection.export({ action: "hold.", from: 0 }, auditor);
    expect(await onlyDetails(audit, "audit.export")).toEqual({ filter: { action: "hold.", from: 0 } });
    const { n, text } = await drain((out) => csv.writeTo(out));
    expect(n).toBe(6);
    expect(text.trim().split("\r\n")).toHaveLength(1 + 6);
    expect(await entries(audit, "audit.export")).toHaveLength(1);
  });

  it("refuses a malformed filter naming the field, and audits nothing", async () => {
    const { audit, inspection } = await fresh();
    const bad = await refusal(inspection.export({ action: "Hold" }, auditor));
    expect(bad).toMatchObject({ kind: "invalid", field: "action" });
    expect(bad.message).toMatch(/^action: expected an action such as 'auth.login'/);
    expect(await refusal(inspection.export({ outcome: "maybe" as "success" }, auditor))).toMatchObject({
      field: "outcome",
    });
    expect(await refusal(inspection.export({ actor: "" }, auditor))).toMatchObject({ field: "actor" });
    expect(await refusal(inspection.export({ from: 1.5 }, auditor))).toMatchObject({ field: "from" });
    expect(
      await refusal(inspection.export({ nonsense: 1 } as unknown as { from: number }, auditor)),
    ).toMatchObject({ field: "nonsense", message: "nonsense: unknown field" });
    expect(await entries(audit, "audit.")).toHaveLength(0);
  });
});

describe("audit sample through the service", () => {
  it("audits the draw: who, the seed, the count, the period and the items drawn", async () => {
    const { audit, inspection } = await fresh();
    const s = await inspection.sample({ count: 2, seed: "2026-Q3", from: 0, to: 2_000_000_000_000 }, auditor);
    expect(s.items).toHaveLength(2);
    expect(await onlyDetails(audit, "audit.sample")).toEqual({
      seed: "2026-Q3",
      count: 2,
      from: 0,
      to: 2_000_000_000_000,
      items: s.items.map((i) => i.target),
    });
    // The same seed draws the same items: the audited seed is enough to repeat the inspection.
    const again = await inspection.sample({ count: 2, seed: "2026-Q3" }, auditor);
    expect(again.items.map((i) => i.target)).toEqual(s.items.map((i) => i.target));
    expect(JSON.parse((await entries(audit, "audit.sample"))[1]?.details ?? "{}")).toMatchObject({
      from: null,
      to: null,
    });
  });

  it("draws four items when no count is given", async () => {
    const { inspection } = await fresh();
    expect((await inspection.sample({}, auditor)).items).toHaveLength(4);
  });

  it("refuses a bad count or period naming the field, and audits no draw", async () => {
    const { audit, inspection } = await fresh();
    for (const count of [0, 101, 2.5, Number.NaN])
      expect(await refusal(inspection.sample({ count }, auditor))).toMatchObject({
        kind: "invalid",
        field: "count",
      });
    expect(await refusal(inspection.sample({ from: -1 }, auditor))).toMatchObject({
      kind: "invalid",
      field: "from",
    });
    expect(await refusal(inspection.sample({ to: 1.5 }, auditor))).toMatchObject({ field: "to" });
    expect(await refusal(inspection.sample({ seed: "" }, auditor))).toMatchObject({ field: "seed" });
    expect(await entries(audit, "audit.sample")).toHaveLength(0);
  });
});

describe("audit listing through the service", () => {
  it("pages with next while a page is full, and refuses a page size out of bounds", async () => {
    const { inspection } = await fresh();
    const first = await inspection.list({ action: "hold.", limit: 4 }, auditor);
    expect(first.entries).toHaveLength(4);
    expect(first.next).toBe(first.entries.at(-1)?.seq);
    const rest = await inspection.list({ action: "hold.", limit: 4, after: first.next ?? 0 }, auditor);
    expect(rest.entries).toHaveLength(2);
    expect(rest.next).toBeNull();
    expect(await refusal(inspection.list({ limit: 1001 }, auditor))).toMatchObject({ field: "limit" });
    expect(await refusal(inspection.list({ order: "up" as "asc" }, auditor))).toMatchObject({
      field: "order",
    });
  });
});

describe("who may read the audit log", () => {
  it("refuses a role without the permission, through every method, and audits each refusal", async () => {
    const { audit, inspection } = await fresh();
    const records: ActionContext = { actor: "user:clerk", role: "records", client: "10.0.0.7" };
    const nobody: ActionContext = { actor: "user:x", role: null, client: "10.0.0.8" };
    for (const by of [records, nobody]) {
      for (const call of [
        () => inspection.list({}, by),
        () => inspection.export({}, by),
        () => inspection.verify(by),
        () => inspection.sample({}, by),
      ])
        expect(await refusal(call())).toMatchObject({ kind: "forbidden" });
    }
    const denied = await audit.list({ outcome: "denied", limit: 100 });
    expect(denied.map((e) => `${e.actor} ${e.action}`)).toEqual(
      [records, nobody].flatMap((by) =>
        ["audit.list", "audit.export", "audit.verify", "audit.sample"].map((a) => `${by.actor} ${a}`),
      ),
    );
    expect((await entries(audit, "audit.export")).every((e) => e.outcome === "denied")).toBe(true);
  });

  it("lets an auditor verify the chain, unaudited as before", async () => {
    const { audit, inspection } = await fresh();
    const before = await audit.headSeq();
    expect(await inspection.verify(auditor)).toMatchObject({ ok: true, entries: 12 });
    expect(await audit.headSeq()).toBe(before);
  });
});
