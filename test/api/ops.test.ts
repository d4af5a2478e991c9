import { execFile } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
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
  const t = await local.auth.createToken(
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
        /^pscs_recorder_state\{camera="cam1",state="(connecting|offline)"\} 1$/m,
        /^pscs_recorded_segments_total\{camera="cam1"\} 0$/m,
        /^pscs_audit_entries \d+$/m,
        /^pscs_storage_free_bytes\{volume="recordings"\} \d+/m,
        /^pscs_http_requests_total\{method="GET",route="\/api\/health",status="200"\} 1$/m,
        /^pscsd_process_resident_memory_bytes \d+/m,
      ]) {
        expect(text).toMatch(line);
      }
      // The loop's busy time grows with the work done between two scrapes; no lag histogram (its
      // timer would wake pscsd every period).
      const busy = (t: string) => Number(/^pscs_event_loop_busy_seconds_total (\S+)$/m.exec(t)?.[1]);
      expect(busy(text)).toBeGreaterThan(0);
      const until = performance.now() + 50;
      while (performance.now() < until); // 50 ms of loop time, busy on purpose
      expect(busy(await (await c.request("GET", "/metrics")).text()) - busy(text)).toBeGreaterThanOrEqual(
        0.05,
      );
      expect(text).not.toMatch(/eventloop_lag_p99/);
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
        exports: { on: true },
      });
      // Each reason it is not ok is named, and nothing else is.
      expect(ok.alerts).toEqual([
        {
          severity: "degraded",
          subject: "camera:cam1",
          text: expect.stringMatching(/^cam1 is (connecting|offline)/),
        },
      ]);
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
      expect(broken.alerts).toContainEqual({
        severity: "failing",
        subject: "audit",
        text: expect.stringContaining("the audit chain is broken"),
      });
      expect(await (await c().request("GET", "/metrics")).text()).toMatch(/^pscs_audit_chain_ok 0$/m);
    } finally {
      await daemon.stop();
    }
  });
});

describe("HTTP basics", () => {
  it("sends security headers and a request id (echoing a well-formed one), and serves readable docs", async () => {
    const d = await daemonDir();
    const daemon = await startInProcess(d);
    try {
      const res = await fetch(`${daemon.url}/healthz`, { headers: { "x-request-id": "abc-123" } });
      expect(res.headers.get("x-request-id")).toBe("abc-123");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("x-frame-options")).toBe("SAMEORIGIN");
      expect(res.headers.get("content-security-policy")).toMatch(/default-src 'self'/);
      expect(res.headers.get("x-powered-by")).toBeNull();
      const odd = await fetch(`${daemon.url}/healthz`, { headers: { "x-request-id": "<script>" } });
      expect(odd.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
      const docs = await (await fetch(`${daemon.url}/api/docs`)).text();
      const doc = (await (await fetch(`${daemon.url}/api/openapi.json`)).json()) as {
        openapi: string;
        paths: Record<string, Record<string, { operationId: string }>>;
      };
      expect(doc.openapi).toBe("3.1.0");
      for (const ops of Object.values(doc.paths))
        for (const op of Object.values(ops)) expect(docs).toContain(`id="${op.operationId}"`);
    } finally {
      await daemon.stop();
    }
  });
});

describe("audit API and configuration changes", () => {
  it("records a configuration change at the next start, and lets an auditor filter and export the log", async () => {
    const d = await daemonDir();
    let daemon = await startInProcess(d);
    await daemon.stop();
    // Edit one section of the file, as an administrator would, and start again.
    const text = readFileSync(d.configFile, "utf8");
    writeFileSync(d.configFile, text.replace("scryptLogN: 10", "scryptLogN: 11"));
    const local = openLocalCatalog(d.configFile);
    const token = await local.auth.createToken(
      { name: "aud", role: "auditor" },
      { actor: "local:test", role: "admin", client: "cli" },
    );
    local.close();
    daemon = await startInProcess(d);
    try {
      const c = client(daemon.url, { bearer: token.secret });
      const list = (await (await c.request("GET", "/api/audit?action=config.&order=desc")).json()) as {
        entries: { action: string; actor: string; details: string }[];
      };
      expect(list.entries).toHaveLength(1);
      expect(list.entries[0]).toMatchObject({ action: "config.change", actor: "system" });
      expect(JSON.parse(list.entries[0]?.details ?? "{}").sections).toEqual(["auth"]);
      const starts = (await (await c.request("GET", "/api/audit?action=daemon.start")).json()) as {
        entries: unknown[];
      };
      expect(starts.entries).toHaveLength(2);
      const csv = await c.request("GET", "/api/audit/export?action=daemon.");
      expect(csv.headers.get("content-type")).toMatch(/^text\/csv/);
      expect(csv.headers.get("content-disposition")).toMatch(/^attachment; filename="?pscs-audit.csv"?$/);
      const lines = (await csv.text()).trim().split("\r\n");
      expect(lines[0]).toMatch(/^seq,at,actor/);
      expect(lines.slice(1).map((l) => l.split(",")[4])).toEqual([
        "daemon.start",
        "daemon.stop",
        "daemon.start",
      ]);
      const bad = await c.request("GET", "/api/audit?limit=5000");
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { errors: { field: string }[] }).errors[0]?.field).toBe("query.limit");
    } finally {
      await daemon.stop();
    }
  });
});
