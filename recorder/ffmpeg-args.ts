/**
 * The ffmpeg command for one camera: RTSP over TCP in, the same H.264 out (never transcoded) as
 * MPEG-TS segments cut on wall-clock boundaries.
 * Why MPEG-TS and not fragmented MP4: a TS file is readable up to its last complete 188-byte packet
 * however the writer died (kill -9, power loss), needs no index written at the end, and ffmpeg's
 * segment muxer writes it natively; playback remuxes it to fragmented MP4 for browsers on the fly.
 */
export interface RecorderArgs {
  rtspUrl: string;
  segmentSeconds: number;
  /** Pattern for segment files, e.g. `/rec/cam1/.incoming/<run>-%06d.ts`. */
  outputPattern: string;
}

/**
 * Seconds between ffmpeg's progress reports for a given stall limit: about five per limit, at most
 * one every 5 s. Reports cost pscsd nothing until read (they wait in a FIFO), so they can come more
 * often than the watchdog looks (watchdog.ts): what bounds a report's age is this period.
 */
export function reportPeriodSeconds(stallSeconds: number): number {
  return Math.max(1, Math.min(5, Math.floor(stallSeconds / 5)));
}

export function inputOptions(): string[] {
  return [
    // Commands never come on stdin (stop is SIGINT).
    "-nostdin",
    "-rtsp_transport",
    "tcp",
    // Socket timeout (µs): a camera that stops sending is noticed by ffmpeg too, not only by the stall watchdog.
    "-timeout",
    "10000000",
    "-fflags",
    "+genpts+discardcorrupt",
    // A camera's H.264 announces itself in its SPS; probing 5 s (the default) only delays the start.
    "-analyzeduration",
    "1500000",
  ];
}

/**
 * Progress reports to `progressPath` (a FIFO, see progress-fifo.ts) every `statsSeconds`, and none on
 * stderr, where each would wake pscsd.
 */
export function progressOptions(statsSeconds: number, progressPath: string): string[] {
  return ["-nostats", "-progress", progressPath, "-stats_period", String(statsSeconds)];
}

export function outputOptions(a: RecorderArgs): string[] {
  return [
    "-map",
    "0:v:0",
    "-c",
    "copy",
    "-f",
    "segment",
    "-segment_format",
    "mpegts",
    "-segment_time",
    String(a.segmentSeconds),
    "-segment_atclocktime",
    "1",
    "-reset_timestamps",
    "1",
    "-segment_list",
    "pipe:1",
    "-segment_list_type",
    "csv",
    "-segment_list_flags",
    "live",
  ];
}
