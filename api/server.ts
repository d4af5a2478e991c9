import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import type { AddressInfo, Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Express } from "express";
import { endWithProblem, HttpProblem } from "./http/problem.js";

/**
 * pscsd's listening socket, HTTP or HTTPS: connection caps and slow-client timeouts, so no client
 * holds the server, and a prompt close, upgraded sockets included.
 */

export interface ListenOptions {
  host: string;
  port: number;
  tls?: { cert: string; key: string } | undefined;
  maxConnections: number;
  maxConnectionsPerAddress: number;
  headersTimeoutSeconds: number;
  requestTimeoutSeconds: number;
}

/** The routes a connection leaves HTTP by (WebSocket), answered on the raw socket. */
export interface Upgrades {
  /** Answers a request asking to upgrade its connection: upgrades it, or refuses it with a problem. */
  handle(req: http.IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Ends every upgraded connection (pscsd stopping); Node's closeAllConnections leaves them open. */
  close(): Promise<void>;
}

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

/** Binds the app; resolves once listening, rejects with the bind error (EADDRINUSE, EACCES, …). */
export function listen(app: Express, opts: ListenOptions, upgrades?: Upgrades): Promise<RunningServer> {
  const headersTimeout = opts.headersTimeoutSeconds * 1000;
  const requestTimeout = opts.requestTimeoutSeconds * 1000;
  // Node bounds only receiving a request (headers, then the body), never sending the response.
  const limits: http.ServerOptions = {
    headersTimeout,
    requestTimeout,
    // The timeouts are checked on this tick: at Node's 30 s, a 10 s headers timeout could run to 40 s.
    // Twice the headers timeout (20 s) closes a slow client within three times its limit and costs an
    // idle pscsd one wake-up a minute more than Node's default; each costs 0.2-0.4 ms (BENCHMARKS.md).
    connectionsCheckingInterval: Math.max(50, Math.min(headersTimeout * 2, 30_000)),
  };
  const server = opts.tls
    ? https.createServer(
        {
          ...limits,
          // Before the handshake no HTTP timeout runs; TLS's own default would hold a silent socket 120 s.
          handshakeTimeout: headersTimeout,
          cert: readFileSync(opts.tls.cert),
          key: readFileSync(opts.tls.key),
        },
        app,
      )
    : http.createServer(limits, app);
  // Invariant: pscsd holds at most maxConnections sockets, at most maxConnectionsPerAddress per client address.
  server.maxConnections = opts.maxConnections;
  server.on("connection", capPerAddress(opts.maxConnectionsPerAddress));
  server.on("clientError", answerClientError);
  // An upgraded socket stays the server's connection: it still counts in maxConnections and its address's cap.
  if (upgrades) server.on("upgrade", (req, socket, head) => upgrades.handle(req, socket, head));
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      server.off("error", reject);
      const addr = server.address() as AddressInfo;
      const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
      resolve({
        url: `${opts.tls ? "https" : "http"}://${host}:${addr.port}`,
        close: async () => {
          await upgrades?.close();
          await new Promise<void>((done, fail) => {
            server.close((e) => (e ? fail(e) : done()));
            // Keep-alive sockets would hold close() open until they idle out; shutdown must be prompt.
            server.closeAllConnections();
          });
        },
      });
    });
  });
}

/**
 * Closes a new socket at once when its address already holds `cap`, so one client cannot hold every
 * slot of maxConnections and lock out the others (the loopback health checks among them).
 */
function capPerAddress(cap: number): (socket: Socket) => void {
  const open = new Map<string, number>();
  return (socket) => {
    const addr = socket.remoteAddress ?? "unknown";
    const held = open.get(addr) ?? 0;
    if (held >= cap) {
      socket.destroy();
      return;
    }
    open.set(addr, held + 1);
    socket.once("close", () => {
      const left = (open.get(addr) ?? 1) - 1;
      if (left > 0) open.set(addr, left);
      else open.delete(addr);
    });
  };
}

/**
 * Requests Node's HTTP parser refuses before express sees them (oversized headers or URL, broken
 * request line) still get a problem+json answer, like every other refusal of this API.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  // A TLS failure (handshake timeout, bad handshake) has no HTTP to answer in: an HTTP reply would wait
  // for a handshake that never comes and keep the socket open for good.
  if (err.code === "ECONNRESET" || /^ERR_(TLS|SSL)_/.test(err.code ?? "") || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, title, detail]: [number, string, string] =
    err.code === "HPE_HEADER_OVERFLOW"
      ? [431, "Request Header Fields Too Large", "request line or headers larger than the server accepts"]
      : err.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? [408, "Request Timeout", "the request did not arrive in time"]
        : [400, "Bad Request", "malformed HTTP request"];
  endWithProblem(socket, new HttpProblem(status, title, detail));
}
