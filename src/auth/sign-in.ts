import { ServiceError } from "../errors/service-error.js";
import { HashPool, HashPoolFull } from "./hash-pool.js";
import { decoyHash, verifyPassword } from "./password.js";
import type { Session, SessionStore } from "./sessions.js";
import { AddressThrottle, LockoutStorm } from "./throttle.js";
import { USERNAME_PATTERN, type User, type UserStore } from "./users.js";

/**
 * Signing in with a user name and password: the per-address budget, the hashing bound, the account
 * lockout, and one answer for every failure.
 * Invariant: an attempt is counted (committed) against the account before its password is checked,
 * so a burst checks at most `lockoutAttempts` passwords; while locked no password is checked and a
 * check that ends after the lock was set does not sign in.
 * Invariant: every failed sign-in is answered alike (status, message, one password hash of work);
 * the reason goes only to the audit log.
 */

export interface SignInSettings {
  lockoutAttempts: number;
  lockoutMinutes: number;
  scryptLogN: number;
  throttle: {
    hashConcurrency: number;
    hashQueue: number;
    addressFailures: number;
    windowMinutes: number;
    stormAccounts: number;
  };
}

type Recorder = (
  actor: string,
  action: string,
  target: string | null,
  outcome: "success" | "failure" | "denied",
  client: string,
  details?: { [key: string]: unknown },
) => void;

type Checked = { ok: true; user: User } | { ok: false };

export const SIGN_IN_FAILED =
  "sign-in failed: wrong user name or password, or the account is locked or disabled";

export class SignIn {
  private readonly pool: HashPool;
  private readonly throttle: AddressThrottle;
  private readonly storm: LockoutStorm;
  /** Attempts of each account between their claim and their result, in this process. */
  private readonly pending = new Map<string, number>();
  private decoy: Promise<string> | undefined;

  constructor(
    private readonly users: UserStore,
    private readonly sessions: SessionStore,
    private readonly record: Recorder,
    private readonly settings: SignInSettings,
    private readonly now: () => number,
  ) {
    const t = settings.throttle;
    this.pool = new HashPool(t.hashConcurrency, t.hashQueue);
    this.throttle = new AddressThrottle(t.addressFailures, t.windowMinutes * 60_000);
    this.storm = new LockoutStorm(t.stormAccounts, t.windowMinutes * 60_000);
  }

  async attempt(
    username: string,
    password: string,
    client: string,
  ): Promise<{ id: string; session: Session; user: User }> {
    const seat = this.throttle.claim(client, this.now());
    if (!seat.ok) {
      // Once per episode: a flood must not turn into an audit entry per request.
      if (seat.firstRefusal) {
        this.record("system", "auth.throttle", `client:${client}`, "denied", client, {
          failures: seat.failures,
          retryAfterSeconds: seat.retryAfterSeconds,
        });
      }
      throw tooMany(seat.retryAfterSeconds, "too many failed sign-ins from this address");
    }
    let checked: Checked;
    try {
      checked = await this.pool.run(() => this.check(username, password, client));
    } catch (e) {
      this.throttle.settle(client, this.now(), false);
      if (e instanceof HashPoolFull) throw tooMany(1, "the server is busy signing others in");
      throw e;
    }
    this.throttle.settle(client, this.now(), !checked.ok);
    if (!checked.ok) throw new ServiceError("unauthenticated", SIGN_IN_FAILED);
    const { id, session } = this.sessions.create(username, client, this.now());
    this.record(`user:${username}`, "auth.login", `user:${username}`, "success", client, {
      mustChangePassword: checked.user.mustChangePassword,
    });
    return { id, session, user: checked.user };
  }

  /** Any other password hashing (new passwords, a password change) within the same bound. */
  async hashing<T>(job: () => Promise<T>): Promise<T> {
    try {
      return await this.pool.run(job);
    } catch (e) {
      if (e instanceof HashPoolFull) throw tooMany(1, "the server is busy hashing passwords");
      throw e;
    }
  }

  /** Lockout-storm state for metrics. */
  lockoutState(): { lockouts: number; storm: boolean } {
    return this.storm.state(this.now());
  }

  /** Runs inside a hashing slot: claim, check, settle. Exactly one password hash whatever the case. */
  private async check(username: string, password: string, client: string): Promise<Checked> {
    const fail = (reason: string, passwordChecked: boolean, details: { [key: string]: unknown } = {}) => {
      this.record(`user:${username}`, "auth.login", `user:${username}`, "failure", client, {
        reason,
        passwordChecked,
        ...details,
      });
      return { ok: false } as const;
    };
    const limit = this.settings.lockoutAttempts;
    const claim = USERNAME_PATTERN.test(username)
      ? this.users.claimAttempt(username, this.now(), limit)
      : ({ state: "unknown" } as const);
    if (claim.state === "unknown") {
      await this.decoyCheck(password);
      return fail("unknown user", false);
    }
    if (claim.state !== "claimed") {
      // Past the limit with the last attempts still pending: that is a burst, and it locks now.
      if (claim.state === "exhausted") this.lock(username, client, claim.user.failedAttempts);
      await this.decoyCheck(password);
      return fail("locked", false, { lockedUntil: this.users.get(username)?.lockedUntil ?? null });
    }
    this.pending.set(username, (this.pending.get(username) ?? 0) + 1);
    let ok: boolean;
    try {
      ok = await verifyPassword(password, claim.user.passwordHash);
    } finally {
      const left = (this.pending.get(username) ?? 1) - 1;
      if (left) this.pending.set(username, left);
      else this.pending.delete(username);
    }
    if (!ok) {
      const failed = fail("bad password", true, { consecutive: claim.attempt });
      if (claim.attempt >= limit) this.lock(username, client, claim.attempt);
      return failed;
    }
    if (!this.users.settleSuccess(username, this.now(), this.pending.has(username))) {
      return fail("locked", true, { lockedUntil: this.users.get(username)?.lockedUntil ?? null });
    }
    if (claim.user.disabled) return fail("disabled", true);
    return { ok: true, user: claim.user };
  }

  private lock(username: string, client: string, failures: number): void {
    const now = this.now();
    const until = now + this.settings.lockoutMinutes * 60_000;
    if (!this.users.lockIfUnlocked(username, now, until)) return;
    this.sessions.deleteForUser(username);
    this.record("system", "auth.lockout", `user:${username}`, "success", client, {
      failures,
      lockedUntil: until,
    });
    const storm = this.storm.record(username, now);
    if (storm) {
      this.record("system", "auth.lockout.storm", null, "failure", client, {
        accounts: storm,
        windowMinutes: this.settings.throttle.windowMinutes,
      });
    }
  }

  /** The cost of a real check for a name with no password to check: timing does not tell them apart. */
  private async decoyCheck(password: string): Promise<void> {
    this.decoy ??= decoyHash(this.settings.scryptLogN);
    await verifyPassword(password, await this.decoy);
  }
}

function tooMany(retryAfterSeconds: number, why: string): ServiceError {
  return new ServiceError("throttled", `${why}: try again in ${retryAfterSeconds} s`, undefined, {
    retryAfterSeconds,
  });
}
