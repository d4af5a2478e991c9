import type { Canvas, RgbaFrame } from "./pixels.js";

/**
 * A frame in ffmpeg's `yuv420p` layout (BT.601, limited range): the Y plane, then U and V at half
 * width and half height, in one buffer that is written to the encoder as is.
 * Why planar and not RGBA: it is 1.5 bytes a pixel instead of 4 through the pipe, and the encoder
 * skips its colour conversion; both were most of a simulated camera's cost (BENCHMARKS.md).
 * Invariant: width and height are even, so every 2×2 block of luma has exactly one chroma sample.
 */
export class Yuv420Frame implements Canvas {
  readonly data: Uint8Array;
  readonly y: Uint8Array;
  readonly u: Uint8Array;
  readonly v: Uint8Array;
  private readonly colors = new Map<number, [number, number, number]>();

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    if (width % 2 || height % 2 || width <= 0 || height <= 0)
      throw new RangeError(`yuv420p needs even positive dimensions, got ${width}x${height}`);
    const luma = width * height;
    this.data = new Uint8Array(luma * 1.5);
    this.y = this.data.subarray(0, luma);
    this.u = this.data.subarray(luma, luma * 1.25);
    this.v = this.data.subarray(luma * 1.25);
  }

  /** Converts an RGBA frame (odd edges cropped), averaging each 2×2 block for its chroma sample. */
  static fromRgba(src: RgbaFrame): Yuv420Frame {
    const w = src.width & ~1;
    const h = src.height & ~1;
    const out = new Yuv420Frame(w, h);
    const px = src.pixels;
    const cw = w / 2;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const c = px[y * src.width + x] ?? 0;
        out.y[y * w + x] = yOf(c & 255, (c >>> 8) & 255, (c >>> 16) & 255);
      }
    }
    for (let cy = 0; cy < h / 2; cy++) {
      for (let cx = 0; cx < cw; cx++) {
        let r = 0;
        let g = 0;
        let b = 0;
        for (const [dx, dy] of [
          [0, 0],
          [1, 0],
          [0, 1],
          [1, 1],
        ] as const) {
          const c = px[(2 * cy + dy) * src.width + 2 * cx + dx] ?? 0;
          r += c & 255;
          g += (c >>> 8) & 255;
          b += (c >>> 16) & 255;
        }
        out.u[cy * cw + cx] = uOf(r / 4, g / 4, b / 4);
        out.v[cy * cw + cx] = vOf(r / 4, g / 4, b / 4);
      }
    }
    return out;
  }

  fillClipped(x0: number, y0: number, x1: number, y1: number, color: number): void {
    let yuv = this.colors.get(color);
    if (!yuv) {
      const r = color & 255;
      const g = (color >>> 8) & 255;
      const b = (color >>> 16) & 255;
      yuv = [yOf(r, g, b), uOf(r, g, b), vOf(r, g, b)];
      this.colors.set(color, yuv);
    }
    const [Y, U, V] = yuv;
    for (let y = y0; y < y1; y++) this.y.fill(Y, y * this.width + x0, y * this.width + x1);
    // A chroma sample belongs to the rectangle when any of its four luma pixels does.
    const cw = this.width / 2;
    for (let cy = y0 >> 1; cy < (y1 + 1) >> 1; cy++) {
      this.u.fill(U, cy * cw + (x0 >> 1), cy * cw + ((x1 + 1) >> 1));
      this.v.fill(V, cy * cw + (x0 >> 1), cy * cw + ((x1 + 1) >> 1));
    }
  }

  /** Full-range luma (0–255) at (x, y), as a decoder converting to RGB would see it. */
  lumaAt(x: number, y: number): number {
    return (((this.y[y * this.width + x] ?? 16) - 16) * 255) / 219;
  }
}

const clamp8 = (n: number) => (n < 0 ? 0 : n > 255 ? 255 : Math.round(n));
const yOf = (r: number, g: number, b: number) => clamp8(16 + 0.257 * r + 0.504 * g + 0.098 * b);
const uOf = (r: number, g: number, b: number) => clamp8(128 - 0.148 * r - 0.291 * g + 0.439 * b);
const vOf = (r: number, g: number, b: number) => clamp8(128 + 0.439 * r - 0.368 * g - 0.071 * b);
