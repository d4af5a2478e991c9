/**
 * Drawing surfaces. Everything the simulator draws (panorama, car, text, time code) is axis-aligned
 * rectangles of one colour, so a surface needs one operation: fill a clipped rectangle.
 * Colours are packed RGB numbers from rgb(); each surface converts them to its own layout.
 */

export interface Canvas {
  readonly width: number;
  readonly height: number;
  /** Fill [x0, x1) × [y0, y1), already clipped to the surface. */
  fillClipped(x0: number, y0: number, x1: number, y1: number, color: number): void;
}

/**
 * Invariant: packed little-endian (A<<24 | B<<16 | G<<8 | R), the byte order of `rgba` on every
 * machine we run on (x86-64, arm64), so an RgbaFrame's bytes are ffmpeg's `rgba`.
 */
export function rgb(r: number, g: number, b: number): number {
  return ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0;
}

/** Fills a rectangle given in fractional pixels, clipped to the surface. */
export function fillRect(c: Canvas, x: number, y: number, w: number, h: number, color: number): void {
  const x0 = Math.max(0, Math.floor(x));
  const y0 = Math.max(0, Math.floor(y));
  const x1 = Math.min(c.width, Math.floor(x + w));
  const y1 = Math.min(c.height, Math.floor(y + h));
  if (x1 > x0 && y1 > y0) c.fillClipped(x0, y0, x1, y1, color);
}

/** An RGBA frame as a Uint32Array, one element per pixel: where the panorama is drawn. */
export class RgbaFrame implements Canvas {
  readonly pixels: Uint32Array;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.pixels = new Uint32Array(width * height);
  }

  fillClipped(x0: number, y0: number, x1: number, y1: number, color: number): void {
    for (let y = y0; y < y1; y++) this.pixels.fill(color, y * this.width + x0, y * this.width + x1);
  }
}

/** Luma (BT.601, 0–255) of pixel (x, y) in an RGBA byte buffer. */
export function lumaAt(rgba: Uint8Array, width: number, x: number, y: number): number {
  const i = (y * width + x) * 4;
  return 0.299 * (rgba[i] ?? 0) + 0.587 * (rgba[i + 1] ?? 0) + 0.114 * (rgba[i + 2] ?? 0);
}
