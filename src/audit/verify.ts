import { type AuditContent, chainHash, GENESIS_HASH } from "./chain.js";

/**
 * Walking the audit chain: every entry is checked against its own hash and its link to the entry
 * before it, and the walk goes on past each break, so a second tamper never hides behind the first.
 * Invariant: every broken entry and every gap in the sequence is reported, each once, oldest first.
 */

/** One entry that breaks the chain, or the first entry after a gap. */
export interface ChainBreak {
  seq: number;
  reason: string;
}

/** A place in the chain: an entry's sequence number and stored hash (0 and 64 zeros before entry 1). */
export interface ChainPosition {
  seq: number;
  hash: string;
}

export const GENESIS: ChainPosition = { seq: 0, hash: GENESIS_HASH };

/** At most this many breaks are listed (all are counted): a renumbered chain must not fill memory. */
export const MAX_LISTED_BREAKS = 1_000;

/** A stored row as the walk needs it. */
export interface ChainRow extends AuditContent {
  prevHash: string;
  hash: string;
}

export class ChainWalk {
  private expected: number;
  private prevHash: string;
  readonly breaks: ChainBreak[] = [];
  breakCount = 0;
  entries = 0;

  /** Starts after `from` (genesis for a full walk, the last verified entry for an incremental one). */
  constructor(from: ChainPosition = GENESIS) {
    this.expected = from.seq + 1;
    this.prevHash = from.hash;
  }

  get head(): ChainPosition {
    return { seq: this.expected - 1, hash: this.prevHash };
  }

  push(e: ChainRow): void {
    const problems: string[] = [];
    // After a gap the missing entry's hash is unknown, so this entry's link cannot be checked.
    const gap = e.seq > this.expected;
    if (gap) {
      const n = e.seq - this.expected;
      problems.push(
        `entr${n === 1 ? "y" : "ies"} ${this.expected}${n > 1 ? `-${e.seq - 1}` : ""} missing before entry ${e.seq}`,
      );
    } else if (e.seq < this.expected) {
      // Only a sequence number below 1 gets here (rows come in seq order): it links nothing.
      this.add({ seq: e.seq, reason: `entry ${e.seq} out of sequence (expected ${this.expected})` });
      this.entries++;
      return;
    }
    if (!gap && e.prevHash !== this.prevHash)
      problems.push(`entry ${e.seq} does not link to entry ${e.seq - 1} (prev_hash differs)`);
    // Against its own prev_hash: an edit is reported at the edited entry alone, and the next entry,
    // which links to the stored hash, verifies again.
    if (chainHash(e.prevHash, e) !== e.hash)
      problems.push(`entry ${e.seq} content does not match its hash (edited)`);
    if (problems.length) this.add({ seq: e.seq, reason: problems.join("; ") });
    this.prevHash = e.hash;
    this.expected = e.seq + 1;
    this.entries++;
  }

  add(b: ChainBreak): void {
    this.breakCount++;
    if (this.breaks.length < MAX_LISTED_BREAKS) this.breaks.push(b);
  }
}
