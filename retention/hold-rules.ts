import { HOLD_LIMIT_DEFAULTS } from "../src/config/schema.js";
import { ServiceError } from "../src/errors/service-error.js";

/**
 * What a written hold request may ask for, and when one has waited too long for the commander. A
 * pending request protects its footage from the purger before anyone has reviewed it, so what one
 * request can protect is bounded here, for the API and the CLI alike (why the defaults:
 * `retention.holds` in src/config/schema.ts).
 */

export interface HoldLimits {
  /** Camera ranges in one request. */
  maxRanges: number;
  /** Span of each range, in days. */
  maxRangeDays: number;
  /** Sum of the spans of a request's ranges, in days. */
  maxTotalDays: number;
  /** A request still pending this many days after it was entered is shown as overdue. */
  overdueDays: number;
  /** Requests one person may have pending (each protects its footage before anyone reviewed it). */
  maxPendingPerPerson: number;
}

/** The config file's defaults, for services made without one (tests, tools). */
export const DEFAULT_HOLD_LIMITS: HoldLimits = HOLD_LIMIT_DEFAULTS;

const DAY_MS = 86_400_000;
/** A request's range may reach this far ahead: an incident still going on is held as it is recorded. */
const MAX_FUTURE_MS = 24 * 3_600_000;
/** No place on Earth is further ahead of UTC (Kiribati, UTC+14): the latest date any site can have. */
const MAX_ZONE_AHEAD_MS = 14 * 3_600_000;

export interface RangeInput {
  camera: string;
  fromMs: number;
  toMs: number;
}

/**
 * The ranges' shape: known cameras, `to` after `from`, and within the count and span bounds.
 * Invariant: every range a hold request or a coverage check takes has passed this.
 */
export function checkRanges(
  ranges: readonly RangeInput[],
  limits: HoldLimits,
  cameras: ReadonlySet<string>,
): void {
  if (ranges.length === 0) throw new ServiceError("invalid", "expected at least one camera range", "ranges");
  if (ranges.length > limits.maxRanges) {
    throw new ServiceError(
      "invalid",
      `a request names at most ${limits.maxRanges} camera ranges (this one has ${ranges.length}); file one request per incident`,
      "ranges",
    );
  }
  let totalMs = 0;
  ranges.forEach((r, i) => {
    if (!cameras.has(r.camera)) {
      throw new ServiceError(
        "invalid",
        `no camera '${r.camera}'; cameras: ${[...cameras].join(", ")}`,
        `ranges/${i}/camera`,
      );
    }
    if (!(r.toMs > r.fromMs))
      throw new ServiceError("invalid", "expected the range to end after it starts", `ranges/${i}/to`);
    if (r.toMs - r.fromMs > limits.maxRangeDays * DAY_MS) {
      throw new ServiceError(
        "invalid",
        `a range spans at most ${limits.maxRangeDays} days`,
        `ranges/${i}/to`,
      );
    }
    totalMs += r.toMs - r.fromMs;
  });
  if (totalMs > limits.maxTotalDays * DAY_MS) {
    throw new ServiceError(
      "invalid",
      `the ranges together span ${(totalMs / DAY_MS).toFixed(1)} days; a request covers at most ${limits.maxTotalDays} days in all`,
      "ranges",
    );
  }
}

/** A request's ranges are about footage that exists, or (briefly) an incident still going on. */
export function checkRequestRanges(ranges: readonly RangeInput[], now: number): void {
  ranges.forEach((r, i) => {
    if (r.fromMs > now) {
      throw new ServiceError(
        "invalid",
        "the range starts in the future: nothing to hold yet",
        `ranges/${i}/from`,
      );
    }
    if (r.toMs > now + MAX_FUTURE_MS) {
      throw new ServiceError(
        "invalid",
        "the range ends more than 24 hours from now; file a new request later",
        `ranges/${i}/to`,
      );
    }
  });
}

/** Today's date (YYYY-MM-DD) at the site; without a site time zone, the latest date anywhere. */
export function latestSiteDate(now: number, timeZone?: string): string {
  if (timeZone) {
    // en-CA formats a date as YYYY-MM-DD.
    return new Intl.DateTimeFormat("en-CA", {
      timeZone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
    }).format(now);
  }
  return new Date(now + MAX_ZONE_AHEAD_MS).toISOString().slice(0, 10);
}

/**
 * Why `date` is not a real calendar date (YYYY-MM-DD) on or before today at the site, or undefined
 * when it is one. `what` names the date ("the signed form was received"), `late` says what a date
 * after today would mean ("the form cannot have been received").
 */
export function pastDateProblem(
  date: string,
  o: { what: string; late: string },
  now: number,
  timeZone?: string,
): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  const day = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : undefined;
  if (!day || day.toISOString().slice(0, 10) !== date) return `expected the date ${o.what}, YYYY-MM-DD`;
  const today = latestSiteDate(now, timeZone);
  if (date > today) return `${o.late} after today (${today}${timeZone ? ` in ${timeZone}` : ""})`;
  return undefined;
}

/** The date the signed form was received: a real calendar date, and not after today at the site. */
export function checkReceivedOn(receivedOn: string, now: number, timeZone?: string): void {
  const problem = pastDateProblem(
    receivedOn,
    { what: "the signed form was received", late: "the form cannot have been received" },
    now,
    timeZone,
  );
  if (problem) throw new ServiceError("invalid", problem, "receivedOn");
}

/** Invariant: only a pending request is overdue, from `overdueDays` after it was entered. */
export function isOverdue(
  h: { status: string; enteredAt: number },
  now: number,
  overdueDays: number,
): boolean {
  return h.status === "requested" && h.enteredAt < overdueCutoff(now, overdueDays);
}

/** Requests entered before this are overdue if still pending. */
export function overdueCutoff(now: number, overdueDays: number): number {
  return now - overdueDays * DAY_MS;
}
