import type { AuditLog } from "../audit/log.js";
import type { Directory, DirectoryTx } from "../catalog/directory/directory.js";
import type { User } from "../catalog/directory/users.js";
import { ServiceError } from "../errors/service-error.js";
import { type ActionContext, auditIn } from "./acting.js";
import { assertPasswordPolicy, hashPassword, PasswordPolicyError, verifyPassword } from "./password.js";
import type { Role } from "./roles.js";
import type { UserPrincipal } from "./service.js";
import { USERNAME_PATTERN } from "./users.js";

/**
 * People's accounts and their rules: the password policy, the last admin, separation of duties.
 * Invariant: a change and its audit entry are one unit of work; a refusal's entry commits, then the
 * refusal is thrown. Passwords are hashed before or after a unit of work, never inside one.
 * Invariant: nobody signed in changes their own roles, disables, re-enables, unlocks or resets the
 * password of their own account: someone else does it, on the record. The console (`local:` actors,
 * who hold the catalog file anyway) is the recovery path and is not an account.
 */

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

/** Runs a password hash within the sign-in's hashing bound. */
export type Hashing = <T>(job: () => Promise<T>) => Promise<T>;

export class Accounts {
  constructor(
    private readonly directory: Directory,
    private readonly audit: AuditLog,
    private readonly hashing: Hashing,
    private readonly scryptLogN: number,
    private readonly now: () => number,
  ) {}

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
        await auditIn(this.audit, d, ctx, "user.add", `user:${u.username}`, "failure", { reason: "exists" });
        return new ServiceError("conflict", `username: '${u.username}' already exists`, "username");
      }
      await auditIn(this.audit, d, ctx, "user.add", `user:${u.username}`, "success", {
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
        await auditIn(this.audit, d, ctx, "user.update", `user:${username}`, "failure", {
          reason: "last admin",
        });
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
      await auditIn(this.audit, d, ctx, action, `user:${username}`, "success", details);
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
      await auditIn(this.audit, d, ctx, "user.password.reset", `user:${username}`, "success", {
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
      await auditIn(this.audit, d, ctx, "user.unlock", `user:${username}`, "success", {
        wasLocked,
        ...(wasLocked ? { lockedUntil: before.lockedUntil } : {}),
      });
      return publicUserIn(d, username);
    });
  }

  async changePassword(p: UserPrincipal, current: string, next: string, client: string): Promise<void> {
    const ctx = { actor: p.actor, role: null, client };
    const u = await this.directory.read((d) => d.users.get(p.username));
    if (!u || !(await this.hashing(() => verifyPassword(current, u.passwordHash)))) {
      await this.directory.tx((d) =>
        auditIn(this.audit, d, ctx, "user.password.change", `user:${p.username}`, "failure", {
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
      await auditIn(this.audit, d, ctx, "user.password.change", `user:${p.username}`, "success", {
        endedOtherSessions: ended,
      });
    });
  }

  /**
   * One unit of work whose refusal (a ServiceError it returns rather than throws) commits with its
   * audit entry, and is thrown once committed; a thrown error rolls everything back.
   */
  private async change<T>(work: (d: DirectoryTx) => Promise<T | ServiceError>): Promise<T> {
    const result = await this.directory.tx(work);
    if (result instanceof ServiceError) throw result;
    return result;
  }

  /** A new password clears the count of failed attempts and any lock. */
  private async setPassword(d: DirectoryTx, username: string, passwordHash: string, mustChange: boolean) {
    await d.users.setPassword(username, { passwordHash, mustChangePassword: mustChange, at: this.now() });
    await d.users.update(username, { failedAttempts: 0, lockedUntil: null });
  }

  private hash(password: string): Promise<string> {
    return this.hashing(() => hashPassword(password, this.scryptLogN));
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
    await auditIn(this.audit, d, ctx, action, `user:${username}`, "failure", {
      reason: `own account: ${what}`,
    });
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
