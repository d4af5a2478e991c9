/**
 * How often a refusal anyone can repeat at will reaches the audit log. A made-up bearer token costs
 * its sender nothing, and an entry for each would let an anonymous caller grow the append-only log
 * (an fsynced transaction a request) as fast as it can send; a signed-in client looping bad
 * requests could do the same.
 * Invariant: at most one entry per key and period; the next entry for the key counts the refusals
 * left unwritten since the last one (taken with the next refusal, or by `due` once the period is
 * over), so the log still says how many there were.
 */

/** Past this many keys, those quiet for a whole period are forgotten. */
const MAX_KEYS = 10_000;

export type Paced = { write: true; unwritten: number } | { write: false };

/** A key whose period is over with refusals unwritten: the latest of them, and how many. */
export interface Held<T> {
  key: string;
  unwritten: number;
  latest: T;
}

export class RefusalPace<T = undefined> {
  private readonly byKey = new Map<string, { at: number; unwritten: number; latest?: T }>();

  constructor(private readonly periodMs: number) {}

  /**
   * Whether this refusal is written now, and how many for the key went unwritten before it; one
   * not written is held, `latest` kept for `due` to hand back.
   */
  take(key: string, now: number, latest?: T): Paced {
    const s = this.byKey.get(key);
    if (s && now - s.at < this.periodMs) {
      s.unwritten++;
      if (latest !== undefined) s.latest = latest;
      return { write: false };
    }
    if (!s && this.byKey.size >= MAX_KEYS) this.forgetQuiet(now);
    this.byKey.set(key, { at: now, unwritten: 0 });
    return { write: true, unwritten: s?.unwritten ?? 0 };
  }

  /**
   * The keys whose period is over with refusals unwritten (`all`: every key with some, at a stop),
   * each now counted as written.
   */
  due(now: number, all = false): Held<T>[] {
    const out: Held<T>[] = [];
    for (const [key, s] of this.byKey) {
      if (s.unwritten === 0 || (!all && now - s.at < this.periodMs)) continue;
      out.push({ key, unwritten: s.unwritten, latest: s.latest as T });
      this.byKey.set(key, { at: now, unwritten: 0 });
    }
    return out;
  }

  /** When the first key holding unwritten refusals comes due; undefined when none holds any. */
  nextDue(): number | undefined {
    let next: number | undefined;
    for (const s of this.byKey.values())
      if (s.unwritten > 0 && (next === undefined || s.at + this.periodMs < next)) next = s.at + this.periodMs;
    return next;
  }

  private forgetQuiet(now: number): void {
    for (const [key, s] of this.byKey) if (now - s.at >= this.periodMs) this.byKey.delete(key);
  }
}
