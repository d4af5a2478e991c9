/**
 * A camera's live view in a <video>, from pscsd's fMP4-over-WebSocket path (api/live/mse.ts):
 * `{"type":"init"}` text, the init segment, then one fragment per frame, into Media Source
 * Extensions. Kept at the live edge: one seek to `buffered.end − margin` once there is a picture,
 * then `playbackRate = min(1.5, 1 + lag − 0.1)` (DESIGN.md, measured); pscsd's fragments reach a
 * quarter second past their frame (api/live/fmp4.ts), so this keeps the playhead ahead of the newest
 * frame, which shows as soon as it is decoded, and `margin` short of where chromium would stop its
 * clock. A lag past `jumpSeconds` is seeked over. The buffer behind the playhead is trimmed to `keepSeconds`, appends wait in a
 * bounded queue (past it the session is restarted at a key frame), and a dropped connection is
 * reconnected with backoff, except when the sign-in ended (4001) or lost video.live (4003).
 */

export type MseState =
  | "idle"
  | "connecting"
  | "playing"
  | "reconnecting"
  | "signed-out"
  | "stopped"
  | "failed";

export interface MseStats {
  state: MseState;
  session: string | null;
  codec: string | null;
  width: number;
  height: number;
  /** Fragments and bytes received in this player's life. */
  fragments: number;
  bytes: number;
  reconnects: number;
  /** Seconds between the playhead and the buffered end (the newest fragment's end). */
  lagSeconds: number;
  playbackRate: number;
  /** Why the last connection ended (close code and reason), or the last error. */
  lastClose: string | null;
}

export interface MsePlayerOptions {
  camera: string;
  /** How far short of the buffered end to play (default 0.1 s). */
  marginSeconds?: number;
  /** Buffer kept behind the playhead (default 10 s). */
  keepSeconds?: number;
  /** A lag past this is seeked over rather than caught up (default 3 s). */
  jumpSeconds?: number;
  /** Reconnect backoff: first delay and cap (default 500 ms, 10 s). */
  backoffMs?: number;
  maxBackoffMs?: number;
  onState?: (state: MseState) => void;
}

/** Close codes of the protocol (api/live/mse.ts). */
const SIGNED_OUT = 4001;
/** video.live withdrawn while watching: coming back would be refused. */
const FORBIDDEN = 4003;
/** Binary messages waiting for the SourceBuffer past which the session is restarted. */
const MAX_QUEUE = 120;

interface InitMessage {
  type: "init";
  session: string;
  codec: string;
  width: number;
  height: number;
}

export class MsePlayer {
  private readonly o: Required<Omit<MsePlayerOptions, "onState">> & Pick<MsePlayerOptions, "onState">;
  private ws: WebSocket | undefined;
  private source: MediaSource | undefined;
  private buffer: SourceBuffer | undefined;
  private objectUrl: string | undefined;
  private readonly queue: ArrayBuffer[] = [];
  private atEdge = false;
  private attempt = 0;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private current: MseState = "idle";
  private readonly s = {
    session: null as string | null,
    codec: null as string | null,
    width: 0,
    height: 0,
    fragments: 0,
    bytes: 0,
    reconnects: 0,
    lastClose: null as string | null,
  };

  constructor(
    private readonly video: HTMLVideoElement,
    o: MsePlayerOptions,
  ) {
    this.o = {
      marginSeconds: 0.1,
      keepSeconds: 10,
      jumpSeconds: 3,
      backoffMs: 500,
      maxBackoffMs: 10_000,
      ...o,
    };
  }

  get state(): MseState {
    return this.current;
  }

  stats(): MseStats {
    return {
      ...this.s,
      state: this.current,
      lagSeconds: this.lag(),
      playbackRate: this.video.playbackRate,
    };
  }

  start(): void {
    if (this.ws || this.retry) return;
    // Some browsers (Safari on iPhone) have no Media Source Extensions: the tile takes WebRTC instead.
    if (typeof MediaSource === "undefined") {
      this.s.lastClose = "this browser has no Media Source Extensions";
      this.setState("failed");
      return;
    }
    this.setState("connecting");
    this.connect();
  }

  /** Closes the connection and releases the MediaSource; start() begins again. */
  stop(): void {
    clearTimeout(this.retry);
    this.retry = undefined;
    this.closeSocket(1000);
    this.detach();
    this.setState("stopped");
  }

  private connect(): void {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(
      `${scheme}//${location.host}/api/live/cameras/${encodeURIComponent(this.o.camera)}/mse`,
    );
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.onmessage = (e: MessageEvent<ArrayBuffer | string>) => {
      if (typeof e.data === "string") this.onInit(JSON.parse(e.data) as InitMessage);
      else this.onBinary(e.data);
    };
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      this.s.lastClose = `${e.code}${e.reason ? ` ${e.reason}` : ""}`;
      if (e.code === SIGNED_OUT || e.code === FORBIDDEN) {
        this.detach();
        this.setState(e.code === SIGNED_OUT ? "signed-out" : "failed");
        return;
      }
      this.scheduleReconnect();
    };
  }

  private scheduleReconnect(): void {
    const delay = Math.min(this.o.maxBackoffMs, this.o.backoffMs * 2 ** this.attempt);
    this.attempt++;
    this.setState("reconnecting");
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.s.reconnects++;
      this.connect();
    }, delay);
  }

  private onInit(m: InitMessage): void {
    if (m.type !== "init") return;
    if (!MediaSource.isTypeSupported(`video/mp4; codecs="${m.codec}"`)) {
      this.s.lastClose = `codec ${m.codec} not supported by this browser`;
      this.closeSocket(1000);
      this.detach();
      this.setState("failed");
      return;
    }
    const sameSession = m.session === this.s.session && this.buffer !== undefined;
    // A new session starts its own timeline: a fresh MediaSource rather than mixed timestamps.
    if (!sameSession) this.detach();
    Object.assign(this.s, { session: m.session, width: m.width, height: m.height });
    if (sameSession) {
      // New parameter sets mid-session: the init segment that follows is appended in line.
      if (m.codec !== this.s.codec) this.buffer?.changeType(`video/mp4; codecs="${m.codec}"`);
      this.s.codec = m.codec;
      return;
    }
    this.s.codec = m.codec;
    const source = new MediaSource();
    this.source = source;
    this.objectUrl = URL.createObjectURL(source);
    this.video.src = this.objectUrl;
    source.addEventListener(
      "sourceopen",
      () => {
        if (this.source !== source) return;
        const buffer = source.addSourceBuffer(`video/mp4; codecs="${m.codec}"`);
        buffer.mode = "segments";
        buffer.addEventListener("updateend", () => this.afterAppend());
        buffer.addEventListener("error", () => {
          this.s.lastClose = "SourceBuffer error";
        });
        this.buffer = buffer;
        this.pump();
      },
      { once: true },
    );
  }

  private onBinary(data: ArrayBuffer): void {
    if (!this.source) return; // before any init: nothing to decode it with
    this.s.bytes += data.byteLength;
    this.s.fragments++;
    if (this.queue.length >= MAX_QUEUE) {
      // The decoder cannot keep up: start again at a key frame rather than buffer without bound.
      this.queue.length = 0;
      this.s.lastClose = "append queue full; restarted";
      this.closeSocket(1000);
      this.detach();
      this.scheduleReconnect();
      return;
    }
    this.queue.push(data);
    this.pump();
  }

  private pump(): void {
    const b = this.buffer;
    if (!b || b.updating || this.source?.readyState !== "open") return;
    const next = this.queue.shift();
    if (!next) return;
    try {
      b.appendBuffer(next);
    } catch (e) {
      // QuotaExceededError: trim harder and retry this fragment after the removal.
      this.queue.unshift(next);
      this.trim(true);
      this.s.lastClose = `append failed: ${(e as Error).name}`;
    }
  }

  private afterAppend(): void {
    const v = this.video;
    const b = this.buffer;
    if (!b) return;
    const ranges = b.buffered;
    if (ranges.length > 0) {
      const end = ranges.end(ranges.length - 1);
      if (!this.atEdge || end - v.currentTime > this.o.jumpSeconds) {
        v.currentTime = Math.max(ranges.start(ranges.length - 1), end - this.o.marginSeconds);
        this.atEdge = true;
        v.play().catch(() => undefined);
      } else {
        v.playbackRate = Math.max(0.5, Math.min(1.5, 1 + this.lag() - 0.1));
      }
      if (this.current !== "playing") {
        this.attempt = 0;
        this.setState("playing");
      }
    }
    if (!this.trim(false)) this.pump();
  }

  /** Removes what lies `keepSeconds` behind the playhead (all but 1 s when `hard`); true if it started one. */
  private trim(hard: boolean): boolean {
    const b = this.buffer;
    if (!b || b.updating || b.buffered.length === 0) return false;
    const keep = hard ? 1 : this.o.keepSeconds;
    const start = b.buffered.start(0);
    const cut = this.video.currentTime - keep;
    // Removing in steps of at least a second keeps removals rare.
    if (cut - start < (hard ? 0 : 1)) return false;
    b.remove(start, cut);
    return true;
  }

  private lag(): number {
    const r = this.buffer?.buffered;
    return r && r.length > 0 ? Math.max(0, r.end(r.length - 1) - this.video.currentTime) : 0;
  }

  private closeSocket(code: number): void {
    const ws = this.ws;
    this.ws = undefined;
    ws?.close(code);
  }

  private detach(): void {
    this.queue.length = 0;
    this.buffer = undefined;
    this.atEdge = false;
    this.source = undefined;
    if (this.objectUrl) {
      this.video.removeAttribute("src");
      this.video.load();
      URL.revokeObjectURL(this.objectUrl);
      this.objectUrl = undefined;
    }
    this.s.session = null;
  }

  private setState(state: MseState): void {
    if (state === this.current) return;
    this.current = state;
    this.o.onState?.(state);
  }
}
