import http from "node:http";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Pscsd } from "../../src/compose/daemon.js";
import { client, daemonDir, login, openLocalCatalog, seedUsers, startInProcess } from "../helpers/pscsd.js";

// The daemon runs in this process, so a body it parses shows as a stall of this event loop.

let daemon: Pscsd;
let opsToken: string;
let daemonDirFile: string;

beforeAll(async () => {
  const d = await daemonDir();
  daemonDirFile = d.configFile;
  const local = openLocalCatalog(d.configFile);
  await seedUsers(local, { admin1: ["admin"] });
  opsToken = (
    await local.auth.createToken(
      { name: "monitor", role: "ops" },
      { actor: "local:test", role: "admin", client: "cli" },
    )
  ).secret;
  local.close();
  daemon = await startInProcess(d);
});
afterAll(async () => {
  await daemon?.stop();
});

/** About 20 MB of nested JSON (a parse of a second or more here). */
function bigNestedJson(): Buffer {
  const item = '{"camera":"cam1","from":[{"a":[{"b":[1,2,3]}]}]}';
  return Buffer.from(`{"ranges":[${Array.from({ length: 400_000 }, () => item).join(",")}]}`);
}

/** Posts `body` and resolves at the answer's status line (the upload may still be going). */
function post(url: string, path: string, body: Buffer, headers: Record<string, string>) {
  const start = performance.now();
  return new Promise<{ status: number; ms: number; text: string }>((resolve, reject) => {
    const req = http.request(new URL(path, url), {
      method: "POST",
      agent: false,
      headers: { "content-type": "application/json", "content-length": String(body.length), ...headers },
    });
    req.on("response", (res) => {
      const ms = performance.now() - start;
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        text += c;
      });
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, ms, text });
        req.destroy();
      });
    });
    // The server may answer and close before the upload ends; the answer is what counts.
    req.on("error", (e: NodeJS.ErrnoException) =>
      e.code === "EPIPE" || e.code === "ECONNRESET" ? undefined : reject(e),
    );
    req.end(body);
  });
}

describe("authorization before the body", () => {
  it("an ops token posting 20 MB of nested JSON to /api/holds gets its 403 fast, the body never parsed", async () => {
    const body = bigNestedJson();
    expect(body.length).toBeGreaterThan(19_000_000);
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const res = await post(daemon.url, "/api/holds", body, { authorization: `Bearer ${opsToken}` });
    loop.disable();
    expect(res.status).toBe(403);
    expect(res.text).toMatch(/holds\.request/);
    // A parse of this body blocks the loop for a second or more; an unparsed one costs a few ms.
    expect(loop.max / 1e6).toBeLessThan(250);
    expect(res.ms).toBeLessThan(2_000);
  });

  it("closes a kept-alive connection refused mid-upload, rather than drain the rest of the body", async () => {
    const agent = new http.Agent({ keepAlive: true });
    try {
      const answer = await new Promise<{ status?: number; connection?: string; closed: boolean }>(
        (resolve, reject) => {
          const req = http.request(new URL("/api/holds", daemon.url), {
            method: "POST",
            agent,
            headers: { "content-type": "application/json", authorization: `Bearer ${opsToken}` },
          });
          req.on("error", (e: NodeJS.ErrnoException) =>
            e.code === "EPIPE" || e.code === "ECONNRESET" ? undefined : reject(e),
          );
          // A server that reads the body before refusing never answers an upload that never ends.
          const unanswered = setTimeout(() => {
            req.destroy();
            resolve({ closed: false });
          }, 5_000);
          req.on("response", (res) => {
            clearTimeout(unanswered);
            res.resume();
            const seen = { status: res.statusCode, connection: res.headers.connection };
            const timer = setTimeout(() => {
              req.destroy();
              resolve({ ...seen, closed: false });
            }, 2_000);
            req.socket?.once("close", () => {
              clearTimeout(timer);
              resolve({ ...seen, closed: true });
            });
          });
          // A slow upload that never ends on its own: only the server closing stops it.
          const chunk = Buffer.alloc(64 * 1024, 0x20);
          const pump = setInterval(() => {
            if (req.destroyed) clearInterval(pump);
            else req.write(chunk);
          }, 20);
          req.once("close", () => clearInterval(pump));
        },
      );
      expect(answer).toEqual({ status: 403, connection: "close", closed: true });
    } finally {
      agent.destroy();
    }
  });

  it("anonymous: 401 before the body; a body above 64 KiB on a route that takes no scan is 413 after authorization", async () => {
    const anon = await post(daemon.url, "/api/holds", bigNestedJson(), {});
    expect(anon.status).toBe(401);
    const admin = await login(daemon.url, "admin1");
    const big = JSON.stringify({ displayName: "x".repeat(100_000) });
    const res = await admin.request("PATCH", "/api/users/admin1", big);
    expect(res.status).toBe(413);
    const ops = await client(daemon.url, { bearer: opsToken }).request("PATCH", "/api/users/admin1", big);
    expect(ops.status).toBe(403);
  });
});

describe("public routes and bad credentials", () => {
  it("a bad or revoked bearer token does not turn /healthz or /readyz into a 401; it still does on a protected route", async () => {
    const bad = client(daemon.url, {
      bearer: "pscs_t_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    });
    expect((await bad.request("GET", "/healthz")).status).toBe(200);
    expect((await bad.request("GET", "/readyz")).status).toBe(200);
    const garbled = await fetch(`${daemon.url}/healthz`, {
      headers: { authorization: "Basic Zm9vOmJhcg==" },
    });
    expect(garbled.status).toBe(200);
    const health = await bad.request("GET", "/api/health");
    expect(health.status).toBe(401);
    expect(((await health.json()) as { detail: string }).detail).toMatch(/bearer token/);
  });

  it("a revoked token: /healthz and /readyz still answer 200, a protected route 401", async () => {
    const local = openLocalCatalog(daemonDirFile);
    const admin = { actor: "local:test", role: "admin", client: "cli" };
    const made = await local.auth.createToken({ name: "old-monitor", role: "ops" }, admin);
    const revoked = client(daemon.url, { bearer: made.secret });
    expect((await revoked.request("GET", "/api/health")).status, "works before it is revoked").toBe(200);
    await local.auth.revokeToken(made.token.id, admin);
    local.close();
    expect((await revoked.request("GET", "/healthz")).status).toBe(200);
    expect((await revoked.request("GET", "/readyz")).status).toBe(200);
    expect((await revoked.request("GET", "/api/health")).status).toBe(401);
  });
});
