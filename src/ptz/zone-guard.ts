import type { PtzCamera, PtzPosition } from "../cameras/ptz.js";
import type { Logger } from "../log/logger.js";
import { type AxisSpeeds, type FieldOfView, firstBreak, type PrivacyZone } from "./zones.js";

/**
 * Watches a camera's position while a continuous move runs and stops it before it breaks a privacy
 * zone: a continuous move has no target to check, so pscsd looks (GetStatus every `intervalMs`) and
 * sends Stop when the path at the camera's velocity would break a zone before the next look could.
 * Invariants: one watch per camera; the look-ahead is (interval + twice the last GetStatus's time) ×
 * MARGIN, at the larger of the configured speed and the speed observed since the last look (a camera
 * faster than configured is caught at the next look); a GetStatus or a zones read that fails stops
 * the move too (a move nobody can check is not left running). The watch ends with the move.
 */

export const MARGIN = 2;

/** How far ahead a check must look for a camera looked at every `intervalMs`. */
export function lookAheadMs(intervalMs: number, callMs: number): number {
  return (intervalMs + 2 * callMs) * MARGIN;
}

export interface Watched {
  camera: string;
  ptz: PtzCamera;
  fieldOfView: FieldOfView;
  speeds: AxisSpeeds;
  /** The velocities the camera may be moving at (sent, and asked for); undefined once the move ended. */
  velocities(): Partial<PtzPosition>[] | undefined;
  zones(): Promise<PrivacyZone[]>;
  /** Stop the camera now: its path breaks `zone` within the look-ahead, or its position is unknown. */
  stop(why: { zone?: PrivacyZone; position?: PtzPosition; error?: string }): Promise<void>;
}

export interface Look {
  position: PtzPosition;
  at: number;
  callMs: number;
}

const AXES = ["pan", "tilt", "zoom"] as const;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class ZoneGuard {
  private readonly watching = new Set<string>();
  private readonly looks = new Map<string, Look>();

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number,
    private readonly log: Logger,
  ) {}

  /** The camera's position as last seen by a watch or a check (for a velocity update's check). */
  lastLook(camera: string): Look | undefined {
    return this.looks.get(camera);
  }

  /** Looks at the camera now (GetStatus), remembering what it saw. */
  async look(camera: string, ptz: PtzCamera): Promise<Look> {
    const t0 = this.now();
    const { position } = await ptz.status();
    const at = this.now();
    const seen = { position, at, callMs: at - t0 };
    this.looks.set(camera, seen);
    return seen;
  }

  /** The first zone the path from `look` at `velocity` breaks within the look-ahead. */
  breaking(
    look: Look,
    velocity: Partial<PtzPosition>,
    zones: readonly PrivacyZone[],
    fov: FieldOfView,
    speeds: AxisSpeeds,
  ): PrivacyZone | undefined {
    const ahead = lookAheadMs(this.intervalMs, look.callMs);
    return firstBreak(zones, look.position, velocity, speeds, fov, ahead)?.zone;
  }

  watch(w: Watched): void {
    if (this.watching.has(w.camera)) return;
    this.watching.add(w.camera);
    void this.run(w);
  }

  private async run(w: Watched): Promise<void> {
    try {
      await this.follow(w);
    } catch (err) {
      // The zones could not be read: a move nobody can check is not left running either.
      this.log.error(
        { err, camera: w.camera },
        "privacy zones unreadable during a continuous move: stopping it",
      );
      await w.stop({ error: err instanceof Error ? err.message : String(err) }).catch(() => undefined);
    } finally {
      // In the same turn as the decision to stop watching: a move started next gets a watch of its own.
      this.watching.delete(w.camera);
      this.looks.delete(w.camera);
    }
  }

  private async follow(w: Watched): Promise<void> {
    let before: Look | undefined;
    for (;;) {
      if (!w.velocities()) return;
      // Zones are read at every look: one added during the move holds at once; none, no camera call.
      const zones = await w.zones();
      if (zones.length === 0) {
        before = undefined;
        await sleep(this.intervalMs);
        continue;
      }
      let seen: Look;
      try {
        seen = await this.look(w.camera, w.ptz);
      } catch (err) {
        this.log.warn({ err, camera: w.camera }, "position unknown during a continuous move: stopping it");
        await w.stop({ error: err instanceof Error ? err.message : String(err) });
        return;
      }
      const velocities = w.velocities();
      if (!velocities) return;
      const speeds = before ? observed(w.speeds, before, seen, velocities) : w.speeds;
      for (const v of velocities) {
        const zone = this.breaking(seen, v, zones, w.fieldOfView, speeds);
        if (zone) {
          await w.stop({ zone, position: seen.position });
          return;
        }
      }
      before = seen;
      await sleep(Math.max(0, this.intervalMs - (this.now() - seen.at)));
    }
  }
}

/** Per axis, the configured speed or the one the camera showed between two looks, whichever is more. */
function observed(configured: AxisSpeeds, a: Look, b: Look, velocities: Partial<PtzPosition>[]): AxisSpeeds {
  const s = (b.at - a.at) / 1000;
  const out = { ...configured };
  if (s <= 0) return out;
  for (const axis of AXES) {
    const v = Math.max(...velocities.map((x) => Math.abs(x[axis] ?? 0)));
    if (v < 0.05) continue;
    out[axis] = Math.max(configured[axis], Math.abs(b.position[axis] - a.position[axis]) / s / v);
  }
  return out;
}
