import type { AuditContent, Outcome } from "../../audit/chain.js";
import type { Db, Prepare } from "../catalog.js";

/**
 * The audit chain's rows. Append-only: the table's triggers refuse UPDATE and DELETE, and this
 * repository offers neither; the chain hash is computed by `src/audit/log.ts`, never here.
 */

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
  /**
   * Entries about one camera: its own target (`camera:<id>`), or details naming it (`camera`, as
   * PTZ commands carry, or one of `ranges[].camera`, as holds and exports do).
   */
  camera?: string;
  outcome?: Outcome;
  /** Cursor: entries with seq greater (asc) or smaller (desc) than this. */
  after?: number;
  order?: "asc" | "desc";
  limit?: number;
}

export interface AuditRepository {
  /** The newest entry's position, absent for an empty chain. */
  head(): Promise<{ seq: number; hash: string } | undefined>;
  insert(entry: AuditEntry): Promise<void>;
  list(filter: AuditFilter): Promise<AuditEntry[]>;
  /** Entries with seq above `seq`, oldest first, at most `limit`. */
  after(seq: number, limit: number): Promise<AuditEntry[]>;
  hashAt(seq: number): Promise<string | undefined>;
  /**
   * A number that changes whenever another connection (a pscs command, an intruder's sqlite3) has
   * committed since it was last read, and not for this connection's own writes.
   */
  othersWrites(): Promise<number>;
}

interface Row extends AuditContent {
  prev_hash: string;
  hash: string;
}

export class SqliteAuditRepository implements AuditRepository {
  constructor(
    private readonly db: Db,
    private readonly prepare: Prepare,
  ) {}

  async head(): Promise<{ seq: number; hash: string } | undefined> {
    return this.prepare<[], { seq: number; hash: string }>(
      "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
    ).get();
  }

  async insert(e: AuditEntry): Promise<void> {
    this.prepare(
      `INSERT INTO audit_log (seq, at, actor, role, action, target, outcome, client, details, prev_hash, hash)
       VALUES (@seq, @at, @actor, @role, @action, @target, @outcome, @client, @details, @prevHash, @hash)`,
    ).run(e);
  }

  async list(filter: AuditFilter): Promise<AuditEntry[]> {
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
    add(
      `(target = 'camera:' || @camera OR json_extract(details, '$.camera') = @camera OR EXISTS (
         SELECT 1 FROM json_each(details, '$.ranges') r WHERE json_extract(r.value, '$.camera') = @camera))`,
      "camera",
      filter.camera,
    );
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
    return this.prepare<[Record<string, unknown>], Row>(sql).all(args).map(fromRow);
  }

  async after(seq: number, limit: number): Promise<AuditEntry[]> {
    return this.prepare<[number, number], Row>("SELECT * FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?")
      .all(seq, limit)
      .map(fromRow);
  }

  async hashAt(seq: number): Promise<string | undefined> {
    return this.prepare<[number], { hash: string }>("SELECT hash FROM audit_log WHERE seq = ?").get(seq)
      ?.hash;
  }

  async othersWrites(): Promise<number> {
    return this.db.pragma("data_version", { simple: true }) as number;
  }
}

function fromRow(r: Row): AuditEntry {
  const { prev_hash, ...rest } = r;
  return { ...rest, prevHash: prev_hash };
}
