import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import type { Express } from "express";

export interface ListenOptions {
  host: string;
  port: number;
  tls?: { cert: string; key: string } | undefined;
}

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

/** Binds the app; resolves once listening, rejects with the bind error (EADDRINUSE, EACCES, …). */
export function listen(app: Express, opts: ListenOptions): Promise<RunningServer> {
  const server = opts.tls
    ? https.createServer({ cert: readFileSync(opts.tls.cert), key: readFileSync(opts.tls.key) }, app)
    : http.createServer(app);
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      server.off("error", reject);
      const addr = server.address() as AddressInfo;
      const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
      resolve({
        url: `${opts.tls ? "https" : "http"}://${host}:${addr.port}`,
        close: () =>
          new Promise<void>((done, fail) => {
            server.close((e) => (e ? fail(e) : done()));
            // Keep-alive sockets would hold close() open until they idle out; shutdown must be prompt.
            server.closeAllConnections();
          }),
      });
    });
  });
}
