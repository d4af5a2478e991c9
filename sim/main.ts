#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { createLogger } from "../src/log/logger.js";
import { SIM_VERSION } from "./package.js";
import { startSimulator } from "./simulator.js";

/**
 * `pscs-sim`: N simulated PTZ cameras on one host. Prints one JSON line `{"event":"ready",…}` on stdout
 * when every camera streams (the demo and tests wait for it); logs go to stderr.
 */

function intOption(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected an integer ${min}-${max}, got '${value}'`);
    }
    return n;
  };
}

/** H.264 in 4:2:0 needs even frame sizes. */
function evenOption(min: number, max: number): (value: string) => number {
  const int = intOption(min, max);
  return (value) => {
    const n = int(value);
    if (n % 2) throw new InvalidArgumentError(`expected an even number (4:2:0 video), got '${value}'`);
    return n;
  };
}

const program = new Command("pscs-sim")
  .description("simulated PSCS PTZ cameras: ONVIF (SOAP over HTTP) + H.264 over RTSP, with fault injection")
  .version(SIM_VERSION)
  .option("--cameras <n>", "number of cameras", intOption(1, 64), 1)
  .option("--host <addr>", "address every server binds to", "127.0.0.1")
  .option(
    "--base-port <port>",
    "camera i: ONVIF base+i, RTSP base+100+i, RTP (UDP) base+200+i; control base+99",
    intOption(1024, 65000),
    18000,
  )
  .option("--width <px>", "frame width (even)", evenOption(64, 3840), 640)
  .option("--height <px>", "frame height (even)", evenOption(64, 2160), 360)
  .option("--fps <n>", "frames per second", intOption(1, 60), 15)
  .option("--user <name>", "ONVIF user", "admin")
  .option("--password-file <file>", "file holding the ONVIF password (default: env PSCS_SIM_PASSWORD)")
  .option(
    "--auth <mode>",
    "ONVIF authentication: wsse (UsernameToken digest) or digest (HTTP Digest)",
    "wsse",
  )
  .option("--state-dir <dir>", "where presets and home positions persist", ".pscs-sim")
  .option("--no-discovery", "do not answer WS-Discovery probes (UDP 3702)")
  .option("--log-level <level>", "log level", "info")
  .exitOverride();

try {
  program.parse();
} catch (e) {
  process.exit(e instanceof CommanderError ? e.exitCode : 2);
}
const o = program.opts<{
  cameras: number;
  host: string;
  basePort: number;
  width: number;
  height: number;
  fps: number;
  user: string;
  passwordFile?: string;
  auth: string;
  stateDir: string;
  discovery: boolean;
  logLevel: string;
}>();

function fail(message: string, code = 2): never {
  process.stderr.write(`pscs-sim: ${message}\n`);
  process.exit(code);
}

if (o.auth !== "wsse" && o.auth !== "digest") fail(`--auth: expected 'wsse' or 'digest', got '${o.auth}'`);
let password = process.env.PSCS_SIM_PASSWORD ?? "";
if (o.passwordFile !== undefined) {
  try {
    password = readFileSync(o.passwordFile, "utf8").replace(/\r?\n$/, "");
  } catch (e) {
    fail(`--password-file: cannot read ${o.passwordFile}: ${(e as NodeJS.ErrnoException).code}`);
  }
}
if (password === "") fail("no ONVIF password: give --password-file or set PSCS_SIM_PASSWORD");

const log = createLogger({ name: "pscs-sim", level: o.logLevel, destination: process.stderr });
try {
  const sim = await startSimulator({
    cameras: o.cameras,
    host: o.host,
    basePort: o.basePort,
    width: o.width,
    height: o.height,
    fps: o.fps,
    user: o.user,
    password,
    authMode: o.auth,
    stateDir: o.stateDir,
    discovery: o.discovery,
    log,
  });
  process.stdout.write(
    `${JSON.stringify({ event: "ready", control: sim.controlUrl, cameras: sim.describe() })}\n`,
  );
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    sim.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, "error while stopping");
        process.exit(70);
      },
    );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
} catch (e) {
  log.fatal({ err: e }, "simulator failed to start");
  fail(e instanceof Error ? e.message : String(e), 70);
}
