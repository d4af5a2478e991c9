import type { AccessUnit, LiveSubscription } from "../../src/live/feed.js";

/**
 * One viewer's queue of access units: the producer pushes without ever waiting, the viewer pulls at
 * its own pace. Invariant: a queue never holds more than its bound (frames and bytes); a viewer past
 * it is paused — what it queued and what arrives are dropped — and resumed at the next key frame,
 * so it jumps to the present with a picture its decoder can start from, and nobody waits for it.
 * Queues share the access units (never copied), so stalled viewers together hold no more than the
 * camera's last `maxFrames` frames.
 */

export interface ViewerBound {
  maxFrames: number;
  maxBytes: number;
}

export class LiveViewer implements LiveSubscription {
  private queue: AccessUnit[] = [];
  private queuedBytes = 0;
  private waitingForKey = true;
  private wake: ((au: AccessUnit | undefined) => void) | undefined;
  private closed = false;
  delivered = 0;
  dropped = 0;

  constructor(
    private readonly bound: ViewerBound,
    private readonly onClose: (v: LiveViewer) => void,
  ) {}

  /** Producer side: never blocks, never throws. Returns the frames dropped by this push. */
  push(au: AccessUnit): number {
    if (this.closed) return 0;
    if (this.waitingForKey && !au.keyframe) {
      this.dropped += 1;
      return 1;
    }
    this.waitingForKey = false;
    if (this.wake) {
      const wake = this.wake;
      this.wake = undefined;
      this.delivered += 1;
      wake(au);
      return 0;
    }
    if (this.queue.length + 1 > this.bound.maxFrames || this.queuedBytes + au.bytes > this.bound.maxBytes) {
      const lost = this.queue.length + 1;
      this.queue = [];
      this.queuedBytes = 0;
      this.dropped += lost;
      this.waitingForKey = true;
      return lost;
    }
    this.queue.push(au);
    this.queuedBytes += au.bytes;
    return 0;
  }

  /** The stream broke (a new camera session): nothing until its first key frame. */
  restart(): void {
    this.queue = [];
    this.queuedBytes = 0;
    this.waitingForKey = true;
  }

  /** The next access unit, or undefined once closed. */
  next(): Promise<AccessUnit | undefined> {
    const au = this.queue.shift();
    if (au) {
      this.queuedBytes -= au.bytes;
      this.delivered += 1;
      return Promise.resolve(au);
    }
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.wake = resolve;
    });
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Leaves the camera's live session (the last viewer leaving closes it after a linger). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.queuedBytes = 0;
    this.wake?.(undefined);
    this.wake = undefined;
    this.onClose(this);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<AccessUnit> {
    try {
      for (let au = await this.next(); au; au = await this.next()) yield au;
    } finally {
      this.close();
    }
  }
}
