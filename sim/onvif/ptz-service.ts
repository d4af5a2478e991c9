import {
  PtzError,
  type PtzModel,
  type PtzPosition,
  SPEED_RANGE,
  TRANSLATION_RANGE,
  VELOCITY_RANGE,
} from "../ptz.js";
import { type CameraIdentity, type Operation, TOKENS } from "./context.js";
import {
  attr,
  child,
  esc,
  formatDuration,
  parseBoolean,
  parseDuration,
  requireText,
  SoapFault,
  text,
  type XmlNode,
} from "./soap.js";

/** ONVIF PTZ service (tptz, ver20) over the simulated mechanism, in the generic spaces only. */

const SPACE = {
  absPanTilt: "http://www.onvif.org/ver10/tptz/PanTiltSpaces/PositionGenericSpace",
  absZoom: "http://www.onvif.org/ver10/tptz/ZoomSpaces/PositionGenericSpace",
  relPanTilt: "http://www.onvif.org/ver10/tptz/PanTiltSpaces/TranslationGenericSpace",
  relZoom: "http://www.onvif.org/ver10/tptz/ZoomSpaces/TranslationGenericSpace",
  velPanTilt: "http://www.onvif.org/ver10/tptz/PanTiltSpaces/VelocityGenericSpace",
  velZoom: "http://www.onvif.org/ver10/tptz/ZoomSpaces/VelocityGenericSpace",
  speedPanTilt: "http://www.onvif.org/ver10/tptz/PanTiltSpaces/GenericSpeedSpace",
  speedZoom: "http://www.onvif.org/ver10/tptz/ZoomSpaces/ZoomGenericSpeedSpace",
} as const;

const range = (tag: string, [min, max]: [number, number]) =>
  `<tt:${tag}><tt:Min>${min}</tt:Min><tt:Max>${max}</tt:Max></tt:${tag}>`;
const space2d = (tag: string, uri: string, x: [number, number], y: [number, number]) =>
  `<tt:${tag}><tt:URI>${uri}</tt:URI>${range("XRange", x)}${range("YRange", y)}</tt:${tag}>`;
const space1d = (tag: string, uri: string, x: [number, number]) =>
  `<tt:${tag}><tt:URI>${uri}</tt:URI>${range("XRange", x)}</tt:${tag}>`;

function spaces(ptz: PtzModel): string {
  const l = ptz.limits;
  return (
    space2d("AbsolutePanTiltPositionSpace", SPACE.absPanTilt, l.pan, l.tilt) +
    space1d("AbsoluteZoomPositionSpace", SPACE.absZoom, l.zoom) +
    space2d("RelativePanTiltTranslationSpace", SPACE.relPanTilt, TRANSLATION_RANGE, TRANSLATION_RANGE) +
    space1d("RelativeZoomTranslationSpace", SPACE.relZoom, TRANSLATION_RANGE) +
    space2d("ContinuousPanTiltVelocitySpace", SPACE.velPanTilt, VELOCITY_RANGE, VELOCITY_RANGE) +
    space1d("ContinuousZoomVelocitySpace", SPACE.velZoom, VELOCITY_RANGE) +
    space1d("PanTiltSpeedSpace", SPACE.speedPanTilt, SPEED_RANGE) +
    space1d("ZoomSpeedSpace", SPACE.speedZoom, SPEED_RANGE)
  );
}

const vector = (p: PtzPosition, ptSpace: string, zSpace: string) =>
  `<tt:PanTilt x="${p.pan}" y="${p.tilt}" space="${ptSpace}"/><tt:Zoom x="${p.zoom}" space="${zSpace}"/>`;

/** The PTZConfiguration element (inner XML) shared by GetProfiles and GetConfigurations. */
export function ptzConfigurationXml(ptz: PtzModel): string {
  const l = ptz.limits;
  return (
    `<tt:Name>PTZ</tt:Name><tt:UseCount>1</tt:UseCount><tt:NodeToken>${TOKENS.ptzNode}</tt:NodeToken>` +
    // "PantTilt" is the ONVIF schema's own spelling of this element.
    `<tt:DefaultAbsolutePantTiltPositionSpace>${SPACE.absPanTilt}</tt:DefaultAbsolutePantTiltPositionSpace>` +
    `<tt:DefaultAbsoluteZoomPositionSpace>${SPACE.absZoom}</tt:DefaultAbsoluteZoomPositionSpace>` +
    `<tt:DefaultRelativePanTiltTranslationSpace>${SPACE.relPanTilt}</tt:DefaultRelativePanTiltTranslationSpace>` +
    `<tt:DefaultRelativeZoomTranslationSpace>${SPACE.relZoom}</tt:DefaultRelativeZoomTranslationSpace>` +
    `<tt:DefaultContinuousPanTiltVelocitySpace>${SPACE.velPanTilt}</tt:DefaultContinuousPanTiltVelocitySpace>` +
    `<tt:DefaultContinuousZoomVelocitySpace>${SPACE.velZoom}</tt:DefaultContinuousZoomVelocitySpace>` +
    `<tt:DefaultPTZSpeed><tt:PanTilt x="1" y="1" space="${SPACE.speedPanTilt}"/><tt:Zoom x="1" space="${SPACE.speedZoom}"/></tt:DefaultPTZSpeed>` +
    `<tt:DefaultPTZTimeout>${formatDuration(ptz.defaultTimeoutMs)}</tt:DefaultPTZTimeout>` +
    `<tt:PanTiltLimits>${space2d("Range", SPACE.absPanTilt, l.pan, l.tilt)}</tt:PanTiltLimits>` +
    `<tt:ZoomLimits>${space1d("Range", SPACE.absZoom, l.zoom)}</tt:ZoomLimits>`
  );
}

function number(node: XmlNode | undefined, name: string, where: string): number | undefined {
  const raw = attr(node, name);
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(v)) {
    throw new SoapFault("env:Sender", ["ter:InvalidArgVal"], `${where}: ${name}='${raw}' is not a number`);
  }
  return v;
}

/** The coordinate spaces a vector may name; only the generic ones exist on this camera. */
interface VectorSpaces {
  panTilt: string;
  zoom: string;
}
const POSITION: VectorSpaces = { panTilt: SPACE.absPanTilt, zoom: SPACE.absZoom };
const TRANSLATION: VectorSpaces = { panTilt: SPACE.relPanTilt, zoom: SPACE.relZoom };
const VELOCITY: VectorSpaces = { panTilt: SPACE.velPanTilt, zoom: SPACE.velZoom };
const SPEED: VectorSpaces = { panTilt: SPACE.speedPanTilt, zoom: SPACE.speedZoom };

function checkSpace(node: XmlNode | undefined, expected: string, where: string): void {
  const space = attr(node, "space");
  if (space !== undefined && space !== expected) {
    throw new SoapFault(
      "env:Sender",
      ["ter:InvalidArgVal", "ter:SpaceNotSupported"],
      `${where}: space '${space}' is not supported (use ${expected})`,
    );
  }
}

/** Reads a PTZVector/PTZSpeed element: PanTilt x/y and Zoom x attributes, each optional. */
/** A vector the request must carry (AbsoluteMove's Position, RelativeMove's Translation). */
function requiredVector(body: XmlNode | undefined, name: string, spaces: VectorSpaces): Partial<PtzPosition> {
  const node = child(body, name);
  if (!node) throw new SoapFault("env:Sender", ["ter:InvalidArgVal"], `missing ${name}`);
  return readVector(node, name, spaces);
}

function readVector(node: XmlNode | undefined, where: string, spaces: VectorSpaces): Partial<PtzPosition> {
  const pt = child(node, "PanTilt");
  const z = child(node, "Zoom");
  checkSpace(pt, spaces.panTilt, `${where}/PanTilt`);
  checkSpace(z, spaces.zoom, `${where}/Zoom`);
  const out: Partial<PtzPosition> = {};
  const pan = number(pt, "x", `${where}/PanTilt`);
  const tilt = number(pt, "y", `${where}/PanTilt`);
  const zoom = number(z, "x", `${where}/Zoom`);
  if (pan !== undefined) out.pan = pan;
  if (tilt !== undefined) out.tilt = tilt;
  if (zoom !== undefined) out.zoom = zoom;
  return out;
}

function checkProfile(body: XmlNode): void {
  const token = requireText(body, "ProfileToken");
  if (token !== TOKENS.profile) {
    throw new SoapFault("env:Sender", ["ter:InvalidArgVal", "ter:NoProfile"], `no profile '${token}'`);
  }
}

/** Runs a mechanism call, turning its refusals into the ONVIF faults a camera sends. */
function mechanism(action: () => void): void {
  try {
    action();
  } catch (e) {
    if (!(e instanceof PtzError)) throw e;
    const receiver = e.subcode === "ter:TooManyPresets";
    throw new SoapFault(
      receiver ? "env:Receiver" : "env:Sender",
      [receiver ? "ter:Action" : "ter:InvalidArgVal", e.subcode],
      e.message,
    );
  }
}

const presetXml = (p: { token: string; name: string; position: PtzPosition }) =>
  `<tptz:Preset token="${esc(p.token)}"><tt:Name>${esc(p.name)}</tt:Name><tt:PTZPosition>${vector(p.position, SPACE.absPanTilt, SPACE.absZoom)}</tt:PTZPosition></tptz:Preset>`;

const nodeXml = (cam: CameraIdentity) =>
  `<tt:Name>PTZ</tt:Name><tt:SupportedPTZSpaces>${spaces(cam.ptz)}</tt:SupportedPTZSpaces>` +
  `<tt:MaximumNumberOfPresets>${cam.ptz.maxPresets}</tt:MaximumNumberOfPresets><tt:HomeSupported>true</tt:HomeSupported>`;

function checkNode(body: XmlNode): void {
  const token = requireText(body, "NodeToken");
  if (token !== TOKENS.ptzNode)
    throw new SoapFault("env:Sender", ["ter:InvalidArgVal", "ter:NoEntity"], `no PTZ node '${token}'`);
}

function checkConfig(body: XmlNode, field: string): void {
  const token = requireText(body, field);
  if (token !== TOKENS.ptzConfig) {
    throw new SoapFault(
      "env:Sender",
      ["ter:InvalidArgVal", "ter:NoConfig"],
      `no PTZ configuration '${token}'`,
    );
  }
}

export const ptzOperations: Record<string, Operation> = {
  GetNodes: (_req, cam) =>
    `<tptz:PTZNode token="${TOKENS.ptzNode}" FixedHomePosition="false" GeoMove="false">${nodeXml(cam)}</tptz:PTZNode>`,

  GetNode: (req, cam) => {
    checkNode(req.body);
    return `<tptz:PTZNode token="${TOKENS.ptzNode}" FixedHomePosition="false" GeoMove="false">${nodeXml(cam)}</tptz:PTZNode>`;
  },

  GetConfigurations: (_req, cam) =>
    `<tptz:PTZConfiguration token="${TOKENS.ptzConfig}">${ptzConfigurationXml(cam.ptz)}</tptz:PTZConfiguration>`,

  GetConfiguration: (req, cam) => {
    checkConfig(req.body, "PTZConfigurationToken");
    return `<tptz:PTZConfiguration token="${TOKENS.ptzConfig}">${ptzConfigurationXml(cam.ptz)}</tptz:PTZConfiguration>`;
  },

  GetConfigurationOptions: (req, cam) => {
    checkConfig(req.body, "ConfigurationToken");
    return (
      `<tptz:PTZConfigurationOptions><tt:Spaces>${spaces(cam.ptz)}</tt:Spaces>` +
      `<tt:PTZTimeout><tt:Min>${formatDuration(cam.ptz.minTimeoutMs)}</tt:Min><tt:Max>${formatDuration(cam.ptz.maxTimeoutMs)}</tt:Max></tt:PTZTimeout></tptz:PTZConfigurationOptions>`
    );
  },

  GetStatus: (req, cam) => {
    checkProfile(req.body);
    const s = cam.ptz.status();
    return (
      `<tptz:PTZStatus><tt:Position>${vector(s.position, SPACE.absPanTilt, SPACE.absZoom)}</tt:Position>` +
      `<tt:MoveStatus><tt:PanTilt>${s.moveStatus.panTilt}</tt:PanTilt><tt:Zoom>${s.moveStatus.zoom}</tt:Zoom></tt:MoveStatus>` +
      `<tt:UtcTime>${new Date(cam.clock()).toISOString()}</tt:UtcTime></tptz:PTZStatus>`
    );
  },

  ContinuousMove: (req, cam) => {
    checkProfile(req.body);
    const velocity = readVector(child(req.body, "Velocity"), "Velocity", VELOCITY);
    const timeout = text(req.body, "Timeout");
    mechanism(() => cam.ptz.continuousMove(velocity, timeout ? parseDuration(timeout) : undefined));
    return "";
  },

  AbsoluteMove: (req, cam) => {
    checkProfile(req.body);
    const target = requiredVector(req.body, "Position", POSITION);
    const speed = readVector(child(req.body, "Speed"), "Speed", SPEED);
    mechanism(() => cam.ptz.absoluteMove(target, speed));
    return "";
  },

  RelativeMove: (req, cam) => {
    checkProfile(req.body);
    const by = requiredVector(req.body, "Translation", TRANSLATION);
    const speed = readVector(child(req.body, "Speed"), "Speed", SPEED);
    mechanism(() => cam.ptz.relativeMove(by, speed));
    return "";
  },

  Stop: (req, cam) => {
    checkProfile(req.body);
    // An absent flag means "stop that too" (PTZ spec, Stop).
    const flag = (name: string) => parseBoolean(text(req.body, name) ?? "true");
    cam.ptz.stop(flag("PanTilt"), flag("Zoom"));
    return "";
  },

  GetPresets: (req, cam) => {
    checkProfile(req.body);
    return cam.ptz.presets().map(presetXml).join("");
  },

  SetPreset: (req, cam) => {
    checkProfile(req.body);
    let token = "";
    mechanism(() => {
      token = cam.ptz.setPreset(
        text(req.body, "PresetName") || undefined,
        text(req.body, "PresetToken") || undefined,
      );
    });
    return `<tptz:PresetToken>${esc(token)}</tptz:PresetToken>`;
  },

  GotoPreset: (req, cam) => {
    checkProfile(req.body);
    const token = requireText(req.body, "PresetToken");
    const speed = readVector(child(req.body, "Speed"), "Speed", SPEED);
    mechanism(() => cam.ptz.gotoPreset(token, speed));
    return "";
  },

  RemovePreset: (req, cam) => {
    checkProfile(req.body);
    const token = requireText(req.body, "PresetToken");
    mechanism(() => cam.ptz.removePreset(token));
    return "";
  },

  GotoHomePosition: (req, cam) => {
    checkProfile(req.body);
    const speed = readVector(child(req.body, "Speed"), "Speed", SPEED);
    mechanism(() => cam.ptz.gotoHome(speed));
    return "";
  },

  SetHomePosition: (req, cam) => {
    checkProfile(req.body);
    cam.ptz.setHome();
    return "";
  },
};
