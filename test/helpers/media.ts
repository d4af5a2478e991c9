import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface StreamInfo {
  codec_name: string;
  profile: string;
  width: number;
  height: number;
  r_frame_rate: string;
}

/** ffprobe of an RTSP URL over TCP; rejects (with ffprobe's message) if the stream cannot be read. */
export async function probe(url: string, timeoutSec = 4): Promise<StreamInfo> {
  const { stdout } = await run(
    "ffprobe",
    [
      "-v",
      "error",
      "-rtsp_transport",
      "tcp",
      "-timeout",
      String(timeoutSec * 1e6),
      "-select_streams",
      "v:0",
    ].concat(["-show_entries", "stream=codec_name,profile,width,height,r_frame_rate", "-of", "json", url]),
    { timeout: (timeoutSec + 6) * 1000 },
  );
  const s = (JSON.parse(stdout) as { streams: StreamInfo[] }).streams[0];
  if (!s) throw new Error(`no video stream in ${url}`);
  return s;
}

export interface DecodedFrame {
  rgba: Uint8Array;
  /** Wall clock (ms) when the last byte of this decoded frame reached us. */
  receivedAt: number;
}

/**
 * Decodes `count` frames of an RTSP stream to RGBA with real ffmpeg, noting when each arrived.
 * Low-delay flags keep ffmpeg from holding frames back, so arrival time measures the pipeline.
 */
export function grabFrames(
  url: string,
  count: number,
  width: number,
  height: number,
  timeoutMs = 15_000,
): Promise<DecodedFrame[]> {
  const size = width * height * 4;
  return new Promise((resolve, reject) => {
    const ff = spawn(
      "ffmpeg",
      [
        "-hide_banner",
        "-loglevel",
        "error",
        "-fflags",
        "nobuffer",
        "-flags",
        "low_delay",
        "-rtsp_transport",
        "tcp",
      ].concat([
        "-analyzeduration",
        "500000",
        "-probesize",
        "200000",
        "-timeout",
        "5000000",
        "-i",
        url,
        "-frames:v",
        String(count),
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgba",
        "pipe:1",
      ]),
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const frames: DecodedFrame[] = [];
    let pending = Buffer.alloc(0);
    let stderr = "";
    const timer = setTimeout(() => {
      ff.kill("SIGKILL");
      reject(new Error(`timed out after ${timeoutMs} ms with ${frames.length}/${count} frames: ${stderr}`));
    }, timeoutMs);
    ff.stdout.on("data", (d: Buffer) => {
      pending = Buffer.concat([pending, d]);
      while (pending.length >= size) {
        frames.push({ rgba: new Uint8Array(pending.subarray(0, size)), receivedAt: Date.now() });
        pending = pending.subarray(size);
      }
    });
    ff.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    ff.once("exit", (code) => {
      clearTimeout(timer);
      if (frames.length === count) resolve(frames);
      else
        reject(new Error(`ffmpeg exited ${code} after ${frames.length}/${count} frames: ${stderr.trim()}`));
    });
  });
}

/** Share of pixels (in rows y0..y1) whose luma differs by more than 24 between two RGBA frames. */
export function changedShare(a: Uint8Array, b: Uint8Array, width: number, y0: number, y1: number): number {
  let changed = 0;
  let total = 0;
  for (let i = y0 * width * 4; i < y1 * width * 4; i += 4) {
    const la = 0.299 * (a[i] ?? 0) + 0.587 * (a[i + 1] ?? 0) + 0.114 * (a[i + 2] ?? 0);
    const lb = 0.299 * (b[i] ?? 0) + 0.587 * (b[i + 1] ?? 0) + 0.114 * (b[i + 2] ?? 0);
    if (Math.abs(la - lb) > 24) changed++;
    total++;
  }
  return changed / total;
}
