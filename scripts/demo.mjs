#!/usr/bin/env node
// `npm run demo`: four simulated PTZ cameras and a pscsd recording them, on 127.0.0.1.
// Prints where to look, streams the daemon's log readably, stops both children (by PID) on Ctrl-C.
// Options: --port P (pscsd HTTP, default 8080), --base-port B (simulator, default 18000),
//          --cameras N (default 4), --for S (stop by itself after S seconds; used by the demo test).
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { prettyFactory } from "pino-pretty";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({
  options: {
    port: { type: "string", default: "8080" },
    "base-port": { type: "string", default: "18000" },
    cameras: { type: "string", default: "4" },
    for: { type: "string" },
    dir: { type: "string", default: join(root, ".pscs-demo") },
  },
});
const int = (name, v, min, max) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    process.stderr.write(`demo: --${name}: expected an integer ${min}-${max}, got '${v}'\n`);
    process.exit(2);
  }
  return n;
};
const httpPort = int("port", values.port, 1, 65535);
const basePort = int("base-port", values["base-port"], 1024, 65000);
const cameraCount = int("cameras", values.cameras, 1, 16);
const runFor = values.for === undefined ? undefined : int("for", values.for, 1, 86400);
const dir = resolve(values.dir);

// Demo-only credentials, written to a 0600 file so that they never appear on a command line.
const simPassword = "Demo-Cam-2026!";
mkdirSync(dir, { recursive: true });
const pwFile = join(dir, "camera.pw");
writeFileSync(pwFile, `${simPassword}\n`, { mode: 0o600 });

const children = [];
let stopping = false;
function stopAll(code) {
  if (stopping) return;
  stopping = true;
  process.stderr.write("\ndemo: stopping pscsd and the simulator…\n");
  const alive = children.filter((c) => c.exitCode === null && c.signalCode === null);
  if (alive.length === 0) process.exit(code);
  let left = alive.length;
  for (const c of alive) {
    c.once("exit", () => {
      left -= 1;
      if (left === 0) process.exit(code);
    });
    c.kill("SIGTERM");
  }
  setTimeout(() => {
    for (const c of alive) if (c.exitCode === null) c.kill("SIGKILL");
    process.exit(code);
  }, 10_000).unref();
}
process.on("SIGINT", () => stopAll(0));
process.on("SIGTERM", () => stopAll(0));

function start(name, args) {
  const child = spawn(process.execPath, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  child.on("exit", (code, signal) => {
    if (!stopping) {
      process.stderr.write(`demo: ${name} exited unexpectedly (code ${code}, signal ${signal})\n`);
      stopAll(1);
    }
  });
  child.stderr.on("data", (d) => process.stderr.write(`[${name}] ${d}`));
  return child;
}

// 1. The simulator: prints one JSON line {"event":"ready", cameras:[…]} once every camera streams.
const sim = start("pscs-sim", [
  "dist/sim/main.js",
  "--cameras",
  String(cameraCount),
  "--base-port",
  String(basePort),
  "--password-file",
  pwFile,
  "--state-dir",
  join(dir, "sim-state"),
]);
const simReady = await new Promise((resolveReady) => {
  createInterface({ input: sim.stdout }).on("line", (line) => {
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      process.stdout.write(`[pscs-sim] ${line}\n`);
      return;
    }
    if (msg.event === "ready") resolveReady(msg);
  });
});

// 2. pscsd, configured for those cameras.
const config = {
  site: { name: "PSCS demo" },
  http: { host: "127.0.0.1", port: httpPort },
  storage: { recordings: "recordings", evidence: "evidence", catalog: "catalog.db" },
  recording: { segmentSeconds: 10 },
  log: { level: "info", pretty: false },
  cameras: simReady.cameras.map((c) => ({
    id: c.id,
    name: c.name,
    onvif: { host: c.onvif.host, port: c.onvif.port, user: c.onvif.user, passwordFile: pwFile },
  })),
};
const configFile = join(dir, "pscs.yaml");
writeFileSync(configFile, `# written by scripts/demo.mjs\n${JSON.stringify(config, null, 2)}\n`);

// A demo sign-in holding every role, made once through the same CLI an operator uses for the first
// admin (password on stdin, never on a command line); its password sits in a 0600 file.
const demoUser = "demo";
const demoPwFile = join(dir, "demo-user.pw");
const demoPassword = "Sign-In-Pscs-2026!";
writeFileSync(demoPwFile, `${demoPassword}\n`, { mode: 0o600 });
const cli = (args, input = "") =>
  spawnSync(process.execPath, ["dist/src/bin/pscs.js", ...args, "-c", configFile], {
    cwd: root,
    input,
    encoding: "utf8",
  });
function ensureDemoUser() {
  const listed = cli(["user", "list", "--json"]);
  if (listed.status !== 0) {
    process.stderr.write(`demo: cannot list users: ${listed.stderr}`);
    return false;
  }
  if (JSON.parse(listed.stdout).some((u) => u.username === demoUser)) return true;
  const roles = "admin,dispatcher,records,commander,ops,auditor";
  const added = cli(["user", "add", demoUser, "--role", roles, "--name", "Demo User"], `${demoPassword}\n`);
  if (added.status !== 0) process.stderr.write(`demo: cannot add the demo user: ${added.stderr}`);
  return added.status === 0;
}
if (!ensureDemoUser()) {
  stopAll(1); // the simulator is already running: stop it, never leave it behind
  await new Promise(() => {}); // stopAll exits the process
}

const daemon = start("pscsd", ["dist/src/bin/pscsd.js", "--config", configFile]);
const pretty = prettyFactory({
  colorize: process.stdout.isTTY,
  translateTime: "SYS:HH:MM:ss",
  ignore: "pid,hostname",
});
const connected = new Set();
let announced = false;
createInterface({ input: daemon.stdout }).on("line", (line) => {
  let entry;
  try {
    entry = JSON.parse(line);
  } catch {
    process.stdout.write(`[pscsd] ${line}\n`);
    return;
  }
  process.stdout.write(pretty(entry));
  if (entry.msg === "camera connected") connected.add(entry.camera);
  if (!announced && connected.size === simReady.cameras.length) {
    announced = true;
    announce();
  }
});

// A demo that never comes up must say why instead of sitting there.
setTimeout(() => {
  if (announced) return;
  const missing = simReady.cameras.map((c) => c.id).filter((id) => !connected.has(id));
  process.stderr.write(`demo: pscsd did not connect to ${missing.join(", ")} within 60 s\n`);
  stopAll(1);
}, 60_000).unref();

function announce() {
  const base = `http://127.0.0.1:${httpPort}`;
  const lines = [
    "",
    "PSCS demo is running (Ctrl-C stops it)",
    `  pscsd             ${base}/healthz   API reference ${base}/api/docs`,
    `  sign in           user '${demoUser}' (every role), password in ${demoPwFile}`,
    `  simulator control ${simReady.control}/cameras   (faults: POST /cameras/<id>/stream|rtsp|freeze|onvif|reboot|clock)`,
    `  config            ${configFile}`,
    `  camera password   ${pwFile}`,
    `  cameras (ONVIF, RTSP — open the RTSP URL in VLC or \`ffplay -rtsp_transport tcp URL\` as user '${simReady.cameras[0]?.onvif.user}', camera password):`,
    ...simReady.cameras.map(
      (c) =>
        `    ${c.id.padEnd(8)} ${c.name.padEnd(24)} onvif http://${c.onvif.host}:${c.onvif.port}  ${c.rtsp}`,
    ),
    `  CLI               node dist/src/bin/pscs.js --help`,
    "",
  ];
  process.stdout.write(
    `${lines.join("\n")}\nDEMO READY ${JSON.stringify({ url: base, cameras: simReady.cameras.length })}\n`,
  );
  if (runFor !== undefined) setTimeout(() => stopAll(0), runFor * 1000).unref();
}
