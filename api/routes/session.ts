import type { Response } from "express";
import { z } from "zod";
import type { Auth, Principal } from "../../src/auth/service.js";
import { ServiceError } from "../../src/errors/service-error.js";
import type { Live } from "../../src/live/desk.js";
import type { Metrics } from "../../src/metrics/metrics.js";
import { SESSION_COOKIE } from "../http/authn.js";
import { type AnyRoute, defineRoute } from "../http/route.js";
import { role } from "./schemas.js";

/** Sign in, who am I, sign out, change my password. */

const me = z.object({
  kind: z.enum(["user", "token"]),
  actor: z.string(),
  roles: z.array(role),
  username: z.string().optional(),
  displayName: z.string().optional(),
  mustChangePassword: z.boolean().optional(),
  csrfToken: z.string().optional(),
  expiresAt: z.int().optional(),
  /** The server ends the session this long after the last request it saw (the UI warns before). */
  idleSeconds: z.int().optional(),
  /** The site (config `site`): the UI shows and takes every time in its zone, whatever the browser's. */
  site: z.object({ name: z.string(), timezone: z.string() }),
});

export interface Site {
  name: string;
  /** IANA zone. */
  timezone: string;
}

function describe(p: Principal, idleSeconds: number, site: Site): z.infer<typeof me> {
  return p.kind === "user"
    ? {
        kind: "user",
        actor: p.actor,
        roles: p.roles,
        username: p.username,
        displayName: p.displayName,
        mustChangePassword: p.mustChangePassword,
        csrfToken: p.session.csrfToken,
        expiresAt: p.session.expiresAt,
        idleSeconds,
        site,
      }
    : { kind: "token", actor: p.actor, roles: p.roles, site };
}

export interface SessionRouteOptions {
  auth: Auth;
  /** Signing out ends the live sessions opened under that sign-in. */
  live: Pick<Live, "signedOut">;
  metrics: Metrics;
  /** Secure cookies need HTTPS, except on loopback where browsers accept them over HTTP. */
  secureCookie: boolean;
  sessionMaxHours: number;
  sessionIdleMinutes: number;
  site: Site;
}

function setCookie(res: Response, value: string, maxAgeSeconds: number, secure: boolean): void {
  res.append(
    "Set-Cookie",
    `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure ? "; Secure" : ""}`,
  );
}

export function sessionRoutes(o: SessionRouteOptions): AnyRoute[] {
  const idleSeconds = Math.round(o.sessionIdleMinutes * 60);
  return [
    defineRoute({
      method: "post",
      path: "/api/session",
      operationId: "login",
      summary: "Sign in with a named account; sets the session cookie and returns the CSRF token",
      tag: "session",
      access: { public: true },
      body: z.strictObject({ username: z.string().min(1).max(64), password: z.string().min(1).max(256) }),
      example: { body: { username: "jdoe", password: "Example-Passw0rd!" } },
      responses: {
        200: { description: "signed in", schema: me },
        401: { description: "sign-in failed (wrong name or password, locked, disabled: one answer for all)" },
        429: {
          description: "too many failed sign-ins from this address, or the server is busy; see Retry-After",
        },
      },
      handler: async ({ body, client, res }) => {
        try {
          const { sessionId, principal } = await o.auth.login(body.username, body.password, client);
          o.metrics.logins.inc({ outcome: "success" });
          setCookie(res, sessionId, Math.round(o.sessionMaxHours * 3600), o.secureCookie);
          return describe(principal, idleSeconds, o.site);
        } catch (e) {
          if (e instanceof ServiceError)
            o.metrics.logins.inc({ outcome: e.kind === "throttled" ? "throttled" : "failure" });
          throw e;
        }
      },
    }),
    defineRoute({
      method: "get",
      path: "/api/session",
      operationId: "whoami",
      summary: "Who is signed in (and the CSRF token for writes)",
      tag: "session",
      access: { authenticated: true },
      responses: { 200: { description: "the caller", schema: me } },
      handler: ({ principal }) => describe(principal as Principal, idleSeconds, o.site),
    }),
    defineRoute({
      method: "delete",
      path: "/api/session",
      operationId: "logout",
      summary: "Sign out: ends the caller's session",
      tag: "session",
      access: { authenticated: true },
      responses: { 204: { description: "signed out" } },
      handler: async ({ principal, client, res }) => {
        if (principal?.kind !== "user") throw new ServiceError("invalid", "tokens have no session to end");
        await o.auth.logout(principal, client);
        await o.live.signedOut(principal.session.idHash);
        setCookie(res, "", 0, o.secureCookie);
        res.status(204).end();
      },
    }),
    defineRoute({
      method: "put",
      path: "/api/session/password",
      operationId: "changePassword",
      summary: "Change my password (ends my other sessions)",
      tag: "session",
      access: { authenticated: true },
      body: z.strictObject({
        currentPassword: z.string().min(1).max(256),
        newPassword: z.string().min(1).max(256),
      }),
      example: { body: { currentPassword: "Example-Passw0rd!", newPassword: "Another-Passw0rd?" } },
      responses: { 204: { description: "changed" } },
      handler: async ({ principal, body, client, res }) => {
        if (principal?.kind !== "user") throw new ServiceError("invalid", "tokens have no password");
        await o.auth.changePassword(principal, body.currentPassword, body.newPassword, client);
        res.status(204).end();
      },
    }),
  ];
}
