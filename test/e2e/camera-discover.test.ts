import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Simulator } from "../../sim/simulator.js";
import { startProc } from "../helpers/process.js";
import { startTestCameras } from "../helpers/sim.js";

/**
 * The built `pscs camera …` commands against the real simulator: discovery by WS-Discovery multicast
 * kept on loopback (`--interface lo`: the probe leaves only through lo), and the probe's clock bound.
 * Other simulators on this host answer too (they share UDP 3702), so ours are picked out by port.
 */
const PSCS = join(import.meta.dirname, "../../dist/src/bin/pscs.js");
const PASSWORD = "Discover-Test-9!";
const dir = mkdtempSync(join(tmpdir(), "pscs-discover-"));
let sim: Simulator;

beforeAll(async () => {
  sim = await startTestCameras(dir, { user: "recorder", password: PASSWORD });
});
afterAll(() => sim?.stop());

interface Found {
  urn: string;
  host: string;
  port: number;
  name?: string;
  hardware?: string;
  location?: string;
  xaddrs: string[];
  types: string[];
}

async function pscs(...args: string[]) {
  const p = startProc(process.execPath, [PSCS, ...args]);
  const { code } = await p.exited;
  return { code, out: p.lines.join("\n") };
}

describe("pscs camera discover", () => {
  it("lists every simulated camera that answers a WS-Discovery probe on loopback, within the timeout", async () => {
    const ports = sim.cameras.map((c) => c.onvif.port);
    const started = Date.now();
    const { code, out } = await pscs("camera", "discover", "--interface", "lo", "--timeout", "2", "--json");
    expect(Date.now() - started).toBeLessThan(6_000);
    expect(code, out).toBe(0);
    const found = (JSON.parse(out) as { cameras: Found[] }).cameras.filter((c) => ports.includes(c.port));
    expect(found.map((c) => c.port).sort()).toEqual([...ports].sort());
    for (const c of sim.describe()) {
      expect(found.find((f) => f.port === c.onvif.port)).toMatchObject({
        host: "127.0.0.1",
        name: c.name,
        hardware: "SIM-PTZ-1",
        location: "city/Norwich",
        xaddrs: [`http://127.0.0.1:${c.onvif.port}/onvif/device_service`],
        types: ["dn:NetworkVideoTransmitter", "tds:Device"],
        urn: expect.stringMatching(/^urn:uuid:[0-9a-f-]{36}$/),
      });
    }
    expect(new Set(found.map((c) => c.urn)).size).toBe(2);

    // Readable: one line per camera with what an installer puts in pscs.yaml.
    const human = await pscs("camera", "discover", "--interface", "lo", "--timeout", "1");
    expect(human.code).toBe(0);
    for (const c of sim.describe()) expect(human.out).toContain(`127.0.0.1:${c.onvif.port}  ${c.name}`);
  });

  it("a camera off the network does not answer", async () => {
    await sim.cameras[1]?.setOnvifOnline(false);
    try {
      const { out } = await pscs("camera", "discover", "--interface", "lo", "--timeout", "1", "--json");
      const ports = (JSON.parse(out) as { cameras: Found[] }).cameras.map((c) => c.port);
      expect(ports).toContain(sim.cameras[0]?.onvif.port);
      expect(ports).not.toContain(sim.cameras[1]?.onvif.port);
    } finally {
      await sim.cameras[1]?.setOnvifOnline(true);
    }
  });

  it("refuses an unknown interface rather than probing every network", async () => {
    const { code, out } = await pscs("camera", "discover", "--interface", "no-such-if0", "--timeout", "1");
    expect(code).toBe(2);
    expect(out).toMatch(
      /^pscs: --interface: no network interface 'no-such-if0' with an IPv4 address \(have: .*lo/,
    );
    const bad = await pscs("camera", "discover", "--interface", "lo", "--timeout", "soon");
    expect(bad.code).toBe(2);
    expect(bad.out).toContain("--timeout: expected an integer 1-60, got 'soon'");
  });
});

describe("pscs camera probe", () => {
  it("states the clock offset's real error bound: ±(500 ms + half the round trip)", async () => {
    writeFileSync(join(dir, "cam.pw"), `${PASSWORD}\n`);
    sim.cameras[0]?.setClockSkew(41_000);
    try {
      const args = ["camera", "probe", "--host", "127.0.0.1", "--port", String(sim.cameras[0]?.onvif.port)];
      const creds = ["--user", "recorder", "--password-file", join(dir, "cam.pw")];
      const json = await pscs(...args, ...creds, "--json");
      expect(json.code, json.out).toBe(0);
      const { clock } = JSON.parse(json.out) as {
        clock: { offsetMs: number; rttMs: number; errorBoundMs: number };
      };
      expect(clock.errorBoundMs).toBe(500 + Math.ceil(clock.rttMs / 2));
      expect(Math.abs(clock.offsetMs - 41_000)).toBeLessThanOrEqual(clock.errorBoundMs);
      const human = await pscs(...args, ...creds);
      const m =
        /clock: {3}camera \+(\d+) ms vs this host \(±(\d+) ms: ONVIF reports whole seconds, ±500 ms, plus half the (\d+) ms round trip\)/.exec(
          human.out,
        );
      expect(m, human.out).not.toBeNull();
      expect(Number(m?.[2])).toBe(500 + Math.ceil(Number(m?.[3]) / 2));
    } finally {
      sim.cameras[0]?.setClockSkew(0);
    }
  });
});
