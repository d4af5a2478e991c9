import { createHash } from "node:crypto";
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { networkInterfaces } from "node:os";
import type { Logger } from "../../src/log/logger.js";
import type { PtzModel } from "../ptz.js";
import { HttpDigestVerifier, UsernameTokenVerifier } from "./auth.js";
import type { CameraIdentity, Operation } from "./context.js";
import { deviceOperations, deviceScopes } from "./device-service.js";
import type { Discoverable } from "./discovery.js";
import { mediaOperations } from "./media-service.js";
import { ptzOperations } from "./ptz-service.js";
import { envelope, faultContentType, faultEnvelope, parseRequest, SoapFault } from "./soap.js";

/**
 * One simulated camera's ONVIF endpoint: SOAP 1.2 over HTTP on its own port (a SOAP 1.1 request is
 * answered with SOAP 1.2's VersionMismatch fault, in SOAP 1.1).
 * Operations are found by the Body element's local name whatever the path, as lenient cameras do;
 * every answer is a SOAP envelope (a response or a fault), never a dropped connection or a crash.
 */

export type AuthMode = "wsse" | "digest";

export interface OnvifServerOptions {
  name: string;
  /** Address to bind; also the host in URIs when a request carries no Host header. */
  host: string;
  port: number;
  user: string;
  password: string;
  authMode?: AuthMode;
  /** Port of this camera's RTSP server; its host is the one the client reached us on. */
  rtspPort: number;
  rtspPath?: string;
  width: number;
  height: number;
  fps: number;
  ptz: PtzModel;
  log: Logger;
  clockSkewMs?: number;
  /** How far a UsernameToken's Created may be from the camera's clock. */
  allowedSkewMs?: number;
  /** Produces a JPEG of the current view for GetSnapshotUri's address. */
  snapshot?: () => Promise<Buffer>;
}

/** Every operation by its name, with the namespace prefix of its service for the response element. */
const OPERATIONS = new Map<string, { prefix: string; op: Operation }>();
for (const [prefix, ops] of [
  ["tds", deviceOperations],
  ["trt", mediaOperations],
  ["tptz", ptzOperations],
] as const) {
  for (const [name, op] of Object.entries(ops)) OPERATIONS.set(name, { prefix, op });
}
/** The ONVIF core spec lets a client learn the time before it can authenticate (clock-skewed digests). */
const UNAUTHENTICATED = new Set(["GetSystemDateAndTime"]);
const MAX_BODY = 1024 * 1024;
/** A client that stalls mid-request is cut off rather than holding a socket forever. */
const REQUEST_TIMEOUT_MS = 30_000;

export class OnvifServer {
  private server: http.Server;
  private readonly sockets = new Set<Socket>();
  private skewMs: number;
  private rtspPath: string;
  private readonly wsse: UsernameTokenVerifier;
  private readonly digest: HttpDigestVerifier;
  private boundPort: number;
  private online = false;
  /** Stable per camera name and distinct between names, as a real serial number is. */
  private readonly serialNumber: string;

  constructor(private readonly opts: OnvifServerOptions) {
    this.skewMs = opts.clockSkewMs ?? 0;
    this.rtspPath = opts.rtspPath ?? "/stream";
    this.serialNumber = `SIM-${createHash("sha256").update(opts.name).digest("hex").slice(0, 10).toUpperCase()}`;
    this.boundPort = opts.port;
    const creds = { user: opts.user, password: opts.password };
    this.wsse = new UsernameTokenVerifier(creds, opts.allowedSkewMs ?? 300_000);
    this.digest = new HttpDigestVerifier(creds);
    this.server = this.createServer();
  }

  get port(): number {
    return this.boundPort;
  }

  get isOnline(): boolean {
    return this.online;
  }

  get clockSkewMs(): number {
    return this.skewMs;
  }

  /** The camera's clock: ours plus the configured skew. */
  clock = (): number => Date.now() + this.skewMs;

  setClockSkew(ms: number): void {
    this.skewMs = ms;
  }

  /** What WS-Discovery says about this camera; undefined while it is off the network. */
  discoverable(): Discoverable | undefined {
    if (!this.online) return undefined;
    const { host, name } = this.opts;
    // Unique per device, stable across restarts: two simulators' cameras of one name are two devices.
    const h = createHash("sha256").update(`${name}@${host}:${this.boundPort}`).digest("hex");
    const urn = `urn:uuid:${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
    // Bound to every address, it is reachable at each of them (the prober picks the one it can reach).
    const hosts =
      host === "0.0.0.0"
        ? Object.values(networkInterfaces())
            .flat()
            .flatMap((a) => (a && a.family === "IPv4" ? [a.address] : []))
        : [host];
    return {
      urn,
      scopes: deviceScopes(name).map(([, item]) => item),
      xaddrs: hosts.map((a) => `http://${a}:${this.boundPort}/onvif/device_service`),
    };
  }

  /** The path GetStreamUri hands out from now on. */
  setRtspPath(path: string): void {
    this.rtspPath = path;
  }

  get streamPath(): string {
    return this.rtspPath;
  }

  async start(): Promise<void> {
    if (this.online) return;
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.boundPort, this.opts.host, () => {
        this.server.off("error", reject);
        this.boundPort = (this.server.address() as AddressInfo).port;
        resolve();
      });
    });
    this.online = true;
  }

  async stop(): Promise<void> {
    if (!this.online) return;
    this.online = false;
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
  }

  /** "Drop ONVIF" fault: closes the port (connection refused) or opens it again. */
  async setOnline(on: boolean): Promise<void> {
    if (on === this.online) return;
    if (!on) return this.stop();
    this.server = this.createServer();
    await this.start();
  }

  private createServer(): http.Server {
    const server = http.createServer({ requestTimeout: REQUEST_TIMEOUT_MS }, (req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        this.opts.log.error({ err: e, path: req.url }, "ONVIF request failed");
        if (!res.headersSent)
          this.send(res, 500, faultEnvelope(new SoapFault("env:Receiver", ["ter:Action"], "internal error")));
        else res.destroy();
      });
    });
    server.on("connection", (s) => {
      this.sockets.add(s);
      s.once("close", () => this.sockets.delete(s));
    });
    return server;
  }

  private send(
    res: http.ServerResponse,
    status: number,
    xml: string,
    headers: Record<string, string> = {},
  ): void {
    res.writeHead(status, { "content-type": "application/soap+xml; charset=utf-8", ...headers }).end(xml);
  }

  private identity(req: http.IncomingMessage): CameraIdentity {
    // URIs name the host the client used to reach us: a camera behind NAT or on 0.0.0.0 must hand out
    // an address that works for that client.
    const hostHeader = req.headers.host ?? `${this.opts.host}:${this.boundPort}`;
    const host = hostHeader.replace(/:\d+$/, "");
    const o = this.opts;
    return {
      name: o.name,
      serialNumber: this.serialNumber,
      width: o.width,
      height: o.height,
      fps: o.fps,
      ptz: o.ptz,
      clock: this.clock,
      xaddr: (service) => `http://${hostHeader}/onvif/${service}_service`,
      rtspUri: () => `rtsp://${host}:${o.rtspPort}${this.rtspPath}`,
      snapshotUri: () => `http://${hostHeader}/onvif/snapshot.jpg`,
    };
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.method === "GET" && req.url?.startsWith("/onvif/snapshot.jpg")) return this.snapshot(req, res);
    if (req.method !== "POST") {
      return this.send(
        res,
        405,
        faultEnvelope(new SoapFault("env:Sender", ["ter:InvalidArgVal"], "ONVIF takes SOAP over POST")),
        { allow: "POST" },
      );
    }
    let xml: string;
    try {
      xml = await readBody(req);
    } catch (e) {
      if (e instanceof SoapFault) return this.send(res, e.httpStatus, faultEnvelope(e));
      throw e;
    }
    let action: string | undefined;
    try {
      const request = parseRequest(xml);
      action = request.action;
      const found = OPERATIONS.get(request.action);
      if (!UNAUTHENTICATED.has(request.action)) {
        if (this.opts.authMode === "digest") {
          if (!this.digest.verify(req.headers.authorization, req.method, req.url ?? "")) {
            this.opts.log.debug({ action, path: req.url, status: 401 }, "ONVIF request needs HTTP Digest");
            return this.send(
              res,
              401,
              faultEnvelope(new SoapFault("env:Sender", ["ter:NotAuthorized"], "Sender not Authorized", 401)),
              { "www-authenticate": this.digest.challenge() },
            );
          }
        } else {
          this.wsse.verify(request.header, this.clock());
        }
      }
      if (!found) {
        throw new SoapFault(
          "env:Receiver",
          ["ter:ActionNotSupported"],
          `Optional Action Not Implemented: ${request.action}`,
        );
      }
      const inner = found.op(request, this.identity(req));
      this.opts.log.debug({ action, path: req.url, status: 200 }, "ONVIF request");
      this.send(
        res,
        200,
        envelope(
          `<${found.prefix}:${request.action}Response>${inner}</${found.prefix}:${request.action}Response>`,
        ),
      );
    } catch (e) {
      if (!(e instanceof SoapFault)) throw e;
      this.opts.log.debug(
        { action, path: req.url, status: e.httpStatus, fault: e.subcodes, reason: e.message },
        "ONVIF fault",
      );
      this.send(res, e.httpStatus, faultEnvelope(e), { "content-type": faultContentType(e) });
    }
  }

  private async snapshot(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    // Snapshots are plain HTTP GETs: HTTP Digest is the only scheme that can protect them, in both modes.
    if (!this.digest.verify(req.headers.authorization, "GET", req.url ?? "")) {
      res.writeHead(401, { "www-authenticate": this.digest.challenge() }).end();
      return;
    }
    if (!this.opts.snapshot) {
      res.writeHead(503, { "content-type": "text/plain" }).end("no snapshot source");
      return;
    }
    let jpeg: Buffer;
    try {
      jpeg = await this.opts.snapshot();
    } catch (err) {
      this.opts.log.warn({ err }, "snapshot failed");
      res.writeHead(503, { "content-type": "text/plain" }).end("snapshot failed");
      return;
    }
    res.writeHead(200, { "content-type": "image/jpeg", "content-length": jpeg.length }).end(jpeg);
  }
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new SoapFault("env:Sender", ["ter:InvalidArgVal"], `request over ${MAX_BODY} bytes`, 413));
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}
