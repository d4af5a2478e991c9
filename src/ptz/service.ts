import { SYSTEM_ACTOR } from "../audit/actors.js";
import type { Outcome } from "../audit/chain.js";
import type { AuditLog } from "../audit/log.js";
import { type ActionContext, auditIn } from "../auth/acting.js";
import { type Permission, roleGrants } from "../auth/roles.js";
import { OnvifError } from "../cameras/onvif-client.js";
import type { PtzCamera, PtzPosition, PtzPreset, PtzStatus } from "../cameras/ptz.js";
import type { Directory } from "../catalog/directory/directory.js";
import type {
  PtzCommandRecord,
  PtzEndReason,
  PtzSessionFilter,
  PtzSessionRecord,
} from "../catalog/directory/ptz-sessions.js";
import { type PolicyQuote, ServiceError } from "../errors/service-error.js";
import type { Logger } from "../log/logger.js";
import { textFault } from "../text/well-formed.js";
import { type ContinuousMove, ContinuousMoves } from "./continuous.js";
import { type PtzEventFeed, PtzEvents } from "./events.js";
import { type ControlLock, ControlLocks, type Controller } from "./lock.js";
import type { PrivacyZones, ZoneRecord } from "./privacy-zones.js";
import { type PtzPurpose, ptzPurpose } from "./purpose.js";
import { UserRate } from "./rate.js";
import { type RefusalEntry, RefusalLog } from "./refusals.js";
import { ViewPositions } from "./view-positions.js";
import { ZoneGuard } from "./zone-guard.js";
import {
  breaks,
  inView,
  maskIn,
  type PrivacyZone,
  pathBreak,
  targetOf,
  translated,
  viewHalf,
} from "./zones.js";

/**
 * PTZ control bound by the policy (Use Procedures 7): who may move a camera, why, one at a time,
 * and a record of every movement. Routes and the CLI only translate to and from these methods.
 * Invariants, enforced here whoever calls:
 * - taking control needs `ptz.control` and a stated purpose (./purpose.ts), kept with the session;
 * - one controller per camera (./lock.ts): a command from anyone else is refused (409, naming the
 *   holder); only `ptz.supervise` takes over, which ends the holder's session and tells them;
 * - a continuous move lives only while its client keeps it alive (./continuous.ts): pscsd sends
 *   Stop itself when keep-alives lapse;
 * - every command reaches the camera only through checkTarget(): a move, preset or home whose
 *   result breaks a privacy zone (./zones.ts) is refused naming the zone, a preset or home is never
 *   saved where it would break one, and a continuous move is watched (./zone-guard.ts) and stopped
 *   before its path breaks one;
 * - every command sent is recorded in its session and audited with target `ptz-session:<id>` (user,
 *   camera, command, parameters, purpose, outcome); a continuous move's updates are coalesced into
 *   its one entry, and a person's commands are rate limited (./rate.ts);
 * - every refused command (the lock another's or lost, too many, a privacy zone) is audited as
 *   denied, coalesced per person per camera per second (./refusals.ts): a stuck joystick floods
 *   neither the camera nor the audit log.
 */

export interface PtzLimits {
  /** A lock lapses after this long without a command or keep-alive. */
  leaseMs: number;
  /** A continuous move is stopped when its keep-alives lapse this long. */
  deadmanMs: number;
  /** How often a client is asked to send keep-alives during a continuous move. */
  keepAliveMs: number;
  /** Camera calls per second per camera for a continuous move's updates. */
  cameraCallsPerSecond: number;
  /** Commands per second per person (sustained), and the burst allowed above it. */
  commandsPerSecond: number;
  commandBurst: number;
  /** ContinuousMove's own Timeout, the camera's backstop should pscsd stop. */
  cameraTimeoutMs: number;
  /** How often a continuous move's position is looked at against the camera's privacy zones. */
  zoneWatchMs: number;
  /** At most one denied entry per person per camera this often (the others counted into it). */
  refusalWindowMs: number;
}

export const DEFAULT_PTZ_LIMITS: PtzLimits = {
  leaseMs: 30_000,
  deadmanMs: 1_000,
  keepAliveMs: 500,
  cameraCallsPerSecond: 5,
  commandsPerSecond: 5,
  commandBurst: 10,
  cameraTimeoutMs: 5_000,
  zoneWatchMs: 100,
  refusalWindowMs: 1_000,
};

/** A position masks are placed from is at most this old (plus the camera's answer time). */
const VIEW_POSITION_FRESH_MS = 250;

/** The rule a privacy zone's refusal quotes. */
export const PRIVACY_POLICY: PolicyQuote = {
  rule: "Use Procedures 4",
  text: "The use of the PSCS will not invade the privacy of individuals nor look into areas that could not been seen by the naked eye from a public space, or into areas where a reasonable expectation of privacy exists.",
};

/** The cameras pscsd has, and the PTZ commands of those connected now. */
export interface PtzCameras {
  ids: ReadonlySet<string>;
  ptz(camera: string): PtzCamera | undefined;
}

export interface PtzServiceOptions {
  directory: Directory;
  audit: AuditLog;
  cameras: PtzCameras;
  zones: PrivacyZones;
  log: Logger;
  limits?: Partial<PtzLimits>;
  now?: () => number;
}

export interface LockView {
  camera: string;
  session: number;
  actor: string;
  role: string | null;
  since: number;
  purpose: PtzPurpose;
  leaseUntil: number;
}

export interface ControlGranted extends LockView {
  /** Keep-alive period the client should send at during a continuous move, and the dead-man timeout. */
  keepAliveMs: number;
  deadmanMs: number;
  leaseMs: number;
}

export interface PtzSessionDetail extends PtzSessionRecord {
  commands: PtzCommandRecord[];
}

export type PtzCommandKind =
  | "continuous"
  | "absolute"
  | "relative"
  | "stop"
  | "preset.goto"
  | "preset.save"
  | "preset.delete"
  | "home.goto"
  | "home.set"
  | "control"
  | "release";

export interface MoveInput {
  pan?: unknown;
  tilt?: unknown;
  zoom?: unknown;
}

const view = (l: ControlLock): LockView => ({
  camera: l.camera,
  session: l.session,
  actor: l.holder.actor,
  role: l.holder.role,
  since: l.since,
  purpose: l.purpose,
  leaseUntil: l.leaseUntil,
});

const PRESET_NAME_MAX = 64;
const TOKEN_MAX = 64;
/** Generic spaces: positions, translations and velocities per axis. */
const RANGES = {
  position: { pan: [-1, 1], tilt: [-1, 1], zoom: [0, 1] },
  translation: { pan: [-1, 1], tilt: [-1, 1], zoom: [-1, 1] },
  velocity: { pan: [-1, 1], tilt: [-1, 1], zoom: [-1, 1] },
  speed: { pan: [0, 1], tilt: [0, 1], zoom: [0, 1] },
} as const;

/** A vector from the request: each axis optional, at least one given, each inside its range. */
function vectorOf(input: unknown, space: keyof typeof RANGES, field: string): Partial<PtzPosition> {
  if (input === null || typeof input !== "object") {
    throw new ServiceError("invalid", `${field}: expected {pan?, tilt?, zoom?}`, field);
  }
  const v = input as MoveInput;
  const out: Partial<PtzPosition> = {};
  for (const axis of ["pan", "tilt", "zoom"] as const) {
    const x = v[axis];
    if (x === undefined) continue;
    const [lo, hi] = RANGES[space][axis];
    if (typeof x !== "number" || !Number.isFinite(x) || x < lo || x > hi) {
      throw new ServiceError(
        "invalid",
        `${field}/${axis}: expected a number in [${lo}, ${hi}]`,
        `${field}/${axis}`,
      );
    }
    out[axis] = x;
  }
  if (Object.keys(out).length === 0) {
    throw new ServiceError("invalid", `${field}: give at least one of pan, tilt, zoom`, field);
  }
  return out;
}

function textOf(value: unknown, field: string, max: number): string {
  if (typeof value !== "string") throw new ServiceError("invalid", `${field}: expected text`, field);
  const fault = textFault(value);
  const s = value.trim();
  if (fault || !s || s.length > max || /[\r\n]/.test(s)) {
    throw new ServiceError("invalid", `${field}: ${fault ?? `one line of 1 to ${max} characters`}`, field);
  }
  return s;
}

/**
 * What the API asks of PTZ control: control, moves, presets, home, status, the camera's zones in
 * view, control events, and the sessions' review (PtzService is the implementation; its methods
 * say what each does).
 */
export interface PtzDesk {
  readonly events: PtzEventFeed;
  lock(camera: string, by: ActionContext): LockView | null;
  take(camera: string, purposeInput: unknown, by: ActionContext): Promise<ControlGranted>;
  takeover(camera: string, purposeInput: unknown, by: ActionContext): Promise<ControlGranted>;
  release(camera: string, by: ActionContext): Promise<void>;
  keepAlive(camera: string, by: ActionContext): { moving: boolean; leaseUntil: number };
  status(
    camera: string,
    by: ActionContext,
  ): Promise<PtzStatus & { lock: LockView | null; zonesInView: string[] }>;
  privacyZones(camera: string, by: ActionContext): Promise<PrivacyZonesView>;
  presets(camera: string, by: ActionContext): Promise<PtzPreset[]>;
  continuous(camera: string, velocityInput: unknown, by: ActionContext): Promise<{ coalesced: boolean }>;
  absolute(camera: string, positionInput: unknown, speedInput: unknown, by: ActionContext): Promise<void>;
  relative(camera: string, byInput: unknown, speedInput: unknown, by: ActionContext): Promise<void>;
  stopMove(camera: string, by: ActionContext): Promise<void>;
  gotoPreset(camera: string, tokenInput: unknown, by: ActionContext): Promise<void>;
  savePreset(camera: string, nameInput: unknown, tokenInput: unknown, by: ActionContext): Promise<string>;
  deletePreset(camera: string, tokenInput: unknown, by: ActionContext): Promise<void>;
  gotoHome(camera: string, by: ActionContext): Promise<void>;
  setHome(camera: string, by: ActionContext): Promise<void>;
  sessions(filter: PtzSessionFilter, by: ActionContext): Promise<PtzSessionRecord[]>;
  session(id: number, by: ActionContext): Promise<PtzSessionDetail>;
}

export class PtzService implements PtzDesk {
  readonly limits: PtzLimits;
  readonly events = new PtzEvents();
  private readonly now: () => number;
  private readonly locks: ControlLocks;
  private readonly moves: ContinuousMoves;
  private readonly rate: UserRate;
  private readonly guard: ZoneGuard;
  private readonly refusals: RefusalLog;
  private readonly views: ViewPositions;
  /** How each person's last control of each camera ended, for the 409 their next command gets. */
  private readonly lastEnd = new Map<string, { reason: PtzEndReason; by?: string; at: number }>();
  /** Cameras whose control is being granted (its session row being written): no second grant meanwhile. */
  private readonly granting = new Set<string>();

  constructor(private readonly o: PtzServiceOptions) {
    this.limits = { ...DEFAULT_PTZ_LIMITS, ...o.limits };
    this.now = o.now ?? Date.now;
    this.locks = new ControlLocks(this.limits.leaseMs, this.now, (lock) => void this.lapsed(lock));
    this.moves = new ContinuousMoves({
      deadmanMs: this.limits.deadmanMs,
      minIntervalMs: 1_000 / this.limits.cameraCallsPerSecond,
      cameraTimeoutMs: this.limits.cameraTimeoutMs,
      now: this.now,
      log: o.log,
      onLapse: (move, settled) =>
        void this.pscsdStop(move, settled, "deadman-stop", { deadmanMs: this.limits.deadmanMs }),
    });
    this.rate = new UserRate(this.limits.commandsPerSecond, this.limits.commandBurst, this.now);
    this.guard = new ZoneGuard(this.limits.zoneWatchMs, this.now, o.log);
    this.refusals = new RefusalLog(this.limits.refusalWindowMs, this.now, (e) => this.auditRefusals(e));
    this.views = new ViewPositions(
      (camera) =>
        o.cameras
          .ptz(camera)
          ?.status()
          .then((s) => s.position),
      VIEW_POSITION_FRESH_MS,
      this.now,
    );
  }

  /** Sessions left open by a pscsd that stopped without ending them end as `stopped`. */
  async start(): Promise<void> {
    await this.o.directory.tx(async (d) => {
      for (const s of await d.ptzSessions.unended()) {
        await d.ptzSessions.end(s.id, this.now(), "stopped");
        await auditIn(this.o.audit, d, SYSTEM_ACTOR, "ptz.end", `ptz-session:${s.id}`, "success", {
          camera: s.camera,
          holder: s.actor,
          reason: "stopped",
        });
      }
    });
  }

  /** Stops every continuous move and ends every session (pscsd stopping). */
  async stop(): Promise<void> {
    for (const move of this.moves.endAll()) await move.ptz.stop().catch(() => undefined);
    await this.refusals.flush();
    for (const lock of this.locks.all()) {
      this.locks.drop(lock.camera);
      await this.endSession(lock, "stopped", SYSTEM_ACTOR);
    }
  }

  private require(by: ActionContext, permission: Permission): void {
    if (!roleGrants(by.role, permission)) {
      throw new ServiceError("forbidden", `${by.actor} may not do this: it needs ${permission}`);
    }
  }

  private camera(camera: string): void {
    if (!this.o.cameras.ids.has(camera))
      throw new ServiceError("not_found", `no camera '${camera}'`, "camera");
  }

  private connected(camera: string): PtzCamera {
    const ptz = this.o.cameras.ptz(camera);
    if (!ptz) throw new ServiceError("conflict", `camera '${camera}' is not connected`, "camera");
    return ptz;
  }

  lock(camera: string, by: ActionContext): LockView | null {
    this.require(by, "ptz.control");
    this.camera(camera);
    const l = this.locks.get(camera);
    return l ? view(l) : null;
  }

  /** Takes control of a free camera (or renews one's own), for the purpose stated. */
  async take(camera: string, purposeInput: unknown, by: ActionContext): Promise<ControlGranted> {
    this.require(by, "ptz.control");
    this.camera(camera);
    const purpose = ptzPurpose(purposeInput);
    const held = this.locks.get(camera);
    if (held && held.holder.actor === by.actor) {
      this.locks.renew(camera);
      return this.granted(this.locks.get(camera) ?? held);
    }
    if (held) throw await this.refusal(camera, by, "control", this.heldBy(held));
    return this.granted(await this.open(camera, purpose, by));
  }

  /** A supervisor takes control from whoever holds it; the holder's session ends `taken-over`. */
  async takeover(camera: string, purposeInput: unknown, by: ActionContext): Promise<ControlGranted> {
    this.require(by, "ptz.supervise");
    this.camera(camera);
    const purpose = ptzPurpose(purposeInput);
    const held = this.locks.get(camera);
    if (!held || held.holder.actor === by.actor) return this.take(camera, purposeInput, by);
    // The camera is being granted from here on: nobody takes it in the gap between the two sessions.
    return this.granted(
      await this.open(camera, purpose, by, async () => {
        const move = await this.moves.endSettled(camera);
        if (move) await move.ptz.stop().catch(() => undefined);
        this.locks.drop(camera);
        await this.endSession(held, "taken-over", by, move);
        return held.session;
      }),
    );
  }

  async release(camera: string, by: ActionContext): Promise<void> {
    this.require(by, "ptz.control");
    this.camera(camera);
    const held = await this.admitted(camera, by, "release", false, async () => undefined);
    const move = await this.moves.endSettled(camera);
    if (move) await move.ptz.stop().catch(() => undefined);
    this.locks.drop(camera);
    await this.endSession(held, "released", by, move);
  }

  /** Renews the lease and keeps a continuous move going; not audited (it is not a command). */
  keepAlive(camera: string, by: ActionContext): { moving: boolean; leaseUntil: number } {
    this.require(by, "ptz.control");
    this.camera(camera);
    this.mine(camera, by);
    this.locks.renew(camera);
    const moving = this.moves.keepAlive(camera);
    return { moving, leaseUntil: this.locks.get(camera)?.leaseUntil ?? 0 };
  }

  /** Where the camera points, who controls it, and the privacy zones in view (ids). */
  async status(
    camera: string,
    by: ActionContext,
  ): Promise<PtzStatus & { lock: LockView | null; zonesInView: string[] }> {
    this.require(by, "ptz.control");
    this.camera(camera);
    const status = await this.connected(camera)
      .status()
      .catch((e: unknown) => {
        throw this.cameraFailed(camera, e);
      });
    const l = this.locks.get(camera);
    const zones = await this.o.zones.of(camera);
    const fov = this.o.zones.fieldOfView(camera);
    return {
      ...status,
      lock: l ? view(l) : null,
      zonesInView: zones.filter((z) => inView(z, status.position, fov)).map((z) => z.id),
    };
  }

  /**
   * A camera's privacy zones and, when it is connected, which are in view from where it points: what
   * a live view draws its masks from (`zones.read`).
   */
  async privacyZones(camera: string, by: ActionContext): Promise<PrivacyZonesView> {
    const zones = await this.o.zones.list(camera, by);
    const fov = this.o.zones.fieldOfView(camera);
    const position = await this.views.of(camera);
    return {
      camera,
      fieldOfView: fov,
      position: position ?? null,
      view: position ? viewHalf(fov, position.zoom) : null,
      zones: zones.map((z) => ({
        ...z,
        inView: position ? inView(z, position, fov) : null,
        mask: (position && maskIn(z, position, fov)) ?? null,
      })),
    };
  }

  async presets(camera: string, by: ActionContext): Promise<PtzPreset[]> {
    this.require(by, "ptz.control");
    this.camera(camera);
    return this.connected(camera)
      .presets()
      .catch((e: unknown) => {
        throw this.cameraFailed(camera, e);
      });
  }

  /**
   * A velocity for the camera: starts a continuous move, or updates the running one (coalesced: it
   * reaches the camera at the camera's rate, and is counted in the move's one entry). All-zero stops.
   */
  async continuous(
    camera: string,
    velocityInput: unknown,
    by: ActionContext,
  ): Promise<{ coalesced: boolean }> {
    const velocity = vectorOf(velocityInput, "velocity", "velocity");
    if (Object.values(velocity).every((v) => v === 0)) {
      await this.stopMove(camera, by);
      return { coalesced: false };
    }
    this.require(by, "ptz.control");
    this.camera(camera);
    const held = await this.admitted(camera, by, "continuous", !this.moves.get(camera), () =>
      this.checkPath(camera, velocity),
    );
    this.locks.renew(camera);
    if (this.moves.update(camera, velocity)) return { coalesced: true };
    const seq = await this.command(held, by, "continuous", { velocity }, async (ptz) => {
      await this.moves.start({ camera, ptz, session: held.session, velocity });
      return undefined;
    });
    this.moves.attach(camera, held.session, seq);
    const ptz = this.o.cameras.ptz(camera);
    if (ptz && this.moves.get(camera)) {
      this.guard.watch({
        camera,
        ptz,
        fieldOfView: this.o.zones.fieldOfView(camera),
        speeds: this.o.zones.speeds(camera),
        velocities: () => this.moves.velocities(camera),
        zones: () => this.o.zones.of(camera),
        stop: (why) => this.zoneStop(camera, why),
      });
    }
    return { coalesced: false };
  }

  async absolute(
    camera: string,
    positionInput: unknown,
    speedInput: unknown,
    by: ActionContext,
  ): Promise<void> {
    const position = vectorOf(positionInput, "position", "position");
    const speed = speedInput === undefined ? undefined : vectorOf(speedInput, "speed", "speed");
    await this.discrete(
      camera,
      by,
      "absolute",
      { position, ...(speed ? { speed } : {}) },
      (ptz) => ptz.absoluteMove(position, speed),
      async (_ptz, here) => targetOf(here, position),
    );
  }

  async relative(camera: string, byInput: unknown, speedInput: unknown, by: ActionContext): Promise<void> {
    const translation = vectorOf(byInput, "translation", "translation");
    const speed = speedInput === undefined ? undefined : vectorOf(speedInput, "speed", "speed");
    await this.discrete(
      camera,
      by,
      "relative",
      { translation, ...(speed ? { speed } : {}) },
      (ptz) => ptz.relativeMove(translation, speed),
      async (_ptz, here) => translated(here, translation),
    );
  }

  async stopMove(camera: string, by: ActionContext): Promise<void> {
    await this.discrete(camera, by, "stop", {}, (ptz) => ptz.stop());
  }

  async gotoPreset(camera: string, tokenInput: unknown, by: ActionContext): Promise<void> {
    const token = textOf(tokenInput, "token", TOKEN_MAX);
    await this.discrete(
      camera,
      by,
      "preset.goto",
      { token },
      (ptz) => ptz.gotoPreset(token),
      async (ptz) => {
        const presets = await ptz.presets().catch((e: unknown) => {
          throw this.cameraFailed(camera, e);
        });
        const preset = presets.find((p) => p.token === token);
        // No such preset: the camera refuses it itself. One without a position cannot be checked.
        if (!preset) return undefined;
        return preset.position ?? "unknown";
      },
    );
  }

  /** Saves the camera's current position as a preset; returns its token. */
  async savePreset(
    camera: string,
    nameInput: unknown,
    tokenInput: unknown,
    by: ActionContext,
  ): Promise<string> {
    const name = textOf(nameInput, "name", PRESET_NAME_MAX);
    const token = tokenInput === undefined ? undefined : textOf(tokenInput, "token", TOKEN_MAX);
    let saved = "";
    await this.discrete(
      camera,
      by,
      "preset.save",
      { name, ...(token ? { token } : {}) },
      async (ptz) => {
        saved = await ptz.setPreset(name, token);
        return { token: saved };
      },
      async (_ptz, here) => here,
    );
    return saved;
  }

  async deletePreset(camera: string, tokenInput: unknown, by: ActionContext): Promise<void> {
    const token = textOf(tokenInput, "token", TOKEN_MAX);
    await this.discrete(camera, by, "preset.delete", { token }, (ptz) => ptz.removePreset(token));
  }

  /**
   * ONVIF cannot tell where home is: its target is the position recorded when home was last set
   * through pscsd (that command's row); a home set otherwise is unknown, refused on a zoned camera.
   */
  async gotoHome(camera: string, by: ActionContext): Promise<void> {
    await this.discrete(
      camera,
      by,
      "home.goto",
      {},
      (ptz) => ptz.gotoHome(),
      async () => {
        const set = await this.o.directory.read((d) => d.ptzSessions.lastSucceeded(camera, "home.set"));
        return (set?.params.position as PtzPosition | undefined) ?? "unknown";
      },
    );
  }

  /** Sets home where the camera points, recording that position (gotoHome's target). */
  async setHome(camera: string, by: ActionContext): Promise<void> {
    let position: PtzPosition | undefined;
    await this.discrete(
      camera,
      by,
      "home.set",
      {},
      async (ptz) => {
        await ptz.setHome();
        return { position };
      },
      async (_ptz, here) => {
        position = here;
        return here;
      },
      true,
    );
  }

  async sessions(filter: PtzSessionFilter, by: ActionContext): Promise<PtzSessionRecord[]> {
    this.reviewer(by);
    return this.o.directory.read((d) => d.ptzSessions.list(filter));
  }

  async session(id: number, by: ActionContext): Promise<PtzSessionDetail> {
    this.reviewer(by);
    const found = await this.o.directory.read(async (d) => {
      const s = await d.ptzSessions.get(id);
      return s ? { ...s, commands: await d.ptzSessions.commands(id) } : undefined;
    });
    if (!found) throw new ServiceError("not_found", `no PTZ session ${id}`, "id");
    return found;
  }

  /** Supervisors and auditors review sessions (ptz-sessions.read). */
  private reviewer(by: ActionContext): void {
    this.require(by, "ptz-sessions.read");
  }

  /**
   * Where a command is checked before it reaches the camera: the position it ends at (or saves), and
   * the way there from where the camera is, must break no privacy zone. `target` says where it ends:
   * a position, "unknown" (refused when the camera has zones), or undefined (nothing to check: the
   * camera refuses it itself). `always` reads it even on a camera without zones (home.set records it).
   */
  private async checkTarget(
    camera: string,
    kind: PtzCommandKind,
    target: Target,
    always = false,
  ): Promise<void> {
    const zones = await this.o.zones.of(camera);
    if (zones.length === 0 && !always) return;
    const ptz = this.connected(camera);
    const here = await this.here(camera, ptz);
    const at = await target(ptz, here);
    if (zones.length === 0 || at === undefined) return;
    if (at === "unknown") {
      throw new ServiceError(
        "forbidden",
        `camera '${camera}' has privacy zones and pscsd does not know where ${kind} ends: refused${kind === "home.goto" ? " (set home through pscsd first)" : ""}`,
        "zone",
        { policy: PRIVACY_POLICY },
      );
    }
    const fov = this.o.zones.fieldOfView(camera);
    const zone = pathBreak(zones, here, at, this.o.zones.speeds(camera), fov);
    if (zone) throw zoneRefusal(camera, kind, zone, at, !breaks(zone, at, fov));
  }

  /** A continuous move's first step (or a new velocity's) from where the camera was last seen. */
  private async checkPath(camera: string, velocity: Partial<PtzPosition>): Promise<void> {
    const zones = await this.o.zones.of(camera);
    if (zones.length === 0) return;
    const ptz = this.connected(camera);
    const moving = this.moves.get(camera) !== undefined;
    const look =
      (moving ? this.guard.lastLook(camera) : undefined) ??
      (await this.guard.look(camera, ptz).catch((e: unknown) => {
        throw this.cameraFailed(camera, e);
      }));
    const fov = this.o.zones.fieldOfView(camera);
    const zone = this.guard.breaking(look, velocity, zones, fov, this.o.zones.speeds(camera));
    if (!zone) return;
    if (moving) await this.zoneStop(camera, { zone, position: look.position });
    throw zoneRefusal(camera, "continuous", zone, look.position);
  }

  /** Where the camera points now. */
  private async here(camera: string, ptz: PtzCamera): Promise<PtzPosition> {
    const s = await ptz.status().catch((e: unknown) => {
      throw this.cameraFailed(camera, e);
    });
    return s.position;
  }

  /**
   * The caller's lock, the rate limit and `check`: a refusal by any of them (409, 429, a privacy
   * zone's 403) is counted for the audit log (./refusals.ts) before it is thrown. `rated`: the
   * command counts against the person's rate (a continuous move's updates do not: they are coalesced).
   */
  private async admitted(
    camera: string,
    by: ActionContext,
    kind: PtzCommandKind,
    rated: boolean,
    check: () => Promise<void>,
  ): Promise<ControlLock> {
    try {
      const held = this.mine(camera, by);
      if (rated) this.throttle(by);
      await check();
      return held;
    } catch (e) {
      if (e instanceof ServiceError && ["conflict", "throttled", "forbidden"].includes(e.kind)) {
        throw await this.refusal(camera, by, kind, e);
      }
      throw e;
    }
  }

  /** Counts a refusal for the audit log; returns it to throw. */
  private async refusal(camera: string, by: ActionContext, kind: PtzCommandKind, e: ServiceError) {
    const zone = (e.extra?.zone as PrivacyZone | undefined)?.id;
    await this.refusals.refused(by, camera, kind, e.message, zone);
    return e;
  }

  private async auditRefusals(e: RefusalEntry): Promise<void> {
    const by = { actor: e.actor, role: e.role, client: e.client };
    try {
      await this.o.directory.tx((d) =>
        auditIn(this.o.audit, d, by, "ptz.refused", `camera:${e.camera}`, "denied", {
          camera: e.camera,
          refusals: e.refusals,
          commands: e.commands,
          reasons: e.reasons,
          ...(e.zones.length ? { zones: e.zones } : {}),
          firstAt: e.firstAt,
          lastAt: e.lastAt,
        }),
      );
    } catch (err) {
      this.o.log.error({ err, camera: e.camera, actor: e.actor }, "PTZ refusals not audited");
    }
  }

  private throttle(by: ActionContext): void {
    const throttled = this.rate.take(by.actor);
    if (throttled.refused) {
      throw new ServiceError(
        "throttled",
        `too many PTZ commands: at most ${this.limits.commandsPerSecond} a second`,
        undefined,
        { retryAfterSeconds: throttled.retryAfterSeconds },
      );
    }
  }

  /** A command other than a continuous move: any running move ends first (its updates counted). */
  private async discrete(
    camera: string,
    by: ActionContext,
    kind: Exclude<PtzCommandKind, "continuous" | "control" | "release">,
    params: Record<string, unknown>,
    send: (ptz: PtzCamera) => Promise<unknown>,
    target?: Target,
    always = false,
  ): Promise<void> {
    this.require(by, "ptz.control");
    this.camera(camera);
    const held = await this.admitted(camera, by, kind, true, async () => {
      if (target) await this.checkTarget(camera, kind, target, always);
    });
    this.locks.renew(camera);
    const move = await this.moves.endSettled(camera);
    if (move) await this.closeMove(move);
    await this.command(
      held,
      by,
      kind,
      move ? { ...params, ended: this.moveSummary(move) } : params,
      async (ptz) => {
        const extra = await send(ptz);
        return extra && typeof extra === "object" ? (extra as Record<string, unknown>) : undefined;
      },
    );
  }

  /** Sends one admitted command, then records it in its session and the audit log. */
  private async command(
    held: ControlLock,
    by: ActionContext,
    kind: PtzCommandKind,
    params: Record<string, unknown>,
    send: (ptz: PtzCamera) => Promise<Record<string, unknown> | undefined>,
  ): Promise<number> {
    const ptz = this.connected(held.camera);
    const at = this.now();
    let outcome: Outcome = "success";
    let error: string | null = null;
    let result: Record<string, unknown> | undefined;
    try {
      result = await send(ptz);
    } catch (e) {
      outcome = "failure";
      error = cameraRefusal(e);
    }
    const recorded = { ...params, ...result };
    // The row and its entry commit together, after the camera answered: no row without its entry.
    const seq = await this.o.directory.tx(async (d) => {
      const n = await d.ptzSessions.addCommand({
        session: held.session,
        at,
        kind,
        params: recorded,
        outcome,
        updates: 1,
        error,
      });
      await auditIn(this.o.audit, d, by, `ptz.${kind}`, `ptz-session:${held.session}`, outcome, {
        camera: held.camera,
        command: kind,
        params: recorded,
        purpose: held.purpose,
        ...(error ? { error } : {}),
      });
      return n;
    });
    if (error)
      throw new ServiceError("conflict", `camera '${held.camera}' refused ${kind}: ${error}`, "camera");
    return seq;
  }

  private moveSummary(move: ContinuousMove) {
    return {
      seq: move.seq,
      updates: move.updates,
      calls: move.calls,
      failures: move.failures,
      durationMs: this.now() - move.startedAt,
    };
  }

  /** Writes a finished continuous move's counts into its command row (once it has one). */
  private async closeMove(move: ContinuousMove): Promise<void> {
    if (move.seq === 0) return;
    await this.o.directory.tx(async (d) => {
      const row = (await d.ptzSessions.commands(move.session)).find((c) => c.seq === move.seq);
      if (!row) return;
      await d.ptzSessions.updateCommand({
        ...row,
        params: {
          ...row.params,
          lastVelocity: move.velocity,
          calls: move.calls,
          durationMs: this.now() - move.startedAt,
        },
        updates: 1 + move.updates,
      });
    });
  }

  /** A continuous move about to break a privacy zone (or unwatchable): pscsd stops it, and says so. */
  private async zoneStop(
    camera: string,
    why: { zone?: PrivacyZone; position?: PtzPosition; error?: string },
  ): Promise<void> {
    const move = await this.moves.endSettled(camera);
    if (!move) return;
    await this.pscsdStop(move, Promise.resolve(), "zone-stop", {
      ...(why.zone ? { zone: why.zone.id } : { positionUnknown: why.error ?? true }),
      ...(why.position ? { position: why.position } : {}),
    });
  }

  /**
   * pscsd stops a continuous move itself (the dead-man timeout lapsed, or a privacy zone is ahead),
   * and says so: a command row, an entry, an event.
   */
  private async pscsdStop(
    move: ContinuousMove,
    settled: Promise<void>,
    kind: "deadman-stop" | "zone-stop",
    details: Record<string, unknown>,
  ): Promise<void> {
    await settled;
    let outcome: Outcome = "success";
    let error: string | undefined;
    try {
      await move.ptz.stop();
    } catch (e) {
      outcome = "failure";
      error = e instanceof Error ? e.message : String(e);
      this.o.log.error({ err: e, camera: move.camera, kind }, "pscsd's own Stop failed");
    }
    const held = this.locks.get(move.camera);
    try {
      await this.closeMove(move);
      await this.o.directory.tx(async (d) => {
        await d.ptzSessions.addCommand({
          session: move.session,
          at: this.now(),
          kind,
          params: { ...details, ended: this.moveSummary(move) },
          outcome,
          updates: 1,
          error: error ?? null,
        });
        await auditIn(this.o.audit, d, SYSTEM_ACTOR, `ptz.${kind}`, `ptz-session:${move.session}`, outcome, {
          camera: move.camera,
          holder: held?.holder.actor,
          ...details,
          ended: this.moveSummary(move),
          ...(held ? { purpose: held.purpose } : {}),
          ...(error ? { error } : {}),
        });
      });
    } catch (err) {
      this.o.log.error({ err, camera: move.camera, kind }, "pscsd's own stop not recorded");
    }
    this.events.emit({
      at: this.now(),
      kind,
      camera: move.camera,
      session: move.session,
      actor: held?.holder.actor ?? "",
    });
  }

  private async lapsed(lock: ControlLock): Promise<void> {
    const move = await this.moves.endSettled(lock.camera);
    if (move) await move.ptz.stop().catch(() => undefined);
    try {
      await this.endSession(lock, "expired", SYSTEM_ACTOR, move);
    } catch (err) {
      this.o.log.error({ err, camera: lock.camera }, "PTZ lease expiry not recorded");
    }
  }

  private async open(
    camera: string,
    purpose: PtzPurpose,
    by: ActionContext,
    /** For a takeover: ends the holder's session first; returns its id. */
    endHolder?: () => Promise<number>,
  ): Promise<ControlLock> {
    if (this.granting.has(camera)) {
      throw new ServiceError("conflict", `control of '${camera}' is being given to someone else`, "camera");
    }
    this.granting.add(camera);
    try {
      const from = await endHolder?.();
      return await this.grant(camera, purpose, by, from);
    } finally {
      this.granting.delete(camera);
    }
  }

  private async grant(
    camera: string,
    purpose: PtzPurpose,
    by: ActionContext,
    from?: number,
  ): Promise<ControlLock> {
    const since = this.now();
    const holder: Controller = { actor: by.actor, role: by.role, client: by.client };
    const session = await this.o.directory.tx(async (d) => {
      const id = await d.ptzSessions.open({
        camera,
        actor: by.actor,
        role: by.role,
        purpose,
        startedAt: since,
      });
      await auditIn(
        this.o.audit,
        d,
        by,
        from ? "ptz.takeover" : "ptz.control",
        `ptz-session:${id}`,
        "success",
        {
          camera,
          purpose,
          ...(from ? { from: `ptz-session:${from}` } : {}),
        },
      );
      return id;
    });
    this.lastEnd.delete(`${camera}\n${by.actor}`);
    const lock = this.locks.set({ camera, session, holder, since, purpose });
    this.events.emit({ at: since, kind: "control", camera, session, actor: by.actor });
    return lock;
  }

  private async endSession(
    lock: ControlLock,
    reason: PtzEndReason,
    by: ActionContext,
    move?: ContinuousMove,
  ): Promise<void> {
    const at = this.now();
    if (move) await this.closeMove(move);
    await this.o.directory.tx(async (d) => {
      await d.ptzSessions.end(lock.session, at, reason, reason === "taken-over" ? by.actor : undefined);
      await auditIn(this.o.audit, d, by, "ptz.end", `ptz-session:${lock.session}`, "success", {
        camera: lock.camera,
        holder: lock.holder.actor,
        reason,
        purpose: lock.purpose,
        durationMs: at - lock.since,
        ...(move ? { ended: this.moveSummary(move) } : {}),
      });
    });
    this.lastEnd.set(`${lock.camera}\n${lock.holder.actor}`, {
      reason,
      ...(reason === "taken-over" ? { by: by.actor } : {}),
      at,
    });
    this.events.emit({
      at,
      kind: reason === "stopped" ? "released" : reason,
      camera: lock.camera,
      session: lock.session,
      actor: lock.holder.actor,
      ...(reason === "taken-over" ? { by: by.actor } : {}),
    });
  }

  private granted(l: ControlLock): ControlGranted {
    return {
      ...view(l),
      keepAliveMs: this.limits.keepAliveMs,
      deadmanMs: this.limits.deadmanMs,
      leaseMs: this.limits.leaseMs,
    };
  }

  /** The caller's lock on the camera, or the 409 that says who holds it (or how theirs ended). */
  private mine(camera: string, by: ActionContext): ControlLock {
    const held = this.locks.get(camera);
    if (held?.holder.actor === by.actor) return held;
    const ended = this.lastEnd.get(`${camera}\n${by.actor}`);
    if (ended?.reason === "taken-over") {
      throw new ServiceError("conflict", `control of '${camera}' was taken over by ${ended.by}`, "camera", {
        takenOverBy: ended.by,
        at: ended.at,
        ...(held ? { holder: view(held) } : {}),
      });
    }
    if (held) throw this.heldBy(held);
    throw new ServiceError(
      "conflict",
      ended?.reason === "expired"
        ? `control of '${camera}' expired: take control again`
        : `take control of '${camera}' first (with a purpose)`,
      "camera",
    );
  }

  private heldBy(held: ControlLock): ServiceError {
    return new ServiceError(
      "conflict",
      `camera '${held.camera}' is controlled by ${held.holder.actor} since ${new Date(held.since).toISOString()} (${held.purpose.kind}${held.purpose.reference ? ` ${held.purpose.reference}` : ""})`,
      "camera",
      { holder: view(held) },
    );
  }

  private cameraFailed(camera: string, e: unknown): ServiceError {
    return new ServiceError(
      "conflict",
      `camera '${camera}': ${e instanceof Error ? e.message : String(e)}`,
      "camera",
    );
  }
}

export interface PrivacyZonesView {
  camera: string;
  fieldOfView: { halfWidth: number; halfHeight: number; magnification: number };
  /** Where the camera points, null when it is not connected or did not answer. */
  position: PtzPosition | null;
  /** The view's half-width and half-height in pan/tilt units at that zoom. */
  view: { pan: number; tilt: number } | null;
  /** Each zone, whether it is in view, and where to mask it in the picture (fractions, top left). */
  zones: (ZoneRecord & {
    inView: boolean | null;
    mask: { x: number; y: number; w: number; h: number } | null;
  })[];
}

/** Where a command ends, given the camera and where it points now (see checkTarget). */
type Target = (ptz: PtzCamera, here: PtzPosition) => Promise<PtzPosition | "unknown" | undefined>;

/** A privacy zone's refusal (403), naming the zone and quoting the policy. */
function zoneRefusal(
  camera: string,
  kind: PtzCommandKind,
  zone: PrivacyZone,
  at: PtzPosition,
  onTheWay = false,
): ServiceError {
  const where = `pan ${at.pan.toFixed(3)}, tilt ${at.tilt.toFixed(3)}, zoom ${at.zoom.toFixed(3)}`;
  return new ServiceError(
    "forbidden",
    onTheWay
      ? `camera '${camera}': ${kind} refused: on its way to ${where} it would look into privacy zone '${zone.id}' (go around it)`
      : `camera '${camera}': ${kind} refused: privacy zone '${zone.id}' (${where} would look into it)`,
    "zone",
    {
      zone: { id: zone.id, pan: zone.pan, tilt: zone.tilt, maxZoom: zone.maxZoom },
      at,
      policy: PRIVACY_POLICY,
    },
  );
}

/**
 * What the camera said, for the dispatcher and the record: an ONVIF error without the camera's
 * network address (its own message starts with it), anything else as it is.
 */
function cameraRefusal(e: unknown): string {
  if (e instanceof OnvifError) {
    const cause = e.cause instanceof Error ? e.cause.message : String(e.cause);
    return `ONVIF ${e.operation} failed: ${cause}`;
  }
  return e instanceof Error ? e.message : String(e);
}
