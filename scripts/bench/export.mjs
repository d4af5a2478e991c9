// Export cost, two parts, each against a bare baseline in the same run:
//  1. production: a 1-hour export of one camera from 60 one-minute segments by the real producer
//     (FolderPackageProducer: hash check, ffmpeg stream copy to a faststart MP4, manifest, signature,
//     fsyncs) against `cat` of the same 60 segment files into one file plus `sha256sum` of it;
//  2. download: the finished package as a stored zip (src/exports/zip.ts, the stream the download
//     route sends) against the same bytes served as one static file, both from one Node HTTP server
//     on 127.0.0.1, fetched by a separate `curl` process.
// The segments: one realistic minute encoded once (1280x720, 15 fps, ~3 Mbit/s, 2 s GOP, libx264
// veryfast from a moving test source), cut by ffmpeg's segment muxer as the recorder cuts, and
// copied 60 times (real copies) with their catalog rows. Every run is warm: the sources are read
// once before the first run, and after each run its output is removed and `sync` run (untimed), so
// no run pays for writing back the previous one's dirty pages.
// The package measured is checked as a recipient would (`pscs verify` of the folder and of the zip).
// Options: --runs 3 --download-runs 5 --minutes 60 --size 1280x720 --fps 15 --bitrate 3M
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  copyFileSync,
  createReadStream,
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { FolderPackageProducer } from "../../dist/retention/export/producer.js";
import { withKnownCrcs } from "../../dist/retention/export/zip-crcs.js";
import { openCatalog } from "../../dist/src/catalog/catalog.js";
import { CameraIdentities } from "../../dist/src/catalog/footage/camera-identities.js";
import { ClockSamples } from "../../dist/src/catalog/footage/clock-samples.js";
import { Segments } from "../../dist/src/catalog/footage/segments.js";
import { ExportSigner } from "../../dist/src/exports/signing-key.js";
import { folderSources, planZip } from "../../dist/src/exports/zip.js";
import { segmentPath } from "../../dist/src/footage/layout.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    "download-runs": { type: "string", default: "5" },
    minutes: { type: "string", default: "60" },
    size: { type: "string", default: "1280x720" },
    fps: { type: "string", default: "15" },
    bitrate: { type: "string", default: "3M" },
  },
});
/** A flag's value as a whole number in [min, max], or exit 2 naming the flag. */
function whole(flag, text, min, max) {
  const n = Number(text);
  if (Number.isInteger(n) && n >= min && n <= max) return n;
  process.stderr.write(
    `bench export: --${flag}: expected a whole number from ${min} to ${max}, got '${text}'\n`,
  );
  process.exit(2);
}
const RUNS = whole("runs", values.runs, 1, 20);
// Downloads take about a second each and move more with the other tenants' load: more of them.
const DL_RUNS = whole("download-runs", values["download-runs"], 1, 50);
const MINUTES = whole("minutes", values.minutes, 1, 240);
const FPS = whole("fps", values.fps, 1, 60);
const MIN = 60_000;
const T = Date.UTC(2026, 11, 1, 8, 0, 0);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const run = (cmd, args, o = {}) => {
  const r = spawnSync(cmd, args, { stdio: ["ignore", "pipe", "pipe"], maxBuffer: 16 << 20, ...o });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: exit ${r.status}: ${r.stderr}`);
  return r.stdout?.toString() ?? "";
};
/** A child process to its end; rejects on a non-zero exit. */
const child = (cmd, args, o = {}) =>
  new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], ...o });
    let out = "";
    let err = "";
    p.stdout?.on("data", (d) => (out += d));
    p.stderr?.on("data", (d) => (err += d));
    p.once("error", reject);
    p.once("close", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${cmd}: exit ${code}: ${err}`)),
    );
  });

const work = mkdtempSync(join(tmpdir(), "pscs-bench-export-"));
// Removed however the run ends (an error thrown from an event handler skips the finally below).
process.once("exit", () => rmSync(work, { recursive: true, force: true }));
const rec = join(work, "rec");
const exportsRoot = join(work, "exports");
try {
  // --- setup: one minute encoded, cut as the recorder cuts, copied MINUTES times ------------------
  let t = performance.now();
  const enc = join(work, "enc");
  mkdirSync(enc);
  run("ffmpeg", [
    ...[
      "-hide_banner",
      "-loglevel",
      "error",
      "-f",
      "lavfi",
      "-i",
      `testsrc2=size=${values.size}:rate=${FPS}`,
    ],
    ...["-t", "62", "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "main", "-pix_fmt", "yuv420p"],
    ...["-b:v", values.bitrate, "-maxrate", values.bitrate, "-bufsize", "6M"],
    ...["-g", String(2 * FPS), "-keyint_min", String(2 * FPS), "-sc_threshold", "0"],
    ...["-f", "mpegts", join(enc, "src.ts")],
  ]);
  // The recorder's cut (recorder/ffmpeg-args.ts): segment muxer, MPEG-TS, stream copy, timestamps reset.
  run("ffmpeg", [
    ...["-hide_banner", "-loglevel", "error", "-i", join(enc, "src.ts"), "-map", "0:v:0", "-c", "copy"],
    ...["-f", "segment", "-segment_format", "mpegts", "-segment_time", "60", "-reset_timestamps", "1"],
    join(enc, "seg%d.ts"),
  ]);
  const minute = join(enc, "seg0.ts");
  const encodeS = (performance.now() - t) / 1000;
  t = performance.now();
  const db = openCatalog(join(work, "catalog.db"));
  const segments = new Segments(db);
  const files = [];
  for (let i = 0; i < MINUTES; i++) {
    const start = T + i * MIN;
    const path = segmentPath("cam1", start);
    const file = join(rec, path);
    mkdirSync(dirname(file), { recursive: true });
    copyFileSync(minute, file);
    const bytes = readFileSync(file);
    const id = segments.openRecording("cam1", "bench", start, `cam1/.incoming/bench-${i}.ts`);
    segments.complete(id, {
      startMs: start,
      endMs: start + MIN,
      path,
      bytes: bytes.length,
      sha256: createHash("sha256").update(bytes).digest("hex"),
      codec: "h264",
      width: Number(values.size.split("x")[0]),
      height: Number(values.size.split("x")[1]),
    });
    files.push(file);
  }
  const segmentBytes = statSync(minute).size;
  const sourceBytes = segmentBytes * MINUTES;
  const clock = new ClockSamples(db);
  for (const at of [T - 10 * MIN, T + 30 * MIN, T + 70 * MIN])
    clock.record("cam1", { sampledAt: at, offsetMs: 1_200, rttMs: 12 });
  const identities = new CameraIdentities(db);
  identities.record(
    "cam1",
    { manufacturer: "PSCS Sim", model: "SIM-PTZ-1", serial: "SIM-0123456789", firmware: "1.0.0" },
    T - 60 * MIN,
  );
  const signer = ExportSigner.open(join(work, "etc", "export-signing.key"), [rec, exportsRoot]);
  const producer = new FolderPackageProducer({
    root: exportsRoot,
    recordings: rec,
    segments,
    clock,
    identities,
    signer,
    site: { name: "Bench PD", timezone: "America/New_York" },
  });
  const copyS = (performance.now() - t) / 1000;
  const input = (exportId) => ({
    exportId,
    hold: 1,
    basis: { type: "criminal", caseNumber: "2026-000123", requestingOfficer: "Det. Bench" },
    scanFiles: {},
    recipient: {
      name: "State's Attorney",
      organisation: "Division of Criminal Justice",
      delivery: "download",
    },
    purpose: "prosecution",
    ranges: [{ camera: "cam1", fromMs: T, toMs: T + MINUTES * MIN }],
    requestedBy: { user: "records1", at: T + 86_400_000 },
    approvedBy: { user: "commander1", at: T + 2 * 86_400_000 },
  });

  // --- 1. production ------------------------------------------------------------------------------
  const warm = (paths) => run("sh", ["-c", 'cat "$@" > /dev/null', "warm", ...paths]);
  warm(files); // every run reads its sources from the page cache
  const baseOut = join(work, "baseline.ts");
  // The baseline: cat, then sha256sum. Timed in parts, and followed (untimed in the baseline)
  // by `openssl dgst -sha256` of the same file: coreutils' SHA-256 does not use the CPU's SHA
  // instructions and OpenSSL's (the producer's, through node:crypto) does, so cat + openssl is the
  // stricter floor, reported beside the goal's.
  const baseline = async () => {
    const s = performance.now();
    await child("sh", ["-c", 'cat "$@" > "$0"', baseOut, ...files]);
    const c = performance.now();
    await child("sha256sum", [baseOut]);
    const h = performance.now();
    await child("openssl", ["dgst", "-sha256", baseOut]);
    const o = performance.now();
    return { total: (h - s) / 1000, cat: (c - s) / 1000, sha256sum: (h - c) / 1000, openssl: (o - h) / 1000 };
  };
  let last;
  const produce = async (exportId) => {
    const marks = { hashed: 0, clipped: 0 };
    const s = performance.now();
    const made = await producer.produce(input(exportId), {
      onProgress: (p) => {
        // The producer's progress: sources hashed (half the total), then copied into the clip (all).
        if (!marks.hashed && p.bytesDone >= p.bytesTotal / 2) marks.hashed = performance.now();
        if (!marks.clipped && p.bytesDone >= p.bytesTotal) marks.clipped = performance.now();
      },
    });
    const end = performance.now();
    last = made;
    return {
      total: (end - s) / 1000,
      hash: (marks.hashed - s) / 1000,
      clip: (marks.clipped - marks.hashed) / 1000,
      finish: (end - marks.clipped) / 1000,
    };
  };
  const settle = () => run("sync", []);
  const base = [];
  const prod = [];
  for (let i = 0; i < RUNS; i++) {
    // Alternating, and the order swapped every other run: neither side always follows the other.
    const order = i % 2 ? ["export", "baseline"] : ["baseline", "export"];
    for (const side of order) {
      if (side === "baseline") {
        base.push(await baseline());
        rmSync(baseOut);
      } else {
        prod.push(await produce(100 + i));
        if (i < RUNS - 1) rmSync(last.dir, { recursive: true });
      }
      settle();
    }
    process.stdout.write(
      `  run ${i + 1}: baseline ${base.at(-1).total.toFixed(2)} s, export ${prod.at(-1).total.toFixed(2)} s\n`,
    );
  }
  const clip = last.manifest.files.find((f) => f.path.startsWith("clips/"));
  const footageS =
    (last.manifest.cameras[0].actual.to.utc &&
      Date.parse(last.manifest.cameras[0].actual.to.utc) -
        Date.parse(last.manifest.cameras[0].actual.from.utc)) / 1000;
  const baseS = median(base.map((b) => b.total));
  const catS = median(base.map((b) => b.cat));
  const strictS = median(base.map((b) => b.cat + b.openssl));
  const prodS = median(prod.map((p) => p.total));

  // --- 2. download --------------------------------------------------------------------------------
  const sources = await folderSources(last.dir);
  const time = new Date(last.manifest.producedBy.at);
  const top = `export-${last.manifest.exportId}`;
  const zip = planZip(sources, { top, time });
  // The static side serves the very bytes of the zip, written once to a file.
  const staticFile = join(work, "static.zip");
  await pipeline(zip.stream(), createWriteStream(staticFile));
  if (statSync(staticFile).size !== zip.bytes) throw new Error("zip stream length differs from its plan");
  run("unzip", ["-tq", staticFile]); // a real archive: every entry's CRC checks
  // What was measured is a package a recipient accepts: folder and zip verify, against the key.
  const pscs = join(root, "dist/src/bin/pscs.js");
  for (const pkg of [last.dir, staticFile])
    run(process.execPath, [pscs, "verify", pkg, "--fingerprint", signer.fingerprint]);
  settle();
  warm([staticFile, ...sources.map((s) => s.file)]);
  // The zip with every CRC-32 computed while streaming (no record of them), and as the download
  // route sends it: with the CRC-32s the producer recorded (withKnownCrcs), so the stream is a copy.
  const known = planZip(await withKnownCrcs(last.dir, sources), { top, time });
  if (known.bytes !== zip.bytes - 16 * sources.length) throw new Error("known-CRC zip: unexpected length");
  const routes = {
    // A static file as Node serves one: default 64 KiB reads (express.static, send), and 1 MiB reads
    // (the zip stream's chunk size); the zip is compared with the faster.
    static: () => createReadStream(staticFile),
    "static-1m": () => createReadStream(staticFile, { highWaterMark: 1 << 20 }),
    zip: () => zip.stream(),
    "zip-route": () => known.stream(),
  };
  const lengths = { static: zip.bytes, "static-1m": zip.bytes, zip: zip.bytes, "zip-route": known.bytes };
  // The server's CPU seconds per response (this process does nothing else meanwhile): steadier than
  // throughput on a shared machine, and where the zip's extra work shows.
  let served;
  const server = createServer((req, res) => {
    const name = req.url?.slice(1) ?? "";
    const body = routes[name];
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { "Content-Type": "application/zip", "Content-Length": lengths[name] });
    const cpu = process.cpuUsage();
    // Counted to the connection's close: curl closes it once it has every byte (checked below),
    // sometimes before the response's own finish, which pipeline reports as a premature close.
    served = new Promise((resolve) =>
      res.once("close", () => {
        const c = process.cpuUsage(cpu);
        resolve((c.user + c.system) / 1e6);
      }),
    );
    pipeline(body(), res).catch(() => res.destroy());
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const port = server.address().port;
  const fetch = async (name) => {
    const out = await child("curl", [
      ...["-sS", "-o", "/dev/null", "-w", "%{size_download} %{time_total}"],
      `http://127.0.0.1:${port}/${name}`,
    ]);
    const [bytes, secs] = out.trim().split(" ").map(Number);
    if (bytes !== lengths[name])
      throw new Error(`${name}: ${bytes} bytes downloaded, ${lengths[name]} planned`);
    return { mbps: bytes / secs / 1e6, cpu: await served };
  };
  const dl = Object.fromEntries(Object.keys(routes).map((k) => [k, []]));
  const cpu = Object.fromEntries(Object.keys(routes).map((k) => [k, []]));
  for (let i = 0; i < DL_RUNS; i++) {
    const order = Object.keys(routes);
    if (i % 2) order.reverse();
    for (const name of order) {
      const r = await fetch(name);
      dl[name].push(r.mbps);
      cpu[name].push(r.cpu);
    }
  }
  server.close();
  db.close();

  const r2 = (x) => +x.toFixed(2);
  const result = {
    date: new Date().toISOString().slice(0, 10),
    footage: {
      minutes: MINUTES,
      size: values.size,
      fps: FPS,
      bitrate: values.bitrate,
      segmentBytes,
      sourceBytes,
      encodeSeconds: r2(encodeS),
      copySeconds: r2(copyS),
    },
    production: {
      runs: RUNS,
      cache: "warm (sources read once before; outputs removed and synced after each run, untimed)",
      baseline: "cat of the segment files into one file, then sha256sum of it (child processes)",
      baselineSeconds: base.map((b) => r2(b.total)),
      baselineParts: base.map((b) => ({
        cat: r2(b.cat),
        sha256sum: r2(b.sha256sum),
        opensslSha256: r2(b.openssl),
      })),
      exportSeconds: prod.map((p) => r2(p.total)),
      exportPhases: prod.map((p) => ({ hash: r2(p.hash), clip: r2(p.clip), finish: r2(p.finish) })),
      baselineMedianSeconds: r2(baseS),
      exportMedianSeconds: r2(prodS),
      clipBytes: clip.bytes,
      footageSeconds: r2(footageS),
      vsBaseline: r2(prodS / baseS),
      catMedianSeconds: r2(catS),
      catOpensslMedianSeconds: r2(strictS),
      vsCatOpenssl: r2(prodS / strictS),
      goalVsBaseline: 2,
      realTime: Math.round(footageS / prodS),
      goalRealTime: 300,
    },
    download: {
      runs: DL_RUNS,
      bytes: zip.bytes,
      client: "curl -o /dev/null, a separate process, 127.0.0.1",
      MBps: Object.fromEntries(Object.entries(dl).map(([k, v]) => [k, v.map(Math.round)])),
      medianMBps: Object.fromEntries(Object.entries(dl).map(([k, v]) => [k, Math.round(median(v))])),
      medianServerCpuSeconds: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, r2(median(v))])),
      // fs.createReadStream as it comes (64 KiB reads: how express.static and res.sendFile serve a file).
      zipVsStatic: r2(median(dl.zip) / median(dl.static)),
      // The stronger baseline: the same read size as the zip stream.
      zipVsStatic1MiB: r2(median(dl.zip) / median(dl["static-1m"])),
      // As the download route sends it (the producer's recorded CRC-32s): the figure the goal is judged on.
      routeVsStatic: r2(median(dl["zip-route"]) / median(dl.static)),
      routeVsStatic1MiB: r2(median(dl["zip-route"]) / median(dl["static-1m"])),
      goalVsStatic: 0.8,
    },
  };
  mkdirSync(join(root, "bench/results"), { recursive: true });
  // Arrays of numbers on one line, as the repository's formatter (Biome) writes them.
  const json = JSON.stringify(result, null, 2).replace(
    /\[\s+([-\d.,\s]+?)\s+\]/g,
    (_, xs) => `[${xs.split(/,\s*/).join(", ")}]`,
  );
  writeFileSync(join(root, "bench/results/export.json"), `${json}\n`);
  const p = result.production;
  const d = result.download;
  const ph = (k) => r2(median(prod.map((x) => x[k])));
  process.stdout.write(
    `export of ${MINUTES} one-minute segments (${values.size}@${FPS}, ${(sourceBytes / 1e6).toFixed(0)} MB), median of ${RUNS} warm runs:\n` +
      `  cat + sha256sum (baseline)   ${p.baselineMedianSeconds} s  (cat ${p.catMedianSeconds} s; cat + openssl sha256 ${p.catOpensslMedianSeconds} s)\n` +
      `  producer → signed package    ${p.exportMedianSeconds} s  (hash ${ph("hash")} s, clip ${ph("clip")} s, finish ${ph("finish")} s)\n` +
      `                               = ${p.vsBaseline}x baseline (goal <= 2), ${p.realTime}x real time (goal >= 300); ${p.vsCatOpenssl}x cat + openssl\n` +
      `download of the package, ${(d.bytes / 1e6).toFixed(0)} MB over 127.0.0.1 by curl, median of ${DL_RUNS} (server CPU per download):\n` +
      Object.keys(routes)
        .map(
          (k) =>
            `  ${k.padEnd(14)} ${String(d.medianMBps[k]).padStart(5)} MB/s  (${d.medianServerCpuSeconds[k]} s CPU)\n`,
        )
        .join("") +
      `  zip, CRC-32 while streaming = ${d.zipVsStatic}x static (64 KiB reads), ${d.zipVsStatic1MiB}x static (1 MiB reads)\n` +
      `  zip as the route sends it   = ${d.routeVsStatic}x static (64 KiB reads), ${d.routeVsStatic1MiB}x static (1 MiB reads); goal >= 0.8\n`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
