import { describe, expect, it } from "vitest";
import { newFrame } from "../../sim/video/pixels.js";
import { Renderer, type Viewport } from "../../sim/video/renderer.js";
import { decodeTimecode, drawTimecode, stripGeometry } from "../../sim/video/timecode.js";
import { changedShare } from "../helpers/media.js";

const bytes = (px: Uint32Array) => new Uint8Array(px.buffer, px.byteOffset, px.byteLength);

describe("time code strip", () => {
  it("round-trips epoch ms, including 0 and the largest 48-bit value", () => {
    for (const ms of [0, 1, 1_764_000_000_123, Date.now(), 2 ** 48 - 1]) {
      const f = newFrame(640, 360);
      drawTimecode(f, ms);
      expect(decodeTimecode(bytes(f.pixels), 640, 360)).toBe(ms);
    }
    expect(() => drawTimecode(newFrame(64, 64), -1)).toThrow(RangeError);
  });

  it("survives noise and works at other frame sizes", () => {
    for (const [w, h] of [
      [1280, 720],
      [320, 180],
    ] as const) {
      const f = newFrame(w, h);
      drawTimecode(f, 1_764_000_000_999);
      const b = bytes(f.pixels);
      // ±40 of noise on every channel, as lossy compression might leave.
      for (let i = 0; i < b.length; i++)
        if (i % 4 !== 3) b[i] = Math.max(0, Math.min(255, (b[i] ?? 0) + ((i * 7919) % 81) - 40));
      expect(decodeTimecode(b, w, h)).toBe(1_764_000_000_999);
    }
  });

  it("returns null rather than a wrong time when the strip is damaged or absent", () => {
    const f = newFrame(640, 360);
    expect(decodeTimecode(bytes(f.pixels), 640, 360)).toBeNull();
    drawTimecode(f, 1_764_000_000_000);
    const g = stripGeometry(640, 360);
    // Flip one data block (block 20): the CRC must catch it.
    const x = g.x0 + 20 * g.blockW + 2;
    const on = (f.pixels[g.y0 * 640 + x] ?? 0) !== 0xff000000;
    for (let y = g.y0; y < g.y0 + g.blockH; y++)
      f.pixels.fill(
        on ? 0xff000000 : 0xffffffff,
        y * 640 + g.x0 + 20 * g.blockW,
        y * 640 + g.x0 + 21 * g.blockW,
      );
    expect(decodeTimecode(bytes(f.pixels), 640, 360)).toBeNull();
    expect(decodeTimecode(new Uint8Array(10), 640, 360)).toBeNull();
  });
});

describe("renderer", () => {
  function renderer(vp: { current: Viewport }, clock = () => 1_764_000_000_000) {
    return new Renderer({ name: "Test Street", width: 640, height: 360, clock, viewport: () => vp.current });
  }
  const copy = (r: Renderer, now: number) => new Uint8Array(bytes(r.render(now).pixels));

  it("pan, tilt and zoom each change the picture; the same view renders the same", () => {
    const vp = { current: { pan: 0, tilt: 0, zoom: 0 } };
    const r = renderer(vp);
    const now = 1_764_000_006_000; // car off-screen at this phase for the default view
    const base = copy(r, now);
    expect(changedShare(base, copy(r, now), 640, 20, 330)).toBe(0);
    for (const v of [
      { pan: 0.5, tilt: 0, zoom: 0 },
      { pan: 0, tilt: -0.6, zoom: 0 },
      { pan: 0, tilt: 0, zoom: 0.8 },
    ]) {
      vp.current = v;
      expect(changedShare(base, copy(r, now), 640, 20, 330)).toBeGreaterThan(0.2);
    }
  });

  it("burns in the camera clock (the text band changes with it) and the true time in the strip", () => {
    let camClock = 1_764_000_000_000;
    const r = renderer({ current: { pan: 0, tilt: 0, zoom: 0 } }, () => camClock);
    const a = copy(r, 1_764_000_000_500);
    camClock += 3_600_000;
    const b = copy(r, 1_764_000_000_500);
    expect(changedShare(a, b, 640, 0, 16)).toBeGreaterThan(0.005);
    expect(changedShare(a, b, 640, 20, 330)).toBe(0);
    expect(decodeTimecode(b, 640, 360)).toBe(1_764_000_000_500);
  });

  it("renders a frame in well under a frame interval", () => {
    const r = renderer({ current: { pan: 0.1, tilt: 0.1, zoom: 0.3 } });
    const t0 = performance.now();
    for (let i = 0; i < 30; i++) r.render(1_764_000_000_000 + i * 66);
    // 15 fps leaves 66 ms a frame; the budget for the whole camera is ~5% of a core.
    expect((performance.now() - t0) / 30).toBeLessThan(10);
  });
});
