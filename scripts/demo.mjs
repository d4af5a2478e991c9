#!/usr/bin/env node
// `npm run demo`: four simulated PTZ cameras and a pscsd recording them, on 127.0.0.1.
// Prints where to look and who can sign in (one user per role), streams the daemon's log readably,
// and stops both children (by PID) on Ctrl-C, SIGTERM or SIGHUP, and when the command that started
// it goes away (`npm run demo` killed: npm passes SIGTERM only to its shell, which dies without
// passing it on, and SIGKILL reaches nobody).
// Options: --port P (pscsd HTTP, default 8080), --base-port B (simulator, default 18000),
//          --cameras N (default 4), --for S (stop by itself after S seconds; used by the demo test).
import { spawn, spawnSync } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { prettyFactory } from "pino-pretty";
import { passwordProblems } from "../dist/src/auth/password-rules.js";
import { ancestors, parentOf } from "../dist/src/proc/tree.js";
import { isTimeZone } from "../dist/src/time/parse.js";

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
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => stopAll(0));
// A terminal or pipe that went away with the parent must not crash the demo before it stops.
for (const out of [process.stdout, process.stderr]) out.on("error", () => stopAll(0));

// Parent death: Node has no prctl(PR_SET_PDEATHSIG), so the chain of processes that started the demo
// (its shell, npm, …) is looked at every second; any of them gone or re-parented stops everything.
const lineage = ancestors(process.pid);
setInterval(() => {
  const gone = lineage.find((a) => parentOf(a.pid) !== a.ppid);
  if (!gone) return;
  process.stderr.write(`\ndemo: process ${gone.pid}, which started the demo, went away\n`);
  stopAll(0);
}, 1_000).unref();

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
const hostZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
const config = {
  // Typed times are read in this machine's zone, as a department's would be in its own.
  site: { name: "PSCS demo", timezone: isTimeZone(hostZone) ? hostZone : "UTC" },
  http: { host: "127.0.0.1", port: httpPort },
  // The catalog has a folder of its own: the audit checkpoint key (beside this config) must not travel with it.
  storage: { recordings: "recordings", evidence: "evidence", catalog: "catalog/catalog.db" },
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

// One sign-in per role, so the demo keeps the separation of duties (a clerk enters a hold request,
// a different person, the commander, approves it). They are made through the same CLI an operator
// uses (passwords on stdin, never on a command line), with passwords drawn anew on every run and
// written to a 0600 file only.
const DEMO_USERS = [
  { username: "clerk", role: "records", name: "Demo Records Clerk" },
  { username: "commander", role: "commander", name: "Demo Commander" },
  { username: "dispatcher", role: "dispatcher", name: "Demo Dispatcher" },
  { username: "supervisor", role: "supervisor", name: "Demo Dispatch Supervisor" },
  { username: "ops", role: "ops", name: "Demo Operations" },
  { username: "auditor", role: "auditor", name: "Demo Auditor" },
  { username: "admin", role: "admin", name: "Demo Administrator" },
];
/** A random password the policy accepts (9+ characters, upper, lower, digit, symbol, not the name). */
function demoPassword(username) {
  const pick = (chars) => chars[randomInt(chars.length)];
  for (;;) {
    const p = `${pick("ABCDEFGHJKLMNPQRSTUVWXYZ")}${pick("abcdefghijkmnpqrstuvwxyz")}${randomInt(10)}${pick("!#%+-=?@")}${randomBytes(12).toString("base64url")}`;
    if (passwordProblems(username, p).length === 0) return p;
  }
}
const signInsFile = join(dir, "sign-ins.txt");
const cli = (args, input = "") =>
  spawnSync(process.execPath, ["dist/src/bin/pscs.js", ...args, "-c", configFile], {
    cwd: root,
    input,
    encoding: "utf8",
  });
function ensureDemoUsers() {
  const listed = cli(["user", "list", "--json"]);
  if (listed.status !== 0) {
    process.stderr.write(`demo: cannot list users: ${listed.stderr}`);
    return false;
  }
  const existing = new Map(JSON.parse(listed.stdout).map((u) => [u.username, u]));
  const lines = [];
  for (const u of DEMO_USERS) {
    const password = demoPassword(u.username);
    const had = existing.get(u.username);
    if (had && (had.roles.length !== 1 || had.roles[0] !== u.role)) {
      process.stderr.write(
        `demo: user '${u.username}' exists with roles ${had.roles.join(",")}; use a new --dir\n`,
      );
      return false;
    }
    const made = had
      ? cli(["user", "reset-password", u.username, "--permanent"], `${password}\n`)
      : cli(["user", "add", u.username, "--role", u.role, "--name", u.name], `${password}\n`);
    if (made.status !== 0) {
      process.stderr.write(`demo: cannot set up user '${u.username}': ${made.stderr}`);
      return false;
    }
    lines.push(`${u.username.padEnd(11)} ${u.role.padEnd(11)} ${password}`);
  }
  // A demo directory from before kept one account with every role: it must not stay usable.
  const old = existing.get("demo");
  if (old && !old.disabled && cli(["user", "disable", "demo"]).status !== 0) return false;
  rmSync(join(dir, "demo-user.pw"), { force: true });
  writeFileSync(signInsFile, `# user      role        password (drawn for this run)\n${lines.join("\n")}\n`, {
    mode: 0o600,
  });
  chmodSync(signInsFile, 0o600); // a file left by an earlier run keeps its mode otherwise
  return true;
}
if (!ensureDemoUsers()) {
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
    `  screens           ${base}/   (sign in as one of the users below)`,
    `  pscsd             ${base}/healthz   API reference ${base}/api/docs`,
    `  sign in           one user per role (passwords in ${signInsFile}, mode 0600):`,
    ...DEMO_USERS.map((u) => `    ${u.username.padEnd(11)} ${u.role}`),
    `  simulator control ${simReady.control}/cameras   (faults: POST /cameras/<id>/stream|rtsp|freeze|onvif|reboot|clock)`,
    `  config            ${configFile}`,
    `  camera password   ${pwFile}`,
    `  cameras (ONVIF, RTSP — open the RTSP URL in VLC or \`ffplay -rtsp_transport tcp URL\` as user '${simReady.cameras[0]?.onvif.user}', camera password):`,
    ...simReady.cameras.map(
      (c) =>
        `    ${c.id.padEnd(8)} ${c.name.padEnd(24)} onvif http://${c.onvif.host}:${c.onvif.port}  ${c.rtsp}`,
    ),
    `  CLI               pscs --help (or npx pscs); e.g. pscs timeline cam1 --from 2026-01-01T08:00 --to 2026-01-01T09:00 -c ${configFile}`,
    "",
  ];
  process.stdout.write(
    `${lines.join("\n")}\nDEMO READY ${JSON.stringify({ url: base, cameras: simReady.cameras.length })}\n`,
  );
  if (runFor !== undefined) setTimeout(() => stopAll(0), runFor * 1000).unref();
}
