import type { Logger } from "../log/logger.js";
import { CHECKPOINT_LOG_KEY, CHECKPOINT_LOG_MSG, type CheckpointSigner } from "./checkpoint.js";
import type { AuditLog, VerifyResult } from "./log.js";
import { type ChainBreak, type ChainPosition, ChainWalk, GENESIS } from "./verify.js";

/**
 * pscsd's watch over its audit chain: every `verifyMs` it walks the entries added since the last
 * verified one, and the whole chain again when another connection has written the catalog (SQLite's
 * data_version says so), so a break shows in health within one period; on its own schedule it signs
 * the verified head and writes that checkpoint to the anchor and the log. A checkpoint witnesses what
 * the head was, not that the chain is whole: it is signed on a broken chain too, whose breaks stay
 * reported beside it.
 * Invariant: a break, once seen, stays reported until pscsd restarts, even if a later rewrite makes
 * the rows consistent again (the watch remembers the hash it verified; the rows cannot unsay it).
 */

export interface AuditChainState {
  checkedAt: number;
  result: VerifyResult;
  /** When the newest checkpoint was signed (absent without a key, or before the first). */
  checkpointAt?: number;
  /** Set when pscsd signs no checkpoints (its key could not be made). */
  checkpointProblem?: string;
}

export interface AuditWatchOptions {
  audit: AuditLog;
  log: Logger;
  signer?: CheckpointSigner | undefined;
  /** The key was just made: the anchor cannot hold a checkpoint yet (no warning that it has none). */
  keyCreated?: boolean;
  /** Why there is no signer (the key could not be made): health shows it. */
  keyProblem?: string | undefined;
  verifyMs: number;
  checkpointMs: number;
  now?: () => number;
}

/** Rows per slice of a full walk: the event loop is let go between slices (25-50 ms each here). */
const PAGE = 2_000;

export class AuditWatch {
  private readonly now: () => number;
  private readonly cpLog: Logger;
  private verified: ChainPosition = GENESIS;
  private walked: VerifyResult | undefined;
  /** Breaks found by incremental steps since the last full walk (which would find them again). */
  private stepped: ChainBreak[] = [];
  private stepEntries = 0;
  /**
   * Breaks only this process may have seen: a verified entry that later changed, an anchor checkpoint
   * that failed (pscsd's next checkpoint would overwrite the evidence).
   */
  private readonly witnessed: ChainBreak[] = [];
  private checkedAt = 0;
  private seenVersion: number | undefined;
  private lastCheckpointAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private reported = 0;
  /** Set by stop(): a full walk of a long chain gives up at its next slice rather than hold up shutdown. */
  private stopping = false;

  constructor(private readonly o: AuditWatchOptions) {
    this.now = o.now ?? Date.now;
    // Checkpoint lines are the off-host copy verification needs: written whatever log.level says.
    this.cpLog = o.log.child({}, { level: "info" });
  }

  get periodMs(): number {
    return this.o.verifyMs;
  }

  /** The first full walk and checkpoint, then check() every period: on its own timer, or the caller's. */
  async start({ ownTimer }: { ownTimer: boolean }): Promise<void> {
    await this.check();
    if (!ownTimer) return;
    this.timer = setInterval(() => void this.check(), this.o.verifyMs);
    this.timer.unref();
  }

  /** Stops the schedule only (a start that failed half-way). */
  halt(): void {
    clearInterval(this.timer);
  }

  /** A last walk of what was added and a checkpoint of the final head. */
  async stop(): Promise<void> {
    this.halt();
    this.stopping = true;
    await this.running;
    try {
      await this.step();
      this.checkpoint();
    } catch (err) {
      // The catalog must still be closed; the log says the final checkpoint is missing.
      this.o.log.error({ err }, "audit checkpoint at stop failed");
    }
  }

  state(): AuditChainState | null {
    const w = this.walked;
    if (!w) return null;
    const breaks = [...this.witnessed, ...w.breaks, ...this.stepped].sort((a, b) => a.seq - b.seq);
    const breakCount = this.witnessed.length + w.breakCount + this.stepped.length;
    const first = breaks[0];
    const { brokenSeq: _s, reason: _r, ...rest } = w;
    return {
      checkedAt: this.checkedAt,
      ...(this.lastCheckpointAt ? { checkpointAt: this.lastCheckpointAt } : {}),
      ...(this.o.keyProblem ? { checkpointProblem: this.o.keyProblem } : {}),
      result: {
        ...rest,
        ok: breakCount === 0,
        entries: w.entries + this.stepEntries,
        headSeq: this.verified.seq,
        headHash: this.verified.hash,
        breaks,
        breakCount,
        ...(first ? { brokenSeq: first.seq, reason: first.reason } : {}),
      },
    };
  }

  /** One period's work; never two at once (a full walk spans several turns of the event loop). */
  check(): Promise<void> {
    this.running ??= this.run()
      .catch((err: unknown) => this.o.log.error({ err }, "audit chain check failed"))
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private async run(): Promise<void> {
    await this.witness();
    if ((await this.dataVersion()) !== this.seenVersion) await this.fullWalk();
    else await this.step();
    this.checkedAt = this.now();
    this.report();
    if (this.now() - this.lastCheckpointAt >= this.o.checkpointMs) this.checkpoint();
  }

  /** The entry verified last must still have the hash it had: a rewrite of the newest rows shows here. */
  private async witness(): Promise<void> {
    const v = this.verified;
    if (v.seq === 0) return;
    const hash = await this.o.audit.hashAt(v.seq);
    if (hash === v.hash) return;
    this.witnessed.push({
      seq: v.seq,
      reason:
        hash === undefined
          ? `entry ${v.seq}, verified at ${new Date(this.checkedAt).toISOString()}, is gone`
          : `entry ${v.seq} changed after it was verified at ${new Date(this.checkedAt).toISOString()} (hash was ${v.hash.slice(0, 16)}…, now ${hash.slice(0, 16)}…)`,
    });
  }

  /** Entries appended since the last verified one, linked to it. */
  private async step(): Promise<void> {
    const walk = new ChainWalk(this.verified);
    for (;;) {
      const page = await this.o.audit.rowsAfter(walk.head.seq, PAGE);
      for (const row of page) walk.push(row);
      if (page.length < PAGE) break;
    }
    this.stepped.push(...walk.breaks);
    this.stepEntries += walk.entries;
    this.verified = walk.head;
  }

  private async fullWalk(): Promise<void> {
    // Read before walking: a write during the walk changes it again, and the next period walks again.
    const version = await this.dataVersion();
    const walk = new ChainWalk();
    let after = Number.MIN_SAFE_INTEGER;
    for (;;) {
      // Each page is a read of its own: the event loop is let go between them.
      const page = await this.o.audit.rowsAfter(after, PAGE);
      for (const row of page) walk.push(row);
      if (page.length < PAGE) break;
      after = page.at(-1)?.seq ?? after;
      if (this.stopping) return;
    }
    const first = this.walked === undefined;
    const publicKey = this.o.signer?.publicKey;
    this.walked = await this.o.audit.conclude(
      walk,
      publicKey ? { publicKey, anchorMayBeUnsigned: first } : {},
    );
    this.keep(this.walked, walk.head.seq);
    if (this.walked.checkpoints?.anchorUnsigned && !this.o.keyCreated)
      // A new catalog beside an old key looks just like an anchor replaced while pscsd was down; only
      // the logged checkpoints can tell them apart.
      this.o.log.warn(
        { anchor: this.o.audit.anchor?.file },
        "the audit anchor carries no checkpoint though the key exists: a new catalog, or an anchor replaced while pscsd was stopped (check with pscs audit verify --checkpoints)",
      );
    this.stepped = [];
    this.stepEntries = 0;
    this.verified = walk.head;
    this.seenVersion = version;
  }

  /** The anchor checkpoint's failures as breaks of their own, kept like the witness's. */
  private keep(r: VerifyResult, headSeq: number): void {
    const cp = r.checkpoints;
    if (!cp) return;
    const found = [
      ...(cp.anchorProblem ? [{ seq: headSeq, reason: cp.anchorProblem }] : []),
      ...[...cp.mismatched, ...cp.forged].map((f) => ({ seq: f.seq ?? headSeq, reason: f.reason })),
    ];
    for (const f of found) {
      const reason = `anchor checkpoint: ${f.reason}`;
      if (!this.witnessed.some((b) => b.reason === reason)) this.witnessed.push({ seq: f.seq, reason });
    }
  }

  private dataVersion(): Promise<number> {
    return this.o.audit.othersWrites();
  }

  /** Logs breaks once each, as they are found. */
  private report(): void {
    const r = this.state()?.result;
    if (!r || r.breakCount <= this.reported) return;
    this.reported = r.breakCount;
    this.o.log.error(
      { audit: { breakCount: r.breakCount, breaks: r.breaks.slice(0, 20) } },
      "audit chain is broken",
    );
  }

  private checkpoint(): void {
    const signer = this.o.signer;
    if (!signer) return;
    const at = this.now();
    // The verified head, not the table's: a checkpoint vouches only for what the watch has walked.
    const c = signer.sign(this.verified, at);
    this.o.audit.anchor?.writeCheckpoint(c);
    this.cpLog.info({ [CHECKPOINT_LOG_KEY]: c }, CHECKPOINT_LOG_MSG);
    this.lastCheckpointAt = at;
  }
}
