import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { RTCPeerConnection, useH264 } from "werift";
import { iceConfig } from "../../api/live/webrtc.js";
import { H264Depacketizer } from "../../recorder/live/rtp-h264.js";
import type { Simulator } from "../../sim/simulator.js";
import type { Role } from "../../src/auth/roles.js";
import type { Pscsd } from "../../src/compose/daemon.js";
import type { AccessUnit } from "../../src/live/feed.js";
import { writeDaemonConfig } from "./config.js";
import { freePort } from "./ports.js";
import { type Client, openLocalCatalog, seedUsers, startInProcess, TEST_AUTH } from "./pscsd.js";
import { simCameraConfigs, startTestCameras } from "./sim.js";

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

export interface LiveDaemon {
  sim: Simulator;
  daemon: Pscsd;
  /** The first simulated camera: its id and RTSP URL (user `recorder`, `password`). */
  camera: string;
  rtsp: string;
  password: string;
  configFile: string;
  /** Stops pscsd, then the simulator; only the first call does. */
  stop(): Promise<void>;
}

/**
 * pscsd in this process recording the simulator's cameras, WebRTC offered on loopback, the given
 * people seeded; resolves once the first camera is connected.
 */
export async function startLiveDaemon(dir: string, users: Record<string, Role[]>): Promise<LiveDaemon> {
  const password = "Live-Daemon-2026!";
  const sim = await startTestCameras(dir, { user: "recorder", password, fps: 15 });
  writeFileSync(join(dir, "cam.pw"), `${password}\n`);
  const configFile = writeDaemonConfig(dir, {
    httpPort: await freePort(),
    cameras: simCameraConfigs(sim),
    onvif: { heartbeatSeconds: 60, requestTimeoutSeconds: 3 },
    extra: { auth: TEST_AUTH, live: { webrtc: { host: "127.0.0.1" } } },
  });
  const local = openLocalCatalog(configFile);
  await seedUsers(local, users);
  local.close();
  const daemon = await startInProcess({ dir, configFile, httpPort: 0 });
  const first = sim.describe()[0] as { id: string; rtsp: string };
  const end = Date.now() + 15_000;
  while (daemon.cameras.find((c) => c.status().id === first.id)?.status().state !== "connected") {
    if (Date.now() > end) throw new Error(`camera ${first.id} not connected`);
    await new Promise((r) => setTimeout(r, 50));
  }
  let stopped: Promise<void> | undefined;
  return {
    sim,
    daemon,
    camera: first.id,
    rtsp: first.rtsp,
    password,
    configFile,
    stop: () => {
      stopped ??= (async () => {
        await daemon.stop();
        await sim.stop();
      })();
      return stopped;
    },
  };
}
