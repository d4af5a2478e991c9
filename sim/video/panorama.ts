import { drawText, textWidth } from "./font.js";
import { fillRect, RgbaFrame, rgb } from "./pixels.js";

/**
 * A procedural street scene, generated once per camera: the world a simulated PTZ camera looks at.
 * Deterministic from the seed, so a test can rely on "pan left shows something else" without images
 * in the repository, and every camera of a simulator shows its own street.
 */

export const PANORAMA_W = 3840;
export const PANORAMA_H = 1080;

/** mulberry32: a small, fast, seedable PRNG (reproducible scenes, not cryptography). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function seedOf(text: string): number {
  let h = 2166136261;
  for (const c of text) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return h >>> 0;
}

/** Rows below which the road begins, and the lane line, in panorama pixels. */
export const HORIZON_Y = Math.round(PANORAMA_H * 0.62);
export const SIDEWALK_H = 60;
export const ROAD_TOP = HORIZON_Y + SIDEWALK_H;
export const LANE_Y = Math.round((ROAD_TOP + PANORAMA_H) / 2);

export function generatePanorama(seed: string, streetName: string): RgbaFrame {
  const rnd = prng(seedOf(seed));
  const pano = new RgbaFrame(PANORAMA_W, PANORAMA_H);
  const between = (lo: number, hi: number) => lo + rnd() * (hi - lo);

  // Sky: a vertical gradient, one fill per row.
  for (let y = 0; y < HORIZON_Y; y++) {
    const t = y / HORIZON_Y;
    pano.pixels.fill(rgb(70 + 90 * t, 120 + 80 * t, 200 + 40 * t), y * PANORAMA_W, (y + 1) * PANORAMA_W);
  }
  // Buildings with lit and dark windows.
  for (let x = 0; x < PANORAMA_W; ) {
    const w = Math.round(between(90, 260));
    const h = Math.round(between(180, HORIZON_Y - 60));
    const top = HORIZON_Y - h;
    const shade = between(60, 190);
    fillRect(pano, x, top, w - 6, h, rgb(shade, shade * between(0.7, 1), shade * between(0.6, 1)));
    const lit = rgb(250, 230, 140);
    const dark = rgb(40, 50, 70);
    for (let wy = top + 18; wy < HORIZON_Y - 30; wy += 34) {
      for (let wx = x + 12; wx < x + w - 30; wx += 28) {
        fillRect(pano, wx, wy, 14, 20, rnd() < 0.35 ? lit : dark);
      }
    }
    // A door so that the ground floor reads as a street front.
    fillRect(pano, x + w / 2 - 14, HORIZON_Y - 44, 28, 44, rgb(90, 60, 40));
    x += w;
  }
  // Sidewalk, curb, road and dashed lane line.
  fillRect(pano, 0, HORIZON_Y, PANORAMA_W, SIDEWALK_H, rgb(170, 170, 165));
  fillRect(pano, 0, ROAD_TOP - 6, PANORAMA_W, 6, rgb(220, 220, 215));
  fillRect(pano, 0, ROAD_TOP, PANORAMA_W, PANORAMA_H - ROAD_TOP, rgb(55, 58, 62));
  for (let x = 0; x < PANORAMA_W; x += 120) fillRect(pano, x, LANE_Y - 4, 64, 8, rgb(235, 200, 40));
  // Street furniture: lamp posts, trees, and a street sign every so often.
  for (let x = 60; x < PANORAMA_W; x += Math.round(between(220, 420))) {
    if (rnd() < 0.5) {
      fillRect(pano, x, HORIZON_Y - 150, 8, 190, rgb(40, 40, 45));
      fillRect(pano, x - 10, HORIZON_Y - 158, 28, 10, rgb(255, 250, 200));
    } else {
      fillRect(pano, x, HORIZON_Y - 60, 12, 100, rgb(90, 60, 30));
      fillRect(pano, x - 34, HORIZON_Y - 140, 80, 84, rgb(40, 120 + rnd() * 60, 50));
    }
  }
  const sign = streetName.slice(0, 24);
  const signW = textWidth(sign, 3) + 16;
  for (let x = 400; x < PANORAMA_W; x += 1400) {
    fillRect(pano, x, HORIZON_Y - 120, 6, 160, rgb(120, 120, 120));
    fillRect(pano, x - signW / 2, HORIZON_Y - 160, signW, 40, rgb(20, 110, 50));
    drawText(pano, sign, x - signW / 2 + 8, HORIZON_Y - 152, 3, rgb(255, 255, 255));
  }
  return pano;
}
