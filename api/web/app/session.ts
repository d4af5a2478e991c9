import type { Role } from "../../../src/auth/roles.js";
import { ApiProblem, api, onApiAnswer, setCsrfToken } from "../api.js";

/**
 * Who is signed in, as GET /api/session tells it, and the idle clock: the server ends a session
 * `idleSeconds` after the last request it saw, so the screen counts from its own last answered
 * request and warns a minute before. A key press or pointer move counts as presence and is told to
 * the server at most once a minute, so a dispatcher watching the wall is not signed out while at
 * the desk, and an empty desk is.
 */

export interface Me {
  actor: string;
  username: string;
  displayName?: string;
  roles: Role[];
  mustChangePassword?: boolean;
  csrfToken?: string;
  expiresAt?: number;
  idleSeconds?: number;
  /** The site: every time on the screens is shown and typed in its zone (format.ts). */
  site: { name: string; timezone: string };
}

type Listener = () => void;

export class SessionStore {
  me: Me | undefined;
  /** Resolved once the first GET /api/session answered (signed in or not). */
  known = false;
  /** Set when the session ended on its own (idle, lifetime, revoked): the sign-in screen says so. */
  endedBecause: string | undefined;
  private lastAnswerAt = Date.now();
  private lastPresenceAt = 0;
  private readonly listeners = new Set<Listener>();

  constructor() {
    onApiAnswer(() => {
      this.lastAnswerAt = Date.now();
    });
  }

  subscribe(f: Listener): () => void {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  }

  private changed(): void {
    for (const f of this.listeners) f();
  }

  private set(me: Me | undefined): void {
    this.me = me;
    this.known = true;
    setCsrfToken(me?.csrfToken);
    this.changed();
  }

  /** Asks the server who is signed in; a 401 (or no answer) shows the sign-in screen, saying why. */
  async load(): Promise<void> {
    try {
      this.set(await api<Me>("/api/session"));
    } catch (e) {
      if (!(e instanceof ApiProblem && e.status === 401))
        this.endedBecause = `pscsd could not be reached: ${e instanceof Error ? e.message : String(e)}`;
      this.set(undefined);
    }
  }

  async signIn(username: string, password: string): Promise<void> {
    this.endedBecause = undefined;
    this.set(await api<Me>("/api/session", { body: { username, password } }));
  }

  async signOut(): Promise<void> {
    await api("/api/session", { method: "DELETE" }).catch(() => undefined);
    this.set(undefined);
  }

  /** The server answered 401 to something: the session is gone. */
  lost(reason: string): void {
    if (!this.me) return;
    this.endedBecause = reason;
    this.set(undefined);
  }

  /** Milliseconds until the server would end the session for idleness. */
  idleLeftMs(now = Date.now()): number {
    const idle = (this.me?.idleSeconds ?? Number.POSITIVE_INFINITY) * 1000;
    const lifetime = this.me?.expiresAt ?? Number.POSITIVE_INFINITY;
    return Math.min(this.lastAnswerAt + idle, lifetime) - now;
  }

  /** How long before the idle sign-out the screen warns: a minute, or half of a shorter idle timeout. */
  warnBeforeMs(): number {
    return Math.min(60_000, ((this.me?.idleSeconds ?? 120) * 1000) / 2);
  }

  /** The person is at the screen: keep the session alive, at most one request a minute. */
  presence(o: { now?: number; force?: boolean } = {}): void {
    const now = o.now ?? Date.now();
    if (!this.me || (!o.force && now - this.lastPresenceAt < 60_000)) return;
    this.lastPresenceAt = now;
    this.load().catch(() => undefined);
  }
}

export const session = new SessionStore();
