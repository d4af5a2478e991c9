import { type Canvas, fillRect, lumaAt, rgb } from "./pixels.js";

/**
 * A machine-readable time code strip along the bottom of every frame: a guard pattern, 48 bits of
 * epoch milliseconds and a CRC-8, as black/white blocks big enough to survive H.264 and scaling.
 * A decoder reads it from any decoded frame to measure glass-to-glass latency.
 * Invariant: decodeTimecode returns a value only when guard and CRC both check; never a guess.
 */

const GUARD = [1, 0, 1, 1, 0, 0, 1, 0];
const DATA_BITS = 48;
const CRC_BITS = 8;
const BLOCKS = GUARD.length + DATA_BITS + CRC_BITS;
const WHITE = rgb(255, 255, 255);
const BLACK = rgb(0, 0, 0);

export interface StripGeometry {
  x0: number;
  y0: number;
  blockW: number;
  blockH: number;
}

/** Where the strip sits in a frame of this size: same answer for the encoder and every decoder. */
export function stripGeometry(width: number, height: number): StripGeometry {
  const blockW = Math.max(4, Math.floor((width * 0.94) / BLOCKS));
  const blockH = Math.max(6, Math.round(height / 30));
  return {
    x0: Math.floor((width - blockW * BLOCKS) / 2),
    y0: height - blockH - Math.max(2, Math.round(blockH / 4)),
    blockW,
    blockH,
  };
}

export function crc8(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) {
    crc ^= b;
    for (let i = 0; i < 8; i++) crc = crc & 0x80 ? ((crc << 1) ^ 0x07) & 0xff : (crc << 1) & 0xff;
  }
  return crc;
}

function msBytes(ms: number): Uint8Array {
  const out = new Uint8Array(6);
  let v = ms;
  for (let i = 5; i >= 0; i--) {
    out[i] = v % 256;
    v = Math.floor(v / 256);
  }
  return out;
}

function bitsOf(ms: number): number[] {
  const bytes = msBytes(ms);
  const bits: number[] = [...GUARD];
  for (const byte of [...bytes, crc8(bytes)]) for (let i = 7; i >= 0; i--) bits.push((byte >> i) & 1);
  return bits;
}

export function drawTimecode(f: Canvas, ms: number): void {
  if (!Number.isInteger(ms) || ms < 0 || ms >= 2 ** DATA_BITS)
    throw new RangeError(`timecode out of range: ${ms}`);
  const g = stripGeometry(f.width, f.height);
  const pad = Math.max(2, Math.round(g.blockH / 4));
  fillRect(f, g.x0 - pad, g.y0 - pad, g.blockW * BLOCKS + 2 * pad, g.blockH + 2 * pad, BLACK);
  bitsOf(ms).forEach((bit, i) => {
    if (bit) fillRect(f, g.x0 + i * g.blockW, g.y0, g.blockW, g.blockH, WHITE);
  });
}

/** Anything the strip can be read from: a luma value (0–255, full range) per pixel. */
export interface LumaSource {
  readonly width: number;
  readonly height: number;
  lumaAt(x: number, y: number): number;
}

/**
 * Reads the strip from a decoded RGBA frame (any size the encoder's frame was scaled to keeps the
 * same relative geometry). Returns epoch ms, or null when the strip is absent or damaged.
 */
export function decodeTimecode(rgba: Uint8Array, width: number, height: number): number | null {
  if (rgba.length < width * height * 4) return null;
  return readTimecode({ width, height, lumaAt: (x, y) => lumaAt(rgba, width, x, y) });
}

/** Reads the strip from any luma source (a rendered frame, a decoded one). */
export function readTimecode(frame: LumaSource): number | null {
  const g = stripGeometry(frame.width, frame.height);
  const bits: number[] = [];
  for (let i = 0; i < BLOCKS; i++) {
    // Average the block's central quarter: edges blur under H.264 and scaling.
    const cx = g.x0 + i * g.blockW + g.blockW / 2;
    const cy = g.y0 + g.blockH / 2;
    let sum = 0;
    let n = 0;
    for (let dy = -g.blockH / 4; dy <= g.blockH / 4; dy++) {
      for (let dx = -g.blockW / 4; dx <= g.blockW / 4; dx++) {
        sum += frame.lumaAt(Math.round(cx + dx), Math.round(cy + dy));
        n++;
      }
    }
    bits.push(sum / n > 128 ? 1 : 0);
  }
  if (GUARD.some((b, i) => bits[i] !== b)) return null;
  const bytes = new Uint8Array(7);
  for (let i = 0; i < 7; i++) {
    let v = 0;
    for (let j = 0; j < 8; j++) v = (v << 1) | (bits[GUARD.length + i * 8 + j] ?? 0);
    bytes[i] = v;
  }
  const data = bytes.subarray(0, 6);
  if (crc8(data) !== bytes[6]) return null;
  return data.reduce((acc, b) => acc * 256 + b, 0);
}
