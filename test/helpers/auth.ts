import { AuditLog } from "../../src/audit/log.js";
import type { Role } from "../../src/auth/roles.js";
import { AuthService, type AuthSettings } from "../../src/auth/service.js";
import { openCatalog } from "../../src/catalog/catalog.js";
import { SqliteDirectory } from "../../src/catalog/directory/sqlite.js";

/** The settings the auth tests run with (fast scrypt, five attempts, a 15-minute lock). */
export const AUTH_SETTINGS: AuthSettings = {
  sessionIdleMinutes: 30,
  sessionMaxHours: 12,
  lockoutAttempts: 5,
  lockoutMinutes: 15,
  scryptLogN: 10,
  throttle: {
    hashConcurrency: 2,
    hashQueue: 64,
    addressFailures: 10,
    windowMinutes: 10,
    stormAccounts: 3,
  },
};

/** The auth service on a real in-memory catalog, with a clock the test moves. */
export function authService(now: { t: number }, throttle: Partial<AuthSettings["throttle"]> = {}) {
  const db = openCatalog(":memory:");
  const directory = new SqliteDirectory(db);
  const audit = new AuditLog(directory, { now: () => now.t });
  const auth = new AuthService(
    directory,
    audit,
    { ...AUTH_SETTINGS, throttle: { ...AUTH_SETTINGS.throttle, ...throttle } },
    () => now.t,
  );
  return { db, directory, audit, auth };
}

export const CONSOLE = { actor: "local:test", role: "admin", client: "cli" };
export const GOOD_PASSWORD = "Abcdefg1!";

export async function addUsers(auth: AuthService, users: Record<string, Role[]>): Promise<void> {
  for (const [username, roles] of Object.entries(users)) {
    await auth.addUser(
      { username, displayName: username, roles, password: GOOD_PASSWORD, mustChangePassword: false },
      CONSOLE,
    );
  }
}
