import { join } from "node:path";
import { type Simulator, startSimulator } from "../../sim/simulator.js";
import { createLogger } from "../../src/log/logger.js";
import { freeSimBase } from "./ports.js";

/** Two small simulated cameras (320x180, WS-Security auth) for daemon tests, state kept under `dir`. */
export async function startTestCameras(
  dir: string,
  o: { user: string; password: string; fps?: number; rtspSessionTimeoutSeconds?: number },
): Promise<Simulator> {
  return startSimulator({
    cameras: 2,
    host: "127.0.0.1",
    basePort: await freeSimBase(2),
    width: 320,
    height: 180,
    fps: o.fps ?? 10,
    user: o.user,
    password: o.password,
    authMode: "wsse",
    rtspSessionTimeoutSeconds: o.rtspSessionTimeoutSeconds,
    stateDir: join(dir, "sim"),
    log: createLogger({ name: "sim", level: "warn" }),
  });
}

/** pscsd's camera entries for every simulated camera, as the user `recorder` with `cam.pw` beside the config. */
export function simCameraConfigs(sim: Simulator) {
  return sim.describe().map((c) => ({
    id: c.id,
    name: c.name,
    port: c.onvif.port,
    user: "recorder",
    passwordFile: "cam.pw",
  }));
}
