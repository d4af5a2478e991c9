import type { AuditLog } from "../audit/log.js";
import type { Directory, DirectoryTx } from "../catalog/directory/directory.js";
import type { SessionRow } from "../catalog/directory/sessions.js";
import type { ApiToken } from "../catalog/directory/tokens.js";
import type { User } from "../catalog/directory/users.js";
import { ServiceError } from "../errors/service-error.js";
import { type AccountChange, Accounts, type NewAccount, type PublicUser } from "./accounts.js";
import { type ActionContext, auditIn } from "./acting.js";
import { RefusalPace } from "./refusal-pace.js";
import { type Permission, type Role, roleGranting, TOKEN_ROLES } from "./roles.js";
import { checkSession, expiryOf, type Session, sha256 } from "./sessions.js";
import { SignIn, type SignInSettings } from "./sign-in.js";
import { addressKey } from "./throttle.js";
import { lookupToken, newTokenSecret } from "./tokens.js";

/**
 * People, sessions and machine tokens behind one interface (`Auth`, what `api/` and the CLI are
 * typed against): accounts through `accounts.ts`, sign-in through `sign-in.ts`, and here the
 * sessions and machine tokens, with an audit entry for every change and every refusal.
 * Invariant: every method that changes a credential writes its audit entry in the same unit of work
 * as the change (both commit or neither does); a refused login is audited as a failure, a lockout as
 * its own entry.
 */

export type { AccountChange, ActionContext, NewAccount, PublicUser };

export interface AuthSettings extends SignInSettings {
  sessionIdleMinutes: number;
  sessionMaxHours: number;
}

export type Principal =
  | {
      kind: "user";
      actor: string;
      username: string;
      displayName: string;
      roles: Role[];
      mustChangePassword: boolean;
      session: Session;
    }
  | { kind: "token"; actor: string; tokenId: string; name: string; roles: Role[] };

export type UserPrincipal = Extract<Principal, { kind: "user" }>;

/**
 * A sign-in asked after the fact: `valid`; `ended` (signed out, expired, revoked by a password change
 * or reset, its user disabled); `withdrawn` (it stands, but its user no longer holds the permission).
 */
export type SessionStanding = "valid" | "ended" | "withdrawn";
export type TokenPrincipal = Extract<Principal, { kind: "token" }>;

/** What the API and the CLI ask of people, sessions and tokens (AuthService is the implementation). */
export interface Auth {
  addUser(u: NewAccount, ctx: ActionContext): Promise<PublicUser>;
  listUsers(): Promise<PublicUser[]>;
  publicUser(username: string): Promise<PublicUser>;
  updateUser(username: string, change: AccountChange, ctx: ActionContext): Promise<PublicUser>;
  resetPassword(username: string, password: string, ctx: ActionContext, mustChange?: boolean): Promise<void>;
  unlockUser(username: string, ctx: ActionContext): Promise<PublicUser>;
  /** Every failure is the same `unauthenticated` refusal; beyond the limits, `throttled`. */
  login(
    username: string,
    password: string,
    client: string,
  ): Promise<{ sessionId: string; principal: UserPrincipal }>;
  /** The principal behind a session cookie, or undefined (an expiry is audited once, when found). */
  authenticateSession(
    sessionId: string,
    client: string,
    o?: { presence?: boolean },
  ): Promise<UserPrincipal | undefined>;
  /**
   * Whether the sign-in whose session row is `idHash` still stands and holds `permission`, for what
   * outlives a request (a live view); it never extends the idle time.
   */
  sessionStanding(idHash: string, permission: Permission): Promise<SessionStanding>;
  logout(p: UserPrincipal, client: string): Promise<void>;
  changePassword(p: UserPrincipal, current: string, next: string, client: string): Promise<void>;
  createToken(
    t: { name: string; role: Role; expiresInDays?: number | undefined },
    ctx: ActionContext,
    id?: string,
  ): Promise<{ token: ApiToken; secret: string }>;
  listTokens(): Promise<ApiToken[]>;
  revokeToken(id: string, ctx: ActionContext): Promise<ApiToken>;
  authenticateToken(presented: string, client: string): Promise<TokenPrincipal | undefined>;
}

const TOKEN_USE_AUDIT_EVERY_MS = 3_600_000;
/** A refused token is audited at most this often per source address (and per real token). */
const TOKEN_REFUSAL_AUDIT_EVERY_MS = 60_000;

/** What a read that found a write to do returns, so the caller does it in a write unit of work. */
const NEEDS_WRITE = Symbol("needs a write");

export class AuthService implements Auth {
  private readonly now: () => number;
  private readonly signIn: SignIn;
  private readonly accounts: Accounts;
  private readonly idleMs: number;
  /** token id → time of its last audited use and uses since (token use is audited hourly, not per scrape). */
  private readonly tokenUse = new Map<string, { auditedAt: number; uses: number }>();
  private readonly refusals = new RefusalPace(TOKEN_REFUSAL_AUDIT_EVERY_MS);

  constructor(
    private readonly directory: Directory,
    private readonly audit: AuditLog,
    settings: AuthSettings,
    now: () => number = Date.now,
  ) {
    this.now = now;
    this.idleMs = settings.sessionIdleMinutes * 60_000;
    this.signIn = new SignIn(directory, audit, settings, settings.sessionMaxHours * 3_600_000, now);
    this.accounts = new Accounts(
      directory,
      audit,
      (job) => this.signIn.hashing(job),
      settings.scryptLogN,
      now,
    );
  }

  // --- accounts ---------------------------------------------------------------------------------

  addUser(u: NewAccount, ctx: ActionContext): Promise<PublicUser> {
    return this.accounts.addUser(u, ctx);
  }

  listUsers(): Promise<PublicUser[]> {
    return this.accounts.listUsers();
  }

  publicUser(username: string): Promise<PublicUser> {
    return this.accounts.publicUser(username);
  }

  updateUser(username: string, change: AccountChange, ctx: ActionContext): Promise<PublicUser> {
    return this.accounts.updateUser(username, change, ctx);
  }

  resetPassword(username: string, password: string, ctx: ActionContext, mustChange = true): Promise<void> {
    return this.accounts.resetPassword(username, password, ctx, mustChange);
  }

  unlockUser(username: string, ctx: ActionContext): Promise<PublicUser> {
    return this.accounts.unlockUser(username, ctx);
  }

  changePassword(p: UserPrincipal, current: string, next: string, client: string): Promise<void> {
    return this.accounts.changePassword(p, current, next, client);
  }

  // --- sessions ---------------------------------------------------------------------------------

  async login(
    username: string,
    password: string,
    client: string,
  ): Promise<{ sessionId: string; principal: UserPrincipal }> {
    const { id, session, user } = await this.signIn.attempt(username, password, client);
    return { sessionId: id, principal: userPrincipal(user, session) };
  }

  /** For metrics: lockouts since start, and whether a lockout storm is on. */
  lockoutState(): { lockouts: number; storm: boolean } {
    return this.signIn.lockoutState();
  }

  /** A read for the common case (a valid session seen recently); a write only when one is due. */
  /**
   * `presence: false` for a request a screen makes on its own (a poll, a live session's re-check):
   * it is answered, but does not extend the session's idle time, so an unattended screen signs out.
   */
  async authenticateSession(
    sessionId: string,
    client: string,
    o: { presence?: boolean } = {},
  ): Promise<UserPrincipal | undefined> {
    const now = this.now();
    const presence = o.presence ?? true;
    const seen = await this.directory.read((d) => this.sessionIn(d, sessionId, client, now, false, presence));
    if (seen !== NEEDS_WRITE) return seen;
    return this.directory.tx(async (d) => {
      const done = await this.sessionIn(d, sessionId, client, now, true, presence);
      return done === NEEDS_WRITE ? undefined : done;
    });
  }

  /** An expiry found here is audited as `authenticateSession` audits it. */
  async sessionStanding(idHash: string, permission: Permission): Promise<SessionStanding> {
    const now = this.now();
    const seen = await this.directory.read((d) => this.standingIn(d, idHash, permission, now, false));
    if (seen !== NEEDS_WRITE) return seen;
    return this.directory.tx(async (d) => {
      const done = await this.standingIn(d, idHash, permission, now, true);
      return done === NEEDS_WRITE ? "ended" : done;
    });
  }

  /** Deletes sessions past their lifetime or idle timeout (their expiry was already decided). */
  purgeExpiredSessions(): Promise<number> {
    const now = this.now();
    return this.directory.tx((d) => d.sessions.deleteExpired(now, now - this.idleMs));
  }

  logout(p: UserPrincipal, client: string): Promise<void> {
    return this.directory.tx(async (d) => {
      await d.sessions.delete(p.session.idHash);
      await auditIn(
        this.audit,
        d,
        { actor: p.actor, role: null, client },
        "auth.logout",
        `user:${p.username}`,
        "success",
      );
    });
  }

  // --- machine tokens ---------------------------------------------------------------------------

  async createToken(
    t: { name: string; role: Role; expiresInDays?: number | undefined },
    ctx: ActionContext,
    id?: string,
  ): Promise<{ token: ApiToken; secret: string }> {
    if (!(TOKEN_ROLES as readonly string[]).includes(t.role)) {
      throw new ServiceError(
        "invalid",
        `role: machine tokens may hold ${TOKEN_ROLES.join(" or ")}, not ${t.role}`,
        "role",
      );
    }
    const now = this.now();
    const expiresAt = t.expiresInDays === undefined ? null : now + t.expiresInDays * 86_400_000;
    const made = newTokenSecret(id);
    return this.directory.tx(async (d) => {
      const { secretHash } = made;
      await d.tokens.insert({
        id: made.id,
        name: t.name,
        role: t.role,
        createdAt: now,
        createdBy: ctx.actor,
        expiresAt,
        secretHash,
      });
      await auditIn(this.audit, d, ctx, "token.create", `token:${made.id}`, "success", {
        name: t.name,
        role: t.role,
        expiresAt,
      });
      return { token: (await d.tokens.get(made.id)) as ApiToken, secret: made.presented };
    });
  }

  listTokens(): Promise<ApiToken[]> {
    return this.directory.read((d) => d.tokens.list());
  }

  revokeToken(id: string, ctx: ActionContext): Promise<ApiToken> {
    return this.directory.tx(async (d) => {
      const t = await d.tokens.get(id);
      if (!t) throw new ServiceError("not_found", `token '${id}' does not exist`, "id");
      if (!(await d.tokens.revoke(id, ctx.actor, this.now()))) {
        throw new ServiceError("conflict", `token '${id}' was already revoked`, "id");
      }
      await auditIn(this.audit, d, ctx, "token.revoke", `token:${id}`, "success", {
        name: t.name,
        role: t.role,
      });
      return (await d.tokens.get(id)) as ApiToken;
    });
  }

  async authenticateToken(presented: string, client: string): Promise<TokenPrincipal | undefined> {
    const now = this.now();
    const found = await this.directory.read((d) => lookupToken(d.tokens, presented, now));
    if (found.state !== "valid") {
      const id = found.state === "unknown" ? found.id : found.token.id;
      // An unknown id is the sender's choice, so it is not part of the key: one budget per address.
      const known = found.state === "unknown" ? "" : `${found.token.id}|`;
      const paced = this.refusals.take(`${found.state}|${known}${addressKey(client)}`, now);
      if (!paced.write) return undefined;
      await this.directory.tx((d) =>
        auditIn(
          this.audit,
          d,
          { actor: id ? `token:${id}` : "anonymous", role: null, client },
          "token.use",
          id ? `token:${id}` : null,
          "failure",
          { reason: found.state, ...(paced.unwritten ? { notAuditedSinceLastEntry: paced.unwritten } : {}) },
        ),
      );
      return undefined;
    }
    const t = found.token;
    const use = this.tokenUse.get(t.id) ?? { auditedAt: 0, uses: 0 };
    use.uses++;
    this.tokenUse.set(t.id, use);
    if (now - use.auditedAt >= TOKEN_USE_AUDIT_EVERY_MS) {
      // Counted as audited before the write, so concurrent uses do not each write an entry.
      const uses = use.uses;
      use.auditedAt = now;
      use.uses = 0;
      await this.directory.tx(async (d) => {
        await auditIn(
          this.audit,
          d,
          { actor: `token:${t.id}`, role: t.role, client },
          "token.use",
          `token:${t.id}`,
          "success",
          {
            usesSinceLastEntry: uses,
          },
        );
        await d.tokens.markUsed(t.id, now);
      });
    }
    return { kind: "token", actor: `token:${t.id}`, tokenId: t.id, name: t.name, roles: [t.role] };
  }

  // --- helpers ----------------------------------------------------------------------------------

  /** The principal for a session cookie; with `write` false, NEEDS_WRITE where the session must change. */
  private async sessionIn(
    d: DirectoryTx,
    sessionId: string,
    client: string,
    now: number,
    write: boolean,
    presence: boolean,
  ): Promise<UserPrincipal | undefined | typeof NEEDS_WRITE> {
    const row = await d.sessions.get(sha256(sessionId));
    if (!row) return undefined;
    const found = checkSession(sessionId, row, now, this.idleMs);
    if (found.state !== "valid")
      return this.endIn(d, row, found.state === "expired" ? found.reason : undefined, client, write);
    const u = await d.users.get(row.username);
    if (!u || u.disabled) return this.endIn(d, row, undefined, client, write);
    if (found.touch && presence) {
      if (!write) return NEEDS_WRITE;
      await d.sessions.seen(row.idHash, now);
      found.session.lastSeenAt = now;
    }
    return userPrincipal(u, found.session);
  }

  private async standingIn(
    d: DirectoryTx,
    idHash: string,
    permission: Permission,
    now: number,
    write: boolean,
  ): Promise<SessionStanding | typeof NEEDS_WRITE> {
    const row = await d.sessions.get(idHash);
    if (!row) return "ended";
    const expired = expiryOf(row, now, this.idleMs);
    const u = expired ? undefined : await d.users.get(row.username);
    if (!u || u.disabled) return (await this.endIn(d, row, expired, row.client, write)) ?? "ended";
    return roleGranting(u.roles, permission) ? "valid" : "withdrawn";
  }

  /** A session that no longer stands is deleted, an expiry audited (NEEDS_WRITE outside a write). */
  private async endIn(
    d: DirectoryTx,
    row: SessionRow,
    expired: "idle" | "lifetime" | undefined,
    client: string,
    write: boolean,
  ): Promise<undefined | typeof NEEDS_WRITE> {
    if (!write) return NEEDS_WRITE;
    await d.sessions.delete(row.idHash);
    if (expired)
      await auditIn(
        this.audit,
        d,
        { actor: `user:${row.username}`, role: null, client },
        "auth.session.expired",
        `user:${row.username}`,
        "success",
        { reason: expired },
      );
    return undefined;
  }
}

function userPrincipal(u: User, session: Session): UserPrincipal {
  return {
    kind: "user",
    actor: `user:${u.username}`,
    username: u.username,
    displayName: u.displayName,
    roles: u.roles,
    mustChangePassword: u.mustChangePassword,
    session,
  };
}
