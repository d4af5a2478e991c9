// CPU and memory of process trees from /proc: the measuring instrument every benchmark shares.
import { readdirSync, readFileSync } from "node:fs";

const TICKS = 100; // USER_HZ on Linux

/** utime+stime in seconds, and RSS in bytes, of one process; null once it has exited. */
export function sample(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const cpu = (Number(f[11]) + Number(f[12])) / TICKS;
    const rss =
      Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) * 1024;
    return { cpu, rss };
  } catch {
    return null;
  }
}

/** PIDs of every live descendant of `pid`. */
export function descendants(pid) {
  const parent = new Map();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const s = sample(Number(name)) && readFileSync(`/proc/${name}/stat`, "utf8");
    if (!s) continue;
    parent.set(Number(name), Number(s.slice(s.lastIndexOf(")") + 2).split(" ")[1]));
  }
  const out = [];
  const walk = (p) => {
    for (const [c, pp] of parent) {
      if (pp !== p) continue;
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

export function comm(pid) {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "?";
  }
}

/**
 * Measures groups of processes over `seconds`: CPU as % of one core, and RSS at the end (MB).
 * `groups` maps a label to a function returning the PIDs in that group (re-read at both ends).
 */
export async function measure(groups, seconds) {
  const start = new Map();
  for (const [label, pids] of Object.entries(groups)) {
    start.set(label, new Map(pids().map((p) => [p, sample(p)?.cpu ?? 0])));
  }
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const wall = (performance.now() - t0) / 1000;
  const out = {};
  for (const [label, pids] of Object.entries(groups)) {
    let cpu = 0;
    let rss = 0;
    for (const p of pids()) {
      const s = sample(p);
      if (!s) continue;
      cpu += s.cpu - (start.get(label).get(p) ?? s.cpu);
      rss += s.rss;
    }
    out[label] = { cpuPct: (100 * cpu) / wall, rssMB: rss / 2 ** 20 };
  }
  return out;
}
