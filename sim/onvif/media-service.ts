import { type CameraIdentity, type Operation, TOKENS } from "./context.js";
import { ptzConfigurationXml } from "./ptz-service.js";
import { child, esc, requireText, SoapFault, text, type XmlNode } from "./soap.js";

/** ONVIF media service (trt, ver10): the one H.264 profile, its video source and its URIs. */

function profileXml(cam: CameraIdentity): string {
  const gov = cam.fps; // one-second GOP, as the encoder is configured
  return (
    `<tt:Name>main</tt:Name>` +
    `<tt:VideoSourceConfiguration token="${TOKENS.videoSourceConfig}"><tt:Name>VideoSource</tt:Name><tt:UseCount>1</tt:UseCount>` +
    `<tt:SourceToken>${TOKENS.videoSource}</tt:SourceToken><tt:Bounds x="0" y="0" width="${cam.width}" height="${cam.height}"/></tt:VideoSourceConfiguration>` +
    `<tt:VideoEncoderConfiguration token="${TOKENS.videoEncoderConfig}"><tt:Name>H264</tt:Name><tt:UseCount>1</tt:UseCount>` +
    `<tt:Encoding>H264</tt:Encoding><tt:Resolution><tt:Width>${cam.width}</tt:Width><tt:Height>${cam.height}</tt:Height></tt:Resolution>` +
    `<tt:Quality>5</tt:Quality><tt:RateControl><tt:FrameRateLimit>${cam.fps}</tt:FrameRateLimit><tt:EncodingInterval>1</tt:EncodingInterval><tt:BitrateLimit>1000</tt:BitrateLimit></tt:RateControl>` +
    `<tt:H264><tt:GovLength>${gov}</tt:GovLength><tt:H264Profile>Main</tt:H264Profile></tt:H264>` +
    `<tt:Multicast><tt:Address><tt:Type>IPv4</tt:Type><tt:IPv4Address>0.0.0.0</tt:IPv4Address></tt:Address><tt:Port>0</tt:Port><tt:TTL>1</tt:TTL><tt:AutoStart>false</tt:AutoStart></tt:Multicast>` +
    `<tt:SessionTimeout>PT60S</tt:SessionTimeout></tt:VideoEncoderConfiguration>` +
    `<tt:PTZConfiguration token="${TOKENS.ptzConfig}">${ptzConfigurationXml(cam.ptz)}</tt:PTZConfiguration>`
  );
}

function checkProfile(token: string): void {
  if (token !== TOKENS.profile)
    throw new SoapFault("env:Sender", ["ter:InvalidArgVal", "ter:NoProfile"], `no profile '${token}'`);
}

/** The RTSP server does unicast RTP over UDP, TCP or RTSP-interleaved; not multicast, not HTTP tunnels. */
function checkStreamSetup(setup: XmlNode | undefined): void {
  const stream = text(setup, "Stream") ?? "RTP-Unicast";
  const protocol = text(child(setup, "Transport"), "Protocol") ?? "RTSP";
  if (stream !== "RTP-Unicast" || !["UDP", "TCP", "RTSP"].includes(protocol)) {
    throw new SoapFault(
      "env:Sender",
      ["ter:InvalidArgVal", "ter:InvalidStreamSetup"],
      `stream setup ${stream} over ${protocol} is not supported`,
    );
  }
}

const mediaUri = (uri: string) =>
  `<trt:MediaUri><tt:Uri>${esc(uri)}</tt:Uri><tt:InvalidAfterConnect>false</tt:InvalidAfterConnect><tt:InvalidAfterReboot>false</tt:InvalidAfterReboot><tt:Timeout>PT0S</tt:Timeout></trt:MediaUri>`;

export const mediaOperations: Record<string, Operation> = {
  GetProfiles: (_req, cam) =>
    `<trt:Profiles token="${TOKENS.profile}" fixed="true">${profileXml(cam)}</trt:Profiles>`,

  GetProfile: (req, cam) => {
    checkProfile(requireText(req.body, "ProfileToken"));
    return `<trt:Profile token="${TOKENS.profile}" fixed="true">${profileXml(cam)}</trt:Profile>`;
  },

  GetVideoSources: (_req, cam) =>
    `<trt:VideoSources token="${TOKENS.videoSource}"><tt:Framerate>${cam.fps}</tt:Framerate>` +
    `<tt:Resolution><tt:Width>${cam.width}</tt:Width><tt:Height>${cam.height}</tt:Height></tt:Resolution></trt:VideoSources>`,

  GetStreamUri: (req, cam) => {
    checkProfile(requireText(req.body, "ProfileToken"));
    checkStreamSetup(child(req.body, "StreamSetup"));
    return mediaUri(cam.rtspUri());
  },

  GetSnapshotUri: (req, cam) => {
    checkProfile(requireText(req.body, "ProfileToken"));
    return mediaUri(cam.snapshotUri());
  },
};
