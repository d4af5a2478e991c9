import type { Role } from "../../auth/roles.js";
import type { Prepare } from "../catalog.js";

/**
 * Machine tokens as stored: the SHA-256 of the secret, never the secret (`src/auth/tokens.ts` makes
 * and checks it). The hash is read only through `credential`, so a listed token never carries it.
 * Invariant: a token is revoked at most once and never un-revoked; tokens are never deleted.
 */

export interface ApiToken {
  id: string;
  name: string;
  role: Role;
  createdAt: number;
  createdBy: string;
  expiresAt: number | null;
  revokedAt: number | null;
  revokedBy: string | null;
  lastUsedAt: number | null;
}

export type NewToken = Pick<ApiToken, "id" | "name" | "role" | "createdAt" | "createdBy" | "expiresAt"> & {
  secretHash: string;
};

export interface TokenRepository {
  insert(t: NewToken): Promise<void>;
  get(id: string): Promise<ApiToken | undefined>;
  /** The token with its stored secret hash, for checking a presented secret. */
  credential(id: string): Promise<{ token: ApiToken; secretHash: string } | undefined>;
  /** Oldest first. */
  list(): Promise<ApiToken[]>;
  /** False when there is no such token or it was already revoked (the first revocation stands). */
  revoke(id: string, by: string, at: number): Promise<boolean>;
  markUsed(id: string, at: number): Promise<void>;
}

interface Row {
  id: string;
  name: string;
  role: Role;
  secret_hash: string;
  created_at: number;
  created_by: string;
  expires_at: number | null;
  revoked_at: number | null;
  revoked_by: string | null;
  last_used_at: number | null;
}

const toToken = (r: Row): ApiToken => ({
  id: r.id,
  name: r.name,
  role: r.role,
  createdAt: r.created_at,
  createdBy: r.created_by,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
  revokedBy: r.revoked_by,
  lastUsedAt: r.last_used_at,
});

export class SqliteTokenRepository implements TokenRepository {
  constructor(private readonly prepare: Prepare) {}

  async insert(t: NewToken): Promise<void> {
    this.prepare(
      `INSERT INTO api_tokens (id, name, role, secret_hash, created_at, created_by, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ).run(t.id, t.name, t.role, t.secretHash, t.createdAt, t.createdBy, t.expiresAt);
  }

  async get(id: string): Promise<ApiToken | undefined> {
    const r = this.row(id);
    return r && toToken(r);
  }

  async credential(id: string): Promise<{ token: ApiToken; secretHash: string } | undefined> {
    const r = this.row(id);
    return r && { token: toToken(r), secretHash: r.secret_hash };
  }

  async list(): Promise<ApiToken[]> {
    return this.prepare<[], Row>("SELECT * FROM api_tokens ORDER BY created_at, id").all().map(toToken);
  }

  async revoke(id: string, by: string, at: number): Promise<boolean> {
    return (
      this.prepare(
        "UPDATE api_tokens SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL",
      ).run(at, by, id).changes === 1
    );
  }

  async markUsed(id: string, at: number): Promise<void> {
    this.prepare("UPDATE api_tokens SET last_used_at = ? WHERE id = ?").run(at, id);
  }

  private row(id: string): Row | undefined {
    return this.prepare<[string], Row>("SELECT * FROM api_tokens WHERE id = ?").get(id);
  }
}
