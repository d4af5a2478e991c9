import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { fillRect, RgbaFrame, rgb } from "../../sim/video/pixels.js";
import { Renderer, SIM_FIELD_OF_VIEW, type Viewport } from "../../sim/video/renderer.js";
import { decodeTimecode, drawTimecode, readTimecode, stripGeometry } from "../../sim/video/timecode.js";
import { Yuv420Frame } from "../../sim/video/yuv.js";
import { DEFAULT_FIELD_OF_VIEW, viewHalf } from "../../src/ptz/zones.js";
import { changedShare } from "../helpers/media.js";

const bytes = (px: Uint32Array) => new Uint8Array(px.buffer, px.byteOffset, px.byteLength);

describe("time code strip", () => {
  it("round-trips epoch ms, including 0 and the largest 48-bit value", () => {
    for (const ms of [0, 1, 1_764_000_000_123, Date.now(), 2 ** 48 - 1]) {
      const f = new RgbaFrame(640, 360);
      drawTimecode(f, ms);
      expect(decodeTimecode(bytes(f.pixels), 640, 360)).toBe(ms);
    }
    expect(() => drawTimecode(new RgbaFrame(64, 64), -1)).toThrow(RangeError);
  });

  it("survives noise and works at other frame sizes", () => {
    for (const [w, h] of [
      [1280, 720],
      [320, 180],
    ] as const) {
      const f = new RgbaFrame(w, h);
      drawTimecode(f, 1_764_000_000_999);
      const b = bytes(f.pixels);
      // ±40 of noise on every channel, as lossy compression might leave.
      for (let i = 0; i < b.length; i++)
        if (i % 4 !== 3) b[i] = Math.max(0, Math.min(255, (b[i] ?? 0) + ((i * 7919) % 81) - 40));
      expect(decodeTimecode(b, w, h)).toBe(1_764_000_000_999);
    }
  });

  it("returns null rather than a wrong time when the strip is damaged or absent", () => {
    const f = new RgbaFrame(640, 360);
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
  // Grey RGBA from the rendered luma: what changedShare and decodeTimecode read.
  const copy = (r: Renderer, now: number) => {
    const f = r.render(now);
    const out = new Uint8Array(f.width * f.height * 4);
    for (let i = 0; i < f.width * f.height; i++) {
      const l = f.lumaAt(i % f.width, Math.floor(i / f.width));
      out.fill(Math.round(l), 4 * i, 4 * i + 3);
      out[4 * i + 3] = 255;
    }
    return out;
  };

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

  it("draws the view pscsd checks privacy zones against: the same street at pan p + w/2 at every zoom", () => {
    expect(SIM_FIELD_OF_VIEW).toEqual(DEFAULT_FIELD_OF_VIEW);
    const now = 1_764_000_006_000;
    for (const zoom of [0, 0.4, 0.8]) {
      // Shifted right by half the view's width (pscsd's model), the picture's column at 3/4 of
      // the width must come back at 1/4: the same part of the street.
      const w = viewHalf(DEFAULT_FIELD_OF_VIEW, zoom).pan;
      const vp = { current: { pan: 0.1, tilt: 0.2, zoom } };
      const r = renderer(vp);
      const a = r.render(now);
      const left = new Uint8Array(a.y);
      vp.current = { pan: 0.1 + w, tilt: 0.2, zoom };
      const b = r.render(now);
      let same = 0;
      let all = 0;
      for (let y = 30; y < 320; y += 2) {
        for (let dx = 0; dx < 100; dx += 5) {
          all++;
          const fa = left[y * 640 + 480 + dx] ?? -1;
          const fb = b.y[y * 640 + 160 + dx] ?? -2;
          if (Math.abs(fa - fb) <= 2) same++;
        }
      }
      expect(same / all, `zoom ${zoom}`).toBeGreaterThan(0.9);
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
    expect(readTimecode(r.render(1_764_000_000_777))).toBe(1_764_000_000_777);
  });

  it("renders a frame in well under a frame interval", () => {
    const r = renderer({ current: { pan: 0.1, tilt: 0.1, zoom: 0.3 } });
    const t0 = performance.now();
    for (let i = 0; i < 30; i++) r.render(1_764_000_000_000 + i * 66);
    // 15 fps leaves 66 ms a frame; the budget for the whole camera is ~5% of a core.
    expect((performance.now() - t0) / 30).toBeLessThan(10);
  });
});

describe("yuv420p frames", () => {
  it("refuses odd sizes: 4:2:0 has one chroma sample per 2×2 block", () => {
    expect(() => new Yuv420Frame(641, 360)).toThrow(/even positive dimensions, got 641x360/);
  });

  it("fills luma exactly and chroma wherever a rectangle touches a 2×2 block", () => {
    const f = new Yuv420Frame(8, 4);
    fillRect(f, 3, 1, 2, 1, rgb(255, 255, 255));
    const lit = [...f.y].flatMap((v, i) => (v === 235 ? [i] : []));
    expect(lit).toEqual([8 + 3, 8 + 4]);
    // Columns 3 and 4 straddle chroma columns 1 and 2 of chroma row 0; white is neutral (128).
    f.u.fill(0);
    fillRect(f, 3, 1, 2, 1, rgb(255, 255, 255));
    expect([...f.u]).toEqual([0, 128, 128, 0, 0, 0, 0, 0]);
  });

  it("means to ffmpeg what the RGB colour meant (BT.601, limited range)", () => {
    const colors = [rgb(200, 30, 30), rgb(235, 200, 40), rgb(20, 110, 50), rgb(0, 0, 0), rgb(255, 255, 255)];
    const f = new Yuv420Frame(16 * colors.length, 16);
    for (const [k, c] of colors.entries()) fillRect(f, 16 * k, 0, 16, 16, c);
    const rgba = execFileSync(
      "ffmpeg",
      ["-v", "error", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", `${f.width}x16`, "-i", "pipe:0"].concat([
        ...["-f", "rawvideo", "-pix_fmt", "rgba", "pipe:1"],
      ]),
      { input: f.data },
    );
    for (const [k, c] of colors.entries()) {
      const i = (8 * f.width + 16 * k + 8) * 4;
      const got = [rgba[i], rgba[i + 1], rgba[i + 2]].map(Number);
      const want = [c & 255, (c >>> 8) & 255, (c >>> 16) & 255];
      for (const [ch, g] of got.entries())
        expect(Math.abs(g - (want[ch] ?? 0)), `colour ${k} channel ${ch}`).toBeLessThan(6);
    }
  });

  it("converts an RGBA picture with chroma averaged per 2×2 block", () => {
    const src = new RgbaFrame(4, 2);
    fillRect(src, 0, 0, 1, 2, rgb(255, 0, 0));
    fillRect(src, 1, 0, 1, 2, rgb(0, 0, 255));
    const f = Yuv420Frame.fromRgba(src);
    const mix = new Yuv420Frame(2, 2);
    fillRect(mix, 0, 0, 2, 2, rgb(128, 0, 128));
    // Half red, half blue averages to purple: the same chroma as a flat (127.5, 0, 127.5).
    expect(Math.abs((f.u[0] ?? 0) - (mix.u[0] ?? 0))).toBeLessThanOrEqual(1);
    expect(Math.abs((f.v[0] ?? 0) - (mix.v[0] ?? 0))).toBeLessThanOrEqual(1);
    expect(f.y[0]).not.toBe(f.y[1]);
  });
});
