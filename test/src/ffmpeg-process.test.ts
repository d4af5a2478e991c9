import { describe, expect, it } from "vitest";
import { FfmpegProcess, ffmpegArgs } from "../../recorder/ffmpeg-process.js";

/**
 * The recording ffmpeg's process adapter, run on a stand-in (node with a script): its lines, its end
 * in fluent-ffmpeg's words, and the one kill escalation.
 */

interface Seen {
  stdout: string[];
  stderr: string[];
  ended: (Error | undefined)[];
}

function run(script: string): { proc: FfmpegProcess; seen: Seen; done: Promise<Error | undefined> } {
  const seen: Seen = { stdout: [], stderr: [], ended: [] };
  let proc!: FfmpegProcess;
  const done = new Promise<Error | undefined>((resolve) => {
    proc = new FfmpegProcess(process.execPath, ["-e", script], {
      stdoutLine: (l) => seen.stdout.push(l),
      stderrLine: (l) => seen.stderr.push(l),
      ended: (err) => {
        seen.ended.push(err);
        resolve(err);
      },
    });
  });
  return { proc, seen, done };
}

describe("the recording ffmpeg's process", () => {
  it("lays out the arguments as fluent-ffmpeg did", () => {
    expect(ffmpegArgs("rtsp://c/s", ["-nostdin"], ["-c", "copy"], "/r/x-%06d.ts")).toEqual([
      "-nostdin",
      "-i",
      "rtsp://c/s",
      "-y",
      "-c",
      "copy",
      "/r/x-%06d.ts",
    ]);
  });

  it("hands over every line before its end: stderr's last partial line too, stdout's not", async () => {
    const { seen, done } = run(
      `process.stdout.write("a.ts,0,4\\nb.ts,4,8\\nc.ts,8");
       process.stderr.write("one\\rtwo\\r\\nthree\\nlast words");
       process.exitCode = 1;`,
    );
    const err = await done;
    expect(seen.stdout).toEqual(["a.ts,0,4", "b.ts,4,8"]);
    expect(seen.stderr).toEqual(["one", "two", "three", "last words"]);
    expect(err?.message).toBe("ffmpeg exited with code 1");
    expect(seen.ended).toHaveLength(1);
  });

  it("ends without an error on exit status 0, and names a spawn failure", async () => {
    expect(await run("").done).toBeUndefined();
    const err = await new Promise<Error | undefined>((ended) => {
      new FfmpegProcess("/nonexistent/ffmpeg", [], { stdoutLine: () => {}, stderrLine: () => {}, ended });
    });
    expect(err?.message).toBe("spawn /nonexistent/ffmpeg ENOENT");
  });

  it("interrupt() is SIGINT only; stop() kills a process that ignores it after the grace", async () => {
    const stubborn = `process.on("SIGINT", () => console.error("ignored")); console.log("up"); setInterval(() => {}, 1000);`;
    const a = run(stubborn);
    await new Promise((r) => setTimeout(r, 300));
    a.proc.interrupt();
    await new Promise((r) => setTimeout(r, 3_500));
    expect(a.seen.ended).toHaveLength(0);
    a.proc.stop();
    const startedAt = Date.now();
    expect((await a.done)?.message).toBe("ffmpeg was killed with signal SIGKILL");
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(2_900);
    expect(a.seen.stderr.filter((l) => l === "ignored")).toHaveLength(2);
  }, 15_000);
});
