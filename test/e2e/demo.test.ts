import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { freePort, freeSimBase } from "../helpers/ports.js";
import { descendants, isAlive, startProc } from "../helpers/process.js";

// `npm run demo` is bootstrap + this script; the bootstrap part is what `npm test` just ran.
const DEMO = join(import.meta.dirname, "../../scripts/demo.mjs");

describe("npm run demo", () => {
  it("starts pscsd and 4 simulated cameras, prints where to look, and stops everything it started", async () => {
    const port = await freePort();
    const base = await freeSimBase(4);
    const dir = mkdtempSync(join(tmpdir(), "pscs-demo-"));
    const demo = startProc(process.execPath, [
      DEMO,
      "--for",
      "6",
      "--port",
      String(port),
      "--base-port",
      String(base),
      "--dir",
      dir,
    ]);
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
    // The printed sign-in works and sees every camera connected.
    expect(out).toContain(`user 'demo' (every role), password in ${join(dir, "demo-user.pw")}`);
    const password = readFileSync(join(dir, "demo-user.pw"), "utf8").trim();
    const signin = await fetch(`http://127.0.0.1:${port}/api/session`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "demo", password }),
    });
    expect(signin.status).toBe(200);
    const cookie = (signin.headers.get("set-cookie") ?? "").split(";")[0] as string;
    const listed = (await (
      await fetch(`http://127.0.0.1:${port}/api/cameras`, { headers: { cookie } })
    ).json()) as {
      cameras: { state: string }[];
    };
    expect(listed.cameras.map((c) => c.state)).toEqual(["connected", "connected", "connected", "connected"]);
    // pscsd, pscs-sim, the RTSP server and 4 encoders.
    const children = descendants(demo.child.pid as number);
    expect(children.length).toBeGreaterThanOrEqual(7);
    const { code } = await demo.exited;
    expect(code).toBe(0);
    await new Promise((r) => setTimeout(r, 500));
    expect(children.filter(isAlive)).toEqual([]);
    expect(out).not.toContain("Demo-Cam-2026!");
    expect(out).not.toContain(password);
  });
});
