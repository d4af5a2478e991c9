import { connect, type Socket } from "node:net";
import type { AccessUnit } from "../../src/live/feed.js";
import { scrubText } from "../../src/log/redact.js";
import { Authenticator, pickChallenge } from "./digest.js";
import { H264Depacketizer, spropParameterSets } from "./rtp-h264.js";

/**
 * pscsd's own RTSP/1.0 client for live view: OPTIONS, DESCRIBE (SDP), SETUP with RTP over the RTSP
 * TCP connection (interleaved), PLAY, a keep-alive well within the session timeout, TEARDOWN.
 * No maintained Node RTSP client exists, and ffmpeg's RTSP input holds each frame one frame interval
 * before giving it out; this hands each access unit over as its last packet arrives.
 * Invariants: everything read is bounded (a message head, a body, an interleaved packet, an access
 * unit); every wait is time-bounded (a reply, media arriving); an error names the camera and what
 * failed and never carries the password (the URL's credentials are scrubbed, the password is only
 * ever hashed into a Digest answer, or Basic when that is all a server offers).
 */

export type RtspErrorKind =
  | "auth"
  | "timeout"
  | "network"
  | "protocol"
  | "status"
  | "unsupported"
  | "closed"
  | "offline"; // no stream URI yet: the ONVIF connection is not up

export class RtspError extends Error {
  constructor(
    readonly kind: RtspErrorKind,
    readonly camera: string,
    detail: string,
    /** The RTSP method under way, if any. */
    readonly method?: string,
    readonly status?: number,
    cause?: unknown,
  ) {
    super(scrubText(`camera ${camera}: ${method ? `RTSP ${method}: ` : ""}${detail}`), { cause });
    this.name = "RtspError";
  }
}

export interface RtspSource {
  camera: string;
  /** The stream URI; credentials in it are used if `user` is not given, and never sent in a request line. */
  url: string;
  user?: string;
  password?: string;
}

export interface RtspLimits {
  /** Connect and each reply. */
  replyTimeoutMs: number;
  /** No RTP for this long after PLAY: the camera stopped sending. */
  mediaTimeoutMs: number;
  /** Keep-alive period; by default half the session timeout the camera states in SETUP. */
  keepAliveMs?: number;
  maxHeaderBytes: number;
  maxBodyBytes: number;
  maxPacketBytes: number;
}

export const DEFAULT_LIMITS: RtspLimits = {
  replyTimeoutMs: 5_000,
  mediaTimeoutMs: 5_000,
  maxHeaderBytes: 16 * 1024,
  maxBodyBytes: 64 * 1024,
  maxPacketBytes: 64 * 1024,
};

interface Response {
  status: number;
  reason: string;
  headers: Map<string, string[]>;
  body: Buffer;
}

const header = (r: Response, name: string): string | undefined => r.headers.get(name.toLowerCase())?.[0];

export interface H264Track {
  control: string;
  payloadType: number;
  parameterSets: Buffer[];
}

/** The first H.264 video track of an SDP, and the session-level control URL if any. */
export function parseSdp(sdp: string): { track: H264Track | undefined; sessionControl: string | undefined } {
  let sessionControl: string | undefined;
  let inVideo = false;
  let seenMedia = false;
  let candidate: { control?: string; pt?: number; h264?: boolean; fmtp?: string } | undefined;
  let found: H264Track | undefined;
  const finish = () => {
    if (!found && candidate?.h264 && candidate.pt !== undefined) {
      found = {
        control: candidate.control ?? "*",
        payloadType: candidate.pt,
        parameterSets: spropParameterSets(candidate.fmtp),
      };
    }
  };
  for (const raw of sdp.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith("m=")) {
      finish();
      seenMedia = true;
      const m = /^m=(\w+) \d+(?:\/\d+)? \S+ (\d+)/.exec(line);
      inVideo = m?.[1] === "video";
      candidate = inVideo ? { pt: Number(m?.[2]) } : undefined;
      continue;
    }
    const control = /^a=control:(.*)$/.exec(line)?.[1]?.trim();
    if (control !== undefined) {
      if (!seenMedia) sessionControl = control;
      else if (candidate) candidate.control = control;
      continue;
    }
    if (!candidate) continue;
    const rtpmap = /^a=rtpmap:(\d+) ([^/]+)\/90000/i.exec(line);
    if (rtpmap && Number(rtpmap[1]) === candidate.pt && rtpmap[2]?.toUpperCase() === "H264")
      candidate.h264 = true;
    const fmtp = /^a=fmtp:(\d+) (.*)$/.exec(line);
    if (fmtp && Number(fmtp[1]) === candidate.pt) candidate.fmtp = fmtp[2];
  }
  finish();
  return { track: found, sessionControl };
}

/** A control attribute resolved against the session's base URL (RFC 2326 C.1.1). */
export function resolveControl(base: string, control: string | undefined): string {
  if (control === undefined || control === "*" || control === "") return base;
  if (/^rtsp:\/\//i.test(control)) return control;
  return base.endsWith("/") ? base + control : `${base}/${control}`;
}

export class RtspSession {
  private socket: Socket | undefined;
  private buf: Buffer = Buffer.alloc(0);
  private cseq = 0;
  /** Requests awaiting their answer, by CSeq. */
  private readonly waiting = new Map<
    number,
    { resolve: (r: Response) => void; reject: (e: RtspError) => void; timer: NodeJS.Timeout }
  >();
  private auth: Authenticator | undefined;
  private session: string | undefined;
  private aggregate = "";
  private rtpChannel = 0;
  private keepAliveMethod = "OPTIONS";
  private keepAlive: NodeJS.Timeout | undefined;
  private mediaCheck: NodeJS.Timeout | undefined;
  private lastMediaAt = 0;
  private depacketizer: H264Depacketizer | undefined;
  private ended: RtspError | undefined;
  private stopping = false;
  private endedResolve: ((e: RtspError | undefined) => void) | undefined;
  private readonly requestUrl: string;
  private readonly user: string;
  private readonly password: string;
  /** Bytes of media received (RTP payload and headers). */
  bytes = 0;
  /** Resolves once the session is over: undefined after stop(), else the error that ended it. */
  readonly done: Promise<RtspError | undefined>;

  private constructor(
    private readonly source: RtspSource,
    private readonly limits: RtspLimits,
    private readonly onAccessUnit: (au: AccessUnit) => void,
  ) {
    const url = new URL(source.url);
    this.user = source.user ?? decodeURIComponent(url.username);
    this.password = source.password ?? decodeURIComponent(url.password);
    url.username = "";
    url.password = "";
    this.requestUrl = url.toString();
    this.done = new Promise((resolve) => {
      this.endedResolve = resolve;
    });
  }

  /** Connects, negotiates and plays: resolves once PLAY is answered, media then flows to `onAccessUnit`. */
  static async open(
    source: RtspSource,
    onAccessUnit: (au: AccessUnit) => void,
    limits: Partial<RtspLimits> = {},
  ): Promise<RtspSession> {
    const s = new RtspSession(source, { ...DEFAULT_LIMITS, ...limits }, onAccessUnit);
    try {
      await s.start();
    } catch (e) {
      s.close(e instanceof RtspError ? e : s.error("protocol", String(e)));
      throw e;
    }
    return s;
  }

  get camera(): string {
    return this.source.camera;
  }

  /** Access units or packets the depacketizer dropped (loss, malformed, oversized). */
  get dropped(): number {
    return this.depacketizer?.dropped ?? 0;
  }

  /** TEARDOWN (answered or not within a second), then the connection closed. Idempotent. */
  async stop(): Promise<void> {
    if (this.ended || !this.socket) return;
    // From here the session ends as asked, whatever a keep-alive in flight is answered.
    this.stopping = true;
    clearInterval(this.keepAlive);
    clearInterval(this.mediaCheck);
    if (this.session) {
      await Promise.race([
        this.request("TEARDOWN", this.aggregate, {}, 1_000).catch(() => undefined),
        this.done,
      ]);
    }
    this.close(undefined);
  }

  private error(kind: RtspErrorKind, detail: string, method?: string, status?: number, cause?: unknown) {
    return new RtspError(kind, this.source.camera, detail, method, status, cause);
  }

  private async start(): Promise<void> {
    await this.connect();
    const options = await this.request("OPTIONS", this.requestUrl);
    const pub = header(options, "public") ?? "";
    if (/\bGET_PARAMETER\b/i.test(pub)) this.keepAliveMethod = "GET_PARAMETER";

    const describe = await this.request("DESCRIBE", this.requestUrl, { Accept: "application/sdp" });
    if (describe.body.length === 0) throw this.error("protocol", "no SDP in the answer", "DESCRIBE");
    const base = header(describe, "content-base") ?? header(describe, "content-location") ?? this.requestUrl;
    const { track, sessionControl } = parseSdp(describe.body.toString("utf8"));
    if (!track) throw this.error("unsupported", "the stream has no H.264 video track", "DESCRIBE");
    this.aggregate = resolveControl(base, sessionControl);

    const setup = await this.request("SETUP", resolveControl(base, track.control), {
      Transport: "RTP/AVP/TCP;unicast;interleaved=0-1",
    });
    const sessionHeader = header(setup, "session");
    if (!sessionHeader) throw this.error("protocol", "no Session header", "SETUP");
    const [id, ...attrs] = sessionHeader.split(";").map((p) => p.trim());
    this.session = id;
    const timeout = Number(
      /^timeout=(\d+)$/.exec(attrs.find((a) => a.startsWith("timeout=")) ?? "")?.[1] ?? 60,
    );
    const transport = header(setup, "transport") ?? "";
    if (!/RTP\/AVP\/TCP/i.test(transport)) {
      throw this.error("unsupported", `the camera refused RTP over TCP (${transport})`, "SETUP");
    }
    this.rtpChannel = Number(/interleaved=(\d+)/.exec(transport)?.[1] ?? 0);
    this.depacketizer = new H264Depacketizer(track.parameterSets, this.onAccessUnit);

    this.lastMediaAt = Date.now();
    await this.request("PLAY", this.aggregate, { Range: "npt=0.000-" });
    this.lastMediaAt = Date.now();
    // Half the camera's session timeout, so one lost keep-alive still leaves time for the next.
    const every = this.limits.keepAliveMs ?? Math.max(1, Math.min(timeout, 120) / 2) * 1000;
    this.keepAlive = setInterval(() => {
      this.request(this.keepAliveMethod, this.aggregate).catch((e: unknown) =>
        this.close(e instanceof RtspError ? e : this.error("protocol", String(e), this.keepAliveMethod)),
      );
    }, every);
    const check = Math.max(100, Math.floor(this.limits.mediaTimeoutMs / 4));
    this.mediaCheck = setInterval(() => {
      const quiet = Date.now() - this.lastMediaAt;
      if (quiet > this.limits.mediaTimeoutMs) {
        this.close(
          this.error("timeout", `no media for ${quiet} ms (limit ${this.limits.mediaTimeoutMs} ms)`),
        );
      }
    }, check);
  }

  private connect(): Promise<void> {
    const url = new URL(this.requestUrl);
    const port = Number(url.port || 554);
    return new Promise((resolve, reject) => {
      const socket = connect({ host: url.hostname, port, noDelay: true });
      this.socket = socket;
      const timer = setTimeout(() => {
        reject(this.error("timeout", `no connection to ${url.host} within ${this.limits.replyTimeoutMs} ms`));
      }, this.limits.replyTimeoutMs);
      socket.once("connect", () => {
        clearTimeout(timer);
        resolve();
      });
      socket.on("data", (chunk: Buffer) => this.read(chunk));
      socket.on("error", (e) => {
        clearTimeout(timer);
        const err = this.error("network", `${url.host}: ${e.message}`, undefined, undefined, e);
        reject(err);
        this.close(err);
      });
      socket.on("close", () => this.close(this.error("closed", "the camera closed the connection")));
    });
  }

  private request(
    method: string,
    uri: string,
    headers: Record<string, string> = {},
    timeoutMs = this.limits.replyTimeoutMs,
  ): Promise<Response> {
    return this.send(method, uri, headers, timeoutMs).then(async (r) => {
      if (r.status === 401) {
        const challenge = pickChallenge(r.headers.get("www-authenticate") ?? []);
        const retried =
          this.auth !== undefined &&
          !/stale\s*=\s*"?true/i.test(r.headers.get("www-authenticate")?.join() ?? "");
        if (!challenge || retried || !this.user) {
          throw this.error(
            "auth",
            `refused the credentials of user "${this.user}" (401 ${r.reason})`,
            method,
            401,
          );
        }
        this.auth = new Authenticator(challenge, this.user, this.password);
        return this.request(method, uri, headers, timeoutMs);
      }
      if (r.status < 200 || r.status > 299) {
        throw this.error("status", `${r.status} ${r.reason} for ${uri}`, method, r.status);
      }
      return r;
    });
  }

  private send(
    method: string,
    uri: string,
    headers: Record<string, string>,
    timeoutMs: number,
  ): Promise<Response> {
    const socket = this.socket;
    if (!socket || this.ended)
      return Promise.reject(this.ended ?? this.error("closed", "not connected", method));
    this.cseq += 1;
    const cseq = this.cseq;
    const lines = [`${method} ${uri} RTSP/1.0`, `CSeq: ${cseq}`, "User-Agent: pscsd"];
    if (this.session) lines.push(`Session: ${this.session}`);
    if (this.auth) lines.push(`Authorization: ${this.auth.header(method, uri)}`);
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(cseq);
        reject(this.error("timeout", `no answer within ${timeoutMs} ms`, method));
      }, timeoutMs);
      this.waiting.set(cseq, { resolve, reject, timer });
      socket.write(`${lines.join("\r\n")}\r\n\r\n`);
    });
  }

  /** Splits the byte stream into interleaved packets (`$`, channel, length) and RTSP messages. */
  private read(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    while (this.buf.length > 0 && !this.ended) {
      if (this.buf[0] === 0x24) {
        if (this.buf.length < 4) return;
        const size = this.buf.readUInt16BE(2);
        if (size > this.limits.maxPacketBytes) {
          this.close(
            this.error("protocol", `interleaved packet of ${size} bytes over ${this.limits.maxPacketBytes}`),
          );
          return;
        }
        if (this.buf.length < 4 + size) return;
        const channel = this.buf[1];
        const packet = this.buf.subarray(4, 4 + size);
        this.buf = this.buf.subarray(4 + size);
        if (channel === this.rtpChannel && this.depacketizer) {
          this.lastMediaAt = Date.now();
          this.bytes += size;
          this.depacketizer.push(packet, this.lastMediaAt);
        }
        continue;
      }
      const end = this.buf.indexOf("\r\n\r\n");
      if (end < 0) {
        if (this.buf.length > this.limits.maxHeaderBytes) {
          this.close(this.error("protocol", `message head over ${this.limits.maxHeaderBytes} bytes`));
          return;
        }
        return;
      }
      if (end > this.limits.maxHeaderBytes) {
        this.close(this.error("protocol", `message head over ${this.limits.maxHeaderBytes} bytes`));
        return;
      }
      const [first = "", ...rest] = this.buf.subarray(0, end).toString("latin1").split("\r\n");
      const headers = new Map<string, string[]>();
      for (const line of rest) {
        const colon = line.indexOf(":");
        if (colon <= 0) continue;
        const key = line.slice(0, colon).trim().toLowerCase();
        headers.set(key, [...(headers.get(key) ?? []), line.slice(colon + 1).trim()]);
      }
      const length = Number(headers.get("content-length")?.[0] ?? 0);
      if (!Number.isInteger(length) || length < 0 || length > this.limits.maxBodyBytes) {
        this.close(this.error("protocol", `body of ${headers.get("content-length")?.[0]} bytes refused`));
        return;
      }
      if (this.buf.length < end + 4 + length) return;
      const body = Buffer.from(this.buf.subarray(end + 4, end + 4 + length));
      this.buf = this.buf.subarray(end + 4 + length);
      const status = /^RTSP\/1\.0 (\d{3}) ?(.*)$/.exec(first);
      if (!status) continue; // a request from the camera (ANNOUNCE, OPTIONS): nothing live view needs
      const cseq = Number(headers.get("cseq")?.[0]);
      const w = this.waiting.get(cseq);
      if (!w) continue;
      this.waiting.delete(cseq);
      clearTimeout(w.timer);
      w.resolve({ status: Number(status[1]), reason: status[2] ?? "", headers, body });
    }
  }

  private close(why: RtspError | undefined): void {
    if (this.ended !== undefined || this.endedResolve === undefined) return;
    if (this.stopping) why = undefined;
    this.ended = why ?? this.error("closed", "stopped");
    clearInterval(this.keepAlive);
    clearInterval(this.mediaCheck);
    for (const w of this.waiting.values()) {
      clearTimeout(w.timer);
      w.reject(this.ended);
    }
    this.waiting.clear();
    this.socket?.destroy();
    const resolve = this.endedResolve;
    this.endedResolve = undefined;
    resolve(why);
  }
}
