import { ApiProblem, api } from "../api.js";

/**
 * A camera's live picture in a <video> over WebRTC: a recvonly H.264 offer sent complete (ICE
 * gathered first) to pscsd on the page's origin with the session cookie, the answer applied, and
 * the connection kept: a failed or lost connection is opened again with backoff; a refusal that
 * cannot heal stops it: `signed-out` (401: the sign-in ended, pscsd closed the peer), else `failed`
 * (no permission, no camera, unusable offer). stop() ends the session on pscsd (DELETE), so its
 * audit entry says the viewer closed it.
 */

export type WebRtcPlayerState =
  | "idle"
  | "connecting"
  | "playing"
  | "retrying"
  | "stopped"
  | "signed-out"
  | "failed";

export interface WebRtcPlayerOptions {
  camera: string;
  /** The session's CSRF token (from sign-in); fetched from GET /api/session when not given. */
  csrfToken?: string;
  /** Backoff between attempts: first, then doubling up to max (ms). */
  retryFirstMs?: number;
  retryMaxMs?: number;
  onState?: (state: WebRtcPlayerState, detail?: string) => void;
}

export interface WebRtcPlayerStats {
  state: WebRtcPlayerState;
  session: string | undefined;
  attempts: number;
  /** From start() (or the latest reconnect) to the first decoded frame shown, ms. */
  firstFrameMs: number | undefined;
  framesDecoded: number;
  framesDropped: number;
  bytesReceived: number;
  packetsLost: number;
  /** Mean time a frame waited in the browser's jitter buffer (ms), once any were played. */
  jitterBufferMs: number | undefined;
  lastError: string | undefined;
}

/** Lost this long without recovering (ICE "disconnected"): opened again. */
const DISCONNECTED_GRACE_MS = 3_000;
const GATHER_MS = 3_000;

export class WebRtcPlayer {
  state: WebRtcPlayerState = "idle";
  session: string | undefined;
  lastError: string | undefined;
  attempts = 0;
  firstFrameMs: number | undefined;
  private pc: RTCPeerConnection | undefined;
  private csrf: string | undefined;
  private retryMs: number;
  private timer: number | undefined;
  private generation = 0;

  constructor(
    private readonly video: HTMLVideoElement,
    private readonly o: WebRtcPlayerOptions,
  ) {
    this.csrf = o.csrfToken;
    this.retryMs = o.retryFirstMs ?? 500;
    video.muted = true;
    video.autoplay = true;
    video.playsInline = true;
  }

  /** Connects (and keeps connecting until stop() or a refusal that cannot heal). */
  async start(): Promise<void> {
    if (!["idle", "stopped", "signed-out", "failed"].includes(this.state)) return;
    await this.connect();
  }

  async stop(): Promise<void> {
    this.generation += 1;
    clearTimeout(this.timer);
    this.set("stopped");
    await this.teardown();
  }

  async stats(): Promise<WebRtcPlayerStats> {
    const out: WebRtcPlayerStats = {
      state: this.state,
      session: this.session,
      attempts: this.attempts,
      firstFrameMs: this.firstFrameMs,
      framesDecoded: 0,
      framesDropped: 0,
      bytesReceived: 0,
      packetsLost: 0,
      jitterBufferMs: undefined,
      lastError: this.lastError,
    };
    const report = await this.pc?.getStats();
    report?.forEach((r: { type: string; kind?: string } & Record<string, unknown>) => {
      if (r.type !== "inbound-rtp" || r.kind !== "video") return;
      out.framesDecoded = Number(r.framesDecoded ?? 0);
      out.framesDropped = Number(r.framesDropped ?? 0);
      out.bytesReceived = Number(r.bytesReceived ?? 0);
      out.packetsLost = Number(r.packetsLost ?? 0);
      const emitted = Number(r.jitterBufferEmittedCount ?? 0);
      if (emitted > 0) out.jitterBufferMs = (Number(r.jitterBufferDelay ?? 0) / emitted) * 1000;
    });
    return out;
  }

  private async connect(): Promise<void> {
    const generation = ++this.generation;
    const current = () => generation === this.generation;
    const began = performance.now();
    this.attempts += 1;
    this.set("connecting");
    await this.teardown();
    const pc = new RTCPeerConnection({ iceServers: [] });
    this.pc = pc;
    const transceiver = pc.addTransceiver("video", { direction: "recvonly" });
    // Live view: play each frame as soon as it is decoded (no extra jitter buffering).
    (transceiver.receiver as RTCRtpReceiver & { jitterBufferTarget?: number | null }).jitterBufferTarget = 0;
    pc.ontrack = (e) => {
      this.video.srcObject = e.streams[0] ?? new MediaStream([e.track]);
      this.video.play().catch(() => undefined);
    };
    pc.onconnectionstatechange = () => {
      if (!current()) return;
      const s = pc.connectionState;
      if (s === "failed" || s === "closed") this.retry(`connection ${s}`);
      else if (s === "disconnected") {
        clearTimeout(this.timer);
        this.timer = window.setTimeout(() => {
          if (current() && pc.connectionState === "disconnected") this.retry("connection lost");
        }, DISCONNECTED_GRACE_MS);
      }
    };
    this.watchFirstFrame(began, current);
    try {
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc);
      const offer = pc.localDescription?.sdp;
      if (!offer) throw new Error("the browser made no offer");
      const csrf = await this.csrfToken();
      const { session, answer } = await api<{ session: string; answer: string }>(
        `/api/live/cameras/${encodeURIComponent(this.o.camera)}/webrtc`,
        { body: { offer }, headers: { "x-csrf-token": csrf } },
      );
      if (!current()) {
        await this.end(session);
        return;
      }
      this.session = session;
      await pc.setRemoteDescription({ type: "answer", sdp: answer });
    } catch (e) {
      if (!current()) return;
      const p = e instanceof ApiProblem ? e : undefined;
      // A refusal that retrying cannot change; 429 and 503 are worth another try.
      if (p && p.status >= 400 && p.status < 500 && p.status !== 429 && p.status !== 408) {
        this.lastError = p.detail;
        this.generation += 1;
        this.set(p.status === 401 ? "signed-out" : "failed", p.detail);
        await this.teardown();
        return;
      }
      this.retry((e as Error).message, p?.retryAfter);
    }
  }

  private watchFirstFrame(began: number, current: () => boolean): void {
    const v = this.video as HTMLVideoElement & {
      requestVideoFrameCallback?: (cb: () => void) => number;
    };
    const shown = () => {
      if (!current()) return;
      this.firstFrameMs = Math.round(performance.now() - began);
      this.retryMs = this.o.retryFirstMs ?? 500;
      this.set("playing");
    };
    if (v.requestVideoFrameCallback) v.requestVideoFrameCallback(shown);
    else v.addEventListener("playing", shown, { once: true });
  }

  private retry(why: string, afterSeconds?: number): void {
    this.lastError = why;
    this.generation += 1;
    const generation = this.generation;
    this.set("retrying", why);
    const wait = afterSeconds ? afterSeconds * 1000 : this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, this.o.retryMaxMs ?? 10_000);
    clearTimeout(this.timer);
    this.timer = window.setTimeout(() => {
      if (generation === this.generation) void this.connect();
    }, wait);
    // No DELETE: the connection is gone, and pscsd ends a session whose peer fell silent by itself
    // (most often it ended it already, which is why the connection went).
    void this.teardown(false);
  }

  private async teardown(endSession = true): Promise<void> {
    const pc = this.pc;
    const session = this.session;
    this.pc = undefined;
    this.session = undefined;
    pc?.close();
    if (session && endSession) await this.end(session);
  }

  /** Ends the session on pscsd; a session already gone there is fine. */
  private async end(session: string): Promise<void> {
    const csrf = await this.csrfToken().catch(() => undefined);
    await api(`/api/live/sessions/${session}`, {
      method: "DELETE",
      headers: csrf ? { "x-csrf-token": csrf } : {},
    }).catch(() => undefined);
  }

  private async csrfToken(): Promise<string> {
    this.csrf ??= (await api<{ csrfToken: string }>("/api/session")).csrfToken;
    return this.csrf;
  }

  private set(state: WebRtcPlayerState, detail?: string): void {
    this.state = state;
    this.o.onState?.(state, detail);
  }
}

/** Resolves once ICE gathering completes, or after GATHER_MS with what has been gathered. */
function gathered(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const t = window.setTimeout(resolve, GATHER_MS);
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState !== "complete") return;
      clearTimeout(t);
      resolve();
    });
  });
}
