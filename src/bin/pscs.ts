#!/usr/bin/env node
import { Command, CommanderError } from "commander";
import { auditCommands } from "../cli/audit.js";
import { cameraCommands } from "../cli/cameras.js";
import { CliError, print } from "../cli/common.js";
import { healthCommand } from "../cli/health.js";
import { recordingCommands } from "../cli/recordings.js";
import { retentionCommands } from "../cli/retention.js";
import { userCommands } from "../cli/users.js";
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
  .exitOverride();

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
auditCommands(program);
healthCommand(program);
recordingCommands(program);
retentionCommands(program);

try {
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
