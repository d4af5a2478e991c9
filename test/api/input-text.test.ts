import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Pscsd } from "../../src/compose/daemon.js";
import {
  type Client,
  client,
  daemonDir,
  type LocalCatalog,
  login,
  openLocalCatalog,
  seedUsers,
  startInProcess,
} from "../helpers/pscsd.js";
import { anyText, mustRefuse, percentWtf8 } from "../helpers/text.js";

/**
 * Text that is not well-formed Unicode, or holds a NUL, is refused where it enters pscsd (a 400
 * naming the field), and whatever text the API accepts leaves an audit chain that verifies. Bodies
 * are sent as raw JSON text: "\ud800" is how a client puts a lone surrogate into one.
 */

type Problem = { status: number; detail: string; errors?: { field: string; message: string }[] };

let daemon: Pscsd;
let local: LocalCatalog;
let admin: Client;
let auditor: Client;

beforeAll(async () => {
  const d = await daemonDir();
  local = openLocalCatalog(d.configFile);
  await seedUsers(local, { admin1: ["admin"], aud1: ["auditor"] });
  daemon = await startInProcess(d);
  admin = await login(daemon.url, "admin1");
  auditor = await login(daemon.url, "aud1");
});
afterAll(async () => {
  await daemon?.stop();
  local?.close();
});

const headSeq = () => local.audit.headSeq();

async function expectRefused(res: Response, field: string): Promise<void> {
  const p = (await res.json()) as Problem;
  expect(res.status, JSON.stringify(p)).toBe(400);
  expect(res.headers.get("content-type")).toMatch(/application\/problem\+json/);
  expect(p.errors?.[0]?.field, JSON.stringify(p)).toBe(field);
  expect(p.detail.startsWith(`${field}: `)).toBe(true);
}

describe("ill-formed text is refused at the HTTP boundary, naming the field", () => {
  it("sign-in with a lone surrogate in the user name: 400 body.username, no audit entry, chain verifies", async () => {
    const before = await headSeq();
    const res = await client(daemon.url).request(
      "POST",
      "/api/session",
      '{"username":"a\\ud800","password":"x"}',
    );
    await expectRefused(res, "body.username");
    expect(await headSeq()).toBe(before);
    expect(await local.audit.verify()).toMatchObject({ ok: true });
  });

  it("names the field for a lone surrogate or NUL anywhere in a body, keys included", async () => {
    const anon = client(daemon.url);
    await expectRefused(
      await anon.request("POST", "/api/session", '{"username":"admin1","password":"x\\udc00y"}'),
      "body.password",
    );
    await expectRefused(
      await anon.request("POST", "/api/session", '{"username":"admin\\u0000","password":"x"}'),
      "body.username",
    );
    await expectRefused(
      await admin.request(
        "POST",
        "/api/users",
        '{"username":"mnew","displayName":"M\\ud83d","roles":["dispatcher"],"password":"Temporary-Pass1!"}',
      ),
      "body.displayName",
    );
    await expectRefused(
      await admin.request("POST", "/api/users", '{"username":"mnew","roles":["ops","\\ud800"]}'),
      "body.roles[1]",
    );
    const key = await admin.request("POST", "/api/tokens", '{"name":"n","role":"ops","\\udfff":1}');
    await expectRefused(key, 'body["\\udfff"]');
    expect(await local.audit.verify()).toMatchObject({ ok: true });
  });

  it("names the query parameter for an encoded lone surrogate (%ED%A0%80) or NUL", async () => {
    await expectRefused(
      await auditor.request("GET", `/api/audit?actor=${percentWtf8("user:\ud800")}`),
      "query.actor",
    );
    await expectRefused(await auditor.request("GET", "/api/audit?limit=5&target=a%00b"), "query.target");
    await expectRefused(await auditor.request("GET", "/api/audit?%ED%A0%80=1"), "query");
  });

  it("names the path parameter for an encoded lone surrogate or NUL", async () => {
    await expectRefused(await admin.request("GET", `/api/users/${percentWtf8("\udc00")}`), "path.username");
    await expectRefused(await admin.request("GET", "/api/users/ad%00min1"), "path.username");
    await expectRefused(
      await admin.request("GET", `/api/cameras/${percentWtf8("cam\ud800")}/timeline?from=0&to=1`),
      "path.camera",
    );
  });

  it("property: arbitrary text in audited request fields; refused exactly when ill-formed, and the chain verifies", async () => {
    const anon = client(daemon.url);
    const cases: {
      send: (s: string) => Promise<Response>;
      field: string;
      audited: (s: string) => boolean | Promise<boolean>;
    }[] = [
      {
        field: "body.username",
        send: (s) =>
          anon.request("POST", "/api/session", JSON.stringify({ username: s, password: "Wrong-Passw0rd!" })),
        audited: async (s) =>
          (await local.audit.list({ target: `user:${s}`, limit: 1, order: "desc" })).length === 1,
      },
      {
        field: "body.name",
        send: (s) => admin.request("POST", "/api/tokens", JSON.stringify({ name: s, role: "auditor" })),
        audited: async (s) =>
          (await local.audit.list({ action: "token.create", limit: 1, order: "desc" })).some(
            (e) => JSON.parse(e.details).name === s,
          ),
      },
      {
        field: "body.displayName",
        send: (s) => admin.request("PATCH", "/api/users/aud1", JSON.stringify({ displayName: s })),
        audited: async (s) =>
          (await local.auth.publicUser("aud1")).displayName === s &&
          (await local.audit.list({ action: "user.update", limit: 50, order: "desc" })).some(
            (e) => JSON.parse(e.details).displayName?.to === s,
          ),
      },
      {
        // Not audited when refused; the place named must still be the path parameter.
        field: "path.username",
        send: (s) => admin.request("GET", `/api/users/x${percentWtf8(s)}`),
        audited: () => true,
      },
      {
        field: "query.actor",
        send: (s) => auditor.request("GET", `/api/audit/export?actor=${percentWtf8(s)}`),
        audited: async (s) =>
          (await local.audit.list({ action: "audit.export", limit: 1, order: "desc" })).some(
            (e) => JSON.parse(e.details).filter.actor === s,
          ),
      },
    ];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...cases), anyText, async (c, text) => {
        const before = await headSeq();
        const res = await c.send(text);
        const body = await res.text();
        expect(res.status, body).toBeLessThan(500);
        // A query too long for the header limit is refused by Node's parser (431) before pscsd sees it.
        if (res.status === 431) return;
        if (mustRefuse(text)) {
          expect(res.status, body).toBe(400);
          expect((JSON.parse(body) as Problem).errors?.[0]?.field, body).toBe(c.field);
          // No service ran: the chain holds at most the refusal itself (`http.invalid`, one per
          // caller and route per 10 s; none for an anonymous caller, nor for a path the router refused).
          const added = await local.audit.list({ after: before, order: "asc" });
          expect(added.map((e) => e.action)).toEqual(added.length ? ["http.invalid"] : []);
        } else if (res.status < 300) {
          // Accepted text is stored exactly as sent.
          expect(await c.audited(text), body).toBe(true);
        }
      }),
      { numRuns: 400, endOnFailure: true },
    );
    expect(await local.audit.verify()).toMatchObject({ ok: true });
    const verify = await auditor.request("GET", "/api/audit/verify");
    expect(await verify.json()).toMatchObject({ ok: true });
  });
});
