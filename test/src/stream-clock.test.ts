import { describe, expect, it } from "vitest";
import { CLOCK_WINDOW_MS, StreamClock } from "../../recorder/stream-clock.js";

/**
 * Feeds a clock the way a recording does: a segment close every 60 s (exact, read at once) and a
 * progress report every 5 s read up to one 5 s beat late, for `hours`. `wallOf(t)` is when media
 * time t really arrived on our clock. Returns the clock and the largest error of wallMs() seen at
 * the closes of the last hour.
 */
function record(hours: number, wallOf: (t: number) => number): { clock: StreamClock; worstMs: number } {
  const clock = new StreamClock();
  let seed = 7;
  const late = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return (seed / 2 ** 31) * 5_000;
  };
  let worstMs = 0;
  for (let t = 5; t <= hours * 3600; t += 5) {
    if (t % 60 === 0) {
      clock.sample(wallOf(t), t);
      if (t > (hours - 1) * 3600) worstMs = Math.max(worstMs, Math.abs(clock.wallMs(t) - wallOf(t)));
    } else clock.sample(wallOf(t) + late(), t);
  }
  return { clock, worstMs };
}

const START = Date.UTC(2026, 10, 26, 0, 0, 0);

describe("stream clock", () => {
  it("says nothing before its first sample", () => {
    const clock = new StreamClock();
    expect(clock.origin()).toBeUndefined();
    expect(() => clock.wallMs(1)).toThrow(/before any sample/);
  });

  it("places media time by its earliest-looking sample: late reports do not move it", () => {
    const { clock, worstMs } = record(2, (t) => START + 3_000 + t * 1000);
    expect(clock.origin()).toBe(START + 3_000);
    expect(worstMs).toBe(0);
    // Between closes, reports read late: the estimate stays on the exact closes.
    clock.sample(START + 3_000 + 7_205_000 + 4_000, 7_205);
    expect(clock.wallMs(7_205)).toBe(START + 3_000 + 7_205_000);
  });

  it("follows a camera whose clock runs 100 ppm slow for a day (an all-time minimum is 8.6 s off)", () => {
    // The camera's seconds are 1.0001 of ours: media time t arrives later and later.
    const { worstMs } = record(24, (t) => START + t * 1000 * 1.0001);
    // Within the drift of two windows (10 minutes: 60 ms), nowhere near the day's 8,640 ms.
    expect(worstMs).toBeLessThanOrEqual(2 * CLOCK_WINDOW_MS * 1e-4 + 1);
  });

  it("follows a step of our own clock within two windows", () => {
    const clock = new StreamClock();
    const stepAt = 3_600;
    const wallOf = (t: number) => START + t * 1000 + (t >= stepAt ? 2_000 : 0); // NTP: +2 s
    for (let t = 60; t <= stepAt + (2 * CLOCK_WINDOW_MS) / 1000 + 60; t += 60) clock.sample(wallOf(t), t);
    const t = stepAt + (2 * CLOCK_WINDOW_MS) / 1000 + 60;
    expect(clock.wallMs(t)).toBe(wallOf(t));
  });
});
