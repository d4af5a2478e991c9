import { accessSync, constants, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { writeDaemonConfig } from "../helpers/config.js";
import { freePort } from "../helpers/ports.js";
import { startProc } from "../helpers/process.js";

const PSCS = join(import.meta.dirname, "../../dist/src/bin/pscs.js");
const PSCSD = join(import.meta.dirname, "../../dist/src/bin/pscsd.js");

async function pscs(args: string[]) {
  const p = startProc(process.execPath, [PSCS, ...args]);
  const { code } = await p.exited;
  return { code, out: p.lines.join("\n") };
}

describe("pscs CLI", () => {
  it("installs every bin package.json names: built, executable, answering --help under its name", async () => {
    const root = join(import.meta.dirname, "../..");
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
      bin: Record<string, string>;
    };
    expect(Object.keys(pkg.bin).sort()).toEqual(["pscs", "pscs-sim", "pscsd"]);
    for (const [name, file] of Object.entries(pkg.bin)) {
      const path = join(root, file);
      accessSync(path, constants.X_OK);
      // Run the file itself, as npm's bin link would: its shebang must start node.
      const p = startProc(path, ["--help"]);
      const { code } = await p.exited;
      expect({ name, code }).toEqual({ name, code: 0 });
      expect(p.lines.join("\n")).toContain(`Usage: ${name} `);
    }
  });

  it("lists its commands", async () => {
    const { code, out } = await pscs(["--help"]);
    expect(code).toBe(0);
    for (const cmd of ["config", "camera", "health"]) expect(out).toMatch(new RegExp(`^\\s+${cmd}\\b`, "m"));
  });

  it("refuses an unknown command with exit 2 naming it, even beside --help", async () => {
    for (const [args, message] of [
      [["nonsense", "--help"], "pscs: unknown command 'nonsense' (expected one of config, camera,"],
      [["nonsense"], "pscs: unknown command 'nonsense' (expected one of config, camera,"],
      [
        ["user", "nonsense", "--help"],
        "pscs: unknown command 'nonsense' for 'pscs user' (expected one of add, list,",
      ],
    ] as const) {
      const r = await pscs([...args]);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.out).toContain(message);
      expect(r.out).not.toContain("Usage:");
    }
    expect((await pscs(["user", "list", "--help"])).code).toBe(0);
    expect((await pscs(["help", "user"])).code).toBe(0);
  });

  it("config check: ok, then every bad field, as text and JSON", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pscs-cli-"));
    const good = join(dir, "good.yaml");
    writeFileSync(
      good,
      "storage: { recordings: r, evidence: e, catalog: c }\ncameras:\n  - { id: a, name: A, onvif: { host: h, user: u, password: p } }\n",
    );
    expect(await pscs(["config", "check", "-c", good])).toMatchObject({
      code: 0,
      out: expect.stringMatching(/ok \(1 camera: a\)/),
    });
    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, "storage: { recordings: 1 }\ncameras: [{ id: a }]\n");
    const text = await pscs(["config", "check", "-c", bad]);
    expect(text.code).toBe(78);
    expect(text.out).toMatch(/storage\.evidence: required/);
    expect(text.out).toMatch(/cameras\[0\]\.onvif: required/);
    const json = await pscs(["config", "check", "-c", bad, "--json"]);
    const parsed = JSON.parse(json.out.slice(0, json.out.lastIndexOf("}") + 1)) as {
      ok: boolean;
      issues: { path: string }[];
    };
    expect(parsed.ok).toBe(false);
    expect(parsed.issues.map((i) => i.path)).toEqual(
      expect.arrayContaining([
        "storage.recordings",
        "storage.evidence",
        "storage.catalog",
        "cameras[0].name",
      ]),
    );
  });

  it("rejects bad flags with a readable message and no stack trace", async () => {
    const probe = await pscs([
      "camera",
      "probe",
      "--host",
      "h",
      "--port",
      "nope",
      "--user",
      "u",
      "--password-file",
      "/x",
    ]);
    expect(probe.code).toBe(2);
    expect(probe.out).toMatch(/--port: expected an integer 1-65535, got 'nope'/);
    const missing = await pscs([
      "camera",
      "probe",
      "--host",
      "h",
      "--user",
      "u",
      "--password-file",
      "/nonexistent",
    ]);
    expect(missing.code).toBe(2);
    expect(missing.out).toMatch(/cannot read \/nonexistent: ENOENT/);
    const unknown = await pscs(["frobnicate"]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.out).toMatch(/unknown command 'frobnicate'/);
    for (const r of [probe, missing, unknown]) expect(r.out).not.toMatch(/\n\s+at /);
  });

  it("health reads a running daemon, exits 1 while it is not ready, and says clearly when none answers", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pscs-cli-"));
    const port = await freePort();
    const cfg = writeDaemonConfig(dir, { httpPort: port, cameras: [{ id: "a", port: await freePort() }] });
    const daemon = startProc(process.execPath, [PSCSD, "--config", cfg]);
    try {
      await daemon.waitForLine(/pscsd started/, 15_000);
      // Camera 'a' is required and not there: alive, but not ready.
      const j = await pscs(["health", "--url", `http://127.0.0.1:${port}`, "--json"]);
      expect(j.code).toBe(1);
      expect(JSON.parse(j.out)).toMatchObject({ live: { status: "ok" }, ready: { ready: false } });
      const human = await pscs(["health", "--url", `http://127.0.0.1:${port}`]);
      expect(human.out).toMatch(/alive, up \d+ s, NOT READY/);
      expect(human.out).toMatch(/cameras +FAIL required camera\(s\) not connected: a/);
    } finally {
      await daemon.stop();
    }
    const down = await pscs(["health", "--url", `http://127.0.0.1:${port}`]);
    expect(down.code).toBe(1);
    expect(down.out).toMatch(/is not answering: .*ECONNREFUSED/);
  });
});
