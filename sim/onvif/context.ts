import type { PtzModel } from "../ptz.js";
import type { SoapRequest } from "./soap.js";

/** The ONVIF services the simulated camera offers. */
export type Service = "device" | "media" | "ptz";

/** What every ONVIF service handler may know about the camera it answers for. */
export interface CameraIdentity {
  name: string;
  serialNumber: string;
  width: number;
  height: number;
  fps: number;
  ptz: PtzModel;
  /** The camera's own clock (may be skewed on purpose), epoch ms. */
  clock: () => number;
  /** Service and stream addresses as seen by this client: built from the Host header it used. */
  xaddr: (service: Service) => string;
  rtspUri: () => string;
  snapshotUri: () => string;
}

/** An ONVIF operation: request in, inner XML of the response element out. */
export type Operation = (req: SoapRequest, cam: CameraIdentity) => string;

/** Tokens of the one media profile, video source and PTZ node the simulated camera has. */
export const TOKENS = {
  profile: "profile_main",
  videoSource: "video_source_1",
  videoSourceConfig: "vsc_1",
  videoEncoderConfig: "vec_1",
  ptzConfig: "ptz_config_1",
  ptzNode: "ptz_node_1",
} as const;
