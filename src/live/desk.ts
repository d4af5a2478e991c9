import { randomUUID } from "node:crypto";
import type { AuditLog } from "../audit/log.js";
import type { ActionContext } from "../auth/acting.js";
import { roleGrants } from "../auth/roles.js";
import type { Auth } from "../auth/service.js";
import { ServiceError } from "../errors/service-error.js";
import type { Logger } from "../log/logger.js";
import type { LiveFeed, LiveSubscription } from "./feed.js";

/**
 * Who may watch live, and the trail of every live session. Delivery (WebRTC, fMP4 over a WebSocket)
 * is api/'s; the rules are here.
 * Invariants: a session is audited `video.live.open` before its first picture leaves, and
 * `video.live.close` (duration, bytes, frames, drops, why) once, however it ends; every refusal is
 * audited; one person has at most `maxPerUser` sessions open (a 16-tile wall and a spare screen); a
 * session lives no longer than its sign-in and its `video.live`: signing out ends it at once, and
 * each sign-in watching is re-checked every `sessionCheckMs` (one timer, running only while someone
 * watches: pscsd's idle wake-ups budget), its sessions ended "session ended" or "permission withdrawn".
 */

export type LiveTransport = "webrtc" | "mse";

export interface LiveDeskOptions {
  feed: LiveFeed;
  cameras: ReadonlySet<string>;
  audit: AuditLog;
  log: Logger;
  maxPerUser: number;
  /** Sign-ins asked after the fact (AuthService). */
  signIns: Pick<Auth, "sessionStanding">;
  /** How often each sign-in watching is re-checked (`live.sessionCheckSeconds`). */
  sessionCheckMs: number;
  now?: () => number;
}

/**
 * Why the desk took a viewer's session away: its sign-in is over (signed out, expired, revoked,
 * disabled) or no longer holds video.live. The transport tells its viewer not to come back.
 */
export type Withdrawal = "signed-out" | "forbidden";

/** One person watching one camera. */
export interface LiveWatch {
  readonly id: string;
  readonly camera: string;
  readonly frames: LiveSubscription;
  /** Bytes the transport sent the viewer (counted into the close entry). */
  sent(bytes: number): void;
  /** Closes the subscription and writes the close entry; only the first call does anything. */
  end(reason: string): Promise<void>;
  /**
   * The transport's one listener for a withdrawal, called before the subscription closes (a
   * transport whose loop just ends with the subscription, closing its side, needs none).
   */
  onWithdrawn(listener: (w: Withdrawal) => void): void;
}

/** What api/ is typed against. */
export type Live = Pick<LiveDesk, "open" | "openSessions" | "refuse" | "end" | "signedOut">;

interface Slot {
  actor: string;
  camera: string;
  /** The sign-in (session row's idHash) it was opened under: signing out ends it. */
  signIn: string;
  watch?: LiveWatch;
  withdrawn?: (w: Withdrawal) => void;
}

const WITHDRAWN_BECAUSE: Record<Withdrawal, string> = {
  "signed-out": "session ended",
  forbidden: "permission withdrawn",
};

export class LiveDesk {
  private readonly open_ = new Map<string, Slot>();
  private readonly now: () => number;
  private sessionCheck: NodeJS.Timeout | undefined;
  private checking = false;

  constructor(private readonly o: LiveDeskOptions) {
    this.now = o.now ?? Date.now;
  }

  async open(
    camera: string,
    transport: LiveTransport,
    by: ActionContext,
    /** The session row's idHash of the sign-in watching (video.live is never a machine token's). */
    signIn: string,
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
    this.scheduleSessionCheck();
    try {
      await this.o.audit.append({
        ...by,
        action: "video.live.open",
        target,
        outcome: "success",
        details: { session: id, transport },
      });
    } catch (e) {
      this.forget(id);
      throw e;
    }
    const frames = this.o.feed.subscribe(camera);
    if (!frames) {
      this.forget(id);
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
      onWithdrawn: (listener) => {
        slot.withdrawn = listener;
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
    await this.withdraw(signIn, "signed-out", "signed out");
  }

  /** Live sessions open now (health, the supervisor's view). */
  openSessions(): { id: string; camera: string; actor: string }[] {
    return [...this.open_.entries()].map(([id, s]) => ({ id, camera: s.camera, actor: s.actor }));
  }

  /** Ends every session (pscsd stopping). */
  async stop(): Promise<void> {
    clearInterval(this.sessionCheck);
    this.sessionCheck = undefined;
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
    this.forget(id);
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

  private forget(id: string): void {
    this.open_.delete(id);
    this.scheduleSessionCheck();
  }

  /** One timer for every viewer, running only while someone watches. */
  private scheduleSessionCheck(): void {
    if (this.open_.size === 0) {
      clearInterval(this.sessionCheck);
      this.sessionCheck = undefined;
    } else if (!this.sessionCheck) {
      this.sessionCheck = setInterval(() => void this.checkSessions(), this.o.sessionCheckMs);
      this.sessionCheck.unref();
    }
  }

  /** Each sign-in watching asked once (a 16-tile wall is one question), its sessions ended if it no longer stands. */
  private async checkSessions(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      const signIns = new Set([...this.open_.values()].map((s) => s.signIn));
      for (const signIn of signIns) {
        try {
          const standing = await this.o.signIns.sessionStanding(signIn, "video.live");
          if (standing === "valid") continue;
          const w: Withdrawal = standing === "ended" ? "signed-out" : "forbidden";
          await this.withdraw(signIn, w, WITHDRAWN_BECAUSE[w]);
        } catch (err) {
          // Asked again at the next check; the viewer goes on meanwhile, as it would between checks.
          this.o.log.error({ err }, "live viewer's sign-in not re-checked");
        }
      }
    } finally {
      this.checking = false;
    }
  }

  /** Ends the sessions of one sign-in, each transport told first. */
  private async withdraw(signIn: string, w: Withdrawal, reason: string): Promise<void> {
    const mine = [...this.open_.values()].filter((s) => s.signIn === signIn);
    await Promise.all(
      mine.map((s) => {
        s.withdrawn?.(w);
        return s.watch?.end(reason);
      }),
    );
  }
}
