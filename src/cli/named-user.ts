import { type Permission, roleGranting } from "../auth/roles.js";
import type { ActionContext } from "../auth/service.js";
import { asCliError, CliError, type Local, readPassword } from "./common.js";

/**
 * A command acting as a named user (`--as`): signed in with that user's password for this one
 * command, holding the permission the API would demand, or refused (exit 77, audited).
 * Invariant: the console is no way round a role's authority; what a route demands, so does this.
 */

/** Signs `username` in (password prompted, or read from stdin) and checks the permission. */
async function signIn(
  local: Local,
  username: string | undefined,
  permission: Permission,
): Promise<{ by: ActionContext; end: () => Promise<void> }> {
  if (!username) throw new CliError("--as: expected your user name (this command acts as a named user)", 2);
  const password = await readPassword(`password for ${username}: `, undefined);
  const { principal } = await local.auth.login(username, password, "cli").catch(asCliError);
  // The sign-in vouches for this one command: its session ends with it (logout audited).
  const end = () => local.auth.logout(principal, "cli");
  const refuse = async (message: string, reason?: string): Promise<never> => {
    await end();
    await local.audit.append({
      actor: principal.actor,
      role: null,
      action: "cli.denied",
      target: `permission:${permission}`,
      outcome: "denied",
      client: "cli",
      details: { argv: process.argv.slice(2, 4), ...(reason === undefined ? {} : { reason }) },
    });
    throw new CliError(message, 77);
  };
  // As at the API: a temporary password is known to whoever set it, so it acts as nobody.
  if (principal.mustChangePassword) {
    await refuse(
      `${username} must change the temporary password first (sign in on the web, or PUT /api/session/password)`,
      "password change required",
    );
  }
  const role = roleGranting(principal.roles, permission);
  if (!role) return refuse(`${username} lacks permission '${permission}', which none of their roles grant`);
  return { by: { actor: principal.actor, role, client: "cli" }, end };
}

/**
 * Opens the services (`open`), runs `f` as the signed-in user and closes them. `check` runs first,
 * before the password is asked for: the service's own checks of the input, so a typing mistake is
 * told without a sign-in.
 */
export async function asNamedUser<S extends { local: Local }, T>(
  o: { config: string; as?: string },
  permission: Permission,
  open: (configFile: string) => S,
  f: (x: S, by: ActionContext) => Promise<T> | T,
  check?: (x: S) => void,
): Promise<T> {
  const x = open(o.config);
  try {
    check?.(x);
    const { by, end } = await signIn(x.local, o.as, permission);
    try {
      return await Promise.resolve(f(x, by)).catch(asCliError);
    } finally {
      await end();
    }
  } finally {
    x.local.close();
  }
}
