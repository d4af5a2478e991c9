import type { ActionContext } from "../auth/service.js";
import type { PurgeHealth } from "../health/health.js";

/**
 * The purger as its callers use it (API routes, `pscs purge`): what a run would destroy, a run, and
 * the destruction log. Implemented in retention/.
 */

export type PurgeReason = "retention" | "disk_pressure";
export type PurgeTrigger = "schedule" | "manual" | "disk_pressure";

export interface ExpiredSegment {
  id: number;
  camera: string;
  startMs: number;
  endMs: number;
  path: string;
  bytes: number;
  sha256: string;
}

export interface PurgePlan {
  cutoffMs: number;
  count: number;
  bytes: number;
  /** The first ones, oldest first (a dry run shows these). */
  segments: ExpiredSegment[];
}

export interface PurgeResult {
  run: number;
  trigger: PurgeTrigger;
  cutoffMs: number;
  destroyed: number;
  bytes: number;
  /** Of which destroyed early because the disk was short of space. */
  pressure: number;
  /** Marked rows from an earlier, interrupted run that this run finished. */
  recovered: number;
  failures: { segment: number; path: string; error: string }[];
  startedAt: number;
  finishedAt: number;
}

export interface DestroyedSegment {
  segment: number;
  camera: string;
  startMs: number;
  endMs: number;
  bytes: number;
  sha256: string;
  path: string;
  reason: string;
  run: number;
  destroyedAt: number;
}

export interface DestructionFilter {
  camera?: string;
  from?: number;
  to?: number;
  limit?: number;
}

export interface PurgeDesk {
  /** What a run now would destroy for age (disk pressure aside). */
  plan(show?: number): Promise<PurgePlan>;
  /** One run at a time per process, audited with who asked; a second caller gets the run in progress. */
  run(trigger: PurgeTrigger, by: ActionContext): Promise<PurgeResult>;
  /** The destruction log, newest first. */
  destroyed(filter: DestructionFilter): DestroyedSegment[];
  health(): Promise<PurgeHealth>;
}
