import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
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
  /** Wall clock (ms) when ffmpeg's decoder produced this frame (its -debug_ts "decoder ->" line). */
  decodedAt: number;
  /** Wall clock (ms) when the last byte of this frame came out of ffmpeg's output pipe. */
  receivedAt: number;
}

/** ffmpeg -debug_ts prints one such line per frame its decoder returns (at log level info). */
const DECODED_LINE = /^decoder -> ist_index:\d+ type:video /;

/**
 * Decodes `count` frames of an RTSP stream to RGBA with real ffmpeg, noting when each was decoded and
 * when it reached us. Why both: ffmpeg 5.1's command-line tool keeps each decoded frame until the
 * next one arrives (it takes a frame's duration from its successor), so pipe arrival is one frame
 * interval late by construction; the decoder line is when the picture existed in the client.
 * Passthrough frame timing keeps decoded and output frames one to one (no duplicates or drops).
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
      ["-hide_banner", "-nostats", "-loglevel", "info", "-debug_ts"].concat([
        ...["-fflags", "nobuffer", "-flags", "low_delay", "-rtsp_transport", "tcp"],
        ...["-analyzeduration", "500000", "-probesize", "200000", "-timeout", "5000000", "-i", url],
        ...["-frames:v", String(count), "-vsync", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgba"],
        "pipe:1",
      ]),
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const frames: DecodedFrame[] = [];
    const decodedAt: number[] = [];
    let pending = Buffer.alloc(0);
    let partialLine = "";
    let errors = "";
    const timer = setTimeout(() => {
      ff.kill("SIGKILL");
      reject(new Error(`timed out after ${timeoutMs} ms with ${frames.length}/${count} frames: ${errors}`));
    }, timeoutMs);
    ff.stdout.on("data", (d: Buffer) => {
      pending = Buffer.concat([pending, d]);
      while (pending.length >= size) {
        const at = decodedAt[frames.length] ?? Number.NaN;
        frames.push({
          rgba: new Uint8Array(pending.subarray(0, size)),
          decodedAt: at,
          receivedAt: Date.now(),
        });
        pending = pending.subarray(size);
      }
    });
    ff.stderr.on("data", (d: Buffer) => {
      const now = Date.now();
      const lines = (partialLine + d.toString()).split("\n");
      partialLine = lines.pop() ?? "";
      for (const line of lines) {
        if (DECODED_LINE.test(line)) {
          decodedAt.push(now);
          // stdout and stderr are two pipes: when both are readable at once, Node may hand us the
          // frame before the line ffmpeg wrote first. The frame then was decoded before it arrived.
          const early = frames[decodedAt.length - 1];
          if (early) early.decodedAt = Math.min(now, early.receivedAt);
        } else if (/error|invalid|refused|not found|failed/i.test(line))
          errors = `${errors}${line}\n`.slice(-2000);
      }
    });
    ff.once("exit", (code) => {
      clearTimeout(timer);
      if (frames.length === count) resolve(frames);
      else
        reject(new Error(`ffmpeg exited ${code} after ${frames.length}/${count} frames: ${errors.trim()}`));
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

/** The coded pictures (slice NAL units, types 1 and 5) of a file's H.264, each as its SHA-256. */
export async function codedPictures(args: string[]): Promise<string[]> {
  const { stdout } = await run(
    "ffmpeg",
    ["-hide_banner", "-loglevel", "error", ...args, "-map", "0:v:0", "-c", "copy", "-f", "h264", "-"],
    { encoding: "buffer", maxBuffer: 256 << 20 },
  );
  const out: string[] = [];
  const starts: number[] = [];
  for (let i = 0; i + 2 < stdout.length; i++)
    if (stdout[i] === 0 && stdout[i + 1] === 0 && stdout[i + 2] === 1) starts.push(i + 3);
  starts.forEach((s, k) => {
    let end = k + 1 < starts.length ? (starts[k + 1] as number) - 3 : stdout.length;
    while (end > s && stdout[end - 1] === 0) end--; // a 4-byte start code's leading zero
    const type = (stdout[s] as number) & 0x1f;
    if (type === 1 || type === 5)
      out.push(createHash("sha256").update(stdout.subarray(s, end)).digest("hex"));
  });
  return out;
}
