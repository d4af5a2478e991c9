import { MsePlayer, type MseState } from "../live/mse-player.js";
import { WebRtcPlayer, type WebRtcPlayerState } from "../live/webrtc-player.js";

/**
 * One camera's live picture in a <video> over either transport, as a tile needs it: one state
 * vocabulary, and how far behind the newest frame the browser holds the picture.
 */

export type Transport = "webrtc" | "mse";
export type LiveState = "connecting" | "playing" | "retrying" | "failed" | "stopped";

/**
 * The faster path is the default, the other the fallback: fMP4 over the WebSocket measured lower
 * glass-to-glass (p50) and far sooner to a first picture (the cached group of pictures) than WebRTC,
 * which waits for the next key frame (BENCHMARKS.md, "live").
 */
export const DEFAULT_TRANSPORT: Transport = "mse";
export const other = (t: Transport): Transport => (t === "webrtc" ? "mse" : "webrtc");

export interface LivePlayer {
  readonly transport: Transport;
  start(): void;
  stop(): void;
  /** What the browser holds between the newest frame received and the one shown (ms), if known. */
  heldMs(): Promise<number | undefined>;
}

const FROM_WEBRTC: Record<WebRtcPlayerState, LiveState> = {
  idle: "connecting",
  connecting: "connecting",
  playing: "playing",
  retrying: "retrying",
  stopped: "stopped",
  "signed-out": "failed",
  failed: "failed",
};
const FROM_MSE: Record<MseState, LiveState> = {
  idle: "connecting",
  connecting: "connecting",
  playing: "playing",
  reconnecting: "retrying",
  "signed-out": "failed",
  stopped: "stopped",
  failed: "failed",
};

export function livePlayer(
  transport: Transport,
  video: HTMLVideoElement,
  camera: string,
  onState: (s: LiveState, detail?: string) => void,
): LivePlayer {
  if (transport === "webrtc") {
    const p = new WebRtcPlayer(video, { camera, onState: (s, d) => onState(FROM_WEBRTC[s], d) });
    return {
      transport,
      // A browser without WebRTC (disabled by policy) throws here: that is a failed transport.
      start: () => void p.start().catch((e: unknown) => onState("failed", String(e))),
      stop: () => void p.stop(),
      heldMs: async () => (await p.stats()).jitterBufferMs,
    };
  }
  const p = new MsePlayer(video, {
    camera,
    onState: (s) => onState(FROM_MSE[s], p.stats().lastClose ?? undefined),
  });
  return {
    transport,
    start: () => p.start(),
    stop: () => p.stop(),
    heldMs: () => Promise.resolve(p.stats().lagSeconds * 1000),
  };
}
