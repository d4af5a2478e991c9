import type { LiveHealth } from "../../src/health/health.js";
import type { AccessUnit } from "../../src/live/feed.js";
import type { Logger } from "../../src/log/logger.js";
import { scrubText } from "../../src/log/redact.js";
import { type BackoffPolicy, backoffDelay } from "../../src/retry/backoff.js";
import type { RtspError } from "./rtsp-client.js";
import { LiveViewer, type ViewerBound } from "./viewer.js";

/**
 * One camera's live view: at most one camera session (go2rtc's "one producer, many consumers"),
 * opened when the first viewer subscribes and closed after the last leaves and a linger passes, so a
 * viewer flicking between cameras does not make the camera set up a session each time.
 * The group of pictures since the last key frame is kept, so a new viewer starts at once from it.
 * Invariants: at most one camera session per LiveSource, open or opening; a push to a viewer never
 * waits (`viewer.ts`), so no viewer can delay another or the producer; recording never goes through
 * here (the recorder's ffmpeg has its own session).
 */

/** What a live session needs of the camera's stream: `RtspSession` (rtsp-client.ts) in pscsd. */
export interface CameraStream {
  readonly done: Promise<RtspError | undefined>;
  stop(): Promise<void>;
}
export type OpenStream = (onAccessUnit: (au: AccessUnit) => void) => Promise<CameraStream>;

export interface LiveOptions {
  /** After the last viewer leaves, the session stays this long for the next. */
  lingerMs: number;
  viewer: ViewerBound;
  /** The cached group of pictures; past it, nothing is cached until the next key frame. */
  gop: ViewerBound;
  retry: BackoffPolicy;
}

export const DEFAULT_LIVE: LiveOptions = {
  lingerMs: 3_000,
  viewer: { maxFrames: 90, maxBytes: 8 * 1024 * 1024 },
  gop: { maxFrames: 300, maxBytes: 16 * 1024 * 1024 },
  retry: { baseMs: 500, capMs: 15_000, jitter: "equal" },
};

/** One camera's live view as health and metrics show it. */
export interface LiveStats extends LiveHealth {
  camera: string;
}

export class LiveSource {
  private readonly viewers = new Set<LiveViewer>();
  private stream: CameraStream | undefined;
  /** The open (or opening) session's run; a new one replaces it only after it ended. */
  private running: Promise<void> | undefined;
  private gop: AccessUnit[] = [];
  private gopBytes = 0;
  private linger: NodeJS.Timeout | undefined;
  private wakeRetry: (() => void) | undefined;
  private readonly stats_: LiveStats;

  constructor(
    readonly camera: string,
    private readonly open: OpenStream,
    private readonly log: Logger,
    private readonly o: LiveOptions = DEFAULT_LIVE,
  ) {
    this.stats_ = {
      camera,
      viewers: 0,
      sessionsOpened: 0,
      open: false,
      bytesIn: 0,
      bytesOut: 0,
      drops: 0,
      lastError: undefined,
    };
  }

  /** A new viewer, fed the cached group of pictures first (from its key frame), then each frame as it comes. */
  subscribe(): LiveViewer {
    const viewer = new LiveViewer(this.o.viewer, (v) => this.leave(v));
    this.viewers.add(viewer);
    clearTimeout(this.linger);
    this.linger = undefined;
    for (const au of this.gop) this.give(viewer, au);
    if (!this.running) this.running = this.run();
    return viewer;
  }

  stats(): LiveStats {
    return { ...this.stats_, viewers: this.viewers.size };
  }

  /** Every viewer closed, the session torn down. */
  async stop(): Promise<void> {
    for (const v of [...this.viewers]) v.close();
    clearTimeout(this.linger);
    this.linger = undefined;
    this.wakeRetry?.();
    await this.stream?.stop();
    await this.running;
  }

  private give(viewer: LiveViewer, au: AccessUnit): void {
    const dropped = viewer.push(au);
    this.stats_.drops += dropped;
    if (dropped === 0) this.stats_.bytesOut += au.bytes;
  }

  private leave(viewer: LiveViewer): void {
    this.viewers.delete(viewer);
    if (this.viewers.size > 0 || this.linger) return;
    this.linger = setTimeout(() => {
      this.linger = undefined;
      if (this.viewers.size === 0) void this.stream?.stop();
      this.wakeRetry?.();
    }, this.o.lingerMs);
  }

  private frame(au: AccessUnit): void {
    this.stats_.bytesIn += au.bytes;
    if (au.keyframe) {
      this.gop = [];
      this.gopBytes = 0;
    }
    if (au.keyframe || this.gop.length > 0) {
      if (this.gop.length >= this.o.gop.maxFrames || this.gopBytes + au.bytes > this.o.gop.maxBytes) {
        this.gop = [];
        this.gopBytes = 0;
      } else {
        this.gop.push(au);
        this.gopBytes += au.bytes;
      }
    }
    for (const v of this.viewers) this.give(v, au);
  }

  /** Sessions one after another while anyone watches (or lingers); failures retried with backoff. */
  private async run(): Promise<void> {
    let attempt = 0;
    while (this.viewers.size > 0 || this.linger) {
      const opened = Date.now();
      try {
        this.stream = await this.open((au) => this.frame(au));
        this.stats_.sessionsOpened += 1;
        this.stats_.open = true;
        this.log.info({ camera: this.camera, viewers: this.viewers.size }, "live session open");
        // Left while it was opening: the linger (or stop) may have fired before there was a stream to stop.
        if (this.viewers.size === 0 && !this.linger) await this.stream.stop();
        const why = await this.stream.done;
        if (why) throw why;
        this.log.info({ camera: this.camera }, "live session closed");
      } catch (e) {
        // Scrubbed here, where the text is made: it is shown in health (RtspError's already is).
        this.stats_.lastError = scrubText(e instanceof Error ? e.message : String(e));
        this.log.warn({ camera: this.camera, err: e }, "live session failed");
      } finally {
        this.stream = undefined;
        this.stats_.open = false;
        this.gop = [];
        this.gopBytes = 0;
        for (const v of this.viewers) v.restart();
      }
      attempt = Date.now() - opened > 10_000 ? 0 : attempt + 1;
      if (this.viewers.size === 0 && !this.linger) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, backoffDelay(this.o.retry, attempt));
        this.wakeRetry = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeRetry = undefined;
    }
    this.running = undefined;
  }
}
