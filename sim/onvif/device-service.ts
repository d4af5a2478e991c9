import type { CameraIdentity, Operation, Service } from "./context.js";
import { esc, NS, parseBoolean, SoapFault, text, texts } from "./soap.js";

/** ONVIF device management (tds): identity, time, services, capabilities, scopes. */

function dateTime(ms: number): string {
  const d = new Date(ms);
  return (
    `<tt:Time><tt:Hour>${d.getUTCHours()}</tt:Hour><tt:Minute>${d.getUTCMinutes()}</tt:Minute><tt:Second>${d.getUTCSeconds()}</tt:Second></tt:Time>` +
    `<tt:Date><tt:Year>${d.getUTCFullYear()}</tt:Year><tt:Month>${d.getUTCMonth() + 1}</tt:Month><tt:Day>${d.getUTCDate()}</tt:Day></tt:Date>`
  );
}

/** The camera's scopes: GetScopes lists them, and WS-Discovery's ProbeMatches carry them. */
export function deviceScopes(name: string): ["Fixed" | "Configurable", string][] {
  return [
    ["Fixed", "onvif://www.onvif.org/type/video_encoder"],
    ["Fixed", "onvif://www.onvif.org/type/ptz"],
    ["Fixed", "onvif://www.onvif.org/Profile/Streaming"],
    ["Fixed", "onvif://www.onvif.org/hardware/SIM-PTZ-1"],
    ["Configurable", `onvif://www.onvif.org/name/${encodeURIComponent(name)}`],
    ["Configurable", "onvif://www.onvif.org/location/city/Norwich"],
  ];
}

const version = (major: number, minor: number) =>
  `<tds:Version><tt:Major>${major}</tt:Major><tt:Minor>${minor}</tt:Minor></tds:Version>`;

/** A service's own Capabilities element, as GetServiceCapabilities of that service would return it. */
function serviceCapabilities(service: Service): string {
  switch (service) {
    case "device":
      return (
        '<tds:Capabilities><tds:Network IPFilter="false" ZeroConfiguration="false" IPVersion6="false" DynDNS="false"/>' +
        '<tds:Security TLS1.2="false" UsernameToken="true" HttpDigest="true" DefaultAccessPolicy="false"/>' +
        '<tds:System DiscoveryResolve="false" DiscoveryBye="false" RemoteDiscovery="false" SystemBackup="false" SystemLogging="false" FirmwareUpgrade="false"/>' +
        "</tds:Capabilities>"
      );
    case "media":
      return (
        '<trt:Capabilities SnapshotUri="true" Rotation="false" VideoSourceMode="false" OSD="false">' +
        '<trt:ProfileCapabilities MaximumNumberOfProfiles="1"/>' +
        '<trt:StreamingCapabilities RTPMulticast="false" RTP_TCP="true" RTP_RTSP_TCP="true" NonAggregateControl="false"/>' +
        "</trt:Capabilities>"
      );
    case "ptz":
      return '<tptz:Capabilities EFlip="false" Reverse="false" GetCompatibleConfigurations="false" MoveStatus="true" StatusPosition="true"/>';
  }
}

/** GetCapabilities' per-category elements (the pre-GetServices way of finding the services). */
function categoryCapabilities(category: "Device" | "Media" | "PTZ", cam: CameraIdentity): string {
  switch (category) {
    case "Device":
      return (
        `<tt:Device><tt:XAddr>${esc(cam.xaddr("device"))}</tt:XAddr>` +
        "<tt:Network><tt:IPFilter>false</tt:IPFilter><tt:ZeroConfiguration>false</tt:ZeroConfiguration><tt:IPVersion6>false</tt:IPVersion6><tt:DynDNS>false</tt:DynDNS></tt:Network>" +
        "<tt:System><tt:DiscoveryResolve>false</tt:DiscoveryResolve><tt:DiscoveryBye>false</tt:DiscoveryBye><tt:RemoteDiscovery>false</tt:RemoteDiscovery><tt:SystemBackup>false</tt:SystemBackup><tt:SystemLogging>false</tt:SystemLogging><tt:FirmwareUpgrade>false</tt:FirmwareUpgrade>" +
        "<tt:SupportedVersions><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor></tt:SupportedVersions></tt:System>" +
        "<tt:Security><tt:TLS1.1>false</tt:TLS1.1><tt:TLS1.2>false</tt:TLS1.2><tt:OnboardKeyGeneration>false</tt:OnboardKeyGeneration><tt:AccessPolicyConfig>false</tt:AccessPolicyConfig><tt:X.509Token>false</tt:X.509Token><tt:SAMLToken>false</tt:SAMLToken><tt:KerberosToken>false</tt:KerberosToken><tt:RELToken>false</tt:RELToken></tt:Security>" +
        "</tt:Device>"
      );
    case "Media":
      return (
        `<tt:Media><tt:XAddr>${esc(cam.xaddr("media"))}</tt:XAddr>` +
        "<tt:StreamingCapabilities><tt:RTPMulticast>false</tt:RTPMulticast><tt:RTP_TCP>true</tt:RTP_TCP><tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP></tt:StreamingCapabilities></tt:Media>"
      );
    case "PTZ":
      return `<tt:PTZ><tt:XAddr>${esc(cam.xaddr("ptz"))}</tt:XAddr></tt:PTZ>`;
  }
}

const CATEGORIES = ["Device", "Media", "PTZ"] as const;

export const deviceOperations: Record<string, Operation> = {
  GetSystemDateAndTime: (_req, cam) => {
    const now = cam.clock();
    return (
      "<tds:SystemDateAndTime><tt:DateTimeType>NTP</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings>" +
      `<tt:TimeZone><tt:TZ>UTC0</tt:TZ></tt:TimeZone><tt:UTCDateTime>${dateTime(now)}</tt:UTCDateTime>` +
      `<tt:LocalDateTime>${dateTime(now)}</tt:LocalDateTime></tds:SystemDateAndTime>`
    );
  },

  GetDeviceInformation: (_req, cam) =>
    `<tds:Manufacturer>PSCS Sim</tds:Manufacturer><tds:Model>SIM-PTZ-1</tds:Model><tds:FirmwareVersion>1.0.0</tds:FirmwareVersion>` +
    `<tds:SerialNumber>${esc(cam.serialNumber)}</tds:SerialNumber><tds:HardwareId>sim-ptz</tds:HardwareId>`,

  GetServices: (req, cam) => {
    const include = parseBoolean(text(req.body, "IncludeCapability") ?? "false");
    // Service/Capabilities wraps the service's own Capabilities element (device WSDL, GetServices).
    const entry = (ns: string, service: Service) =>
      `<tds:Service><tds:Namespace>${ns}</tds:Namespace><tds:XAddr>${esc(cam.xaddr(service))}</tds:XAddr>` +
      (include ? `<tds:Capabilities>${serviceCapabilities(service)}</tds:Capabilities>` : "") +
      `${version(2, 60)}</tds:Service>`;
    return entry(NS.tds, "device") + entry(NS.trt, "media") + entry(NS.tptz, "ptz");
  },

  GetCapabilities: (req, cam) => {
    const asked = texts(req.body, "Category");
    const wanted = asked.length === 0 || asked.includes("All") ? [...CATEGORIES] : asked;
    const known = new Set<string>(CATEGORIES);
    const missing = wanted.find((c) => !known.has(c));
    if (missing !== undefined) {
      throw new SoapFault(
        "env:Receiver",
        ["ter:ActionNotSupported", "ter:NoSuchService"],
        `no ${missing} service on this device`,
      );
    }
    return `<tds:Capabilities>${CATEGORIES.filter((c) => wanted.includes(c))
      .map((c) => categoryCapabilities(c, cam))
      .join("")}</tds:Capabilities>`;
  },

  GetScopes: (_req, cam) =>
    deviceScopes(cam.name)
      .map(
        ([def, item]) =>
          `<tds:Scopes><tt:ScopeDef>${def}</tt:ScopeDef><tt:ScopeItem>${esc(item)}</tt:ScopeItem></tds:Scopes>`,
      )
      .join(""),
};
