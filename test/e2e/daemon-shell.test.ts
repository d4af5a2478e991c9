import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { writeDaemonConfig } from "../helpers/config.js";
import { freePort } from "../helpers/ports.js";
import { startProc } from "../helpers/process.js";

// Runs the built daemon (dist/, made by bootstrap) as a user would, against a camera that is not there.
const PSCSD = join(import.meta.dirname, "../../dist/src/bin/pscsd.js");
const SECRET = "Never-Log-Me-42!";

function writeConfig(dir: string, httpPort: number, cameraPort: number): string {
  return writeDaemonConfig(dir, {
    httpPort,
    cameras: [{ id: "gone", name: "Nowhere Camera", port: cameraPort, password: SECRET }],
  });
}

describe("pscsd shell", () => {
  it("serves /healthz while a camera is unreachable, retries, never logs the password, stops on SIGTERM", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pscsd-"));
    const httpPort = await freePort();
    const deadCameraPort = await freePort();
    const proc = startProc(process.execPath, [PSCSD, "--config", writeConfig(dir, httpPort, deadCameraPort)]);
    try {
      await proc.waitForLine(/"msg":"pscsd started"/, 15_000);
      const res = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ status: "ok", version: expect.any(String) });
      const missing = await fetch(`http://127.0.0.1:${httpPort}/nope`);
      expect(missing.status).toBe(404);
      expect(missing.headers.get("content-type")).toMatch(/application\/problem\+json/);
      // Two failures means the backoff loop is retrying rather than giving up.
      await proc.waitForLine(/camera unreachable/, 10_000);
      await proc.waitForLine(
        (l) => proc.lines.filter((x) => /camera unreachable/.test(x)).length >= 2 && /unreachable/.test(l),
        15_000,
      );
    } finally {
      const { code, signal } = await proc.stop("SIGTERM");
      expect(signal).toBeNull();
      expect(code).toBe(0);
    }
    expect(proc.lines.join("\n")).not.toContain(SECRET);
    expect(proc.lines.some((l) => /"msg":"pscsd stopped"/.test(l))).toBe(true);
  });

  it("exits 78 naming every bad field, without a stack trace or the password", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pscsd-"));
    const file = join(dir, "bad.yaml");
    writeFileSync(
      file,
      `http: { port: 99999 }\nstorage: { recordings: r, evidence: e, catalog: c }\ncameras:\n  - { id: "Bad Id", name: x, onvif: { host: h, user: u, password: "${SECRET}", extra: 1 } }\n`,
    );
    const proc = startProc(process.execPath, [PSCSD, "--config", file]);
    const { code } = await proc.exited;
    const out = proc.lines.join("\n");
    expect(code).toBe(78);
    expect(out).toMatch(/http\.port: .*65535/);
    expect(out).toMatch(/cameras\[0\]\.id: /);
    expect(out).toMatch(/cameras\[0\]\.onvif: unknown field\(s\) 'extra'/);
    expect(out).not.toMatch(/\n\s+at /);
    expect(out).not.toContain(SECRET);
  });

  it("refuses to start without a runnable ffprobe (exit 78), naming the field and touching no footage", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pscsd-"));
    const cfg = writeDaemonConfig(dir, {
      httpPort: await freePort(),
      cameras: [{ id: "gone", name: "Nowhere Camera", port: await freePort(), password: SECRET }],
      extra: { recording: { ffprobe: join(dir, "no-such-ffprobe") } },
    });
    const proc = startProc(process.execPath, [PSCSD, "--config", cfg]);
    const { code } = await proc.exited;
    const out = proc.lines.join("\n");
    expect(code).toBe(78);
    expect(out).toMatch(/recording\.ffprobe: cannot run '.*no-such-ffprobe -version' \(ENOENT\)/);
    expect(out).not.toMatch(/\n\s+at /);
    // Checked before the catalog is opened: nothing was created.
    expect(existsSync(join(dir, "catalog.db"))).toBe(false);
  });

  it("refuses to start on a catalog from a newer pscsd (exit 78)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pscsd-"));
    const Database = (await import("better-sqlite3")).default;
    const db = new Database(join(dir, "catalog.db"));
    db.pragma("user_version = 999");
    db.close();
    const proc = startProc(process.execPath, [
      PSCSD,
      "--config",
      writeConfig(dir, await freePort(), await freePort()),
    ]);
    const { code } = await proc.exited;
    expect(code).toBe(78);
    expect(proc.lines.join("\n")).toMatch(/schema version 999, this pscsd supports up to \d+/);
  });
});
