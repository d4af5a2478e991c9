import ffmpeg from "fluent-ffmpeg";

/** What ffprobe can read from a segment file; undefined when the file holds no readable video. */
export interface Probed {
  durationMs: number;
  codec?: string;
  width?: number;
  height?: number;
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
        codec: video.codec_name,
        width: video.width,
        height: video.height,
      });
    });
  });
}
