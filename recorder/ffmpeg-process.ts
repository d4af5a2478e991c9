import { type ChildProcess, spawn } from "node:child_process";
import type { Readable } from "node:stream";

/**
 * One recording ffmpeg as a child process: spawned with the recorder's arguments, its stdout and
 * stderr handed over line by line, its end reported once, stopped by SIGINT with SIGKILL after a grace.
 * Why node:child_process and not fluent-ffmpeg: the recorder reads ffmpeg's live segment list on stdout
 * and signals the process itself; fluent-ffmpeg's public API offers neither (its 'start' event carries
 * only the command line; the child is its private `ffmpegProc`), and it runs `ffmpeg -encoders`
 * before each first start. The argument layout and the end's words are fluent-ffmpeg's, kept as they
 * were: `-i <input>`, `-y`, and `ffmpeg exited with code N` / `ffmpeg was killed with signal S`.
 */

/** How long ffmpeg has to close its segment after SIGINT before it is killed. */
const KILL_GRACE_MS = 3_000;

/** ffmpeg's arguments: input options, the input, overwrite, output options, the output file. */
export function ffmpegArgs(
  input: string,
  inputOptions: readonly string[],
  outputOptions: readonly string[],
  output: string,
): string[] {
  return [...inputOptions, "-i", input, "-y", ...outputOptions, output];
}

export interface FfmpegHandlers {
  /** Each complete stdout line (a line cut off by the exit is dropped: it may be half written). */
  stdoutLine(line: string): void;
  /** Each stderr line, the last one even without its newline. */
  stderrLine(line: string): void;
  /** The process is gone: undefined for exit status 0, else why (spawn failure, exit code, signal). */
  ended(err: Error | undefined): void;
}

/** Splits a stream into lines at \n, \r\n or \r (ffmpeg ends its progress lines with \r). */
function readLines(stream: Readable, onLine: (line: string) => void, partialAtEnd: boolean): void {
  let buffered = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    const lines = (buffered + chunk).split(/\r\n|\r|\n/);
    buffered = lines.pop() ?? "";
    for (const line of lines) onLine(line);
  });
  if (partialAtEnd) stream.on("end", () => buffered && onLine(buffered));
}

/**
 * Invariant: `ended` is called exactly once, after the process exited and both pipes closed, so every
 * line it wrote has been handed over before; a spawn failure ends it at once.
 */
export class FfmpegProcess {
  private readonly child: ChildProcess;
  private killTimer: NodeJS.Timeout | undefined;

  constructor(ffmpegPath: string, args: readonly string[], h: FfmpegHandlers) {
    // ffmpeg runs with -nostdin: nothing is ever written to it.
    this.child = spawn(ffmpegPath, args, { stdio: ["ignore", "pipe", "pipe"], windowsHide: true });
    let done = false;
    const end = (err: Error | undefined) => {
      clearTimeout(this.killTimer);
      if (done) return;
      done = true;
      h.ended(err);
    };
    if (this.child.stdout) readLines(this.child.stdout, (l) => h.stdoutLine(l), false);
    if (this.child.stderr) readLines(this.child.stderr, (l) => h.stderrLine(l), true);
    this.child.on("error", (err) => end(err));
    this.child.on("close", (code, signal) =>
      end(
        signal
          ? new Error(`ffmpeg was killed with signal ${signal}`)
          : code
            ? new Error(`ffmpeg exited with code ${code}`)
            : undefined,
      ),
    );
  }

  /** SIGINT: ffmpeg closes the segment it is writing, lists it, and exits. */
  interrupt(): void {
    this.child.kill("SIGINT");
  }

  /**
   * SIGINT, then SIGKILL if ffmpeg has not exited within the grace (a hung ffmpeg ignores SIGINT).
   * Invariant: the only place a recording ffmpeg is killed after a grace.
   */
  stop(): void {
    this.interrupt();
    this.killTimer ??= setTimeout(() => this.child.kill("SIGKILL"), KILL_GRACE_MS).unref();
  }
}
