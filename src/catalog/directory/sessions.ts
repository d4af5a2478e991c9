import type { Prepare } from "../catalog.js";

/**
 * Browser sessions as stored: the SHA-256 of the cookie's id and of the CSRF token, never either
 * value (`src/auth/sessions.ts` makes and checks them). No expiry rule lives here: the service says
 * when a session is over, and this repository deletes what it is told to.
 */

export interface SessionRow {
  idHash: string;
  username: string;
  csrfHash: string;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
  client: string;
}

export interface SessionRepository {
  insert(s: SessionRow): Promise<void>;
  get(idHash: string): Promise<SessionRow | undefined>;
  seen(idHash: string, at: number): Promise<void>;
  delete(idHash: string): Promise<boolean>;
  /** Ends every session of a user except one (the caller's own, on a password change); how many ended. */
  deleteForUser(username: string, except?: string): Promise<number>;
  /** Deletes sessions past their absolute end or not seen since `seenBefore`; how many. */
  deleteExpired(now: number, seenBefore: number): Promise<number>;
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

const toSession = (r: Row): SessionRow => ({
  idHash: r.id_hash,
  username: r.username,
  csrfHash: r.csrf_token,
  createdAt: r.created_at,
  lastSeenAt: r.last_seen_at,
  expiresAt: r.expires_at,
  client: r.client,
});

export class SqliteSessionRepository implements SessionRepository {
  constructor(private readonly prepare: Prepare) {}

  async insert(s: SessionRow): Promise<void> {
    this.prepare(
      `INSERT INTO sessions (id_hash, username, csrf_token, created_at, last_seen_at, expires_at, client)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ).run(s.idHash, s.username, s.csrfHash, s.createdAt, s.lastSeenAt, s.expiresAt, s.client);
  }

  async get(idHash: string): Promise<SessionRow | undefined> {
    const r = this.prepare<[string], Row>("SELECT * FROM sessions WHERE id_hash = ?").get(idHash);
    return r && toSession(r);
  }

  async seen(idHash: string, at: number): Promise<void> {
    this.prepare("UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?").run(at, idHash);
  }

  async delete(idHash: string): Promise<boolean> {
    return this.prepare("DELETE FROM sessions WHERE id_hash = ?").run(idHash).changes === 1;
  }

  async deleteForUser(username: string, except?: string): Promise<number> {
    return this.prepare("DELETE FROM sessions WHERE username = ? AND id_hash IS NOT ?").run(
      username,
      except ?? null,
    ).changes;
  }

  async deleteExpired(now: number, seenBefore: number): Promise<number> {
    return this.prepare("DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at <= ?").run(
      now,
      seenBefore,
    ).changes;
  }
}
