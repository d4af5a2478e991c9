import type { KeyObject } from "node:crypto";
import type { AuditEntry, AuditFilter } from "../catalog/directory/audit.js";
import type { Directory, DirectoryTx } from "../catalog/directory/directory.js";
import { type Anchor, AnchorFile, AuditAnchorError } from "./anchor.js";
import {
  type AuditContent,
  canonicalJson,
  chainHash,
  GENESIS_HASH,
  type Outcome,
  storedText,
} from "./chain.js";
import type { LoggedCheckpoint } from "./checkpoint.js";
import { type CheckpointReport, checkCheckpoints } from "./checkpoint-check.js";
import { type ChainBreak, type ChainRow, ChainWalk } from "./verify.js";

/**
 * The append-only audit log: who did what, to what, when, from where, and whether it was allowed.
 * Invariant: an entry is appended only in a unit of work of the directory that reads the chain head
 * and writes the next entry (append() opens one of its own; appendIn() runs in the caller's), so two
 * processes (pscsd and the pscs CLI) sharing the directory never fork the chain. Every read goes
 * through the directory too: nothing here knows which database serves it.
 */

export interface AuditEvent {
  actor: string;
  role?: string | null;
  action: string;
  target?: string | null;
  outcome: Outcome;
  client?: string | null;
  details?: Record<string, unknown>;
}

export type { AuditEntry, AuditFilter };

/** What a walk of the chain found; ok only when nothing is broken and every checkpoint holds. */
export interface VerifyResult {
  ok: boolean;
  /** Rows walked. */
  entries: number;
  headSeq: number;
  headHash: string;
  anchored: boolean;
  /** Every broken entry and gap, oldest first (the first MAX_LISTED_BREAKS; breakCount counts all). */
  breaks: ChainBreak[];
  breakCount: number;
  /** The first break, for callers that name one. */
  brokenSeq?: number;
  reason?: string;
  checkpoints?: CheckpointReport;
}

export interface VerifyOptions {
  /** Checks the anchor's checkpoint and every given one; without it checkpoints are not checked. */
  publicKey?: KeyObject | undefined;
  /**
   * An anchor without a checkpoint is reported as replaced unless this is set: pscsd's first walk
   * after a start, since a new catalog's anchor has none until pscsd signs it.
   */
  anchorMayBeUnsigned?: boolean;
  /** Checkpoints taken from a log (checkpointFromLine). */
  logged?: readonly LoggedCheckpoint[];
}

export interface AuditLogOptions {
  /** File holding a copy of the chain head; absent for an in-memory catalog. */
  anchorFile?: string | undefined;
  now?: () => number;
}

/**
 * What the API writes to and reads back from the audit log: an entry of its own (a refused request)
 * and a target's trail (AuditLog is the implementation).
 */
export interface AuditTrail {
  append(event: AuditEvent): Promise<AuditEntry>;
  list(filter?: AuditFilter): Promise<AuditEntry[]>;
}

/** Rows a whole-chain walk reads at once: memory stays bounded however long the chain grows. */
const VERIFY_PAGE = 5_000;

export class AuditLog implements AuditTrail {
  private readonly now: () => number;
  readonly anchor: AnchorFile | undefined;
  private readonly listeners = new Set<(e: AuditEntry) => void>();
  /** The entries each open unit of work appended, published once it commits. */
  private readonly pending = new WeakMap<DirectoryTx, AuditEntry[]>();

  constructor(
    private readonly directory: Directory,
    opts: AuditLogOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.anchor = opts.anchorFile === undefined ? undefined : new AnchorFile(opts.anchorFile);
  }

  /** The entry after `last`: its content as stored, linked to `last` by the chain hash. */
  private next(last: { seq: number; hash: string } | undefined, event: AuditEvent): AuditEntry {
    const content: AuditContent = {
      seq: (last?.seq ?? 0) + 1,
      at: this.now(),
      actor: storedText(event.actor),
      role: storedText(event.role ?? null),
      action: storedText(event.action),
      target: storedText(event.target ?? null),
      outcome: event.outcome,
      client: storedText(event.client ?? null),
      // JSON.stringify writes a lone surrogate as a \uXXXX escape, so details text is well-formed.
      details: canonicalJson(event.details ?? {}),
    };
    const prevHash = last?.hash ?? GENESIS_HASH;
    return { ...content, prevHash, hash: chainHash(prevHash, content) };
  }

  async append(event: AuditEvent): Promise<AuditEntry> {
    return (await this.appendMany([event]))[0] as AuditEntry;
  }

  /** Appends several entries in one unit of work (a purge batch, a bulk import): one commit, one anchor write. */
  appendMany(events: readonly AuditEvent[]): Promise<AuditEntry[]> {
    return this.directory.tx(async (d) => {
      const entries: AuditEntry[] = [];
      for (const event of events) entries.push(await this.appendIn(d, event));
      return entries;
    });
  }

  /**
   * Appends inside the caller's unit of work, so the entry commits or rolls back with the change it
   * records; the anchor and listeners follow the commit.
   */
  async appendIn(d: DirectoryTx, event: AuditEvent): Promise<AuditEntry> {
    const entry = this.next(await d.audit.head(), event);
    await d.audit.insert(entry);
    const mine = this.pending.get(d);
    if (mine) mine.push(entry);
    else {
      const first = [entry];
      this.pending.set(d, first);
      d.afterCommit(() => this.published(first));
    }
    return entry;
  }

  private published(entries: readonly AuditEntry[]): void {
    const last = entries.at(-1);
    if (last) this.anchor?.writeHead(last);
    for (const e of entries) for (const l of this.listeners) l(e);
  }

  /** Called after every append by this process (metrics count them). */
  onAppend(listener: (e: AuditEntry) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async headSeq(): Promise<number> {
    return (await this.directory.read((d) => d.audit.head()))?.seq ?? 0;
  }

  list(filter: AuditFilter = {}): Promise<AuditEntry[]> {
    return this.directory.read((d) => d.audit.list(filter));
  }

  /** Entries read for exports since start: metrics show an export's paging stop with its reader. */
  exportedEntries = 0;

  /**
   * One page of an export: entries matching the filter with seq above `after`, oldest first. A page
   * is one read of its own, so the directory serves other units of work between pages.
   */
  async exportPage(
    filter: Omit<AuditFilter, "limit" | "order" | "after">,
    after: number,
    limit: number,
  ): Promise<AuditEntry[]> {
    const page = await this.list({ ...filter, after, order: "asc", limit });
    this.exportedEntries += page.length;
    return page;
  }

  /** Every entry matching the filter, oldest first, without holding them all in memory. */
  async *iterate(filter: Omit<AuditFilter, "limit" | "order" | "after"> = {}): AsyncGenerator<AuditEntry> {
    let after = 0;
    for (;;) {
      const page = await this.list({ ...filter, after, order: "asc", limit: 5_000 });
      yield* page;
      if (page.length < 5_000) return;
      after = page.at(-1)?.seq ?? after;
    }
  }

  /** Entries after `seq`, oldest first, as the chain walk reads them (one page). */
  rowsAfter(seq: number, limit: number): Promise<ChainRow[]> {
    return this.directory.read((d) => d.audit.after(seq, limit));
  }

  hashAt(seq: number): Promise<string | undefined> {
    return this.directory.read((d) => d.audit.hashAt(seq));
  }

  /** Changes when another connection has written the catalog since the last call (SQLite's data_version). */
  othersWrites(): Promise<number> {
    return this.directory.read((d) => d.audit.othersWrites());
  }

  /** Walks the whole chain now, past every break (see ChainWalk), then the anchor and checkpoints. */
  async verify(opts: VerifyOptions = {}): Promise<VerifyResult> {
    const walk = new ChainWalk();
    for (let after = Number.MIN_SAFE_INTEGER; ; ) {
      const page = await this.rowsAfter(after, VERIFY_PAGE);
      for (const row of page) walk.push(row);
      if (page.length < VERIFY_PAGE) break;
      after = page.at(-1)?.seq ?? after;
    }
    return this.conclude(walk, opts);
  }

  /**
   * A finished walk's result: the rows must reach the anchored head with the anchored hash (or the
   * newest rows were deleted or rewritten), and hold every checkpoint given and the anchor's.
   */
  async conclude(walk: ChainWalk, opts: VerifyOptions = {}): Promise<VerifyResult> {
    let anchor: Anchor | undefined;
    let garbled = false;
    try {
      anchor = this.anchor?.read();
    } catch (e) {
      if (!(e instanceof AuditAnchorError)) throw e;
      walk.add({ seq: walk.head.seq, reason: e.message });
      garbled = true;
    }
    // Entries appended since the walk's last page (by this process or a pscs command) are anchored
    // only after they commit, so they are there to be walked: only rows really gone fall short.
    while (anchor && walk.head.seq < anchor.seq) {
      const page = await this.rowsAfter(walk.head.seq, VERIFY_PAGE);
      for (const row of page) walk.push(row);
      if (page.length === 0) break;
    }
    const head = walk.head;
    const hashes = await this.hashesAt([
      ...(anchor ? [anchor.seq] : []),
      ...(anchor?.checkpoint ? [anchor.checkpoint.seq] : []),
      ...(opts.publicKey ? (opts.logged ?? []).flatMap((l) => (l.checkpoint ? [l.checkpoint.seq] : [])) : []),
    ]);
    if (anchor && anchor.seq > head.seq) {
      walk.add({
        seq: head.seq + 1,
        reason: `entries ${head.seq + 1}-${anchor.seq} missing: the chain ends at ${head.seq} but its anchor records entry ${anchor.seq}`,
      });
    } else if (anchor && hashes.get(anchor.seq) !== anchor.hash) {
      walk.add({
        seq: anchor.seq,
        reason: `entry ${anchor.seq} differs from the anchored head (chain rewritten)`,
      });
    }
    const checkpoints =
      opts.publicKey &&
      checkCheckpoints(
        opts.logged ?? [],
        // A garbled anchor is reported above already.
        this.anchor && !garbled
          ? {
              present: anchor !== undefined,
              checkpoint: anchor?.checkpoint,
              required: !opts.anchorMayBeUnsigned,
            }
          : undefined,
        opts.publicKey,
        head,
        (seq) => hashes.get(seq),
      );
    const anchored = anchor !== undefined;
    walk.breaks.sort((a, b) => a.seq - b.seq);
    const first = walk.breaks[0];
    return {
      ok: walk.breakCount === 0 && (checkpoints?.ok ?? true),
      entries: walk.entries,
      headSeq: head.seq,
      headHash: head.hash,
      anchored,
      breaks: walk.breaks,
      breakCount: walk.breakCount,
      ...(first ? { brokenSeq: first.seq, reason: first.reason } : {}),
      ...(checkpoints ? { checkpoints } : {}),
    };
  }

  /** The stored hash of each entry named (the anchored head, the checkpoints' entries), in one read. */
  private async hashesAt(seqs: readonly number[]): Promise<Map<number, string | undefined>> {
    if (seqs.length === 0) return new Map();
    return this.directory.read(async (d) => {
      const hashes = new Map<number, string | undefined>();
      for (const seq of new Set(seqs)) hashes.set(seq, await d.audit.hashAt(seq));
      return hashes;
    });
  }
}
