import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { type WebSocket, WebSocketServer } from "ws";
import { RefusalPace } from "../../src/auth/refusal-pace.js";
import { roleGranting } from "../../src/auth/roles.js";
import type { ActionContext, Auth } from "../../src/auth/service.js";
import { ServiceError } from "../../src/errors/service-error.js";
import type { Live, LiveWatch } from "../../src/live/desk.js";
import type { Logger } from "../../src/log/logger.js";
import { identifySession } from "../http/authn.js";
import { endWithProblem, fromServiceError, isServiceError, problem } from "../http/problem.js";
import { clientOf } from "../http/route.js";
import { Fmp4Muxer } from "./fmp4.js";

/**
 * Live view as fragmented MP4 over a WebSocket, for Media Source Extensions:
 * `GET /api/live/cameras/{camera}/mse`, upgraded. Protocol (browsers and tests are written against
 * it): a text message `{"type":"init","session","codec","width","height"}`, a binary message with
 * the init segment, then one binary message (moof+mdat) per access unit; a new init pair may come
 * at any time (the camera restarted its stream with new parameters). Close codes: 1000 the feed
 * ended, 1001 pscsd stopping, 4001 the signed-in session ended, 4003 video.live withdrawn, 4008
 * stalled, 1011 an error (the desk re-checks sign-ins; this closes the socket it is told to).
 * Invariants: only a signed-in person (session cookie) whose page is this server's origin is
 * upgraded, every refusal answered as problem+json and audited; memory per viewer is bounded: past
 * `highWater` unsent bytes nothing more is pulled (the subscription's own bound then drops to the
 * next key frame), and a viewer that takes nothing for `stalledMs` is closed; every session ends
 * through its LiveWatch with a reason, whichever side ends it.
 */

/** Refusals anyone can repeat at will (no cookie; a foreign page using a visitor's cookie) are audited at most this often per caller. */
const REFUSAL_AUDIT_EVERY_MS = 60_000;
/** How long a closing socket may take to finish the close handshake before it is cut. */
const CLOSE_GRACE_MS = 1_000;

export const CLOSE = {
  ended: 1000,
  stopping: 1001,
  error: 1011,
  signedOut: 4001,
  forbidden: 4003,
  stalled: 4008,
} as const;

export interface MseOptions {
  live: Live;
  auth: Auth;
  log: Logger;
  /** A viewer whose socket is full and has taken nothing for this long is closed (4008). */
  stalledMs: number;
  /**
   * Unsent bytes past which a viewer is not fed (`live.sendBufferKiB`, 512 KiB: DESIGN.md, memory
   * grows at the stream rate otherwise).
   */
  highWater: number;
}

interface Viewer {
  ws: WebSocket;
  watch: LiveWatch;
  /** Why it ended, once it has. */
  ending?: string;
  /** The watch's close entry written and the socket closed. */
  done: Promise<void>;
  /** Called whenever the socket takes bytes (a send flushed) or the viewer ends. */
  progressed?: () => void;
}

export class MseLive {
  private readonly wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false, // H.264 does not compress, and deflate would hold frames
    maxPayload: 4 * 1024, // the viewer sends nothing this protocol reads
  });
  private readonly viewers = new Set<Viewer>();
  private stopping = false;
  private readonly pace = new RefusalPace(REFUSAL_AUDIT_EVERY_MS);

  constructor(private readonly o: MseOptions) {}

  /** Checks, opens the live session, upgrades; a refusal is answered on the raw socket. */
  async serve(req: IncomingMessage, socket: Duplex, head: Buffer, camera: string): Promise<void> {
    socket.on("error", () => socket.destroy());
    if (req.headers.upgrade?.toLowerCase() !== "websocket" || req.method !== "GET") {
      endWithProblem(socket, problem(400, "this route is a WebSocket: GET with Upgrade: websocket"));
      return;
    }
    const client = clientOf(req);
    let watch: LiveWatch;
    try {
      watch = await this.open(req, camera, client);
    } catch (e) {
      if (!isServiceError(e)) throw e;
      endWithProblem(
        socket,
        fromServiceError(e, () => "path"),
      );
      return;
    }
    if (socket.destroyed || this.stopping) {
      await watch.end(this.stopping ? "pscsd stopping" : "client left before the upgrade");
      socket.destroy();
      return;
    }
    // ws answers a malformed handshake itself (400) without calling back: the session ends then.
    const early = () => void watch.end("WebSocket handshake refused");
    socket.once("close", early);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      socket.off("close", early);
      this.attach(ws, watch);
    });
  }

  /** Ends every viewer with 1001 and waits for their close entries (pscsd stopping). */
  async close(): Promise<void> {
    this.stopping = true;
    const all = [...this.viewers];
    for (const v of all) this.finish(v, "pscsd stopping", CLOSE.stopping, "pscsd stopping");
    await Promise.all(all.map((v) => v.done));
  }

  private async open(req: IncomingMessage, camera: string, client: string): Promise<LiveWatch> {
    const principal = await identifySession(this.o.auth, req);
    if (!principal)
      return this.refusedPaced(
        `anonymous ${client}`,
        camera,
        { actor: "anonymous", role: null, client },
        new ServiceError("unauthenticated", "sign in first: live view takes the session cookie"),
      );
    const role = roleGranting(principal.roles, "video.live") ?? null;
    const by = { actor: principal.actor, role, client };
    // Cross-site WebSocket hijacking: the browser sends the cookie whoever's page opens the socket.
    const origin = req.headers.origin;
    if (!sameOrigin(origin, req.headers.host))
      return this.refusedPaced(
        `origin ${principal.actor}`,
        camera,
        by,
        new ServiceError(
          "forbidden",
          `Origin ${origin === undefined ? "missing" : `'${origin.slice(0, 200)}'`}: live view opens only from this server's own pages`,
        ),
      );
    if (principal.mustChangePassword)
      return this.o.live.refuse(
        camera,
        "mse",
        by,
        new ServiceError("forbidden", "password change required: PUT /api/session/password first"),
      );
    return this.o.live.open(camera, "mse", by, principal.session.idHash);
  }

  /**
   * A refusal its caller can repeat as fast as it likes, audited once per key and period (the next
   * entry counts those left out): an append-only log must not grow at an anonymous sender's pace.
   */
  private refusedPaced(key: string, camera: string, by: ActionContext, e: ServiceError): Promise<never> {
    const paced = this.pace.take(key, Date.now());
    if (!paced.write) throw e;
    return this.o.live.refuse(
      camera,
      "mse",
      by,
      e,
      paced.unwritten ? { unwrittenBefore: paced.unwritten } : {},
    );
  }

  private attach(ws: WebSocket, watch: LiveWatch): void {
    let closed!: () => void;
    const socketClosed = new Promise<void>((r) => {
      closed = r;
    });
    const v: Viewer = { ws, watch, done: Promise.resolve() };
    v.done = socketClosed.then(() => watch.end(v.ending ?? "client closed"));
    this.viewers.add(v);
    watch.onWithdrawn((w) =>
      w === "signed-out"
        ? this.finish(v, "signed out", CLOSE.signedOut, "session ended")
        : this.finish(v, "permission withdrawn", CLOSE.forbidden, "permission withdrawn"),
    );
    ws.on("close", (code) => {
      // A close the viewer started (or a dropped connection) ends the session with its code.
      if (!v.ending) this.finish(v, `client closed (${code})`);
      closed();
    });
    ws.on("error", (err) => this.finish(v, `socket error: ${err.message}`));
    this.pump(v).catch((err: unknown) => {
      this.o.log.error({ err, session: watch.id, camera: watch.camera }, "live MSE viewer failed");
      this.finish(v, `error: ${err instanceof Error ? err.message : String(err)}`, CLOSE.error, "error");
    });
  }

  /** Access units to the socket, one fragment each, never more than `highWater` unsent. */
  private async pump(v: Viewer): Promise<void> {
    const { ws, watch } = v;
    const muxer = new Fmp4Muxer();
    const send = (data: Buffer | string) => {
      const bytes = Buffer.byteLength(data);
      ws.send(data, (err) => {
        if (!err) watch.sent(bytes);
        v.progressed?.();
      });
    };
    while (!v.ending) {
      if (ws.bufferedAmount > this.o.highWater) {
        await this.drained(v);
        continue;
      }
      const au = await watch.frames.next();
      if (v.ending) return;
      if (!au) {
        this.finish(v, "feed ended", CLOSE.ended, "ended");
        return;
      }
      const out = muxer.push(au);
      if (out.init) {
        const { codec, width, height } = out.init;
        send(JSON.stringify({ type: "init", session: watch.id, codec, width, height }));
        send(out.init.segment);
      }
      if (out.fragment) send(out.fragment);
    }
  }

  /** Resolves once the socket is back under `highWater`, or the viewer ended (stalled among others). */
  private drained(v: Viewer): Promise<void> {
    return new Promise((resolve) => {
      const arm = () =>
        setTimeout(() => {
          done();
          this.finish(v, "stalled", CLOSE.stalled, "stalled");
        }, this.o.stalledMs);
      let stall = arm();
      const done = () => {
        clearTimeout(stall);
        v.progressed = undefined;
        resolve();
      };
      v.progressed = () => {
        if (v.ending || v.ws.bufferedAmount <= this.o.highWater) return done();
        clearTimeout(stall);
        stall = arm();
      };
    });
  }

  /** Ends a viewer once: its reason kept for the close entry, the socket closed with `code`. */
  private finish(v: Viewer, reason: string, code?: number, text?: string): void {
    if (v.ending) return;
    v.ending = reason;
    this.viewers.delete(v);
    // Unblocks a pump waiting for a frame or for the socket to drain.
    v.watch.frames.close();
    v.progressed?.();
    if (code === undefined) return;
    v.ws.close(code, text);
    // A viewer that reads nothing never answers the close: cut it.
    const cut = setTimeout(() => v.ws.terminate(), CLOSE_GRACE_MS);
    v.ws.once("close", () => clearTimeout(cut));
  }
}

/** Whether a page's Origin is this server: the host it names is the one the request was sent to. */
function sameOrigin(origin: string | undefined, host: string | undefined): boolean {
  if (!origin || !host) return false;
  try {
    return new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}
