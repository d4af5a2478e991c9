// Timeline query: one camera-day among 30 days × 64 cameras of 60-second segments (2.76 M rows,
// synthetic), p50/p99 over many queries, against a bare baseline in the same run: the same rows
// fetched by a plain indexed SELECT of their ids (the least any timeline query must read).
// Options: --cameras 64 --days 30 --queries 300
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { openCatalog } from "../../dist/src/catalog/catalog.js";
import { Gaps } from "../../dist/src/catalog/footage/gaps.js";
import { Segments } from "../../dist/src/catalog/footage/segments.js";
import { timeline } from "../../dist/src/footage/timeline.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const { values } = parseArgs({
  options: {
    cameras: { type: "string", default: "64" },
    days: { type: "string", default: "30" },
    queries: { type: "string", default: "300" },
  },
});
const CAMERAS = Number(values.cameras);
const DAYS = Number(values.days);
const QUERIES = Number(values.queries);
const DAY = 86_400_000;
const T0 = Date.UTC(2026, 9, 1);

const dir = mkdtempSync(join(tmpdir(), "pscs-bench-timeline-"));
const db = openCatalog(join(dir, "catalog.db"));
db.pragma("synchronous = OFF"); // loading only; the queries measured are reads
const t = performance.now();
const insert = db.prepare(
  `INSERT INTO segments (camera, start_ms, end_ms, path, bytes, sha256, codec, width, height, state, run, created_at)
   VALUES (?, ?, ?, ?, 7500000, ?, 'h264', 1920, 1080, 'complete', 'bench', ?)`,
);
const hash = "ab".repeat(32);
for (let c = 0; c < CAMERAS; c++) {
  db.transaction(() => {
    for (let m = 0; m < DAYS * 1440; m++) {
      const s = T0 + m * 60_000;
      insert.run(`cam${c}`, s, s + 60_000, `cam${c}/${m}.ts`, hash, s);
    }
  })();
}
const rows = CAMERAS * DAYS * 1440;
const loadS = (performance.now() - t) / 1000;
db.exec("ANALYZE");

const store = { segments: new Segments(db), gaps: new Gaps(db) };
const bare = db.prepare("SELECT id FROM segments WHERE camera = ? AND start_ms >= ? AND start_ms < ?");
const pct = (xs, p) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))];
const pick = (i) => ({ cam: `cam${(i * 7) % CAMERAS}`, from: T0 + ((i * 13) % DAYS) * DAY });
const timed = (f) => {
  const xs = [];
  for (let i = 0; i < QUERIES; i++) {
    const { cam, from } = pick(i);
    const s = performance.now();
    f(cam, from, from + DAY);
    xs.push(performance.now() - s);
  }
  return xs;
};
timed((c, f, to) => timeline(store, c, f, to)); // warm the page cache
const bareMs = timed((c, f, to) => bare.all(c, f, to));
const tlMs = timed((c, f, to) => {
  const r = timeline(store, c, f, to);
  if (r.segments.length < 1440) throw new Error(`expected a full day, got ${r.segments.length}`);
});
db.close();
const result = {
  rows,
  loadSeconds: +loadS.toFixed(1),
  queries: QUERIES,
  bareP50Ms: +pct(bareMs, 50).toFixed(2),
  bareP99Ms: +pct(bareMs, 99).toFixed(2),
  timelineP50Ms: +pct(tlMs, 50).toFixed(2),
  timelineP99Ms: +pct(tlMs, 99).toFixed(2),
  p99VsBare: +(pct(tlMs, 99) / pct(bareMs, 99)).toFixed(2),
  goalP99Ms: 5,
};
mkdirSync(join(root, "bench/results"), { recursive: true });
writeFileSync(join(root, "bench/results/timeline.json"), `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(
  `timeline, one camera-day (1,440 segments) among ${rows.toLocaleString()} rows, ${QUERIES} queries:\n` +
    `  bare indexed SELECT of ids   p50 ${result.bareP50Ms} ms  p99 ${result.bareP99Ms} ms\n` +
    `  timeline() (rows + spans + gaps) p50 ${result.timelineP50Ms} ms  p99 ${result.timelineP99Ms} ms  (${result.p99VsBare}x bare at p99; goal < 5 ms)\n`,
);
rmSync(dir, { recursive: true, force: true });
