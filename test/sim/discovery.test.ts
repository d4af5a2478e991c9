import dgram from "node:dgram";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DiscoveryResponder } from "../../sim/onvif/discovery.js";
import { createLogger } from "../../src/log/logger.js";

// The simulator's WS-Discovery responder over real UDP on loopback, on a port of its own (the real
// one, 3702, is shared by every simulator on the host).
const DEVICES = [
  {
    urn: "urn:uuid:00000000-0000-5000-a000-000000000001",
    scopes: ["onvif://www.onvif.org/name/North%20Gate", "onvif://www.onvif.org/location/city/Norwich"],
    xaddrs: ["http://127.0.0.1:18000/onvif/device_service"],
  },
  {
    urn: "urn:uuid:00000000-0000-5000-a000-000000000002",
    scopes: ["onvif://www.onvif.org/name/South%20Gate", "onvif://www.onvif.org/location/city/Groton"],
    xaddrs: ["http://127.0.0.1:18001/onvif/device_service"],
  },
];
const responder = new DiscoveryResponder({
  host: "127.0.0.1",
  port: 0,
  devices: () => DEVICES,
  log: createLogger({ name: "test", level: "silent" }),
});
beforeAll(() => responder.start());
afterAll(() => responder.stop());

const probe = (id: string, types = "dn:NetworkVideoTransmitter", scopes = "") =>
  `<Envelope xmlns="http://www.w3.org/2003/05/soap-envelope" xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><Header><wsa:MessageID xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing">${id}</wsa:MessageID><wsa:Action xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing">http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</wsa:Action></Header><Body><Probe xmlns="http://schemas.xmlsoap.org/ws/2005/04/discovery"><Types>${types}</Types><Scopes>${scopes}</Scopes></Probe></Body></Envelope>`;

/** Sends one datagram to the responder and collects every answer for `ms`. */
function send(message: string, ms = 400): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket("udp4");
    const answers: string[] = [];
    socket.on("message", (m) => answers.push(m.toString()));
    socket.on("error", reject);
    socket.bind(0, "127.0.0.1", () => {
      socket.send(message, responder.port as number, "127.0.0.1");
      setTimeout(() => socket.close(() => resolve(answers)), ms);
    });
  });
}
const field = (xml: string, name: string) => new RegExp(`<d:${name}>([^<]*)</d:${name}>`).exec(xml)?.[1];

describe("simulated WS-Discovery", () => {
  it("answers an ONVIF Probe with one ProbeMatches per camera, related to the probe", async () => {
    const answers = await send(probe("urn:uuid:probe-1"));
    expect(answers).toHaveLength(2);
    for (const [i, a] of answers.entries()) {
      expect(a).toContain("<wsa:RelatesTo>urn:uuid:probe-1</wsa:RelatesTo>");
      expect(a).toContain(
        "<wsa:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches</wsa:Action>",
      );
      expect(a).toContain(`<wsa:Address>${DEVICES[i]?.urn}</wsa:Address>`);
      expect(field(a, "Types")).toBe("dn:NetworkVideoTransmitter tds:Device");
      expect(field(a, "XAddrs")).toBe(DEVICES[i]?.xaddrs[0]);
      expect(field(a, "Scopes")).toBe(DEVICES[i]?.scopes.join(" "));
    }
    // A probe for any device, or for ONVIF's device type under another prefix, matches too.
    expect(await send(probe("urn:uuid:probe-2", ""))).toHaveLength(2);
    expect(await send(probe("urn:uuid:probe-3", "x:Device"))).toHaveLength(2);
  });

  it("answers only the cameras whose types and scopes match (RFC 3986 scope matching)", async () => {
    expect(await send(probe("urn:uuid:p4", "dn:NetworkVideoTransmitter pr:Printer"))).toEqual([]);
    const city = await send(probe("urn:uuid:p5", "", "onvif://www.onvif.org/location/city"));
    expect(city).toHaveLength(2);
    const norwich = await send(probe("urn:uuid:p6", "", "onvif://www.onvif.org/location/city/Norwich"));
    expect(norwich.map((a) => field(a, "XAddrs"))).toEqual([DEVICES[0]?.xaddrs[0]]);
    // Segment-wise: "cit" is not a prefix of the segment "city".
    expect(await send(probe("urn:uuid:p7", "", "onvif://www.onvif.org/location/cit"))).toEqual([]);
  });

  it("ignores what is not a SOAP 1.2 Probe, and keeps answering", async () => {
    expect(await send("not xml at all <")).toEqual([]);
    expect(
      await send(
        '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><Probe xmlns="http://schemas.xmlsoap.org/ws/2005/04/discovery"/></s:Body></s:Envelope>',
      ),
    ).toEqual([]);
    expect(await send(probe("urn:uuid:p8").replace(/Probe/g, "Hello"))).toEqual([]);
    expect(await send(`${"<a>".repeat(10_000)}${"</a>".repeat(10_000)}`)).toEqual([]);
    expect(await send(probe("urn:uuid:p9"))).toHaveLength(2);
  });
});
