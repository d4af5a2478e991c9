import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { writeDaemonConfig } from "../helpers/config.js";
import { freePort } from "../helpers/ports.js";

// The production process file, run by the real pm2 (its own PM2_HOME, so no other pm2 is touched).
const root = join(import.meta.dirname, "../..");
const pm2Bin = join(root, "node_modules/pm2/bin/pm2");
const run = promisify(execFile);
const home = mkdtempSync(join(tmpdir(), "pscs-pm2-"));
const logDir = join(home, "logs");

function pm2(args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  return run(process.execPath, [pm2Bin, ...args], {
    cwd: root,
    env: { ...process.env, PM2_HOME: home, ...extraEnv },
    timeout: 30_000,
  });
}

interface Pm2App {
  name: string;
  pid: number;
  pm2_env: { status: string; restart_time: number; exit_code?: number };
}
async function apps(): Promise<Pm2App[]> {
  return JSON.parse((await pm2(["jlist"])).stdout) as Pm2App[];
}
async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

afterAll(async () => {
  // Ends the pm2 daemon this suite started (PM2_HOME is private to it), and its apps.
  await pm2(["kill"]);
});

describe("ecosystem.config.js under pm2", () => {
  it("starts pscsd, which answers /healthz, and stops it gracefully", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pscs-pm2-app-"));
    const port = await freePort();
    const cfg = writeDaemonConfig(dir, {
      httpPort: port,
      cameras: [{ id: "a", required: false, port: await freePort() }],
    });
    await pm2(["start", "ecosystem.config.js"], { PSCS_CONFIG: cfg, PSCS_LOG_DIR: logDir });
    const app = await until(
      "pscsd online",
      async () => (await apps()).find((a) => a.name === "pscsd" && a.pm2_env.status === "online"),
      15_000,
    );
    const health = await until(
      "/healthz",
      () =>
        fetch(`http://127.0.0.1:${port}/healthz`).then(
          (r) => (r.ok ? r.json() : undefined),
          () => undefined,
        ),
      15_000,
    );
    expect(health).toMatchObject({ status: "ok" });
    await pm2(["stop", "pscsd"]);
    const out = readFileSync(join(logDir, "pscsd.out.log"), "utf8");
    expect(out).toMatch(/"msg":"shutting down"/);
    expect(out).toMatch(/"msg":"pscsd stopped"/);
    expect(() => process.kill(app.pid, 0)).toThrow();
    await pm2(["delete", "pscsd"]);
  });

  it("does not restart pscsd after a configuration error (exit 78)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pscs-pm2-bad-"));
    const cfg = join(dir, "bad.yaml");
    writeFileSync(cfg, "cameras: []\n");
    await pm2(["start", "ecosystem.config.js"], { PSCS_CONFIG: cfg, PSCS_LOG_DIR: logDir });
    await until(
      "pscsd to exit 78",
      async () => (await apps()).find((a) => a.name === "pscsd" && a.pm2_env.exit_code === 78),
      15_000,
    );
    // Longer than exp_backoff_restart_delay (1 s): a restart, if pm2 were to make one, would show by now.
    // (pm2 6 labels such an app "waiting restart" although it never restarts it: judge by the counts.)
    await new Promise((r) => setTimeout(r, 3_000));
    const after = (await apps()).find((a) => a.name === "pscsd");
    expect(after?.pm2_env.restart_time).toBe(0);
    expect(after?.pid).toBe(0);
    expect(readFileSync(join(logDir, "pscsd.err.log"), "utf8")).toMatch(
      /cameras: expected at least one camera/,
    );
    await pm2(["delete", "pscsd"]);
  });
});
