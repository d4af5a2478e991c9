import { SYSTEM_ACTOR } from "../audit/actors.js";
import type { AuditLog } from "../audit/log.js";
import type { Logger } from "../log/logger.js";
import type { ClockExcursion } from "./connection.js";

/**
 * A camera clock's excursions in the audit log (`camera.clock_off`, `camera.clock_restored`):
 * burned-in camera time that stops matching the recording is a fact an auditor must see. The log
 * also says whether an excursion was open when pscsd stopped, so a restart goes on with the same one.
 */
export class ClockAudit {
  constructor(
    private readonly audit: AuditLog,
    private readonly log: Logger,
  ) {}

  record(e: ClockExcursion): void {
    this.audit
      .append({
        ...SYSTEM_ACTOR,
        action: e.off ? "camera.clock_off" : "camera.clock_restored",
        target: `camera:${e.camera}`,
        outcome: e.off ? "failure" : "success",
        details: { offsetMs: e.sample.offsetMs, rttMs: e.sample.rttMs, limitMs: e.limitMs },
      })
      // A catalog that refuses the entry must not make the camera look unreachable.
      .catch((err: unknown) =>
        this.log.error({ err, camera: e.camera, off: e.off }, "camera clock excursion not audited"),
      );
  }

  /** Whether the camera's latest audited verdict is "off". */
  async wasOff(camera: string): Promise<boolean> {
    const last = async (action: string) =>
      (await this.audit.list({ target: `camera:${camera}`, action, order: "desc", limit: 1 }))[0]?.seq ?? 0;
    return (await last("camera.clock_off")) > (await last("camera.clock_restored"));
  }
}
