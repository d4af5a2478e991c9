import { execFile } from "node:child_process";
import ffmpeg from "fluent-ffmpeg";

/** What ffprobe can read from a segment file; undefined when the file holds no readable video. */
export interface Probed {
  durationMs: number;
  /** The file's first timestamp (MPEG-TS files start at an offset, 1.4 s from ffmpeg's muxer). */
  startS: number;
  codec?: string;
  width?: number;
  height?: number;
  /** Frames per second (the stream's average frame rate), when ffprobe can tell. */
  fps?: number;
}

export function probeSegment(path: string, ffprobePath = "ffprobe"): Promise<Probed | undefined> {
  return new Promise((resolve) => {
    ffmpeg.setFfprobePath(ffprobePath);
    ffmpeg.ffprobe(path, (err, data) => {
      // An unreadable file is an answer here, not a failure: the caller decides what becomes of it.
      if (err) return resolve(undefined);
      const video = data.streams.find((s) => s.codec_type === "video");
      const duration = Number(data.format.duration);
      if (!video || !(duration > 0)) return resolve(undefined);
      resolve({
        durationMs: Math.round(duration * 1000),
        startS: Number(data.format.start_time) || 0,
        codec: video.codec_name,
        width: video.width,
        height: video.height,
        ...frameRate(video.avg_frame_rate, video.r_frame_rate),
      });
    });
  });
}

/** The first of ffprobe's `num/den` rates that is a positive number, as `{ fps }`. */
function frameRate(...rates: (string | undefined)[]): { fps?: number } {
  for (const r of rates) {
    const [num, den] = (r ?? "").split("/").map(Number);
    const fps = den === undefined ? num : (num as number) / den;
    if (fps !== undefined && Number.isFinite(fps) && fps > 0) return { fps: Math.round(fps * 1000) / 1000 };
  }
  return {};
}

/** Timestamps (seconds, the file's own clock) of the file's video keyframes, in order. */
export function keyframeTimes(path: string, ffprobePath = "ffprobe"): Promise<number[]> {
  return new Promise((resolve, reject) => {
    execFile(
      ffprobePath,
      [
        "-v",
        "error",
        "-select_streams",
        "v:0",
        "-show_entries",
        "packet=pts_time,flags",
        "-of",
        "csv=p=0",
        path,
      ],
      { maxBuffer: 16 << 20 },
      (err, stdout) => {
        if (err) return reject(err);
        resolve(
          stdout
            .split("\n")
            .filter((l) => /,K/.test(l))
            .map((l) => Number(l.split(",")[0]))
            .filter(Number.isFinite),
        );
      },
    );
  });
}
