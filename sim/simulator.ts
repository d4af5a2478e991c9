import { SimCamera, type SimCameraOptions } from "./camera.js";
import { ControlServer } from "./control.js";
import { DiscoveryResponder, WS_DISCOVERY } from "./onvif/discovery.js";
import { RtspServer } from "./rtsp/server.js";

/**
 * N simulated cameras on one host, with one RTSP server process and one fault-control endpoint.
 * Port plan from one base B, camera i (0-based): ONVIF B+i, RTSP B+100+i, RTP (UDP, loopback) B+200+i;
 * control B+99; WS-Discovery on UDP 3702 (shared: every simulator on the host answers a probe).
 * Invariant: stop() leaves no child process behind (encoders, RTSP server).
 */

export interface SimulatorOptions
  extends Pick<
    SimCameraOptions,
    "host" | "width" | "height" | "fps" | "user" | "password" | "authMode" | "stateDir" | "log"
  > {
  cameras: number;
  basePort: number;
  /** Answer WS-Discovery probes on UDP 3702 (default true). */
  discovery?: boolean;
  /** RTSP sessions not kept alive this long are expired (default 60, as cameras). */
  rtspSessionTimeoutSeconds?: number;
}

export interface Simulator {
  controlUrl: string;
  cameras: SimCamera[];
  rtsp: RtspServer;
  describe(): ReturnType<SimCamera["describe"]>[];
  stop(): Promise<void>;
}

/** Camera names the demo shows: the street each simulated camera looks at. */
const STREETS = [
  "Main St & Broadway",
  "City Hall Plaza",
  "Chelsea Parade",
  "Franklin Square",
  "Water St Garage",
  "Howard T Brown Park",
  "Union Square",
  "Thames River Pier",
];

export const portsFor = (base: number, i: number) => ({
  onvif: base + i,
  rtsp: base + 100 + i,
  rtp: base + 200 + i,
});

export async function startSimulator(o: SimulatorOptions): Promise<Simulator> {
  if (o.cameras < 1 || o.cameras > 64) throw new RangeError(`cameras: expected 1-64, got ${o.cameras}`);
  const specs = Array.from({ length: o.cameras }, (_, i) => ({
    id: `cam${i + 1}`,
    name: STREETS[i % STREETS.length] + (i >= STREETS.length ? ` ${Math.floor(i / STREETS.length) + 1}` : ""),
    ...portsFor(o.basePort, i),
  }));
  const rtsp = new RtspServer(
    o.host,
    specs.map((s) => ({ id: s.id, rtspPort: s.rtsp, rtpPort: s.rtp, path: "/stream" })),
    { user: o.user, password: o.password },
    o.log.child({ component: "rtsp" }),
    o.rtspSessionTimeoutSeconds,
  );
  await rtsp.start();
  const cameras = specs.map(
    (s) =>
      new SimCamera({
        id: s.id,
        name: s.name,
        host: o.host,
        onvifPort: s.onvif,
        rtspPort: s.rtsp,
        rtpPort: s.rtp,
        width: o.width,
        height: o.height,
        fps: o.fps,
        user: o.user,
        password: o.password,
        authMode: o.authMode,
        stateDir: o.stateDir,
        rtsp,
        log: o.log,
      }),
  );
  const control = new ControlServer(cameras, o.log.child({ component: "control" }));
  const discovery =
    o.discovery === false
      ? undefined
      : new DiscoveryResponder({
          host: o.host,
          devices: () => cameras.flatMap((c) => c.onvif.discoverable() ?? []),
          log: o.log.child({ component: "discovery" }),
        });
  const stopAll = async () => {
    await discovery?.stop();
    await control.close();
    await Promise.all(cameras.map((c) => c.stop()));
    await rtsp.stop();
  };
  try {
    for (const c of cameras) await c.start();
    const controlUrl = await control.listen(o.basePort + 99, o.host);
    // Discovery is a convenience for installers, not a camera function: the cameras work without it.
    await discovery?.start().catch((err: unknown) => {
      o.log.warn({ err }, `WS-Discovery unavailable (UDP ${WS_DISCOVERY.port}): probes will go unanswered`);
    });
    o.log.info({ cameras: cameras.length, controlUrl }, "simulator ready");
    return { controlUrl, cameras, rtsp, describe: () => cameras.map((c) => c.describe()), stop: stopAll };
  } catch (e) {
    await stopAll();
    throw e;
  }
}
