import { createHash, randomBytes } from "node:crypto";
import { Cam } from "onvif";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OnvifServer } from "../../sim/onvif/server.js";
import { PtzModel } from "../../sim/ptz.js";
import { createLogger } from "../../src/log/logger.js";

// The real `onvif` npm client against the simulated camera, over real HTTP on loopback.
const log = createLogger({ name: "test", level: "silent" });
const USER = "admin";
const PASSWORD = "Sim-Passw0rd!";

function call<T>(fn: (cb: (err: Error | null, data?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, data) => (err ? reject(err) : resolve(data as T))));
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function connect(port: number, password = PASSWORD, extra: Record<string, unknown> = {}): Promise<Cam> {
  const cam = new Cam({
    hostname: "127.0.0.1",
    port,
    username: USER,
    password,
    autoconnect: false,
    timeout: 5000,
    ...extra,
  });
  await call((cb) => cam.connect(cb));
  return cam;
}

interface Status {
  position: { x: number; y: number; zoom: number };
  moveStatus: { panTilt: string; zoom: string };
}
const status = (cam: Cam) => call<Status>((cb) => cam.getStatus({}, cb as never));
async function settle(cam: Cam, timeoutMs = 8000): Promise<Status> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const s = await status(cam);
    if (s.moveStatus.panTilt === "IDLE" && s.moveStatus.zoom === "IDLE") return s;
    if (Date.now() > end) throw new Error(`still moving: ${JSON.stringify(s)}`);
    await sleep(100);
  }
}

/** A raw SOAP request, for what the client library will not send (bad XML, stale Created, …). */
async function soap(port: number, body: string, header = ""): Promise<{ status: number; xml: string }> {
  const res = await fetch(`http://127.0.0.1:${port}/onvif/device_service`, {
    method: "POST",
    headers: { "content-type": "application/soap+xml" },
    body: `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header>${header}</s:Header><s:Body>${body}</s:Body></s:Envelope>`,
  });
  return { status: res.status, xml: await res.text() };
}

function usernameToken(created: string, password = PASSWORD, nonce = randomBytes(16)): string {
  const digest = createHash("sha1")
    .update(Buffer.concat([nonce, Buffer.from(created), Buffer.from(password)]))
    .digest("base64");
  return `<Security xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><UsernameToken><Username>${USER}</Username><Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest">${digest}</Password><Nonce>${nonce.toString("base64")}</Nonce><Created xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">${created}</Created></UsernameToken></Security>`;
}

describe("simulated camera over ONVIF (WS-Security)", () => {
  const ptz = new PtzModel();
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
    ptz,
    log,
  });
  let cam: Cam;
  beforeAll(async () => {
    await server.start();
    cam = await connect(server.port);
  });
  afterAll(() => server.stop());

  it("connects like a real camera: identity, profile, stream URI", async () => {
    expect(cam.activeSource).toMatchObject({
      profileToken: "profile_main",
      encoding: "H264",
      width: 640,
      height: 360,
      fps: 15,
    });
    const info = await call<Record<string, string>>((cb) => cam.getDeviceInformation(cb as never));
    expect(info).toMatchObject({ manufacturer: "PSCS Sim", model: "SIM-PTZ-1" });
    expect(info.serialNumber).toMatch(/^SIM-/);
    const uri = await call<{ uri: string }>((cb) => cam.getStreamUri({ protocol: "RTSP" }, cb as never));
    expect(uri.uri).toBe("rtsp://127.0.0.1:8554/stream");
    const snap = await call<{ uri: string }>((cb) => cam.getSnapshotUri({}, cb as never));
    expect(snap.uri).toBe(`http://127.0.0.1:${server.port}/onvif/snapshot.jpg`);
  });

  it("describes its PTZ node, configuration and options in the generic spaces", async () => {
    const nodes = await call<
      Record<string, { supportedPTZSpaces: Record<string, { URI: string }>; homeSupported: boolean }>
    >((cb) => cam.getNodes(cb as never));
    const node = nodes.ptz_node_1;
    expect(node?.homeSupported).toBe(true);
    expect(node?.supportedPTZSpaces.absolutePanTiltPositionSpace?.URI).toMatch(
      /PanTiltSpaces\/PositionGenericSpace$/,
    );
    expect(node?.supportedPTZSpaces.continuousZoomVelocitySpace?.URI).toMatch(
      /ZoomSpaces\/VelocityGenericSpace$/,
    );
    // The client keys configurations by name.
    const configs = await call<Record<string, { token: string; nodeToken: string; defaultPTZSpeed: object }>>(
      (cb) => cam.getConfigurations(cb as never),
    );
    expect(configs.PTZ).toMatchObject({
      token: "ptz_config_1",
      nodeToken: "ptz_node_1",
      defaultPTZSpeed: { x: "1", y: "1", zoom: "1" },
    });
    const options = await call<{
      ptzTimeout: { min: string[]; max: string[] };
      spaces: { absolute: object };
    }>((cb) => cam.getConfigurationOptions("ptz_config_1", cb as never));
    expect(options.ptzTimeout).toEqual({ min: ["PT1S"], max: ["PT60S"] });
    expect(options.spaces.absolute).toMatchObject({ x: { min: -1, max: 1 }, y: { min: -1, max: 1 } });
  });

  it("moves: absolute, relative, continuous with timeout, stop — GetStatus follows", async () => {
    await call((cb) => cam.absoluteMove({ x: 0.5, y: -0.2, zoom: 0.3 }, cb));
    expect((await status(cam)).moveStatus.panTilt).toBe("MOVING");
    expect((await settle(cam)).position).toEqual({ x: 0.5, y: -0.2, zoom: 0.3 });

    await call((cb) => cam.relativeMove({ x: -0.25, y: 0.1, zoom: 0.2 }, cb));
    const rel = (await settle(cam)).position;
    expect(rel.x).toBeCloseTo(0.25);
    expect(rel.y).toBeCloseTo(-0.1);
    expect(rel.zoom).toBeCloseTo(0.5);

    const t0 = Date.now();
    await call((cb) => cam.continuousMove({ x: 1, y: 0, zoom: 0, timeout: 1000 }, cb));
    expect((await status(cam)).moveStatus.panTilt).toBe("MOVING");
    const cont = await settle(cam);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(cont.position.x).toBeGreaterThan(0.6); // ~0.25 + 0.5 units in 1 s
    expect(cont.position.x).toBeLessThanOrEqual(0.8);

    await call((cb) => cam.continuousMove({ x: -1, timeout: 30_000 }, cb));
    await sleep(300);
    await call((cb) => cam.stop({ panTilt: true, zoom: true }, cb));
    const stopped = await status(cam);
    expect(stopped.moveStatus.panTilt).toBe("IDLE");
    await sleep(300);
    expect((await status(cam)).position.x).toBe(stopped.position.x);
  });

  it("presets: set, list, go to, remove; home: set and go to", async () => {
    await call((cb) => cam.absoluteMove({ x: -0.5, y: 0.3, zoom: 0.1 }, cb));
    await settle(cam);
    const set = await call<unknown>((cb) => cam.setPreset({ presetName: "Courthouse Steps" }, cb as never));
    const token = JSON.stringify(set).match(/"(preset_\d+)"/)?.[1];
    expect(token).toBeDefined();
    const presets = await call<Record<string, { $: { token: string } }>>((cb) =>
      cam.getPresets({}, cb as never),
    );
    expect(presets["Courthouse Steps"]?.$.token).toBe(token);

    await call((cb) => cam.absoluteMove({ x: 0.7, y: 0, zoom: 0 }, cb));
    await settle(cam);
    await call((cb) => cam.gotoPreset({ preset: token as string }, cb));
    expect((await settle(cam)).position).toEqual({ x: -0.5, y: 0.3, zoom: 0.1 });

    await call((cb) => cam.setHomePosition({}, cb));
    await call((cb) => cam.absoluteMove({ x: 0, y: 0, zoom: 1 }, cb));
    await settle(cam);
    await call((cb) => cam.gotoHomePosition({}, cb));
    expect((await settle(cam)).position).toEqual({ x: -0.5, y: 0.3, zoom: 0.1 });

    await call((cb) => cam.removePreset({ presetToken: token as string }, cb));
    const after = await call<unknown>((cb) => cam.getPresets({}, cb as never));
    expect(JSON.stringify(after ?? {})).not.toContain("Courthouse Steps");
    await expect(call((cb) => cam.gotoPreset({ preset: token as string }, cb))).rejects.toThrow(/no preset/);
  });

  it("refuses an out-of-range AbsoluteMove with an ONVIF fault", async () => {
    await expect(call((cb) => cam.absoluteMove({ x: 3, y: 0, zoom: 0 }, cb))).rejects.toThrow(/outside/);
  });

  it("rejects a wrong password", async () => {
    await expect(connect(server.port, "Wrong-Passw0rd!")).rejects.toThrow(/not Authorized/i);
  });

  it("answers GetSystemDateAndTime without auth, in the camera's (skewable) clock", async () => {
    const r = await soap(
      server.port,
      '<GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl"/>',
    );
    expect(r.status).toBe(200);
    expect(r.xml).toContain("<tt:UTCDateTime>");
    server.setClockSkew(3_600_000);
    try {
      const time = await call<Date>((cb) => cam.getSystemDateAndTime(cb));
      expect(time.getTime() - Date.now()).toBeGreaterThan(3_590_000);
      expect(time.getTime() - Date.now()).toBeLessThan(3_610_000);
    } finally {
      server.setClockSkew(0);
    }
  });

  it("checks the UsernameToken: right token ok, Created outside the skew refused, replayed nonce refused", async () => {
    const body = '<GetDeviceInformation xmlns="http://www.onvif.org/ver10/device/wsdl"/>';
    const nonce = randomBytes(16);
    const fresh = usernameToken(new Date().toISOString(), PASSWORD, nonce);
    expect((await soap(server.port, body, fresh)).status).toBe(200);
    const replay = await soap(server.port, body, fresh);
    expect(replay.status).toBe(400);
    expect(replay.xml).toMatch(/ter:NotAuthorized[\s\S]*replay/);
    const stale = await soap(
      server.port,
      body,
      usernameToken(new Date(Date.now() - 3_600_000).toISOString()),
    );
    expect(stale.status).toBe(400);
    expect(stale.xml).toMatch(/outside the allowed clock skew/);
    const none = await soap(server.port, body);
    expect(none.status).toBe(400);
    expect(none.xml).toContain("ter:NotAuthorized");
  });

  it("faults an unknown action and malformed XML, and keeps answering", async () => {
    const token = () => usernameToken(new Date().toISOString());
    const unknown = await soap(server.port, '<FrobnicateWidget xmlns="http://example.com"/>', token());
    expect(unknown.status).toBe(500);
    expect(unknown.xml).toMatch(
      /<env:Value>env:Receiver<\/env:Value><env:Subcode><env:Value>ter:ActionNotSupported/,
    );
    const res = await fetch(`http://127.0.0.1:${server.port}/onvif/device_service`, {
      method: "POST",
      body: "<s:Envelope><unclosed>",
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("ter:WellFormed");
    const missing = await soap(
      server.port,
      '<GetStatus xmlns="http://www.onvif.org/ver20/ptz/wsdl"/>',
      token(),
    );
    expect(missing.status).toBe(400);
    expect(missing.xml).toMatch(/missing ProfileToken/);
    expect((await status(cam)).moveStatus).toBeDefined();
  });

  it("drops off the network and comes back (fault hook)", async () => {
    await server.setOnline(false);
    await expect(fetch(`http://127.0.0.1:${server.port}/`)).rejects.toThrow();
    await server.setOnline(true);
    const again = await connect(server.port);
    expect(again.activeSource?.profileToken).toBe("profile_main");
  });
});

describe("simulated camera over ONVIF (HTTP Digest)", () => {
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
    ptz: new PtzModel(),
    log,
    snapshot: async () => Buffer.from([0xff, 0xd8, 0xff, 0xd9]),
  });
  beforeAll(() => server.start());
  afterAll(() => server.stop());

  it("challenges, then accepts the real client's digest and moves", async () => {
    const bare = await soap(
      server.port,
      '<GetDeviceInformation xmlns="http://www.onvif.org/ver10/device/wsdl"/>',
    );
    expect(bare.status).toBe(401);
    const cam = await connect(server.port, PASSWORD, { useWSSecurity: false });
    expect(cam.activeSource).toMatchObject({ width: 320, height: 180, fps: 10 });
    await call((cb) => cam.absoluteMove({ x: 0.1, y: 0.1, zoom: 0.1 }, cb));
    expect((await settle(cam)).position).toEqual({ x: 0.1, y: 0.1, zoom: 0.1 });
  });

  it("rejects a wrong password", async () => {
    await expect(connect(server.port, "nope-nope-1A!", { useWSSecurity: false })).rejects.toThrow(
      /Digest authentication failed/,
    );
  });

  it("protects the snapshot with HTTP Digest", async () => {
    const res = await fetch(`http://127.0.0.1:${server.port}/onvif/snapshot.jpg`);
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/^Digest realm="PSCS Sim"/);
  });
});
