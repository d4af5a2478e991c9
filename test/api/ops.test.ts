import { execFile } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { writeDaemonConfig } from "../helpers/config.js";
import { freePort } from "../helpers/ports.js";
import { client, daemonDir, openLocalCatalog, startInProcess, TEST_AUTH } from "../helpers/pscsd.js";

const run = promisify(execFile);

async function opsToken(configFile: string): Promise<string> {
  const local = openLocalCatalog(configFile);
  const t = local.auth.createToken(
    { name: "monitor", role: "ops" },
    { actor: "local:test", role: "admin", client: "cli" },
  );
  local.close();
  return t.secret;
}

describe("metrics", () => {
  it("pass `promtool check metrics` and carry the PSCS gauges with camera labels", async () => {
    const d = await daemonDir();
    const token = await opsToken(d.configFile);
    const daemon = await startInProcess(d);
    try {
      const c = client(daemon.url, { bearer: token });
      await c.request("GET", "/api/health"); // so the HTTP counters have a routed sample
      const res = await c.request("GET", "/metrics");
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = await res.text();
      for (const line of [
        /^pscs_camera_up\{camera="cam1",required="false"\} 0$/m,
        /^pscs_camera_state\{camera="cam1",state="(connecting|offline)"\} 1$/m,
        /^pscs_audit_chain_ok 1$/m,
        /^pscs_audit_entries \d+$/m,
        /^pscs_storage_free_bytes\{volume="recordings"\} \d+/m,
        /^pscs_http_requests_total\{method="GET",route="\/api\/health",status="200"\} 1$/m,
        /^pscsd_process_resident_memory_bytes \d+/m,
      ]) {
        expect(text).toMatch(line);
      }
      const dir = join(d.dir, "metrics.txt");
      writeFileSync(dir, text);
      const check = await run("/bin/sh", ["-c", `promtool check metrics < ${dir}`]).then(
        (r) => ({ code: 0, out: r.stdout + r.stderr }),
        (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
      );
      expect(check).toEqual({ code: 0, out: "" });
    } finally {
      await daemon.stop();
    }
  });
});

describe("/readyz", () => {
  it("turns 503 while the catalog cannot be written (another connection holds its write lock), and back", async () => {
    const d = await daemonDir();
    const daemon = await startInProcess(d);
    const other = new Database(join(d.dir, "catalog.db"));
    try {
      expect((await fetch(`${daemon.url}/readyz`)).status).toBe(200);
      other.exec("BEGIN EXCLUSIVE");
      const res = await fetch(`${daemon.url}/readyz`);
      expect(res.status).toBe(503);
      const body = (await res.json()) as {
        ready: boolean;
        checks: Record<string, { ok: boolean; detail?: string }>;
      };
      expect(body.ready).toBe(false);
      expect(body.checks.catalog).toMatchObject({
        ok: false,
        detail: expect.stringMatching(/catalog not writable: database is locked/),
      });
      expect(body.checks.storage?.ok).toBe(true);
      other.exec("ROLLBACK");
      expect((await fetch(`${daemon.url}/readyz`)).status).toBe(200);
      // Liveness never looked at the catalog.
      expect((await fetch(`${daemon.url}/healthz`)).status).toBe(200);
    } finally {
      other.close();
      await daemon.stop();
    }
  });

  it("turns 503 when a storage directory cannot be written", async () => {
    const d = await daemonDir();
    const daemon = await startInProcess(d);
    try {
      rmSync(join(d.dir, "rec"), { recursive: true, force: true });
      writeFileSync(join(d.dir, "rec"), "a file where the recordings directory should be");
      const res = await fetch(`${daemon.url}/readyz`);
      expect(res.status).toBe(503);
      expect(
        ((await res.json()) as { checks: { storage: { detail: string } } }).checks.storage.detail,
      ).toMatch(/recordings .*(EEXIST|ENOTDIR)/);
    } finally {
      await daemon.stop();
    }
  });

  it("turns 503 while a camera configured as required is not connected", async () => {
    const d = await daemonDir();
    writeDaemonConfig(d.dir, {
      httpPort: d.httpPort,
      cameras: [{ id: "gate", port: await freePort(), required: true }],
      onvif: { requestTimeoutSeconds: 1 },
      extra: { auth: TEST_AUTH },
    });
    const daemon = await startInProcess(d);
    try {
      const res = await fetch(`${daemon.url}/readyz`);
      expect(res.status).toBe(503);
      expect(((await res.json()) as { checks: { cameras: { detail: string } } }).checks.cameras.detail).toBe(
        "required camera(s) not connected: gate",
      );
    } finally {
      await daemon.stop();
    }
  });
});

describe("/api/health", () => {
  it("reports cameras, storage with days left, purge schedule, audit chain, version and uptime; 'failing' with a broken chain", async () => {
    const d = await daemonDir();
    const token = await opsToken(d.configFile);
    let daemon = await startInProcess(d);
    const c = () => client(daemon.url, { bearer: token });
    try {
      const ok = (await (await c().request("GET", "/api/health")).json()) as Record<string, unknown>;
      expect(ok).toMatchObject({
        status: "degraded", // the optional camera is not there
        version: expect.any(String),
        uptimeSeconds: expect.any(Number),
        cameras: [{ id: "cam1", required: false, state: expect.stringMatching(/connecting|offline/) }],
        storage: [
          { volume: "recordings", freeBytes: expect.any(Number), low: false },
          { volume: "evidence", freeBytes: expect.any(Number), low: false },
        ],
        purge: { retentionDays: 30, schedule: "0 * * * *" },
        audit: { chain: { result: { ok: true } } },
      });
      await daemon.stop();
      const db = new Database(join(d.dir, "catalog.db"));
      db.exec("DROP TRIGGER audit_log_no_update; UPDATE audit_log SET actor = 'user:mallory' WHERE seq = 1;");
      db.close();
      daemon = await startInProcess(d);
      const broken = (await (await c().request("GET", "/api/health")).json()) as Record<string, unknown>;
      expect(broken).toMatchObject({
        status: "failing",
        audit: { chain: { result: { ok: false, brokenSeq: 1 } } },
      });
      expect(await (await c().request("GET", "/metrics")).text()).toMatch(/^pscs_audit_chain_ok 0$/m);
    } finally {
      await daemon.stop();
    }
  });
});
