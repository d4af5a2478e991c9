import { z } from "zod";
import type { PtzPosition } from "../cameras/ptz.js";

/**
 * Privacy zones' geometry (policy, Use Procedures 4: no looking into areas with a reasonable
 * expectation of privacy), pure: no camera, no clock. Positions are ONVIF's generic spaces (pan and
 * tilt in [-1, 1], zoom in [0, 1]); a zone is a rectangle in pan/tilt space with a zoom limit.
 * A position breaks a zone when the view's centre is inside it (at any zoom), or when any part of the
 * zone is in view at a zoom above its limit. Edges count as inside and in view: the check errs toward
 * refusing. Pan does not wrap at ±1 (the generic space's end stops; a camera that turns through ±1
 * would need a zone on each side).
 */

export interface PrivacyZone {
  /** Unique per camera; named in every refusal. */
  id: string;
  pan: [number, number];
  tilt: [number, number];
  /** The highest zoom at which any part of the zone may be in view (0: only fully zoomed out). */
  maxZoom: number;
}

/** Path samples are at most this far apart on any axis, so a zone is never narrower than a few. */
const STEP = 0.001;
export const MIN_ZONE_EXTENT = 0.005;

const range = (lo: number, hi: number) =>
  z
    .tuple([z.number().min(lo).max(hi), z.number().min(lo).max(hi)])
    .refine(([a, b]) => b - a >= MIN_ZONE_EXTENT, `expected [min, max] with max - min >= ${MIN_ZONE_EXTENT}`);

/** A zone as the config file and the API give it. */
export const privacyZoneSchema = z.strictObject({
  id: z
    .string()
    .regex(
      /^[a-z0-9][a-z0-9_-]{0,63}$/,
      "expected 1 to 64 of a-z, 0-9, '-', '_' (starting with a letter or digit)",
    ),
  pan: range(-1, 1),
  tilt: range(-1, 1),
  maxZoom: z.number().min(0).max(1),
});

/**
 * A camera's field of view in pan/tilt units: half the view's width and height at zoom 0, narrowing
 * as 1 / (1 + (magnification - 1) × zoom) so zoom 1 sees `magnification` times closer. The default
 * is the simulator's (sim/video/renderer.ts draws exactly this view); for a real camera it is wide
 * (half a pan unit, a quarter turn, each side), so a zone is counted in view early rather than late.
 */
export interface FieldOfView {
  halfWidth: number;
  halfHeight: number;
  magnification: number;
}

export const DEFAULT_FIELD_OF_VIEW: FieldOfView = { halfWidth: 0.5, halfHeight: 2, magnification: 10 };
export const fieldOfViewSchema = z.strictObject({
  halfWidth: z.number().positive().max(2),
  halfHeight: z.number().positive().max(2),
  magnification: z.number().min(1).max(1000),
});

/**
 * The camera's speed at velocity 1, in units per second per axis: how far a continuous move goes
 * between two looks at its position. The default is the simulator's (0.5: the full pan range in 4 s).
 */
export type AxisSpeeds = PtzPosition;
export const DEFAULT_AXIS_SPEEDS: AxisSpeeds = { pan: 0.5, tilt: 0.5, zoom: 0.5 };
export const axisSpeedsSchema = z.strictObject({
  pan: z.number().positive().max(100),
  tilt: z.number().positive().max(100),
  zoom: z.number().positive().max(100),
});

const LIMITS = { pan: [-1, 1], tilt: [-1, 1], zoom: [0, 1] } as const;

/** The view's half-width (pan units) and half-height (tilt units) at `zoom`. */
export function viewHalf(fov: FieldOfView, zoom: number): { pan: number; tilt: number } {
  const narrowing = 1 + (fov.magnification - 1) * Math.min(1, Math.max(0, zoom));
  return { pan: fov.halfWidth / narrowing, tilt: fov.halfHeight / narrowing };
}

const within = (x: number, [lo, hi]: readonly [number, number]) => x >= lo && x <= hi;

export function centreIn(zone: PrivacyZone, p: PtzPosition): boolean {
  return within(p.pan, zone.pan) && within(p.tilt, zone.tilt);
}

/** Whether any part of the zone is in the view from `p`. */
export function inView(zone: PrivacyZone, p: PtzPosition, fov: FieldOfView): boolean {
  const h = viewHalf(fov, p.zoom);
  return (
    p.pan + h.pan >= zone.pan[0] &&
    p.pan - h.pan <= zone.pan[1] &&
    p.tilt + h.tilt >= zone.tilt[0] &&
    p.tilt - h.tilt <= zone.tilt[1]
  );
}

export function breaks(zone: PrivacyZone, p: PtzPosition, fov: FieldOfView): boolean {
  return centreIn(zone, p) || (p.zoom > zone.maxZoom && inView(zone, p, fov));
}

/** The first zone `p` breaks, if any. */
export function brokenZone(
  zones: readonly PrivacyZone[],
  p: PtzPosition,
  fov: FieldOfView,
): PrivacyZone | undefined {
  return zones.find((z) => breaks(z, p, fov));
}

/**
 * The first zone a move from `from` to `to` breaks on its way (the target itself included), on
 * either of the paths a camera may take: a straight line, or each axis at its own speed (stopping as
 * it arrives, as the simulator and many mechanisms do). Leaving a zone the camera is already in is
 * not breaking it: the way out is checked from where the path is first clear.
 */
export function pathBreak(
  zones: readonly PrivacyZone[],
  from: PtzPosition,
  to: PtzPosition,
  speeds: AxisSpeeds,
  fov: FieldOfView,
): PrivacyZone | undefined {
  if (zones.length === 0) return undefined;
  const d = { pan: to.pan - from.pan, tilt: to.tilt - from.tilt, zoom: to.zoom - from.zoom };
  const longest = Math.max(Math.abs(d.pan), Math.abs(d.tilt), Math.abs(d.zoom));
  const steps = Math.max(1, Math.ceil(longest / STEP));
  // Each axis at its own speed: its share of the move done at time fraction f of the slowest axis.
  const time = (axis: keyof PtzPosition) => Math.abs(d[axis]) / speeds[axis];
  const slowest = Math.max(time("pan"), time("tilt"), time("zoom"));
  const byAxis = (f: number, axis: keyof PtzPosition) =>
    from[axis] + Math.sign(d[axis]) * Math.min(Math.abs(d[axis]), f * slowest * speeds[axis]);
  const paths = [
    (f: number) => ({
      pan: from.pan + f * d.pan,
      tilt: from.tilt + f * d.tilt,
      zoom: from.zoom + f * d.zoom,
    }),
    (f: number) => ({ pan: byAxis(f, "pan"), tilt: byAxis(f, "tilt"), zoom: byAxis(f, "zoom") }),
  ];
  for (const at of paths) {
    let leaving = brokenZone(zones, from, fov) !== undefined;
    for (let i = 1; i <= steps; i++) {
      const zone = brokenZone(zones, at(i / steps), fov);
      if (!zone) leaving = false;
      else if (!leaving) return zone;
    }
  }
  return brokenZone(zones, to, fov);
}

/**
 * Where a zone in view lies in the picture, in fractions of its width and height from the top left
 * (clipped to the picture): the mask a live view draws over it. Undefined when it is not in view.
 */
export function maskIn(
  zone: PrivacyZone,
  p: PtzPosition,
  fov: FieldOfView,
): { x: number; y: number; w: number; h: number } | undefined {
  if (!inView(zone, p, fov)) return undefined;
  const h = viewHalf(fov, p.zoom);
  const fx = (pan: number) => Math.min(1, Math.max(0, (pan - (p.pan - h.pan)) / (2 * h.pan)));
  // Tilt up is the top of the picture.
  const fy = (tilt: number) => Math.min(1, Math.max(0, (p.tilt + h.tilt - tilt) / (2 * h.tilt)));
  const x = fx(zone.pan[0]);
  const y = fy(zone.tilt[1]);
  return { x, y, w: fx(zone.pan[1]) - x, h: fy(zone.tilt[0]) - y };
}

/** A target given per axis: the axes left out stay where the camera is. */
export function targetOf(here: PtzPosition, given: Partial<PtzPosition>): PtzPosition {
  return { pan: given.pan ?? here.pan, tilt: given.tilt ?? here.tilt, zoom: given.zoom ?? here.zoom };
}

/** Where a relative move ends: the translation added, held at the end stops as a mechanism is. */
export function translated(here: PtzPosition, by: Partial<PtzPosition>): PtzPosition {
  const clamp = (x: number, [lo, hi]: readonly [number, number]) => Math.min(hi, Math.max(lo, x));
  return {
    pan: clamp(here.pan + (by.pan ?? 0), LIMITS.pan),
    tilt: clamp(here.tilt + (by.tilt ?? 0), LIMITS.tilt),
    zoom: clamp(here.zoom + (by.zoom ?? 0), LIMITS.zoom),
  };
}

/** Where a continuous move at `velocity` (generic, [-1, 1]) is after `ms`, held at the end stops. */
export function alongPath(
  from: PtzPosition,
  velocity: Partial<PtzPosition>,
  speeds: AxisSpeeds,
  ms: number,
): PtzPosition {
  const s = ms / 1000;
  return translated(from, {
    pan: (velocity.pan ?? 0) * speeds.pan * s,
    tilt: (velocity.tilt ?? 0) * speeds.tilt * s,
    zoom: (velocity.zoom ?? 0) * speeds.zoom * s,
  });
}

/**
 * The first moment within `horizonMs` at which a continuous move from `from` at `velocity` breaks a
 * zone (0: it breaks one already), found by sampling the straight path and narrowing the last step
 * by bisection; undefined when it breaks none before the horizon.
 */
export function firstBreak(
  zones: readonly PrivacyZone[],
  from: PtzPosition,
  velocity: Partial<PtzPosition>,
  speeds: AxisSpeeds,
  fov: FieldOfView,
  horizonMs: number,
): { zone: PrivacyZone; afterMs: number } | undefined {
  if (zones.length === 0) return undefined;
  const at = (ms: number) => brokenZone(zones, alongPath(from, velocity, speeds, ms), fov);
  const first = at(0);
  if (first) return { zone: first, afterMs: 0 };
  const fastest = Math.max(
    Math.abs(velocity.pan ?? 0) * speeds.pan,
    Math.abs(velocity.tilt ?? 0) * speeds.tilt,
    Math.abs(velocity.zoom ?? 0) * speeds.zoom,
  );
  if (fastest === 0) return undefined;
  const stepMs = Math.min(horizonMs, (STEP / fastest) * 1000);
  let clear = 0;
  for (let t = stepMs; clear < horizonMs; t = Math.min(horizonMs, t + stepMs)) {
    const zone = at(t);
    if (zone) {
      let hit = t;
      for (let i = 0; i < 12; i++) {
        const mid = (clear + hit) / 2;
        if (at(mid)) hit = mid;
        else clear = mid;
      }
      return { zone: at(hit) ?? zone, afterMs: hit };
    }
    clear = t;
  }
  return undefined;
}
