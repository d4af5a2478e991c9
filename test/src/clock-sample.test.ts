import { describe, expect, it } from "vitest";
import { ClockCheck, clockErrorBoundMs, describeClockOffset } from "../../src/cameras/clock-check.js";
import { clockSampleOf } from "../../src/cameras/onvif-client.js";

describe("camera clock samples", () => {
  it("centre the whole second ONVIF reports and the round trip", () => {
    // Asked at …:00.100, answered by …:00.140; the camera said 12:00:00 (its clock was 0–999 ms in).
    const t = Date.UTC(2026, 10, 25, 12, 0, 0);
    expect(clockSampleOf(new Date(t), t + 100, t + 140)).toEqual({
      offsetMs: 500 - 120,
      rttMs: 40,
      sampledAt: t + 120,
    });
    // 42 s ahead: reads 42 s ± the half second, not 41.5 s.
    expect(clockSampleOf(new Date(t + 42_000), t + 480, t + 520).offsetMs).toBe(42_000 + 500 - 500);
  });

  it("keeps milliseconds a camera does report", () => {
    const t = Date.UTC(2026, 10, 25, 12, 0, 0, 250);
    expect(clockSampleOf(new Date(t), t, t + 10).offsetMs).toBe(-5);
  });
});

describe("camera clock offset limit", () => {
  const sample = (offsetMs: number, rttMs = 20) => ({ offsetMs, rttMs, sampledAt: 0 });

  it("finds a clock years or seconds off, in either direction", () => {
    const years = new ClockCheck(2_000).judge(sample(Math.round(11.9 * 365.25 * 86_400_000)));
    expect(years).toEqual({ off: true, changed: true });
    expect(new ClockCheck(2_000).judge(sample(-41_000))).toEqual({ off: true, changed: true });
    expect(new ClockCheck(2_000).judge(sample(1_200))).toEqual({ off: false, changed: false });
    expect(describeClockOffset(sample(Math.round(11.9 * 365.25 * 86_400_000)), 2_000)).toBe(
      "camera clock 11.9 years ahead of this server (±0.5 s; limit 2 s)",
    );
    expect(describeClockOffset(sample(-41_000, 300), 2_000)).toBe(
      "camera clock 41 s behind this server (±0.7 s; limit 2 s)",
    );
  });

  it("reports an excursion once when it begins and once when it ends", () => {
    const check = new ClockCheck(2_000);
    const verdicts = [0, 41_000, 40_000, 41_500, 0, 0].map((o) => check.judge(sample(o)));
    expect(verdicts.map((v) => v.changed)).toEqual([false, true, false, false, true, false]);
    expect(verdicts.map((v) => v.off)).toEqual([false, true, true, true, false, false]);
  });

  it("carries an excursion over a restart: no second report while the clock stays off", () => {
    const check = new ClockCheck(2_000, true);
    expect(check.judge(sample(41_000))).toEqual({ off: true, changed: false });
    expect(check.judge(sample(0))).toEqual({ off: false, changed: true });
  });

  it("changes its verdict only on samples whose whole error bound is past the limit or within it", () => {
    const check = new ClockCheck(2_000);
    // ±510 ms: 2.4 s might be 1.9 s; 2.6 s cannot be under 2 s.
    expect(check.judge(sample(2_400)).off).toBe(false);
    expect(check.judge(sample(2_600)).off).toBe(true);
    // Back under the limit but within the error bound of it: still off, until certainly within.
    expect(check.judge(sample(1_800)).off).toBe(true);
    expect(check.judge(sample(2_300)).changed).toBe(false);
    expect(check.judge(sample(1_400))).toEqual({ off: false, changed: true });
    // A slow answer widens the bound: 3 s with a 3 s round trip (±2 s) is not certainly off.
    expect(check.judge(sample(3_000, 3_000)).off).toBe(false);
    expect(clockErrorBoundMs({ rttMs: 3_000 })).toBe(2_000);
  });
});
