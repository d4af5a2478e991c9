import type { CoverageCatalog } from "../src/catalog/footage/coverage.js";
import type { Coverage } from "../src/holds/hold.js";

/**
 * What is and is not still there for a camera and a time range: footage on disk, footage destroyed
 * (with when and why), and time never recorded. A hold request is checked against it, and a refused
 * one answers with it, so the clerk can tell the requester exactly what exists.
 */

/** Adjacent or overlapping intervals (within 1 s) merged, for a readable answer. */
function merge<T extends { fromMs: number; toMs: number }>(
  rows: T[],
  same: (a: T, b: T) => boolean = () => true,
) {
  const out: (T & { segments: number })[] = [];
  for (const r of rows) {
    const last = out.at(-1);
    if (last && r.fromMs <= last.toMs + 1_000 && same(last, r)) {
      last.toMs = Math.max(last.toMs, r.toMs);
      last.segments++;
    } else out.push({ ...r, segments: 1 });
  }
  return out;
}

export function coverage(
  catalog: CoverageCatalog,
  camera: string,
  fromMs: number,
  toMs: number,
  now: number,
): Coverage {
  const segs = catalog.segments(camera, fromMs, toMs, now);
  const present = merge(segs.filter((s) => s.state === "complete" || s.state === "recording"));
  const lost = merge(segs.filter((s) => s.state === "missing"));
  const destroyed = merge(catalog.destroyed(camera, fromMs, toMs), (a, b) => a.reason === b.reason);
  const covered = [...present, ...lost, ...destroyed].reduce((n, s) => n + (s.toMs - s.fromMs), 0);
  const horizon = Math.min(toMs, now);
  return {
    camera,
    fromMs,
    toMs,
    present,
    destroyed,
    lost,
    notRecordedMs: Math.max(0, horizon - fromMs - covered),
  };
}
