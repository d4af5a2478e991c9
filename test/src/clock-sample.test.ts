import { describe, expect, it } from "vitest";
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
