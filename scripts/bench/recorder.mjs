// Recorder cost: pscsd recording N cameras (its Node process + its ffmpeg children) against N bare
// `ffmpeg -c copy -f segment` processes with the same arguments, side by side over the same window,
// for N = 1, 8, 16.
// Encoding stays out of the measurement: every recorder reads the same simulated camera's RTSP
// mount (gst-rtsp-server shares one encode among its clients); the simulator is not counted.
// Per-segment work (hash, fsyncs, two catalog commits) is amortised over the segment's length: the
// default is the production default (60 s), measured over two segments' worth.
// Options: --cameras 1,8,16 --seconds 120 --segment-seconds 60
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { inputOptions, outputOptions } from "../../dist/recorder/ffmpeg-args.js";
import { rtspUrlWithCredentials } from "../../dist/recorder/recorder.js";
import { descendants } from "../../dist/src/proc/tree.js";
import { start, stop } from "./children.mjs";
import { measure } from "./procstat.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const { values } = parseArgs({
  options: {
    cameras: { type: "string", default: "1,8,16" },
    seconds: { type: "string", default: "120" },
    "segment-seconds": { type: "string", default: "60" },
  },
});
/** A flag's value as a whole number in [min, max], or exit 2 naming the flag. */
function whole(flag, text, min, max) {
  const n = Number(text);
  if (Number.isInteger(n) && n >= min && n <= max) return n;
  process.stderr.write(
    `bench recorder: --${flag}: expected a whole number from ${min} to ${max}, got '${text}'\n`,
  );
  process.exit(2);
}
const counts = values.cameras.split(",").map((c) => whole("cameras", c, 1, 64));
const seconds = whole("seconds", values.seconds, 10, 3600);
const SEGMENT_S = whole("segment-seconds", values["segment-seconds"], 2, 600);
if (seconds % SEGMENT_S !== 0) {
  process.stderr.write(
    `bench recorder: --seconds: expected a whole number of segments (${SEGMENT_S} s each), got ${seconds}\n`,
  );
  process.exit(2);
}
const PASSWORD = "Bench-Only-1!";
const WARMUP_S = 20;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const work = mkdtempSync(join(tmpdir(), "pscs-bench-rec-"));
const sim = start(
  process.execPath,
  [
    join(root, "dist/sim/main.js"),
    "--cameras",
    "1",
    "--base-port",
    "24000",
    "--state-dir",
    join(work, "sim"),
    "--log-level",
    "warn",
  ],
  {
    env: { ...process.env, PSCS_SIM_PASSWORD: PASSWORD },
  },
);
const ready = await new Promise((resolve, reject) => {
  sim.once("exit", (code) => reject(new Error(`pscs-sim exited ${code}`)));
  createInterface({ input: sim.stdout }).on("line", (l) => {
    if (l.includes('"event":"ready"')) resolve(JSON.parse(l));
  });
});
const cam = ready.cameras[0];

/** pscsd with n cameras: started and warmed up; its Node process and ffmpeg children measured. */
function startPscsd(n) {
  const dir = mkdtempSync(join(work, `pscsd-${n}-`));
  writeFileSync(join(dir, "cam.pw"), `${PASSWORD}\n`);
  const config = {
    http: { host: "127.0.0.1", port: 24500 + n },
    storage: { recordings: "rec", evidence: "ev", catalog: "catalog.db" },
    recording: { segmentSeconds: SEGMENT_S },
    log: { level: "warn" },
    cameras: Array.from({ length: n }, (_, i) => ({
      id: `rec${i + 1}`,
      name: `Recorder ${i + 1}`,
      onvif: { host: cam.onvif.host, port: cam.onvif.port, user: cam.onvif.user, passwordFile: "cam.pw" },
    })),
  };
  writeFileSync(join(dir, "pscs.yaml"), JSON.stringify(config));
  const d = start(process.execPath, [
    join(root, "dist/src/bin/pscsd.js"),
    "--config",
    join(dir, "pscs.yaml"),
  ]);
  const kids = () => descendants(d.pid);
  return {
    dir,
    procs: [d],
    groups: { node: () => [d.pid], total: () => [d.pid, ...kids()], ffmpegs: () => kids() },
    ffmpegCount: () => kids().length,
  };
}

/** n bare `ffmpeg -c copy -f segment` processes with the recorder's input and output arguments, quiet. */
function startBare(n) {
  const dir = mkdtempSync(join(work, `bare-${n}-`));
  const procs = Array.from({ length: n }, (_, i) => {
    mkdirSync(join(dir, String(i)));
    return start("ffmpeg", [
      "-hide_banner",
      "-loglevel",
      "error",
      // No progress reports: a bare recorder has no one to tell.
      "-nostats",
      ...inputOptions(),
      "-i",
      // The simulator's RTSP demands the camera's credentials, as pscsd's recorder passes them.
      rtspUrlWithCredentials(cam.rtsp, cam.onvif.user, PASSWORD),
      ...outputOptions({ rtspUrl: cam.rtsp, segmentSeconds: SEGMENT_S, outputPattern: "" }),
      join(dir, String(i), "%06d.ts"),
    ]);
  });
  return { dir, procs, groups: { bare: () => procs.map((p) => p.pid) } };
}

// Both sides run at once and are measured over the same window: this machine is shared, and load
// from its other tenants moves a bare ffmpeg's cost by 10-15% from one minute to the next, more than
// the difference being measured; side by side, both see the same load.
// Each count runs twice, once with each side joining the RTSP server first: 16 ffmpegs that join
// after 16 others cost 4-5% more than the first 16 with identical arguments (a control run of bare
// against bare gave 1.04x, and the order swapped the sign), which is half the margin being measured.
// The reported ratio is the geometric mean of the two orders, in which that effect cancels.
const JOIN_MS = 3_000;

// The window holds whole segments: it opens PHASE_MS after a wall-clock segment boundary (where every
// recorder closes one) and lasts a whole number of segments, so each recorder closes exactly
// seconds / SEGMENT_S segments in it whatever the phase a run started at. A window opened anywhere
// held one close more or less (a tenth of pscsd's Node cost at 1 camera), and often pscsd's first
// close, whose code runs for the first time and is compiled then: the order of the two sides moved
// the 1-camera ratio from 1.0x to 1.25x.
const PHASE_MS = 5_000;
function untilWindowMs(pscsdStartedAt) {
  const seg = SEGMENT_S * 1000;
  // The first boundary after pscsd started closes its first segment: the window opens after it,
  // and after WARMUP_S (connect, probe, the JIT's first compiles).
  const firstClose = Math.floor(pscsdStartedAt / seg) * seg + seg;
  let open = firstClose + PHASE_MS;
  while (open < pscsdStartedAt + WARMUP_S * 1000) open += seg;
  return Math.max(0, open - Date.now());
}

async function runPair(n, pscsdFirst) {
  let p;
  let b;
  let pscsdStartedAt;
  if (pscsdFirst) {
    pscsdStartedAt = Date.now();
    p = startPscsd(n);
    const until = Date.now() + 30_000;
    while (p.ffmpegCount() < n && Date.now() < until) await sleep(100);
    await sleep(JOIN_MS);
    b = startBare(n);
  } else {
    b = startBare(n);
    await sleep(JOIN_MS);
    pscsdStartedAt = Date.now();
    p = startPscsd(n);
  }
  await sleep(untilWindowMs(pscsdStartedAt));
  const r = await measure({ ...p.groups, ...b.groups }, seconds);
  r.ffmpegCount = p.ffmpegCount();
  await stop([...p.procs, ...b.procs]);
  // A camera that never started recording would make pscsd look cheap.
  if (r.ffmpegCount !== n) throw new Error(`pscsd ran ${r.ffmpegCount} ffmpegs for ${n} cameras`);
  // Two copies of N cameras' footage (about 1 GB at 16) are not worth keeping.
  for (const dir of [p.dir, b.dir]) rmSync(dir, { recursive: true, force: true });
  return r;
}

const mean = (a, b) => (a + b) / 2;
const gmean = (a, b) => Math.sqrt(a * b);

const results = [];
try {
  for (const n of counts) {
    const first = await runPair(n, true);
    const second = await runPair(n, false);
    const both = (f) => mean(f(first), f(second));
    const ratio = (r) => r.total.cpuPct / r.bare.cpuPct;
    const row = {
      cameras: n,
      pscsdTotalCpuPct: +both((r) => r.total.cpuPct).toFixed(2),
      pscsdNodeCpuPct: +both((r) => r.node.cpuPct).toFixed(2),
      pscsdRssMB: +both((r) => r.total.rssMB).toFixed(1),
      pscsdNodeRssMB: +both((r) => r.node.rssMB).toFixed(1),
      ffmpegs: Math.min(first.ffmpegCount, second.ffmpegCount),
      pscsdFfmpegCpuPct: +both((r) => r.ffmpegs.cpuPct).toFixed(2),
      bareCpuPct: +both((r) => r.bare.cpuPct).toFixed(2),
      bareRssMB: +both((r) => r.bare.rssMB).toFixed(1),
      cpuRatioPscsdFirst: +ratio(first).toFixed(3),
      cpuRatioBareFirst: +ratio(second).toFixed(3),
      ffmpegRatioToBare: +gmean(
        first.ffmpegs.cpuPct / first.bare.cpuPct,
        second.ffmpegs.cpuPct / second.bare.cpuPct,
      ).toFixed(3),
      cpuRatioToBare: +gmean(ratio(first), ratio(second)).toFixed(3),
    };
    results.push(row);
    process.stdout.write(
      `${n} camera(s): pscsd total ${row.pscsdTotalCpuPct}% (node ${row.pscsdNodeCpuPct}%, ${row.ffmpegs} ffmpeg at ${row.ffmpegRatioToBare}x bare) ${row.pscsdRssMB} MB | bare ${row.bareCpuPct}% ${row.bareRssMB} MB | ratio ${row.cpuRatioToBare}x (pscsd joined first ${row.cpuRatioPscsdFirst}x, bare first ${row.cpuRatioBareFirst}x)\n`,
    );
  }
} finally {
  await stop([sim]);
  rmSync(work, { recursive: true, force: true });
}
mkdirSync(join(root, "bench/results"), { recursive: true });
writeFileSync(
  join(root, `bench/results/recorder${SEGMENT_S === 60 ? "" : `-${SEGMENT_S}s`}.json`),
  `${JSON.stringify({ seconds, segmentSeconds: SEGMENT_S, source: `${cam.video.width}x${cam.video.height}@${cam.video.fps} shared mount`, results }, null, 2)}\n`,
);
