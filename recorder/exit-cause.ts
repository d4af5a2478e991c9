import { scrubText } from "../src/log/redact.js";

/**
 * Why an ffmpeg run ended, in words for a gap's cause and health: ffmpeg's own error line picked out
 * of its stderr (banner, stream info and "Conversion failed!" are not errors).
 * Invariant: a cause made here never carries URL credentials (ffmpeg prints the input URL, with the
 * camera's user and password, in its errors); it is scrubbed here, where the text is made.
 */

/** Lines that look like an error: what ffmpeg (and the OS errors it reports) say when something failed. */
const ERROR_WORDS =
  /error|fail|refused|unauthori[sz]ed|forbidden|denied|not found|no space|invalid|timed? ?out|unreachable|no route|cannot|could not|unable|returned \d{3}|reset by peer|broken pipe/i;
/** Lines ffmpeg prints on every run, whatever happens (they may contain an error word). */
const NOISE =
  /^(ffmpeg version|built with|configuration:|lib[a-z]+ +\d|ffmpeg stats and -progress|Input #|Output #|Stream #|Stream mapping|Press \[q\]|frame=|size=|video:|Conversion failed!|Exiting normally)/;
/** ffmpeg's component prefix, `[tcp @ 0x55d0c8]`. */
const COMPONENT = /^\[[^\]]* @ (0x)?[0-9a-f]+\] /;
/** Reasons that say what went wrong (the OS's, RTSP's and ffmpeg's own words). */
const SPECIFIC =
  /No space left on device|Disk quota exceeded|Read-only file system|Permission denied|No such file or directory|Connection refused|Connection reset by peer|timed out|Network is unreachable|No route to host|Name or service not known|Broken pipe|Server returned|\b[45]\d\d [A-Z][a-z]|Invalid data found|End of file/;
/** Reasons ffmpeg reports for many different failures ("Failed to resolve hostname …" says more). */
const VAGUE = /(Invalid argument|Input\/output error|Operation not permitted)$/;
/** Causes are stored in gap rows and shown in health: bounded whatever a camera makes ffmpeg print. */
const MAX_CAUSE = 300;
const KEEP = 8;

/** The error-looking lines of one run's stderr (the last few): the run's progress never goes to stderr. */
export class StderrErrors {
  private readonly lines: string[] = [];

  push(line: string): void {
    const text = line.trim();
    if (!text || /^\s/.test(line) || NOISE.test(text) || !ERROR_WORDS.test(text)) return;
    this.lines.push(text);
    if (this.lines.length > KEEP) this.lines.shift();
  }

  /**
   * ffmpeg's own error: the line with the most specific reason (a vague summary such as
   * `Error writing trailer …: Invalid argument` loses to `av_interleaved_write_frame(): No space left
   * on device` before it); among equals, ffmpeg's summary (no component prefix), then the latest.
   */
  errorLine(): string | undefined {
    const rank = (l: string) => (SPECIFIC.test(l) ? 4 : VAGUE.test(l) ? 0 : 2) + (COMPONENT.test(l) ? 0 : 1);
    let best: string | undefined;
    for (const l of this.lines) if (best === undefined || rank(l) >= rank(best)) best = l;
    return best === undefined ? undefined : causeText(best.replace(COMPONENT, ""));
  }
}

/** Any text bound for a cause, a status or a log field: credentials out, length bounded. */
export function causeText(text: string): string {
  const clean = scrubText(text.replace(/\s+/g, " ").trim());
  return clean.length > MAX_CAUSE ? `${clean.slice(0, MAX_CAUSE - 1)}…` : clean;
}

/**
 * The cause of a run that ended by itself: ffmpeg's error line, else how the process ended
 * (ffmpeg-process.ts: `ffmpeg was killed with signal SIGKILL`, `ffmpeg exited with code 1`).
 */
export function exitCause(errors: StderrErrors, err: Error | undefined): string {
  const line = errors.errorLine();
  if (line) return `ffmpeg exited: ${line}`;
  // An end message may carry stderr after a colon (fluent-ffmpeg's do): its first clause is the end's.
  const own = err?.message.split("\n")[0]?.replace(/^(ffmpeg exited with code \d+):.*$/, "$1");
  // Exit status 0 without our signal (stop, stall and pause have causes of their own): input EOF.
  return own ? `ffmpeg exited: ${causeText(own)}` : "ffmpeg ended: the camera ended the stream";
}
