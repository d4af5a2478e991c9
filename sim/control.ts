import http from "node:http";
import type { AddressInfo } from "node:net";
import { z } from "zod";
import type { Logger } from "../src/log/logger.js";

/**
 * The simulator's fault-injection endpoint: tests, the demo and soak runs break cameras on command.
 * Loopback-only by default — it needs no auth because it controls a fixture, never a real camera.
 */

export interface FaultState {
  streaming: boolean;
  rtspAccepting: boolean;
  frozen: boolean;
  onvifOnline: boolean;
  /** UTC epoch ms when a reboot in progress ends, or null. */
  rebootingUntil: number | null;
  clockSkewMs: number;
  /** The RTSP path the stream is served at (and GetStreamUri names). */
  streamPath: string;
}

/** What a simulated camera exposes to the fault endpoint. */
export interface FaultTarget {
  readonly id: string;
  describe(): object;
  faults(): FaultState;
  setStreaming(on: boolean): Promise<void>;
  setRtspAccepting(on: boolean): Promise<void>;
  setStreamPath(path: string): Promise<void>;
  setFrozen(on: boolean): void;
  setOnvifOnline(on: boolean): Promise<void>;
  reboot(seconds: number): Promise<void>;
  setClockSkew(ms: number): void;
  /** Who is connected to its RTSP server: tests check how many sessions pscsd opens. */
  rtspClients(): Promise<{ connections: number; sessions: number }>;
}

const bodies = {
  stream: z.strictObject({ up: z.boolean() }),
  rtsp: z.strictObject({ accept: z.boolean() }),
  path: z.strictObject({ path: z.string().regex(/^\/[\w\-./]{0,100}$/, "an RTSP path such as /stream") }),
  freeze: z.strictObject({ on: z.boolean() }),
  onvif: z.strictObject({ up: z.boolean() }),
  reboot: z.strictObject({ seconds: z.number().min(0).max(3600) }),
  clock: z.strictObject({
    // Up to a century either way: a camera whose clock reset to 1970 is 56 years off.
    skewMs: z
      .int()
      .min(-86_400_000 * 36_525)
      .max(86_400_000 * 36_525),
  }),
} as const;
type FaultName = keyof typeof bodies;

async function apply(cam: FaultTarget, fault: FaultName, body: unknown): Promise<void> {
  switch (fault) {
    case "stream":
      return cam.setStreaming(bodies.stream.parse(body).up);
    case "rtsp":
      return cam.setRtspAccepting(bodies.rtsp.parse(body).accept);
    case "path":
      return cam.setStreamPath(bodies.path.parse(body).path);
    case "freeze":
      return cam.setFrozen(bodies.freeze.parse(body).on);
    case "onvif":
      return cam.setOnvifOnline(bodies.onvif.parse(body).up);
    case "reboot":
      return cam.reboot(bodies.reboot.parse(body).seconds);
    case "clock":
      return cam.setClockSkew(bodies.clock.parse(body).skewMs);
  }
}

class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly extra: object = {},
  ) {
    super(detail);
  }
}

const MAX_BODY = 16 * 1024;

function readJson(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new HttpProblem(413, "Payload Too Large", `body over ${MAX_BODY} bytes`));
        req.destroy();
      } else chunks.push(c);
    });
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      if (text.trim() === "") return resolve({});
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new HttpProblem(400, "Bad Request", "body is not valid JSON"));
      }
    });
    req.on("error", reject);
  });
}

export class ControlServer {
  private readonly server: http.Server;
  private readonly cameras: Map<string, FaultTarget>;

  constructor(
    cameras: FaultTarget[],
    private readonly log: Logger,
  ) {
    this.cameras = new Map(cameras.map((c) => [c.id, c]));
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => this.fail(res, e));
    });
  }

  listen(port: number, host = "127.0.0.1"): Promise<string> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        const a = this.server.address() as AddressInfo;
        resolve(`http://${a.address}:${a.port}`);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", "http://x").pathname.split("/").filter(Boolean);
    if (path[0] !== "cameras") throw new HttpProblem(404, "Not Found", `no route ${req.method} ${req.url}`);
    if (path.length === 1 && req.method === "GET") {
      return this.send(
        res,
        200,
        [...this.cameras.values()].map((c) => ({ ...c.describe(), faults: c.faults() })),
      );
    }
    const cam = this.cameras.get(path[1] ?? "");
    if (!cam)
      throw new HttpProblem(
        404,
        "Not Found",
        `no camera '${path[1]}'; cameras: ${[...this.cameras.keys()].join(", ")}`,
      );
    if (path.length === 2 && req.method === "GET")
      return this.send(res, 200, { ...cam.describe(), faults: cam.faults() });
    if (path.length === 3 && path[2] === "rtsp-clients" && req.method === "GET")
      return this.send(res, 200, await cam.rtspClients());
    const fault = path[2] as FaultName;
    if (path.length === 3 && fault in bodies) {
      if (req.method !== "POST") throw new HttpProblem(405, "Method Not Allowed", `use POST for ${fault}`);
      const body = await readJson(req);
      try {
        await apply(cam, fault, body);
      } catch (e) {
        if (e instanceof z.ZodError) {
          throw new HttpProblem(400, "Bad Request", `invalid body for ${fault}`, {
            errors: e.issues.map((i) => ({ field: i.path.join(".") || "(body)", message: i.message })),
          });
        }
        throw e;
      }
      this.log.info({ camera: cam.id, fault, body }, "fault applied");
      return this.send(res, 200, { ...cam.describe(), faults: cam.faults() });
    }
    throw new HttpProblem(
      404,
      "Not Found",
      `no route ${req.method} ${req.url}; faults: ${Object.keys(bodies).join(", ")}`,
    );
  }

  private send(res: http.ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  }

  private fail(res: http.ServerResponse, e: unknown): void {
    const p =
      e instanceof HttpProblem
        ? e
        : new HttpProblem(500, "Internal Server Error", e instanceof Error ? e.message : String(e));
    if (p.status >= 500) this.log.error({ err: e }, "control request failed");
    if (res.headersSent) return void res.end();
    res.writeHead(p.status, { "content-type": "application/problem+json" }).end(
      JSON.stringify({
        type: "about:blank",
        title: p.title,
        status: p.status,
        detail: p.detail,
        ...p.extra,
      }),
    );
  }
}
