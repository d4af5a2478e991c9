import { RTCPeerConnection, useH264 } from "werift";
import { iceConfig } from "../../api/live/webrtc.js";
import { H264Depacketizer } from "../../recorder/live/rtp-h264.js";
import type { AccessUnit } from "../../src/live/feed.js";
import type { Client } from "./pscsd.js";

/**
 * A WebRTC viewer in Node (werift, loopback only) against pscsd's signalling: a recvonly H.264
 * offer with every candidate, the answer applied, the received RTP depacketized as pscsd's own
 * RTSP client does it.
 */
export interface WeriftViewer {
  session: string;
  pc: RTCPeerConnection;
  units: AccessUnit[];
  connected: Promise<void>;
  close(): Promise<void>;
}

export async function recvonlyOffer(): Promise<{
  pc: RTCPeerConnection;
  offer: string;
  units: AccessUnit[];
}> {
  const pc = new RTCPeerConnection({
    ...iceConfig({ host: "127.0.0.1" }),
    codecs: { video: [useH264()], audio: [] },
  });
  const units: AccessUnit[] = [];
  const depacketizer = new H264Depacketizer([], (au) => units.push(au));
  const t = pc.addTransceiver("video", { direction: "recvonly" });
  t.onTrack.subscribe((track) => track.onReceiveRtp.subscribe((rtp) => depacketizer.push(rtp.serialize())));
  await pc.setLocalDescription(await pc.createOffer());
  while (pc.iceGatheringState !== "complete") await new Promise((r) => setTimeout(r, 10));
  return { pc, offer: pc.localDescription?.sdp ?? "", units };
}

export async function weriftViewer(c: Client, camera: string): Promise<WeriftViewer> {
  const { pc, offer, units } = await recvonlyOffer();
  const res = await c.request("POST", `/api/live/cameras/${camera}/webrtc`, { offer });
  if (res.status !== 200) {
    await pc.close();
    throw new Error(`offer refused: ${res.status} ${await res.text()}`);
  }
  const { session, answer } = (await res.json()) as { session: string; answer: string };
  const connected = new Promise<void>((resolve) => {
    if (pc.connectionState === "connected") resolve();
    pc.connectionStateChange.subscribe((s) => s === "connected" && resolve());
  });
  await pc.setRemoteDescription({ type: "answer", sdp: answer });
  return { session, pc, units, connected, close: () => pc.close() };
}
