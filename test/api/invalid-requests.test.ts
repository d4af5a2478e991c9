import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RequestRefusals } from "../../src/audit/request-refusals.js";
import type { Pscsd } from "../../src/compose/daemon.js";
import { createLogger } from "../../src/log/logger.js";
import {
  type Client,
  client,
  daemonDir,
  type LocalCatalog,
  login,
  openLocalCatalog,
  seedUsers,
  startInProcess,
  type TestDaemonDir,
} from "../helpers/pscsd.js";

/**
 * Requests refused for their form once their caller was signed in and allowed (ill-formed text,
 * unknown fields, malformed JSON, the wrong content type, a body where none is taken) are audited
 * as `http.invalid` on the route, without the value they carried beyond a short scrubbed excerpt,
 * and a client repeating them is coalesced to one entry per route per 10 s that counts them.
 */

let d: TestDaemonDir;
let daemon: Pscsd;
let local: LocalCatalog;
let records: Client;

type Details = {
  method: string;
  path: string;
  status: number;
  errors: { field: string; message: string }[];
  count: number;
};
const details = (e: { details: string | null } | undefined) => JSON.parse(e?.details ?? "{}") as Details;
const invalid = (actor: string, target?: string) =>
  local.audit.list({ order: "asc", action: "http.invalid", actor, ...(target ? { target } : {}) });

async function until<T>(what: string, f: () => Promise<T | undefined>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const RANGE = { camera: "cam1", from: Date.UTC(2026, 0, 1), to: Date.UTC(2026, 0, 1, 1) };

beforeAll(async () => {
  d = await daemonDir();
  local = openLocalCatalog(d.configFile);
  await seedUsers(local, { records1: ["records"], records2: ["records"], records3: ["records"] });
  daemon = await startInProcess(d);
  records = await login(daemon.url, "records1");
}, 60_000);

afterAll(async () => {
  await daemon?.stop();
  local?.close();
});

describe("a signed-in caller's malformed request", () => {
  it("is audited on its route: method, path, status, the field and its message, denied", async () => {
    const res = await records.request("POST", "/api/holds/coverage", { ranges: [RANGE], extra: 1 });
    expect(res.status).toBe(400);
    const [e] = await invalid("user:records1", "route:holdCoverage");
    expect(e).toMatchObject({ outcome: "denied", client: expect.any(String) });
    expect(details(e)).toEqual({
      method: "POST",
      path: "/api/holds/coverage",
      status: 400,
      errors: [{ field: "body.extra", message: "unknown field" }],
      count: 1,
    });
  });

  it("keeps only a short scrubbed excerpt of what it carried (a credential in a time, a long field name)", async () => {
    const secret = "rtsp://admin:hunter2secret@cam";
    const res = await records.request(
      "GET",
      `/api/cameras/cam1/timeline?from=${encodeURIComponent(secret)}&to=${RANGE.to}`,
    );
    expect(res.status).toBe(400);
    const [e] = await invalid("user:records1", "route:timeline");
    expect(e?.details).not.toContain("hunter2");
    expect(details(e).errors[0]).toMatchObject({ field: "query.from" });
    expect(details(e).errors[0]?.message).toContain("[redacted]");

    const long = "k".repeat(5_000);
    // Another route: the first test's entry on holdCoverage holds this actor's next ones there 10 s.
    const res2 = await records.request("POST", "/api/holds", { [long]: 1 });
    expect(res2.status).toBe(400);
    const [e2] = await invalid("user:records1", "route:requestHold");
    expect(details(e2).errors[0]?.field.length).toBeLessThanOrEqual(80);
    expect(e2?.details?.length ?? 0).toBeLessThan(1_000);
  });

  it("is audited for ill-formed text, malformed JSON, a wrong content type and a body where none is taken", async () => {
    const c = await login(daemon.url, "records2");
    const asked = [
      // A lone surrogate, as JSON can spell it.
      () => c.request("POST", "/api/holds/coverage", '{"ranges":[],"x\\ud800":1}'),
      () => c.request("POST", "/api/holds", "{not json"),
      () => c.request("POST", "/api/exports", "ranges", { "content-type": "text/plain" }),
      () => c.request("POST", "/api/exports/1/verify", { a: 1 }),
    ];
    const statuses = [];
    for (const ask of asked) statuses.push((await ask()).status);
    expect(statuses).toEqual([400, 400, 415, 400]);
    const entries = await invalid("user:records2");
    expect(entries.map((e) => [e.target, details(e).status, details(e).errors[0]?.field])).toEqual([
      ["route:holdCoverage", 400, 'body["x\\ud800"]'],
      ["route:requestHold", 400, "body"],
      ["route:requestExport", 415, "body"],
      ["route:verifyExport", 400, "body"],
    ]);
    expect(details(entries[1]).errors[0]?.message).toBe("not valid JSON");
    expect(details(entries[3]).errors[0]?.message).toBe("this route takes no request body");
  });

  it("is not audited as invalid for an anonymous caller: the 401 comes first", async () => {
    const res = await client(daemon.url).request("POST", "/api/holds/coverage", { extra: 1 });
    expect(res.status).toBe(401);
    expect(await invalid("anonymous")).toEqual([]);
  });

  it("repeated in a loop is one entry now and one when the 10 s are over, counting the rest", async () => {
    const c = await login(daemon.url, "records3");
    const started = Date.now();
    for (let i = 0; i < 25; i++)
      expect((await c.request("POST", "/api/holds/coverage", { ranges: [], i })).status).toBe(400);
    // Another route is its own key.
    expect((await c.request("POST", "/api/holds", { i: 0 })).status).toBe(400);
    const soon = await invalid("user:records3", "route:holdCoverage");
    expect(soon.map((e) => details(e).count)).toEqual([1]);
    expect(await invalid("user:records3", "route:requestHold")).toHaveLength(1);
    const both = await until(
      "the held refusals' entry",
      async () => {
        const l = await invalid("user:records3", "route:holdCoverage");
        return l.length === 2 ? l : undefined;
      },
      15_000,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(9_000);
    expect(details(both[1]).count).toBe(24);
    // The latest of those it stands for.
    expect(details(both[1]).errors.map((e) => e.field)).toContain("body.i");
  }, 30_000);
});

describe("RequestRefusals", () => {
  it("writes what it holds at stop, and a refusal after a quiet period at once", async () => {
    const refusals = new RequestRefusals(local.audit, createLogger({ name: "test", level: "silent" }), 300);
    const by = { actor: "user:unit", role: null, client: "test" };
    const r = { method: "GET", path: "/x", status: 400, errors: [{ field: "query.a", message: "m" }] };
    for (let i = 0; i < 3; i++) await refusals.invalid(by, "op", r);
    await refusals.stop();
    expect((await invalid("user:unit")).map((e) => details(e).count)).toEqual([1, 2]);
    await new Promise((res) => setTimeout(res, 350));
    await refusals.invalid(by, "op", r);
    expect((await invalid("user:unit")).map((e) => details(e).count)).toEqual([1, 2, 1]);
    await refusals.stop();
    expect(await invalid("user:unit")).toHaveLength(3);
  });
});
