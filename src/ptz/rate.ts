/**
 * Commands per person: a token bucket (`perSecond` sustained, `burst` at once). A refused command is
 * audited coalesced (./refusals.ts). One bucket per person who has sent a command: bounded by the
 * named accounts.
 */
export class UserRate {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number,
  ) {}

  take(actor: string): { refused: boolean; retryAfterSeconds: number } {
    const now = this.now();
    const b = this.buckets.get(actor) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.perSecond);
    b.at = now;
    this.buckets.set(actor, b);
    if (b.tokens < 1) return { refused: true, retryAfterSeconds: Math.ceil((1 - b.tokens) / this.perSecond) };
    b.tokens -= 1;
    return { refused: false, retryAfterSeconds: 0 };
  }
}
