/** The WebRTC live player as an ES module: dist/web/live/webrtc.js. */
export {
  WebRtcPlayer,
  type WebRtcPlayerOptions,
  type WebRtcPlayerState,
  type WebRtcPlayerStats,
} from "./webrtc-player.js";
