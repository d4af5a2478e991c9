import type { Writable } from "node:stream";
import { z } from "zod";
import { isRole, roleGranting } from "../auth/roles.js";
import type { ActionContext } from "../auth/service.js";
import type { Directory } from "../catalog/directory/directory.js";
import { ServiceError } from "../errors/service-error.js";
import { writeAuditCsv } from "./csv.js";
import type { AuditEntry, AuditFilter, AuditLog, VerifyOptions, VerifyResult } from "./log.js";
import { drawSample, type Sample } from "./sample.js";

/**
 * The audit log as people read it: browse, export, verify, draw the inspection sample. Every caller
 * (API, CLI, a later WebSocket or export job) goes through these methods, which take the acting
 * person.
 * Invariant: a request is checked here (the caller's role grants the permission, the filter and the
 * sample are well-formed) before anything is read, and an export or a sample is audited, naming who
 * asked, what and why (the filter, the seed), before its result can reach the caller.
 */

const OUTCOMES = ["success", "failure", "denied"] as const;

/** What a filter may name; the API's schemas are built from these, so both refuse the same input. */
export const AUDIT_FILTER_TEXT = {
  actor: z.string().min(1).max(100),
  action: z
    .string()
    .regex(/^[a-z][a-z0-9_.-]{0,63}$/, "expected an action such as 'auth.login' or a prefix such as 'auth.'"),
  target: z.string().min(1).max(200),
  camera: z.string().min(1).max(64),
  outcome: z.enum(OUTCOMES),
};

/** A period's bound in a filter: epoch milliseconds, read from whatever the person typed. */
const filterTime = z.int();
/** A sample's period, as the API has always taken it: epoch milliseconds from 1970 on. */
const sampleTime = z.int().min(0);

const filterShape = {
  from: filterTime.optional(),
  to: filterTime.optional(),
  actor: AUDIT_FILTER_TEXT.actor.optional(),
  action: AUDIT_FILTER_TEXT.action.optional(),
  target: AUDIT_FILTER_TEXT.target.optional(),
  camera: AUDIT_FILTER_TEXT.camera.optional(),
  outcome: AUDIT_FILTER_TEXT.outcome.optional(),
};
const filterSchema = z.strictObject(filterShape);

/** The page size people may ask for, and the one they get by default. */
export const AUDIT_PAGE = { max: 1000, default: 100 } as const;

const listSchema = z.strictObject({
  ...filterShape,
  after: z.int().min(0).optional(),
  order: z.enum(["asc", "desc"]).optional(),
  limit: z.int().min(1).max(AUDIT_PAGE.max).optional(),
});

/** The most items one draw may ask for. */
export const SAMPLE_MAX = 100;

/** A draw of the inspection sample; the API takes this as its body. */
export const SAMPLE_REQUEST = z.strictObject({
  count: z.int().min(1).max(SAMPLE_MAX).default(4),
  seed: z.string().min(1).max(100).optional(),
  from: sampleTime.optional(),
  to: sampleTime.optional(),
});

export type AuditFilterRequest = z.input<typeof filterSchema>;
export type AuditListRequest = z.input<typeof listSchema>;
export type SampleRequest = z.input<typeof SAMPLE_REQUEST>;

export interface AuditPage {
  entries: AuditEntry[];
  /** The `after` of the next page, or null when this one was not full. */
  next: number | null;
}

/** An export allowed and audited: the CSV goes to whatever the caller writes it to. */
export interface AuditCsvExport {
  /** Writes the CSV (see writeAuditCsv) and resolves with the entries written. */
  writeTo(out: Writable): Promise<number>;
}

/** What callers of the audit log's reading side use; api/ is typed against this. */
export interface AuditInspection {
  list(request: AuditListRequest, by: ActionContext): Promise<AuditPage>;
  /** Audits the export (`audit.export`, naming the filter) before it hands back the writer. */
  export(filter: AuditFilterRequest, by: ActionContext): Promise<AuditCsvExport>;
  /** Walks the chain now (not audited: it reveals nothing but whether the chain holds). */
  verify(by: ActionContext, opts?: VerifyOptions): Promise<VerifyResult>;
  /** Draws the sample and audits the draw (`audit.sample`: seed, count, period, items). */
  sample(request: SampleRequest, by: ActionContext): Promise<Sample>;
}

export class AuditInspectionService implements AuditInspection {
  constructor(
    private readonly audit: AuditLog,
    /** Where drawn PTZ sessions are read in full from. */
    private readonly directory?: Directory,
  ) {}

  async list(request: AuditListRequest, by: ActionContext): Promise<AuditPage> {
    await this.permitted(by, "audit.read", "audit.list");
    const filter: AuditFilter = valid(listSchema, request);
    const entries = await this.audit.list(filter);
    return {
      entries,
      next: entries.length === (filter.limit ?? AUDIT_PAGE.default) ? (entries.at(-1)?.seq ?? null) : null,
    };
  }

  async export(request: AuditFilterRequest, by: ActionContext): Promise<AuditCsvExport> {
    await this.permitted(by, "audit.read", "audit.export");
    const filter = valid(filterSchema, request);
    await this.audit.append({ ...by, action: "audit.export", outcome: "success", details: { filter } });
    return { writeTo: (out) => writeAuditCsv(this.audit, filter, out) };
  }

  async verify(by: ActionContext, opts: VerifyOptions = {}): Promise<VerifyResult> {
    await this.permitted(by, "audit.read", "audit.verify");
    return this.audit.verify(opts);
  }

  async sample(request: SampleRequest, by: ActionContext): Promise<Sample> {
    await this.permitted(by, "audit.sample", "audit.sample");
    const r = valid(SAMPLE_REQUEST, request);
    const sample = await drawSample(this.audit, r, this.directory);
    await this.audit.append({
      ...by,
      action: "audit.sample",
      outcome: "success",
      details: {
        seed: sample.seed,
        count: r.count,
        from: sample.from,
        to: sample.to,
        items: sample.items.map((i) => i.target),
      },
    });
    return sample;
  }

  /** Refuses, and audits the refusal, unless the role `by` acts in grants the permission. */
  private async permitted(
    by: ActionContext,
    permission: "audit.read" | "audit.sample",
    action: string,
  ): Promise<void> {
    if (by.role && isRole(by.role) && roleGranting([by.role], permission)) return;
    const reason = `lacks permission ${permission}`;
    await this.audit.append({ ...by, action, outcome: "denied", details: { reason } });
    throw new ServiceError(
      "forbidden",
      `this needs permission '${permission}', which role ${by.role ?? "(none)"} does not grant`,
    );
  }
}

/** The request as its schema reads it, or a refusal naming the first field at fault. */
function valid<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0] as z.core.$ZodIssue;
  const path = issue.code === "unrecognized_keys" ? [...issue.path, issue.keys[0] ?? ""] : issue.path;
  const message = issue.code === "unrecognized_keys" ? "unknown field" : issue.message;
  const field = path.map(String).join("/");
  throw new ServiceError("invalid", field ? `${field}: ${message}` : message, field || undefined);
}
