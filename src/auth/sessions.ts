import { createHash, randomBytes } from "node:crypto";
import type { SessionRow } from "../catalog/directory/sessions.js";

/**
 * Browser session credentials. The cookie carries a 256-bit random id; only its SHA-256 is stored.
 * The CSRF token is derived from the id (one-way, so the token reveals nothing of the cookie) and
 * only its SHA-256 is stored too: the directory holds nothing a request could be forged with.
 * Invariant: a session is valid while now < expiresAt (absolute lifetime) and now - lastSeenAt <
 * idle timeout; one found expired is deleted (by the service), never revived.
 */

export interface Session extends SessionRow {
  /** For the client (derived from the cookie in hand); never stored. */
  csrfToken: string;
}

export const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** The CSRF token of the session whose cookie value is `id`. */
const csrfTokenFor = (id: string) => createHash("sha256").update(`pscs-csrf\n${id}`).digest("base64url");

/** A new session: the cookie value (handed out once) and the session, whose row is what is stored. */
export function newSession(
  username: string,
  client: string,
  now: number,
  lifetimeMs: number,
): { id: string; session: Session } {
  const id = randomBytes(32).toString("base64url");
  const csrfToken = csrfTokenFor(id);
  return {
    id,
    session: {
      idHash: sha256(id),
      username,
      csrfToken,
      csrfHash: sha256(csrfToken),
      createdAt: now,
      lastSeenAt: now,
      expiresAt: now + lifetimeMs,
      client,
    },
  };
}

/** The stored part of a session. */
export function sessionRow(s: Session): SessionRow {
  const { csrfToken: _, ...row } = s;
  return row;
}

export type SessionCheck =
  /** `touch`: mark it seen now (at a bounded rate: a page polling every second is not a commit each). */
  | { state: "valid"; session: Session; touch: boolean }
  | { state: "expired"; reason: "idle" | "lifetime" }
  /** A row from before CSRF tokens were stored hashed (or an edited one): it cannot be used. */
  | { state: "unusable" };

/** What the row found for the cookie value `id` is worth at `now`. */
export function checkSession(id: string, row: SessionRow, now: number, idleMs: number): SessionCheck {
  const csrfToken = csrfTokenFor(id);
  if (row.csrfHash !== sha256(csrfToken)) return { state: "unusable" };
  const expired = expiryOf(row, now, idleMs);
  if (expired) return { state: "expired", reason: expired };
  const touch = now - row.lastSeenAt >= Math.min(10_000, idleMs / 10);
  return { state: "valid", session: { ...row, csrfToken }, touch };
}

/** Why a session row is past its lifetime or idle timeout at `now`, if it is. */
export function expiryOf(row: SessionRow, now: number, idleMs: number): "idle" | "lifetime" | undefined {
  if (now >= row.expiresAt) return "lifetime";
  if (now - row.lastSeenAt >= idleMs) return "idle";
  return undefined;
}
