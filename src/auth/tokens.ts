import { randomBytes, timingSafeEqual } from "node:crypto";
import type { ApiToken, TokenRepository } from "../catalog/directory/tokens.js";
import { sha256 } from "./sessions.js";

/**
 * Machine token credentials: `pscs_<id>_<secret>`, one role each, revocable.
 * Invariant: the secret is returned once at creation and only its SHA-256 is stored; a revoked or
 * expired token never authenticates again.
 */

export const TOKEN_ID_PATTERN = /^t_[0-9a-f]{12}$/;
const TOKEN_PATTERN = /^pscs_(t_[0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

/** A fresh credential: what the caller is shown once, and the hash that is stored. */
export function newTokenSecret(id = `t_${randomBytes(6).toString("hex")}`): {
  id: string;
  presented: string;
  secretHash: string;
} {
  const secret = randomBytes(32).toString("base64url");
  return { id, presented: `pscs_${id}_${secret}`, secretHash: sha256(secret) };
}

export type TokenLookup =
  | { state: "valid"; token: ApiToken }
  | { state: "revoked" | "expired"; token: ApiToken }
  | { state: "unknown"; id?: string };

/** The token a presented string names, if its secret matches (compared in constant time). */
export async function lookupToken(
  tokens: TokenRepository,
  presented: string,
  now: number,
): Promise<TokenLookup> {
  const m = TOKEN_PATTERN.exec(presented);
  if (!m) return { state: "unknown" };
  const [, id, secret] = m as unknown as [string, string, string];
  const found = await tokens.credential(id);
  if (!found) return { state: "unknown", id };
  const want = Buffer.from(found.secretHash, "hex");
  const got = Buffer.from(sha256(secret), "hex");
  if (!timingSafeEqual(want, got)) return { state: "unknown", id };
  const { token } = found;
  if (token.revokedAt !== null) return { state: "revoked", token };
  if (token.expiresAt !== null && now >= token.expiresAt) return { state: "expired", token };
  return { state: "valid", token };
}
