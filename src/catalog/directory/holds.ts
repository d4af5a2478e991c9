import type {
  FormScan,
  HoldFilter,
  HoldRange,
  HoldRecord,
  HoldRequestForm,
  HoldStatus,
} from "../../holds/hold.js";
import type { Prepare } from "../catalog.js";

/**
 * Written hold requests, the holds made of them, their ranges and the commander's decisions. A
 * range protects its footage from the purger while `protecting` (pending or active).
 */

export interface NewHold extends HoldRequestForm {
  form: FormScan;
  enteredBy: string;
  enteredAt: number;
}

/** A commander's decision (approve/refuse) or a release: the new status, who, when and the text. */
export interface HoldChange {
  status: HoldStatus;
  kind: "decision" | "release";
  by: string;
  at: number;
  text: string;
}

export interface ProtectingRange extends HoldRange {
  hold: number;
}

export interface HoldRepository {
  /** Stores a request with its ranges, protecting from now; returns its id. */
  insert(hold: NewHold): Promise<number>;
  get(id: number): Promise<HoldRecord | undefined>;
  /** Newest first. */
  list(filter: HoldFilter): Promise<HoldRecord[]>;
  pendingCount(enteredBy: string): Promise<number>;
  change(id: number, change: HoldChange): Promise<void>;
  /** The hold's ranges stop protecting its footage (refused or released). */
  endProtection(id: number): Promise<void>;
  /**
   * Every range protecting footage now (pending requests and active holds); with `startingBefore`,
   * only those starting before it (footage ending by then can overlap no other).
   */
  protectingRanges(startingBefore?: number): Promise<ProtectingRange[]>;
  /**
   * The ranges of active holds: all of them, one hold's, or those of `camera` overlapping
   * [fromMs, toMs) (a segment that just closed).
   */
  activeRanges(only: {
    hold?: number;
    camera?: string;
    fromMs?: number;
    toMs?: number;
  }): Promise<ProtectingRange[]>;
  countByStatus(): Promise<Partial<Record<HoldStatus, number>>>;
  /** Requests still pending that were entered before `cutoff`, and the oldest one's entry time. */
  pendingSince(cutoff: number): Promise<{ n: number; oldest: number | null }>;
}

interface Row {
  id: number;
  form_number: string;
  received_on: string;
  requested_by: string;
  agency: string;
  case_number: string;
  legal_basis: HoldRecord["legalBasis"];
  reason: string;
  form_path: string;
  form_sha256: string;
  form_type: string;
  form_bytes: number;
  entered_by: string;
  entered_at: number;
  status: HoldStatus;
  decided_by: string | null;
  decided_at: number | null;
  decision_note: string | null;
  released_by: string | null;
  released_at: number | null;
  release_reason: string | null;
}

/** Answers at once; `SqliteDirectory` runs it inside its unit of work. */
export class SqliteHoldRepository implements HoldRepository {
  constructor(private readonly sql: Prepare) {}

  async insert(h: NewHold): Promise<number> {
    const id = Number(
      this.sql(
        `INSERT INTO holds (form_number, received_on, requested_by, agency, case_number, legal_basis, reason,
           form_path, form_sha256, form_type, form_bytes, entered_by, entered_at, status)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'requested')`,
      ).run(
        h.formNumber,
        h.receivedOn,
        h.requestedBy,
        h.agency,
        h.caseNumber,
        h.legalBasis,
        h.reason,
        h.form.path,
        h.form.sha256,
        h.form.type,
        h.form.bytes,
        h.enteredBy,
        h.enteredAt,
      ).lastInsertRowid,
    );
    const range = this.sql("INSERT INTO hold_ranges (hold, camera, start_ms, end_ms) VALUES (?, ?, ?, ?)");
    for (const r of h.ranges) range.run(id, r.camera, r.fromMs, r.toMs);
    return id;
  }

  async get(id: number): Promise<HoldRecord | undefined> {
    return this.query("WHERE h.id = ?", [id])[0];
  }

  async list(f: HoldFilter): Promise<HoldRecord[]> {
    const clauses: [string, unknown][] = [];
    if (f.from !== undefined) clauses.push(["h.entered_at >= ?", f.from]);
    if (f.to !== undefined) clauses.push(["h.entered_at < ?", f.to]);
    if (f.caseNumber !== undefined) clauses.push(["h.case_number = ?", f.caseNumber]);
    if (f.status !== undefined) clauses.push(["h.status = ?", f.status]);
    if (f.camera !== undefined) {
      clauses.push(["EXISTS (SELECT 1 FROM hold_ranges r WHERE r.hold = h.id AND r.camera = ?)", f.camera]);
    }
    const where = clauses.map(([c]) => c);
    return this.query(
      where.length ? `WHERE ${where.join(" AND ")}` : "",
      clauses.map(([, a]) => a),
    );
  }

  async pendingCount(enteredBy: string): Promise<number> {
    return (
      this.sql<[string], { n: number }>(
        "SELECT count(*) n FROM holds WHERE entered_by = ? AND status = 'requested'",
      ).get(enteredBy)?.n ?? 0
    );
  }

  async change(id: number, c: HoldChange): Promise<void> {
    const sql =
      c.kind === "release"
        ? "UPDATE holds SET status = ?, released_by = ?, released_at = ?, release_reason = ? WHERE id = ?"
        : "UPDATE holds SET status = ?, decided_by = ?, decided_at = ?, decision_note = ? WHERE id = ?";
    this.sql(sql).run(c.status, c.by, c.at, c.text, id);
  }

  async endProtection(id: number): Promise<void> {
    this.sql("UPDATE hold_ranges SET protecting = 0 WHERE hold = ?").run(id);
  }

  async protectingRanges(startingBefore = Number.MAX_SAFE_INTEGER): Promise<ProtectingRange[]> {
    return this.sql<[number], ProtectingRange>(
      "SELECT hold, camera, start_ms fromMs, end_ms toMs FROM hold_ranges WHERE protecting = 1 AND start_ms < ?",
    ).all(startingBefore);
  }

  async activeRanges(only: {
    hold?: number;
    camera?: string;
    fromMs?: number;
    toMs?: number;
  }): Promise<ProtectingRange[]> {
    return this.sql<[Record<string, number | string | null>], ProtectingRange>(
      `SELECT r.hold, r.camera, r.start_ms fromMs, r.end_ms toMs
         FROM hold_ranges r JOIN holds h ON h.id = r.hold AND h.status = 'active'
         WHERE r.protecting = 1 AND (@hold IS NULL OR r.hold = @hold)
           AND (@camera IS NULL OR (r.camera = @camera AND r.start_ms < @toMs AND r.end_ms > @fromMs))
         ORDER BY r.hold, r.camera, r.start_ms`,
    ).all({
      hold: only.hold ?? null,
      camera: only.camera ?? null,
      fromMs: only.fromMs ?? null,
      toMs: only.toMs ?? null,
    });
  }

  async countByStatus(): Promise<Partial<Record<HoldStatus, number>>> {
    const rows = this.sql<[], { status: HoldStatus; n: number }>(
      "SELECT status, count(*) n FROM holds GROUP BY status",
    ).all();
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  }

  async pendingSince(cutoff: number): Promise<{ n: number; oldest: number | null }> {
    return (
      this.sql<[number], { n: number; oldest: number | null }>(
        "SELECT count(*) n, min(entered_at) oldest FROM holds WHERE status = 'requested' AND entered_at < ?",
      ).get(cutoff) ?? { n: 0, oldest: null }
    );
  }

  private query(where: string, args: unknown[]): HoldRecord[] {
    const rows = this.sql<unknown[], Row>(`SELECT h.* FROM holds h ${where} ORDER BY h.id DESC`).all(...args);
    const ranges = this.sql<[number], HoldRange>(
      "SELECT camera, start_ms fromMs, end_ms toMs FROM hold_ranges WHERE hold = ? ORDER BY rowid",
    );
    return rows.map((r) => ({
      id: r.id,
      formNumber: r.form_number,
      receivedOn: r.received_on,
      requestedBy: r.requested_by,
      agency: r.agency,
      caseNumber: r.case_number,
      legalBasis: r.legal_basis,
      reason: r.reason,
      form: { path: r.form_path, sha256: r.form_sha256, type: r.form_type, bytes: r.form_bytes },
      enteredBy: r.entered_by,
      enteredAt: r.entered_at,
      status: r.status,
      decidedBy: r.decided_by,
      decidedAt: r.decided_at,
      decisionNote: r.decision_note,
      releasedBy: r.released_by,
      releasedAt: r.released_at,
      releaseReason: r.release_reason,
      ranges: ranges.all(r.id),
    }));
  }
}
