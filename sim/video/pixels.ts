/**
 * Frames are RGBA bytes viewed as a Uint32Array, one element per pixel: copying a pixel is one typed
 * array store, which is what keeps a simulated camera near 2% of a core in Node.
 * Invariant: pixels are packed little-endian (A<<24 | B<<16 | G<<8 | R), the byte order of `rgba` on
 * every machine we run on (x86-64, arm64).
 */
export function rgb(r: number, g: number, b: number): number {
  return ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0;
}

export interface Frame {
  width: number;
  height: number;
  pixels: Uint32Array;
}

export function newFrame(width: number, height: number): Frame {
  return { width, height, pixels: new Uint32Array(width * height) };
}

export function fillRect(f: Frame, x: number, y: number, w: number, h: number, color: number): void {
  const x0 = Math.max(0, Math.floor(x));
  const y0 = Math.max(0, Math.floor(y));
  const x1 = Math.min(f.width, Math.floor(x + w));
  const y1 = Math.min(f.height, Math.floor(y + h));
  for (let yy = y0; yy < y1; yy++) f.pixels.fill(color, yy * f.width + x0, yy * f.width + x1);
}

/** Luma (BT.601, 0–255) of pixel (x, y) in an RGBA byte buffer. */
export function lumaAt(rgba: Uint8Array, width: number, x: number, y: number): number {
  const i = (y * width + x) * 4;
  return 0.299 * (rgba[i] ?? 0) + 0.587 * (rgba[i + 1] ?? 0) + 0.114 * (rgba[i + 2] ?? 0);
}
