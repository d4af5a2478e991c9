import type { ClockSample } from "./onvif-client.js";

/**
 * Judges a camera's clock against the offset limit, one sample at a time, and says when the verdict
 * changes: an excursion is reported once when it begins and once when it ends, never per sample.
 * Invariant: the verdict changes only on a sample whose whole error bound, ±(500 + rtt/2) ms, lies
 * beyond the limit (the clock is off) or within it (the clock is back); a sample that straddles the
 * limit keeps the last verdict, so measurement noise at the limit cannot make a clock flap.
 */

/** How far a sample's offset may be from the camera's true offset: ONVIF reports whole seconds. */
export function clockErrorBoundMs(sample: Pick<ClockSample, "rttMs">): number {
  return 500 + Math.ceil(sample.rttMs / 2);
}

export interface ClockVerdict {
  /** The camera's clock is beyond the limit. */
  off: boolean;
  /** This sample changed the verdict (an excursion began or ended). */
  changed: boolean;
}

export class ClockCheck {
  /** `off`: the verdict carried over, e.g. an excursion already audited before a restart. */
  constructor(
    readonly limitMs: number,
    private off = false,
  ) {}

  get isOff(): boolean {
    return this.off;
  }

  judge(sample: ClockSample): ClockVerdict {
    const error = clockErrorBoundMs(sample);
    const size = Math.abs(sample.offsetMs);
    const was = this.off;
    if (size - error > this.limitMs) this.off = true;
    else if (size + error <= this.limitMs) this.off = false;
    return { off: this.off, changed: this.off !== was };
  }
}

/** "camera clock 41.0 s ahead of this server (±0.5 s; limit 2 s)": what health shows for an excursion. */
export function describeClockOffset(sample: ClockSample, limitMs: number): string {
  const direction = sample.offsetMs >= 0 ? "ahead of" : "behind";
  return `camera clock ${formatSeconds(Math.abs(sample.offsetMs))} ${direction} this server (±${formatSeconds(clockErrorBoundMs(sample))}; limit ${formatSeconds(limitMs)})`;
}

function formatSeconds(ms: number): string {
  const s = ms / 1000;
  if (s >= 86_400 * 365) return `${(s / (86_400 * 365.25)).toFixed(1)} years`;
  if (s >= 86_400) return `${(s / 86_400).toFixed(1)} days`;
  return `${Number(s.toFixed(1))} s`;
}
