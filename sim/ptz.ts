import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/**
 * The simulated pan/tilt/zoom mechanism, in ONVIF's generic spaces: pan and tilt in [-1, 1], zoom in
 * [0, 1]. Motion is computed from time on demand (no timers): position() is a few multiplications,
 * cheap enough for the renderer to call every frame.
 * Invariants: a reported position is always within the limits; every move travels at a finite speed,
 * so a move is observable as MOVING before IDLE; presets and home survive a restart (atomic file write).
 */

export interface PtzPosition {
  pan: number;
  tilt: number;
  zoom: number;
}

export interface PtzLimits {
  pan: [number, number];
  tilt: [number, number];
  zoom: [number, number];
}

export interface Preset {
  token: string;
  name: string;
  position: PtzPosition;
}

export type MoveState = "IDLE" | "MOVING";

export interface PtzStatus {
  position: PtzPosition;
  moveStatus: { panTilt: MoveState; zoom: MoveState };
  utcTime: number;
}

/** A PTZ request the mechanism cannot honour; `subcode` is the ONVIF fault subcode to answer with. */
export class PtzError extends Error {
  constructor(
    readonly subcode: string,
    message: string,
  ) {
    super(message);
    this.name = "PtzError";
  }
}

type Axis = keyof PtzPosition;
const AXES: readonly Axis[] = ["pan", "tilt", "zoom"];

/** Per axis: where it was at t0 and how it moves from there. */
type Motion =
  | { kind: "idle"; from: number; t0: number }
  | { kind: "velocity"; from: number; t0: number; unitsPerMs: number; until: number }
  | { kind: "target"; from: number; t0: number; to: number; unitsPerMs: number };

export interface PtzModelOptions {
  limits?: PtzLimits;
  /** Units per second at speed 1: the full pan range (2 units) in 4 s, the zoom range in 2 s. */
  maxSpeed?: PtzPosition;
  maxPresets?: number;
  /** ContinuousMove without a Timeout stops after this long. */
  defaultTimeoutMs?: number;
  maxTimeoutMs?: number;
  /** Where presets and home persist; none → memory only. */
  stateFile?: string;
  now?: () => number;
}

interface PersistedState {
  presets: Preset[];
  home: PtzPosition;
  nextToken: number;
}

export const DEFAULT_LIMITS: PtzLimits = { pan: [-1, 1], tilt: [-1, 1], zoom: [0, 1] };

function clamp(v: number, [lo, hi]: [number, number]): number {
  return v < lo ? lo : v > hi ? hi : v;
}

export class PtzModel {
  readonly limits: PtzLimits;
  readonly maxPresets: number;
  readonly defaultTimeoutMs: number;
  readonly maxTimeoutMs: number;
  private readonly maxSpeed: PtzPosition;
  private readonly now: () => number;
  private readonly motion: Record<Axis, Motion>;
  private state: PersistedState;

  constructor(private readonly opts: PtzModelOptions = {}) {
    this.limits = opts.limits ?? DEFAULT_LIMITS;
    this.maxSpeed = opts.maxSpeed ?? { pan: 0.5, tilt: 0.5, zoom: 0.5 };
    this.maxPresets = opts.maxPresets ?? 100;
    this.defaultTimeoutMs = opts.defaultTimeoutMs ?? 10_000;
    this.maxTimeoutMs = opts.maxTimeoutMs ?? 60_000;
    this.now = opts.now ?? Date.now;
    this.state = this.load();
    const t0 = this.now();
    const home = this.state.home;
    this.motion = {
      pan: { kind: "idle", from: home.pan, t0 },
      tilt: { kind: "idle", from: home.tilt, t0 },
      zoom: { kind: "idle", from: home.zoom, t0 },
    };
  }

  position(): PtzPosition {
    const t = this.now();
    return { pan: this.axisAt("pan", t), tilt: this.axisAt("tilt", t), zoom: this.axisAt("zoom", t) };
  }

  status(): PtzStatus {
    const t = this.now();
    const moving = (a: Axis) => this.axisMoving(a, t);
    return {
      position: { pan: this.axisAt("pan", t), tilt: this.axisAt("tilt", t), zoom: this.axisAt("zoom", t) },
      moveStatus: {
        panTilt: moving("pan") || moving("tilt") ? "MOVING" : "IDLE",
        zoom: moving("zoom") ? "MOVING" : "IDLE",
      },
      utcTime: t,
    };
  }

  /** Velocities in [-1, 1] per axis (undefined: that axis is left alone); stops at timeout or limits. */
  continuousMove(velocity: Partial<PtzPosition>, timeoutMs?: number): void {
    const timeout = Math.min(this.maxTimeoutMs, Math.max(0, timeoutMs ?? this.defaultTimeoutMs));
    const t = this.now();
    for (const axis of AXES) {
      const v = velocity[axis];
      if (v === undefined) continue;
      if (!Number.isFinite(v) || v < -1 || v > 1) {
        throw new PtzError("ter:InvalidVelocity", `${axis} velocity ${v} outside [-1, 1]`);
      }
      this.motion[axis] = {
        kind: "velocity",
        from: this.axisAt(axis, t),
        t0: t,
        unitsPerMs: (v * this.maxSpeed[axis]) / 1000,
        until: t + timeout,
      };
    }
  }

  /** Moves to an absolute position; a coordinate outside the limits is refused, not clamped. */
  absoluteMove(target: Partial<PtzPosition>, speed?: Partial<PtzPosition>): void {
    for (const axis of AXES) {
      const v = target[axis];
      if (v === undefined) continue;
      if (!Number.isFinite(v) || v < this.limits[axis][0] || v > this.limits[axis][1]) {
        throw new PtzError("ter:InvalidPosition", `${axis} ${v} outside [${this.limits[axis].join(", ")}]`);
      }
    }
    this.moveTo(target, speed);
  }

  /** Moves by a translation; the result is clamped to the limits, as a mechanism stops at its end stop. */
  relativeMove(translation: Partial<PtzPosition>, speed?: Partial<PtzPosition>): void {
    const here = this.position();
    const target: Partial<PtzPosition> = {};
    for (const axis of AXES) {
      const d = translation[axis];
      if (d === undefined) continue;
      if (!Number.isFinite(d))
        throw new PtzError("ter:InvalidTranslation", `${axis} translation ${d} is not a number`);
      target[axis] = clamp(here[axis] + d, this.limits[axis]);
    }
    this.moveTo(target, speed);
  }

  stop(panTilt = true, zoom = true): void {
    const t = this.now();
    const halt = (axis: Axis) => {
      this.motion[axis] = { kind: "idle", from: this.axisAt(axis, t), t0: t };
    };
    if (panTilt) {
      halt("pan");
      halt("tilt");
    }
    if (zoom) halt("zoom");
  }

  presets(): Preset[] {
    return this.state.presets.map((p) => ({ ...p, position: { ...p.position } }));
  }

  /** Stores the current position; a known token overwrites that preset. Returns the token. */
  setPreset(name: string | undefined, token?: string): string {
    const presets = this.state.presets;
    const existing = token === undefined ? undefined : presets.find((p) => p.token === token);
    if (token !== undefined && !existing)
      throw new PtzError("ter:NoToken", `no preset with token '${token}'`);
    const finalName = name ?? existing?.name ?? `Preset ${this.state.nextToken}`;
    if (presets.some((p) => p.name === finalName && p.token !== token)) {
      throw new PtzError("ter:PresetExist", `a preset named '${finalName}' already exists`);
    }
    if (!existing && presets.length >= this.maxPresets) {
      throw new PtzError("ter:TooManyPresets", `at most ${this.maxPresets} presets`);
    }
    const position = this.position();
    if (existing) {
      existing.name = finalName;
      existing.position = position;
      this.save();
      return existing.token;
    }
    const created = { token: `preset_${this.state.nextToken}`, name: finalName, position };
    this.state.nextToken += 1;
    presets.push(created);
    this.save();
    return created.token;
  }

  gotoPreset(token: string, speed?: Partial<PtzPosition>): void {
    const preset = this.state.presets.find((p) => p.token === token);
    if (!preset) throw new PtzError("ter:NoToken", `no preset with token '${token}'`);
    this.moveTo(preset.position, speed);
  }

  removePreset(token: string): void {
    const before = this.state.presets.length;
    this.state.presets = this.state.presets.filter((p) => p.token !== token);
    if (this.state.presets.length === before)
      throw new PtzError("ter:NoToken", `no preset with token '${token}'`);
    this.save();
  }

  home(): PtzPosition {
    return { ...this.state.home };
  }

  setHome(): void {
    this.state.home = this.position();
    this.save();
  }

  gotoHome(speed?: Partial<PtzPosition>): void {
    this.moveTo(this.state.home, speed);
  }

  private moveTo(target: Partial<PtzPosition>, speed?: Partial<PtzPosition>): void {
    const t = this.now();
    for (const axis of AXES) {
      const to = target[axis];
      if (to === undefined) continue;
      // Speed 0 or absent means "the default": full speed. A negative speed is meaningless.
      const s = speed?.[axis];
      const factor = s === undefined || s <= 0 ? 1 : Math.min(1, s);
      this.motion[axis] = {
        kind: "target",
        from: this.axisAt(axis, t),
        t0: t,
        to: clamp(to, this.limits[axis]),
        unitsPerMs: (factor * this.maxSpeed[axis]) / 1000,
      };
    }
  }

  private axisAt(axis: Axis, t: number): number {
    const m = this.motion[axis];
    const dt = Math.max(0, t - m.t0);
    switch (m.kind) {
      case "idle":
        return m.from;
      case "velocity":
        return clamp(m.from + m.unitsPerMs * (Math.min(t, m.until) - m.t0), this.limits[axis]);
      case "target": {
        const step = m.unitsPerMs * dt;
        return Math.abs(m.to - m.from) <= step ? m.to : m.from + Math.sign(m.to - m.from) * step;
      }
    }
  }

  private axisMoving(axis: Axis, t: number): boolean {
    const m = this.motion[axis];
    switch (m.kind) {
      case "idle":
        return false;
      case "velocity": {
        if (t >= m.until || m.unitsPerMs === 0) return false;
        // Pressed against an end stop: the motor is no longer moving the camera.
        const p = this.axisAt(axis, t);
        const [lo, hi] = this.limits[axis];
        return !((p <= lo && m.unitsPerMs < 0) || (p >= hi && m.unitsPerMs > 0));
      }
      case "target":
        return this.axisAt(axis, t) !== m.to;
    }
  }

  private load(): PersistedState {
    const fresh: PersistedState = { presets: [], home: { pan: 0, tilt: 0, zoom: 0 }, nextToken: 1 };
    if (!this.opts.stateFile) return fresh;
    let text: string;
    try {
      text = readFileSync(this.opts.stateFile, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return fresh;
      throw e;
    }
    const parsed = JSON.parse(text) as PersistedState;
    return { ...fresh, ...parsed };
  }

  private save(): void {
    const file = this.opts.stateFile;
    if (!file) return;
    mkdirSync(dirname(file), { recursive: true });
    const tmp = `${file}.tmp-${process.pid}`;
    writeFileSync(tmp, JSON.stringify(this.state, null, 2));
    renameSync(tmp, file);
  }
}
