import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { z } from "zod";

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

/** The ONVIF PTZ fault subcodes (PTZ service spec) a mechanism refusal maps to. */
export type PtzFaultSubcode =
  | "ter:InvalidPosition"
  | "ter:InvalidTranslation"
  | "ter:InvalidVelocity"
  | "ter:InvalidSpeed"
  | "ter:TimeoutNotSupported"
  | "ter:NoToken"
  | "ter:PresetExist"
  | "ter:InvalidPresetName"
  | "ter:TooManyPresets";

/** A PTZ request the mechanism cannot honour; `subcode` is the ONVIF fault subcode to answer with. */
export class PtzError extends Error {
  constructor(
    readonly subcode: PtzFaultSubcode,
    message: string,
  ) {
    super(message);
    this.name = "PtzError";
  }
}

/** The presets-and-home file exists but cannot be read as one: refuse to start rather than forget presets. */
export class PtzStateFileError extends Error {
  constructor(
    readonly file: string,
    cause: unknown,
  ) {
    super(`PTZ state file ${file} is unreadable: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
    this.name = "PtzStateFileError";
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
  /** Units per second at speed 1. Default: the full pan or tilt range (2 units) in 4 s, zoom in 2 s. */
  maxSpeed?: PtzPosition;
  maxPresets?: number;
  /** ContinuousMove without a Timeout stops after this long. */
  defaultTimeoutMs?: number;
  /** The Timeouts a ContinuousMove may ask for; others are refused (ter:TimeoutNotSupported). */
  minTimeoutMs?: number;
  maxTimeoutMs?: number;
  /** Where presets and home persist; none → memory only. */
  stateFile?: string;
  now?: () => number;
}

const positionSchema = z.object({ pan: z.number(), tilt: z.number(), zoom: z.number() });
const stateSchema = z.object({
  presets: z.array(z.object({ token: z.string(), name: z.string(), position: positionSchema })),
  home: positionSchema,
  nextToken: z.number().int().positive(),
});
type PersistedState = z.infer<typeof stateSchema>;

const DEFAULT_LIMITS: PtzLimits = { pan: [-1, 1], tilt: [-1, 1], zoom: [0, 1] };
/** The generic translation space is [-1, 1] per axis, in the units of the position space. */
export const TRANSLATION_RANGE: [number, number] = [-1, 1];
/** The generic velocity space: a signed fraction of the axis' maximum speed. */
export const VELOCITY_RANGE: [number, number] = [-1, 1];
/** The generic speed space: a fraction of the axis' maximum speed. */
export const SPEED_RANGE: [number, number] = [0, 1];

const MAX_PRESET_NAME = 64;

function clamp(v: number, [lo, hi]: [number, number]): number {
  return v < lo ? lo : v > hi ? hi : v;
}

/** Refuses a given value that is not a finite number inside [lo, hi]; undefined means "not given". */
function checkRange(
  v: number | undefined,
  [lo, hi]: [number, number],
  subcode: PtzFaultSubcode,
  what: string,
) {
  if (v !== undefined && !(Number.isFinite(v) && v >= lo && v <= hi)) {
    throw new PtzError(subcode, `${what} ${v} outside [${lo}, ${hi}]`);
  }
}

export class PtzModel {
  readonly limits: PtzLimits;
  readonly maxPresets: number;
  readonly defaultTimeoutMs: number;
  readonly minTimeoutMs: number;
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
    this.minTimeoutMs = opts.minTimeoutMs ?? 100;
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
    const timeout = timeoutMs ?? this.defaultTimeoutMs;
    if (!(timeout >= this.minTimeoutMs && timeout <= this.maxTimeoutMs)) {
      throw new PtzError(
        "ter:TimeoutNotSupported",
        `timeout ${timeout} ms outside [${this.minTimeoutMs}, ${this.maxTimeoutMs}] ms`,
      );
    }
    for (const axis of AXES)
      checkRange(velocity[axis], VELOCITY_RANGE, "ter:InvalidVelocity", `${axis} velocity`);
    const t = this.now();
    for (const axis of AXES) {
      const v = velocity[axis];
      if (v === undefined) continue;
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
    for (const axis of AXES) checkRange(target[axis], this.limits[axis], "ter:InvalidPosition", axis);
    this.moveTo(target, speed);
  }

  /** Moves by a translation; the result is clamped to the limits, as a mechanism stops at its end stop. */
  relativeMove(translation: Partial<PtzPosition>, speed?: Partial<PtzPosition>): void {
    for (const axis of AXES) {
      checkRange(translation[axis], TRANSLATION_RANGE, "ter:InvalidTranslation", `${axis} translation`);
    }
    const here = this.position();
    const target: Partial<PtzPosition> = {};
    for (const axis of AXES) {
      const d = translation[axis];
      if (d !== undefined) target[axis] = clamp(here[axis] + d, this.limits[axis]);
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
    if (name !== undefined && (name.trim() === "" || name.length > MAX_PRESET_NAME)) {
      throw new PtzError("ter:InvalidPresetName", `preset name must be 1 to ${MAX_PRESET_NAME} characters`);
    }
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

  setHome(): void {
    this.state.home = this.position();
    this.save();
  }

  gotoHome(speed?: Partial<PtzPosition>): void {
    this.moveTo(this.state.home, speed);
  }

  private moveTo(target: Partial<PtzPosition>, speed?: Partial<PtzPosition>): void {
    for (const axis of AXES) checkRange(speed?.[axis], SPEED_RANGE, "ter:InvalidSpeed", `${axis} speed`);
    const t = this.now();
    for (const axis of AXES) {
      const to = target[axis];
      if (to === undefined) continue;
      // Speed absent or 0 means the default, full speed: a move that never arrives helps nobody.
      const s = speed?.[axis];
      const factor = s === undefined || s === 0 ? 1 : s;
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
    const file = this.opts.stateFile;
    const fresh: PersistedState = { presets: [], home: { pan: 0, tilt: 0, zoom: 0 }, nextToken: 1 };
    if (!file) return fresh;
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return fresh;
      throw new PtzStateFileError(file, e);
    }
    try {
      return stateSchema.parse(JSON.parse(text));
    } catch (e) {
      throw new PtzStateFileError(file, e);
    }
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
