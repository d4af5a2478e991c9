#!/usr/bin/env node
import { Command, CommanderError } from "commander";
import { checkArguments } from "../cli/arguments.js";
import { auditCommands } from "../cli/audit.js";
import { cameraCommands } from "../cli/cameras.js";
import { CliError, print } from "../cli/common.js";
import { exportCommands } from "../cli/exports.js";
import { healthCommand } from "../cli/health.js";
import { ptzCommands } from "../cli/ptz.js";
import { recordingCommands } from "../cli/recordings.js";
import { retentionCommands } from "../cli/retention.js";
import { tokenCommands } from "../cli/tokens.js";
import { userCommands } from "../cli/users.js";
import { verifyCommand } from "../cli/verify.js";
import { ConfigError, loadConfig } from "../config/load.js";
import { VERSION } from "../version.js";

/**
 * The operator's command line. Every command prints a readable result (or JSON with --json) and exits
 * non-zero with a one-line reason on failure: never a stack trace.
 */

const program = new Command("pscs")
  .description("Public Safety Camera System command line")
  .version(VERSION)
  .showHelpAfterError()
  .exitOverride()
  .hook("preAction", checkArguments);

const configCmd = program.command("config").description("configuration file tools");
configCmd
  .command("check")
  .description("validate a configuration file and name every wrong field")
  .requiredOption("-c, --config <file>", "configuration file (YAML)")
  .option("--json", "machine-readable output")
  .action((o: { config: string; json?: boolean }) => {
    try {
      const cfg = loadConfig(o.config);
      print(
        !!o.json,
        { ok: true, file: cfg.file, cameras: cfg.cameras.map((c) => c.id) },
        () =>
          `${cfg.file}: ok (${cfg.cameras.length} camera${cfg.cameras.length === 1 ? "" : "s"}: ${cfg.cameras.map((c) => c.id).join(", ")})`,
      );
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      if (o.json) print(true, { ok: false, file: e.file, issues: e.issues }, () => "");
      throw new CliError(e.message, 78);
    }
  });

cameraCommands(program);
userCommands(program);
tokenCommands(program);
auditCommands(program);
healthCommand(program);
recordingCommands(program);
retentionCommands(program);
verifyCommand(program);
exportCommands(program);
ptzCommands(program);

/**
 * A command name nobody defined is a usage error (exit 2) even beside --help, which commander would
 * otherwise answer with the parent's help and exit 0, so a typo in a script went unnoticed.
 */
function refuseUnknownCommand(argv: readonly string[]): void {
  let cmd: Command = program;
  for (const arg of argv) {
    if (arg.startsWith("-")) continue;
    if (cmd.commands.length === 0) return;
    const next = cmd.commands.find((c) => c.name() === arg || c.aliases().includes(arg));
    if (!next) {
      if (arg === "help") return;
      const known = cmd.commands.map((c) => c.name()).join(", ");
      const where = cmd === program ? "" : ` for 'pscs ${cmd.name()}'`;
      throw new CliError(`unknown command '${arg}'${where} (expected one of ${known})`, 2);
    }
    cmd = next;
  }
}

try {
  refuseUnknownCommand(process.argv.slice(2));
  await program.parseAsync();
} catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode);
  if (e instanceof CliError) {
    process.stderr.write(`pscs: ${e.message}\n`);
    process.exit(e.exitCode);
  }
  process.stderr.write(`pscs: unexpected error: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(70);
}
