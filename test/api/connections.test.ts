import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { Pscsd } from "../../src/compose/daemon.js";
import { freePort } from "../helpers/ports.js";
import {
  daemonDir,
  type LocalCatalog,
  login,
  openLocalCatalog,
  seedSegment,
  seedUsers,
  startInProcess,
  type TestDaemonDir,
} from "../helpers/pscsd.js";

/**
 * Sockets as a resource a caller holds open, over real TCP against an in-process pscsd: one address
 * cannot hold more than http.maxConnectionsPerAddress, all together no more than http.maxConnections,
 * a client that sends its headers or body too slowly is closed with a 408, and a download that takes
 * longer than requestTimeoutSeconds to read is not cut.
 */

const PER_ADDRESS = 8;
const MAX = 20;
const HEADERS_S = 0.5;
const REQUEST_S = 1;
let caps: { d: TestDaemonDir; daemon: Pscsd };
let timeouts: { d: TestDaemonDir; daemon: Pscsd };
let local: LocalCatalog;
const sockets: Socket[] = [];

async function daemonWith(http: Record<string, unknown>): Promise<{ d: TestDaemonDir; daemon: Pscsd }> {
  const port = await freePort();
  const d = await daemonDir({}, { http: { host: "127.0.0.1", port, ...http } });
  return { d, daemon: await startInProcess(d) };
}

beforeAll(async () => {
  // Long timeouts here, so idle sockets are closed by the caps alone.
  caps = await daemonWith({
    maxConnections: MAX,
    maxConnectionsPerAddress: PER_ADDRESS,
    headersTimeoutSeconds: 30,
    requestTimeoutSeconds: 30,
  });
  timeouts = await daemonWith({ headersTimeoutSeconds: HEADERS_S, requestTimeoutSeconds: REQUEST_S });
  // 16 MB: several times what loopback socket buffers hold, so the server is still sending late.
  const big = join(timeouts.d.dir, "big.ts");
  writeFileSync(big, randomBytes(16 * 1024 * 1024));
  seedSegment(timeouts.d, big);
  local = openLocalCatalog(timeouts.d.configFile);
  await seedUsers(local, { records1: ["records"] });
  const capsLocal = openLocalCatalog(caps.d.configFile);
  await seedUsers(capsLocal, { disp1: ["dispatcher"] });
  capsLocal.close();
}, 60_000);
// Each test starts with every slot free, whatever the previous one left open.
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await new Promise((r) => setTimeout(r, 100));
});
afterAll(async () => {
  await caps?.daemon.stop();
  await timeouts?.daemon.stop();
  local?.close();
});

/** An idle TCP socket to `url` from `from` (any 127/8 address is loopback on Linux). */
function idle(url: string, from: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect({ host: hostname, port: Number(port), localAddress: from }, () => resolve(s));
    s.resume(); // read, so a close by the server is seen as one
    s.once("error", reject);
    s.on("error", () => {});
    sockets.push(s);
  });
}

const isOpen = (s: Socket) => !s.destroyed && !s.readableEnded;

async function until(what: string, f: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** GET /readyz on a connection of its own; resolves with the status and how long it took. */
function readyz(url: string): Promise<{ status: number; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const req = request(new URL("/readyz", url), { agent: false, timeout: 5_000 }, (res) => {
      res.resume();
      res.once("end", () => resolve({ status: res.statusCode ?? 0, ms: Date.now() - t0 }));
    });
    req.once("timeout", () => req.destroy(new Error("/readyz did not answer in 5 s")));
    req.once("error", reject);
    req.end();
  });
}

/** Writes `head` on a raw socket, then one more byte of `drip` every 100 ms; resolves with what came back. */
function slowClient(url: string, head: string, drip: string): Promise<{ reply: string; ms: number }> {
  const { hostname, port } = new URL(url);
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const s = connect({ host: hostname, port: Number(port) }, () => s.write(head));
    sockets.push(s);
    let reply = "";
    let i = 0;
    const tick = setInterval(() => {
      if (i < drip.length && s.writable) s.write(drip[i++] as string);
    }, 100);
    const giveUp = setTimeout(() => s.destroy(new Error("still open after 5 s")), 5_000);
    s.on("data", (c: Buffer) => {
      reply += c.toString();
    });
    s.once("close", () => {
      clearInterval(tick);
      clearTimeout(giveUp);
      resolve({ reply, ms: Date.now() - t0 });
    });
    s.once("error", (e) => {
      clearInterval(tick);
      clearTimeout(giveUp);
      reject(e);
    });
  });
}

/** A self-signed certificate for 127.0.0.1, made by openssl in `dir`. */
function selfSigned(dir: string): { cert: string; key: string } {
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  execFileSync(
    "openssl",
    [
      ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
      ...["-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1"],
    ],
    { stdio: "ignore" },
  );
  return { cert, key };
}

describe("connection caps", () => {
  it("keeps one address to maxConnectionsPerAddress; /readyz from another answers at once", async () => {
    const held = await Promise.all(Array.from({ length: 40 }, () => idle(caps.daemon.url, "127.0.0.2")));
    await until(
      "the sockets over the cap to be closed",
      () => held.filter(isOpen).length <= PER_ADDRESS,
      5_000,
    );
    await new Promise((r) => setTimeout(r, 200));
    expect(held.filter(isOpen).length).toBe(PER_ADDRESS);
    const r = await readyz(caps.daemon.url);
    expect([200, 503]).toContain(r.status);
    expect(r.ms).toBeLessThan(1_000);
  });

  it("holds no more than maxConnections sockets across addresses", async () => {
    const from = ["127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6", "127.0.0.7"];
    const held: Socket[] = [];
    for (const a of from) {
      for (let i = 0; i < PER_ADDRESS; i++) held.push(await idle(caps.daemon.url, a));
    }
    await until(
      "the sockets over maxConnections to be closed",
      () => held.filter(isOpen).length <= MAX,
      5_000,
    );
    await new Promise((r) => setTimeout(r, 200));
    expect(held.filter(isOpen).length).toBe(MAX);
    for (const s of held) s.destroy();
    // Slots are given back as sockets close.
    await new Promise((r) => setTimeout(r, 200));
    expect([200, 503]).toContain((await readyz(caps.daemon.url)).status);
  });
});

describe("upgraded sockets", () => {
  it("a live WebSocket still counts in its address's cap once upgraded", async () => {
    const { cookie } = await login(caps.daemon.url, "disp1");
    const url = `${caps.daemon.url.replace(/^http/, "ws")}/api/live/cameras/cam1/mse`;
    const live = await Promise.all(
      Array.from(
        { length: PER_ADDRESS },
        () =>
          new Promise<WebSocket>((resolve, reject) => {
            const ws = new WebSocket(url, {
              headers: { cookie: cookie ?? "" },
              origin: caps.daemon.url,
              localAddress: "127.0.0.9",
            });
            ws.once("open", () => resolve(ws));
            ws.once("error", reject);
          }),
      ),
    );
    try {
      const more = await idle(caps.daemon.url, "127.0.0.9");
      await until("the socket over the cap to be closed", () => !isOpen(more), 5_000);
      expect(live.every((ws) => ws.readyState === WebSocket.OPEN)).toBe(true);
    } finally {
      await Promise.all(
        live.map(
          (ws) =>
            new Promise((r) => {
              ws.once("close", r);
              ws.close();
            }),
        ),
      );
    }
    // Their slots are given back as they close.
    const after = await idle(caps.daemon.url, "127.0.0.9");
    await new Promise((r) => setTimeout(r, 200));
    expect(isOpen(after)).toBe(true);
  });
});

describe("slow clients", () => {
  it("closes a client that sends its headers too slowly, with a 408", async () => {
    const r = await slowClient(
      timeouts.daemon.url,
      "GET /readyz HTTP/1.1\r\n",
      "Host: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaa",
    );
    expect(r.reply).toMatch(/^HTTP\/1\.1 408 /);
    expect(r.ms).toBeGreaterThanOrEqual(HEADERS_S * 1000 - 50);
    expect(r.ms).toBeLessThan(HEADERS_S * 1000 + 1_500);
  });

  it("closes a socket that sends nothing within headersTimeoutSeconds", async () => {
    const r = await slowClient(timeouts.daemon.url, "", "");
    expect(r.ms).toBeGreaterThanOrEqual(HEADERS_S * 1000 - 50);
    expect(r.ms).toBeLessThan(HEADERS_S * 1000 + 1_500);
  });

  it("closes a TLS socket that never starts its handshake within headersTimeoutSeconds", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pscs-tls-"));
    const tls = await daemonWith({
      tls: selfSigned(dir),
      headersTimeoutSeconds: HEADERS_S,
      requestTimeoutSeconds: REQUEST_S,
    });
    try {
      expect(tls.daemon.url).toMatch(/^https:/);
      const r = await slowClient(tls.daemon.url, "", "");
      expect(r.ms).toBeGreaterThanOrEqual(HEADERS_S * 1000 - 50);
      expect(r.ms).toBeLessThan(HEADERS_S * 1000 + 1_500);
    } finally {
      await tls.daemon.stop();
    }
  }, 30_000);

  it("closes a sign-in whose body arrives too slowly, with a 408", async () => {
    const body = JSON.stringify({ username: "records1", password: "x".repeat(40) });
    const head = `POST /api/session HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
    const r = await slowClient(timeouts.daemon.url, head, body);
    expect(r.reply).toMatch(/^HTTP\/1\.1 408 /);
    expect(r.ms).toBeGreaterThanOrEqual(REQUEST_S * 1000 - 50);
    expect(r.ms).toBeLessThan(REQUEST_S * 1000 + 1_500);
  });

  it("does not cut a segment download that takes longer than requestTimeoutSeconds to read", async () => {
    const c = await login(timeouts.daemon.url, "records1");
    const t0 = Date.now();
    const got = await new Promise<number>((resolve, reject) => {
      const req = request(new URL("/api/segments/1/file?purpose=timeouts", timeouts.daemon.url), {
        headers: { cookie: c.cookie ?? "" },
      });
      req.once("response", (res) => {
        if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
        let n = 0;
        // About 4 MB/s: the 16 MB take ~4 s, four times requestTimeoutSeconds.
        res.on("data", (chunk: Buffer) => {
          n += chunk.length;
          res.pause();
          setTimeout(() => res.resume(), Math.ceil(chunk.length / 4096));
        });
        res.once("end", () => resolve(n));
        res.once("error", reject);
      });
      req.once("error", reject);
      req.end();
    });
    expect(got).toBe(16 * 1024 * 1024);
    expect(Date.now() - t0).toBeGreaterThan(2 * REQUEST_S * 1000);
  }, 30_000);
});
