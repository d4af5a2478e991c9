// Latency figures from the pages' meters: nearest-rank percentiles over one wall-clock window.

export function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** One path's latency over [from, to) (wall ms) from its meter's samples ([shownAt, latencyMs]). */
export function latencyFigures(meter, from, to) {
  const inWindow = meter.samples.filter(([at]) => at >= from && at < to);
  const sorted = inWindow.map(([, ms]) => ms).sort((a, b) => a - b);
  const r = (v) => (v === null ? null : Math.round(v * 10) / 10);
  return {
    samples: sorted.length,
    p50Ms: r(percentile(sorted, 50)),
    p95Ms: r(percentile(sorted, 95)),
    p99Ms: r(percentile(sorted, 99)),
    minMs: r(sorted[0] ?? null),
    maxMs: r(sorted.at(-1) ?? null),
    fps: Math.round((sorted.length / ((to - from) / 1000)) * 10) / 10,
    // The window's p50 ten seconds at a time: a path still settling (a jitter buffer shrinking,
    // a player catching up to the edge) shows here, not in one figure.
    p50By10s: Array.from({ length: Math.ceil((to - from) / 10_000) }, (_, i) => {
      const part = inWindow
        .filter(([at]) => at >= from + i * 10_000 && at < from + (i + 1) * 10_000)
        .map(([, ms]) => ms)
        .sort((a, b) => a - b);
      return r(percentile(part, 50));
    }),
  };
}
