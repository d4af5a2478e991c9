import express from "express";
import { beforeAll, describe, expect, it } from "vitest";
import { assertEveryRouteDeclared } from "../../api/app.js";
import { defineRoute } from "../../api/http/route.js";
import { ROLE_PERMISSIONS, ROLES, type Role } from "../../src/auth/roles.js";
import {
  type Client,
  client,
  daemonDir,
  login,
  openLocalCatalog,
  sampleSegment,
  seedDoneExport,
  seedExports,
  seedHolds,
  seedSegment,
  seedUsers,
  startInProcess,
} from "../helpers/pscsd.js";

/**
 * Every operation in the served OpenAPI document × every kind of caller gets the status this table
 * says. The table is written here, by hand, from the policy: a route added without a row fails, and a
 * route whose enforcement differs from the table fails.
 */

type Caller = "anonymous" | Role | "token:ops" | "token:auditor";
const CALLERS: Caller[] = ["anonymous", ...ROLES, "token:ops", "token:auditor"];

type Rule = "public" | "signed-in" | Role[];
const VIDEO_FREE_RULES: Record<string, Rule> = {
  liveness: "public",
  readiness: "public",
  openapi: "public",
  docs: "public",
  ui: "public",
  healthHistory: ["ops"],
  uiAsset: "public",
  login: "public",
  whoami: "signed-in",
  logout: "signed-in",
  changePassword: "signed-in",
  healthDetail: ["ops"],
  metrics: ["ops"],
  listUsers: ["admin"],
  addUser: ["admin"],
  getUser: ["admin"],
  updateUser: ["admin"],
  resetPassword: ["admin"],
  unlockUser: ["admin"],
  listTokens: ["admin"],
  createToken: ["admin"],
  revokeToken: ["admin"],
  listAudit: ["auditor"],
  exportAudit: ["auditor"],
  verifyAudit: ["auditor"],
  sampleAudit: ["auditor"],
  listCameras: ["dispatcher", "supervisor", "records", "commander", "ops", "admin"],
  timeline: ["records", "commander"],
  playback: ["records", "commander"],
  segmentFile: ["records", "commander"],
  holdCoverage: ["records"],
  requestHold: ["records"],
  holdLog: ["records", "commander", "auditor"],
  getHold: ["records", "commander", "auditor"],
  holdForm: ["records", "commander", "auditor"],
  approveHold: ["commander"],
  refuseHold: ["commander"],
  releaseHold: ["commander"],
  verifyHold: ["records", "commander", "auditor"],
  requestExport: ["records"],
  listExports: ["records", "commander", "auditor"],
  getExport: ["records", "commander", "auditor"],
  approveExport: ["commander"],
  refuseExport: ["commander"],
  cancelExport: ["records", "commander"],
  exportKey: ["records", "commander", "auditor"],
  downloadExport: ["records", "commander"],
  verifyExport: ["records", "commander", "auditor"],
  purgePlan: ["commander", "ops", "auditor"],
  purgeNow: ["commander"],
  destructionLog: ["commander", "ops", "auditor"],
  ptzStatus: ["dispatcher", "supervisor"],
  ptzLock: ["dispatcher", "supervisor"],
  takePtzControl: ["dispatcher", "supervisor"],
  releasePtzControl: ["dispatcher", "supervisor"],
  takeOverPtzControl: ["supervisor"],
  ptzKeepAlive: ["dispatcher", "supervisor"],
  ptzContinuousMove: ["dispatcher", "supervisor"],
  ptzAbsoluteMove: ["dispatcher", "supervisor"],
  ptzRelativeMove: ["dispatcher", "supervisor"],
  ptzStop: ["dispatcher", "supervisor"],
  ptzPresets: ["dispatcher", "supervisor"],
  savePtzPreset: ["dispatcher", "supervisor"],
  gotoPtzPreset: ["dispatcher", "supervisor"],
  deletePtzPreset: ["dispatcher", "supervisor"],
  gotoPtzHome: ["dispatcher", "supervisor"],
  setPtzHome: ["dispatcher", "supervisor"],
  ptzEvents: ["dispatcher", "supervisor"],
  listPtzSessions: ["supervisor", "auditor"],
  getPtzSession: ["supervisor", "auditor"],
  // Zones' geometry (no video) for the live view's masks and for review; admins manage them.
  listPrivacyZones: ["dispatcher", "supervisor", "auditor", "admin"],
  putPrivacyZone: ["admin"],
  removePrivacyZone: ["admin"],
  liveWebRtc: ["dispatcher", "supervisor"],
  liveMse: ["dispatcher", "supervisor"],
  liveEnd: ["dispatcher", "supervisor"],
};
/** Routes for people only: a token has no session to end or password to change. */
const PEOPLE_ONLY = new Set(["logout", "changePassword"]);
/**
 * Routes whose example more than one role may carry out only once (cancelling export 3): each
 * permitted caller gets a fresh daemon and catalog, so the second is not answered "already cancelled".
 */
const ONCE_PER_CALLER = new Set(["cancelExport", "takePtzControl"]);
/**
 * Routes whose example a permitted caller cannot carry out here: the daemon's camera is not there
 * and the caller holds no PTZ control, so past authorization the PTZ service answers 409 (or 404
 * for a session that does not exist). Those rules are tested in test/api/ptz.test.ts; here a
 * permitted caller must get past authorization and validation, to a 2xx, 404 or 409.
 */
const PAST_AUTH_ONLY = new Set([
  "ptzStatus",
  "releasePtzControl",
  "ptzKeepAlive",
  "ptzContinuousMove",
  "ptzAbsoluteMove",
  "ptzRelativeMove",
  "ptzStop",
  "ptzPresets",
  "savePtzPreset",
  "gotoPtzPreset",
  "deletePtzPreset",
  "gotoPtzHome",
  "setPtzHome",
  "getPtzSession",
  "removePrivacyZone",
  "liveEnd",
]);
/**
 * WebSocket routes: the matrix sends plain requests, which a permitted caller takes past
 * authorization to 426 Upgrade Required. The upgrade itself (101, its refusals answered before it,
 * only for a session cookie) is tested in test/live/mse.test.ts.
 */
const UPGRADE_ONLY = new Set(["liveMse"]);
/** Routes whose example changes nothing for any caller: they share one daemon (each start costs ~1 s). */
const SHARED_DAEMON = new Set([
  ...PAST_AUTH_ONLY,
  "ptzLock",
  "ptzEvents",
  "listPtzSessions",
  "listPrivacyZones",
  "liveWebRtc",
  ...UPGRADE_ONLY,
]);
/** Routes whose example needs a produced package (export 4, done): made only for them, it takes an ffmpeg run. */
const NEEDS_PACKAGE = new Set(["downloadExport", "verifyExport"]);

/** The callers in groups with at most one permitted caller each (the refused ones change nothing). */
function onePermittedEach(op: string): Caller[][] {
  const permitted = CALLERS.filter((c) => expected(op, c) === 200);
  const refused = CALLERS.filter((c) => expected(op, c) !== 200);
  return permitted.map((c, i) => (i === 0 ? [...refused, c] : [c]));
}

function expected(op: string, caller: Caller): number {
  const rule = VIDEO_FREE_RULES[op];
  if (rule === undefined) throw new Error(`operation ${op} has no row in the permission table`);
  if (rule === "public") return 200;
  if (caller === "anonymous") return 401;
  const isToken = caller.startsWith("token:");
  if (rule === "signed-in") return isToken && PEOPLE_ONLY.has(op) ? 400 : 200;
  const role = (isToken ? caller.slice(6) : caller) as Role;
  return rule.includes(role) ? 200 : 403;
}

interface Operation {
  method: string;
  path: string;
  operationId: string;
  access: string;
  params: { name: string; in: string; example?: unknown }[];
  body?: unknown;
}

let sample: string;
let doc: { paths: Record<string, Record<string, Record<string, unknown>>> };
let operations: Operation[];

beforeAll(async () => {
  const d = await daemonDir();
  sample = await sampleSegment(d.dir);
  const daemon = await startInProcess(d);
  try {
    doc = (await (await fetch(`${daemon.url}/api/openapi.json`)).json()) as typeof doc;
  } finally {
    await daemon.stop();
  }
  operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({
      method: method.toUpperCase(),
      path,
      operationId: op.operationId as string,
      access: op["x-pscs-access"] as string,
      params: (op.parameters ?? []) as Operation["params"],
      body: (op.requestBody as { content?: Record<string, { example?: unknown }> } | undefined)?.content?.[
        "application/json"
      ]?.example,
    })),
  );
});

describe("permission matrix (from /api/openapi.json)", () => {
  it("has a row for every operation, and no row for an operation that is gone", () => {
    const ids = operations.map((o) => o.operationId).sort();
    expect(ids).toEqual(Object.keys(VIDEO_FREE_RULES).sort());
  });

  it("declares in the document the same rule the table states", () => {
    for (const op of operations) {
      const rule = VIDEO_FREE_RULES[op.operationId];
      if (rule === "public") expect(op.access, op.operationId).toBe("public");
      else if (rule === "signed-in") expect(op.access, op.operationId).toBe("authenticated");
      else {
        const granted = ROLES.filter((r) => (ROLE_PERMISSIONS[r] as readonly string[]).includes(op.access));
        expect(granted, `${op.operationId} (${op.access})`).toEqual(rule);
      }
    }
  });

  it("no role but dispatcher, supervisor, records and commander holds a video permission", () => {
    for (const r of ["ops", "auditor", "admin"] as const) {
      expect(
        ROLE_PERMISSIONS[r].filter(
          (p) => p.startsWith("video.") || p.startsWith("ptz.") || p === "exports.download",
        ),
        r,
      ).toEqual([]);
    }
  });

  // One fresh daemon and catalog per operation: every caller's request is the example, so writes
  // (add a user, revoke a token) must not see each other's effects.
  it("answers every operation × caller as the table says", async () => {
    const failures: string[] = [];
    /** A daemon over a fresh catalog holding the users, tokens, footage, holds and exports the examples name. */
    const fresh = async (op: string) => {
      const d = await daemonDir();
      const local = openLocalCatalog(d.configFile);
      await seedUsers(local, { ...Object.fromEntries(ROLES.map((r) => [`${r}1`, [r]])), jdoe: ["records"] });
      const ctx = { actor: "local:test", role: "admin", client: "cli" };
      const tokens = {
        "token:ops": (await local.auth.createToken({ name: "ops", role: "ops" }, ctx)).secret,
        "token:auditor": (await local.auth.createToken({ name: "aud", role: "auditor" }, ctx)).secret,
      };
      await local.auth.createToken({ name: "example", role: "ops" }, ctx, "t_00000000e1a0");
      local.close();
      seedSegment(d, sample); // what the recording examples ask for
      await seedHolds(d); // and the hold examples
      await seedExports(d); // and the export examples
      if (NEEDS_PACKAGE.has(op)) await seedDoneExport(d);
      return { daemon: await startInProcess(d), tokens };
    };
    // One fresh daemon and catalog per operation: every caller's request is the example, so writes
    // (add a user, revoke a token) must not see each other's effects.
    let sharedDaemon: Awaited<ReturnType<typeof fresh>> | undefined;
    for (const op of operations) {
      const groups = ONCE_PER_CALLER.has(op.operationId) ? onePermittedEach(op.operationId) : [CALLERS];
      for (const callers of groups) {
        const shared = SHARED_DAEMON.has(op.operationId);
        if (shared) sharedDaemon ??= await fresh(op.operationId);
        const { daemon, tokens } = shared && sharedDaemon ? sharedDaemon : await fresh(op.operationId);
        try {
          for (const caller of callers) {
            // The login example signs jdoe in; everything else needs its own fresh signed-in caller.
            let c: Client;
            if (caller === "anonymous") c = client(daemon.url);
            else if (caller === "token:ops" || caller === "token:auditor")
              c = client(daemon.url, { bearer: tokens[caller] });
            else c = await login(daemon.url, `${caller}1`);
            let path = op.path;
            const query = new URLSearchParams();
            for (const p of op.params) {
              if (p.example === undefined) continue;
              if (p.in === "path") path = path.replace(`{${p.name}}`, encodeURIComponent(String(p.example)));
              else query.set(p.name, String(p.example));
            }
            const qs = query.size ? `?${query}` : "";
            const res = await c.request(op.method, `${path}${qs}`, op.body);
            const want = expected(op.operationId, caller);
            const got = res.status;
            const body = await res.text();
            const passed = got >= 200 && got < 300;
            const ok =
              want === 200
                ? passed ||
                  (PAST_AUTH_ONLY.has(op.operationId) && (got === 404 || got === 409)) ||
                  (UPGRADE_ONLY.has(op.operationId) && got === 426)
                : got === want;
            if (!ok)
              failures.push(
                `${op.method} ${op.path} as ${caller}: want ${want}, got ${got} ${body.slice(0, 300)}`,
              );
            if (got >= 400) {
              expect(res.headers.get("content-type"), `${op.operationId} ${caller}`).toMatch(
                /application\/problem\+json/,
              );
            }
          }
        } finally {
          if (!shared) await daemon.stop();
        }
      }
    }
    await sharedDaemon?.daemon.stop();
    expect(failures).toEqual([]);
  }, 180_000);

  it("audits every 403 with the caller, the route and the reason", async () => {
    const d = await daemonDir();
    const local = openLocalCatalog(d.configFile);
    await seedUsers(local, { ops1: ["ops"] });
    const daemon = await startInProcess(d);
    try {
      const ops = await login(daemon.url, "ops1");
      expect((await ops.request("GET", "/api/users")).status).toBe(403);
      const denied = await local.audit.list({ action: "http.denied" });
      expect(denied).toHaveLength(1);
      expect(denied[0]).toMatchObject({ actor: "user:ops1", outcome: "denied", target: "route:listUsers" });
      expect(JSON.parse(denied[0]?.details ?? "{}")).toMatchObject({
        reason: "lacks permission users.manage",
        method: "GET",
      });
    } finally {
      await daemon.stop();
      local.close();
    }
  });
});

describe("routes outside the declarations", () => {
  it("refuse to start: a handler mounted directly has no access rule and no row in the matrix", () => {
    const declared = defineRoute({
      method: "get",
      path: "/api/things/{id}",
      operationId: "thing",
      summary: "t",
      tag: "t",
      access: { permission: "cameras.read" },
      responses: {},
      handler: () => ({}),
    });
    const ok = express();
    ok.get("/api/things/:id", () => undefined);
    expect(() => assertEveryRouteDeclared(ok, [declared])).not.toThrow();
    const sneaky = express();
    sneaky.get("/api/things/:id", () => undefined);
    sneaky.delete("/api/things/:id", () => undefined);
    expect(() => assertEveryRouteDeclared(sneaky, [declared])).toThrow(
      "route DELETE /api/things/:id is mounted without a declaration in apiRoutes()",
    );
  });
});
