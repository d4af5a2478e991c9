import type { PtzCamera, PtzPosition } from "../cameras/ptz.js";
import type { Logger } from "../log/logger.js";

/**
 * Continuous moves in progress, one per camera: velocity updates coalesced so a joystick cannot
 * flood a camera, and a dead-man timeout kept by pscsd itself, since many cameras ignore
 * ContinuousMove's Timeout.
 * Invariants: at most one camera call per `minIntervalMs` per camera for a move's updates, and one
 * in flight at a time (the last velocity asked for is the one sent); a move whose keep-alives
 * (updates count as keep-alives) lapse for `deadmanMs` is ended and handed to `onLapse` once, whose
 * caller sends Stop. The ContinuousMove sent also carries `cameraTimeoutMs` (re-sent before it runs
 * out) as a backstop for a camera that does honour it, should pscsd itself stop.
 */

export interface ContinuousMove {
  camera: string;
  ptz: PtzCamera;
  /** The session and seq of the command row that started the move (0 until written: see attach()). */
  session: number;
  seq: number;
  startedAt: number;
  velocity: Partial<PtzPosition>;
  /** Velocity updates after the first (coalesced into this move). */
  updates: number;
  /** Camera calls made for the move, the first included. */
  calls: number;
  failures: number;
}

interface Running {
  move: ContinuousMove;
  sent: Partial<PtzPosition>;
  lastSentAt: number;
  lastKeepAlive: number;
  inFlight: Promise<void> | undefined;
  flushTimer: NodeJS.Timeout | undefined;
  deadTimer: NodeJS.Timeout;
}

export interface ContinuousOptions {
  deadmanMs: number;
  minIntervalMs: number;
  cameraTimeoutMs: number;
  now: () => number;
  log: Logger;
  /** `settled` resolves once the move's call in flight (if any) has: send Stop after it. */
  onLapse: (move: ContinuousMove, settled: Promise<void>) => void;
}

const same = (a: Partial<PtzPosition>, b: Partial<PtzPosition>) =>
  a.pan === b.pan && a.tilt === b.tilt && a.zoom === b.zoom;

export class ContinuousMoves {
  private readonly running = new Map<string, Running>();

  constructor(private readonly o: ContinuousOptions) {}

  get(camera: string): ContinuousMove | undefined {
    const r = this.running.get(camera);
    return r ? { ...r.move } : undefined;
  }

  /** The velocities the camera may be moving at: the last sent, and the last asked for if not sent yet. */
  velocities(camera: string): Partial<PtzPosition>[] | undefined {
    const r = this.running.get(camera);
    if (!r) return undefined;
    return same(r.sent, r.move.velocity) ? [r.sent] : [r.sent, r.move.velocity];
  }

  /**
   * Starts a move: the first ContinuousMove is sent at once and awaited (its failure is the caller's,
   * and no move is left running). Updates arriving meanwhile wait for it (it is the call in flight).
   */
  async start(
    move: Omit<ContinuousMove, "seq" | "updates" | "calls" | "failures" | "startedAt">,
  ): Promise<void> {
    this.end(move.camera);
    const now = this.o.now();
    const first = move.ptz.continuousMove(move.velocity, this.o.cameraTimeoutMs);
    const r: Running = {
      move: { ...move, seq: 0, startedAt: now, updates: 0, calls: 1, failures: 0 },
      sent: move.velocity,
      lastSentAt: now,
      lastKeepAlive: now,
      inFlight: undefined,
      flushTimer: undefined,
      deadTimer: this.armDeadman(move.camera, this.o.deadmanMs),
    };
    this.running.set(move.camera, r);
    r.inFlight = first.then(
      () => undefined,
      () => undefined,
    );
    try {
      await first;
    } catch (e) {
      if (this.running.get(move.camera) === r) this.end(move.camera);
      throw e;
    } finally {
      r.inFlight = undefined;
    }
    if (this.running.get(move.camera) === r) this.flush(move.camera, r);
  }

  /** The command row recorded for the move that started (written after its first call succeeded). */
  attach(camera: string, session: number, seq: number): void {
    const r = this.running.get(camera);
    if (r && r.move.session === session && r.move.seq === 0) r.move.seq = seq;
  }

  /** A new velocity for the running move, sent when the camera's rate allows; false if none runs. */
  update(camera: string, velocity: Partial<PtzPosition>): boolean {
    const r = this.running.get(camera);
    if (!r) return false;
    r.move.velocity = velocity;
    r.move.updates += 1;
    r.lastKeepAlive = this.o.now();
    this.flush(camera, r);
    return true;
  }

  /** The client still holds the control: the move goes on; false if none runs. */
  keepAlive(camera: string): boolean {
    const r = this.running.get(camera);
    if (!r) return false;
    r.lastKeepAlive = this.o.now();
    // Renew the camera's own Timeout before it runs out.
    if (this.o.now() - r.lastSentAt >= this.o.cameraTimeoutMs / 2) this.flush(camera, r, true);
    return true;
  }

  /**
   * Ends the camera's move (no further camera call for it) and returns it, after its call in flight
   * (if any) has settled, so a Stop sent next is the last word.
   */
  async endSettled(camera: string): Promise<ContinuousMove | undefined> {
    const r = this.running.get(camera);
    const move = this.end(camera);
    await r?.inFlight;
    return move;
  }

  private end(camera: string): ContinuousMove | undefined {
    const r = this.running.get(camera);
    if (!r) return undefined;
    clearTimeout(r.deadTimer);
    clearTimeout(r.flushTimer);
    this.running.delete(camera);
    return r.move;
  }

  /** Ends every move (pscsd stopping); returns them for their Stop. */
  endAll(): ContinuousMove[] {
    return [...this.running.keys()].flatMap((c) => this.end(c) ?? []);
  }

  private flush(camera: string, r: Running, force = false): void {
    if (r.inFlight || r.flushTimer) return; // the pending call picks up the latest velocity
    if (!force && same(r.sent, r.move.velocity)) return;
    const wait = r.lastSentAt + this.o.minIntervalMs - this.o.now();
    if (wait > 0) {
      r.flushTimer = setTimeout(() => {
        r.flushTimer = undefined;
        if (this.running.get(camera) === r) this.send(camera, r);
      }, wait);
      return;
    }
    this.send(camera, r);
  }

  private send(camera: string, r: Running): void {
    const velocity = r.move.velocity;
    r.lastSentAt = this.o.now();
    r.move.calls += 1;
    r.inFlight = r.move.ptz
      .continuousMove(velocity, this.o.cameraTimeoutMs)
      .then(
        () => {
          r.sent = velocity;
        },
        (err: unknown) => {
          r.move.failures += 1;
          this.o.log.warn({ err, camera }, "continuous move update failed");
        },
      )
      .finally(() => {
        r.inFlight = undefined;
        if (this.running.get(camera) === r) this.flush(camera, r);
      });
  }

  private armDeadman(camera: string, ms: number): NodeJS.Timeout {
    return setTimeout(() => {
      const r = this.running.get(camera);
      if (!r) return;
      const left = r.lastKeepAlive + this.o.deadmanMs - this.o.now();
      if (left > 0) {
        r.deadTimer = this.armDeadman(camera, left);
        return;
      }
      const settled = r.inFlight ?? Promise.resolve();
      const move = this.end(camera);
      if (move) this.o.onLapse(move, settled);
    }, ms);
  }
}
