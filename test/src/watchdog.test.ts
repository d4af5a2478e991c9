import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Watchdog } from "../../recorder/watchdog.js";

const BOUNDS = { minMs: 250, maxMs: 18_000 };

describe("recorder watchdog", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A watchdog whose cameras answer `next()` at each look; the times it looked. */
  function watch(next: (now: number) => number | undefined) {
    const looks: number[] = [];
    const w = new Watchdog(() => {
      looks.push(Date.now());
      return next(Date.now());
    }, BOUNDS);
    return { w, looks };
  }

  it("sleeps until the earliest moment a camera could have stalled, not on a fixed beat", () => {
    const { w, looks } = watch(() => 12_000);
    w.start();
    vi.advanceTimersByTime(BOUNDS.maxMs - 1);
    expect(looks).toEqual([]);
    vi.advanceTimersByTime(1 + 12_000 + 12_000);
    expect(looks).toEqual([18_000, 30_000, 42_000]);
    w.stop();
  });

  it("never looks sooner than minMs nor later than maxMs, whatever the cameras answer", () => {
    const answers = [0, -5_000, 10 ** 9, undefined, 1_000];
    const { w, looks } = watch(() => answers.shift());
    w.start();
    vi.advanceTimersByTime(18_000 + 250 + 250 + 18_000 + 18_000);
    expect(looks).toEqual([18_000, 18_250, 18_500, 36_500, 54_500]);
    w.stop();
  });

  it("is brought forward by a new run's nearer deadline, never pushed back", () => {
    const { w, looks } = watch(() => 15_000);
    w.start();
    w.within(5_000);
    w.within(9_000); // later than the armed look: ignored
    vi.advanceTimersByTime(5_000);
    expect(looks).toEqual([5_000]);
    vi.advanceTimersByTime(15_000);
    expect(looks).toEqual([5_000, 20_000]);
    w.stop();
  });

  it("looks at once when asked (a pause), then sleeps from there", () => {
    const { w, looks } = watch(() => 10_000);
    w.start();
    vi.advanceTimersByTime(3_000);
    w.lookNow();
    expect(looks).toEqual([3_000]);
    vi.advanceTimersByTime(10_000);
    expect(looks).toEqual([3_000, 13_000]);
    w.stop();
  });

  it("stays armed after a look that threw, and stops for good when stopped", () => {
    let calls = 0;
    const w = new Watchdog(() => {
      calls++;
      throw new Error("catalog busy");
    }, BOUNDS);
    w.start();
    expect(() => vi.advanceTimersByTime(18_000)).toThrow("catalog busy");
    expect(() => vi.advanceTimersByTime(18_000)).toThrow("catalog busy");
    expect(calls).toBe(2);
    w.stop();
    w.lookNow();
    w.within(1);
    vi.advanceTimersByTime(60_000);
    expect(calls).toBe(2);
  });

  it("looks at a flowing camera about four times a minute and sees its stall when the limit runs out", () => {
    // A camera as camera-recorder.ts answers: ffmpeg reports every 3 s; the stall limit is 15 s plus
    // one report period from the newest media; the stream stops at 60 s.
    const limitMs = 18_000;
    let stalledAt: number | undefined;
    const { w, looks } = watch((now) => {
      const lastMedia = Math.min(Math.floor(now / 3_000) * 3_000, 60_000);
      const left = lastMedia + limitMs - now;
      if (left >= 0) return left + 1;
      stalledAt ??= now;
      return undefined;
    });
    w.start();
    vi.advanceTimersByTime(60_000);
    // A fixed 7 s beat looked 8 times in that minute.
    expect(looks.length).toBeLessThanOrEqual(4);
    vi.advanceTimersByTime(60_000);
    expect(stalledAt).toBeGreaterThan(60_000 + limitMs);
    expect(stalledAt).toBeLessThanOrEqual(60_000 + limitMs + 250);
    w.stop();
  });
});
