import type { Outcome } from "../audit/chain.js";
import type { AuditLog } from "../audit/log.js";
import type { Directory, DirectoryTx } from "../catalog/directory/directory.js";
import type { ApiToken } from "../catalog/directory/tokens.js";
import type { User } from "../catalog/directory/users.js";
import { ServiceError } from "../errors/service-error.js";
import { assertPasswordPolicy, hashPassword, PasswordPolicyError, verifyPassword } from "./password.js";
import { RefusalPace } from "./refusal-pace.js";
import { type Role, TOKEN_ROLES } from "./roles.js";
import { checkSession, type Session, sha256 } from "./sessions.js";
import { SignIn, type SignInSettings } from "./sign-in.js";
import { addressKey } from "./throttle.js";
import { lookupToken, newTokenSecret } from "./tokens.js";
import { USERNAME_PATTERN } from "./users.js";

/**
 * People, sessions and machine tokens, with the rules around them (password policy, lockout, idle
 * timeout, last-admin guard, separation of duties) and an audit entry for every change and every
 * refusal.
 * Invariant: every method that changes an account or a credential writes its audit entry in the same
 * unit of work as the change (both commit or neither does), and a refusal's entry commits before the
 * refusal is thrown; a refused login is audited as a failure, a lockout as its own entry.
 * Invariant: nobody signed in changes their own roles, disables, re-enables, unlocks or resets the
 * password of their own account: someone else does it, on the record. The console (`local:` actors,
 * who hold the catalog file anyway) is the recovery path and is not an account.
 */

export interface AuthSettings extends SignInSettings {
  sessionIdleMinutes: number;
  sessionMaxHours: number;
}

/** Who is acting, through which role, from where: what each audit entry records. */
export interface ActionContext {
  actor: string;
  role: string | null;
  client: string;
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
export type TokenPrincipal = Extract<Principal, { kind: "token" }>;

export type PublicUser = Omit<User, "failedAttempts">;

export interface NewAccount {
  username: string;
  displayName: string;
  roles: Role[];
  password: string;
  mustChangePassword: boolean;
}

export interface AccountChange {
  displayName?: string | undefined;
  roles?: Role[] | undefined;
  disabled?: boolean | undefined;
}

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
  authenticateSession(sessionId: string, client: string): Promise<UserPrincipal | undefined>;
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
  private readonly idleMs: number;
  /** token id → time of its last audited use and uses since (token use is audited hourly, not per scrape). */
  private readonly tokenUse = new Map<string, { auditedAt: number; uses: number }>();
  private readonly refusals = new RefusalPace(TOKEN_REFUSAL_AUDIT_EVERY_MS);

  constructor(
    private readonly directory: Directory,
    private readonly audit: AuditLog,
    private readonly settings: AuthSettings,
    now: () => number = Date.now,
  ) {
    this.now = now;
    this.idleMs = settings.sessionIdleMinutes * 60_000;
    this.signIn = new SignIn(directory, audit, settings, settings.sessionMaxHours * 3_600_000, now);
  }

  // --- accounts ---------------------------------------------------------------------------------

  async addUser(u: NewAccount, ctx: ActionContext): Promise<PublicUser> {
    if (!USERNAME_PATTERN.test(u.username)) {
      throw new ServiceError(
        "invalid",
        "username: expected 2-32 characters: a lower-case letter, then letters, digits, '.', '_' or '-'",
        "username",
      );
    }
    if (u.roles.length === 0) throw new ServiceError("invalid", "roles: expected at least one role", "roles");
    this.checkPassword(u.username, u.password);
    const passwordHash = await this.hash(u.password);
    const now = this.now();
    return this.change(async (d) => {
      const inserted = await d.users.insert({
        username: u.username,
        displayName: u.displayName,
        passwordHash,
        roles: [...new Set(u.roles)],
        disabled: false,
        mustChangePassword: u.mustChangePassword,
        createdAt: now,
        createdBy: ctx.actor,
        passwordChangedAt: now,
      });
      if (!inserted) {
        await this.record(d, ctx, "user.add", `user:${u.username}`, "failure", { reason: "exists" });
        return new ServiceError("conflict", `username: '${u.username}' already exists`, "username");
      }
      await this.record(d, ctx, "user.add", `user:${u.username}`, "success", {
        roles: u.roles,
        displayName: u.displayName,
      });
      return publicUserIn(d, u.username);
    });
  }

  async listUsers(): Promise<PublicUser[]> {
    return (await this.directory.read((d) => d.users.list())).map(stripFailures);
  }

  publicUser(username: string): Promise<PublicUser> {
    return this.directory.read((d) => publicUserIn(d, username));
  }

  updateUser(username: string, change: AccountChange, ctx: ActionContext): Promise<PublicUser> {
    return this.change(async (d) => {
      const before = await publicUserIn(d, username);
      const roles = change.roles && [...new Set(change.roles)];
      if (roles?.length === 0)
        throw new ServiceError("invalid", "roles: expected at least one role", "roles");
      const action = change.disabled === true && !before.disabled ? "user.disable" : "user.update";
      if (roles && roles.join() !== before.roles.join()) {
        const refused = await this.ownAccount(d, ctx, username, action, "change the roles", "roles");
        if (refused) return refused;
      }
      if (change.disabled !== undefined && change.disabled !== before.disabled) {
        const what = change.disabled ? "disable" : "re-enable";
        const refused = await this.ownAccount(d, ctx, username, action, what, "disabled");
        if (refused) return refused;
      }
      const losesAdmin =
        before.roles.includes("admin") &&
        !before.disabled &&
        (change.disabled === true || (roles && !roles.includes("admin")));
      // Invariant: the last active admin is never disabled or demoted (checked and changed in one unit of work).
      if (losesAdmin && (await d.users.list({ role: "admin", disabled: false })).length <= 1) {
        await this.record(d, ctx, "user.update", `user:${username}`, "failure", { reason: "last admin" });
        return new ServiceError(
          "conflict",
          `user '${username}' is the last active admin: give another user the admin role first`,
          change.disabled ? "disabled" : "roles",
        );
      }
      await d.users.update(username, {
        ...(change.displayName === undefined ? {} : { displayName: change.displayName }),
        ...(roles === undefined ? {} : { roles }),
        ...(change.disabled === undefined ? {} : { disabled: change.disabled }),
      });
      let endedSessions = 0;
      if (change.disabled === true) endedSessions = await d.sessions.deleteForUser(username);
      const after = await publicUserIn(d, username);
      const details: Record<string, unknown> = {};
      if (roles && roles.join() !== before.roles.join())
        details.roles = { from: before.roles, to: after.roles };
      if (change.disabled !== undefined && change.disabled !== before.disabled) {
        details.disabled = { from: before.disabled, to: after.disabled };
      }
      if (change.displayName !== undefined && change.displayName !== before.displayName) {
        details.displayName = { from: before.displayName, to: after.displayName };
      }
      if (endedSessions) details.endedSessions = endedSessions;
      await this.record(d, ctx, action, `user:${username}`, "success", details);
      return after;
    });
  }

  /** An administrator sets a temporary password; the user must change it at the next login. */
  async resetPassword(
    username: string,
    password: string,
    ctx: ActionContext,
    mustChange = true,
  ): Promise<void> {
    // A reset also clears a lock, and needs no current password: PUT /api/session/password does.
    await this.change(async (d) => {
      await publicUserIn(d, username);
      return this.ownAccount(d, ctx, username, "user.password.reset", "reset the password");
    });
    this.checkPassword(username, password);
    const passwordHash = await this.hash(password);
    await this.directory.tx(async (d) => {
      await this.setPassword(d, username, passwordHash, mustChange);
      const ended = await d.sessions.deleteForUser(username);
      await this.record(d, ctx, "user.password.reset", `user:${username}`, "success", {
        mustChange,
        endedSessions: ended,
      });
    });
  }

  /** Releases a lockout before it expires (and clears the count of failed attempts). */
  unlockUser(username: string, ctx: ActionContext): Promise<PublicUser> {
    return this.change(async (d) => {
      const before = await publicUserIn(d, username);
      const refused = await this.ownAccount(d, ctx, username, "user.unlock", "unlock");
      if (refused) return refused;
      await d.users.update(username, { failedAttempts: 0, lockedUntil: null });
      const wasLocked = before.lockedUntil !== null && this.now() < before.lockedUntil;
      await this.record(d, ctx, "user.unlock", `user:${username}`, "success", {
        wasLocked,
        ...(wasLocked ? { lockedUntil: before.lockedUntil } : {}),
      });
      return publicUserIn(d, username);
    });
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
  async authenticateSession(sessionId: string, client: string): Promise<UserPrincipal | undefined> {
    const now = this.now();
    const seen = await this.directory.read((d) => this.sessionIn(d, sessionId, client, now, false));
    if (seen !== NEEDS_WRITE) return seen;
    return this.directory.tx(async (d) => {
      const done = await this.sessionIn(d, sessionId, client, now, true);
      return done === NEEDS_WRITE ? undefined : done;
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
      await this.record(
        d,
        { actor: p.actor, role: null, client },
        "auth.logout",
        `user:${p.username}`,
        "success",
      );
    });
  }

  async changePassword(p: UserPrincipal, current: string, next: string, client: string): Promise<void> {
    const ctx = { actor: p.actor, role: null, client };
    const u = await this.directory.read((d) => d.users.get(p.username));
    if (!u || !(await this.signIn.hashing(() => verifyPassword(current, u.passwordHash)))) {
      await this.directory.tx((d) =>
        this.record(d, ctx, "user.password.change", `user:${p.username}`, "failure", {
          reason: "wrong current password",
        }),
      );
      throw new ServiceError("invalid", "currentPassword: does not match", "currentPassword");
    }
    if (current === next)
      throw new ServiceError("invalid", "newPassword: must differ from the current one", "newPassword");
    this.checkPassword(p.username, next, "newPassword");
    const passwordHash = await this.hash(next);
    await this.directory.tx(async (d) => {
      await this.setPassword(d, p.username, passwordHash, false);
      const ended = await d.sessions.deleteForUser(p.username, p.session.idHash);
      await this.record(d, ctx, "user.password.change", `user:${p.username}`, "success", {
        endedOtherSessions: ended,
      });
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
      await this.record(d, ctx, "token.create", `token:${made.id}`, "success", {
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
      await this.record(d, ctx, "token.revoke", `token:${id}`, "success", { name: t.name, role: t.role });
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
        this.record(
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
        await this.record(
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

  /**
   * One unit of work whose refusal (a ServiceError it returns rather than throws) commits with its
   * audit entry, and is thrown once committed; a thrown error rolls everything back.
   */
  private async change<T>(work: (d: DirectoryTx) => Promise<T | ServiceError>): Promise<T> {
    const result = await this.directory.tx(work);
    if (result instanceof ServiceError) throw result;
    return result;
  }

  /** The principal for a session cookie; with `write` false, NEEDS_WRITE where the session must change. */
  private async sessionIn(
    d: DirectoryTx,
    sessionId: string,
    client: string,
    now: number,
    write: boolean,
  ): Promise<UserPrincipal | undefined | typeof NEEDS_WRITE> {
    const row = await d.sessions.get(sha256(sessionId));
    if (!row) return undefined;
    const found = checkSession(sessionId, row, now, this.idleMs);
    if (found.state !== "valid") {
      if (!write) return NEEDS_WRITE;
      await d.sessions.delete(row.idHash);
      if (found.state === "expired") {
        await this.record(
          d,
          { actor: `user:${row.username}`, role: null, client },
          "auth.session.expired",
          `user:${row.username}`,
          "success",
          { reason: found.reason },
        );
      }
      return undefined;
    }
    const u = await d.users.get(row.username);
    if (!u || u.disabled) {
      if (!write) return NEEDS_WRITE;
      await d.sessions.delete(row.idHash);
      return undefined;
    }
    if (found.touch) {
      if (!write) return NEEDS_WRITE;
      await d.sessions.seen(row.idHash, now);
      found.session.lastSeenAt = now;
    }
    return userPrincipal(u, found.session);
  }

  /** A new password clears the count of failed attempts and any lock. */
  private async setPassword(d: DirectoryTx, username: string, passwordHash: string, mustChange: boolean) {
    await d.users.setPassword(username, { passwordHash, mustChangePassword: mustChange, at: this.now() });
    await d.users.update(username, { failedAttempts: 0, lockedUntil: null });
  }

  private hash(password: string): Promise<string> {
    return this.signIn.hashing(() => hashPassword(password, this.settings.scryptLogN));
  }

  /** Audits and returns the refusal of a change a signed-in person makes to their own account. */
  private async ownAccount(
    d: DirectoryTx,
    ctx: ActionContext,
    username: string,
    action: string,
    what: string,
    field?: string,
  ): Promise<ServiceError | undefined> {
    if (ctx.actor !== `user:${username}`) return undefined;
    await this.record(d, ctx, action, `user:${username}`, "failure", { reason: `own account: ${what}` });
    return new ServiceError(
      "forbidden",
      `you cannot ${what} on your own account: another administrator must do it`,
      field,
    );
  }

  private checkPassword(username: string, password: string, field = "password"): void {
    try {
      assertPasswordPolicy(username, password);
    } catch (e) {
      if (e instanceof PasswordPolicyError)
        throw new ServiceError("invalid", `${field}: ${e.message.replace(/^password /, "")}`, field, {
          problems: e.problems,
        });
      throw e;
    }
  }

  private async record(
    d: DirectoryTx,
    ctx: ActionContext,
    action: string,
    target: string | null,
    outcome: Outcome,
    details?: Record<string, unknown>,
  ): Promise<void> {
    await this.audit.appendIn(d, {
      actor: ctx.actor,
      role: ctx.role,
      action,
      target,
      outcome,
      client: ctx.client,
      details,
    });
  }
}

async function publicUserIn(d: DirectoryTx, username: string): Promise<PublicUser> {
  const u = await d.users.get(username);
  if (!u) throw new ServiceError("not_found", `user '${username}' does not exist`, "username");
  const { passwordHash: _, ...rest } = u;
  return stripFailures(rest);
}

function stripFailures(u: User): PublicUser {
  const { failedAttempts: _, ...rest } = u;
  return rest;
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
