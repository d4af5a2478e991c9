import { randomUUID } from "node:crypto";
import type { AuditLog } from "../audit/log.js";
import type { ActionContext } from "../auth/acting.js";
import { roleGrants } from "../auth/roles.js";
import { ServiceError } from "../errors/service-error.js";
import type { Logger } from "../log/logger.js";
import type { LiveFeed, LiveSubscription } from "./feed.js";

/**
 * Who may watch live, and the trail of every live session. Delivery (WebRTC, fMP4 over a WebSocket)
 * is api/'s; the rules are here.
 * Invariants: a session is audited `video.live.open` before its first picture leaves, and
 * `video.live.close` (duration, bytes, frames, drops, why) once, however it ends; every refusal is
 * audited; one person has at most `maxPerUser` sessions open (a 16-tile wall and a spare screen).
 */

export type LiveTransport = "webrtc" | "mse";

export interface LiveDeskOptions {
  feed: LiveFeed;
  cameras: ReadonlySet<string>;
  audit: AuditLog;
  log: Logger;
  maxPerUser: number;
  now?: () => number;
}

/** One person watching one camera. */
export interface LiveWatch {
  readonly id: string;
  readonly camera: string;
  readonly frames: LiveSubscription;
  /** Bytes the transport sent the viewer (counted into the close entry). */
  sent(bytes: number): void;
  /** Closes the subscription and writes the close entry; only the first call does anything. */
  end(reason: string): Promise<void>;
}

/** What api/ is typed against. */
export type Live = Pick<LiveDesk, "open" | "openSessions" | "refuse" | "end" | "signedOut">;

interface Slot {
  actor: string;
  camera: string;
  /** The sign-in (session row's idHash) it was opened under: signing out ends it. */
  signIn?: string | undefined;
  watch?: LiveWatch;
}

export class LiveDesk {
  private readonly open_ = new Map<string, Slot>();
  private readonly now: () => number;

  constructor(private readonly o: LiveDeskOptions) {
    this.now = o.now ?? Date.now;
  }

  async open(
    camera: string,
    transport: LiveTransport,
    by: ActionContext,
    signIn?: string,
  ): Promise<LiveWatch> {
    const target = `camera:${camera}`;
    const refuse = (e: ServiceError) => this.refuse(camera, transport, by, e);
    if (!roleGrants(by.role, "video.live"))
      return refuse(
        new ServiceError("forbidden", `${by.actor} may not watch live video: it needs video.live`),
      );
    if (!this.o.cameras.has(camera))
      return refuse(new ServiceError("not_found", `no camera '${camera}' is configured`, "camera"));
    const mine = [...this.open_.values()].filter((s) => s.actor === by.actor).length;
    if (mine >= this.o.maxPerUser)
      return refuse(
        new ServiceError(
          "throttled",
          `${by.actor} already has ${mine} live sessions open (at most ${this.o.maxPerUser}): close one first`,
          undefined,
          { retryAfterSeconds: 1 },
        ),
      );
    const id = randomUUID();
    // Reserved before the audit write, so parallel opens cannot pass the per-person bound.
    const slot: Slot = { actor: by.actor, camera, signIn };
    this.open_.set(id, slot);
    try {
      await this.o.audit.append({
        ...by,
        action: "video.live.open",
        target,
        outcome: "success",
        details: { session: id, transport },
      });
    } catch (e) {
      this.open_.delete(id);
      throw e;
    }
    const frames = this.o.feed.subscribe(camera);
    if (!frames) {
      this.open_.delete(id);
      throw new ServiceError("not_found", `no camera '${camera}' is configured`, "camera");
    }
    const startedAt = this.now();
    let bytes = 0;
    let ended: Promise<void> | undefined;
    const watch: LiveWatch = {
      id,
      camera,
      frames,
      sent: (n) => {
        bytes += n;
      },
      end: (reason) => {
        ended ??= this.close(id, frames, {
          by,
          target,
          transport,
          reason,
          durationMs: this.now() - startedAt,
          bytes: () => bytes,
        });
        return ended;
      },
    };
    slot.watch = watch;
    return watch;
  }

  /**
   * A session refused before it opens for a reason of the transport's (an unusable SDP offer, no
   * UDP port left, no session cookie, a foreign Origin), audited as every refusal is; then throws `e`.
   */
  async refuse(
    camera: string,
    transport: LiveTransport,
    by: ActionContext,
    e: ServiceError,
    /** More for the entry (how many like it went unwritten, when the caller paces them). */
    extra: Record<string, unknown> = {},
  ): Promise<never> {
    await this.o.audit.append({
      ...by,
      action: "video.live.open",
      target: `camera:${camera}`,
      outcome: "denied",
      details: { transport, reason: e.message, ...extra },
    });
    throw e;
  }

  /**
   * The viewer ends its session (DELETE). Invariant: only the person who opened a session may end it
   * this way; every refusal is audited `video.live.close` denied.
   */
  async end(id: string, by: ActionContext): Promise<void> {
    const slot = this.open_.get(id);
    if (slot?.watch && slot.actor === by.actor) return slot.watch.end("closed by the viewer");
    const e = slot?.watch
      ? new ServiceError(
          "forbidden",
          `live session '${id}' is not ${by.actor}'s: only its viewer ends it`,
          "session",
        )
      : new ServiceError("not_found", `no live session '${id}' is open`, "session");
    await this.o.audit.append({
      ...by,
      action: "video.live.close",
      target: `live-session:${id}`,
      outcome: "denied",
      details: { reason: e.message },
    });
    throw e;
  }

  /** A person signed out: every session opened under that sign-in ends. */
  async signedOut(signIn: string): Promise<void> {
    const mine = [...this.open_.values()].filter((s) => s.signIn === signIn);
    await Promise.all(mine.map((s) => s.watch?.end("signed out")));
  }

  /** Live sessions open now (health, the supervisor's view). */
  openSessions(): { id: string; camera: string; actor: string }[] {
    return [...this.open_.entries()].map(([id, s]) => ({ id, camera: s.camera, actor: s.actor }));
  }

  /** Ends every session (pscsd stopping). */
  async stop(): Promise<void> {
    await Promise.all([...this.open_.values()].map((s) => s.watch?.end("pscsd stopping")));
  }

  private async close(
    id: string,
    frames: LiveSubscription,
    c: {
      by: ActionContext;
      target: string;
      transport: LiveTransport;
      reason: string;
      durationMs: number;
      bytes: () => number;
    },
  ): Promise<void> {
    frames.close();
    this.open_.delete(id);
    await this.o.audit
      .append({
        ...c.by,
        action: "video.live.close",
        target: c.target,
        outcome: "success",
        details: {
          session: id,
          transport: c.transport,
          reason: c.reason,
          durationMs: c.durationMs,
          bytes: c.bytes(),
          frames: frames.delivered,
          dropped: frames.dropped,
        },
      })
      // The viewer is gone either way; the log says its close entry is missing.
      .catch((err: unknown) => this.o.log.error({ err, session: id }, "live session close not audited"));
  }
}
