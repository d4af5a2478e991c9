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
import { ServiceError } from "../errors/service-error.js";
import type { Logger } from "../log/logger.js";
import { textFault } from "../text/well-formed.js";
import { type ContinuousMove, ContinuousMoves } from "./continuous.js";
import { PtzEvents } from "./events.js";
import { type ControlLock, ControlLocks, type Controller } from "./lock.js";
import { type PtzPurpose, ptzPurpose } from "./purpose.js";
import { UserRate } from "./rate.js";

/**
 * PTZ control bound by the policy (Use Procedures 7): who may move a camera, why, one at a time,
 * and a record of every movement. Routes and the CLI only translate to and from these methods.
 * Invariants, enforced here whoever calls:
 * - taking control needs `ptz.control` and a stated purpose (./purpose.ts), kept with the session;
 * - one controller per camera (./lock.ts): a command from anyone else is refused (409, naming the
 *   holder); only `ptz.supervise` takes over, which ends the holder's session and tells them;
 * - a continuous move lives only while its client keeps it alive (./continuous.ts): pscsd sends
 *   Stop itself when keep-alives lapse;
 * - every command reaches the camera only through checkTarget() (where privacy zones will refuse a
 *   target) and is recorded in its session and audited with target `ptz-session:<id>` (user,
 *   camera, command, parameters, purpose, outcome); a continuous move's updates are coalesced into
 *   its one entry, and a person's commands are rate limited (./rate.ts), so a stuck joystick floods
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
}

export const DEFAULT_PTZ_LIMITS: PtzLimits = {
  leaseMs: 30_000,
  deadmanMs: 1_000,
  keepAliveMs: 500,
  cameraCallsPerSecond: 5,
  commandsPerSecond: 5,
  commandBurst: 10,
  cameraTimeoutMs: 5_000,
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
  | "home.set";

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

export class PtzService {
  readonly limits: PtzLimits;
  readonly events = new PtzEvents();
  private readonly now: () => number;
  private readonly locks: ControlLocks;
  private readonly moves: ContinuousMoves;
  private readonly rate: UserRate;
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
      onLapse: (move, settled) => void this.deadman(move, settled),
    });
    this.rate = new UserRate(this.limits.commandsPerSecond, this.limits.commandBurst, this.now);
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
    if (held) throw this.heldBy(held);
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
    const held = this.mine(camera, by);
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

  async status(camera: string, by: ActionContext): Promise<PtzStatus & { lock: LockView | null }> {
    this.require(by, "ptz.control");
    this.camera(camera);
    const status = await this.connected(camera)
      .status()
      .catch((e: unknown) => {
        throw this.cameraFailed(camera, e);
      });
    const l = this.locks.get(camera);
    return { ...status, lock: l ? view(l) : null };
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
    const held = this.mine(camera, by);
    this.checkTarget(camera, "continuous", { velocity });
    this.locks.renew(camera);
    if (this.moves.update(camera, velocity)) return { coalesced: true };
    const seq = await this.command(held, by, "continuous", { velocity }, async (ptz) => {
      await this.moves.start({ camera, ptz, session: held.session, velocity });
      return undefined;
    });
    this.moves.attach(camera, held.session, seq);
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
    await this.discrete(camera, by, "absolute", { position, ...(speed ? { speed } : {}) }, (ptz) =>
      ptz.absoluteMove(position, speed),
    );
  }

  async relative(camera: string, byInput: unknown, speedInput: unknown, by: ActionContext): Promise<void> {
    const translation = vectorOf(byInput, "translation", "translation");
    const speed = speedInput === undefined ? undefined : vectorOf(speedInput, "speed", "speed");
    await this.discrete(camera, by, "relative", { translation, ...(speed ? { speed } : {}) }, (ptz) =>
      ptz.relativeMove(translation, speed),
    );
  }

  async stopMove(camera: string, by: ActionContext): Promise<void> {
    await this.discrete(camera, by, "stop", {}, (ptz) => ptz.stop());
  }

  async gotoPreset(camera: string, tokenInput: unknown, by: ActionContext): Promise<void> {
    const token = textOf(tokenInput, "token", TOKEN_MAX);
    await this.discrete(camera, by, "preset.goto", { token }, (ptz) => ptz.gotoPreset(token));
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
    await this.discrete(camera, by, "preset.save", { name, ...(token ? { token } : {}) }, async (ptz) => {
      saved = await ptz.setPreset(name, token);
      return { token: saved };
    });
    return saved;
  }

  async deletePreset(camera: string, tokenInput: unknown, by: ActionContext): Promise<void> {
    const token = textOf(tokenInput, "token", TOKEN_MAX);
    await this.discrete(camera, by, "preset.delete", { token }, (ptz) => ptz.removePreset(token));
  }

  async gotoHome(camera: string, by: ActionContext): Promise<void> {
    await this.discrete(camera, by, "home.goto", {}, (ptz) => ptz.gotoHome());
  }

  async setHome(camera: string, by: ActionContext): Promise<void> {
    await this.discrete(camera, by, "home.set", {}, (ptz) => ptz.setHome());
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
   * Where a move's target is checked before it reaches the camera: today its kind against the
   * command; privacy zones (issue 17, point 7) refuse a target here, naming the zone.
   */
  private checkTarget(_camera: string, _kind: PtzCommandKind, _params: Record<string, unknown>): void {}

  /** A command other than a continuous move: any running move ends first (its updates counted). */
  private async discrete(
    camera: string,
    by: ActionContext,
    kind: Exclude<PtzCommandKind, "continuous">,
    params: Record<string, unknown>,
    send: (ptz: PtzCamera) => Promise<unknown>,
  ): Promise<void> {
    this.require(by, "ptz.control");
    this.camera(camera);
    const held = this.mine(camera, by);
    this.checkTarget(camera, kind, params);
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

  /** Sends one command under the rate limit, then records it in its session and the audit log. */
  private async command(
    held: ControlLock,
    by: ActionContext,
    kind: PtzCommandKind,
    params: Record<string, unknown>,
    send: (ptz: PtzCamera) => Promise<Record<string, unknown> | undefined>,
  ): Promise<number> {
    const throttled = this.rate.take(by.actor);
    if (throttled.refused) {
      throw new ServiceError(
        "throttled",
        `too many PTZ commands: at most ${this.limits.commandsPerSecond} a second`,
        undefined,
        {
          retryAfterSeconds: throttled.retryAfterSeconds,
        },
      );
    }
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
        ...(throttled.refusedSince > 0 ? { throttledBefore: throttled.refusedSince } : {}),
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

  /** The dead-man timeout lapsed: pscsd stops the camera itself, and says so. */
  private async deadman(move: ContinuousMove, settled: Promise<void>): Promise<void> {
    await settled;
    let outcome: Outcome = "success";
    let error: string | undefined;
    try {
      await move.ptz.stop();
    } catch (e) {
      outcome = "failure";
      error = e instanceof Error ? e.message : String(e);
      this.o.log.error({ err: e, camera: move.camera }, "dead-man Stop failed");
    }
    const held = this.locks.get(move.camera);
    try {
      await this.closeMove(move);
      await this.o.directory.tx(async (d) => {
        await d.ptzSessions.addCommand({
          session: move.session,
          at: this.now(),
          kind: "deadman-stop",
          params: { ended: this.moveSummary(move) },
          outcome,
          updates: 1,
          error: error ?? null,
        });
        await auditIn(
          this.o.audit,
          d,
          SYSTEM_ACTOR,
          "ptz.deadman-stop",
          `ptz-session:${move.session}`,
          outcome,
          {
            camera: move.camera,
            holder: held?.holder.actor,
            deadmanMs: this.limits.deadmanMs,
            ended: this.moveSummary(move),
            ...(held ? { purpose: held.purpose } : {}),
            ...(error ? { error } : {}),
          },
        );
      });
    } catch (err) {
      this.o.log.error({ err, camera: move.camera }, "dead-man stop not recorded");
    }
    this.events.emit({
      at: this.now(),
      kind: "deadman-stop",
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
