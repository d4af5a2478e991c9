import type { AuditLog } from "../src/audit/log.js";
import { isRole, ROLE_PERMISSIONS } from "../src/auth/roles.js";
import type { ActionContext } from "../src/auth/service.js";
import type { Db } from "../src/catalog/catalog.js";
import { ServiceError } from "../src/errors/service-error.js";
import type { Logger } from "../src/log/logger.js";
import { type Coverage, coverage } from "./coverage.js";
import type { EvidenceTree, VerifyReport } from "./evidence.js";
import { storeForm } from "./form-scan.js";
import {
  checkRanges,
  checkReceivedOn,
  checkRequestRanges,
  DEFAULT_HOLD_LIMITS,
  type HoldLimits,
  isOverdue,
} from "./hold-rules.js";

/**
 * Written hold requests and the holds the commander makes of them: the only way footage is kept past
 * the retention period ("permanently stored and treated as evidence").
 * Invariants: a hold exists only from a request with a stored form scan; only a commander who did not
 * enter the request approves, refuses or releases it (checked here, whoever calls: API or CLI; each
 * refusal audited); a request's ranges protect their footage from the purger from the moment it is
 * entered until it is refused or released.
 */

export const LEGAL_BASES = ["criminal", "agency_request", "court_order"] as const;
export type LegalBasis = (typeof LEGAL_BASES)[number];
export const HOLD_STATUSES = ["requested", "active", "refused", "released"] as const;
export type HoldStatus = (typeof HOLD_STATUSES)[number];

export interface HoldRange {
  camera: string;
  fromMs: number;
  toMs: number;
}

/** What the department's written request form says. */
export interface HoldRequestForm {
  formNumber: string;
  /** YYYY-MM-DD the signed form was received. */
  receivedOn: string;
  requestedBy: string;
  agency: string;
  caseNumber: string;
  legalBasis: LegalBasis;
  reason: string;
  ranges: HoldRange[];
}

export interface HoldRequestInput extends HoldRequestForm {
  /** The scanned signed form's bytes. */
  form: Uint8Array;
}

export interface Hold extends HoldRequestForm {
  id: number;
  form: { path: string; sha256: string; type: string; bytes: number };
  enteredBy: string;
  enteredAt: number;
  status: HoldStatus;
  decidedBy: string | null;
  decidedAt: number | null;
  decisionNote: string | null;
  releasedBy: string | null;
  releasedAt: number | null;
  releaseReason: string | null;
  evidence: { segments: number; bytes: number };
  /** Still pending `overdueDays` after it was entered: the commander is late deciding. */
  overdue: boolean;
}

type Verb = "approve" | "refuse" | "release";
const TRANSITIONS: Record<Verb, [HoldStatus, HoldStatus]> = {
  approve: ["requested", "active"],
  refuse: ["requested", "refused"],
  release: ["active", "released"],
};

export interface HoldFilter {
  from?: number;
  to?: number;
  caseNumber?: string;
  camera?: string;
  status?: HoldStatus;
}

interface RawHold {
  id: number;
  form_number: string;
  received_on: string;
  requested_by: string;
  agency: string;
  case_number: string;
  legal_basis: LegalBasis;
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
  ev_segments: number;
  ev_bytes: number;
}

export interface HoldServiceOptions {
  db: Db;
  audit: AuditLog;
  evidence: EvidenceTree;
  cameras: ReadonlySet<string>;
  log: Logger;
  limits?: HoldLimits;
  /** The site's IANA time zone, for "today" when checking the date a form was received. */
  timeZone?: string;
  now?: () => number;
}

export class HoldService {
  private readonly now: () => number;
  readonly limits: HoldLimits;

  constructor(private readonly o: HoldServiceOptions) {
    this.now = o.now ?? Date.now;
    this.limits = o.limits ?? DEFAULT_HOLD_LIMITS;
  }

  /** What is and is not still there for each range, as the request form would be checked. */
  coverage(ranges: readonly HoldRange[]): Coverage[] {
    checkRanges(ranges, this.limits, this.o.cameras);
    const now = this.now();
    return ranges.map((r) => coverage(this.o.db, r.camera, r.fromMs, r.toMs, now));
  }

  async request(input: HoldRequestInput, by: ActionContext): Promise<Hold & { coverage: Coverage[] }> {
    const now = this.now();
    checkReceivedOn(input.receivedOn, now, this.o.timeZone);
    checkRanges(input.ranges, this.limits, this.o.cameras);
    checkRequestRanges(input.ranges, now);
    const cov = this.coverage(input.ranges);
    const empty = cov.map((c, i) => ({ c, i })).filter(({ c }) => c.present.length === 0);
    if (empty.length > 0) {
      const { c, i } = empty[0] as { c: Coverage; i: number };
      const what = c.destroyed.length
        ? `its footage was destroyed (${c.destroyed.map((d) => d.reason).join(", ")})`
        : c.lost.length
          ? "its footage was lost"
          : "the camera recorded nothing then";
      throw new ServiceError(
        "invalid",
        `nothing is left to hold for ${c.camera} in this range: ${what}`,
        `ranges/${i}`,
        { coverage: cov },
      );
    }
    const early = this.pendingRefusal(by);
    if (early) throw early;
    const form = await storeForm(this.o.evidence.root, input.form);
    const id = this.o.db.transaction((): number | ServiceError => {
      // Again in the insert's transaction, so requests in flight together cannot pass the bound; the
      // refusal is returned, not thrown, so its audit entry commits.
      const late = this.pendingRefusal(by);
      if (late) return late;
      const hold = Number(
        this.o.db
          .prepare(
            `INSERT INTO holds (form_number, received_on, requested_by, agency, case_number, legal_basis, reason,
               form_path, form_sha256, form_type, form_bytes, entered_by, entered_at, status)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'requested')`,
          )
          .run(
            input.formNumber,
            input.receivedOn,
            input.requestedBy,
            input.agency,
            input.caseNumber,
            input.legalBasis,
            input.reason,
            form.path,
            form.sha256,
            form.type,
            form.bytes,
            by.actor,
            now,
          ).lastInsertRowid,
      );
      const range = this.o.db.prepare(
        "INSERT INTO hold_ranges (hold, camera, start_ms, end_ms) VALUES (?, ?, ?, ?)",
      );
      for (const r of input.ranges) range.run(hold, r.camera, r.fromMs, r.toMs);
      this.o.audit.append({
        ...by,
        action: "hold.request",
        target: `hold:${hold}`,
        outcome: "success",
        details: {
          formNumber: input.formNumber,
          caseNumber: input.caseNumber,
          legalBasis: input.legalBasis,
          ranges: input.ranges,
          formSha256: form.sha256,
        },
      });
      return hold;
    })();
    if (id instanceof ServiceError) throw id;
    return { ...this.get(id), coverage: cov };
  }

  /**
   * Invariant: a person has at most `maxPendingPerPerson` requests waiting for a commander, so what
   * one person protects unreviewed is bounded in all, not only per request; a refusal is audited.
   */
  private pendingRefusal(by: ActionContext): ServiceError | undefined {
    const limit = this.limits.maxPendingPerPerson;
    const { n } = this.o.db
      .prepare<[string], { n: number }>(
        "SELECT count(*) AS n FROM holds WHERE entered_by = ? AND status = 'requested'",
      )
      .get(by.actor) as { n: number };
    if (n < limit) return undefined;
    this.o.audit.append({
      ...by,
      action: "hold.request",
      target: null,
      outcome: "denied",
      details: { reason: "too many pending requests", pending: n, limit },
    });
    return new ServiceError(
      "conflict",
      `${by.actor} has ${n} requests waiting for a commander, the most one person may (retention.holds.maxPendingPerPerson); a commander decides one first`,
      undefined,
      { pending: n, limit },
    );
  }

  async approve(id: number, note: string, by: ActionContext): Promise<Hold> {
    this.transition(id, "approve", note, by);
    const linked = await this.o.evidence.sync({ hold: id });
    this.o.log.info({ hold: id, linked }, "hold approved; footage copied into the evidence tree");
    return this.get(id);
  }

  refuse(id: number, reason: string, by: ActionContext): Hold {
    this.transition(id, "refuse", reason, by);
    return this.get(id);
  }

  async release(id: number, reason: string, by: ActionContext): Promise<Hold> {
    this.transition(id, "release", reason, by);
    const removed = await this.o.evidence.remove(id);
    this.o.log.info({ hold: id, removed }, "hold released; its footage follows normal retention");
    return this.get(id);
  }

  /**
   * A commander's decision, allowed only from its state and only to a commander who did not enter
   * the request; checked, made and audited in one transaction (a refusal is audited and then thrown).
   * Refusing or releasing ends the protection of the hold's ranges.
   */
  private transition(id: number, verb: Verb, text: string, by: ActionContext): void {
    const [from, to] = TRANSITIONS[verb];
    const [who, textColumn] =
      verb === "release"
        ? (["released", "release_reason"] as const)
        : (["decided", "decision_note"] as const);
    const action = `hold.${verb}`;
    const refusal = this.o.db.transaction((): ServiceError | undefined => {
      const row = this.o.db
        .prepare<[number], { status: HoldStatus; entered_by: string }>(
          "SELECT status, entered_by FROM holds WHERE id = ?",
        )
        .get(id);
      if (!row) return new ServiceError("not_found", `no hold or hold request ${id}`);
      const denied = this.deciderProblem(row.entered_by, by);
      if (denied) {
        this.o.audit.append({
          ...by,
          action,
          target: `hold:${id}`,
          outcome: "denied",
          details: { reason: denied, enteredBy: row.entered_by },
        });
        return new ServiceError("forbidden", `${by.actor} may not ${verb} hold ${id}: ${denied}`);
      }
      if (row.status !== from) {
        return new ServiceError(
          "conflict",
          `hold ${id} is ${row.status}; this needs it to be ${from}`,
          undefined,
          {
            holdStatus: row.status,
          },
        );
      }
      this.o.db
        .prepare(`UPDATE holds SET status = ?, ${who}_by = ?, ${who}_at = ?, ${textColumn} = ? WHERE id = ?`)
        .run(to, by.actor, this.now(), text, id);
      if (to !== "active") this.o.db.prepare("UPDATE hold_ranges SET protecting = 0 WHERE hold = ?").run(id);
      this.o.audit.append({
        ...by,
        action,
        target: `hold:${id}`,
        outcome: "success",
        details: { from, to, [to === "active" ? "note" : "reason"]: text },
      });
      return undefined;
    })();
    if (refusal) throw refusal;
  }

  /** Why `by` may not decide a request `enteredBy` entered, or undefined when it may. */
  private deciderProblem(enteredBy: string, by: ActionContext): string | undefined {
    if (!(by.role && isRole(by.role) && ROLE_PERMISSIONS[by.role].includes("holds.approve"))) {
      return "only a commander approves, refuses or releases a hold";
    }
    // Separation of duties: the person who entered a request is never the one who decides it.
    if (enteredBy === by.actor) return "they entered this request; another commander must decide it";
    return undefined;
  }

  get(id: number): Hold {
    const [h] = this.query("WHERE h.id = ?", [id]);
    if (!h) throw new ServiceError("not_found", `no hold or hold request ${id}`);
    return h;
  }

  /** The hold log: newest first, filtered by when the request was entered, case, camera and status. */
  list(f: HoldFilter = {}): Hold[] {
    const clauses: [string, unknown][] = [];
    if (f.from !== undefined) clauses.push(["h.entered_at >= ?", f.from]);
    if (f.to !== undefined) clauses.push(["h.entered_at < ?", f.to]);
    if (f.caseNumber !== undefined) clauses.push(["h.case_number = ?", f.caseNumber]);
    if (f.status !== undefined) clauses.push(["h.status = ?", f.status]);
    if (f.camera !== undefined) {
      clauses.push(["EXISTS (SELECT 1 FROM hold_ranges r WHERE r.hold = h.id AND r.camera = ?)", f.camera]);
    }
    const where = clauses.map(([c]) => c);
    const args = clauses.map(([, a]) => a);
    return this.query(where.length ? `WHERE ${where.join(" AND ")}` : "", args);
  }

  verify(id: number): Promise<VerifyReport> {
    this.get(id);
    return this.o.evidence.verify(id);
  }

  private query(where: string, args: unknown[]): Hold[] {
    const rows = this.o.db
      .prepare<unknown[], RawHold>(
        `SELECT h.*, (SELECT count(*) FROM hold_segments x WHERE x.hold = h.id) ev_segments,
           (SELECT coalesce(sum(bytes), 0) FROM hold_segments x WHERE x.hold = h.id) ev_bytes
         FROM holds h ${where} ORDER BY h.id DESC`,
      )
      .all(...args);
    const now = this.now();
    const ranges = this.o.db.prepare<[number], HoldRange>(
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
      evidence: { segments: r.ev_segments, bytes: r.ev_bytes },
      overdue: isOverdue({ status: r.status, enteredAt: r.entered_at }, now, this.limits.overdueDays),
    }));
  }
}
