import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import express, { type Request, type RequestHandler, type Response } from "express";
import { z } from "zod";
import type { Permission, Role } from "../../src/auth/roles.js";
import { roleGranting } from "../../src/auth/roles.js";
import type { ActionContext, Principal } from "../../src/auth/service.js";
import { inputTextProblem, rawQueryProblem } from "./input-text.js";
import { fromServiceError, type InputPlace, isServiceError, problem, validationProblem } from "./problem.js";

/**
 * One declaration per route: method, path, who may call it, the zod schemas of its inputs and
 * outputs, and the handler. Mounting, validation, authorization and the OpenAPI document are all
 * derived from this, so they cannot drift apart.
 * Invariant: a route cannot be declared without `access`, and routes are only mounted through
 * mountRoute(), which authenticates and authorizes before it reads the body, validates or runs
 * anything; a body above 64 KiB is read only for a route that declares a larger `bodyLimit`.
 */

export type Access =
  | { public: true }
  /** Any signed-in person or token, including one that must change its password first. */
  | { authenticated: true }
  | { permission: Permission };

type AnyObject = z.ZodObject<z.ZodRawShape>;

export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
  /** Defaults to application/json. */
  contentType?: string;
}

export interface RequestContext<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  principal: Principal | undefined;
  /** The role that granted this route's permission (recorded in audit entries). */
  role: Role | null;
  /** Ready to hand to a service: who, through which role, from where. */
  action: ActionContext;
  client: string;
  req: Request;
  res: Response;
}

export interface RouteDef<P extends AnyObject, Q extends AnyObject, B extends z.ZodType> {
  method: "get" | "post" | "put" | "patch" | "delete";
  /** OpenAPI-style path: /api/users/{username}. */
  path: string;
  operationId: string;
  summary: string;
  tag: string;
  access: Access;
  params?: P;
  query?: Q;
  body?: B;
  /** A body limit above the default 64 KiB (express syntax, e.g. "21mb"), for routes taking documents. */
  bodyLimit?: string;
  responses: Record<number, ResponseSpec>;
  /** A valid request, shown in the docs and replayed by the permission-matrix test. */
  example?: { params?: z.input<P>; query?: z.input<Q>; body?: z.input<B> };
  /**
   * Returns the JSON body of a 200 answer, or undefined when the handler answered itself (status,
   * CSV, a stream).
   */
  handler(ctx: RequestContext<z.output<P>, z.output<Q>, z.output<B>>): unknown;
}

// biome-ignore lint/suspicious/noExplicitAny: a heterogeneous list of routes, each typed at its declaration
export type AnyRoute = RouteDef<any, any, any>;

const EMPTY = z.strictObject({});

export function defineRoute<
  P extends AnyObject = typeof EMPTY,
  Q extends AnyObject = typeof EMPTY,
  B extends z.ZodType = z.ZodUndefined,
>(def: RouteDef<P, Q, B>): AnyRoute {
  return def;
}

export function paramsSchema(r: AnyRoute): AnyObject {
  return r.params ?? EMPTY;
}
export function querySchema(r: AnyRoute): AnyObject {
  return r.query ?? EMPTY;
}

export function expressPath(path: string): string {
  return path.replace(/\{(\w+)\}/g, ":$1");
}

/** Who the request says it is: a principal, a refusal (a bad bearer token), or nobody. */
export type Identity = { principal?: Principal; refusal?: string };

export interface AuthzHooks {
  /** Who is calling (asked only by routes that are not public). */
  identify(req: Request): Promise<Identity>;
  /** Records a refused request in the audit log; the refusal is answered once it settles (never rejects). */
  denied(req: Request, principal: Principal | undefined, route: AnyRoute, reason: string): Promise<void>;
}

/** The request's principal, set by the authentication middleware. */
export function principalOf(req: Request): Principal | undefined {
  return (req as Request & { principal?: Principal }).principal;
}

export function clientOf(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? "unknown";
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** The session stores only the token's SHA-256; the presented token is hashed to compare. */
function csrfMatches(req: Request, expectedHash: string): boolean {
  const got = req.get("x-csrf-token");
  if (!got) return false;
  const hash = Buffer.from(createHash("sha256").update(got).digest("hex"));
  const want = Buffer.from(expectedHash);
  return hash.length === want.length && timingSafeEqual(hash, want);
}

const DEFAULT_BODY_LIMIT = "64kb";

function readJsonBody(parse: RequestHandler, req: Request, res: Response): Promise<void> {
  return new Promise((resolve, reject) => parse(req, res, (e?: unknown) => (e ? reject(e) : resolve())));
}

export function mountRoute(route: AnyRoute, hooks: AuthzHooks): RequestHandler {
  const params = paramsSchema(route);
  const query = querySchema(route);
  const parseJson = express.json({ limit: route.bodyLimit ?? DEFAULT_BODY_LIMIT, strict: true });
  const serve = async (req: Request, res: Response) => {
    let principal: Principal | undefined;
    let role: Role | null = null;
    if (!("public" in route.access)) {
      const who = await hooks.identify(req);
      if (who.refusal) throw problem(401, who.refusal);
      principal = who.principal;
      if (!principal) throw problem(401, "sign in, or present a bearer token, to use this route");
      Object.assign(req, { principal });
      // Cookies ride along on cross-site requests; a header a foreign page cannot read or set does not.
      if (
        principal.kind === "user" &&
        !SAFE_METHODS.has(req.method) &&
        !csrfMatches(req, principal.session.csrfHash)
      ) {
        await hooks.denied(req, principal, route, "csrf token missing or wrong");
        throw problem(
          403,
          "missing or wrong X-CSRF-Token header (the csrfToken from sign-in or GET /api/session)",
        );
      }
      if ("permission" in route.access) {
        if (principal.kind === "user" && principal.mustChangePassword) {
          await hooks.denied(req, principal, route, "password change required");
          throw problem(403, "password change required: PUT /api/session/password first");
        }
        const granting = roleGranting(principal.roles, route.access.permission);
        if (!granting) {
          await hooks.denied(req, principal, route, `lacks permission ${route.access.permission}`);
          throw problem(
            403,
            `this needs permission '${route.access.permission}', which none of your roles grant`,
            {
              permission: route.access.permission,
            },
          );
        }
        role = granting;
      }
    }
    // Only now, for a caller allowed here: nobody makes the daemon parse a body it would refuse.
    await readJsonBody(parseJson, req, res);
    const p = checked("path", params, req.params);
    if (!p.success) throw validationProblem("path", p.error);
    const rawQuery = rawQueryProblem(req);
    if (rawQuery) throw rawQuery;
    const q = checked("query", query, req.query ?? {});
    if (!q.success) throw validationProblem("query", q.error);
    let body: unknown;
    if (route.body) {
      if (!req.is("application/json")) {
        throw problem(415, "body: expected Content-Type application/json");
      }
      const b = checked("body", route.body, req.body);
      if (!b.success) throw validationProblem("body", b.error);
      body = b.data;
    } else if (req.body !== undefined && Object.keys(req.body as object).length > 0) {
      throw problem(400, "body: this route takes no request body");
    }
    const client = clientOf(req);
    const result = await route.handler({
      params: p.data,
      query: q.data,
      body,
      principal,
      role,
      action: { actor: principal?.actor ?? "anonymous", role, client },
      client,
      req,
      res,
    });
    if (result !== undefined && !res.headersSent) res.json(result);
  };
  return (req, res) => namingInputs(route, () => serve(req, res));
}

/** One part of the request against its schema, once its text is known to be acceptable. */
function checked<T extends z.ZodType>(where: InputPlace, schema: T, value: unknown) {
  const text = inputTextProblem(where, value);
  if (text) throw text;
  return schema.safeParse(value);
}

/**
 * Serves a request, turning a service's refusal into a problem whose field says where in this
 * route's request the input was: a path or query parameter of that name, else the body.
 */
async function namingInputs(route: AnyRoute, run: () => Promise<void>): Promise<void> {
  const placeOf = (input: string): InputPlace =>
    Object.hasOwn(paramsSchema(route).shape, input)
      ? "path"
      : Object.hasOwn(querySchema(route).shape, input)
        ? "query"
        : "body";
  try {
    await run();
  } catch (e) {
    if (isServiceError(e)) throw fromServiceError(e, placeOf);
    throw e;
  }
}
