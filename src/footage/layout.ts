import { join } from "node:path";

/**
 * Where segment files live. Finished segments: `<camera>/<YYYY>/<MM>/<DD>/<HH>/<start>.ts`, all UTC,
 * so a directory listing reads as a timeline and an hour can be found without the catalog. Segments
 * being written: `<camera>/.incoming/`, on the same volume, so finishing one is a rename.
 */

export const SEGMENT_EXT = "ts";

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** `20261125T034512.250Z`: sortable, filename-safe, millisecond precision. */
export function compactUtc(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}T${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}Z`;
}

/** Relative to the recordings root. */
export function segmentPath(camera: string, startMs: number): string {
  const d = new Date(startMs);
  return join(
    camera,
    String(d.getUTCFullYear()),
    pad(d.getUTCMonth() + 1),
    pad(d.getUTCDate()),
    pad(d.getUTCHours()),
    `${compactUtc(startMs)}.${SEGMENT_EXT}`,
  );
}

export function incomingDir(camera: string): string {
  return join(camera, ".incoming");
}
