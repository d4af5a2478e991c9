import { SYSTEM_ACTOR } from "../audit/actors.js";
import type { AuditLog } from "../audit/log.js";
import type { Directory, DirectoryTx } from "../catalog/directory/directory.js";
import type { User, UserRecord } from "../catalog/directory/users.js";
import { ServiceError } from "../errors/service-error.js";
import { auditIn } from "./acting.js";
import { HashPool, HashPoolFull } from "./hash-pool.js";
import { decoyHash, verifyPassword } from "./password.js";
import { newSession, type Session, sessionRow } from "./sessions.js";
import { AddressThrottle, LockoutStorm } from "./throttle.js";
import { USERNAME_PATTERN } from "./users.js";

/**
 * Signing in with a user name and password: the per-address budget, the hashing bound, the account
 * lockout, and one answer for every failure.
 * Invariant: an attempt is counted against the account in one unit of work, committed before its
 * password is hashed (outside any unit of work), and its outcome recorded in another, so a burst
 * checks at most `lockoutAttempts` passwords; while locked no password is checked and a check that
 * ends after the lock was set does not sign in.
 * Invariant: every failed sign-in is answered alike (status, message, one password hash of work);
 * the reason goes only to the audit log.
 * Invariant: an account's last sign-in is set in the unit of work that opens the session and audits
 * the success: a refused attempt never sets it, and it never dates a sign-in that did not commit.
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

type Checked = { ok: true; user: User } | { ok: false };

type AttemptClaim =
  | { state: "unknown" }
  | { state: "locked" }
  /** As many attempts as allowed are counted (failed or pending): a burst, locked by the claim. */
  | { state: "exhausted" }
  | { state: "claimed"; attempt: number; user: UserRecord };

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
    private readonly directory: Directory,
    private readonly audit: AuditLog,
    private readonly settings: SignInSettings,
    private readonly sessionLifetimeMs: number,
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
        await this.directory.tx((d) =>
          auditIn(this.audit, d, { ...SYSTEM_ACTOR, client }, "auth.throttle", `client:${client}`, "denied", {
            failures: seat.failures,
            retryAfterSeconds: seat.retryAfterSeconds,
          }),
        );
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
    const at = this.now();
    const { id, session } = newSession(username, client, at, this.sessionLifetimeMs);
    await this.directory.tx(async (d) => {
      await d.sessions.insert(sessionRow(session));
      await d.users.update(username, { lastSignInAt: at });
      await this.loginEntry(d, username, client, "success", {
        mustChangePassword: checked.user.mustChangePassword,
      });
    });
    return { id, session, user: { ...checked.user, lastSignInAt: at } };
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
    const limit = this.settings.lockoutAttempts;
    let claim: AttemptClaim = { state: "unknown" };
    let entered = false;
    if (USERNAME_PATTERN.test(username)) {
      try {
        claim = await this.directory.tx(async (d) => {
          const c = await this.claim(d, username, limit, client);
          if (c.state === "claimed") entered = this.enter(username);
          return c;
        });
      } catch (e) {
        if (entered) this.leave(username);
        throw e;
      }
    }
    if (claim.state === "unknown") {
      await this.decoyCheck(password);
      return this.directory.tx((d) => this.fail(d, username, client, "unknown user", false));
    }
    if (claim.state !== "claimed") {
      await this.decoyCheck(password);
      return this.directory.tx(async (d) =>
        this.fail(d, username, client, "locked", false, { lockedUntil: await this.lockedUntil(d, username) }),
      );
    }
    let ok: boolean;
    try {
      ok = await verifyPassword(password, claim.user.passwordHash);
    } finally {
      this.leave(username);
    }
    const { attempt, user } = claim;
    return this.directory.tx(async (d) => {
      if (!ok) {
        const failed = await this.fail(d, username, client, "bad password", true, { consecutive: attempt });
        if (attempt >= limit) await this.lock(d, username, client, attempt);
        return failed;
      }
      if (!(await this.settleSuccess(d, username, this.pending.has(username)))) {
        return this.fail(d, username, client, "locked", true, {
          lockedUntil: await this.lockedUntil(d, username),
        });
      }
      if (user.disabled) return this.fail(d, username, client, "disabled", true);
      return { ok: true, user };
    });
  }

  /** Counts one attempt before its password is checked; an expired lock is cleared first. */
  private async claim(
    d: DirectoryTx,
    username: string,
    limit: number,
    client: string,
  ): Promise<AttemptClaim> {
    const now = this.now();
    const u = await d.users.get(username);
    if (!u) return { state: "unknown" };
    if (u.lockedUntil !== null && now < u.lockedUntil) return { state: "locked" };
    if (u.lockedUntil !== null) {
      await d.users.update(username, { failedAttempts: 0, lockedUntil: null });
      u.failedAttempts = 0;
      u.lockedUntil = null;
    }
    if (u.failedAttempts >= limit) {
      // Past the limit with the last attempts still pending: that is a burst, and it locks now.
      await this.lock(d, username, client, u.failedAttempts);
      return { state: "exhausted" };
    }
    const attempt = u.failedAttempts + 1;
    await d.users.update(username, { failedAttempts: attempt });
    return { state: "claimed", attempt, user: { ...u, failedAttempts: attempt } };
  }

  /**
   * A right password: false when the account was locked while it was being checked. The count is
   * reset only when no other attempt is pending, so a success inside a burst frees no checks.
   */
  private async settleSuccess(d: DirectoryTx, username: string, othersPending: boolean): Promise<boolean> {
    const u = await d.users.get(username);
    if (!u || (u.lockedUntil !== null && this.now() < u.lockedUntil)) return false;
    if (!othersPending) await d.users.update(username, { failedAttempts: 0 });
    return true;
  }

  /** Locks unless already locked, so a lockout is audited once. */
  private async lock(d: DirectoryTx, username: string, client: string, failures: number): Promise<void> {
    const now = this.now();
    const u = await d.users.get(username);
    if (!u || (u.lockedUntil !== null && now < u.lockedUntil)) return;
    const until = now + this.settings.lockoutMinutes * 60_000;
    await d.users.update(username, { failedAttempts: 0, lockedUntil: until });
    await d.sessions.deleteForUser(username);
    await auditIn(this.audit, d, { ...SYSTEM_ACTOR, client }, "auth.lockout", `user:${username}`, "success", {
      failures,
      lockedUntil: until,
    });
    const storm = this.storm.record(username, now);
    if (storm) {
      await auditIn(this.audit, d, { ...SYSTEM_ACTOR, client }, "auth.lockout.storm", null, "failure", {
        accounts: storm,
        windowMinutes: this.settings.throttle.windowMinutes,
      });
    }
  }

  private async lockedUntil(d: DirectoryTx, username: string): Promise<number | null> {
    return (await d.users.get(username))?.lockedUntil ?? null;
  }

  private async fail(
    d: DirectoryTx,
    username: string,
    client: string,
    reason: string,
    passwordChecked: boolean,
    details: { [key: string]: unknown } = {},
  ): Promise<Checked> {
    await this.loginEntry(d, username, client, "failure", { reason, passwordChecked, ...details });
    return { ok: false };
  }

  /** The auth.login entry of one attempt, whatever its outcome. */
  private async loginEntry(
    d: DirectoryTx,
    username: string,
    client: string,
    outcome: "success" | "failure",
    details: { [key: string]: unknown },
  ): Promise<void> {
    const who = `user:${username}`;
    await auditIn(this.audit, d, { actor: who, role: null, client }, "auth.login", who, outcome, details);
  }

  private enter(username: string): true {
    this.pending.set(username, (this.pending.get(username) ?? 0) + 1);
    return true;
  }

  private leave(username: string): void {
    const left = (this.pending.get(username) ?? 1) - 1;
    if (left) this.pending.set(username, left);
    else this.pending.delete(username);
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
