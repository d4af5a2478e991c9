import { randomUUID } from "node:crypto";
import express, { type ErrorRequestHandler, type Express, type Request } from "express";
import helmet from "helmet";
import { pinoHttp } from "pino-http";
import type { AuditInspection } from "../src/audit/inspection.js";
import type { AuditTrail } from "../src/audit/log.js";
import type { RefusalAudit } from "../src/audit/request-refusals.js";
import type { Auth, Principal } from "../src/auth/service.js";
import type { ExportDesk, ExportPackages } from "../src/exports/export.js";
import type { Recordings } from "../src/footage/recordings.js";
import type { CameraHealth, Health } from "../src/health/health.js";
import type { HoldDesk } from "../src/holds/service.js";
import type { Live } from "../src/live/desk.js";
import type { Logger } from "../src/log/logger.js";
import type { Metrics } from "../src/metrics/metrics.js";
import type { PrivacyZoneDesk } from "../src/ptz/privacy-zones.js";
import type { PtzDesk } from "../src/ptz/service.js";
import type { PurgeDesk } from "../src/purge/service.js";
import { identify } from "./http/authn.js";
import { pathDecodeProblem } from "./http/input-text.js";
import { openApiDocument } from "./http/openapi.js";
import { endWithProblem, type FieldError, HttpProblem, problem, sendProblem } from "./http/problem.js";
import { type AnyRoute, clientOf, expressPath, mountRoute, principalOf } from "./http/route.js";
import { MseLive } from "./live/mse.js";
import { WebRtcLive, type WebRtcSettings } from "./live/webrtc.js";
import { auditRoutes } from "./routes/audit.js";
import { cameraRoutes } from "./routes/cameras.js";
import { docsRoutes } from "./routes/docs.js";
import { exportRoutes } from "./routes/exports.js";
import { holdRoutes } from "./routes/holds.js";
import { liveRoutes } from "./routes/live.js";
import { opsRoutes } from "./routes/ops.js";
import { ptzRoutes } from "./routes/ptz.js";
import { purgeRoutes } from "./routes/purge.js";
import { recordingRoutes } from "./routes/recordings.js";
import { type Site, sessionRoutes } from "./routes/session.js";
import { tokenRoutes } from "./routes/tokens.js";
import { userRoutes } from "./routes/users.js";
import { webRoutes } from "./routes/web.js";
import { zoneRoutes } from "./routes/zones.js";
import type { Upgrades } from "./server.js";

/**
 * The HTTP surface of pscsd. The api reads and commands only through the services handed to it here;
 * it never opens the catalog or talks to a camera itself.
 * Invariant: every route is in apiRoutes() and mounted by mountRoute(), so the OpenAPI document,
 * the permission checks and the audit of refusals cover all of them.
 */

export interface ApiServices {
  version: string;
  startedAt: number;
  log: Logger;
  auth: Auth;
  audit: AuditTrail;
  /** The audit log's reading side: browse, export, verify, sample (its rules and entries). */
  auditInspection: AuditInspection;
  health: Health;
  metrics: Metrics;
  cameras: () => CameraHealth[];
  recordings: Recordings;
  holds: HoldDesk;
  exports: ExportDesk;
  /** The finished packages; undefined when pscsd has no export key (those routes answer 503). */
  exportPackages: ExportPackages | undefined;
  purge: PurgeDesk;
  ptz: PtzDesk;
  zones: PrivacyZoneDesk;
  /** Live sessions: who may watch, and their audit trail (delivery is api/live/). */
  live: Live;
  /** playback.stalledSeconds in ms: a download whose client has read nothing this long is cut off. */
  stalledMs: number;
  /** Requests refused for their form, audited as `http.invalid`, a client's repeats coalesced. */
  requestRefusals: RefusalAudit;
  /** Where WebRTC viewers are offered ICE candidates (live.webrtc, host defaulting to http.host). */
  webrtc: WebRtcSettings;
  /** The site's name and zone (IANA): times typed without an offset are read in it, the UI shows times in it. */
  site: Site;
  /**
   * Live sockets: unsent bytes past which a viewer is not fed; how long a full one may take nothing.
   */
  liveSockets: { sendBufferKiB: number; stalledSeconds: number };
  /** Held-open answers (the PTZ event stream) re-check their sign-in this often (`live.sessionCheckSeconds`). */
  streamSessionCheckSeconds: number;
  secureCookie: boolean;
  sessionMaxHours: number;
  sessionIdleMinutes: number;
  /** The browser UI's build (dist/web). */
  webRoot: string;
}

export function apiRoutes(s: ApiServices): AnyRoute[] {
  const routes: AnyRoute[] = [
    ...opsRoutes(s),
    ...sessionRoutes({
      auth: s.auth,
      live: s.live,
      metrics: s.metrics,
      secureCookie: s.secureCookie,
      sessionMaxHours: s.sessionMaxHours,
      sessionIdleMinutes: s.sessionIdleMinutes,
      site: s.site,
    }),
    ...userRoutes(s.auth),
    ...tokenRoutes(s.auth),
    ...auditRoutes(s.auditInspection, s.site.timezone),
    ...cameraRoutes(s.cameras),
    ...recordingRoutes(s.recordings, s.site.timezone),
    ...holdRoutes(s.holds, s.audit, s.site.timezone),
    ...exportRoutes(s.exports, s.exportPackages, s.audit, s.log, s.site.timezone, s.stalledMs),
    ...purgeRoutes(s.purge, s.site.timezone),
    ...ptzRoutes(s.ptz, s.site.timezone, {
      auth: s.auth,
      sessionCheckMs: s.streamSessionCheckSeconds * 1000,
    }),
    ...webRoutes(s.webRoot),
    ...zoneRoutes(s.ptz, s.zones),
    ...liveRoutes(s.live, new WebRtcLive(s.live, s.webrtc, s.log.child({ component: "webrtc" }))),
  ];
  let doc: Record<string, unknown> | undefined;
  const docs = docsRoutes(() => {
    doc ??= openApiDocument(routes, s.version);
    return doc;
  });
  routes.push(...docs);
  return routes;
}

/**
 * The routes that leave HTTP (WebSocket upgrades), which express never sees.
 * Invariant: an upgrade is served only by a route listed here; any other is answered 404 problem+json.
 */
export const UPGRADE_ROUTES = {
  liveMse: /^\/api\/live\/cameras\/([^/]+)\/mse$/,
} as const;

export function createUpgrades(s: ApiServices): Upgrades {
  const mse = new MseLive({
    live: s.live,
    auth: s.auth,
    log: s.log.child({ component: "live-mse" }),
    stalledMs: s.liveSockets.stalledSeconds * 1000,
    highWater: s.liveSockets.sendBufferKiB * 1024,
  });
  return {
    handle(req, socket, head) {
      const path = (req.url ?? "/").split("?")[0] ?? "/";
      const camera = UPGRADE_ROUTES.liveMse.exec(path)?.[1];
      let decoded: string | undefined;
      try {
        decoded = camera === undefined ? undefined : decodeURIComponent(camera);
      } catch {
        decoded = undefined;
      }
      if (decoded === undefined) {
        socket.on("error", () => socket.destroy());
        endWithProblem(socket, problem(404, `no WebSocket route for ${req.method} ${path.slice(0, 200)}`));
        return;
      }
      mse.serve(req, socket, head, decoded).catch((err: unknown) => {
        s.log.error({ err, path }, "live MSE upgrade failed");
        if (!socket.destroyed) endWithProblem(socket, problem(500, "internal error; see the server log"));
      });
    },
    close: () => mse.close(),
  };
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;
const QUIET = new Set(["/healthz", "/readyz", "/metrics"]);

export function createApp(s: ApiServices): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("query parser", "simple");

  app.use(
    pinoHttp({
      logger: s.log,
      genReqId: (req, res) => {
        const given = req.headers["x-request-id"];
        const id = typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
        res.setHeader("X-Request-Id", id);
        return id;
      },
      // Plain objects only: the log formatter scrubs secrets from plain data, and headers (cookies,
      // bearer tokens) are never logged at all.
      wrapSerializers: false,
      serializers: {
        req: (req: Request & { id?: unknown }) => ({
          id: req.id,
          method: req.method,
          path: req.path ?? req.url,
        }),
      },
      customSuccessObject: (req, res, val: { responseTime: number }) => ({
        status: res.statusCode,
        ms: val.responseTime,
        actor: principalOf(req as Request)?.actor ?? "anonymous",
        client: clientOf(req as Request),
      }),
      customErrorObject: (req, res, err, val: { responseTime: number }) => ({
        status: res.statusCode,
        ms: val.responseTime,
        actor: principalOf(req as Request)?.actor ?? "anonymous",
        err,
      }),
      // An answered request is routine (debug); what a request did that matters is in the audit log.
      customLogLevel: (_req, res, err) =>
        err || res.statusCode >= 500 ? "error" : res.statusCode >= 400 ? "warn" : "debug",
      autoLogging: { ignore: (req) => QUIET.has((req.url ?? "").split("?")[0] ?? "") },
    }),
  );
  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          defaultSrc: ["'self'"],
          styleSrc: ["'self'", "'unsafe-inline'"],
          imgSrc: ["'self'", "data:"],
        },
      },
      strictTransportSecurity: false, // set by the TLS terminator, which knows whether there is one
    }),
  );
  app.use((req, res, next) => {
    const start = process.hrtime.bigint();
    res.on("finish", () => {
      const route = (res.locals.route as string | undefined) ?? "unmatched";
      s.metrics.httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
      s.metrics.httpDuration.observe(
        { method: req.method, route },
        Number(process.hrtime.bigint() - start) / 1e9,
      );
    });
    next();
  });
  const routes = apiRoutes(s);
  // Each route authenticates, authorizes and only then reads its body (mountRoute): no body parser here.
  const hooks = {
    identify: (req: Request) => identify(s.auth, req),
    denied: (req: Request, principal: ReturnType<typeof principalOf>, route: AnyRoute, reason: string) =>
      s.audit
        .append({
          actor: principal?.actor ?? "anonymous",
          role: null,
          action: "http.denied",
          target: `route:${route.operationId}`,
          outcome: "denied",
          client: clientOf(req),
          details: { method: req.method, path: req.path, reason },
        })
        .then(
          () => undefined,
          // The refusal is answered all the same; the log says its entry is missing.
          (err: unknown) =>
            s.log.error({ err, route: route.operationId, reason }, "refused request not audited"),
        ),
    invalid: (req: Request, principal: Principal, route: AnyRoute, refusal: HttpProblem) =>
      s.requestRefusals.invalid(
        { actor: principal.actor, role: null, client: clientOf(req) },
        route.operationId,
        { method: req.method, path: req.path, status: refusal.status, errors: fieldsOf(refusal) },
      ),
  };
  for (const route of routes) {
    const handler = mountRoute(route, hooks);
    app[route.method](
      expressPath(route.path),
      (_req, res, next) => {
        res.locals.route = route.path;
        next();
      },
      handler,
    );
  }

  assertEveryRouteDeclared(app, routes);
  const routePaths = routes.map((r) => r.path);

  app.use((req) => {
    throw problem(404, `no route for ${req.method} ${req.path}`);
  });

  const onError: ErrorRequestHandler = (err: unknown, req, res, _next) => {
    const id = String((req as Request & { id?: unknown }).id ?? "");
    if (res.headersSent) {
      // A viewer who leaves mid-stream is not an error: playback and downloads resolve, not throw, on it.
      s.log.error({ err, requestId: id }, "error after the answer started");
      res.end();
      return;
    }
    // Refused before its body arrived (401, 403, 413): close rather than drain an upload nobody reads.
    const hasBody =
      req.headers["transfer-encoding"] !== undefined || Number(req.headers["content-length"]) > 0;
    if (hasBody && !req.complete) res.set("Connection", "close");
    if (err instanceof HttpProblem) return sendProblem(res, err, id);
    const e = err as { type?: string; status?: number; message?: string };
    // The router could not percent-decode a path segment (bytes that are not UTF-8).
    if (err instanceof URIError && e.status === 400) {
      return sendProblem(res, pathDecodeProblem(routePaths, req), id);
    }
    if (typeof e.status === "number" && e.status >= 400 && e.status < 500) {
      return sendProblem(res, problem(e.status, `request refused: ${e.type ?? "bad request"}`), id);
    }
    s.log.error({ err, requestId: id }, "unhandled error answering a request");
    sendProblem(res, problem(500, "internal error; the request id ties it to the server log"), id);
  };
  app.use(onError);
  return app;
}

/** Where and why a problem says the request was wrong: its `errors`, else its detail's own field. */
function fieldsOf(p: HttpProblem): FieldError[] {
  const listed = p.extra.errors as FieldError[] | undefined;
  if (listed?.length) return listed;
  const field = /^(path|query|body)\b/.exec(p.detail)?.[0];
  return [
    {
      field: field ?? "request",
      message: field ? p.detail.slice(field.length).replace(/^[.:]\s*/, "") : p.detail,
    },
  ];
}

/**
 * A handler mounted with app.get(…) instead of through apiRoutes() would have no access rule, no
 * OpenAPI entry and no place in the permission matrix: refuse to start rather than serve it.
 */
export function assertEveryRouteDeclared(app: Express, routes: readonly AnyRoute[]): void {
  const declared = new Set(routes.map((r) => `${r.method} ${expressPath(r.path)}`));
  const stack = (
    app as unknown as { router: { stack: { route?: { path: string; methods: Record<string, boolean> } }[] } }
  ).router.stack;
  for (const layer of stack) {
    if (!layer.route) continue;
    for (const method of Object.keys(layer.route.methods)) {
      if (method === "_all" || !declared.has(`${method} ${layer.route.path}`)) {
        throw new Error(
          `route ${method.toUpperCase()} ${layer.route.path} is mounted without a declaration in apiRoutes()`,
        );
      }
    }
  }
}
