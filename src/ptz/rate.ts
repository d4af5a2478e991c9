/**
 * Commands per person: a token bucket (`perSecond` sustained, `burst` at once). A refused command is
 * not audited on its own (a stuck joystick would flood the log); the count of refusals since the
 * person's last accepted command goes into that command's entry instead. One bucket per person who
 * has sent a command: bounded by the named accounts.
 */
export class UserRate {
  private readonly buckets = new Map<string, { tokens: number; at: number; refused: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number,
  ) {}

  take(actor: string): { refused: boolean; refusedSince: number; retryAfterSeconds: number } {
    const now = this.now();
    const b = this.buckets.get(actor) ?? { tokens: this.burst, at: now, refused: 0 };
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.perSecond);
    b.at = now;
    this.buckets.set(actor, b);
    if (b.tokens < 1) {
      b.refused += 1;
      return {
        refused: true,
        refusedSince: b.refused,
        retryAfterSeconds: Math.ceil((1 - b.tokens) / this.perSecond),
      };
    }
    b.tokens -= 1;
    const refusedSince = b.refused;
    b.refused = 0;
    return { refused: false, refusedSince, retryAfterSeconds: 0 };
  }
}
