import { describe, expect, it } from "vitest";
import { DiscoveryError, interfaceAddress, probeMatches } from "../../src/cameras/discovery.js";

// ProbeMatches as the `onvif` package hands them over (xml2js, then its `linerase`): what real
// firmware sends varies, and none of it may crash `pscs camera discover`.
describe("WS-Discovery answers", () => {
  const match = (over: Record<string, unknown> = {}) => ({
    endpointReference: { address: "urn:uuid:1" },
    types: "dn:NetworkVideoTransmitter tds:Device",
    scopes:
      "onvif://www.onvif.org/name/Main%20St onvif://www.onvif.org/hardware/IPC-1 onvif://www.onvif.org/location/city/Norwich onvif://www.onvif.org/location/Pole%207",
    XAddrs: "http://10.0.0.5/onvif/device_service http://192.168.1.5:8080/onvif/device_service",
    metadataVersion: 1,
    ...over,
  });

  it("reads name, hardware, locations and the address the prober can reach", () => {
    const [cam] = probeMatches({ probeMatches: { probeMatch: match() } }, "192.168.1.5");
    expect(cam).toMatchObject({
      urn: "urn:uuid:1",
      host: "192.168.1.5",
      port: 8080,
      name: "Main St",
      hardware: "IPC-1",
      location: "city/Norwich, Pole 7",
      types: ["dn:NetworkVideoTransmitter", "tds:Device"],
    });
    // From an address none of its XAddrs name: the first one, default port 80.
    expect(probeMatches({ probeMatches: { probeMatch: match() } }, "10.9.9.9")[0]).toMatchObject({
      host: "10.0.0.5",
      port: 80,
    });
  });

  it("takes several matches in one answer, text beside attributes, and bad encodings as sent", () => {
    const cams = probeMatches(
      {
        probeMatches: {
          probeMatch: [
            match({ scopes: { _: "onvif://www.onvif.org/name/%E0%A4%A", $: { MatchBy: "x" } } }),
            match({ endpointReference: { address: "urn:uuid:2" }, scopes: 7 }),
          ],
        },
      },
      "10.0.0.5",
    );
    expect(cams.map((c) => c.urn)).toEqual(["urn:uuid:1", "urn:uuid:2"]);
    expect(cams[0]?.name).toBe("%E0%A4%A");
    expect(cams[1]?.name).toBeUndefined();
  });

  it("skips answers without an endpoint or a usable address, and non-answers", () => {
    expect(probeMatches({ probeMatches: { probeMatch: match({ endpointReference: {} }) } }, "x")).toEqual([]);
    expect(probeMatches({ probeMatches: { probeMatch: match({ XAddrs: "not a url" }) } }, "x")).toEqual([]);
    expect(probeMatches({ probeMatches: { probeMatch: match({ XAddrs: undefined }) } }, "x")).toEqual([]);
    for (const junk of [undefined, null, "text", 3, {}, { probeMatches: "x" }])
      expect(probeMatches(junk, "x")).toEqual([]);
  });

  it("names a missing interface instead of probing every network", () => {
    expect(interfaceAddress("lo")).toBe("127.0.0.1");
    expect(() => interfaceAddress("no-such-if0")).toThrow(DiscoveryError);
    expect(() => interfaceAddress("no-such-if0")).toThrow(/no network interface 'no-such-if0'.*have: .*lo/);
  });
});
