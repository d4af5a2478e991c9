// What the browser benchmarks run against: the simulator and the built pscsd, started as children
// (children.mjs stops them, by PID, however the benchmark ends), each awaited until it answers; a
// user made at the console and signed in over the API.
import { mkdirSync, openSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { openConsole } from "../../dist/src/compose/console.js";
import { loadConfig } from "../../dist/src/config/load.js";
import { start } from "./children.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");

/** Debian's chromium with the flags test/helpers/browser.ts launches it with on this machine. */
export const CHROMIUM = "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--autoplay-policy=no-user-gesture-required",
];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Resolves once `probe` answers true (a throw counts as not yet); throws after `ms`. */
export async function until(what, ms, probe) {
  const end = Date.now() + ms;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > end) throw new Error(`${what}: not ready within ${ms} ms`);
    await sleep(100);
  }
}

/** The first line of the child's stdout that passes `test`; rejects if the child exits first. */
export function readyLine(child, what, test) {
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`${what} exited ${code}`)));
    createInterface({ input: child.stdout }).on("line", (l) => {
      if (test(l)) resolve(l);
    });
  });
}

/**
 * pscs-sim with `cameras` cameras from `basePort`, no WS-Discovery, its state in `stateDir`;
 * `args`: more of its flags (`--fps`). Resolves with the child and its cameras once it is ready.
 */
export async function startSim({ cameras, basePort, stateDir, password, args = [] }) {
  const child = start(
    process.execPath,
    [
      join(root, "dist/sim/main.js"),
      ...["--cameras", String(cameras), "--base-port", String(basePort), "--state-dir", stateDir],
      ...["--no-discovery", "--log-level", "warn", ...args],
    ],
    { env: { ...process.env, PSCS_SIM_PASSWORD: password } },
  );
  const line = await readyLine(child, "pscs-sim", (l) => l.includes('"event":"ready"'));
  return { child, pid: child.pid, cameras: JSON.parse(line).cameras };
}

/** The simulator's cameras as pscsd's config names them (`cam1`…), their password in `passwordFile`. */
export function simCameraConfig(cameras, passwordFile) {
  return cameras.map((c, i) => ({
    id: `cam${i + 1}`,
    name: `Camera ${i + 1}`,
    onvif: { host: c.onvif.host, port: c.onvif.port, user: c.onvif.user, passwordFile },
  }));
}

/**
 * The built pscsd in `dir` with `config` (JSON is YAML; `fallback` if pscsd refuses `config`: a
 * build that predates one of its settings), `files` (name → text: a camera's password) beside it
 * and `users` added at the console first; its log in `dir/pscsd.log` (a pipe nobody reads would
 * stall it). Resolves once /readyz answers 200.
 */
export async function startPscsd({ dir, config, fallback, files = {}, users }) {
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const file = join(dir, "pscs.yaml");
  writeFileSync(file, JSON.stringify(config));
  let loaded;
  try {
    loaded = loadConfig(file);
  } catch (e) {
    if (!fallback) throw e;
    writeFileSync(file, JSON.stringify(fallback));
    loaded = loadConfig(file);
  }
  const local = openConsole(loaded);
  try {
    for (const u of users)
      await local.auth.addUser(
        { mustChangePassword: false, ...u },
        { actor: "local:bench", role: "admin", client: "cli" },
      );
  } finally {
    local.close();
  }
  const out = openSync(join(dir, "pscsd.log"), "w");
  const child = start(process.execPath, [join(root, "dist/src/bin/pscsd.js"), "--config", file], {
    cwd: dir,
    stdio: ["ignore", out, out],
  });
  const origin = `http://${config.http.host}:${config.http.port}`;
  await until("pscsd", 30_000, async () => (await fetch(`${origin}/readyz`)).status === 200);
  return { child, pid: child.pid, origin };
}

/**
 * Signs in over the API: the session cookie, its CSRF token, and `call(method, path, body)` making
 * a request as that person (same-origin, the token on every request).
 */
export async function signInApi(origin, username, password) {
  const res = await fetch(`${origin}/api/session`, {
    method: "POST",
    headers: { "content-type": "application/json", origin },
    body: JSON.stringify({ username, password }),
  });
  if (res.status !== 200) throw new Error(`sign-in as ${username}: ${res.status} ${await res.text()}`);
  const session = /pscs_session=([^;]+)/.exec(res.headers.get("set-cookie") ?? "")?.[1];
  const { csrfToken } = await res.json();
  const call = (method, path, body) =>
    fetch(`${origin}${path}`, {
      method,
      headers: {
        origin,
        cookie: `pscs_session=${session}`,
        "x-csrf-token": csrfToken,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  return { session, csrfToken, call };
}
