import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { lastOutTimeSeconds, ProgressFifo, ProgressFifoError } from "../../recorder/progress-fifo.js";

const report = (us: number | "N/A") =>
  `frame=10\nfps=15.00\nbitrate=N/A\ntotal_size=N/A\nout_time_us=${us}\nout_time_ms=${us}\nprogress=continue\n`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("ffmpeg progress FIFO", () => {
  it("takes the last output time of a run of reports, skipping N/A", () => {
    expect(lastOutTimeSeconds(report(1_500_000) + report(6_500_000))).toBe(6.5);
    expect(lastOutTimeSeconds(report(2_000_000) + report("N/A"))).toBe(2);
    expect(lastOutTimeSeconds(report("N/A"))).toBeUndefined();
    expect(lastOutTimeSeconds("")).toBeUndefined();
  });

  it("reads what a separate writer process put in, only when drained, a cut report on the next drain", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pscs-fifo-"));
    const fifo = await ProgressFifo.open(join(dir, "ffmpeg.progress"));
    expect(statSync(fifo.path).isFIFO()).toBe(true);
    expect(fifo.drain()).toBeUndefined(); // no writer yet: nothing, and no blocking
    // A real process writes the way ffmpeg does: reports while alive, then exits.
    const writer = spawn("sh", ["-c", 'cat > "$1"; sleep 0.3', "sh", fifo.path], {
      stdio: ["pipe", "ignore", "inherit"],
    });
    writer.stdin.write(report(1_000_000) + report(5_000_000));
    await sleep(200);
    expect(fifo.drain()).toBe(5);
    expect(fifo.drain()).toBeUndefined(); // drained: nothing new
    writer.stdin.write(`${report(9_000_000)}frame=11\nout_time_us=12`);
    await sleep(200);
    expect(fifo.drain()).toBe(9); // the cut line is kept, not read as 12 µs-worth of a number
    writer.stdin.end("000000\nprogress=end\n");
    await new Promise((r) => writer.once("exit", r));
    expect(fifo.drain()).toBe(12);
    await fifo.close();
    expect(existsSync(fifo.path)).toBe(false);
    await fifo.close(); // twice is harmless
  });

  it("replaces a stale FIFO and names the path when it cannot make one", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pscs-fifo-"));
    const first = await ProgressFifo.open(join(dir, "p"));
    const second = await ProgressFifo.open(join(dir, "p"));
    expect(statSync(second.path).isFIFO()).toBe(true);
    await first.close();
    await second.close();
    const err = await ProgressFifo.open(join(dir, "no-such-dir", "p")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProgressFifoError);
    expect((err as Error).message).toContain(join(dir, "no-such-dir", "p"));
  });
});
