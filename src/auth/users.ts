import type { Db } from "../catalog/catalog.js";
import { isRole, type Role } from "./roles.js";

/**
 * The users table, and nothing else: no policy, no audit (service.ts owns both).
 * Invariant: a user name never changes and is never reused for another person, since audit entries
 * name users by it; users are disabled, not deleted.
 */

export const USERNAME_PATTERN = /^[a-z][a-z0-9._-]{1,31}$/;

export interface User {
  username: string;
  displayName: string;
  roles: Role[];
  disabled: boolean;
  mustChangePassword: boolean;
  failedAttempts: number;
  lockedUntil: number | null;
  createdAt: number;
  createdBy: string;
  passwordChangedAt: number;
}

interface Row {
  username: string;
  display_name: string;
  password_hash: string;
  roles: string;
  disabled: number;
  must_change_password: number;
  failed_attempts: number;
  locked_until: number | null;
  created_at: number;
  created_by: string;
  password_changed_at: number;
}

function toUser(r: Row): User {
  return {
    username: r.username,
    displayName: r.display_name,
    roles: (JSON.parse(r.roles) as string[]).filter(isRole),
    disabled: r.disabled === 1,
    mustChangePassword: r.must_change_password === 1,
    failedAttempts: r.failed_attempts,
    lockedUntil: r.locked_until,
    createdAt: r.created_at,
    createdBy: r.created_by,
    passwordChangedAt: r.password_changed_at,
  };
}

export type AttemptClaim =
  | { state: "unknown" }
  | { state: "locked"; user: User & { passwordHash: string } }
  /** As many attempts as allowed are counted (failed or pending) and no lock is set yet. */
  | { state: "exhausted"; user: User & { passwordHash: string } }
  | { state: "claimed"; attempt: number; user: User & { passwordHash: string } };

export class UserStore {
  private readonly claimTx;

  constructor(private readonly db: Db) {
    this.claimTx = db.transaction((username: string, now: number, limit: number) =>
      this.claimInTx(username, now, limit),
    );
  }

  get(username: string): (User & { passwordHash: string }) | undefined {
    const r = this.db.prepare<[string], Row>("SELECT * FROM users WHERE username = ?").get(username);
    return r && { ...toUser(r), passwordHash: r.password_hash };
  }

  list(): User[] {
    return this.db.prepare<[], Row>("SELECT * FROM users ORDER BY username").all().map(toUser);
  }

  /** Returns false when the name is taken. */
  insert(u: Omit<User, "failedAttempts" | "lockedUntil">, passwordHash: string): boolean {
    const r = this.db
      .prepare(
        `INSERT INTO users (username, display_name, password_hash, roles, disabled, must_change_password,
           failed_attempts, locked_until, created_at, created_by, password_changed_at)
         VALUES (?, ?, ?, ?, ?, ?, 0, NULL, ?, ?, ?) ON CONFLICT (username) DO NOTHING`,
      )
      .run(
        u.username,
        u.displayName,
        passwordHash,
        JSON.stringify(u.roles),
        u.disabled ? 1 : 0,
        u.mustChangePassword ? 1 : 0,
        u.createdAt,
        u.createdBy,
        u.passwordChangedAt,
      );
    return r.changes === 1;
  }

  update(username: string, change: { displayName?: string; roles?: Role[]; disabled?: boolean }): void {
    const u = this.get(username);
    if (!u) return;
    this.db
      .prepare("UPDATE users SET display_name = ?, roles = ?, disabled = ? WHERE username = ?")
      .run(
        change.displayName ?? u.displayName,
        JSON.stringify(change.roles ?? u.roles),
        (change.disabled ?? u.disabled) ? 1 : 0,
        username,
      );
  }

  setPassword(username: string, passwordHash: string, mustChange: boolean, at: number): void {
    this.db
      .prepare(
        `UPDATE users SET password_hash = ?, must_change_password = ?, password_changed_at = ?,
           failed_attempts = 0, locked_until = NULL WHERE username = ?`,
      )
      .run(passwordHash, mustChange ? 1 : 0, at, username);
  }

  /**
   * Counts one sign-in attempt before its password is checked, in one IMMEDIATE transaction, so
   * parallel attempts each see the others. An expired lock is cleared first.
   */
  claimAttempt(username: string, now: number, limit: number): AttemptClaim {
    return this.claimTx.immediate(username, now, limit);
  }

  private claimInTx(username: string, now: number, limit: number): AttemptClaim {
    const u = this.get(username);
    if (!u) return { state: "unknown" };
    if (u.lockedUntil !== null && now < u.lockedUntil) return { state: "locked", user: u };
    if (u.lockedUntil !== null) {
      this.db
        .prepare("UPDATE users SET failed_attempts = 0, locked_until = NULL WHERE username = ?")
        .run(username);
      u.failedAttempts = 0;
      u.lockedUntil = null;
    }
    if (u.failedAttempts >= limit) return { state: "exhausted", user: u };
    const attempt = u.failedAttempts + 1;
    this.db.prepare("UPDATE users SET failed_attempts = ? WHERE username = ?").run(attempt, username);
    return { state: "claimed", attempt, user: { ...u, failedAttempts: attempt } };
  }

  /** Locks unless already locked; true when this call locked it (so the lockout is audited once). */
  lockIfUnlocked(username: string, now: number, until: number): boolean {
    return (
      this.db
        .prepare(
          `UPDATE users SET failed_attempts = 0, locked_until = ?
           WHERE username = ? AND (locked_until IS NULL OR locked_until <= ?)`,
        )
        .run(until, username, now).changes === 1
    );
  }

  /**
   * A right password: false when the account was locked while it was being checked. The count is
   * reset only when no other attempt is pending, so a success inside a burst frees no checks.
   */
  settleSuccess(username: string, now: number, othersPending: boolean): boolean {
    const r = this.db
      .prepare(
        `UPDATE users SET failed_attempts = CASE WHEN ? THEN failed_attempts ELSE 0 END
         WHERE username = ? AND (locked_until IS NULL OR locked_until <= ?)`,
      )
      .run(othersPending ? 1 : 0, username, now);
    return r.changes === 1;
  }

  clearFailures(username: string): void {
    this.db
      .prepare("UPDATE users SET failed_attempts = 0, locked_until = NULL WHERE username = ?")
      .run(username);
  }

  activeAdmins(): string[] {
    return this.list()
      .filter((u) => !u.disabled && u.roles.includes("admin"))
      .map((u) => u.username);
  }
}
