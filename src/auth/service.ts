import type { AuditLog } from "../audit/log.js";
import type { Db } from "../catalog/catalog.js";
import { ServiceError } from "../errors/service-error.js";
import { assertPasswordPolicy, hashPassword, PasswordPolicyError, verifyPassword } from "./password.js";
import { RefusalPace } from "./refusal-pace.js";
import { type Role, TOKEN_ROLES } from "./roles.js";
import { type Session, SessionStore } from "./sessions.js";
import { SignIn, type SignInSettings } from "./sign-in.js";
import { addressKey } from "./throttle.js";
import { type ApiToken, TokenStore } from "./tokens.js";
import { USERNAME_PATTERN, type User, UserStore } from "./users.js";

/**
 * People, sessions and machine tokens, with the rules around them (password policy, lockout, idle
 * timeout, last-admin guard, separation of duties) and an audit entry for every change and every
 * refusal.
 * Invariant: every method that changes an account or a credential appends its audit entry before it
 * returns; a refused login is audited as a failure, a lockout as its own entry.
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

export type PublicUser = Omit<User, "failedAttempts">;

const TOKEN_USE_AUDIT_EVERY_MS = 3_600_000;
/** A refused token is audited at most this often per source address (and per real token). */
const TOKEN_REFUSAL_AUDIT_EVERY_MS = 60_000;

export class AuthService {
  readonly users: UserStore;
  readonly sessions: SessionStore;
  readonly tokens: TokenStore;
  private readonly now: () => number;
  private readonly signIn: SignIn;
  /** token id → time of its last audited use and uses since (token use is audited hourly, not per scrape). */
  private readonly tokenUse = new Map<string, { auditedAt: number; uses: number }>();
  private readonly refusals = new RefusalPace(TOKEN_REFUSAL_AUDIT_EVERY_MS);

  constructor(
    db: Db,
    private readonly audit: AuditLog,
    private readonly settings: AuthSettings,
    now: () => number = Date.now,
  ) {
    this.now = now;
    this.users = new UserStore(db);
    this.sessions = new SessionStore(
      db,
      settings.sessionIdleMinutes * 60_000,
      settings.sessionMaxHours * 3_600_000,
    );
    this.tokens = new TokenStore(db);
    this.signIn = new SignIn(
      this.users,
      this.sessions,
      (actor, action, target, outcome, client, details) =>
        this.record({ actor, role: null, client }, action, target, outcome, details),
      settings,
      now,
    );
  }

  // --- accounts ---------------------------------------------------------------------------------

  async addUser(
    u: {
      username: string;
      displayName: string;
      roles: Role[];
      password: string;
      mustChangePassword: boolean;
    },
    ctx: ActionContext,
  ): Promise<PublicUser> {
    if (!USERNAME_PATTERN.test(u.username)) {
      throw new ServiceError(
        "invalid",
        "username: expected 2-32 characters: a lower-case letter, then letters, digits, '.', '_' or '-'",
        "username",
      );
    }
    if (u.roles.length === 0) throw new ServiceError("invalid", "roles: expected at least one role", "roles");
    this.checkPassword(u.username, u.password);
    const hash = await this.hash(u.password);
    const now = this.now();
    const inserted = this.users.insert(
      {
        username: u.username,
        displayName: u.displayName,
        roles: [...new Set(u.roles)],
        disabled: false,
        mustChangePassword: u.mustChangePassword,
        createdAt: now,
        createdBy: ctx.actor,
        passwordChangedAt: now,
      },
      hash,
    );
    if (!inserted) {
      this.record(ctx, "user.add", `user:${u.username}`, "failure", { reason: "exists" });
      throw new ServiceError("conflict", `username: '${u.username}' already exists`, "username");
    }
    this.record(ctx, "user.add", `user:${u.username}`, "success", {
      roles: u.roles,
      displayName: u.displayName,
    });
    return this.publicUser(u.username);
  }

  listUsers(): PublicUser[] {
    return this.users.list().map(stripFailures);
  }

  publicUser(username: string): PublicUser {
    const u = this.users.get(username);
    if (!u) throw new ServiceError("not_found", `user '${username}' does not exist`, "username");
    const { passwordHash: _, ...rest } = u;
    return stripFailures(rest);
  }

  updateUser(
    username: string,
    change: { displayName?: string | undefined; roles?: Role[] | undefined; disabled?: boolean | undefined },
    ctx: ActionContext,
  ): PublicUser {
    const before = this.publicUser(username);
    const roles = change.roles && [...new Set(change.roles)];
    if (roles?.length === 0) throw new ServiceError("invalid", "roles: expected at least one role", "roles");
    const action = change.disabled === true && !before.disabled ? "user.disable" : "user.update";
    if (roles && roles.join() !== before.roles.join())
      this.refuseSelf(ctx, username, action, "change the roles", "roles");
    if (change.disabled !== undefined && change.disabled !== before.disabled)
      this.refuseSelf(ctx, username, action, change.disabled ? "disable" : "re-enable", "disabled");
    const losesAdmin =
      before.roles.includes("admin") &&
      !before.disabled &&
      (change.disabled === true || (roles && !roles.includes("admin")));
    if (losesAdmin && this.users.activeAdmins().length <= 1) {
      this.record(ctx, "user.update", `user:${username}`, "failure", { reason: "last admin" });
      throw new ServiceError(
        "conflict",
        `user '${username}' is the last active admin: give another user the admin role first`,
        change.disabled ? "disabled" : "roles",
      );
    }
    this.users.update(username, { displayName: change.displayName, roles, disabled: change.disabled });
    let endedSessions = 0;
    if (change.disabled === true) endedSessions = this.sessions.deleteForUser(username);
    const after = this.publicUser(username);
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
    this.record(ctx, action, `user:${username}`, "success", details);
    return after;
  }

  /** An administrator sets a temporary password; the user must change it at the next login. */
  async resetPassword(
    username: string,
    password: string,
    ctx: ActionContext,
    mustChange = true,
  ): Promise<void> {
    this.publicUser(username);
    // A reset also clears a lock, and needs no current password: PUT /api/session/password does.
    this.refuseSelf(ctx, username, "user.password.reset", "reset the password");
    this.checkPassword(username, password);
    this.users.setPassword(username, await this.hash(password), mustChange, this.now());
    const ended = this.sessions.deleteForUser(username);
    this.record(ctx, "user.password.reset", `user:${username}`, "success", {
      mustChange,
      endedSessions: ended,
    });
  }

  /** Releases a lockout before it expires (and clears the count of failed attempts). */
  unlockUser(username: string, ctx: ActionContext): PublicUser {
    const before = this.publicUser(username);
    this.refuseSelf(ctx, username, "user.unlock", "unlock");
    this.users.clearFailures(username);
    const wasLocked = before.lockedUntil !== null && this.now() < before.lockedUntil;
    this.record(ctx, "user.unlock", `user:${username}`, "success", {
      wasLocked,
      ...(wasLocked ? { lockedUntil: before.lockedUntil } : {}),
    });
    return this.publicUser(username);
  }

  // --- sessions ---------------------------------------------------------------------------------

  /** Every failure is the same `unauthenticated` refusal; beyond the limits, `throttled`. */
  async login(
    username: string,
    password: string,
    client: string,
  ): Promise<{ sessionId: string; principal: Extract<Principal, { kind: "user" }> }> {
    const { id, session, user } = await this.signIn.attempt(username, password, client);
    return { sessionId: id, principal: userPrincipal(user, session) };
  }

  /** For metrics: lockouts since start, and whether a lockout storm is on. */
  lockoutState(): { lockouts: number; storm: boolean } {
    return this.signIn.lockoutState();
  }

  /** The principal behind a session cookie, or undefined (an expiry is audited once, when found). */
  authenticateSession(sessionId: string, client: string): Extract<Principal, { kind: "user" }> | undefined {
    const found = this.sessions.touch(sessionId, this.now());
    if (found.state === "expired") {
      this.record(
        { actor: `user:${found.username}`, role: null, client },
        "auth.session.expired",
        `user:${found.username}`,
        "success",
        {
          reason: found.reason,
        },
      );
      return undefined;
    }
    if (found.state !== "valid") return undefined;
    const u = this.users.get(found.session.username);
    if (!u || u.disabled) {
      this.sessions.delete(found.session.idHash);
      return undefined;
    }
    return userPrincipal(u, found.session);
  }

  logout(p: Extract<Principal, { kind: "user" }>, client: string): void {
    this.sessions.delete(p.session.idHash);
    this.record({ actor: p.actor, role: null, client }, "auth.logout", `user:${p.username}`, "success");
  }

  async changePassword(
    p: Extract<Principal, { kind: "user" }>,
    current: string,
    next: string,
    client: string,
  ): Promise<void> {
    const ctx = { actor: p.actor, role: null, client };
    const u = this.users.get(p.username);
    if (!u || !(await this.signIn.hashing(() => verifyPassword(current, u.passwordHash)))) {
      this.record(ctx, "user.password.change", `user:${p.username}`, "failure", {
        reason: "wrong current password",
      });
      throw new ServiceError("invalid", "currentPassword: does not match", "currentPassword");
    }
    if (current === next)
      throw new ServiceError("invalid", "newPassword: must differ from the current one", "newPassword");
    this.checkPassword(p.username, next, "newPassword");
    this.users.setPassword(p.username, await this.hash(next), false, this.now());
    const ended = this.sessions.deleteForUser(p.username, p.session.idHash);
    this.record(ctx, "user.password.change", `user:${p.username}`, "success", { endedOtherSessions: ended });
  }

  // --- machine tokens ---------------------------------------------------------------------------

  createToken(
    t: { name: string; role: Role; expiresInDays?: number | undefined },
    ctx: ActionContext,
    id?: string,
  ): { token: ApiToken; secret: string } {
    if (!(TOKEN_ROLES as readonly string[]).includes(t.role)) {
      throw new ServiceError(
        "invalid",
        `role: machine tokens may hold ${TOKEN_ROLES.join(" or ")}, not ${t.role}`,
        "role",
      );
    }
    const now = this.now();
    const expiresAt = t.expiresInDays === undefined ? null : now + t.expiresInDays * 86_400_000;
    const made = this.tokens.create({ name: t.name, role: t.role, createdBy: ctx.actor, expiresAt }, now, id);
    this.record(ctx, "token.create", `token:${made.token.id}`, "success", {
      name: t.name,
      role: t.role,
      expiresAt,
    });
    return made;
  }

  revokeToken(id: string, ctx: ActionContext): ApiToken {
    const t = this.tokens.get(id);
    if (!t) throw new ServiceError("not_found", `token '${id}' does not exist`, "id");
    if (!this.tokens.revoke(id, ctx.actor, this.now())) {
      throw new ServiceError("conflict", `token '${id}' was already revoked`, "id");
    }
    this.record(ctx, "token.revoke", `token:${id}`, "success", { name: t.name, role: t.role });
    return this.tokens.get(id) as ApiToken;
  }

  authenticateToken(presented: string, client: string): Extract<Principal, { kind: "token" }> | undefined {
    const now = this.now();
    const found = this.tokens.lookup(presented, now);
    if (found.state !== "valid") {
      const id = found.state === "unknown" ? found.id : found.token.id;
      // An unknown id is the sender's choice, so it is not part of the key: one budget per address.
      const known = found.state === "unknown" ? "" : `${found.token.id}|`;
      const paced = this.refusals.take(`${found.state}|${known}${addressKey(client)}`, now);
      if (!paced.write) return undefined;
      this.record(
        { actor: id ? `token:${id}` : "anonymous", role: null, client },
        "token.use",
        id ? `token:${id}` : null,
        "failure",
        { reason: found.state, ...(paced.unwritten ? { notAuditedSinceLastEntry: paced.unwritten } : {}) },
      );
      return undefined;
    }
    const t = found.token;
    const use = this.tokenUse.get(t.id) ?? { auditedAt: 0, uses: 0 };
    use.uses++;
    if (now - use.auditedAt >= TOKEN_USE_AUDIT_EVERY_MS) {
      this.record({ actor: `token:${t.id}`, role: t.role, client }, "token.use", `token:${t.id}`, "success", {
        usesSinceLastEntry: use.uses,
      });
      this.tokens.markUsed(t.id, now);
      use.auditedAt = now;
      use.uses = 0;
    }
    this.tokenUse.set(t.id, use);
    return { kind: "token", actor: `token:${t.id}`, tokenId: t.id, name: t.name, roles: [t.role] };
  }

  // --- helpers ----------------------------------------------------------------------------------

  private hash(password: string): Promise<string> {
    return this.signIn.hashing(() => hashPassword(password, this.settings.scryptLogN));
  }

  /** Refuses (and audits) a change a signed-in person makes to their own account. */
  private refuseSelf(
    ctx: ActionContext,
    username: string,
    action: string,
    what: string,
    field?: string,
  ): void {
    if (ctx.actor !== `user:${username}`) return;
    this.record(ctx, action, `user:${username}`, "failure", { reason: `own account: ${what}` });
    throw new ServiceError(
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

  private record(
    ctx: ActionContext,
    action: string,
    target: string | null,
    outcome: "success" | "failure" | "denied",
    details?: Record<string, unknown>,
  ): void {
    this.audit.append({
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

function stripFailures(u: User): PublicUser {
  const { failedAttempts: _, ...rest } = u;
  return rest;
}

function userPrincipal(u: User, session: Session): Extract<Principal, { kind: "user" }> {
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
