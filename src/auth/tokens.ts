import { randomBytes, timingSafeEqual } from "node:crypto";
import type { Db } from "../catalog/catalog.js";
import type { Role } from "./roles.js";
import { sha256 } from "./sessions.js";

/**
 * API tokens for machine clients: `pscs_<id>_<secret>`, one role each, revocable.
 * Invariant: the secret is returned once at creation and only its SHA-256 is stored; a revoked or
 * expired token never authenticates again.
 */

export const TOKEN_ID_PATTERN = /^t_[0-9a-f]{12}$/;
const TOKEN_PATTERN = /^pscs_(t_[0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

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

export type TokenLookup =
  | { state: "valid"; token: ApiToken }
  | { state: "revoked" | "expired"; token: ApiToken }
  | { state: "unknown"; id?: string };

export class TokenStore {
  constructor(private readonly db: Db) {}

  create(
    t: { name: string; role: Role; createdBy: string; expiresAt: number | null },
    now: number,
    id = `t_${randomBytes(6).toString("hex")}`,
  ): { token: ApiToken; secret: string } {
    const secret = randomBytes(32).toString("base64url");
    this.db
      .prepare(
        `INSERT INTO api_tokens (id, name, role, secret_hash, created_at, created_by, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(id, t.name, t.role, sha256(secret), now, t.createdBy, t.expiresAt);
    return { token: this.get(id) as ApiToken, secret: `pscs_${id}_${secret}` };
  }

  get(id: string): ApiToken | undefined {
    const r = this.db.prepare<[string], Row>("SELECT * FROM api_tokens WHERE id = ?").get(id);
    return r && toToken(r);
  }

  list(): ApiToken[] {
    return this.db.prepare<[], Row>("SELECT * FROM api_tokens ORDER BY created_at, id").all().map(toToken);
  }

  revoke(id: string, by: string, now: number): boolean {
    return (
      this.db
        .prepare("UPDATE api_tokens SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL")
        .run(now, by, id).changes === 1
    );
  }

  lookup(presented: string, now: number): TokenLookup {
    const m = TOKEN_PATTERN.exec(presented);
    if (!m) return { state: "unknown" };
    const [, id, secret] = m as unknown as [string, string, string];
    const r = this.db.prepare<[string], Row>("SELECT * FROM api_tokens WHERE id = ?").get(id);
    if (!r) return { state: "unknown", id };
    const want = Buffer.from(r.secret_hash, "hex");
    const got = Buffer.from(sha256(secret), "hex");
    if (!timingSafeEqual(want, got)) return { state: "unknown", id };
    const token = toToken(r);
    if (r.revoked_at !== null) return { state: "revoked", token };
    if (r.expires_at !== null && now >= r.expires_at) return { state: "expired", token };
    return { state: "valid", token };
  }

  markUsed(id: string, now: number): void {
    this.db.prepare("UPDATE api_tokens SET last_used_at = ? WHERE id = ?").run(now, id);
  }
}
