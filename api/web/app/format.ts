import { isoInZone, type ParsedTime, parseTime } from "../../../src/time/parse.js";
import { session } from "./session.js";

/**
 * How the screens write times, durations and sizes. Every time is shown and typed in the site's
 * zone (the session names it), never the browser's: a report printed a year later on a laptop
 * elsewhere reads as the site's clocks did. Before sign-in there is no site: UTC, saying so.
 */

/** The site's IANA zone. */
export const siteZone = (): string => session.me?.site.timezone ?? "UTC";

const formats = new Map<string, Intl.DateTimeFormat>();
function format(key: string, o: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const zone = siteZone();
  let f = formats.get(`${key} ${zone}`);
  if (!f) {
    f = new Intl.DateTimeFormat(undefined, { ...o, timeZone: zone, hourCycle: "h23" });
    formats.set(`${key} ${zone}`, f);
  }
  return f;
}

const CLOCK = { hour: "2-digit", minute: "2-digit", second: "2-digit" } as const;

/** The site zone's short name at `ms` (EST, EDT; GMT-3 where the locale has no abbreviation). */
export function zoneName(ms = Date.now()): string {
  const parts = format("name", { timeZoneName: "short" }).formatToParts(ms);
  return parts.find((p) => p.type === "timeZoneName")?.value ?? siteZone();
}

/** What a time field's label says: "site time, EST". */
export const siteTime = (): string => `site time, ${zoneName()}`;

export function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 172_800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} days ago`;
}

/** A moment in the site's zone, to the second, with its date and zone: "Dec 1, 2026, 17:43:12 EST". */
export function when(ms: number): string {
  return format("when", {
    year: "numeric",
    month: "short",
    day: "numeric",
    ...CLOCK,
    timeZoneName: "short",
  }).format(ms);
}

/** The site's time of day at `ms`, with the zone: "17:43:12 EST". */
export function clock(ms: number): string {
  return format("clock", { ...CLOCK, timeZoneName: "short" }).format(ms);
}

/** `ms` as a datetime-local field holds it: the site's wall time, to the second. */
export const siteInput = (ms: number): string => isoInZone(ms, siteZone()).slice(0, 19);

/**
 * A datetime-local value read as pscsd reads it: a wall time in the site's zone, refused (with the
 * offsets that would make it exact) when the clocks went forward over it or back over it.
 */
export const siteInstant = (typed: string): ParsedTime => parseTime(typed, siteZone());

export function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}
