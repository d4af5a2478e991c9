import { OnvifServer } from "../../sim/onvif/server.js";
import { PtzModel } from "../../sim/ptz.js";
import { OnvifCamera } from "../../src/cameras/onvif-client.js";
import { PtzCamera } from "../../src/cameras/ptz.js";
import { createLogger } from "../../src/log/logger.js";

/**
 * One simulated camera's ONVIF service around a PTZ model the test reads directly, and pscsd's PTZ
 * client for it through the real `onvif` package: what a command did is read from the mechanism,
 * not from what the client says.
 */
export interface SimPtzCamera {
  model: PtzModel;
  server: OnvifServer;
  /** Starts the service and connects the client. */
  connect(): Promise<PtzCamera>;
  /** The model's position once pan, tilt and zoom are all idle; throws if still moving after `tries` × 20 ms. */
  settled(tries?: number): Promise<ReturnType<PtzModel["position"]>>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function simPtzCamera(maxSpeed: { pan: number; tilt: number; zoom: number }): SimPtzCamera {
  const model = new PtzModel({ maxSpeed });
  const server = new OnvifServer({
    name: "PTZ Cam",
    host: "127.0.0.1",
    port: 0,
    user: "admin",
    password: "Sim-Passw0rd!",
    rtspPort: 8554,
    width: 640,
    height: 360,
    fps: 15,
    ptz: model,
    log: createLogger({ name: "test", level: "silent" }),
  });
  return {
    model,
    server,
    async connect() {
      await server.start();
      const session = new OnvifCamera({
        host: "127.0.0.1",
        port: server.port,
        user: "admin",
        password: "Sim-Passw0rd!",
        timeoutMs: 3000,
      });
      await session.connect();
      return new PtzCamera(session);
    },
    async settled(tries = 100) {
      for (let i = 0; i < tries; i++) {
        const s = model.status().moveStatus;
        if (s.panTilt === "IDLE" && s.zoom === "IDLE") return model.position();
        await sleep(20);
      }
      throw new Error("still moving");
    },
  };
}
