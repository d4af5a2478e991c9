import type { Gaps } from "../src/catalog/footage/gaps.js";

/**
 * One camera's outages as gap rows: the time it is not recorded, and why.
 * Invariant: one outage is one gap row, however many ffmpeg runs fail in it (a run that kept no
 * footage reopens the gap its first media closed); the row's cause says what began the outage and,
 * once the reason changes, what keeps it going now: `<first>; then <latest>`.
 */

/** A gap closed at a run's first media, reopened if that run keeps nothing. */
export interface ClosedGap {
  endMs: number;
  outage: { first: string; latest: string } | undefined;
}

export class OutageGaps {
  private outage: { first: string; latest: string } | undefined;
  /** The cause last written (a cause that did not change is not written again). */
  private written: string | undefined;

  constructor(
    private readonly store: Gaps,
    private readonly camera: string,
  ) {}

  /** The recorder starts: the time pscsd was down is a gap of its own, then the start-up one opens. */
  start(atMs: number): void {
    const cause = "pscsd starting";
    this.store.startGaps(this.camera, atMs, cause);
    this.outage = { first: cause, latest: cause };
    this.written = cause;
  }

  /** Whether an outage is open now. */
  get open(): boolean {
    return this.outage !== undefined;
  }

  /** The outage's cause as known now, on its gap row (opened from `startMs` if none is open). */
  note(startMs: number, cause: string): void {
    this.outage = this.outage ? { ...this.outage, latest: cause } : { first: cause, latest: cause };
    const { first, latest } = this.outage;
    const text = latest === first ? first : `${first}; then ${latest}`;
    if (text === this.written) return;
    this.written = text;
    this.store.openGap(this.camera, startMs, text);
  }

  /** Media flows again from `atMs`: the outage ends there, unless the run keeps nothing (reopen). */
  close(atMs: number): ClosedGap {
    this.store.closeGap(this.camera, atMs);
    const closed = { endMs: atMs, outage: this.outage };
    this.outage = undefined;
    this.written = undefined;
    return closed;
  }

  /** The end of a closed gap, moved to a better estimate of when recording resumed. */
  moveEnd(closed: ClosedGap, toMs: number): void {
    this.store.moveGapEnd(this.camera, closed.endMs, toMs);
    closed.endMs = toMs;
  }

  /** The run that closed `closed` kept no footage: the outage goes on, in the same row. */
  reopen(closed: ClosedGap): void {
    this.store.reopenGap(this.camera, closed.endMs);
    this.outage = closed.outage;
    this.written = undefined;
  }
}
