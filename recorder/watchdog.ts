/**
 * The recorder's one watchdog timer, shared by every camera: each wake-up costs pscsd about 0.3 ms of
 * CPU from idle on this kind of machine, whatever it then does, so cameras do not get a timer each.
 * It does not look on a fixed beat: it sleeps until the earliest moment any camera could have
 * stalled (its newest media's arrival plus the stall limit, as the cameras answer), so flowing
 * cameras cost about four looks a minute however many there are, and a stall is seen when its limit
 * runs out rather than up to a beat later.
 * Invariant: while started, exactly one timer is armed, between minMs and maxMs ahead.
 */

export interface WatchdogBounds {
  /** Never sooner than this: a camera whose deadline is now must not spin the event loop. */
  minMs: number;
  /** Never later than this, whatever the cameras answer: a look is also the pause check's backstop. */
  maxMs: number;
}

export class Watchdog {
  private timer: NodeJS.Timeout | undefined;
  private dueAt = Number.POSITIVE_INFINITY;

  /**
   * @param look looks at every camera now; answers in how many ms the next look is needed, or
   *   undefined when no camera needs one sooner than maxMs.
   */
  constructor(
    private readonly look: () => number | undefined,
    private readonly bounds: WatchdogBounds,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    if (!this.timer) this.arm(this.bounds.maxMs);
  }

  /** Looks now (something changed that cannot wait, e.g. recording was paused), then re-arms. */
  lookNow(): void {
    if (this.timer) this.fire();
  }

  /** A look is needed within `ms` (a camera started a run): brings the timer forward if it is later. */
  within(ms: number): void {
    if (this.timer && this.now() + Math.max(ms, this.bounds.minMs) < this.dueAt) this.arm(ms);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.dueAt = Number.POSITIVE_INFINITY;
  }

  private fire(): void {
    let next: number | undefined;
    try {
      next = this.look();
    } finally {
      // A look that threw still leaves the watchdog armed (the error itself goes on up).
      this.arm(next ?? this.bounds.maxMs);
    }
  }

  private arm(ms: number): void {
    const delay = Math.min(this.bounds.maxMs, Math.max(this.bounds.minMs, Math.ceil(ms)));
    clearTimeout(this.timer);
    this.dueAt = this.now() + delay;
    this.timer = setTimeout(() => this.fire(), delay);
  }
}
