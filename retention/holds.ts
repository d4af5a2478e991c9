import type { AuditEvent, AuditLog } from "../src/audit/log.js";
import { isRole, ROLE_PERMISSIONS } from "../src/auth/roles.js";
import type { ActionContext } from "../src/auth/service.js";
import type { Directory, DirectoryTx } from "../src/catalog/directory/directory.js";
import type { CoverageCatalog } from "../src/catalog/footage/coverage.js";
import { ServiceError } from "../src/errors/service-error.js";
import {
  type Coverage,
  type FormScan,
  HOLD_STATUSES,
  type Hold,
  type HoldFilter,
  type HoldRange,
  type HoldRecord,
  type HoldRequestForm,
  type HoldRequestInput,
  type HoldStatus,
  LEGAL_BASES,
  type VerifyReport,
} from "../src/holds/hold.js";
import type { HoldDesk, HoldLogFormat } from "../src/holds/service.js";
import type { Logger } from "../src/log/logger.js";
import { coverage } from "./coverage.js";
import type { EvidenceTree } from "./evidence.js";
import { storeForm } from "./form-scan.js";
import { holdLogCsv, holdLogHtml } from "./hold-log.js";
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
 * entered until it is refused or released; one person has at most `maxPendingPerPerson` requests
 * pending, counted in the unit of work that enters one (so parallel requests cannot overshoot it);
 * every change and its audit entry commit in one unit of work; every view, export and verification
 * is audited here.
 */

type Verb = "approve" | "refuse" | "release";
const TRANSITIONS: Record<Verb, [HoldStatus, HoldStatus]> = {
  approve: ["requested", "active"],
  refuse: ["requested", "refused"],
  release: ["active", "released"],
};

export interface HoldServiceOptions {
  directory: Directory;
  /** The footage catalog, for what each range still has on disk. */
  footage: CoverageCatalog;
  audit: AuditLog;
  evidence: EvidenceTree;
  cameras: ReadonlySet<string>;
  log: Logger;
  /** The site's name, printed on the hold log. */
  site?: string;
  limits?: HoldLimits;
  /** The site's IANA time zone, for "today" when checking the date a form was received. */
  timeZone?: string;
  now?: () => number;
}

export class HoldService implements HoldDesk {
  private readonly now: () => number;
  readonly limits: HoldLimits;
  private readonly directory: Directory;

  constructor(private readonly o: HoldServiceOptions) {
    this.now = o.now ?? Date.now;
    this.limits = o.limits ?? DEFAULT_HOLD_LIMITS;
    this.directory = o.directory;
  }

  check(form: HoldRequestForm): void {
    if (!(LEGAL_BASES as readonly string[]).includes(form.legalBasis)) {
      throw new ServiceError(
        "invalid",
        `expected one of ${LEGAL_BASES.join(", ")}, got '${form.legalBasis}'`,
        "legalBasis",
      );
    }
    checkReceivedOn(form.receivedOn, this.now(), this.o.timeZone);
    checkRanges(form.ranges, this.limits, this.o.cameras);
    checkRequestRanges(form.ranges, this.now());
  }

  checkFilter(f: HoldFilter): void {
    if (f.status !== undefined && !(HOLD_STATUSES as readonly string[]).includes(f.status)) {
      throw new ServiceError(
        "invalid",
        `expected one of ${HOLD_STATUSES.join(", ")}, got '${f.status}'`,
        "status",
      );
    }
  }

  coverage(ranges: readonly HoldRange[]): Coverage[] {
    checkRanges(ranges, this.limits, this.o.cameras);
    const now = this.now();
    return ranges.map((r) => coverage(this.o.footage, r.camera, r.fromMs, r.toMs, now));
  }

  async request(input: HoldRequestInput, by: ActionContext): Promise<Hold & { coverage: Coverage[] }> {
    this.check(input);
    // Refused before the coverage walk and the form's write; counted again where the row is made.
    const early = await this.directory.tx((d) => this.pendingProblem(d, input, by));
    if (early) throw early;
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
    const form = await storeForm(this.o.evidence.root, input.form);
    const now = this.now();
    const id = await this.directory.tx(async (d): Promise<number | ServiceError> => {
      const tooMany = await this.pendingProblem(d, input, by);
      if (tooMany) return tooMany;
      const { form: _bytes, ...fields } = input;
      const hold = await d.holds.insert({ ...fields, form, enteredBy: by.actor, enteredAt: now });
      await this.o.audit.appendIn(d, {
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
    });
    if (id instanceof ServiceError) throw id;
    return { ...(await this.get(id)), coverage: cov };
  }

  /**
   * A refusal (audited in `d`) when `by` already has `maxPendingPerPerson` requests awaiting a
   * commander: each protects its footage before anyone reviewed it, so one account cannot keep
   * footage unreviewed without bound. A decided request frees its place. Returned, not thrown, so the
   * refusal's audit entry commits.
   */
  private async pendingProblem(
    d: DirectoryTx,
    input: HoldRequestForm,
    by: ActionContext,
  ): Promise<ServiceError | undefined> {
    const limit = this.limits.maxPendingPerPerson;
    const pending = await d.holds.pendingCount(by.actor);
    if (pending < limit) return undefined;
    const reason = "too many pending requests";
    await this.o.audit.appendIn(d, {
      ...by,
      action: "hold.request",
      outcome: "denied",
      details: { reason, pending, limit, formNumber: input.formNumber, caseNumber: input.caseNumber },
    });
    return new ServiceError(
      "conflict",
      `${reason}: ${by.actor} has ${pending} hold requests awaiting a commander, the most one person may; a commander must decide one first`,
      undefined,
      { reason, pending, limit },
    );
  }

  async approve(id: number, note: string, by: ActionContext): Promise<Hold> {
    await this.transition(id, "approve", note, by);
    const linked = await this.o.evidence.sync({ hold: id });
    this.o.log.info({ hold: id, linked }, "hold approved; footage copied into the evidence tree");
    return this.get(id);
  }

  async refuse(id: number, reason: string, by: ActionContext): Promise<Hold> {
    await this.transition(id, "refuse", reason, by);
    return this.get(id);
  }

  async release(id: number, reason: string, by: ActionContext): Promise<Hold> {
    await this.transition(id, "release", reason, by);
    const removed = await this.o.evidence.remove(id);
    this.o.log.info({ hold: id, removed }, "hold released; its footage follows normal retention");
    return this.get(id);
  }

  /**
   * A commander's decision, allowed only from its state and only to a commander who did not enter
   * the request; checked, made and audited in one unit of work (a refusal is audited, committed and
   * then thrown). Refusing or releasing ends the protection of the hold's ranges.
   */
  private async transition(id: number, verb: Verb, text: string, by: ActionContext): Promise<void> {
    const [from, to] = TRANSITIONS[verb];
    const action = `hold.${verb}`;
    const refusal = await this.directory.tx(async (d): Promise<ServiceError | undefined> => {
      const row = await d.holds.get(id);
      if (!row) return new ServiceError("not_found", `no hold or hold request ${id}`);
      const denied = this.deciderProblem(row.enteredBy, by);
      if (denied) {
        await this.o.audit.appendIn(d, {
          ...by,
          action,
          target: `hold:${id}`,
          outcome: "denied",
          details: { reason: denied, enteredBy: row.enteredBy },
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
      await d.holds.change(id, {
        status: to,
        kind: verb === "release" ? "release" : "decision",
        by: by.actor,
        at: this.now(),
        text,
      });
      if (to !== "active") await d.holds.endProtection(id);
      await this.o.audit.appendIn(d, {
        ...by,
        action,
        target: `hold:${id}`,
        outcome: "success",
        details: { from, to, [to === "active" ? "note" : "reason"]: text },
      });
      return undefined;
    });
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

  async get(id: number): Promise<Hold> {
    const [h] = await this.directory.read(async (d) => {
      const row = await d.holds.get(id);
      return row ? this.withEvidence(d, [row]) : [];
    });
    if (!h) throw new ServiceError("not_found", `no hold or hold request ${id}`);
    return h;
  }

  /** The hold log: newest first, filtered by when the request was entered, case, camera and status. */
  async list(f: HoldFilter = {}): Promise<Hold[]> {
    this.checkFilter(f);
    return this.directory.read(async (d) => this.withEvidence(d, await d.holds.list(f)));
  }

  async exportLog(
    filter: HoldFilter,
    format: HoldLogFormat,
    by: ActionContext,
  ): Promise<{ holds: Hold[]; body: string }> {
    const holds = await this.list(filter);
    await this.audited({
      ...by,
      action: "holds.log.export",
      outcome: "success",
      details: { format, filter, entries: holds.length },
    });
    const body =
      format === "csv"
        ? holdLogCsv(holds)
        : holdLogHtml(holds, { site: this.o.site ?? "", generatedAt: this.now(), by: by.actor });
    return { holds, body };
  }

  async viewForm(id: number, by: ActionContext): Promise<FormScan & { root: string }> {
    const hold = await this.get(id);
    await this.audited({ ...by, action: "hold.form.view", target: `hold:${hold.id}`, outcome: "success" });
    return { ...hold.form, root: this.o.evidence.root };
  }

  async verify(id: number, by: ActionContext): Promise<VerifyReport> {
    await this.get(id);
    const report = await this.o.evidence.verify(id);
    await this.audited({
      ...by,
      action: "hold.verify",
      target: `hold:${id}`,
      outcome: report.problems.length ? "failure" : "success",
      details: { files: report.files, bytes: report.bytes, problems: report.problems.slice(0, 20) },
    });
    return report;
  }

  /** An entry of its own unit of work: what was viewed, exported or verified. */
  private async audited(event: AuditEvent): Promise<void> {
    await this.directory.tx((d) => this.o.audit.appendIn(d, event));
  }

  private async withEvidence(d: DirectoryTx, rows: HoldRecord[]): Promise<Hold[]> {
    const totals = await d.evidenceLinks.totals(rows.map((r) => r.id));
    const now = this.now();
    return rows.map((r) => ({
      ...r,
      evidence: totals.get(r.id) ?? { segments: 0, bytes: 0 },
      overdue: isOverdue({ status: r.status, enteredAt: r.enteredAt }, now, this.limits.overdueDays),
    }));
  }
}
