import type { KeyObject } from "node:crypto";
import type { Db } from "../catalog/catalog.js";
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
 * Invariant: entries are appended only through append(), inside one IMMEDIATE transaction that reads
 * the chain head and writes the next entry, so two processes (pscsd and the pscs CLI) sharing the
 * catalog never fork the chain.
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

export interface AuditEntry extends AuditContent {
  prevHash: string;
  hash: string;
}

export interface AuditFilter {
  from?: number;
  to?: number;
  actor?: string;
  /** Exact action, or a prefix ending in '.' ('auth.' matches 'auth.login', 'auth.logout', …). */
  action?: string;
  target?: string;
  outcome?: Outcome;
  /** Cursor: entries with seq greater (asc) or smaller (desc) than this. */
  after?: number;
  order?: "asc" | "desc";
  limit?: number;
}

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

interface Row extends AuditContent {
  prev_hash: string;
  hash: string;
}

export interface AuditLogOptions {
  /** File holding a copy of the chain head; absent for an in-memory catalog. */
  anchorFile?: string | undefined;
  now?: () => number;
}

export class AuditLog {
  private readonly now: () => number;
  readonly anchor: AnchorFile | undefined;
  private readonly head;
  private readonly insert;
  private readonly appendTx;
  private readonly listeners = new Set<(e: AuditEntry) => void>();

  constructor(
    private readonly db: Db,
    opts: AuditLogOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.anchor = opts.anchorFile === undefined ? undefined : new AnchorFile(opts.anchorFile);
    this.head = db.prepare<[], { seq: number; hash: string }>(
      "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
    );
    this.insert = db.prepare(
      `INSERT INTO audit_log (seq, at, actor, role, action, target, outcome, client, details, prev_hash, hash)
       VALUES (@seq, @at, @actor, @role, @action, @target, @outcome, @client, @details, @prevHash, @hash)`,
    );
    const one = (event: AuditEvent): AuditEntry => {
      const last = this.head.get();
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
      const entry = { ...content, prevHash, hash: chainHash(prevHash, content) };
      this.insert.run(entry);
      return entry;
    };
    const tx = db.transaction((events: readonly AuditEvent[]) => events.map(one));
    this.appendTx = (events: readonly AuditEvent[]) => tx.immediate(events);
  }

  append(event: AuditEvent): AuditEntry {
    return this.appendMany([event])[0] as AuditEntry;
  }

  /** Appends several entries in one transaction (a purge batch, a bulk import): one commit, one anchor write. */
  appendMany(events: readonly AuditEvent[]): AuditEntry[] {
    const entries = this.appendTx(events);
    const last = entries.at(-1);
    if (last) this.anchor?.writeHead(last);
    for (const e of entries) for (const l of this.listeners) l(e);
    return entries;
  }

  /** Called after every append by this process (metrics count them). */
  onAppend(listener: (e: AuditEntry) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  headSeq(): number {
    return this.head.get()?.seq ?? 0;
  }

  list(filter: AuditFilter = {}): AuditEntry[] {
    const where: string[] = [];
    const args: Record<string, unknown> = {};
    const order = filter.order === "desc" ? "DESC" : "ASC";
    const add = (clause: string, name: string, value: unknown) => {
      if (value === undefined) return;
      where.push(clause);
      args[name] = value;
    };
    add("at >= @from", "from", filter.from);
    add("at < @to", "to", filter.to);
    add("actor = @actor", "actor", filter.actor);
    add("target = @target", "target", filter.target);
    add("outcome = @outcome", "outcome", filter.outcome);
    if (filter.action?.endsWith(".")) {
      // A range instead of LIKE: the action index serves it, and '_' or '%' in input mean nothing.
      add("action >= @actionLo", "actionLo", filter.action);
      add("action < @actionHi", "actionHi", `${filter.action.slice(0, -1)}/`); // '/' sorts right after '.'
    } else add("action = @action", "action", filter.action);
    if (filter.after !== undefined) {
      where.push(order === "ASC" ? "seq > @after" : "seq < @after");
      args.after = filter.after;
    }
    const sql = `SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
      ORDER BY seq ${order} LIMIT @limit`;
    args.limit = filter.limit ?? 100;
    return this.db.prepare<[Record<string, unknown>], Row>(sql).all(args).map(fromRow);
  }

  /** Entries read for exports since start: metrics show an export's paging stop with its reader. */
  exportedEntries = 0;

  /**
   * One page of an export: entries matching the filter with seq above `after`, oldest first. A page
   * is read whole and the statement finished, so the connection serves other queries between pages.
   */
  exportPage(
    filter: Omit<AuditFilter, "limit" | "order" | "after">,
    after: number,
    limit: number,
  ): AuditEntry[] {
    const page = this.list({ ...filter, after, order: "asc", limit });
    this.exportedEntries += page.length;
    return page;
  }

  /** Every entry matching the filter, oldest first, without holding them all in memory. */
  *iterate(filter: Omit<AuditFilter, "limit" | "order" | "after"> = {}): Generator<AuditEntry> {
    let after = 0;
    for (;;) {
      const page = this.list({ ...filter, after, order: "asc", limit: 5_000 });
      yield* page;
      if (page.length < 5_000) return;
      after = page.at(-1)?.seq ?? after;
    }
  }

  /** Entries after `seq`, oldest first, as the chain walk reads them (one page). */
  rowsAfter(seq: number, limit: number): ChainRow[] {
    return this.db
      .prepare<[number, number], Row>("SELECT * FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?")
      .all(seq, limit)
      .map(fromRow);
  }

  hashAt(seq: number): string | undefined {
    return this.db.prepare<[number], { hash: string }>("SELECT hash FROM audit_log WHERE seq = ?").get(seq)
      ?.hash;
  }

  /** Walks the whole chain now, past every break (see ChainWalk), then the anchor and checkpoints. */
  verify(opts: VerifyOptions = {}): VerifyResult {
    const walk = new ChainWalk();
    for (const row of this.db.prepare<[], Row>("SELECT * FROM audit_log ORDER BY seq").iterate())
      walk.push(fromRow(row));
    return this.conclude(walk, opts);
  }

  /**
   * A finished walk's result: the rows must reach the anchored head with the anchored hash (or the
   * newest rows were deleted or rewritten), and hold every checkpoint given and the anchor's.
   */
  conclude(walk: ChainWalk, opts: VerifyOptions = {}): VerifyResult {
    const head = walk.head;
    let anchor: Anchor | undefined;
    let garbled = false;
    try {
      anchor = this.anchor?.read();
    } catch (e) {
      if (!(e instanceof AuditAnchorError)) throw e;
      walk.add({ seq: head.seq, reason: e.message });
      garbled = true;
    }
    if (anchor && anchor.seq > head.seq) {
      walk.add({
        seq: head.seq + 1,
        reason: `entries ${head.seq + 1}-${anchor.seq} missing: the chain ends at ${head.seq} but its anchor records entry ${anchor.seq}`,
      });
    } else if (anchor && this.hashAt(anchor.seq) !== anchor.hash) {
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
        (seq) => this.hashAt(seq),
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
}

function fromRow(r: Row): AuditEntry {
  const { prev_hash, ...rest } = r;
  return { ...rest, prevHash: prev_hash };
}
