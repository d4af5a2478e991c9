import { createHash, randomBytes } from "node:crypto";
import http from "node:http";
import { Cam, type CamOptions } from "onvif";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OnvifServer } from "../../sim/onvif/server.js";
import { PtzModel } from "../../sim/ptz.js";
import { createLogger } from "../../src/log/logger.js";

// The real `onvif` npm client against the simulated camera, over real HTTP on loopback.
const log = createLogger({ name: "test", level: "silent" });
const USER = "admin";
const PASSWORD = "Sim-Passw0rd!";
// Four times the default speed, so that every move in this file settles well within a second.
const FAST = { pan: 2, tilt: 2, zoom: 2 };
const NS_DEVICE = 'xmlns="http://www.onvif.org/ver10/device/wsdl"';
const NS_MEDIA = 'xmlns="http://www.onvif.org/ver10/media/wsdl"';
const NS_PTZ = 'xmlns="http://www.onvif.org/ver20/ptz/wsdl"';
const NS_SCHEMA = 'xmlns="http://www.onvif.org/ver10/schema"';

type Callback<T> = (err: Error | null, data?: T) => void;
/** GetStatus as the client library reshapes it. */
interface PtzStatus {
  position: { x: number; y: number; zoom: number };
  moveStatus?: { panTilt?: string; zoom?: string };
  utcTime?: Date | string;
}

function call<T>(fn: (cb: Callback<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, data) => (err ? reject(err) : resolve(data as T))));
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function connect(port: number, password = PASSWORD, extra: Partial<CamOptions> = {}): Promise<Cam> {
  const cam = new Cam({
    hostname: "127.0.0.1",
    port,
    username: USER,
    password,
    autoconnect: false,
    timeout: 5000,
    ...extra,
  });
  await call<void>((cb) => cam.connect(cb));
  return cam;
}

const status = (cam: Cam) => call<PtzStatus>((cb) => cam.getStatus({}, cb));
async function settle(cam: Cam, timeoutMs = 5000): Promise<PtzStatus> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const s = await status(cam);
    if (s.moveStatus?.panTilt === "IDLE" && s.moveStatus.zoom === "IDLE") return s;
    if (Date.now() > end) throw new Error(`still moving: ${JSON.stringify(s)}`);
    await sleep(50);
  }
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A raw HTTP request, for what the client library will not send (bad XML, stale Created, other Host…). */
function request(
  port: number,
  opts: { method?: string; path?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        method: opts.method ?? "POST",
        path: opts.path ?? "/onvif/device_service",
        headers: { "content-type": "application/soap+xml; charset=utf-8", ...opts.headers },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
      },
    );
    req.on("error", reject);
    req.end(opts.body);
  });
}

const envelope = (body: string, header = "") =>
  `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header>${header}</s:Header><s:Body>${body}</s:Body></s:Envelope>`;

function usernameToken(created: string, password = PASSWORD, nonce = randomBytes(16)): string {
  const digest = createHash("sha1")
    .update(Buffer.concat([nonce, Buffer.from(created), Buffer.from(password)]))
    .digest("base64");
  return `<Security xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><UsernameToken><Username>${USER}</Username><Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest">${digest}</Password><Nonce>${nonce.toString("base64")}</Nonce><Created xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">${created}</Created></UsernameToken></Security>`;
}

/** A SOAP request signed with a fresh UsernameToken dated by our clock. */
function soap(port: number, body: string, opts: { path?: string; headers?: Record<string, string> } = {}) {
  return request(port, { ...opts, body: envelope(body, usernameToken(new Date().toISOString())) });
}

/** The Authorization header answering an HTTP Digest challenge (RFC 7616, MD5, qop=auth). */
function digestAuthorization(challenge: string, method: string, uri: string, password = PASSWORD): string {
  const p = Object.fromEntries([...challenge.matchAll(/(\w+)="?([^",]*)"?/g)].map((m) => [m[1], m[2]]));
  const md5 = (s: string) => createHash("md5").update(s).digest("hex");
  const cnonce = randomBytes(8).toString("hex");
  const ha1 = md5(`${USER}:${p.realm}:${password}`);
  const response = md5(`${ha1}:${p.nonce}:00000001:${cnonce}:auth:${md5(`${method}:${uri}`)}`);
  return `Digest username="${USER}", realm="${p.realm}", nonce="${p.nonce}", uri="${uri}", qop=auth, nc=00000001, cnonce="${cnonce}", response="${response}", opaque="${p.opaque}"`;
}

/** The fault's code chain, e.g. ["env:Sender", "ter:InvalidArgVal", "ter:NoProfile"]. */
const faultCodes = (xml: string) => [...xml.matchAll(/<env:Value>([^<]+)<\/env:Value>/g)].map((m) => m[1]);

describe("simulated camera over ONVIF (WS-Security)", () => {
  const server = new OnvifServer({
    name: "Test Cam",
    host: "127.0.0.1",
    port: 0,
    user: USER,
    password: PASSWORD,
    rtspPort: 8554,
    width: 640,
    height: 360,
    fps: 15,
    ptz: new PtzModel({ maxSpeed: FAST, maxTimeoutMs: 30_000 }),
    log,
  });
  let cam: Cam;
  beforeAll(async () => {
    await server.start();
    cam = await connect(server.port);
  });
  afterAll(() => server.stop());

  it("connects like a real camera: identity, profile, video source, stream and snapshot URIs", async () => {
    expect(server.port).toBeGreaterThan(0);
    expect(cam.activeSource).toEqual({
      sourceToken: "video_source_1",
      profileToken: "profile_main",
      videoSourceConfigurationToken: "vsc_1",
      encoding: "H264",
      width: 640,
      height: 360,
      fps: 15,
      bitrate: 1000,
      ptz: { name: "PTZ", token: "ptz_config_1" },
    });
    expect(cam.uri?.ptz?.href).toBe(`http://127.0.0.1:${server.port}/onvif/ptz_service`);
    expect(cam.videoSources).toEqual([
      { $: { token: "video_source_1" }, framerate: 15, resolution: { width: 640, height: 360 } },
    ]);
    const info = await call<Record<string, unknown>>((cb) => cam.getDeviceInformation(cb));
    expect(info).toEqual({
      manufacturer: "PSCS Sim",
      model: "SIM-PTZ-1",
      firmwareVersion: "1.0.0",
      serialNumber: expect.stringMatching(/^SIM-[0-9A-F]{10}$/),
      hardwareId: "sim-ptz",
    });
    const uri = await call<{ uri: string }>((cb) => cam.getStreamUri({ protocol: "RTSP" }, cb));
    expect(uri).toEqual({
      uri: "rtsp://127.0.0.1:8554/stream",
      invalidAfterConnect: false,
      invalidAfterReboot: false,
      timeout: "PT0S",
    });
    const snap = await call<{ uri: string }>((cb) => cam.getSnapshotUri({}, cb));
    expect(snap.uri).toBe(`http://127.0.0.1:${server.port}/onvif/snapshot.jpg`);
  });

  it("hands out addresses built from the Host header the client used", async () => {
    const host = { host: "camera-7.example:8099" };
    const services = await soap(
      server.port,
      `<GetServices ${NS_DEVICE}><IncludeCapability>true</IncludeCapability></GetServices>`,
      { headers: host },
    );
    expect(services.status).toBe(200);
    expect(services.body).toContain("<tds:XAddr>http://camera-7.example:8099/onvif/ptz_service</tds:XAddr>");
    // Service/Capabilities wraps the service's own Capabilities element.
    expect(services.body).toContain('<tds:Capabilities><trt:Capabilities SnapshotUri="true"');
    const bare = await soap(
      server.port,
      `<GetServices ${NS_DEVICE}><IncludeCapability>false</IncludeCapability></GetServices>`,
    );
    expect(bare.body).not.toContain("Capabilities");
    const ptzOnly = await soap(
      server.port,
      `<GetCapabilities ${NS_DEVICE}><Category>PTZ</Category></GetCapabilities>`,
      { headers: host },
    );
    expect(ptzOnly.body).toContain(
      "<tt:PTZ><tt:XAddr>http://camera-7.example:8099/onvif/ptz_service</tt:XAddr></tt:PTZ>",
    );
    expect(ptzOnly.body).not.toContain("<tt:Media>");
    const analytics = await soap(
      server.port,
      `<GetCapabilities ${NS_DEVICE}><Category>Analytics</Category></GetCapabilities>`,
    );
    expect(analytics.status).toBe(500);
    expect(faultCodes(analytics.body)).toEqual([
      "env:Receiver",
      "ter:ActionNotSupported",
      "ter:NoSuchService",
    ]);
    const stream = await soap(
      server.port,
      `<GetStreamUri ${NS_MEDIA}><ProfileToken>profile_main</ProfileToken></GetStreamUri>`,
      { headers: host },
    );
    expect(stream.body).toContain("<tt:Uri>rtsp://camera-7.example:8554/stream</tt:Uri>");
    const scopes = await soap(server.port, `<GetScopes ${NS_DEVICE}/>`);
    expect(scopes.body).toContain("<tt:ScopeItem>onvif://www.onvif.org/name/Test%20Cam</tt:ScopeItem>");
  });

  it("answers the media and PTZ getters the client library does not wrap", async () => {
    const profile = await soap(
      server.port,
      `<GetProfile ${NS_MEDIA}><ProfileToken>profile_main</ProfileToken></GetProfile>`,
    );
    expect(profile.body).toMatch(/<trt:Profile token="profile_main" fixed="true"><tt:Name>main<\/tt:Name>/);
    expect(profile.body).toContain("<tt:FrameRateLimit>15</tt:FrameRateLimit>");
    const noProfile = await soap(
      server.port,
      `<GetProfile ${NS_MEDIA}><ProfileToken>nope</ProfileToken></GetProfile>`,
    );
    expect(noProfile.status).toBe(400);
    expect(faultCodes(noProfile.body)).toEqual(["env:Sender", "ter:InvalidArgVal", "ter:NoProfile"]);
    const multicast = await soap(
      server.port,
      `<GetStreamUri ${NS_MEDIA}><StreamSetup><Stream ${NS_SCHEMA}>RTP-Multicast</Stream><Transport ${NS_SCHEMA}><Protocol>UDP</Protocol></Transport></StreamSetup><ProfileToken>profile_main</ProfileToken></GetStreamUri>`,
    );
    expect(faultCodes(multicast.body)).toEqual(["env:Sender", "ter:InvalidArgVal", "ter:InvalidStreamSetup"]);
    const node = await soap(server.port, `<GetNode ${NS_PTZ}><NodeToken>ptz_node_1</NodeToken></GetNode>`);
    expect(node.body).toContain(
      '<tptz:PTZNode token="ptz_node_1" FixedHomePosition="false" GeoMove="false">',
    );
    const config = await soap(
      server.port,
      `<GetConfiguration ${NS_PTZ}><PTZConfigurationToken>ptz_config_1</PTZConfigurationToken></GetConfiguration>`,
    );
    expect(config.body).toContain("<tt:DefaultPTZTimeout>PT10S</tt:DefaultPTZTimeout>");
    const noConfig = await soap(
      server.port,
      `<GetConfiguration ${NS_PTZ}><PTZConfigurationToken>x</PTZConfigurationToken></GetConfiguration>`,
    );
    expect(faultCodes(noConfig.body)).toEqual(["env:Sender", "ter:InvalidArgVal", "ter:NoConfig"]);
  });

  it("describes its PTZ node, configuration and options in the generic spaces", async () => {
    const nodes = await call<
      Record<
        string,
        {
          supportedPTZSpaces: Record<string, { URI: string }>;
          homeSupported: boolean;
          maximumNumberOfPresets: number;
        }
      >
    >((cb) => cam.getNodes(cb));
    expect(Object.keys(nodes)).toEqual(["ptz_node_1"]);
    const node = nodes.ptz_node_1;
    expect(node?.homeSupported).toBe(true);
    expect(node?.maximumNumberOfPresets).toBe(100);
    expect(Object.keys(node?.supportedPTZSpaces ?? {})).toEqual([
      "absolutePanTiltPositionSpace",
      "absoluteZoomPositionSpace",
      "relativePanTiltTranslationSpace",
      "relativeZoomTranslationSpace",
      "continuousPanTiltVelocitySpace",
      "continuousZoomVelocitySpace",
      "panTiltSpeedSpace",
      "zoomSpeedSpace",
    ]);
    expect(node?.supportedPTZSpaces.absolutePanTiltPositionSpace?.URI).toBe(
      "http://www.onvif.org/ver10/tptz/PanTiltSpaces/PositionGenericSpace",
    );
    // The client keys configurations by name and leaves their values as text.
    const configs = await call<Record<string, unknown>>((cb) => cam.getConfigurations(cb));
    expect(configs.PTZ).toEqual({
      useCount: 1,
      token: "ptz_config_1",
      nodeToken: "ptz_node_1",
      defaultPTZSpeed: { x: "1", y: "1", zoom: "1" },
      defaultPTZTimeout: "PT10S",
      panTiltLimits: { XRange: { min: "-1", max: "1" }, YRange: { min: "-1", max: "1" } },
      zoomLimits: { XRange: { min: "0", max: "1" } },
    });
    const options = await call<{ ptzTimeout: object; spaces: Record<string, Record<string, object>> }>((cb) =>
      cam.getConfigurationOptions("ptz_config_1", cb),
    );
    expect(options.ptzTimeout).toEqual({ min: ["PT0.1S"], max: ["PT30S"] });
    expect(options.spaces.absolute?.zoom).toMatchObject({ min: 0, max: 1 });
    expect(options.spaces.relative?.x).toMatchObject({ min: -1, max: 1 });
    expect(options.spaces.continuous?.y).toMatchObject({ min: -1, max: 1 });
    expect(options.spaces.common?.x).toMatchObject({ min: 0, max: 1 });
  });

  it("moves: absolute, relative, continuous until its timeout, stop — GetStatus follows", async () => {
    await call((cb) => cam.absoluteMove({ x: 0.5, y: -0.2, zoom: 0.3 }, cb));
    expect((await status(cam)).moveStatus?.panTilt).toBe("MOVING");
    const abs = await settle(cam);
    expect(abs.position).toEqual({ x: 0.5, y: -0.2, zoom: 0.3 });
    expect(abs.utcTime).toBeInstanceOf(Date);

    await call((cb) => cam.relativeMove({ x: -0.25, y: 0.1, zoom: 0.2 }, cb));
    const rel = (await settle(cam)).position;
    expect(rel.x).toBeCloseTo(0.25, 9);
    expect(rel.y).toBeCloseTo(-0.1, 9);
    expect(rel.zoom).toBeCloseTo(0.5, 9);

    const t0 = Date.now();
    await call((cb) => cam.continuousMove({ x: 0.25, y: 0, zoom: 0, timeout: 500 }, cb));
    expect((await status(cam)).moveStatus?.panTilt).toBe("MOVING");
    const cont = await settle(cam);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(450);
    expect(cont.position.x).toBeCloseTo(0.5, 9); // 0.25 + 0.5 units/s × 0.5 s, then stopped

    await call((cb) => cam.continuousMove({ x: -0.2, zoom: 0.2, timeout: 20_000 }, cb));
    await sleep(200);
    await call((cb) => cam.stop({ panTilt: true, zoom: "false" }, cb));
    const panStopped = await status(cam);
    expect(panStopped.moveStatus).toEqual({ panTilt: "IDLE", zoom: "MOVING" });
    await call((cb) => cam.stop({ zoom: true, panTilt: "false" }, cb));
    const stopped = await status(cam);
    expect(stopped.moveStatus).toEqual({ panTilt: "IDLE", zoom: "IDLE" });
    await sleep(200);
    expect((await status(cam)).position).toEqual(stopped.position);

    // Half speed takes twice as long: 0.5 units at 1 unit/s.
    const h0 = Date.now();
    await call((cb) =>
      cam.absoluteMove(
        { x: stopped.position.x + 0.5, y: 0, zoom: 0, speed: { x: 0.5, y: 0.5, zoom: 1 } },
        cb,
      ),
    );
    await settle(cam);
    expect(Date.now() - h0).toBeGreaterThanOrEqual(450);
  });

  it("refuses moves outside the generic spaces with the PTZ service's faults", async () => {
    await expect(call((cb) => cam.absoluteMove({ x: 3, y: 0, zoom: 0 }, cb))).rejects.toThrow(
      /pan 3 outside \[-1, 1\]/,
    );
    await expect(call((cb) => cam.continuousMove({ x: 1, timeout: 120_000 }, cb))).rejects.toThrow(
      /timeout 120000 ms/,
    );
    const outside = await soap(
      server.port,
      `<RelativeMove ${NS_PTZ}><ProfileToken>profile_main</ProfileToken><Translation><PanTilt ${NS_SCHEMA} x="1.5" y="0"/></Translation></RelativeMove>`,
    );
    expect(faultCodes(outside.body)).toEqual(["env:Sender", "ter:InvalidArgVal", "ter:InvalidTranslation"]);
    const degrees = await soap(
      server.port,
      `<AbsoluteMove ${NS_PTZ}><ProfileToken>profile_main</ProfileToken><Position><PanTilt ${NS_SCHEMA} x="90" y="0" space="http://www.onvif.org/ver10/tptz/PanTiltSpaces/SphericalPositionSpaceDegrees"/></Position></AbsoluteMove>`,
    );
    expect(degrees.status).toBe(400);
    expect(faultCodes(degrees.body)).toEqual(["env:Sender", "ter:InvalidArgVal", "ter:SpaceNotSupported"]);
    for (const op of ["AbsoluteMove", "RelativeMove"]) {
      const bare = await soap(
        server.port,
        `<${op} ${NS_PTZ}><ProfileToken>profile_main</ProfileToken></${op}>`,
      );
      expect(bare.status).toBe(400);
      expect(faultCodes(bare.body)).toEqual(["env:Sender", "ter:InvalidArgVal"]);
      expect(bare.body).toMatch(op === "AbsoluteMove" ? /missing Position/ : /missing Translation/);
    }
    const notBool = await soap(
      server.port,
      `<Stop ${NS_PTZ}><ProfileToken>profile_main</ProfileToken><PanTilt>yes</PanTilt></Stop>`,
    );
    expect(notBool.body).toContain("not an xs:boolean");
    expect((await status(cam)).moveStatus).toEqual({ panTilt: "IDLE", zoom: "IDLE" });
  });

  it("presets: set, list, go to, overwrite, remove; home: set and go to", async () => {
    await call((cb) => cam.absoluteMove({ x: -0.5, y: 0.3, zoom: 0.1 }, cb));
    await settle(cam);
    const body = await call<unknown>((cb) => cam.setPreset({ presetName: "Courthouse Steps" }, cb));
    const token = JSON.stringify(body).match(/"presetToken":\["(preset_\d+)"\]/)?.[1] as string;
    expect(token).toMatch(/^preset_\d+$/);
    const presets = await call<Record<string, unknown>>((cb) => cam.getPresets({}, cb));
    expect(presets).toEqual({
      "Courthouse Steps": {
        $: { token },
        name: "Courthouse Steps",
        PTZPosition: {
          panTilt: {
            $: {
              x: -0.5,
              y: 0.3,
              space: "http://www.onvif.org/ver10/tptz/PanTiltSpaces/PositionGenericSpace",
            },
          },
          zoom: { $: { x: 0.1, space: "http://www.onvif.org/ver10/tptz/ZoomSpaces/PositionGenericSpace" } },
        },
      },
    });
    await expect(call((cb) => cam.setPreset({ presetName: "Courthouse Steps" }, cb))).rejects.toThrow(
      /already exists/,
    );

    await call((cb) => cam.absoluteMove({ x: 0.7, y: 0, zoom: 0 }, cb));
    await settle(cam);
    await call((cb) => cam.gotoPreset({ preset: token }, cb));
    expect((await status(cam)).moveStatus?.panTilt).toBe("MOVING");
    expect((await settle(cam)).position).toEqual({ x: -0.5, y: 0.3, zoom: 0.1 });

    // Overwrite by token: same token, new position and name.
    await call((cb) => cam.absoluteMove({ x: 0.2, y: 0.2, zoom: 0.2 }, cb));
    await settle(cam);
    await call((cb) => cam.setPreset({ presetName: "Courthouse Door", presetToken: token }, cb));
    const renamed = await call<Record<string, { $: { token: string } }>>((cb) => cam.getPresets({}, cb));
    expect(Object.keys(renamed)).toEqual(["Courthouse Door"]);
    expect(renamed["Courthouse Door"]?.$.token).toBe(token);

    await call((cb) => cam.setHomePosition({}, cb));
    await call((cb) => cam.absoluteMove({ x: 0, y: 0, zoom: 1 }, cb));
    await settle(cam);
    await call((cb) => cam.gotoHomePosition({}, cb));
    expect((await settle(cam)).position).toEqual({ x: 0.2, y: 0.2, zoom: 0.2 });

    await call((cb) => cam.removePreset({ presetToken: token }, cb));
    expect(await call((cb) => cam.getPresets({}, cb))).toEqual({});
    const gone = await soap(
      server.port,
      `<GotoPreset ${NS_PTZ}><ProfileToken>profile_main</ProfileToken><PresetToken>${token}</PresetToken></GotoPreset>`,
    );
    expect(faultCodes(gone.body)).toEqual(["env:Sender", "ter:InvalidArgVal", "ter:NoToken"]);
  });

  it("rejects a wrong password with ter:NotAuthorized", async () => {
    await expect(connect(server.port, "Wrong-Passw0rd!")).rejects.toThrow(/not Authorized/i);
  });

  it("answers GetSystemDateAndTime without auth, in the camera's (skewable) clock", async () => {
    const r = await request(server.port, { body: envelope(`<GetSystemDateAndTime ${NS_DEVICE}/>`) });
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toBe("application/soap+xml; charset=utf-8");
    expect(r.body).toContain("<tt:DateTimeType>NTP</tt:DateTimeType>");
    const year = Number(/<tt:UTCDateTime>.*?<tt:Year>(\d+)</.exec(r.body)?.[1]);
    expect(year).toBe(new Date().getUTCFullYear());
    server.setClockSkew(3_600_000);
    try {
      const time = await call<Date>((cb) => cam.getSystemDateAndTime(cb));
      expect(time.getTime() - Date.now()).toBeGreaterThan(3_590_000);
      expect(time.getTime() - Date.now()).toBeLessThan(3_610_000);
    } finally {
      server.setClockSkew(0);
    }
  });

  it("judges a UsernameToken's Created by the camera's own clock", async () => {
    server.setClockSkew(-2 * 3_600_000);
    try {
      // The client learns the camera's time first and dates its tokens by it, so it still gets in…
      const skewed = await connect(server.port);
      expect(skewed.activeSource?.profileToken).toBe("profile_main");
      // …while a token dated by our (correct) clock is two hours off for this camera.
      const ours = await soap(server.port, `<GetDeviceInformation ${NS_DEVICE}/>`);
      expect(ours.status).toBe(400);
      expect(faultCodes(ours.body)).toEqual(["env:Sender", "ter:NotAuthorized"]);
      expect(ours.body).toMatch(/outside the allowed clock skew/);
      const cameraTime = new Date(Date.now() - 2 * 3_600_000).toISOString();
      const theirs = await request(server.port, {
        body: envelope(`<GetDeviceInformation ${NS_DEVICE}/>`, usernameToken(cameraTime)),
      });
      expect(theirs.status).toBe(200);
    } finally {
      server.setClockSkew(0);
    }
  });

  it("checks the UsernameToken: right token ok, replayed nonce, wrong password and no token refused", async () => {
    const body = envelope(`<GetDeviceInformation ${NS_DEVICE}/>`, usernameToken(new Date().toISOString()));
    const first = await request(server.port, { body });
    expect(first.status).toBe(200);
    expect(first.body).toContain("<tds:Manufacturer>PSCS Sim</tds:Manufacturer>");
    const replay = await request(server.port, { body });
    expect(replay.status).toBe(400);
    expect(replay.body).toMatch(/ter:NotAuthorized[\s\S]*replay/);
    const wrong = await request(server.port, {
      body: envelope(
        `<GetDeviceInformation ${NS_DEVICE}/>`,
        usernameToken(new Date().toISOString(), "guess"),
      ),
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body).toContain("wrong user name or password");
    const none = await request(server.port, { body: envelope(`<GetDeviceInformation ${NS_DEVICE}/>`) });
    expect(none.status).toBe(400);
    expect(faultCodes(none.body)).toEqual(["env:Sender", "ter:NotAuthorized"]);
  });

  it("faults an unknown action, malformed XML, a DTD and a missing argument, and keeps answering", async () => {
    const unknown = await soap(server.port, '<FrobnicateWidget xmlns="http://example.com"/>');
    expect(unknown.status).toBe(500);
    expect(faultCodes(unknown.body)).toEqual(["env:Receiver", "ter:ActionNotSupported"]);
    expect(unknown.body).toContain(
      '<env:Text xml:lang="en">Optional Action Not Implemented: FrobnicateWidget</env:Text>',
    );
    const malformed = await request(server.port, { body: "<s:Envelope><unclosed>" });
    expect(malformed.status).toBe(400);
    expect(faultCodes(malformed.body)).toEqual(["env:Sender", "ter:WellFormed"]);
    const dtd = await request(server.port, {
      body: `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>${envelope(`<GetSystemDateAndTime ${NS_DEVICE}/>`)}`,
    });
    expect(faultCodes(dtd.body)).toEqual(["env:Sender", "ter:WellFormed"]);
    const notSoap = await request(server.port, { body: "<hello/>" });
    expect(notSoap.status).toBe(400);
    expect(notSoap.body).toContain("no SOAP 1.2 Envelope/Body");
    const missing = await soap(server.port, `<GetStatus ${NS_PTZ}/>`, { path: "/onvif/ptz_service" });
    expect(missing.status).toBe(400);
    expect(missing.body).toMatch(/missing ProfileToken/);
    const get = await request(server.port, { method: "GET" });
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe("POST");
    // Routed by action whatever the path, as lenient cameras do.
    const anyPath = await soap(
      server.port,
      `<GetStatus ${NS_PTZ}><ProfileToken>profile_main</ProfileToken></GetStatus>`,
      {
        path: "/whatever",
      },
    );
    expect(anyPath.status).toBe(200);
    expect(anyPath.body).toContain("<tptz:GetStatusResponse><tptz:PTZStatus>");
    expect((await status(cam)).moveStatus?.panTilt).toBe("IDLE");
  });

  it("answers a SOAP 1.1 request with SOAP 1.2's VersionMismatch fault, in SOAP 1.1", async () => {
    const soap11 = (body: string) =>
      `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>${body}</s:Body></s:Envelope>`;
    for (const body of [`<GetSystemDateAndTime ${NS_DEVICE}/>`, `<GetDeviceInformation ${NS_DEVICE}/>`]) {
      const r = await request(server.port, {
        headers: { "content-type": "text/xml; charset=utf-8", soapaction: '""' },
        body: soap11(body),
      });
      expect(r.status).toBe(500);
      expect(r.headers["content-type"]).toBe("text/xml; charset=utf-8");
      expect(r.body).toContain('<s11:Envelope xmlns:s11="http://schemas.xmlsoap.org/soap/envelope/">');
      expect(r.body).toContain("<faultcode>s11:VersionMismatch</faultcode>");
      expect(r.body).toMatch(
        /<env:Upgrade xmlns:env="http:\/\/www\.w3\.org\/2003\/05\/soap-envelope"><env:SupportedEnvelope qname="ns1:Envelope" xmlns:ns1="http:\/\/www\.w3\.org\/2003\/05\/soap-envelope"\/>/,
      );
      expect(r.body).not.toContain("GetSystemDateAndTimeResponse");
    }
    // An envelope of no known SOAP version: VersionMismatch, in SOAP 1.2.
    const unknown = await request(server.port, {
      body: `<Envelope xmlns="urn:example:soap"><Body><GetSystemDateAndTime ${NS_DEVICE}/></Body></Envelope>`,
    });
    expect(unknown.status).toBe(500);
    expect(unknown.headers["content-type"]).toBe("application/soap+xml; charset=utf-8");
    expect(faultCodes(unknown.body)).toEqual(["env:VersionMismatch"]);
    // SOAP 1.2 with its envelope in the default namespace is still SOAP 1.2.
    const plain = await request(server.port, {
      body: `<?xml version="1.0"?><!-- c --><Envelope xmlns="http://www.w3.org/2003/05/soap-envelope"><Body><GetSystemDateAndTime ${NS_DEVICE}/></Body></Envelope>`,
    });
    expect(plain.status).toBe(200);
    expect(plain.body).toContain("<tds:GetSystemDateAndTimeResponse>");
  });

  it("answers a document nested too deep with a Sender fault, not a 500, and keeps answering", async () => {
    for (const depth of [40, 5_000, 100_000]) {
      const r = await soap(server.port, `${"<a>".repeat(depth)}${"</a>".repeat(depth)}`);
      expect(r.status).toBe(400);
      expect(faultCodes(r.body)).toEqual(["env:Sender", "ter:InvalidArgVal"]);
      expect(r.body).toContain("request nested deeper than 32 elements");
    }
    // An ONVIF request as deep as they come is answered.
    const move = await soap(
      server.port,
      `<AbsoluteMove ${NS_PTZ}><ProfileToken>profile_main</ProfileToken><Position><PanTilt ${NS_SCHEMA} x="0" y="0"/></Position></AbsoluteMove>`,
      { path: "/onvif/ptz_service" },
    );
    expect(move.status).toBe(200);
    expect((await settle(cam)).position).toEqual({ x: 0, y: 0, zoom: expect.any(Number) });
  });

  it("snapshot: 503 without a snapshot source, and only behind HTTP Digest", async () => {
    const path = "/onvif/snapshot.jpg";
    const challenge = await request(server.port, { method: "GET", path });
    expect(challenge.status).toBe(401);
    const authorization = digestAuthorization(challenge.headers["www-authenticate"] ?? "", "GET", path);
    const res = await request(server.port, { method: "GET", path, headers: { authorization } });
    expect(res.status).toBe(503);
  });

  it("drops off the network and comes back on the same port (fault hook)", async () => {
    const port = server.port;
    await server.setOnline(false);
    expect(server.isOnline).toBe(false);
    await expect(request(port, { body: envelope(`<GetSystemDateAndTime ${NS_DEVICE}/>`) })).rejects.toThrow(
      /ECONNREFUSED/,
    );
    await expect(status(cam)).rejects.toThrow(/ECONNREFUSED/);
    await server.setOnline(true);
    expect(server.port).toBe(port);
    const again = await connect(port);
    expect(again.activeSource?.profileToken).toBe("profile_main");
    expect((await status(cam)).moveStatus?.panTilt).toBe("IDLE");
  });
});

describe("simulated camera over ONVIF (HTTP Digest)", () => {
  const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0xff, 0xd9]);
  const server = new OnvifServer({
    name: "Digest Cam",
    host: "127.0.0.1",
    port: 0,
    user: USER,
    password: PASSWORD,
    authMode: "digest",
    rtspPort: 8555,
    width: 320,
    height: 180,
    fps: 10,
    ptz: new PtzModel({ maxSpeed: FAST }),
    log,
    snapshot: async () => jpeg,
  });
  beforeAll(() => server.start());
  afterAll(() => server.stop());

  it("challenges, then accepts a correct digest and refuses a wrong one or one for another uri", async () => {
    const path = "/onvif/device_service";
    const body = envelope(`<GetDeviceInformation ${NS_DEVICE}/>`);
    const bare = await request(server.port, { path, body });
    expect(bare.status).toBe(401);
    const challenge = bare.headers["www-authenticate"] ?? "";
    expect(challenge).toMatch(/^Digest realm="PSCS Sim", qop="auth", nonce="[0-9a-f]{32}", algorithm=MD5/);
    const ok = await request(server.port, {
      path,
      body,
      headers: { authorization: digestAuthorization(challenge, "POST", path) },
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toContain("<tds:Model>SIM-PTZ-1</tds:Model>");
    const wrong = await request(server.port, {
      path,
      body,
      headers: { authorization: digestAuthorization(challenge, "POST", path, "guess") },
    });
    expect(wrong.status).toBe(401);
    const otherUri = await request(server.port, {
      path,
      body,
      headers: { authorization: digestAuthorization(challenge, "POST", "/onvif/ptz_service") },
    });
    expect(otherUri.status).toBe(401);
    // GetSystemDateAndTime stays open, so a client can learn the time before it authenticates.
    expect(
      (await request(server.port, { body: envelope(`<GetSystemDateAndTime ${NS_DEVICE}/>`) })).status,
    ).toBe(200);
  });

  it("the real client connects with HTTP Digest and moves the camera", async () => {
    const cam = await connect(server.port, PASSWORD, { useWSSecurity: false });
    expect(cam.activeSource).toMatchObject({ width: 320, height: 180, fps: 10 });
    await call((cb) => cam.absoluteMove({ x: 0.1, y: 0.1, zoom: 0.1 }, cb));
    expect((await settle(cam)).position).toEqual({ x: 0.1, y: 0.1, zoom: 0.1 });
  });

  it("rejects a wrong password from the real client", async () => {
    await expect(connect(server.port, "nope-nope-1A!", { useWSSecurity: false })).rejects.toThrow(
      /Digest authentication failed/,
    );
  });

  it("serves the snapshot source's JPEG behind HTTP Digest", async () => {
    const path = "/onvif/snapshot.jpg";
    const challenge = await request(server.port, { method: "GET", path });
    expect(challenge.status).toBe(401);
    const res = await fetch(`http://127.0.0.1:${server.port}${path}`, {
      headers: {
        authorization: digestAuthorization(challenge.headers["www-authenticate"] ?? "", "GET", path),
      },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/jpeg");
    expect(Buffer.from(await res.arrayBuffer())).toEqual(jpeg);
  });
});
