import { extname } from "node:path";
import type { AuditLog } from "../../src/audit/log.js";
import { auditIn } from "../../src/auth/acting.js";
import { type Permission, roleGrants } from "../../src/auth/roles.js";
import type { ActionContext } from "../../src/auth/service.js";
import type { Directory } from "../../src/catalog/directory/directory.js";
import type { StoredExport } from "../../src/catalog/directory/exports.js";
import { policyRefusal, quotedPolicy, ServiceError } from "../../src/errors/service-error.js";
import type {
  BasisInput,
  ExportDesk,
  ExportRecord,
  ExportRequestInput,
  ExportStatus,
} from "../../src/exports/export.js";
import type { BasisFields, Recipient } from "../../src/exports/package-format.js";
import { statedPurpose } from "../../src/footage/purpose.js";
import type { Hold, HoldRange } from "../../src/holds/hold.js";
import type { HoldDesk } from "../../src/holds/service.js";
import { storeForm } from "../form-scan.js";
import { checkRanges, DEFAULT_HOLD_LIMITS, type HoldLimits } from "../hold-rules.js";
import { basisRule, checkBasis, POLICY } from "./basis.js";

/**
 * Export requests and the commander's decision on them: what lets held footage leave the building.
 * Invariants (enforced here, whoever calls: API or CLI):
 * - an export is entered only on a legal basis the policy accepts (./basis.ts), with its recipient
 *   and purpose, and belongs to one hold covering all its ranges; footage not yet held is held
 *   first by a hold request made from the same written request (a court order, an agency's
 *   request), and a criminal export of unheld footage, having no written request, is refused;
 * - two-person rule: only a commander approves or refuses it, never the person who entered it
 *   (not even one holding both roles), and only once its hold is active; approval queues it for
 *   production (./jobs.ts runs it); a cancellation while it runs stops the production;
 * - every request, decision and cancellation, and every attempt at one this desk refuses, is
 *   audited (`export:<id>`, with basis, hold, recipient and purpose); a change commits with its
 *   entry. An attempt the API refuses for its form never reaches the desk: it is audited there
 *   (`http.invalid` on the route, a client's repeats counted into one entry per 10 s).
 */

export interface ExportServiceOptions {
  directory: Directory;
  audit: AuditLog;
  holds: HoldDesk;
  /** Where scans are stored by hash (`forms/`), beside the hold forms. */
  evidenceRoot: string;
  cameras: ReadonlySet<string>;
  limits?: HoldLimits;
  /** The site's IANA zone: a request's or order's date is checked against the site's today. */
  timeZone?: string;
  /**
   * Told after an approval (`queued`) or a cancellation (`cancelled`) committed: how the job runner
   * hears of it at once (pscsd), or is woken from another process (the CLI). Must not throw.
   */
  onChange?: (id: number, status: "queued" | "cancelled") => void;
  now?: () => number;
}

const MAX_TEXT = 200;

type Verb = "approve" | "refuse" | "cancel";

/** Where a scan goes in the package: named by what it is, typed by its stored file. */
function packageScanName(type: "agency_request" | "court_order", storedPath: string): string {
  return `documents/${type === "court_order" ? "court-order" : "written-request"}${extname(storedPath)}`;
}

/** An export range is covered by a hold when one of its ranges holds all of it. */
function covers(hold: readonly HoldRange[], r: HoldRange): boolean {
  return hold.some((h) => h.camera === r.camera && h.fromMs <= r.fromMs && h.toMs >= r.toMs);
}

const grants = (by: ActionContext, permission: Permission): boolean => roleGrants(by.role, permission);

/** What every audit entry of an export says of it. */
function summary(e: {
  basis: { type: string };
  hold?: number | null;
  recipient: Recipient;
  purpose: string;
}) {
  return { basis: e.basis.type, hold: e.hold ?? null, recipient: e.recipient, purpose: e.purpose };
}

export class ExportService implements ExportDesk {
  private readonly now: () => number;
  private readonly limits: HoldLimits;

  constructor(private readonly o: ExportServiceOptions) {
    this.now = o.now ?? Date.now;
    this.limits = o.limits ?? DEFAULT_HOLD_LIMITS;
  }

  async request(input: ExportRequestInput, by: ActionContext): Promise<ExportRecord> {
    const made: { hold?: number } = {};
    let id: number;
    try {
      id = await this.enter(input, by, made);
    } catch (e) {
      if (e instanceof ServiceError) await this.deniedRequest(e, input, by, made.hold);
      throw e;
    }
    return this.get(id, by);
  }

  /** Checks, holds and stores a request; `made.hold` says which hold request it made, if it made one. */
  private async enter(
    input: ExportRequestInput,
    by: ActionContext,
    made: { hold?: number },
  ): Promise<number> {
    if (!grants(by, "exports.create")) {
      throw new ServiceError("forbidden", `${by.actor} may not request an export: only records enters one`);
    }
    const basis = checkBasis(input.basis, this.now(), this.o.timeZone);
    const recipient = this.checkRecipient(input.recipient);
    const purpose = statedPurpose(typeof input.purpose === "string" ? input.purpose : "");
    checkRanges(input.ranges, this.limits, this.o.cameras);
    // The scan is checked (and stored) before a hold request is made from it.
    const scan = await this.storeScan(basis);
    const hold = await this.holdFor(input, basis, purpose, by);
    if (hold.made) made.hold = hold.id;
    const now = this.now();
    return this.o.directory.tx(async (d) => {
      const fields: BasisFields = scan
        ? ({ ...basis, scan: scan.ref } as BasisFields)
        : (basis as Extract<BasisFields, { type: "criminal" }>);
      const id = await d.exports.insert({
        hold: hold.id,
        basis: fields,
        scanPath: scan?.path ?? null,
        recipient,
        purpose,
        ranges: input.ranges.map((r) => ({ camera: r.camera, fromMs: r.fromMs, toMs: r.toMs })),
        requestedBy: by.actor,
        requestedAt: now,
      });
      await auditIn(this.o.audit, d, by, "export.request", `export:${id}`, "success", {
        ...summary({ basis, hold: hold.id, recipient, purpose }),
        basisFields: fields,
        ranges: input.ranges,
        holdRequested: hold.made,
      });
      return id;
    });
  }

  /** A refused request, audited in its own unit of work: what was asked, and why it was refused. */
  private async deniedRequest(
    e: ServiceError,
    input: ExportRequestInput,
    by: ActionContext,
    holdMade: number | undefined,
  ): Promise<void> {
    const basis = { type: String((input.basis as { type?: unknown } | undefined)?.type) };
    await this.o.directory.tx((d) =>
      auditIn(this.o.audit, d, by, "export.request", null, "denied", {
        ...summary({
          basis,
          hold: input.hold ?? holdMade ?? null,
          recipient: input.recipient,
          purpose: input.purpose,
        }),
        reason: e.message,
        ...(e.field ? { field: e.field } : {}),
        ...(quotedPolicy(e) ? { policy: quotedPolicy(e)?.rule } : {}),
      }),
    );
  }

  private checkText(v: unknown, field: string, max: number, what: string): string {
    const value = typeof v === "string" ? v.trim() : "";
    if (!value) throw new ServiceError("invalid", `expected ${what}`, field);
    if (value.length > max) throw new ServiceError("invalid", `at most ${max} characters: ${what}`, field);
    return value;
  }

  private checkRecipient(r: Recipient | undefined): Recipient {
    const raw = (r ?? {}) as Partial<Record<keyof Recipient, unknown>>;
    return {
      name: this.checkText(raw.name, "recipient/name", MAX_TEXT, "the recipient's name"),
      organisation: this.checkText(
        raw.organisation,
        "recipient/organisation",
        MAX_TEXT,
        "the recipient's organisation",
      ),
      delivery: this.checkText(
        raw.delivery,
        "recipient/delivery",
        MAX_TEXT,
        "how it is handed over (e.g. in person, USB drive)",
      ),
    };
  }

  /**
   * The hold the export belongs to: the one named (not refused or released, covering every range),
   * else one requested or active covering them all (active first), else a hold request made now
   * from the basis's written request. A criminal basis has none, so unheld footage is refused.
   */
  private async holdFor(
    input: ExportRequestInput,
    basis: BasisInput,
    purpose: string,
    by: ActionContext,
  ): Promise<{ id: number; made: boolean }> {
    const uncovered = (h: Hold) => input.ranges.findIndex((r) => !covers(h.ranges, r));
    if (input.hold !== undefined) {
      const h = await this.o.holds.get(input.hold).catch((e: unknown) => {
        if (e instanceof ServiceError && e.kind === "not_found") {
          throw new ServiceError("invalid", `no hold or hold request ${input.hold}`, "hold");
        }
        throw e;
      });
      if (h.status === "refused" || h.status === "released") {
        throw policyRefusal(
          `hold ${h.id} is ${h.status}: its footage is no longer held`,
          "hold",
          POLICY.writtenRequest,
        );
      }
      const i = uncovered(h);
      if (i >= 0) throw new ServiceError("invalid", `hold ${h.id} does not cover this range`, `ranges/${i}`);
      return { id: h.id, made: false };
    }
    for (const status of ["active", "requested"] as const) {
      const found = (await this.o.holds.list({ status })).find((h) => uncovered(h) < 0);
      if (found) return { id: found.id, made: false };
    }
    if (basis.type === "criminal") {
      throw policyRefusal(
        "no hold covers this footage, and a criminal basis carries no written request to hold it on: file a hold request with the signed form first, then name its hold",
        "hold",
        POLICY.writtenRequest,
      );
    }
    // The court order or the agency's written request is the formal written request the hold is made on.
    const made = await this.o.holds.request(
      basis.type === "court_order"
        ? {
            formNumber: basis.docketNumber,
            receivedOn: basis.orderDate,
            requestedBy: basis.judge,
            agency: basis.court,
            caseNumber: basis.docketNumber,
            legalBasis: "court_order",
            reason: purpose,
            ranges: input.ranges,
            form: basis.scan as Uint8Array,
          }
        : {
            formNumber: basis.requestNumber,
            receivedOn: basis.requestDate,
            requestedBy: basis.agency,
            agency: basis.agency,
            caseNumber: basis.requestNumber,
            legalBasis: "agency_request",
            reason: purpose,
            ranges: input.ranges,
            form: basis.scan as Uint8Array,
          },
      by,
    );
    return { id: made.id, made: true };
  }

  /** The basis's scan stored by hash (as a hold form is), and how the package will name it. */
  private async storeScan(basis: BasisInput) {
    if (basis.type === "criminal") return undefined;
    const stored = await storeForm(this.o.evidenceRoot, basis.scan as Uint8Array, "basis/scan").catch(
      (e: unknown) => {
        throw e instanceof ServiceError && e.field
          ? policyRefusal(e.bareMessage, e.field, basisRule(basis))
          : e;
      },
    );
    return {
      path: stored.path,
      ref: {
        file: packageScanName(basis.type, stored.path),
        sha256: stored.sha256,
        type: stored.type,
        bytes: stored.bytes,
      },
    };
  }

  approve(id: number, note: string, by: ActionContext): Promise<ExportRecord> {
    return this.transition(id, "approve", note, by);
  }

  refuse(id: number, reason: string, by: ActionContext): Promise<ExportRecord> {
    return this.transition(id, "refuse", reason, by);
  }

  cancel(id: number, reason: string, by: ActionContext): Promise<ExportRecord> {
    return this.transition(id, "cancel", reason, by);
  }

  /**
   * A decision or a cancellation: checked, made and audited in one unit of work; a refused attempt
   * is audited, committed and then thrown.
   */
  private async transition(id: number, verb: Verb, text: string, by: ActionContext): Promise<ExportRecord> {
    const action = `export.${verb}`;
    const result = await this.o.directory.tx(async (d): Promise<ServiceError | undefined> => {
      const row = await d.exports.get(id);
      if (!row) return new ServiceError("not_found", `no export ${id}`);
      const deny = async (
        kind: "forbidden" | "conflict",
        reason: string,
        extra?: Record<string, unknown>,
      ) => {
        await auditIn(this.o.audit, d, by, action, `export:${id}`, "denied", {
          ...summary(row),
          reason,
          requestedBy: row.requestedBy,
        });
        return new ServiceError(
          kind,
          `${by.actor} may not ${verb} export ${id}: ${reason}`,
          undefined,
          extra,
        );
      };
      const who = this.actorProblem(row, verb, by);
      if (who) return deny("forbidden", who);
      // A running export can be cancelled too: the job runner sees the row and aborts its production.
      const from: readonly ExportStatus[] =
        verb === "cancel" ? ["requested", "queued", "running"] : ["requested"];
      if (!from.includes(row.status)) {
        return deny("conflict", `it is ${row.status}; this needs it to be ${from.join(" or ")}`, {
          exportStatus: row.status,
        });
      }
      if (verb === "approve") {
        const hold = await d.holds.get(row.hold);
        if (hold?.status !== "active") {
          const status = hold?.status ?? "missing";
          return deny(
            "conflict",
            status === "requested"
              ? `its hold ${row.hold} is requested: the hold awaits the commander's approval, then the export can be approved`
              : `its hold ${row.hold} is ${status}: its footage is no longer held`,
            { holdStatus: status },
          );
        }
      }
      const at = this.now();
      if (verb === "cancel") await d.exports.cancel(id, { by: by.actor, at, reason: text });
      else {
        await d.exports.decide(id, {
          status: verb === "approve" ? "queued" : "refused",
          by: by.actor,
          at,
          note: text,
          ...(verb === "refuse" ? { error: `refused by ${by.actor}: ${text}` } : {}),
        });
      }
      await auditIn(this.o.audit, d, by, action, `export:${id}`, "success", {
        ...summary(row),
        from: row.status,
        to: verb === "approve" ? "queued" : verb === "refuse" ? "refused" : "cancelled",
        [verb === "approve" ? "note" : "reason"]: text,
      });
      return undefined;
    });
    if (result) throw result;
    if (verb !== "refuse") this.o.onChange?.(id, verb === "approve" ? "queued" : "cancelled");
    return this.get(id, by);
  }

  /** Why `by` may not do `verb` to the export, or undefined when it may. */
  private actorProblem(row: StoredExport, verb: Verb, by: ActionContext): string | undefined {
    const commander = grants(by, "exports.approve");
    if (verb === "cancel") {
      return row.requestedBy === by.actor || commander
        ? undefined
        : "only the person who entered it or a commander cancels an export";
    }
    if (!commander) return "only a commander approves or refuses an export";
    // Two-person rule: the one who entered the request never releases the footage on it.
    if (row.requestedBy === by.actor)
      return "they entered this export request; another commander must decide it";
    return undefined;
  }

  async get(id: number, by: ActionContext): Promise<ExportRecord> {
    this.mayRead(by);
    const row = await this.o.directory.read((d) => d.exports.get(id));
    if (!row) throw new ServiceError("not_found", `no export ${id}`);
    return this.record(row);
  }

  async list(by: ActionContext): Promise<ExportRecord[]> {
    this.mayRead(by);
    return (await this.o.directory.read((d) => d.exports.list())).map((r) => this.record(r));
  }

  private mayRead(by: ActionContext): void {
    if (!grants(by, "exports.read")) {
      throw new ServiceError("forbidden", `${by.actor} may not read exports`);
    }
  }

  /** Where the scan is stored stays inside: callers see the record. */
  private record(row: StoredExport): ExportRecord {
    const { scanPath: _stored, ...record } = row;
    return record;
  }
}
