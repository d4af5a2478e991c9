/**
 * Times as people and scripts type them: ISO 8601 (extended format) or UTC epoch milliseconds, and
 * nothing else, so "12/01/2026" is refused instead of read one way or the other. A time without an
 * offset is a wall-clock time in the site's zone (IANA), converted with Intl, never with the
 * server's own TZ.
 * Invariant: a local time that does not exist (clocks went forward) or happens twice (clocks went
 * back) in the zone is refused with the offsets that would make it exact; it is never guessed.
 */

export type ParsedTime = { ok: true; ms: number } | { ok: false; reason: string };

/** What every caller says when refusing: the shapes accepted. */
export const TIME_FORMATS = "an ISO 8601 time (2026-11-24T08:00, 2026-11-24T13:00:00Z) or epoch ms";

/** Date, or date and time with an optional offset (a date alone takes none: it is a day somewhere). */
const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?)?$/;
const EPOCH_MS = /^\d{1,15}$/;

/** A time in `zone` (IANA); epoch ms are UTC by definition. */
export function parseTime(text: string, zone: string): ParsedTime {
  const s = text.trim();
  if (EPOCH_MS.test(s)) return { ok: true, ms: Number(s) };
  const m = ISO.exec(s);
  if (!m) return { ok: false, reason: `expected ${TIME_FORMATS}, got '${text}'` };
  const [, y, mo, d, h = "0", mi = "0", sec = "0", frac = "", z, sign, oh, om = "0"] = m;
  const f = {
    y: Number(y),
    mo: Number(mo),
    d: Number(d),
    h: Number(h),
    mi: Number(mi),
    s: Number(sec),
    ms: Number(frac.padEnd(3, "0").slice(0, 3)),
  };
  if (
    f.mo < 1 ||
    f.mo > 12 ||
    f.d < 1 ||
    f.d > daysIn(f.y, f.mo) ||
    f.h > 23 ||
    f.mi > 59 ||
    f.s > 59 ||
    (sign !== undefined && (Number(oh) > 23 || Number(om) > 59))
  ) {
    return { ok: false, reason: `expected ${TIME_FORMATS}, got '${text}' (no such date or time)` };
  }
  const wall = Date.UTC(f.y, f.mo - 1, f.d, f.h, f.mi, f.s, f.ms);
  if (z) return { ok: true, ms: wall };
  if (sign) {
    const offsetMs = (sign === "-" ? -1 : 1) * (Number(oh) * 60 + Number(om)) * 60_000;
    return { ok: true, ms: wall - offsetMs };
  }
  return fromWallTime(wall, zone, text);
}

/**
 * The instants whose wall-clock time in `zone` is `wall` (a wall time written as if it were UTC).
 * Transitions move the offset by hours at most, so the offsets a day either side cover every answer.
 */
function fromWallTime(wall: number, zone: string, text: string): ParsedTime {
  const offsets = new Set([-86_400_000, 0, 86_400_000].map((d) => offsetAt(wall + d, zone)));
  const found = [...offsets].map((o) => wall - o).filter((t) => wall - offsetAt(t, zone) === t);
  const answers = [...new Set(found)].sort((a, b) => a - b);
  if (answers.length === 1) return { ok: true, ms: answers[0] as number };
  if (answers.length === 0) {
    return {
      ok: false,
      reason: `'${text}' does not exist in ${zone} (the clocks went forward over it); give the offset, e.g. ${withOffset(wall, offsetAt(wall - 86_400_000, zone))} or ${withOffset(wall, offsetAt(wall + 86_400_000, zone))}`,
    };
  }
  return {
    ok: false,
    reason: `'${text}' happens twice in ${zone} (the clocks went back over it); give the offset: ${answers.map((t) => withOffset(wall, wall - t)).join(" or ")}`,
  };
}

const formats = new Map<string, Intl.DateTimeFormat>();
function format(zone: string): Intl.DateTimeFormat {
  let f = formats.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      timeZoneName: "short",
    });
    formats.set(zone, f);
  }
  return f;
}

interface WallParts {
  wall: number;
  name: string;
}

function wallParts(t: number, zone: string): WallParts {
  const p: Record<string, string> = {};
  for (const part of format(zone).formatToParts(t)) p[part.type] = part.value;
  const ms = ((t % 1000) + 1000) % 1000;
  const wall = Date.UTC(
    Number(p.year),
    Number(p.month) - 1,
    Number(p.day),
    Number(p.hour),
    Number(p.minute),
    Number(p.second),
    ms,
  );
  return { wall, name: p.timeZoneName ?? zone };
}

/** The zone's offset from UTC at instant t, in ms (wall time − UTC). */
export function offsetAt(t: number, zone: string): number {
  return wallParts(t, zone).wall - t;
}

/** True when Intl knows `zone` as an IANA zone name (or UTC). */
export function isTimeZone(zone: string): boolean {
  if (!/^(UTC|[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)+)$/.test(zone)) return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false; // RangeError: Intl does not know the zone
  }
}

function daysIn(y: number, mo: number): number {
  return new Date(Date.UTC(y, mo, 0)).getUTCDate();
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

function clock(wall: number): { date: string; time: string } {
  const d = new Date(wall);
  const ms = d.getUTCMilliseconds();
  const sec = d.getUTCSeconds();
  const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}${sec || ms ? `:${pad(sec)}` : ""}${ms ? `.${pad(ms, 3)}` : ""}`;
  return { date: `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`, time };
}

/** `+05:30`, `-05:00`. */
function offsetText(offsetMs: number): string {
  const a = Math.abs(offsetMs) / 60_000;
  return `${offsetMs < 0 ? "-" : "+"}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
}

function withOffset(wall: number, offsetMs: number): string {
  const { date, time } = clock(wall);
  return `${date}T${time}${offsetText(offsetMs)}`;
}

/** UTC as ISO 8601 without zero milliseconds: 2026-11-24T13:00:00Z. */
export function utcText(t: number): string {
  return new Date(t).toISOString().replace(".000Z", "Z");
}

/** A time as the site reads it and as UTC: "2026-11-24 08:00 EST (2026-11-24T13:00:00Z)". */
export function localAndUtc(t: number, zone: string): string {
  const { wall, name } = wallParts(t, zone);
  const { date, time } = clock(wall);
  return `${date} ${time} ${name} (${utcText(t)})`;
}

/** ISO 8601 in the zone, with milliseconds and its offset: 2026-11-24T08:00:00.000-05:00. */
export function isoInZone(t: number, zone: string): string {
  const { wall } = wallParts(t, zone);
  return `${new Date(wall).toISOString().slice(0, 23)}${offsetText(wall - t)}`;
}
