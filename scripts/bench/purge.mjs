// Purge cost, two parts, each against a bare baseline in the same run:
//  1. throughput: the purger destroying N expired segments (synthetic small files in a dated tree, with
//     1,000 holds in the catalog) vs a bare loop of unlink() over an identical tree;
//  2. selection: the purger's "expired and unheld" query among ~3 M rows (30 days × 64 cameras of 60 s
//     segments + 1,000 holds) vs the same rows selected by end time alone (no hold check).
// Options: --segments 100000 --holds 1000 --cameras 64 --days 30
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Purger } from "../../dist/retention/purger.js";
import { AuditLog } from "../../dist/src/audit/log.js";
import { openCatalog } from "../../dist/src/catalog/catalog.js";
import { SqliteDirectory } from "../../dist/src/catalog/directory/sqlite.js";
import { segmentPath } from "../../dist/src/footage/layout.js";
import { createLogger } from "../../dist/src/log/logger.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const { values } = parseArgs({
  options: {
    segments: { type: "string", default: "100000" },
    holds: { type: "string", default: "1000" },
    cameras: { type: "string", default: "64" },
    days: { type: "string", default: "30" },
  },
});
const N = Number(values.segments);
const HOLDS = Number(values.holds);
const CAMERAS = Number(values.cameras);
const DAYS = Number(values.days);
const DAY = 86_400_000;
const quiet = createLogger({ name: "bench", destination: new Writable({ write: (_c, _e, cb) => cb() }) });
const work = mkdtempSync(join(tmpdir(), "pscs-bench-purge-"));
const NOW = Date.UTC(2026, 10, 1);

/** N one-minute segments spread over 16 cameras, all 40+ days old, in the recorder's dated layout. */
function tree(dir) {
  const rels = [];
  const base = NOW - 40 * DAY - N * 4_000;
  for (let i = 0; i < N; i++) {
    const cam = `cam${i % 16}`;
    const start = base + Math.floor(i / 16) * 60_000;
    const rel = segmentPath(cam, start);
    rels.push({ cam, start, rel });
  }
  const made = new Set();
  for (const r of rels) {
    const d = dirname(join(dir, r.rel));
    if (!made.has(d)) {
      mkdirSync(d, { recursive: true });
      made.add(d);
    }
    writeFileSync(join(dir, r.rel), "x".repeat(64));
  }
  return rels;
}

function holdsInto(db, cameras, from, to) {
  const hold = db.prepare(
    `INSERT INTO holds (form_number, received_on, requested_by, agency, case_number, legal_basis, reason,
       form_path, form_sha256, form_type, form_bytes, entered_by, entered_at, status)
     VALUES ('F', '2026-01-01', 'x', 'x', 'c', 'criminal', 'r', 'forms/x.pdf', 'x', 'application/pdf', 1, 'x', 0, 'active')`,
  );
  const range = db.prepare("INSERT INTO hold_ranges (hold, camera, start_ms, end_ms) VALUES (?, ?, ?, ?)");
  db.transaction(() => {
    for (let i = 0; i < HOLDS; i++) {
      const id = Number(hold.run().lastInsertRowid);
      const start = from + Math.floor(((to - from) * i) / HOLDS);
      range.run(id, `cam${i % cameras}`, start, start + 600_000);
    }
  })();
}

// --- 1. throughput -------------------------------------------------------------------------------
const purgeDir = join(work, "purge");
const bareDir = join(work, "bare");
let t = performance.now();
const rels = tree(purgeDir);
tree(bareDir);
const db = openCatalog(join(work, "catalog.db"));
const insert = db.prepare(
  `INSERT INTO segments (camera, start_ms, end_ms, path, bytes, sha256, state, run, created_at)
   VALUES (?, ?, ?, ?, 64, ?, 'complete', 'bench', ?)`,
);
db.transaction(() => {
  for (const r of rels) insert.run(r.cam, r.start, r.start + 60_000, r.rel, "ab".repeat(32), r.start);
})();
// Holds over recent footage (not the expired tree): the purger must still check each segment.
holdsInto(db, 16, NOW - 10 * DAY, NOW);
const setupS = (performance.now() - t) / 1000;
const directory = new SqliteDirectory(db);
const purger = new Purger({
  db,
  directory,
  recordingsRoot: purgeDir,
  retentionDays: 30,
  audit: new AuditLog(directory, { now: () => NOW }),
  log: quiet,
  now: () => NOW,
});

// The page cache holds both trees (just written); the bare loop goes first, then the purger.
t = performance.now();
for (const r of rels) await unlink(join(bareDir, r.rel));
const bareS = (performance.now() - t) / 1000;
t = performance.now();
const run = await purger.run("manual", { actor: "bench", role: null, client: "bench" });
const purgeS = (performance.now() - t) / 1000;
if (run.destroyed !== N) throw new Error(`purger destroyed ${run.destroyed}, expected ${N}`);
db.close();
rmSync(work, { recursive: true, force: true });

// --- 2. selection among ~3 M rows ----------------------------------------------------------------
const work2 = mkdtempSync(join(tmpdir(), "pscs-bench-purge-sel-"));
const big = openCatalog(join(work2, "catalog.db"));
big.pragma("synchronous = OFF"); // loading only
t = performance.now();
const ins = big.prepare(
  `INSERT INTO segments (camera, start_ms, end_ms, path, bytes, sha256, state, run, created_at)
   VALUES (?, ?, ?, ?, 7500000, ?, 'complete', 'bench', ?)`,
);
// 30 days and one hour, so that one hour (the next run's share) is past retention.
const T0 = NOW - DAYS * DAY - 3_600_000;
const minutes = DAYS * 1440 + 60;
for (let c = 0; c < CAMERAS; c++) {
  big.transaction(() => {
    for (let m = 0; m < minutes; m++) {
      const s = T0 + m * 60_000;
      ins.run(`cam${c}`, s, s + 60_000, `cam${c}/${m}.ts`, "ab".repeat(32), s);
    }
  })();
}
holdsInto(big, CAMERAS, T0, NOW);
big.exec("ANALYZE");
const rows = CAMERAS * minutes;
const loadS = (performance.now() - t) / 1000;
const cutoff = NOW - DAYS * DAY;
const bigDirectory = new SqliteDirectory(big);
const selPurger = new Purger({
  db: big,
  directory: bigDirectory,
  recordingsRoot: work2,
  retentionDays: DAYS,
  audit: new AuditLog(bigDirectory, { now: () => NOW }),
  log: quiet,
  now: () => NOW,
});
const bareSel = big.prepare(
  "SELECT id, camera, start_ms, end_ms, path, bytes, sha256 FROM segments WHERE state = 'complete' AND end_ms <= ? ORDER BY end_ms",
);
const pct = (xs, p) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))];
const timed = async (f, n = 20) => {
  const xs = [];
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    await f();
    xs.push(performance.now() - s);
  }
  return xs;
};
// The purger's figure includes reading the protecting ranges from the directory.
await timed(() => selPurger.plan(Number.MAX_SAFE_INTEGER), 2); // warm the page cache
const bareSelMs = await timed(() => bareSel.all(cutoff));
let selected = 0;
const selMs = await timed(async () => {
  selected = (await selPurger.plan(Number.MAX_SAFE_INTEGER)).segments.length;
});
const expectedMin = CAMERAS * 60 - HOLDS; // one hour per camera, less what the holds cover at most
if (selected < expectedMin) throw new Error(`selected ${selected}, expected at least ${expectedMin}`);
big.close();
rmSync(work2, { recursive: true, force: true });

const result = {
  throughput: {
    segments: N,
    holds: HOLDS,
    setupSeconds: +setupS.toFixed(1),
    bareUnlinkSeconds: +bareS.toFixed(2),
    purgerSeconds: +purgeS.toFixed(2),
    bareSegmentsPerSecond: Math.round(N / bareS),
    purgerSegmentsPerSecond: Math.round(N / purgeS),
    vsBare: +(bareS / purgeS).toFixed(2),
    goalVsBare: 0.7,
  },
  selection: {
    rows,
    holds: HOLDS,
    loadSeconds: +loadS.toFixed(1),
    selected,
    bareP50Ms: +pct(bareSelMs, 50).toFixed(1),
    purgerP50Ms: +pct(selMs, 50).toFixed(1),
    purgerMaxMs: +Math.max(...selMs).toFixed(1),
    vsBare: +(pct(selMs, 50) / pct(bareSelMs, 50)).toFixed(2),
    goalMs: 200,
  },
};
mkdirSync(join(root, "bench/results"), { recursive: true });
writeFileSync(join(root, "bench/results/purge.json"), `${JSON.stringify(result, null, 2)}\n`);
const r1 = result.throughput;
const r2 = result.selection;
process.stdout.write(
  `purge throughput, ${N.toLocaleString()} expired segments, ${HOLDS} holds in the catalog:\n` +
    `  bare unlink loop   ${r1.bareUnlinkSeconds} s  (${r1.bareSegmentsPerSecond}/s)\n` +
    `  purger             ${r1.purgerSeconds} s  (${r1.purgerSegmentsPerSecond}/s)  = ${r1.vsBare}x bare throughput (goal >= 0.7)\n` +
    `selection of expired unheld segments among ${rows.toLocaleString()} rows (${selected} selected):\n` +
    `  bare SELECT by end time   p50 ${r2.bareP50Ms} ms\n` +
    `  purger (with hold check)  p50 ${r2.purgerP50Ms} ms, max ${r2.purgerMaxMs} ms (${r2.vsBare}x bare; goal < 200 ms)\n`,
);
