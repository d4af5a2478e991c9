import { ConfigError, loadConfig } from "../config/load.js";
import { localAndUtc, parseTime } from "../time/parse.js";
import { CliError } from "./common.js";

/**
 * Times typed at the console, read in the site's zone and echoed back on stderr as the site's local
 * time and UTC, so a wrong reading is seen before it matters (stdout stays the result: JSON, CSV, HTML).
 */

export interface CliTimes {
  /** Parses `value` for `flag` (exit 2 naming the flag on bad input) and echoes it. */
  read(flag: string, value: string, label?: string): number;
}

/** The config file is read at the first time given, not before. */
export function cliTimes(configFile: string): CliTimes {
  let zone: string | undefined;
  const siteZone = () => {
    try {
      zone ??= loadConfig(configFile).site.timezone;
      return zone;
    } catch (e) {
      if (e instanceof ConfigError) throw new CliError(e.message, 78);
      throw e;
    }
  };
  return {
    read(flag, value, label = flag.replace(/^--/, "")) {
      const z = siteZone();
      const t = parseTime(value, z);
      if (!t.ok) throw new CliError(`${flag}: ${t.reason}`, 2);
      process.stderr.write(`${label} ${localAndUtc(t.ms, z)}\n`);
      return t.ms;
    },
  };
}

/** A time in output, as the console prints every time: ISO 8601 UTC; `none` when there is none. */
export const isoOr = (t: number | null, none: string): string =>
  t === null ? none : new Date(t).toISOString();

/** --range cam1,2026-01-01T10:00:00Z,2026-01-01T10:30:00Z */
export function parseRange(times: CliTimes, v: string): { camera: string; fromMs: number; toMs: number } {
  const [camera, from, to, ...rest] = v.split(",");
  if (!camera || !from || !to || rest.length) {
    throw new CliError(`--range: expected CAMERA,FROM,TO (ISO 8601 or epoch ms), got '${v}'`, 2);
  }
  return {
    camera,
    fromMs: times.read("--range FROM", from, `${camera} from`),
    toMs: times.read("--range TO", to, `${camera} to`),
  };
}
