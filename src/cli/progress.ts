import type { ExportProgress } from "../exports/export.js";

/** One line of a job's progress: a bar, percent, bytes and ETA (`pscs export wait`). */

const WIDTH = 30;

const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

function duration(ms: number): string {
  const s = Math.ceil(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
}

export function progressLine(p: ExportProgress): string {
  const ratio = p.bytesTotal > 0 ? Math.min(1, p.bytesDone / p.bytesTotal) : 0;
  const filled = Math.round(ratio * WIDTH);
  const bar = `[${"#".repeat(filled)}${"-".repeat(WIDTH - filled)}]`;
  const eta = p.etaMs === null ? "ETA —" : `ETA ${duration(p.etaMs)}`;
  return `${bar} ${(ratio * 100).toFixed(0).padStart(3)}%  ${mib(p.bytesDone)} of ${mib(p.bytesTotal)}  ${eta}`;
}
