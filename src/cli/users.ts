import type { Command } from "commander";
import { isRole, ROLES, type Role } from "../auth/roles.js";
import {
  asCliError,
  CliError,
  consoleAdmin,
  DEFAULT_CONFIG,
  type Local,
  newPassword,
  openLocal,
  print,
} from "./common.js";
import { isoOr } from "./times.js";

/** `pscs user …`: accounts managed at the server's console (the first admin is made here). */

function parseRoles(values: string[]): Role[] {
  const roles = values
    .flatMap((v) => v.split(","))
    .map((r) => r.trim())
    .filter(Boolean);
  const bad = roles.filter((r) => !isRole(r));
  if (bad.length)
    throw new CliError(
      `--role: unknown role ${bad.map((b) => `'${b}'`).join(", ")} (expected ${ROLES.join(", ")})`,
      2,
    );
  if (!roles.length) throw new CliError(`--role: expected at least one of ${ROLES.join(", ")}`, 2);
  return roles as Role[];
}

const ctx = consoleAdmin;

export function userCommands(program: Command): void {
  const user = program.command("user").description("named user accounts (at the server's console)");
  user
    .command("add <username>")
    .description("add a user; the password is asked for (or read from stdin), never taken as an argument")
    .requiredOption("--role <role...>", `role(s): ${ROLES.join(", ")}`)
    .option("--name <display name>", "the person's name as shown in the audit log")
    .option("--temporary", "the person must change the password at first sign-in")
    .option("-c, --config <file>", "pscsd configuration file", DEFAULT_CONFIG)
    .option("--json", "machine-readable output")
    .action(
      async (
        username: string,
        o: { role: string[]; name?: string; temporary?: boolean; config: string; json?: boolean },
      ) => {
        const roles = parseRoles(o.role);
        const password = await newPassword(`password for ${username}`);
        const local = openLocal(o.config);
        try {
          const u = await local.auth
            .addUser(
              {
                username,
                displayName: o.name ?? username,
                roles,
                password,
                mustChangePassword: !!o.temporary,
              },
              ctx(),
            )
            .catch((e) => asCliError(e, { username: "<username>", roles: "--role" }));
          print(!!o.json, u, () => `added ${u.username} (${u.roles.join(", ")})`);
        } finally {
          local.close();
        }
      },
    );
  user
    .command("list")
    .description("list accounts: name, roles, state, last sign-in (UTC), display name")
    .option("-c, --config <file>", "pscsd configuration file", DEFAULT_CONFIG)
    .option("--json", "machine-readable output")
    .action(async (o: { config: string; json?: boolean }) => {
      const local = openLocal(o.config);
      try {
        const users = await local.auth.listUsers();
        print(!!o.json, users, () =>
          users.length
            ? users
                .map(
                  (u) =>
                    `${u.username.padEnd(20)} ${u.roles.join(",").padEnd(30)} ${(u.disabled ? "disabled" : u.lockedUntil && u.lockedUntil > Date.now() ? "locked" : "active").padEnd(8)}  ${isoOr(u.lastSignInAt, "never signed in").padEnd(24)}  ${u.displayName}`,
                )
                .join("\n")
            : "no users yet: add the first admin with `pscs user add NAME --role admin`",
        );
      } finally {
        local.close();
      }
    });
  const accountActions = [
    {
      name: "disable",
      description: "disable an account (ends its sessions; the name is never reused)",
      act: (l: Local, u: string) => l.auth.updateUser(u, { disabled: true }, ctx()),
      done: "disabled",
    },
    {
      name: "enable",
      description: "enable an account",
      act: (l: Local, u: string) => l.auth.updateUser(u, { disabled: false }, ctx()),
      done: "enabled",
    },
    {
      name: "unlock",
      description: "release an account locked after failed sign-ins",
      act: (l: Local, u: string) => l.auth.unlockUser(u, ctx()),
      done: "unlocked",
    },
  ];
  for (const a of accountActions) {
    user
      .command(`${a.name} <username>`)
      .description(a.description)
      .option("-c, --config <file>", "pscsd configuration file", DEFAULT_CONFIG)
      .option("--json", "machine-readable output")
      .action(async (username: string, o: { config: string; json?: boolean }) => {
        const local = openLocal(o.config);
        try {
          const u = await a.act(local, username).catch((e: unknown) => asCliError(e));
          print(!!o.json, u, () => `${u.username}: ${a.done}`);
        } finally {
          local.close();
        }
      });
  }
  user
    .command("reset-password <username>")
    .description("set a new password (asked for, or read from stdin); ends the user's sessions")
    .option("--permanent", "do not require a change at next sign-in")
    .option("-c, --config <file>", "pscsd configuration file", DEFAULT_CONFIG)
    .option("--json", "machine-readable output")
    .action(async (username: string, o: { permanent?: boolean; config: string; json?: boolean }) => {
      const password = await newPassword(`new password for ${username}`);
      const local = openLocal(o.config);
      try {
        await local.auth.resetPassword(username, password, ctx(), !o.permanent).catch(asCliError);
        print(
          !!o.json,
          { username, mustChangePassword: !o.permanent },
          () => `${username}: password reset${o.permanent ? "" : " (must change at next sign-in)"}`,
        );
      } finally {
        local.close();
      }
    });
}
