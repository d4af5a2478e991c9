import { drawText, GLYPH_H, textWidth } from "./font.js";
import { generatePanorama, LANE_Y, PANORAMA_H, PANORAMA_W, ROAD_TOP } from "./panorama.js";
import { fillRect, rgb } from "./pixels.js";
import { drawTimecode } from "./timecode.js";
import { Yuv420Frame } from "./yuv.js";

/** Pan and tilt in [-1, 1], zoom in [0, 1]: ONVIF's generic spaces, as the PTZ model reports them. */
export interface Viewport {
  pan: number;
  tilt: number;
  zoom: number;
}

export interface RendererOptions {
  name: string;
  width: number;
  height: number;
  /** The camera's clock for the burned-in time (may be skewed on purpose). */
  clock: () => number;
  viewport: () => Viewport;
}

/**
 * The field of view pscsd assumes by default (src/ptz/zones.ts DEFAULT_FIELD_OF_VIEW, which the
 * simulator may not import; test/sim/video-frame.test.ts holds the two equal): the view's half-width
 * in pan units and half-height in tilt units at zoom 0, narrowing as 1 / (1 + (magnification - 1) ×
 * zoom). The panorama spans pan [-1 - halfWidth, 1 + halfWidth] and tilt [-1 - halfHeight,
 * 1 + halfHeight] at every zoom, so a privacy zone is the same part of the street however far in the
 * camera zooms, and the view at any position is exactly the one pscsd checks zones against.
 */
export const SIM_FIELD_OF_VIEW = { halfWidth: 0.5, halfHeight: 2, magnification: 10 };
const PX_PER_PAN = PANORAMA_W / (2 + 2 * SIM_FIELD_OF_VIEW.halfWidth);
const PX_PER_TILT = PANORAMA_H / (2 + 2 * SIM_FIELD_OF_VIEW.halfHeight);

/**
 * Renders the camera's view: the viewport into its panorama chosen by pan/tilt/zoom, a passing car,
 * the name and camera time burned in, and the time code strip.
 */
export class Renderer {
  private readonly pano: Yuv420Frame;
  private readonly xmap: Uint32Array;
  private readonly cxmap: Uint32Array;
  private readonly label: string;

  constructor(private readonly opts: RendererOptions) {
    this.pano = Yuv420Frame.fromRgba(generatePanorama(opts.name, opts.name));
    this.xmap = new Uint32Array(opts.width);
    this.cxmap = new Uint32Array(opts.width / 2);
    this.label = opts.name.toUpperCase();
  }

  /**
   * Renders the view at `now` (true wall clock, epoch ms) into `frame` (the caller owns it: the
   * encoder may still be writing the previous one) and returns it.
   */
  render(now: number, frame: Yuv420Frame = new Yuv420Frame(this.opts.width, this.opts.height)): Yuv420Frame {
    const { width, height } = frame;
    const v = this.opts.viewport();
    // The PTZ model keeps positions within its limits; clamping again here keeps a bad caller from
    // reading outside the panorama.
    const zoom = Math.min(1, Math.max(0, v.zoom));
    const pan = Math.min(1, Math.max(-1, v.pan));
    const tilt = Math.min(1, Math.max(-1, v.tilt));
    const narrowing = 1 + (SIM_FIELD_OF_VIEW.magnification - 1) * zoom;
    const viewW = (2 * SIM_FIELD_OF_VIEW.halfWidth * PX_PER_PAN) / narrowing;
    const viewH = (2 * SIM_FIELD_OF_VIEW.halfHeight * PX_PER_TILT) / narrowing;
    const cx = (pan + 1 + SIM_FIELD_OF_VIEW.halfWidth) * PX_PER_PAN;
    // Tilt up (positive) looks at the sky: smaller panorama y.
    const cy = (1 + SIM_FIELD_OF_VIEW.halfHeight - tilt) * PX_PER_TILT;
    const x0 = cx - viewW / 2;
    const y0 = cy - viewH / 2;
    const sx = viewW / width;
    const sy = viewH / height;

    // Nearest-neighbour crop+scale through column index tables: one byte copy per sample. Chroma
    // samples take the panorama's chroma under their top-left luma pixel.
    const pano = this.pano;
    const { xmap, cxmap } = this;
    for (let x = 0; x < width; x++) xmap[x] = Math.min(PANORAMA_W - 1, Math.floor(x0 + x * sx));
    for (let cx = 0; cx < width / 2; cx++) cxmap[cx] = (xmap[2 * cx] ?? 0) >> 1;
    const srcRow = (y: number) => Math.min(PANORAMA_H - 1, Math.floor(y0 + y * sy));
    const [outY, outU, outV] = [frame.y, frame.u, frame.v];
    const [inY, inU, inV] = [pano.y, pano.u, pano.v];
    let prevRow = -1;
    for (let y = 0, i = 0; y < height; y++, i += width) {
      const row = srcRow(y) * PANORAMA_W;
      // Zoomed in, neighbouring rows sample the same panorama row: copy the row just made.
      if (row === prevRow) outY.copyWithin(i, i - width, i);
      else for (let x = 0; x < width; x++) outY[i + x] = inY[row + (xmap[x] as number)] as number;
      prevRow = row;
    }
    const cw = width / 2;
    for (let cy = 0, i = 0; cy < height / 2; cy++, i += cw) {
      const row = (srcRow(2 * cy) >> 1) * (PANORAMA_W / 2);
      for (let cx = 0; cx < cw; cx++) {
        const at = row + (cxmap[cx] as number);
        outU[i + cx] = inU[at] as number;
        outV[i + cx] = inV[at] as number;
      }
    }

    // A car crossing the whole street every 12 s: motion, so the stream is never a still picture.
    const carX = ((now % 12_000) / 12_000) * (PANORAMA_W + 400) - 200;
    const toScreen = (px: number, py: number): [number, number] => [(px - x0) / sx, (py - y0) / sy];
    const [carSx, carSy] = toScreen(carX, (ROAD_TOP + LANE_Y) / 2 - 30);
    fillRect(frame, carSx, carSy, 180 / sx, 60 / sy, rgb(200, 30, 30));
    fillRect(frame, carSx + 40 / sx, carSy - 30 / sy, 100 / sx, 32 / sy, rgb(160, 20, 20));

    const scale = Math.max(1, Math.round(height / 180));
    const pad = 2 * scale;
    const time = formatCameraTime(this.opts.clock());
    fillRect(frame, 0, 0, width, GLYPH_H * scale + 2 * pad, rgb(0, 0, 0));
    drawText(frame, this.label, pad, pad, scale, rgb(255, 255, 255));
    drawText(frame, time, width - pad - textWidth(time, scale), pad, scale, rgb(255, 255, 0));
    // The strip carries the true send time, not the (possibly skewed) camera clock: it is a
    // measuring instrument for latency, and a skewed instrument would measure the skew instead.
    drawTimecode(frame, Math.round(now));
    return frame;
  }
}

/** "2026-11-25 01:10:11.123 UTC" — how the camera's on-screen display shows its clock. */
export function formatCameraTime(ms: number): string {
  return `${new Date(ms).toISOString().replace("T", " ").replace("Z", "")} UTC`;
}
