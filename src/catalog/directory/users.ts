import { isRole, type Role } from "../../auth/roles.js";
import type { Prepare } from "../catalog.js";

/**
 * People's accounts. No policy and no audit (`src/auth/service.ts` owns both).
 * Invariant: a user name is unique and never deleted nor renamed (audit entries name people by it):
 * this repository offers no delete and no rename, and an insert under a taken name changes nothing.
 */

export interface User {
  username: string;
  displayName: string;
  roles: Role[];
  disabled: boolean;
  mustChangePassword: boolean;
  /** Sign-in attempts counted since the last success, failed or still being checked. */
  failedAttempts: number;
  lockedUntil: number | null;
  createdAt: number;
  createdBy: string;
  passwordChangedAt: number;
  /** The last successful sign-in with the password (null: never); machine tokens are not sign-ins. */
  lastSignInAt: number | null;
}

/** A user with the stored password hash: for the sign-in and password checks, never for output. */
export interface UserRecord extends User {
  passwordHash: string;
}

export type NewUser = Omit<UserRecord, "failedAttempts" | "lockedUntil" | "lastSignInAt">;

/** What may change on an account besides its password; the name never does. */
export type UserChange = Partial<
  Pick<User, "displayName" | "roles" | "disabled" | "failedAttempts" | "lockedUntil" | "lastSignInAt">
>;

export interface UserFilter {
  /** Only accounts holding this role. */
  role?: Role;
  disabled?: boolean;
}

export interface UserRepository {
  get(username: string): Promise<UserRecord | undefined>;
  /** By user name. */
  list(filter?: UserFilter): Promise<User[]>;
  /** False (and nothing written) when the name is taken. */
  insert(u: NewUser): Promise<boolean>;
  /** False when there is no such user. */
  update(username: string, change: UserChange): Promise<boolean>;
  setPassword(
    username: string,
    p: { passwordHash: string; mustChangePassword: boolean; at: number },
  ): Promise<boolean>;
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
  last_sign_in_at: number | null;
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
    lastSignInAt: r.last_sign_in_at,
  };
}

export class SqliteUserRepository implements UserRepository {
  constructor(private readonly prepare: Prepare) {}

  async get(username: string): Promise<UserRecord | undefined> {
    return this.row(username);
  }

  async list(filter: UserFilter = {}): Promise<User[]> {
    return this.prepare<[{ role: string | null; disabled: number | null }], Row>(
      `SELECT * FROM users
       WHERE (@role IS NULL OR EXISTS (SELECT 1 FROM json_each(users.roles) WHERE value = @role))
         AND (@disabled IS NULL OR disabled = @disabled)
       ORDER BY username`,
    )
      .all({
        role: filter.role ?? null,
        disabled: filter.disabled === undefined ? null : filter.disabled ? 1 : 0,
      })
      .map(toUser);
  }

  async insert(u: NewUser): Promise<boolean> {
    const r = this.prepare(
      `INSERT INTO users (username, display_name, password_hash, roles, disabled, must_change_password,
         failed_attempts, locked_until, created_at, created_by, password_changed_at)
       VALUES (?, ?, ?, ?, ?, ?, 0, NULL, ?, ?, ?) ON CONFLICT (username) DO NOTHING`,
    ).run(
      u.username,
      u.displayName,
      u.passwordHash,
      JSON.stringify(u.roles),
      u.disabled ? 1 : 0,
      u.mustChangePassword ? 1 : 0,
      u.createdAt,
      u.createdBy,
      u.passwordChangedAt,
    );
    return r.changes === 1;
  }

  async update(username: string, change: UserChange): Promise<boolean> {
    const u = this.row(username);
    if (!u) return false;
    this.prepare(
      `UPDATE users SET display_name = ?, roles = ?, disabled = ?, failed_attempts = ?, locked_until = ?,
         last_sign_in_at = ?
       WHERE username = ?`,
    ).run(
      change.displayName ?? u.displayName,
      JSON.stringify(change.roles ?? u.roles),
      (change.disabled ?? u.disabled) ? 1 : 0,
      change.failedAttempts ?? u.failedAttempts,
      change.lockedUntil === undefined ? u.lockedUntil : change.lockedUntil,
      change.lastSignInAt === undefined ? u.lastSignInAt : change.lastSignInAt,
      username,
    );
    return true;
  }

  async setPassword(
    username: string,
    p: { passwordHash: string; mustChangePassword: boolean; at: number },
  ): Promise<boolean> {
    return (
      this.prepare(
        "UPDATE users SET password_hash = ?, must_change_password = ?, password_changed_at = ? WHERE username = ?",
      ).run(p.passwordHash, p.mustChangePassword ? 1 : 0, p.at, username).changes === 1
    );
  }

  private row(username: string): UserRecord | undefined {
    const r = this.prepare<[string], Row>("SELECT * FROM users WHERE username = ?").get(username);
    return r && { ...toUser(r), passwordHash: r.password_hash };
  }
}
