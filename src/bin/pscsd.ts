#!/usr/bin/env node
import { Command } from "commander";
import { SchemaTooNewError } from "../catalog/catalog.js";
import { startPscsd } from "../compose/daemon.js";
import { ConfigError, loadConfig } from "../config/load.js";
import { KeyFileError } from "../keys/ed25519-file.js";
import { createLogger } from "../log/logger.js";
import { ToolMissingError } from "../proc/tools.js";
import { VERSION } from "../version.js";

/** Exit codes an init system or pm2 can act on: 78 (EX_CONFIG) means "do not restart, fix the config". */
const EX_CONFIG = 78;
const EX_SOFTWARE = 70;

const program = new Command("pscsd")
  .description("Public Safety Camera System daemon")
  .version(VERSION)
  .requiredOption("-c, --config <file>", "configuration file (YAML)")
  .option("--pretty", "human-readable logs instead of JSON");
program.parse();
const opts = program.opts<{ config: string; pretty?: boolean }>();

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig(opts.config);
} catch (e) {
  if (!(e instanceof ConfigError)) throw e;
  process.stderr.write(`pscsd: ${e.message}\n`);
  process.exit(EX_CONFIG);
}

const log = createLogger({
  name: "pscsd",
  level: config.log.level,
  pretty: opts.pretty ?? config.log.pretty,
});

// Handlers go in before start-up: a SIGTERM while the catalog is being reconciled must wait for it
// and then stop cleanly, not kill the process by the default action.
let daemon: Awaited<ReturnType<typeof startPscsd>> | undefined;
let stopping: NodeJS.Signals | undefined;
const shutdown = (signal: NodeJS.Signals) => {
  if (stopping) return;
  stopping = signal;
  log.info({ signal, starting: daemon === undefined }, "shutting down");
  // A stuck shutdown must not outlive pm2's kill_timeout silently: say so, then go.
  const deadline = setTimeout(() => {
    log.error("shutdown took longer than 8 s, exiting anyway");
    process.exit(EX_SOFTWARE);
  }, 8_000);
  deadline.unref();
  if (daemon) stopDaemon(daemon);
};
const stopDaemon = (d: NonNullable<typeof daemon>) =>
  d.stop().then(
    () => process.exit(0),
    (err: unknown) => {
      log.error({ err }, "error during shutdown");
      process.exit(EX_SOFTWARE);
    },
  );
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);

try {
  daemon = await startPscsd(config, log);
  if (stopping) stopDaemon(daemon);
} catch (e) {
  const code =
    e instanceof SchemaTooNewError || e instanceof ToolMissingError || e instanceof KeyFileError
      ? EX_CONFIG
      : EX_SOFTWARE;
  log.fatal({ err: e }, "pscsd failed to start");
  process.stderr.write(`pscsd: ${e instanceof Error ? e.message : String(e)}\n`);
  // Let pino flush before exiting.
  setTimeout(() => process.exit(code), 50);
}
