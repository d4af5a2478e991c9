/**
 * When, on our wall clock, an ffmpeg run's media time t was received: origin + t. The origin is
 * estimated from samples (the wall time at which media time t was seen). A sample can only be late
 * (a progress report is read up to one watchdog look after it was written; a packet arrives after it left the
 * camera), so the earliest-looking one is the best: origin = min(wall - t).
 * Invariant: the minimum is taken over the last one to two windows, not over the whole run. A
 * camera's clock drifts from ours (100 ppm is 8.6 s a day), and a run lasts as long as the camera
 * stays up: an all-time minimum would hold the origin still while the camera's clock fell behind,
 * and every segment's times with it; a step of our own clock (NTP) would never be followed either.
 */

/** Long enough to hold several segment closes, whose samples are exact; short against drift. */
export const CLOCK_WINDOW_MS = 5 * 60_000;

export class StreamClock {
  private current: number | undefined;
  private previous: number | undefined;
  private windowStart: number | undefined;

  constructor(private readonly windowMs = CLOCK_WINDOW_MS) {}

  /** Media time `mediaS` (seconds) was seen at wall time `wallMs`. */
  sample(wallMs: number, mediaS: number): void {
    if (this.windowStart === undefined) this.windowStart = wallMs;
    else if (wallMs - this.windowStart >= this.windowMs) {
      this.previous = this.current;
      this.current = undefined;
      this.windowStart = wallMs;
    }
    const origin = wallMs - mediaS * 1000;
    this.current = Math.min(this.current ?? Number.POSITIVE_INFINITY, origin);
  }

  /** Wall ms of media time 0, or undefined before the first sample. */
  origin(): number | undefined {
    if (this.current === undefined) return this.previous;
    return Math.min(this.current, this.previous ?? Number.POSITIVE_INFINITY);
  }

  /** Wall ms (rounded) at which media time `mediaS` was received; call only after a sample. */
  wallMs(mediaS: number): number {
    const origin = this.origin();
    if (origin === undefined) throw new Error("StreamClock.wallMs before any sample");
    return Math.round(origin + mediaS * 1000);
  }
}
