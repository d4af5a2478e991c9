import { readFileSync, renameSync, writeFileSync } from "node:fs";
import type { Db } from "../catalog/catalog.js";
import {
  type AuditContent,
  canonicalJson,
  chainHash,
  GENESIS_HASH,
  type Outcome,
  storedText,
} from "./chain.js";

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

export type VerifyResult =
  | { ok: true; entries: number; headSeq: number; headHash: string; anchored: boolean }
  | { ok: false; entries: number; brokenSeq: number; reason: string };

/** Where the chain head is copied outside the table, so that deleting the newest rows is noticed too. */
interface Anchor {
  seq: number;
  hash: string;
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

export class AuditAnchorError extends Error {
  constructor(readonly file: string) {
    super(`audit anchor ${file} is unreadable (expected {"seq":N,"hash":"…"}): it was altered`);
    this.name = "AuditAnchorError";
  }
}

export class AuditLog {
  private readonly now: () => number;
  private readonly anchorFile: string | undefined;
  private readonly head;
  private readonly insert;
  private readonly appendTx;
  private readonly listeners = new Set<(e: AuditEntry) => void>();

  constructor(
    private readonly db: Db,
    opts: AuditLogOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.anchorFile = opts.anchorFile;
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
    if (last) this.writeAnchor({ seq: last.seq, hash: last.hash });
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

  /**
   * Walks the whole chain and names the first entry that breaks it: a gap in the sequence (deleted
   * row), a prev_hash that is not the previous entry's hash (reordered or re-linked), a hash that
   * does not match the content (edited), or a head older than the anchor (newest rows deleted).
   */
  verify(): VerifyResult {
    let expected = 1;
    let prevHash = GENESIS_HASH;
    const rows = this.db.prepare<[], Row>("SELECT * FROM audit_log ORDER BY seq").iterate();
    for (const row of rows) {
      const e = fromRow(row);
      const broken = (reason: string): VerifyResult => {
        rows.return?.();
        return { ok: false, entries: expected - 1, brokenSeq: e.seq, reason };
      };
      if (e.seq !== expected) {
        return broken(
          e.seq > expected
            ? `entr${e.seq - expected === 1 ? "y" : "ies"} ${expected}${e.seq - expected > 1 ? `-${e.seq - 1}` : ""} missing before entry ${e.seq}`
            : `entry ${e.seq} out of sequence (expected ${expected})`,
        );
      }
      if (e.prevHash !== prevHash) {
        return broken(`entry ${e.seq} does not link to entry ${e.seq - 1} (prev_hash differs)`);
      }
      if (chainHash(prevHash, e) !== e.hash) {
        return broken(`entry ${e.seq} content does not match its hash (edited)`);
      }
      prevHash = e.hash;
      expected++;
    }
    const last = expected - 1;
    let anchor: Anchor | undefined;
    try {
      anchor = this.readAnchor();
    } catch (e) {
      if (!(e instanceof AuditAnchorError)) throw e;
      return { ok: false, entries: last, brokenSeq: last, reason: e.message };
    }
    if (anchor) {
      if (anchor.seq > last) {
        return {
          ok: false,
          entries: last,
          brokenSeq: last + 1,
          reason: `entries ${last + 1}-${anchor.seq} missing: the chain ends at ${last} but its anchor records entry ${anchor.seq}`,
        };
      }
      const at = this.db
        .prepare<[number], { hash: string }>("SELECT hash FROM audit_log WHERE seq = ?")
        .get(anchor.seq);
      if (at?.hash !== anchor.hash) {
        return {
          ok: false,
          entries: last,
          brokenSeq: anchor.seq,
          reason: `entry ${anchor.seq} differs from the anchored head (chain rewritten)`,
        };
      }
    }
    return { ok: true, entries: last, headSeq: last, headHash: prevHash, anchored: anchor !== undefined };
  }

  private readAnchor(): Anchor | undefined {
    if (!this.anchorFile) return undefined;
    let text: string;
    try {
      text = readFileSync(this.anchorFile, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw e;
    }
    try {
      const a = JSON.parse(text) as Partial<Anchor>;
      if (Number.isInteger(a.seq) && typeof a.hash === "string") return a as Anchor;
    } catch {
      // falls through to the typed error: a garbled anchor is itself evidence of tampering
    }
    throw new AuditAnchorError(this.anchorFile);
  }

  /**
   * Monotonic: another process may have anchored a newer head meanwhile; never move it back. A crash
   * between commit and this write leaves the anchor one entry behind, which verify() accepts.
   */
  private writeAnchor(a: Anchor): void {
    if (!this.anchorFile) return;
    let current: Anchor | undefined;
    try {
      current = this.readAnchor();
    } catch (e) {
      // Leave a garbled anchor for verify() to report; appends must go on.
      if (e instanceof AuditAnchorError) return;
      throw e;
    }
    if (current && current.seq >= a.seq) return;
    const tmp = `${this.anchorFile}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(a)}\n`);
    renameSync(tmp, this.anchorFile);
  }
}

function fromRow(r: Row): AuditEntry {
  const { prev_hash, ...rest } = r;
  return { ...rest, prevHash: prev_hash };
}
