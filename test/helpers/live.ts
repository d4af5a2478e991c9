import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Simulator } from "../../sim/simulator.js";
import type { Role } from "../../src/auth/roles.js";
import type { Pscsd } from "../../src/compose/daemon.js";
import { writeDaemonConfig } from "./config.js";
import { freePort } from "./ports.js";
import { openLocalCatalog, seedUsers, startInProcess, TEST_AUTH } from "./pscsd.js";
import { simCameraConfigs, startTestCameras } from "./sim.js";

/**
 * Live view stacks for tests: the simulator's cameras and a pscsd config recording them (`cam.pw`
 * beside it, the given people seeded), pscsd in this process on it, and the MSE socket's URL and a
 * viewer of it that reads nothing.
 */

/**
 * The people the live tests sign in as: two dispatchers to watch and share, two whose sign-in an
 * admin ends or whose video.live is taken away, someone without video.live, an admin.
 */
export const LIVE_PEOPLE: Record<string, Role[]> = {
  disp1: ["dispatcher"],
  disp2: ["dispatcher"],
  disp3: ["dispatcher"],
  disp4: ["dispatcher"],
  rec1: ["records"],
  adm1: ["admin"],
};

export interface LiveStackOptions {
  users: Record<string, Role[]>;
  /** The simulator's frame rate (10). */
  fps?: number;
  /** Configure only the first camera (one recorder, as a soak measures it). */
  oneCamera?: boolean;
  /** The config's `live` section; sign-ins are re-checked every second unless it says otherwise. */
  live?: Record<string, unknown>;
  /** Further top-level config sections. */
  extra?: Record<string, unknown>;
}

export interface LiveConfig {
  sim: Simulator;
  configFile: string;
  /** The first simulated camera: its id and RTSP URL (user `recorder`, `password`). */
  camera: string;
  rtsp: string;
  password: string;
}

export async function liveConfig(dir: string, o: LiveStackOptions): Promise<LiveConfig> {
  const password = "Live-Stack-2026!";
  const sim = await startTestCameras(dir, { user: "recorder", password, fps: o.fps ?? 10 });
  writeFileSync(join(dir, "cam.pw"), `${password}\n`);
  const cameras = simCameraConfigs(sim);
  const configFile = writeDaemonConfig(dir, {
    httpPort: await freePort(),
    cameras: o.oneCamera ? cameras.slice(0, 1) : cameras,
    onvif: { heartbeatSeconds: 60, requestTimeoutSeconds: 3 },
    extra: {
      auth: TEST_AUTH,
      live: { webrtc: { host: "127.0.0.1" }, sessionCheckSeconds: 1, ...o.live },
      ...o.extra,
    },
  });
  const local = openLocalCatalog(configFile);
  try {
    await seedUsers(local, o.users);
  } finally {
    local.close();
  }
  const first = sim.describe()[0] as { id: string; rtsp: string };
  return { sim, configFile, camera: first.id, rtsp: first.rtsp, password };
}

export interface LiveDaemon extends LiveConfig {
  daemon: Pscsd;
  /** Stops pscsd, then the simulator; only the first call does. */
  stop(): Promise<void>;
}

/** pscsd in this process on a live stack; resolves once the first camera is connected. */
export async function startLiveDaemon(dir: string, o: LiveStackOptions): Promise<LiveDaemon> {
  const stack = await liveConfig(dir, o);
  const daemon = await startInProcess({ dir, configFile: stack.configFile, httpPort: 0 });
  const end = Date.now() + 15_000;
  while (daemon.cameras.find((c) => c.status().id === stack.camera)?.status().state !== "connected") {
    if (Date.now() > end) throw new Error(`camera ${stack.camera} not connected`);
    await new Promise((r) => setTimeout(r, 50));
  }
  let stopped: Promise<void> | undefined;
  return {
    ...stack,
    daemon,
    stop: () => {
      stopped ??= (async () => {
        await daemon.stop();
        await stack.sim.stop();
      })();
      return stopped;
    },
  };
}

/** The MSE live socket of `camera` on the pscsd at `origin`. */
export const mseUrl = (origin: string, camera: string) =>
  `${origin.replace(/^http/, "ws")}/api/live/cameras/${camera}/mse`;

// Its small receive buffer and segment size (Node sets neither) keep both kernels' buffers for it to
// kilobytes: on loopback's 64 KiB segments pscsd's send buffer would grow to megabytes of the stream.
const STUCK_VIEWER = `
import socket, sys, time
host, port, path, origin, cookie = sys.argv[1:6]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 536)
s.connect((host, int(port)))
s.sendall(("GET %s HTTP/1.1\\r\\nHost: %s:%s\\r\\nOrigin: %s\\r\\nCookie: %s\\r\\nUpgrade: websocket\\r\\n"
  "Connection: Upgrade\\r\\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\\r\\nSec-WebSocket-Version: 13\\r\\n\\r\\n"
  % (path, host, port, origin, cookie)).encode())
print(s.recv(12).decode(), flush=True)
time.sleep(600)
`;

/**
 * A viewer that upgrades the MSE socket and then reads nothing (a child the caller kills); `head`
 * is the first bytes of pscsd's answer (`HTTP/1.1 101` when upgraded).
 */
export async function stuckViewer(
  url: string,
  origin: string,
  cookie: string,
): Promise<{ head: string; child: ChildProcess }> {
  const u = new URL(url);
  const child = spawn("python3", ["-c", STUCK_VIEWER, u.hostname, u.port, u.pathname, origin, cookie], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const head = await new Promise<string>((r) => child.stdout?.once("data", (d: Buffer) => r(d.toString())));
  return { head, child };
}
