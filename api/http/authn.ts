import type { IncomingMessage } from "node:http";
import type { Request } from "express";
import type { Auth, UserPrincipal } from "../../src/auth/service.js";
import { clientOf, type Identity } from "./route.js";

/**
 * Works out who is calling: a bearer token (machines) or the session cookie (people). It decides
 * nothing about permissions; mountRoute() does, per route.
 */

export const SESSION_COOKIE = "pscs_session";

export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * A request the browser UI makes on its own (`X-PSCS-Background: 1`: a poll, a refresh): it does
 * not count as the person being there (see AuthService.authenticateSession).
 */
export function isBackground(req: { headers: Record<string, string | string[] | undefined> }): boolean {
  return req.headers["x-pscs-background"] === "1";
}

/**
 * Only routes that need a caller ask (mountRoute, before reading the body): a bad or revoked token
 * does not turn a public route (/healthz, /readyz) into a 401, nor write an audit entry there.
 */
export async function identify(auth: Auth, req: Request): Promise<Identity> {
  const client = clientOf(req);
  const header = req.get("authorization");
  if (header !== undefined) {
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    const principal = m?.[1] ? await auth.authenticateToken(m[1], client) : undefined;
    return principal ? { principal } : { refusal: "bearer token is malformed, unknown, expired or revoked" };
  }
  const principal = await identifySession(auth, req);
  return principal ? { principal } : {};
}

/** The session cookie's id, when it is one's shape at all. */
function sessionIdOf(req: IncomingMessage): string | undefined {
  const sid = cookieValue(req.headers.cookie, SESSION_COOKIE);
  return sid && /^[A-Za-z0-9_-]{43}$/.test(sid) ? sid : undefined;
}

/**
 * The signed-in person of a request by its session cookie alone: what a WebSocket upgrade (which
 * a browser cannot give an Authorization header) is identified by, and `identify`'s cookie half.
 */
export async function identifySession(auth: Auth, req: IncomingMessage): Promise<UserPrincipal | undefined> {
  const sid = sessionIdOf(req);
  return sid ? auth.authenticateSession(sid, clientOf(req), { presence: !isBackground(req) }) : undefined;
}
