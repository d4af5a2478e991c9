import type { ActionContext } from "../auth/acting.js";
import { RefusalPace } from "../auth/refusal-pace.js";
import type { Logger } from "../log/logger.js";
import { scrubbedExcerpt } from "../log/redact.js";
import type { AuditLog } from "./log.js";

/**
 * Requests refused for their form (ill-formed text, an unknown field, a value out of bounds, the
 * wrong content type, a body where none is taken) after their caller was authenticated and
 * authorized, before any service ran: audited as `http.invalid` on `route:<operationId>`, denied,
 * with method, path, status and the fields refused, each message a short scrubbed excerpt (it may
 * quote the value, which may be garbage or a secret).
 * Invariant: at most one entry per actor and route every `periodMs`, whose `count` is how many
 * refusals it stands for; those held meanwhile are counted into the next refusal's entry, or
 * written by a timer when their period is over. The timer runs only while some are held, and
 * `stop` writes what is still held.
 */

/** What the route refused. */
export interface InvalidRequest {
  method: string;
  path: string;
  status: number;
  /** Where and why, as the problem named them (`body.ranges[0].from`, its message). */
  errors: { field: string; message: string }[];
}

export const INVALID_AUDIT_EVERY_MS = 10_000;
/** An entry names at most this many fields; the problem itself names up to 20. */
const MAX_FIELDS = 5;
const FIELD_CHARS = 80;
const MESSAGE_CHARS = 120;
const PATH_CHARS = 120;

/** Where the API reports a request it refused for its form (RequestRefusals is the implementation). */
export interface RefusalAudit {
  /** Records one refusal (never rejects: the refusal is answered all the same). */
  invalid(by: ActionContext, operationId: string, request: InvalidRequest): Promise<void>;
}

type Held = { by: ActionContext; operationId: string; request: InvalidRequest };

export class RequestRefusals implements RefusalAudit {
  private readonly pace: RefusalPace<Held>;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly audit: AuditLog,
    private readonly log: Logger,
    periodMs = INVALID_AUDIT_EVERY_MS,
    private readonly now: () => number = Date.now,
  ) {
    this.pace = new RefusalPace<Held>(periodMs);
  }

  /** Records one refusal (never rejects: the refusal is answered all the same). */
  async invalid(by: ActionContext, operationId: string, request: InvalidRequest): Promise<void> {
    const held: Held = { by, operationId, request };
    const paced = this.pace.take(`${by.actor}|${operationId}`, this.now(), held);
    if (paced.write) return this.write(held, 1 + paced.unwritten);
    this.arm();
  }

  /** Writes every refusal still held (at pscsd's stop, while the audit log is open). */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.writeDue(this.now(), true);
  }

  /** One timer, and only while some refusal is held: an idle pscsd is not woken for nothing. */
  private arm(): void {
    const due = this.pace.nextDue();
    if (this.timer || due === undefined) return;
    this.timer = setTimeout(() => this.flush(), Math.max(0, due - this.now()));
  }

  private flush(): void {
    this.timer = undefined;
    void this.writeDue(this.now()).then(() => this.arm());
  }

  private async writeDue(now: number, all = false): Promise<void> {
    for (const h of this.pace.due(now, all)) await this.write(h.latest, h.unwritten);
  }

  private async write({ by, operationId, request }: Held, count: number): Promise<void> {
    const errors = request.errors.slice(0, MAX_FIELDS).map((e) => ({
      field: scrubbedExcerpt(e.field, FIELD_CHARS),
      message: scrubbedExcerpt(e.message, MESSAGE_CHARS),
    }));
    try {
      await this.audit.append({
        ...by,
        action: "http.invalid",
        target: `route:${operationId}`,
        outcome: "denied",
        details: {
          method: request.method,
          path: scrubbedExcerpt(request.path, PATH_CHARS),
          status: request.status,
          errors,
          ...(request.errors.length > MAX_FIELDS ? { fieldCount: request.errors.length } : {}),
          count,
        },
      });
    } catch (err) {
      // The refusal is answered all the same; the log says its entry is missing.
      this.log.error({ err, route: operationId, count }, "refused request not audited");
    }
  }
}
