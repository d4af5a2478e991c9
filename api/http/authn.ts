import type { RequestHandler } from "express";
import type { AuthService } from "../../src/auth/service.js";
import { problem } from "./problem.js";
import { clientOf } from "./route.js";

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

export function authenticate(auth: AuthService): RequestHandler {
  return (req, _res, next) => {
    const client = clientOf(req);
    const header = req.get("authorization");
    if (header !== undefined) {
      const m = /^Bearer\s+(\S+)$/i.exec(header);
      const principal = m?.[1] ? auth.authenticateToken(m[1], client) : undefined;
      if (!principal) throw problem(401, "bearer token is malformed, unknown, expired or revoked");
      Object.assign(req, { principal });
      return next();
    }
    const sid = cookieValue(req.get("cookie"), SESSION_COOKIE);
    if (sid && /^[A-Za-z0-9_-]{43}$/.test(sid)) {
      const principal = auth.authenticateSession(sid, client);
      if (principal) Object.assign(req, { principal });
    }
    next();
  };
}
