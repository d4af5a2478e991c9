/**
 * How often a refusal anyone can repeat at will reaches the audit log. A made-up bearer token costs
 * its sender nothing, and an entry for each would let an anonymous caller grow the append-only log
 * (an fsynced transaction a request) as fast as it can send.
 * Invariant: at most one entry per key and period; the next entry for the key counts the refusals
 * left unwritten since the last one, so the log still says how many there were.
 */

/** Past this many keys, those quiet for a whole period are forgotten. */
const MAX_KEYS = 10_000;

export type Paced = { write: true; unwritten: number } | { write: false };

export class RefusalPace {
  private readonly byKey = new Map<string, { at: number; unwritten: number }>();

  constructor(private readonly periodMs: number) {}

  /** Whether this refusal is written now, and how many for the key went unwritten before it. */
  take(key: string, now: number): Paced {
    const s = this.byKey.get(key);
    if (s && now - s.at < this.periodMs) {
      s.unwritten++;
      return { write: false };
    }
    if (!s && this.byKey.size >= MAX_KEYS) this.forgetQuiet(now);
    this.byKey.set(key, { at: now, unwritten: 0 });
    return { write: true, unwritten: s?.unwritten ?? 0 };
  }

  private forgetQuiet(now: number): void {
    for (const [key, s] of this.byKey) if (now - s.at >= this.periodMs) this.byKey.delete(key);
  }
}
