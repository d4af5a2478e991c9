import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { clockErrorBoundMs } from "../cameras/clock-check.js";
import { DiscoveryError, discoverCameras } from "../cameras/discovery.js";
import { OnvifCamera } from "../cameras/onvif-client.js";
import { CliError, print } from "./common.js";

/** `pscs camera probe|discover`: talk to cameras directly over ONVIF, as an installer does. */

function intArg(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new CliError(`${flag}: expected an integer ${min}-${max}, got '${value}'`, 2);
  }
  return n;
}

export function cameraCommands(program: Command): void {
  const cameraCmd = program.command("camera").description("talk to a camera directly over ONVIF");
  cameraCmd
    .command("probe")
    .description("connect to an ONVIF camera and show its identity, stream URI and clock offset")
    .requiredOption("--host <host>", "camera address")
    .option("--port <port>", "ONVIF HTTP port", "80")
    .requiredOption("--user <user>", "ONVIF user")
    .requiredOption(
      "--password-file <file>",
      "file holding the ONVIF password (never given on the command line)",
    )
    .option("--json", "machine-readable output")
    .action(async (o: { host: string; port: string; user: string; passwordFile: string; json?: boolean }) => {
      const port = intArg("--port", o.port, 1, 65535);
      let password: string;
      try {
        password = (await readFile(o.passwordFile, "utf8")).replace(/\r?\n$/, "");
      } catch (e) {
        throw new CliError(
          `--password-file: cannot read ${o.passwordFile}: ${(e as NodeJS.ErrnoException).code}`,
          2,
        );
      }
      const cam = new OnvifCamera({ host: o.host, port, user: o.user, password, timeoutMs: 5_000 });
      try {
        await cam.connect();
        const [device, streamUri, clock] = [
          await cam.deviceInfo(),
          await cam.streamUri(),
          await cam.clockSample(),
        ];
        const errorBoundMs = clockErrorBoundMs(clock);
        print(
          !!o.json,
          { device, streamUri, profile: cam.profileToken, clock: { ...clock, errorBoundMs } },
          () =>
            [
              `${device.manufacturer} ${device.model} (serial ${device.serialNumber}, firmware ${device.firmwareVersion})`,
              `stream:  ${streamUri} (profile ${cam.profileToken})`,
              `clock:   camera ${clock.offsetMs >= 0 ? "+" : ""}${clock.offsetMs} ms vs this host (±${errorBoundMs} ms: ONVIF reports whole seconds, ±500 ms, plus half the ${clock.rttMs} ms round trip)`,
            ].join("\n"),
        );
      } catch (e) {
        throw new CliError(e instanceof Error ? e.message : String(e));
      }
    });

  cameraCmd
    .command("discover")
    .description("list the ONVIF cameras that answer a WS-Discovery probe (multicast 239.255.255.250:3702)")
    .option(
      "--interface <name>",
      "send the probe from this network interface only (e.g. eth1 on the camera VLAN; lo for cameras on this host)",
    )
    .option("--timeout <seconds>", "how long to wait for answers", "5")
    .option("--json", "machine-readable output")
    .action(async (o: { interface?: string; timeout: string; json?: boolean }) => {
      const timeoutMs = intArg("--timeout", o.timeout, 1, 60) * 1000;
      let result: Awaited<ReturnType<typeof discoverCameras>>;
      try {
        result = await discoverCameras({ ...(o.interface ? { interface: o.interface } : {}), timeoutMs });
      } catch (e) {
        if (!(e instanceof DiscoveryError)) throw e;
        throw e.badInterface ? new CliError(`--interface: ${e.message}`, 2) : new CliError(e.message);
      }
      const cameras = [...result.cameras].sort((a, b) => a.host.localeCompare(b.host) || a.port - b.port);
      const where = o.interface ? `on ${o.interface}` : "on every interface";
      print(!!o.json, { interface: o.interface ?? null, timeoutMs, cameras, problems: result.problems }, () =>
        [
          `${cameras.length} camera${cameras.length === 1 ? "" : "s"} answered ${where} within ${timeoutMs / 1000} s:`,
          ...cameras.map((c) =>
            [
              `  ${c.host}:${c.port}  ${c.name ?? "(no name)"}${c.hardware ? `  hardware ${c.hardware}` : ""}${c.location ? `  location ${c.location}` : ""}`,
              `      ${c.urn}  ${c.xaddrs.join(" ")}`,
            ].join("\n"),
          ),
          ...result.problems.map((p) => `  (unreadable answer: ${p})`),
          ...(cameras.length
            ? [
                "check one and its clock with: pscs camera probe --host <host> --port <port> --user <user> --password-file <file>",
              ]
            : []),
        ].join("\n"),
      );
      // Nothing answering is worth a non-zero exit for scripts: wrong interface, VLAN, or multicast filtered.
      if (!cameras.length) process.exitCode = 1;
    });
}
