import { type ScheduledTask, schedule } from "node-cron";
import { SYSTEM_ACTOR } from "../src/audit/actors.js";
import type { Logger } from "../src/log/logger.js";
import type { Purger } from "./purger.js";

/**
 * Runs the purger on its cron schedule (UTC, so a DST change never skips or doubles a run). A run
 * that fails is logged, audited by the purger and retried at the next tick; runs never overlap.
 */
export class PurgeSchedule {
  private task: ScheduledTask | undefined;

  constructor(
    private readonly purger: Purger,
    private readonly expression: string,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.task ??= schedule(
      this.expression,
      () =>
        this.purger.run("schedule", SYSTEM_ACTOR).then(
          (r) => this.log.info({ run: r.run, destroyed: r.destroyed, bytes: r.bytes }, "purge run finished"),
          (err: unknown) => this.log.error({ err }, "scheduled purge failed"),
        ),
      { name: "purge", timezone: "Etc/UTC", noOverlap: true, unref: true },
    );
  }

  nextRun(): number | undefined {
    return this.task?.getNextRun()?.getTime();
  }

  /** Time between the next two runs: how late the purger may be on expired footage. */
  intervalMs(): number | undefined {
    const [a, b] = this.task?.getNextRuns(2) ?? [];
    return a && b ? b.getTime() - a.getTime() : undefined;
  }

  async stop(): Promise<void> {
    await this.task?.destroy();
    this.task = undefined;
  }
}
