import type { PtzPurpose } from "./purpose.js";

/**
 * Who controls each camera: one controller per camera at a time, on a lease that every command and
 * keep-alive renews and that lapses after `leaseMs` without either.
 * Invariant: at most one lock per camera; a lapsed lock is handed to `onLapse` exactly once, and a
 * timer runs only while a lock is held (an idle pscsd does not wake for PTZ).
 */

export interface Controller {
  actor: string;
  role: string | null;
  client: string;
}

export interface ControlLock {
  camera: string;
  /** The PTZ session this control is (ptz_sessions.id). */
  session: number;
  holder: Controller;
  since: number;
  purpose: PtzPurpose;
  leaseUntil: number;
}

export class ControlLocks {
  private readonly held = new Map<string, { lock: ControlLock; timer: NodeJS.Timeout }>();

  constructor(
    private readonly leaseMs: number,
    private readonly now: () => number,
    private readonly onLapse: (lock: ControlLock) => void,
  ) {}

  get(camera: string): ControlLock | undefined {
    const h = this.held.get(camera);
    return h ? { ...h.lock } : undefined;
  }

  all(): ControlLock[] {
    return [...this.held.values()].map((h) => ({ ...h.lock }));
  }

  /** Makes `lock` the camera's (replacing one there: a takeover), its lease starting now. */
  set(lock: Omit<ControlLock, "leaseUntil">): ControlLock {
    this.drop(lock.camera);
    const full = { ...lock, leaseUntil: this.now() + this.leaseMs };
    this.held.set(lock.camera, { lock: full, timer: this.arm(lock.camera, this.leaseMs) });
    return { ...full };
  }

  renew(camera: string): void {
    const h = this.held.get(camera);
    if (h) h.lock.leaseUntil = this.now() + this.leaseMs;
  }

  drop(camera: string): ControlLock | undefined {
    const h = this.held.get(camera);
    if (!h) return undefined;
    clearTimeout(h.timer);
    this.held.delete(camera);
    return h.lock;
  }

  /** Renewals only move leaseUntil; the timer, when it fires early, waits for the rest. */
  private arm(camera: string, ms: number): NodeJS.Timeout {
    return setTimeout(() => {
      const h = this.held.get(camera);
      if (!h) return;
      const left = h.lock.leaseUntil - this.now();
      if (left > 0) {
        h.timer = this.arm(camera, left);
        return;
      }
      this.held.delete(camera);
      this.onLapse(h.lock);
    }, ms);
  }
}
