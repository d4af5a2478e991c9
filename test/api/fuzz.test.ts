import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROLES } from "../../src/auth/roles.js";
import { type Proc, startProc } from "../helpers/process.js";
import {
  type Client,
  daemonDir,
  type LocalCatalog,
  login,
  openLocalCatalog,
  PASSWORD,
  seedUsers,
} from "../helpers/pscsd.js";

/**
 * Malformed input to every operation in the OpenAPI document, from a caller holding every role (so
 * requests get past authorization to validation): wrong types, unknown fields, huge bodies, broken
 * JSON, path traversal in ids. Each answer must be a 4xx problem+json (or a success, when the input
 * happened to be valid), never a 5xx, and the daemon, a separate process, must stay up.
 */

const PSCSD = join(import.meta.dirname, "../../dist/src/bin/pscsd.js");
const RUNS = 3_000;

interface Op {
  method: string;
  path: string;
  operationId: string;
  params: { name: string; in: string; example?: unknown }[];
  body?: unknown;
}

let proc: Proc;
let url: string;
let caller: Client;
let ops: Op[];
let local: LocalCatalog;

/**
 * Signs the fuzzer in again after a request that validly ended its session (logout) or changed its
 * password (the change-password example carries the right current password): reset it first.
 */
async function relogin(): Promise<Client> {
  await local.auth.resetPassword(
    "root1",
    PASSWORD,
    { actor: "local:test", role: "admin", client: "cli" },
    false,
  );
  return login(url, "root1");
}

beforeAll(async () => {
  const d = await daemonDir();
  local = openLocalCatalog(d.configFile);
  await seedUsers(local, { root1: [...ROLES], jdoe: ["records"] });
  proc = startProc(process.execPath, [PSCSD, "--config", d.configFile]);
  await proc.waitForLine(/"msg":"pscsd started"/, 15_000);
  url = `http://127.0.0.1:${d.httpPort}`;
  caller = await login(url, "root1");
  const doc = (await (await fetch(`${url}/api/openapi.json`)).json()) as {
    paths: Record<string, Record<string, Record<string, unknown>>>;
  };
  ops = Object.entries(doc.paths).flatMap(([path, m]) =>
    Object.entries(m).map(([method, op]) => ({
      method: method.toUpperCase(),
      path,
      operationId: op.operationId as string,
      params: (op.parameters ?? []) as Op["params"],
      body: (op.requestBody as { content?: Record<string, { example?: unknown }> } | undefined)?.content?.[
        "application/json"
      ]?.example,
    })),
  );
});

afterAll(async () => {
  await proc?.stop();
  local?.close();
});

const hostile = fc.constantFrom(
  "../../etc/passwd",
  "..%2F..%2Fetc%2Fpasswd",
  "%2e%2e%2f",
  "a/../../b",
  "\u0000",
  "%00",
  "' OR 1=1 --",
  "<script>alert(1)</script>",
  "x".repeat(10_000),
  "t_../../../",
  "JDOE",
  "",
);
const text = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: "grapheme", maxLength: 20 }), hostile);
const jsonish = fc.oneof(
  fc.anything({ maxDepth: 3 }),
  text,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
);

/** A body: the example with one field broken, extra fields, wrong shape, or no JSON at all. */
function bodyFor(op: Op): fc.Arbitrary<{ body: string | undefined; type: string }> {
  const example = (op.body ?? {}) as Record<string, unknown>;
  const keys = Object.keys(example);
  const json = (v: unknown) => ({ body: JSON.stringify(v), type: "application/json" });
  return fc.oneof(
    keys.length
      ? fc.record({ k: fc.constantFrom(...keys), v: jsonish }).map(({ k, v }) => json({ ...example, [k]: v }))
      : jsonish.map(json),
    fc.record({ k: text, v: jsonish }).map(({ k, v }) => json({ ...example, [`x${k}`]: v })),
    jsonish.map(json),
    fc.constant({ body: JSON.stringify({ pad: "x".repeat(70 * 1024) }), type: "application/json" }),
    fc.string({ maxLength: 200 }).map((s) => ({ body: `{${s}`, type: "application/json" })),
    text.map((s) => ({ body: s, type: "text/plain" })),
    fc.constant({ body: undefined, type: "application/json" }),
  );
}

describe("fuzzing every operation in the OpenAPI document", () => {
  it(`${RUNS} malformed requests: 4xx problem+json, never a 5xx, daemon stays up`, async () => {
    const seen = new Map<string, number>();
    const arb = fc.integer({ min: 0, max: 1_000_000 }).chain((i) => {
      const op = ops[i % ops.length] as Op;
      const pathParams = op.params.filter((p) => p.in === "path");
      return fc.record({
        op: fc.constant(op),
        path: fc.tuple(...pathParams.map(() => fc.oneof(hostile, text)), fc.constant(0)),
        query: fc.oneof(
          fc.constant(""),
          fc.dictionary(text, fc.oneof(text, fc.array(text, { maxLength: 3 })), { maxKeys: 4 }).map((d) => {
            const q = new URLSearchParams();
            for (const [k, v] of Object.entries(d)) for (const x of [v].flat()) q.append(k, x);
            return `?${q}`;
          }),
          fc.constant("?limit=-1&from=yesterday&order=sideways"),
          fc.constant("?after=99999999999999999999&limit=1e3"),
        ),
        body:
          op.method === "GET" || op.method === "DELETE"
            ? fc.constant({ body: undefined, type: "" })
            : bodyFor(op),
      });
    });
    await fc.assert(
      fc.asyncProperty(arb, async ({ op, path, query, body }) => {
        let p = op.path;
        op.params
          .filter((x) => x.in === "path")
          .forEach((x, i) => {
            p = p.replace(`{${x.name}}`, encodeURIComponent(String(path[i])));
          });
        const headers: Record<string, string> = body.type ? { "content-type": body.type } : {};
        let res = await caller.request(op.method, `${p}${query}`, body.body, headers);
        if (res.status === 401) {
          // A valid DELETE /api/session signs the fuzzer out: sign in again and go on.
          caller = await relogin();
          res = await caller.request(op.method, `${p}${query}`, body.body, headers);
        }
        const key = `${op.operationId} ${res.status}`;
        seen.set(key, (seen.get(key) ?? 0) + 1);
        const text = await res.text();
        expect(res.status, `${op.method} ${p}${query.slice(0, 200)} → ${text.slice(0, 300)}`).toBeLessThan(
          500,
        );
        if (res.status >= 400) {
          expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
          const problem = JSON.parse(text) as { status: number; detail: string };
          expect(problem.status).toBe(res.status);
          expect(problem.detail.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: RUNS },
    );
    // Every operation was exercised, and most answers were refusals (the inputs are meant to be bad).
    expect(new Set([...seen.keys()].map((k) => k.split(" ")[0])).size).toBe(ops.length);
    const refused = [...seen].filter(([k]) => /\s4\d\d$/.test(k)).reduce((a, [, n]) => a + n, 0);
    expect(refused).toBeGreaterThan(RUNS * 0.5);
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(proc.child.exitCode).toBeNull();
    expect(proc.lines.filter((l) => /"level":50/.test(l))).toEqual([]);
  }, 240_000);
});
