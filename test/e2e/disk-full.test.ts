import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Simulator } from "../../sim/simulator.js";
import { writeDaemonConfig } from "../helpers/config.js";
import { freePort } from "../helpers/ports.js";
import { type Proc, startProc } from "../helpers/process.js";
import { client, openLocalCatalog, TEST_AUTH } from "../helpers/pscsd.js";
import { simCameraConfigs, startTestCameras } from "../helpers/sim.js";

/**
 * The recordings volume fills up (a real 1.5 MB tmpfs): ffmpeg's writes fail with ENOSPC, pscsd stays
 * up, says so (gap cause, health, log), and records again once there is room. Mounting needs root,
 * which CI has; elsewhere the test says why it did not run.
 */
const PSCSD = join(import.meta.dirname, "../../dist/src/bin/pscsd.js");
const PASSWORD = "Disk-Test-2026!";
const dir = mkdtempSync(join(tmpdir(), "pscs-full-"));
const rec = join(dir, "rec");
let mounted = false;
let why = "";
let sim: Simulator;

beforeAll(async () => {
  mkdirSync(rec);
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=1500k", "tmpfs", rec], { stdio: "pipe" });
    mounted = true;
  } catch (e) {
    why = `cannot mount a small tmpfs here (${String((e as { stderr?: Buffer }).stderr ?? e).trim()})`;
    return;
  }
  sim = await startTestCameras(dir, { user: "recorder", password: PASSWORD });
});
afterAll(async () => {
  await sim?.stop();
  if (mounted) execFileSync("umount", [rec]);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("recordings volume full", () => {
  it("keeps pscsd up and says why nothing is recorded, then records again when there is room", async (ctx) => {
    if (!mounted) ctx.skip(why);
    writeFileSync(join(dir, "cam.pw"), `${PASSWORD}\n`);
    const httpPort = await freePort();
    const cfg = writeDaemonConfig(dir, {
      httpPort,
      onvif: { heartbeatSeconds: 5, requestTimeoutSeconds: 2 },
      cameras: simCameraConfigs(sim),
      extra: {
        recording: { segmentSeconds: 4, stallSeconds: 5 },
        auth: TEST_AUTH,
        health: { storageFloorGiB: 0.001 },
      },
    });
    const local = openLocalCatalog(cfg);
    const token = local.auth.createToken(
      { name: "ops", role: "ops" },
      { actor: "local:test", role: "admin", client: "cli" },
    ).secret;
    local.close();
    const daemon: Proc = startProc(process.execPath, [PSCSD, "--config", cfg]);
    const url = `http://127.0.0.1:${httpPort}`;
    const db = () => new Database(join(dir, "catalog.db"), { readonly: true });
    const q = <T>(sql: string): T[] => {
      const d = db();
      try {
        return d.prepare(sql).all() as T[];
      } finally {
        d.close();
      }
    };
    try {
      await daemon.waitForLine(/"msg":"pscsd started"/, 30_000);
      let full: { cause: string } | undefined;
      for (let i = 0; i < 240 && !full; i++) {
        await sleep(500);
        full = q<{ cause: string }>("SELECT cause FROM recording_gaps WHERE cause LIKE '%No space left%'")[0];
      }
      expect(full?.cause, "a gap names the full disk").toMatch(/No space left on device/);
      // Still up, and telling ops.
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      const health = (await (await client(url, { bearer: token }).request("GET", "/api/health")).json()) as {
        status: string;
        storage: { volume: string; low: boolean }[];
        cameras: { recording?: { state: string; lastError?: string } }[];
      };
      expect(health.status).not.toBe("ok");
      expect(health.storage.find((v) => v.volume === "recordings")?.low).toBe(true);
      expect(health.cameras.some((c) => /No space left/.test(c.recording?.lastError ?? ""))).toBe(true);
      expect(daemon.lines.some((l) => /"level":(40|50)/.test(l) && /No space left/.test(l))).toBe(true);
      // Room again: recording resumes on its own.
      const before = q<{ n: number }>("SELECT count(*) n FROM segments WHERE state = 'complete'")[0]?.n ?? 0;
      execFileSync("mount", ["-o", "remount,size=64m", rec]);
      let after = before;
      for (let i = 0; i < 60 && after <= before; i++) {
        await sleep(500);
        after = q<{ n: number }>("SELECT count(*) n FROM segments WHERE state = 'complete'")[0]?.n ?? 0;
      }
      expect(after).toBeGreaterThan(before);
      expect(daemon.child.exitCode).toBeNull();
    } finally {
      const { code } = await daemon.stop("SIGTERM", 15_000);
      expect(code).toBe(0);
    }
  }, 180_000);
});
