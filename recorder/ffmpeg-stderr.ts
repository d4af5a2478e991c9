import type { VideoInfo } from "./run-segments.js";

/**
 * What a recording ffmpeg's stderr says of the run besides its errors (exit-cause.ts): the media time
 * of a progress report, and the input's video (codec, size, frame rate) for the segment rows.
 */

/** The media seconds of a report line (`… time=00:01:02.50 …`), or undefined for any other line. */
export function reportedTime(line: string): number | undefined {
  const m = /\btime=(\d+):(\d\d):(\d\d(?:\.\d+)?)/.exec(line);
  return m ? Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) : undefined;
}

/**
 * The input's video as ffmpeg describes it (`Input #0` … `Video: h264 (High), yuv420p, 1920x1080,
 * 15 fps, 15 tbr, 90k tbn`), taken when its stream mapping is printed; the last video line of the
 * first input wins. Its rate is `fps` (what the stream declares), else `tbr` (ffmpeg's guess from
 * the timestamps).
 */
export class InputVideo {
  private input = -1;
  private inInput = false;
  private line: string | undefined;
  private done = false;

  /** Reads one stderr line; answers the video once it is known (then never again). */
  read(text: string): VideoInfo | undefined {
    if (this.done) return undefined;
    if (/Input #[0-9]+, ([^ ]+),/.test(text)) {
      this.inInput = true;
      this.input++;
    } else if (this.inInput && this.input === 0 && /Video: (.*)/.test(text)) {
      this.line = /Video: (.*)/.exec(text)?.[1];
    } else if (/Output #\d+/.test(text)) {
      this.inInput = false;
    } else if (/Stream mapping:|Press (\[q\]|ctrl-c) to stop/.test(text)) {
      this.done = true;
      const details = this.line?.split(", ");
      const size = details?.map((x) => /^(\d+)x(\d+)/.exec(x.trim())).find(Boolean);
      return {
        // An input without a video line has codec '' (ffmpeg then fails on its -map before writing).
        codec: (details?.[0] ?? "").split(/\s/)[0] ?? "",
        ...(size ? { width: Number(size[1]), height: Number(size[2]) } : {}),
        ...rate(details ?? []),
      };
    }
    return undefined;
  }
}

/** `25 fps`, `29.97 fps`, `1k tbr` among a video line's details, as `{ fps }`; `fps` before `tbr`. */
function rate(details: readonly string[]): { fps?: number } {
  for (const unit of ["fps", "tbr"]) {
    for (const d of details) {
      const m = new RegExp(`^(\\d+(?:\\.\\d+)?)(k?) ${unit}$`).exec(d.trim());
      if (m) return { fps: Number(m[1]) * (m[2] ? 1000 : 1) };
    }
  }
  return {};
}
