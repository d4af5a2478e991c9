import { randomInt } from "node:crypto";
import { MediaStreamTrack, type PeerConfig, RTCPeerConnection, RtpHeader, RtpPacket, useH264 } from "werift";
import type { LiveWatch } from "../../src/live/desk.js";
import type { AccessUnit } from "../../src/live/feed.js";
import { packetize } from "./h264-rtp.js";

/**
 * One WebRTC viewer: a werift peer connection answering its offer, a pull loop of its own over its
 * live subscription, and every way it can end.
 * Invariants: nothing is sent before the connection is `connected` (werift drops media before
 * DTLS); the first pictures sent are the group since the newest key frame, at once, their RTP
 * times drawn up to the newest's (BURST_STEP apart) so the browser decodes through them to the
 * present without waiting for the next key frame, and its playout delay is set by the live frames
 * that follow, not by the group's age; a viewer sends only from its own loop, so a slow one delays
 * nobody; however it ends, its LiveWatch ends once with the first reason and its peer connection
 * is closed.
 */

/** RTP ticks (90 kHz: 1 ms) between the held pictures sent on connecting. */
const BURST_STEP = 90;
/** Pictures held before connecting past which the group is dropped and the next key frame awaited (the GOP cache's bound). */
const MAX_HELD = 300;

export interface ViewerTiming {
  /** Offer answered but not connected within this: ended. */
  connectMs: number;
  /**
   * Disconnected, or connected but no RTCP from the peer (browsers report every 0.5–1.5 s), this
   * long: ended. werift itself notices a silent peer only when ICE consent expires, after 30 s.
   */
  disconnectGraceMs: number;
  /** Bound on gathering the answer's ICE candidates. */
  gatherMs: number;
}

export class WebRtcViewer {
  readonly pc: RTCPeerConnection;
  private readonly track = new MediaStreamTrack({ kind: "video" });
  private seq = randomInt(0, 0x10000);
  private connected = false;
  /** Before connected: the pictures since the newest key frame (sent at once on connecting). */
  private held: AccessUnit[] = [];
  private waitingForKey = true;
  private timer: NodeJS.Timeout | undefined;
  private silence: NodeJS.Timeout | undefined;
  private lastHeard = 0;
  private ended: Promise<void> | undefined;

  constructor(
    private readonly watch: LiveWatch,
    ice: Partial<PeerConfig>,
    private readonly timing: ViewerTiming,
  ) {
    this.pc = new RTCPeerConnection({ ...ice, codecs: { video: [useH264()], audio: [] } });
    const t = this.pc.addTransceiver(this.track, { direction: "sendonly" });
    t.sender.onRtcp.subscribe(() => {
      this.lastHeard = Date.now();
    });
    this.pc.connectionStateChange.subscribe((s) => this.onState(s));
  }

  /** The SDP answer once every ICE candidate is gathered (no trickle). */
  async answer(offer: string): Promise<string> {
    await this.pc.setRemoteDescription({ type: "offer", sdp: offer });
    await this.pc.setLocalDescription(await this.pc.createAnswer());
    await this.gathered();
    const sdp = this.pc.localDescription?.sdp;
    if (!sdp) throw new Error("werift made no answer");
    this.arm(this.timing.connectMs, "never connected");
    return sdp;
  }

  /** Forwards pictures until the subscription ends (the desk ended the watch) or the peer does. */
  async run(first: Promise<AccessUnit | undefined>): Promise<void> {
    try {
      for (let au = await first; au; au = await this.watch.frames.next()) {
        if (this.connected) this.forward(au);
        else if (au.keyframe) this.held = [au];
        else if (this.held.length >= MAX_HELD) this.held = [];
        else if (this.held.length > 0) this.held.push(au);
      }
    } finally {
      await this.end("ended");
    }
  }

  /** Ends the watch (first reason wins) and the peer connection. Idempotent. */
  end(reason: string): Promise<void> {
    this.ended ??= (async () => {
      clearTimeout(this.timer);
      clearInterval(this.silence);
      await this.watch.end(reason);
      await this.pc.close().catch(() => undefined);
    })();
    return this.ended;
  }

  private onState(state: RTCPeerConnection["connectionState"]): void {
    if (state === "connected") {
      clearTimeout(this.timer);
      if (this.connected) return;
      this.connected = true;
      this.lastHeard = Date.now();
      const grace = this.timing.disconnectGraceMs;
      this.silence = setInterval(() => {
        if (Date.now() - this.lastHeard > grace) void this.end(`peer silent (no RTCP for ${grace / 1000} s)`);
      }, grace / 4);
      const held = this.held;
      this.held = [];
      const newest = held.at(-1)?.rtpTime ?? 0;
      for (const [i, au] of held.entries())
        this.forward(au, (newest - (held.length - 1 - i) * BURST_STEP) >>> 0);
    } else if (state === "disconnected") {
      this.arm(this.timing.disconnectGraceMs, "peer disconnected");
    } else if (state === "failed") {
      void this.end("peer connection failed (ICE consent or DTLS)");
    } else if (state === "closed") {
      void this.end("peer closed");
    }
  }

  private arm(ms: number, reason: string): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.end(reason), ms);
  }

  private forward(au: AccessUnit, rtpTime = au.rtpTime): void {
    if (this.waitingForKey && !au.keyframe) return;
    this.waitingForKey = false;
    for (const p of packetize(au)) {
      // werift's sender sets the payload type and SSRC and adds a zero offset to sequence and time.
      const header = new RtpHeader({
        payloadType: 0,
        sequenceNumber: this.seq,
        timestamp: rtpTime,
        marker: p.marker,
      });
      this.seq = (this.seq + 1) & 0xffff;
      this.track.writeRtp(new RtpPacket(header, p.payload));
      this.watch.sent(header.serializeSize + p.payload.length);
    }
  }

  private gathered(): Promise<void> {
    if (this.pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        unSubscribe();
        reject(new Error(`ICE candidates not gathered within ${this.timing.gatherMs} ms`));
      }, this.timing.gatherMs);
      const { unSubscribe } = this.pc.iceGatheringStateChange.subscribe((s) => {
        if (s !== "complete") return;
        clearTimeout(t);
        unSubscribe();
        resolve();
      });
    });
  }
}
