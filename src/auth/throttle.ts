/**
 * Sign-in limits kept in memory: a failure budget per source address, and the lockout-storm alarm.
 * Invariant: an address's attempt takes its place in the budget before its password is checked
 * (claim), so parallel attempts cannot overrun the budget; a success does not refill it, or one
 * valid account would reset the budget between guesses at others.
 */

interface AddressState {
  failures: number[];
  pending: number;
  /** Set while the address is refused, so the refusal is audited once per episode. */
  refused: boolean;
}

export type ThrottleClaim =
  | { ok: true }
  | { ok: false; retryAfterSeconds: number; failures: number; firstRefusal: boolean };

/**
 * Past this many addresses, those with nothing in the window are forgotten. An address stays only
 * through failures, and failures pass the hash pool (a few a second), so the map stays small.
 */
const MAX_ADDRESSES = 10_000;

/**
 * The budget's key: an IPv4 address, or an IPv6 address's /64 (one host is commonly given a whole
 * /64, so counting single IPv6 addresses would give it billions of budgets).
 */
export function addressKey(address: string): string {
  const v4 = /^(?:::ffff:)?(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (v4) return v4[1] as string;
  if (!address.includes(":")) return address;
  const [head = "", tail] = address.split("%")[0]?.split("::") ?? [];
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.toLowerCase().replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}

export class AddressThrottle {
  private readonly byAddress = new Map<string, AddressState>();

  constructor(
    private readonly failuresAllowed: number,
    private readonly windowMs: number,
  ) {}

  claim(address: string, now: number): ThrottleClaim {
    const s = this.state(addressKey(address), now);
    if (s.failures.length + s.pending >= this.failuresAllowed) {
      const firstRefusal = !s.refused;
      s.refused = true;
      // Pending attempts may all fail; the oldest failure's expiry is the earliest a retry can pass.
      const oldest = s.failures[0];
      const waitMs = oldest === undefined ? 1_000 : oldest + this.windowMs - now;
      return {
        ok: false,
        retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
        failures: s.failures.length,
        firstRefusal,
      };
    }
    s.refused = false;
    s.pending++;
    return { ok: true };
  }

  /** The claimed attempt's result: a failure stays in the budget for the window, anything else leaves. */
  settle(address: string, now: number, failed: boolean): void {
    const s = this.state(addressKey(address), now);
    s.pending = Math.max(0, s.pending - 1);
    if (failed) s.failures.push(now);
  }

  private state(address: string, now: number): AddressState {
    let s = this.byAddress.get(address);
    if (!s) {
      if (this.byAddress.size >= MAX_ADDRESSES) this.forgetIdle(now);
      s = { failures: [], pending: 0, refused: false };
      this.byAddress.set(address, s);
    }
    while (s.failures.length && (s.failures[0] as number) <= now - this.windowMs) s.failures.shift();
    return s;
  }

  private forgetIdle(now: number): void {
    for (const [address, s] of this.byAddress) {
      if (s.pending === 0 && s.failures.every((t) => t <= now - this.windowMs))
        this.byAddress.delete(address);
    }
  }
}

/**
 * Many accounts locked within a short window is an attack on the site, not one person's typos.
 * Invariant: a storm is reported once when it starts (the lockout that reaches the threshold), and
 * ends when the window holds fewer lockouts again.
 */
export class LockoutStorm {
  private recent: { at: number; username: string }[] = [];
  private active = false;
  private total = 0;

  constructor(
    private readonly accounts: number,
    private readonly windowMs: number,
  ) {}

  /** Records a lockout; returns the accounts locked in the window when this one starts a storm. */
  record(username: string, now: number): string[] | undefined {
    this.total++;
    this.prune(now);
    this.recent.push({ at: now, username });
    const accounts = [...new Set(this.recent.map((r) => r.username))];
    if (accounts.length < this.accounts || this.active) return undefined;
    this.active = true;
    return accounts;
  }

  state(now: number): { lockouts: number; storm: boolean } {
    this.prune(now);
    return { lockouts: this.total, storm: this.active };
  }

  private prune(now: number): void {
    this.recent = this.recent.filter((r) => r.at > now - this.windowMs);
    if (new Set(this.recent.map((r) => r.username)).size < this.accounts) this.active = false;
  }
}
