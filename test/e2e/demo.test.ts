import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { freePort, freeSimBase } from "../helpers/ports.js";
import { descendants, isAlive, runPscs, startProc } from "../helpers/process.js";

// `npm run demo` is bootstrap + this script; the bootstrap part is what `npm test` just ran.
const DEMO = join(import.meta.dirname, "../../scripts/demo.mjs");

const ROLES: Record<string, string> = {
  clerk: "records",
  commander: "commander",
  dispatcher: "dispatcher",
  supervisor: "supervisor",
  ops: "ops",
  auditor: "auditor",
  admin: "admin",
};

async function demoArgs(cameras: number, extra: string[] = []) {
  const port = await freePort();
  const base = await freeSimBase(cameras);
  const dir = mkdtempSync(join(tmpdir(), "pscs-demo-"));
  const args = [
    ...extra,
    "--port",
    String(port),
    "--base-port",
    String(base),
    "--cameras",
    String(cameras),
    "--dir",
    dir,
  ];
  return { port, base, dir, args };
}

function readSignIns(dir: string): [string, string, string][] {
  return readFileSync(join(dir, "sign-ins.txt"), "utf8")
    .split("\n")
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => l.split(/ +/) as [string, string, string]);
}

const signIn = (port: number, username: string, password: string) =>
  fetch(`http://127.0.0.1:${port}/api/session`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password }),
  });

/** Waits until none of `pids` runs any more; returns those still running after `ms`. */
async function goneWithin(pids: number[], ms: number): Promise<number[]> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && pids.some(isAlive)) await new Promise((r) => setTimeout(r, 200));
  return pids.filter(isAlive);
}

describe("npm run demo", () => {
  it("starts pscsd and 4 simulated cameras, prints one sign-in per role, and stops everything it started", async () => {
    const { port, base, dir, args } = await demoArgs(4, ["--for", "8"]);
    const demo = startProc(process.execPath, [DEMO, ...args]);
    const ready = await demo.waitForLine(/^DEMO READY /, 60_000);
    expect(JSON.parse(ready.slice("DEMO READY ".length))).toEqual({
      url: `http://127.0.0.1:${port}`,
      cameras: 4,
    });
    const out = demo.lines.join("\n");
    expect(out).toContain(`http://127.0.0.1:${port}/healthz`);
    expect(out).toContain(`http://127.0.0.1:${base + 99}/cameras`);
    for (let i = 0; i < 4; i++) expect(out).toContain(`rtsp://127.0.0.1:${base + 100 + i}/stream`);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    const cams = (await (await fetch(`http://127.0.0.1:${base + 99}/cameras`)).json()) as unknown[];
    expect(cams).toHaveLength(4);

    // One person per role, printed with where their passwords are (a 0600 file, not the terminal).
    const file = join(dir, "sign-ins.txt");
    expect(out).toContain(`one user per role (passwords in ${file}, mode 0600):`);
    for (const [user, role] of Object.entries(ROLES))
      expect(out).toMatch(new RegExp(`^\\s+${user} +${role}$`, "m"));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const signIns = readSignIns(dir);
    expect(signIns.map(([u, r]) => [u, r])).toEqual(Object.entries(ROLES));
    // Each printed user signs in and holds exactly its role.
    let records = "";
    for (const [username, role, password] of signIns) {
      const signin = await signIn(port, username, password);
      expect({ username, status: signin.status }).toEqual({ username, status: 200 });
      const cookie = (signin.headers.get("set-cookie") ?? "").split(";")[0] as string;
      const me = (await (
        await fetch(`http://127.0.0.1:${port}/api/session`, { headers: { cookie } })
      ).json()) as {
        roles: string[];
      };
      expect({ username, roles: me.roles }).toEqual({ username, roles: [role] });
      if (role === "records") records = cookie;
      expect(out).not.toContain(password);
    }
    // The clerk sees every camera connected (and no one account does everything).
    const listed = (await (
      await fetch(`http://127.0.0.1:${port}/api/cameras`, { headers: { cookie: records } })
    ).json()) as { cameras: { state: string }[] };
    expect(listed.cameras.map((c) => c.state)).toEqual(["connected", "connected", "connected", "connected"]);
    // pscsd, pscs-sim, the RTSP server and 4 encoders.
    const children = descendants(demo.child.pid as number);
    expect(children.length).toBeGreaterThanOrEqual(7);
    const { code } = await demo.exited;
    expect(code).toBe(0);
    expect(await goneWithin(children, 2_000)).toEqual([]);
    expect(demo.lines.join("\n")).not.toContain("Demo-Cam-2026!");
  });

  it("run again in the same directory: new passwords, the old ones and an all-roles 'demo' account stop working", async () => {
    const first = await demoArgs(1, ["--for", "2"]);
    const run1 = startProc(process.execPath, [DEMO, ...first.args]);
    expect((await run1.exited).code).toBe(0);
    const before = readSignIns(first.dir);
    // What an older demo made: one account holding every role.
    const all = "admin,dispatcher,records,commander,ops,auditor";
    const config = join(first.dir, "pscs.yaml");
    expect(
      (await runPscs(["user", "add", "demo", "--role", all, "-c", config], "Sign-In-Pscs-2026!\n")).code,
    ).toBe(0);
    const run2 = startProc(process.execPath, [DEMO, "--for", "20", ...first.args.slice(2)]);
    await run2.waitForLine(/^DEMO READY /, 60_000);
    const after = readSignIns(first.dir);
    for (const [i, [username, , password]] of after.entries()) {
      expect(password).not.toBe(before[i]?.[2]);
      expect((await signIn(first.port, username, password)).status).toBe(200);
      expect((await signIn(first.port, username, before[i]?.[2] as string)).status).toBe(401);
    }
    expect((await signIn(first.port, "demo", "Sign-In-Pscs-2026!")).status).not.toBe(200);
    expect((await run2.stop("SIGINT")).code).toBe(0);
  }, 120_000);

  // As `npm run demo` runs it: npm (a node process) → sh -c "… && node scripts/demo.mjs" → the demo.
  // npm passes SIGTERM to its shell, which dies without passing it on; SIGKILL reaches nobody else.
  for (const signal of ["SIGKILL", "SIGTERM"] as const) {
    it(`stops the whole stack when the npm that started it gets ${signal}`, async () => {
      const { args } = await demoArgs(1);
      const script = `true && ${JSON.stringify(process.execPath)} ${[DEMO, ...args].map((a) => JSON.stringify(a)).join(" ")}; echo demo exited`;
      const npm = startProc(process.execPath, [
        "-e",
        `const c = require("node:child_process").spawn("sh", ["-c", ${JSON.stringify(script)}], { stdio: "inherit" });
         process.on("SIGTERM", () => { c.kill("SIGTERM"); process.exit(143); });`,
      ]);
      await npm.waitForLine(/^DEMO READY /, 60_000);
      const stack = descendants(npm.child.pid as number);
      // sh, the demo, pscsd, pscs-sim, the RTSP server and an encoder.
      expect(stack.length).toBeGreaterThanOrEqual(6);
      npm.child.kill(signal);
      await npm.exited;
      const left = await goneWithin(stack, 15_000);
      for (const pid of left) process.kill(pid, "SIGKILL"); // never leave a failed run's stack behind
      expect(left).toEqual([]);
    }, 90_000);
  }
});
