// CPU and memory of groups of processes over a time window: the instrument every benchmark shares.
import { procSample } from "../../dist/src/proc/tree.js";

/**
 * Measures groups of processes over `seconds`: CPU as % of one core, and RSS at the end (MB).
 * `groups` maps a label to a function returning the PIDs in that group (re-read at both ends).
 */
export async function measure(groups, seconds) {
  const start = new Map();
  for (const [label, pids] of Object.entries(groups)) {
    start.set(label, new Map(pids().map((p) => [p, procSample(p)?.cpuSeconds ?? 0])));
  }
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const wall = (performance.now() - t0) / 1000;
  const out = {};
  for (const [label, pids] of Object.entries(groups)) {
    let cpu = 0;
    let rss = 0;
    for (const p of pids()) {
      const s = procSample(p);
      if (!s) continue;
      cpu += s.cpuSeconds - (start.get(label).get(p) ?? s.cpuSeconds);
      rss += s.rssBytes;
    }
    out[label] = { cpuPct: (100 * cpu) / wall, rssMB: rss / 2 ** 20 };
  }
  return out;
}
