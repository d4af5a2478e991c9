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

export class UserStore {
  constructor(private readonly db: Db) {}

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

  recordFailure(username: string): number {
    const r = this.db
      .prepare<[string], { failed_attempts: number }>(
        "UPDATE users SET failed_attempts = failed_attempts + 1 WHERE username = ? RETURNING failed_attempts",
      )
      .get(username);
    return r?.failed_attempts ?? 0;
  }

  lock(username: string, until: number): void {
    this.db
      .prepare("UPDATE users SET failed_attempts = 0, locked_until = ? WHERE username = ?")
      .run(until, username);
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
