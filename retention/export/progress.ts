import type { ExportProgress } from "../../src/exports/export.js";

/**
 * A production's progress in bytes of work: each source is read twice (its hash checked, then
 * copied into a clip), so the total is twice the sources' size. The ETA is the rate so far applied to
 * what is left, once a second has passed (sooner, one slow first read would say hours). Monotonic
 * time: a wall clock stepped by NTP must not make the ETA jump.
 */
export function progressMeter(
  total: number,
  report?: (p: ExportProgress) => void,
  now: () => number = performance.now.bind(performance),
) {
  const started = now();
  let done = 0;
  const emit = (at: number) => {
    const elapsed = now() - started;
    const etaMs = at > 0 && elapsed >= 1_000 ? Math.round((elapsed * (total - at)) / at) : null;
    report?.({ bytesDone: at, bytesTotal: total, etaMs });
  };
  return {
    /** A step of `bytes` finished. */
    add: (bytes: number) => {
      done += bytes;
      emit(done);
    },
    /** Progress inside the current step, told as the step's own count. */
    within: (n: number) => emit(done + n),
  };
}
