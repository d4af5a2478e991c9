import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { descendants, isAlive, procName, procSample } from "../../src/proc/tree.js";

describe("process tree from /proc", () => {
  it("finds children and grandchildren, names them, and sees them go", async () => {
    const sh = spawn("sh", ["-c", "sleep 30 & sleep 30 & wait"], { stdio: "ignore" });
    const pid = sh.pid as number;
    let kids: number[] = [];
    for (let i = 0; i < 50 && kids.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 20));
      kids = descendants(pid);
    }
    expect(kids).toHaveLength(2);
    expect(kids.map(procName)).toEqual(["sleep", "sleep"]);
    expect(procSample(pid)?.rssBytes).toBeGreaterThan(0);
    expect(descendants(process.pid)).toEqual(expect.arrayContaining([pid, ...kids]));
    for (const k of kids) process.kill(k, "SIGKILL");
    await new Promise((r) => sh.once("exit", r));
    await new Promise((r) => setTimeout(r, 50));
    expect([pid, ...kids].filter(isAlive)).toEqual([]);
    expect(procSample(pid)).toBeNull();
    expect(procName(pid)).toBeNull();
  });

  it("measures CPU time that grows while a process works", () => {
    const before = procSample(process.pid)?.cpuSeconds ?? 0;
    const end = Date.now() + 150;
    while (Date.now() < end) Math.sqrt(Math.random());
    expect((procSample(process.pid)?.cpuSeconds ?? 0) - before).toBeGreaterThanOrEqual(0.05);
  });

  it("measures CPU time finer than a clock tick (10 ms), as the process itself counts it", () => {
    // A few ms of work: clock ticks would say 0 or 10 ms; the scheduler's counters say what it was.
    const deltas: number[] = [];
    for (let i = 0; i < 5; i++) {
      const own = process.cpuUsage();
      const before = procSample(process.pid)?.cpuSeconds ?? 0;
      const until = process.cpuUsage(own).user + 3_000;
      while (process.cpuUsage(own).user < until) Math.sqrt(Math.random());
      const after = procSample(process.pid)?.cpuSeconds ?? 0;
      const used = process.cpuUsage(own);
      deltas.push(Math.abs((after - before) * 1e6 - (used.user + used.system)));
    }
    // The median run: one may be disturbed by another thread of this process between the reads.
    expect(deltas.sort((a, b) => a - b)[2]).toBeLessThan(1_500);
  });
});
