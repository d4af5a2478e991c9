import type { Outcome } from "../audit/chain.js";
import type { AuditLog } from "../audit/log.js";
import type { DirectoryTx } from "../catalog/directory/directory.js";

/** Who is acting, through which role, from where: what each audit entry records. */
export interface ActionContext {
  actor: string;
  role: string | null;
  client: string;
}

/** Writes what `ctx` did as an audit entry in the unit of work `d`, so it commits with the change. */
export async function auditIn(
  audit: AuditLog,
  d: DirectoryTx,
  ctx: ActionContext,
  action: string,
  target: string | null,
  outcome: Outcome,
  details?: Record<string, unknown>,
): Promise<void> {
  await audit.appendIn(d, {
    actor: ctx.actor,
    role: ctx.role,
    action,
    target,
    outcome,
    client: ctx.client,
    details,
  });
}
