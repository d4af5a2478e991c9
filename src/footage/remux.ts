import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";
import ffmpeg from "fluent-ffmpeg";
import type { SegmentRow, Segments } from "../catalog/footage/segments.js";
import { ServiceError } from "../errors/service-error.js";
import { watchStalled } from "../stream/stalled.js";
import { keyframeTimes, probeSegment } from "./probe.js";

/**
 * A time range as one MP4, remuxed (never transcoded) from the stored segments: fragmented on the
 * fly, so a browser can play it while it streams (playback), or a faststart file (export clips).
 * ffmpeg's concat demuxer lines the segments up (each starts near zero) and cuts with its own in/out points: it seeks the first file
 * to the keyframe before `from`, and drops the last file's packets from `to` on.
 */

export const MAX_PLAYBACK_MS = 6 * 3_600_000;

export interface PlaybackPlan {
  segments: SegmentRow[];
  /** Seconds into the first segment to start at (backed up to the keyframe before it). */
  inpointS: number;
  /** Seconds into the last segment to stop at. */
  outpointS: number;
}

export function planPlayback(segments: Segments, camera: string, fromMs: number, toMs: number): PlaybackPlan {
  if (toMs - fromMs > MAX_PLAYBACK_MS) {
    throw new ServiceError(
      "invalid",
      `to: a playback covers at most ${MAX_PLAYBACK_MS / 3_600_000} hours`,
      "to",
    );
  }
  return planRange(segments, camera, fromMs, toMs);
}

/** The complete segments of [fromMs, toMs) and the points to cut them at, however long the range. */
export function planRange(segments: Segments, camera: string, fromMs: number, toMs: number): PlaybackPlan {
  if (!(toMs > fromMs)) throw new ServiceError("invalid", "to: must be after from", "to");
  const complete = segments.overlapping(camera, fromMs, toMs).filter((s) => s.state === "complete");
  const first = complete[0];
  const last = complete.at(-1);
  if (!first || !last) {
    const range = `${new Date(fromMs).toISOString()} and ${new Date(toMs).toISOString()}`;
    throw new ServiceError("not_found", `nothing of ${camera} is recorded between ${range}`);
  }
  return {
    segments: complete,
    inpointS: Math.max(0, fromMs - first.startMs) / 1000,
    outpointS: Math.max(0, toMs - last.startMs) / 1000,
  };
}

/**
 * The concat demuxer's list: paths quoted as its format asks, in/out points on the ends. The points
 * are in each file's own timestamps, which start at the file's first timestamp, not at zero.
 */
export function concatList(root: string, plan: PlaybackPlan, firstStartS = 0, lastStartS = 0): string {
  return plan.segments
    .map((s, i) => {
      const entry = [`file '${join(root, s.path).replaceAll("'", "'\\''")}'`];
      if (i === 0 && plan.inpointS > 0) entry.push(`inpoint ${(firstStartS + plan.inpointS).toFixed(3)}`);
      if (i === plan.segments.length - 1) entry.push(`outpoint ${(lastStartS + plan.outpointS).toFixed(3)}`);
      return `${entry.join("\n")}\n`;
    })
    .join("");
}

/**
 * Writes the plan's concat list to `list`, its in point moved back onto the keyframe at or before
 * `from`: with stream copy, an in point between keyframes makes ffmpeg start at the next keyframe,
 * after the moment asked for. Returns where the output starts: ms after the first segment's start.
 */
export async function writeAlignedList(
  root: string,
  plan: PlaybackPlan,
  list: string,
  ffprobePath: string,
): Promise<{ startOffsetMs: number }> {
  const [first, last] = [plan.segments[0] as SegmentRow, plan.segments.at(-1) as SegmentRow];
  const [keys, lastProbe] = await Promise.all([
    keyframeTimes(join(root, first.path), ffprobePath),
    probeSegment(join(root, last.path), ffprobePath),
  ]);
  const firstStartS = keys[0] ?? 0;
  const keyBefore = keys.filter((k) => k <= firstStartS + plan.inpointS + 0.0005).at(-1) ?? firstStartS;
  const aligned = { ...plan, inpointS: Math.max(0, keyBefore - firstStartS - 0.001) };
  await writeFile(list, concatList(root, aligned, firstStartS, lastProbe?.startS));
  return { startOffsetMs: Math.round((keyBefore - firstStartS) * 1000) };
}

/** How a playback ended: played to its end, the viewer went away, or the viewer stopped reading. */
export type PlaybackEnd = "complete" | "viewer_left" | "stalled";

/** Copies ffmpeg's output to the viewer with backpressure: ffmpeg is read only as the viewer takes it. */
function pipeToViewer(src: Readable, out: Writable): void {
  src.on("data", (chunk: Buffer) => {
    if (out.destroyed) return; // stopped: what ffmpeg still had in the pipe goes nowhere
    if (!out.write(chunk)) src.pause();
  });
  out.on("drain", () => src.resume());
  src.once("end", () => out.end());
}

/**
 * Streams the plan as fragmented MP4 into `out`. Resolves with how it ended, rejects on ffmpeg's own
 * failure. A viewer that goes away, or reads nothing for `stalledMs`, has its ffmpeg killed: a stalled
 * client must not hold a remuxer (and its memory) open.
 */
export async function streamPlayback(
  root: string,
  plan: PlaybackPlan,
  out: Writable,
  o: { stalledMs: number; ffmpegPath?: string; ffprobePath?: string },
): Promise<PlaybackEnd> {
  const { ffmpegPath = "ffmpeg", ffprobePath = "ffprobe" } = o;
  const dir = await mkdtemp(join(tmpdir(), "pscs-play-"));
  const list = join(dir, "list.txt");
  try {
    await writeAlignedList(root, plan, list, ffprobePath);
    // A viewer gone during the probes has already closed `out`: its close event will not come again.
    if (out.destroyed) return "viewer_left";
    return await new Promise<PlaybackEnd>((resolve, reject) => {
      let stopped: PlaybackEnd | undefined;
      const cmd = ffmpeg(list)
        .setFfmpegPath(ffmpegPath)
        .inputFormat("concat")
        .inputOptions(["-safe", "0"])
        .outputOptions([
          "-map",
          "0:v:0",
          "-c",
          "copy",
          "-movflags",
          "frag_keyframe+empty_moov+default_base_moof",
        ])
        .format("mp4")
        // Our own kill is how a stop ends, not a failure.
        .on("error", (err: Error) => (stopped ? resolve(stopped) : reject(err)));
      const stop = (why: PlaybackEnd) => {
        if (stopped) return;
        stopped = why;
        cmd.kill("SIGKILL");
        resolve(why);
      };
      watchStalled(out, o.stalledMs, () => {
        stop("stalled");
        out.destroy();
      });
      pipeToViewer(cmd.pipe() as Readable, out);
      out.once("finish", () => resolve("complete"));
      out.once("close", () => {
        if (!out.writableFinished) stop("viewer_left");
      });
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A clip written to a file: where it starts (ms after the first segment's start) and how long it is. */
export interface WrittenClip {
  startOffsetMs: number;
  /** From its first packet to its last packet's end, as ffprobe reads the finished file. */
  durationMs: number;
}

/**
 * Writes the plan as one MP4 file (stream copy, never transcoded; `faststart`: the index before the
 * media, so ordinary players start at once). `onBytes` is told the output's size as ffmpeg reports
 * it. An aborted `signal` kills ffmpeg (SIGKILL) and rejects with the signal's reason; what it had
 * written is the caller's to remove.
 */
export async function writeClip(
  root: string,
  plan: PlaybackPlan,
  file: string,
  o: { ffmpegPath?: string; ffprobePath?: string; signal?: AbortSignal; onBytes?: (bytes: number) => void },
): Promise<WrittenClip> {
  const { ffmpegPath = "ffmpeg", ffprobePath = "ffprobe", signal } = o;
  const list = `${file}.list.txt`;
  try {
    const { startOffsetMs } = await writeAlignedList(root, plan, list, ffprobePath);
    signal?.throwIfAborted();
    await new Promise<void>((resolve, reject) => {
      const ff = spawn(
        ffmpegPath,
        [
          ...["-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", "-progress", "pipe:1"],
          ...["-f", "concat", "-safe", "0", "-i", list],
          ...["-map", "0:v:0", "-c", "copy", "-movflags", "+faststart", "-f", "mp4", "-y", file],
        ],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      let errors = "";
      let partial = "";
      ff.stdout.on("data", (d: Buffer) => {
        const lines = (partial + d.toString()).split("\n");
        partial = lines.pop() ?? "";
        for (const l of lines) if (l.startsWith("total_size=")) o.onBytes?.(Number(l.slice(11)) || 0);
      });
      ff.stderr.on("data", (d: Buffer) => {
        errors = (errors + d.toString()).slice(-2000);
      });
      const abort = () => ff.kill("SIGKILL");
      signal?.addEventListener("abort", abort, { once: true });
      ff.once("error", reject);
      ff.once("close", (code) => {
        signal?.removeEventListener("abort", abort);
        if (signal?.aborted) reject(signal.reason);
        else if (code === 0) resolve();
        else reject(new Error(`ffmpeg exited ${code} writing ${file}: ${errors.trim()}`));
      });
    });
    const probed = await probeSegment(file, ffprobePath);
    if (!probed) throw new Error(`ffprobe cannot read the clip ffmpeg wrote: ${file}`);
    return { startOffsetMs, durationMs: probed.durationMs };
  } finally {
    await rm(list, { force: true });
  }
}
