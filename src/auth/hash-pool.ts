/**
 * Bounds password hashing. scrypt runs on libuv's thread pool (4 threads), which file I/O shares, so a
 * flood of sign-ins that took every thread would stall the catalog, storage and readiness checks.
 * Invariant: at most `concurrency` jobs run at once and at most `queue` wait; a job beyond both is
 * refused at once (HashPoolFull), never queued.
 */

export class HashPoolFull extends Error {
  constructor(
    readonly concurrency: number,
    readonly queue: number,
  ) {
    super(`password hashing is busy (${concurrency} running, ${queue} waiting)`);
    this.name = "HashPoolFull";
  }
}

export class HashPool {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    readonly concurrency: number,
    readonly queue: number,
  ) {}

  /** Runs `job` when a slot is free; the admission check is synchronous, so a burst is bounded. */
  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.running < this.concurrency) this.running++;
    else if (this.waiting.length < this.queue) await new Promise<void>((go) => this.waiting.push(go));
    else throw new HashPoolFull(this.concurrency, this.queue);
    try {
      return await job();
    } finally {
      // The slot passes straight to the next waiter, so `running` never counts a slot twice.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }

  get busy(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }
}
