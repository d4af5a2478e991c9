import type { Command } from "commander";
import { TOKEN_ROLES } from "../auth/roles.js";
import { TOKEN_ID_PATTERN } from "../auth/tokens.js";
import type { ApiToken } from "../catalog/directory/tokens.js";
import { utcText } from "../time/parse.js";
import { asCliError, CliError, consoleAdmin, DEFAULT_CONFIG, openLocal, print } from "./common.js";

/**
 * `pscs token …`: machine tokens at the server's console, through the same service (and audit
 * entries) as POST /api/tokens. The secret is printed once, at creation, and never again.
 */

const when = (t: number | null) => (t === null ? "—" : utcText(t));

function tokenLine(t: ApiToken): string {
  const state =
    t.revokedAt !== null
      ? `revoked ${when(t.revokedAt)} by ${t.revokedBy}`
      : t.expiresAt !== null && t.expiresAt <= Date.now()
        ? "expired"
        : "active";
  return `${t.id}  ${t.role.padEnd(8)} ${state.padEnd(8)}  expires ${when(t.expiresAt)}  last used ${when(t.lastUsedAt)}  ${t.name}`;
}

export function tokenCommands(program: Command): void {
  const token = program
    .command("token")
    .description("machine tokens for monitoring and audit tools (at the server's console)");
  token
    .command("add <name>")
    .description("create a token for one role; its secret is printed this once")
    .requiredOption("--role <role>", `${TOKEN_ROLES.join(" or ")}`)
    .option("--expires-in-days <days>", "days until it stops working (default: never)")
    .option("-c, --config <file>", "pscsd configuration file", DEFAULT_CONFIG)
    .option("--json", "machine-readable output")
    .action(
      async (name: string, o: { role: string; expiresInDays?: string; config: string; json?: boolean }) => {
        if (name.trim().length === 0 || name.length > 100)
          throw new CliError(`<name>: expected 1-100 characters, got ${name.length}`, 2);
        if (!(TOKEN_ROLES as readonly string[]).includes(o.role))
          throw new CliError(
            `--role: machine tokens may hold ${TOKEN_ROLES.join(" or ")}, not '${o.role}'`,
            2,
          );
        const days = o.expiresInDays === undefined ? undefined : Number(o.expiresInDays);
        if (days !== undefined && !(Number.isInteger(days) && days >= 1 && days <= 3650))
          throw new CliError(
            `--expires-in-days: expected a whole number 1-3650, got '${o.expiresInDays}'`,
            2,
          );
        const local = openLocal(o.config);
        try {
          const made = await local.auth
            .createToken(
              { name, role: o.role as (typeof TOKEN_ROLES)[number], expiresInDays: days },
              consoleAdmin(),
            )
            .catch(asCliError);
          print(!!o.json, made, () => `${tokenLine(made.token)}\nsecret (shown this once): ${made.secret}`);
        } finally {
          local.close();
        }
      },
    );
  token
    .command("list")
    .description("list tokens (never their secrets)")
    .option("-c, --config <file>", "pscsd configuration file", DEFAULT_CONFIG)
    .option("--json", "machine-readable output")
    .action(async (o: { config: string; json?: boolean }) => {
      const local = openLocal(o.config);
      try {
        const tokens = await local.auth.listTokens();
        print(!!o.json, tokens, () =>
          tokens.length
            ? tokens.map(tokenLine).join("\n")
            : "no tokens yet: `pscs token add NAME --role ops`",
        );
      } finally {
        local.close();
      }
    });
  token
    .command("revoke <id>")
    .description("revoke a token: it stops working at once")
    .option("-c, --config <file>", "pscsd configuration file", DEFAULT_CONFIG)
    .option("--json", "machine-readable output")
    .action(async (id: string, o: { config: string; json?: boolean }) => {
      if (!TOKEN_ID_PATTERN.test(id))
        throw new CliError(`<id>: expected a token id like t_0123456789ab, got '${id}'`, 2);
      const local = openLocal(o.config);
      try {
        const t = await local.auth.revokeToken(id, consoleAdmin()).catch(asCliError);
        print(!!o.json, t, () => tokenLine(t));
      } finally {
        local.close();
      }
    });
}
