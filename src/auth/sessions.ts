import { createHash, randomBytes } from "node:crypto";
import type { Db } from "../catalog/catalog.js";

/**
 * Browser sessions. The cookie carries a 256-bit random id; only its SHA-256 is stored. The CSRF
 * token is derived from the id (one-way, so the token reveals nothing of the cookie) and only its
 * SHA-256 is stored too: the catalog holds nothing a request could be forged with.
 * Invariant: a session is valid while now < expires_at (absolute lifetime) and now - last_seen_at <
 * idle timeout; an expired session is deleted when it is first seen expired, never revived.
 */

export interface Session {
  idHash: string;
  username: string;
  /** For the client (derived from the cookie in hand); never stored. */
  csrfToken: string;
  /** What is stored, and what a presented token is compared against. */
  csrfHash: string;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
  client: string;
}

interface Row {
  id_hash: string;
  username: string;
  csrf_token: string;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
  client: string;
}

export const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** The CSRF token of the session whose cookie value is `id`. */
const csrfTokenFor = (id: string) => createHash("sha256").update(`pscs-csrf\n${id}`).digest("base64url");

export type SessionLookup =
  | { state: "valid"; session: Session }
  | { state: "expired"; reason: "idle" | "lifetime"; username: string }
  | { state: "unknown" };

export class SessionStore {
  constructor(
    private readonly db: Db,
    private readonly idleMs: number,
    private readonly lifetimeMs: number,
  ) {}

  create(username: string, client: string, now: number): { id: string; session: Session } {
    const id = randomBytes(32).toString("base64url");
    const csrfToken = csrfTokenFor(id);
    const session: Session = {
      idHash: sha256(id),
      username,
      csrfToken,
      csrfHash: sha256(csrfToken),
      createdAt: now,
      lastSeenAt: now,
      expiresAt: now + this.lifetimeMs,
      client,
    };
    this.db
      .prepare(
        `INSERT INTO sessions (id_hash, username, csrf_token, created_at, last_seen_at, expires_at, client)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(session.idHash, username, session.csrfHash, now, now, session.expiresAt, client);
    return { id, session };
  }

  /** Looks the cookie value up and, when valid, marks it seen now. */
  touch(id: string, now: number): SessionLookup {
    const r = this.db.prepare<[string], Row>("SELECT * FROM sessions WHERE id_hash = ?").get(sha256(id));
    if (!r) return { state: "unknown" };
    const csrfToken = csrfTokenFor(id);
    if (r.csrf_token !== sha256(csrfToken)) {
      // A row from before CSRF tokens were stored hashed (or an edited one): it cannot be used.
      this.db.prepare("DELETE FROM sessions WHERE id_hash = ?").run(r.id_hash);
      return { state: "unknown" };
    }
    const expired =
      now >= r.expires_at ? "lifetime" : now - r.last_seen_at >= this.idleMs ? "idle" : undefined;
    if (expired) {
      this.db.prepare("DELETE FROM sessions WHERE id_hash = ?").run(r.id_hash);
      return { state: "expired", reason: expired, username: r.username };
    }
    // Bounded write rate: a page polling every second must not turn into a commit per request.
    if (now - r.last_seen_at >= Math.min(10_000, this.idleMs / 10)) {
      this.db.prepare("UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?").run(now, r.id_hash);
      r.last_seen_at = now;
    }
    return {
      state: "valid",
      session: {
        idHash: r.id_hash,
        username: r.username,
        csrfToken,
        csrfHash: r.csrf_token,
        createdAt: r.created_at,
        lastSeenAt: r.last_seen_at,
        expiresAt: r.expires_at,
        client: r.client,
      },
    };
  }

  delete(idHash: string): void {
    this.db.prepare("DELETE FROM sessions WHERE id_hash = ?").run(idHash);
  }

  /** Ends every session of a user, except one (the caller's own, on a password change). */
  deleteForUser(username: string, except?: string): number {
    return this.db
      .prepare("DELETE FROM sessions WHERE username = ? AND id_hash IS NOT ?")
      .run(username, except ?? null).changes;
  }

  purgeExpired(now: number): number {
    return this.db
      .prepare("DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at <= ?")
      .run(now, now - this.idleMs).changes;
  }
}
