import { execFile } from "node:child_process";
import { closeSync, constants, openSync, readSync } from "node:fs";
import { unlink } from "node:fs/promises";
import { promisify } from "node:util";

/**
 * ffmpeg's progress reports (`-progress <fifo>`), read when the watchdog looks instead of when ffmpeg
 * writes: a pipe Node listens on wakes the whole daemon for every report (every 5 s per camera, all
 * day), while a FIFO opened non-blocking and never polled costs one read per watchdog look.
 * Invariants: the FIFO is open for reading before ffmpeg starts, so ffmpeg's open never blocks; its
 * 64 KiB hold about 250 reports (20 minutes at 5 s), so ffmpeg never waits on a reader that drains
 * it at least once per stall limit (at most 600 s: 120 reports).
 */

/**
 * One read takes all a FIFO holds (a pipe read returns whatever is there, up to the buffer's size),
 * so a drain is one read, not a read and then an EAGAIN, which Node throws as an Error with a stack
 * trace (twice the read's own cost). Shared: drain() is synchronous, so no two use it at once.
 */
const PIPE_CAPACITY = 65536;
const readBuffer = Buffer.allocUnsafe(PIPE_CAPACITY);

const run = promisify(execFile);

export class ProgressFifoError extends Error {
  constructor(
    readonly path: string,
    cause: unknown,
  ) {
    super(`progress FIFO ${path}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`, {
      cause,
    });
    this.name = "ProgressFifoError";
  }
}

/** The last `out_time_us` in a run of reports, in seconds; undefined when none has one (N/A). */
export function lastOutTimeSeconds(reports: string): number | undefined {
  let last: string | undefined;
  for (const m of reports.matchAll(/^out_time_us=(\d+)$/gm)) last = m[1];
  return last === undefined ? undefined : Number(last) / 1e6;
}

export class ProgressFifo {
  /** A report cut by a read's end, kept until its line is complete. */
  private partial = "";

  private constructor(
    readonly path: string,
    private fd: number | undefined,
  ) {}

  /** Makes a fresh FIFO at `path` (a previous run's is replaced) and opens it for reading. */
  static async open(path: string): Promise<ProgressFifo> {
    try {
      await unlink(path).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== "ENOENT") throw e;
      });
      await run("mkfifo", ["-m", "600", path]);
      return new ProgressFifo(path, openSync(path, constants.O_RDONLY | constants.O_NONBLOCK));
    } catch (e) {
      throw new ProgressFifoError(path, e);
    }
  }

  /** Everything ffmpeg reported since the last drain: the latest output time (s), if any. */
  drain(): number | undefined {
    if (this.fd === undefined) return undefined;
    let text = this.partial;
    for (;;) {
      let n: number;
      try {
        n = readSync(this.fd, readBuffer, 0, readBuffer.length, null);
      } catch (e) {
        // EAGAIN: a writer is there and has nothing more to say.
        if ((e as NodeJS.ErrnoException).code === "EAGAIN") break;
        throw new ProgressFifoError(this.path, e);
      }
      if (n === 0) break; // no writer yet, or ffmpeg has exited
      text += readBuffer.toString("latin1", 0, n);
      if (n < readBuffer.length) break; // that was all of it
    }
    const cut = text.lastIndexOf("\n") + 1;
    this.partial = text.slice(cut);
    return lastOutTimeSeconds(text.slice(0, cut));
  }

  async close(): Promise<void> {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
    await unlink(this.path).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== "ENOENT") throw new ProgressFifoError(this.path, e);
    });
  }
}
