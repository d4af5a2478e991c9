import { SYSTEM_ACTOR } from "../src/audit/actors.js";
import type { AuditEvent, AuditLog } from "../src/audit/log.js";
import type { ReconcileReport } from "./reconcile.js";

/**
 * A reconciliation pass in the audit log: footage gone from disk (`segment.missing`, one entry per
 * segment) and footage recovered, damaged or discarded after a crash (`segment.reconcile`) are facts
 * an auditor must see. A pass that found nothing writes nothing.
 */
export async function auditReconcile(
  audit: AuditLog,
  r: ReconcileReport,
  pass: "startup" | "sweep",
): Promise<void> {
  const events: AuditEvent[] = r.missing.map((m) => ({
    ...SYSTEM_ACTOR,
    action: "segment.missing",
    target: `camera:${m.camera}`,
    outcome: "failure",
    details: { pass, path: m.path, startMs: m.startMs, endMs: m.endMs, sha256: m.sha256 },
  }));
  if (r.recovered.length || r.damaged.length || r.discarded || r.orphansKilled) {
    events.push({
      ...SYSTEM_ACTOR,
      action: "segment.reconcile",
      outcome: "success",
      details: {
        pass,
        recovered: r.recovered,
        damaged: r.damaged,
        discardedEmpty: r.discarded,
        orphanFfmpegsKilled: r.orphansKilled,
      },
    });
  }
  if (events.length) await audit.appendMany(events);
}
