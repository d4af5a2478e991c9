// The live benchmark proper, run by live.mjs inside its network namespace (loopback and one veth
// pair are all there is): the simulator, pscsd, the ffmpeg feeders, Janus, a static server for the
// baseline pages and chromium all start here and are stopped by PID.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { loadavg, tmpdir } from "node:os";
import { dirname, extname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";
import { chromium } from "playwright-core";
import { rtspUrlWithCredentials } from "../../../dist/recorder/recorder.js";
import { descendants } from "../../../dist/src/proc/tree.js";
import { start, stop } from "../children.mjs";
import { measure } from "../procstat.mjs";
import {
  CHROMIUM,
  CHROMIUM_ARGS,
  signInApi,
  simCameraConfig,
  startPscsd,
  startSim,
  until,
} from "../stack.mjs";
import { janusConfig } from "./janus.mjs";
import { VETH } from "./netns.mjs";
import { latencyFigures, percentile } from "./stats.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "../../..");
const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "60" },
    joins: { type: "string", default: "10" },
    viewers: { type: "string", default: "1,8,16" },
    "load-seconds": { type: "string", default: "20" },
    paths: { type: "string", default: "webrtc,mse,hls,janus" },
  },
});
/** A flag's value as a whole number in [min, max], or exit 2 naming the flag. */
function whole(flag, text, min, max) {
  const n = Number(text);
  if (Number.isInteger(n) && n >= min && n <= max) return n;
  process.stderr.write(
    `bench live: --${flag}: expected a whole number from ${min} to ${max}, got '${text}'\n`,
  );
  process.exit(2);
}
const SECONDS = whole("seconds", values.seconds, 5, 3600);
const JOINS = whole("joins", values.joins, 0, 100);
const VIEWERS = values.viewers.split(",").map((v) => whole("viewers", v, 1, 64));
const LOAD_SECONDS = whole("load-seconds", values["load-seconds"], 5, 600);
const PATHS = values.paths.split(",");
for (const p of PATHS)
  if (!["webrtc", "mse", "hls", "janus"].includes(p)) {
    process.stderr.write(`bench live: --paths: unknown path '${p}'\n`);
    process.exit(2);
  }
const OURS = PATHS.filter((p) => p === "webrtc" || p === "mse");
// Every path plays this long before its window opens: WebRTC's first key frame, hls.js's first
// segments and catching up to the edge, MSE's seek to the live edge.
const WARMUP_S = 8;
const PASSWORD = "Bench-Only-1!";
const USER_PASSWORD = "Bench-Viewer-1!";
const PORTS = { sim: 25000, pscsd: 25500, pages: 25600, janusHttp: 25688, janusVideo: 25700 };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (s) => process.stdout.write(`${s}\n`);

const work = mkdtempSync(join(tmpdir(), "pscs-bench-live-"));
// Also when interrupted (children.mjs exits on SIGINT and SIGTERM, past any finally).
process.on("exit", () => rmSync(work, { recursive: true, force: true }));
const procs = [];
let browser;
let pages;
const results = { benchmark: "live", when: new Date().toISOString(), netns: process.env.PSCS_BENCH_NETNS };

async function startBenchSim() {
  const sim = await startSim({
    cameras: 1,
    basePort: PORTS.sim,
    stateDir: join(work, "sim"),
    password: PASSWORD,
  });
  procs.push(sim.child);
  const cam = sim.cameras[0];
  return { cam, rtsp: rtspUrlWithCredentials(cam.rtsp, cam.onvif.user, PASSWORD) };
}

/** pscsd with the camera and one dispatcher (video.live), signed in from here. */
async function startBenchPscsd(cam) {
  const config = {
    http: { host: "127.0.0.1", port: PORTS.pscsd },
    storage: { recordings: "rec", evidence: "ev", catalog: "catalog.db" },
    log: { level: "warn" },
    auth: { scryptLogN: 10 },
    // WebRTC's ICE host: the namespace's veth (Chrome's own candidates are there too).
    // 16 viewers in one page, as one person (a video wall) may have.
    live: { maxPerUser: 64, webrtc: { host: VETH.addressA } },
    cameras: simCameraConfig([cam], "cam.pw"),
  };
  const d = await startPscsd({
    dir: join(work, "pscsd"),
    files: { "cam.pw": `${PASSWORD}\n` },
    config,
    // A pscsd without live.webrtc settings yet: run it without them.
    fallback: { ...config, live: { maxPerUser: 64 } },
    users: [
      {
        username: "dispatch1",
        displayName: "Bench dispatcher",
        roles: ["dispatcher"],
        password: USER_PASSWORD,
      },
    ],
  });
  procs.push(d.child);
  const { session, csrfToken } = await signInApi(d.origin, "dispatch1", USER_PASSWORD);
  return { pid: d.pid, origin: d.origin, session, csrfToken };
}

/** ffmpeg HLS from the camera's RTSP, stream copy, 1 s segments (the camera's GOP is 1 s). */
function startHls(rtsp) {
  const dir = join(work, "hls");
  mkdirSync(dir);
  procs.push(
    start("ffmpeg", [
      ...["-hide_banner", "-nostdin", "-loglevel", "error", "-rtsp_transport", "tcp", "-i", rtsp],
      ...["-an", "-c:v", "copy", "-f", "hls", "-hls_time", "1", "-hls_list_size", "6"],
      ...["-hls_flags", "delete_segments+independent_segments", join(dir, "live.m3u8")],
    ]),
  );
  return dir;
}

/** Janus with its own config folder, fed by ffmpeg over RTP as ZoneMinder feeds it. */
async function startJanus(rtsp) {
  const dir = janusConfig(join(work, "janus"), {
    httpPort: PORTS.janusHttp,
    videoPort: PORTS.janusVideo,
    rtpPorts: "26000-26200",
    iceAddress: VETH.addressA,
    iceInterface: VETH.a,
  });
  const janus = start("janus", ["-F", dir, "-C", join(dir, "janus.jcfg"), "-o"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  procs.push(janus);
  const lines = [];
  for (const s of [janus.stdout, janus.stderr])
    createInterface({ input: s }).on("line", (l) => lines.push(l));
  const url = `http://127.0.0.1:${PORTS.janusHttp}/janus`;
  try {
    await until("janus", 15_000, async () => (await fetch(`${url}/info`)).status === 200);
  } catch (e) {
    throw new Error(`${e.message}\n${lines.slice(-20).join("\n")}`);
  }
  procs.push(
    start("ffmpeg", [
      ...["-hide_banner", "-nostdin", "-loglevel", "error", "-rtsp_transport", "tcp", "-i", rtsp],
      // SPS/PPS before every key frame: the camera sends them before every other IDR only, and
      // Janus's viewers (no SDP parameter sets) would wait up to two GOPs for a first picture.
      ...["-an", "-c:v", "copy", "-bsf:v", "dump_extra=freq=keyframe"],
      ...["-f", "rtp", `rtp://127.0.0.1:${PORTS.janusVideo}?pkt_size=1200`],
    ]),
  );
  return { url, pid: janus.pid, log: lines };
}

const TYPES = { ".m3u8": "application/vnd.apple.mpegurl", ".ts": "video/mp2t", ".js": "text/javascript" };

/** The baseline pages' origin: the bundled page module, an empty page, and ffmpeg's HLS folder. */
function pagesServer(pageJs, hlsDir) {
  const server = createServer((req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    let body;
    try {
      if (path === "/bench/page.js") body = pageJs;
      else if (path === "/bench/page.html") body = PAGE_HTML;
      else if (path === "/bench/favicon.ico") body = "";
      else if (path.startsWith("/hls/") && !path.includes(".."))
        body = readFileSync(join(hlsDir, path.slice(5)));
    } catch {
      body = undefined;
    }
    // The favicon chromium asks for, among them: nothing to serve.
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      "content-type": TYPES[extname(path)] ?? "text/html",
      "cache-control": "no-store",
    });
    res.end(body);
  });
  return new Promise((resolve) => server.listen(PORTS.pages, "127.0.0.1", () => resolve(server)));
}

const PAGE_HTML =
  '<!doctype html><meta charset="utf-8"><title>live bench</title><link rel="icon" href="/bench/favicon.ico"><body>' +
  '<script type="module">import * as b from "/bench/page.js"; window.benchPage = b;</script>';

async function bundlePage() {
  const out = await build({
    entryPoints: [join(here, "page.mjs")],
    bundle: true,
    format: "esm",
    write: false,
    minify: true,
    target: "chrome120",
    logLevel: "warning",
  });
  return out.outputFiles[0].text;
}

const ARGS = [
  ...CHROMIUM_ARGS,
  // Every page plays at once: none may be throttled as a background tab.
  "--disable-background-timer-throttling",
  "--disable-renderer-backgrounding",
  "--disable-backgrounding-occluded-windows",
  // Real host candidates, not mDNS names Janus cannot resolve; and no local-network-access check
  // on a page playwright fulfils (it has no address, so its WebSocket to pscsd's loopback origin
  // counts as public to private; pscsd's own UI pages will come from pscsd itself).
  "--disable-features=WebRtcHideLocalIpsWithMdns,LocalNetworkAccessChecks",
];

/** A page on the path's origin, its module loaded: ours on pscsd's (routed), baselines on the server's. */
async function openPage(context, path, pageJs, pscsd) {
  const page = await context.newPage();
  page.on("console", (m) => {
    if (m.type() === "error") log(`  [${path}] console: ${m.text()}`);
  });
  page.on("pageerror", (e) => log(`  [${path}] page error: ${e.message}`));
  if (OURS.includes(path)) {
    await page.route(`${pscsd.origin}/bench/**`, (route) => {
      const p = new URL(route.request().url()).pathname;
      if (p === "/bench/page.html") return route.fulfill({ contentType: "text/html", body: PAGE_HTML });
      if (p === "/bench/page.js") return route.fulfill({ contentType: "text/javascript", body: pageJs });
      if (p === "/bench/favicon.ico") return route.fulfill({ status: 204 });
      // The player bundles as pscsd's build makes them (dist/web/live/*.js).
      const rel = p.slice("/bench/web/".length);
      if (p.startsWith("/bench/web/") && !rel.includes(".."))
        return route.fulfill({
          contentType: "text/javascript",
          body: readFileSync(join(root, "dist/web", rel)),
        });
      return route.fulfill({ status: 404 });
    });
    await page.goto(`${pscsd.origin}/bench/page.html`);
  } else {
    await page.goto(`http://127.0.0.1:${PORTS.pages}/bench/page.html`);
  }
  await page.waitForFunction(() => window.benchPage !== undefined);
  return page;
}

function playOptions(path, pscsd, janus) {
  if (path === "hls") return { url: `http://127.0.0.1:${PORTS.pages}/hls/live.m3u8` };
  if (path === "janus") return { url: janus.url, mountpoint: 1 };
  // pscsd's own player when this build has it, else the path's contract spoken by the page.
  if (!existsSync(join(root, `dist/web/live/${path}.js`)))
    return { camera: "cam1", csrfToken: pscsd.csrfToken };
  return {
    module: `/bench/web/live/${path}.js`,
    className: path === "mse" ? "MsePlayer" : "WebRtcPlayer",
    camera: "cam1",
    csrfToken: pscsd.csrfToken,
  };
}

const meters = (page) => page.evaluate(() => window.bench.stats.map((s) => ({ ...s })));

/** Phase 1: one viewer per path, every path at once, over the same window. */
async function latencyPhase(context, pageJs, pscsd, janus) {
  log(`latency: ${PATHS.join(", ")} at once, ${WARMUP_S} s warm-up then ${SECONDS} s`);
  pages = {};
  for (const path of PATHS) pages[path] = await openPage(context, path, pageJs, pscsd);
  await Promise.all(
    PATHS.map((path) =>
      pages[path].evaluate(
        ([p, o]) => window.benchPage.run(p, 1, o),
        [path, playOptions(path, pscsd, janus)],
      ),
    ),
  );
  const from = Date.now() + WARMUP_S * 1000;
  const to = from + SECONDS * 1000;
  await sleep(to - Date.now() + 500);
  const out = {};
  for (const path of PATHS) {
    const [m] = await meters(pages[path]);
    out[path] = {
      ...latencyFigures(m, from, to),
      client: OURS.includes(path) ? (playOptions(path, pscsd).module ? "player" : "contract") : path,
      firstFrameMs: m.firstFrameMs === null ? null : Math.round(m.firstFrameMs),
      framesRendered: m.frames,
      undecodableFrames: m.undecodable,
      error: m.error,
    };
    await pages[path].evaluate(() => Promise.all(window.bench.stops.map((s) => s?.())));
    await pages[path].close();
    const f = out[path];
    log(
      `  ${path.padEnd(6)} p50 ${f.p50Ms} ms  p95 ${f.p95Ms} ms  p99 ${f.p99Ms} ms  (${f.samples} frames read, ${f.fps} fps, ${f.undecodableFrames} unreadable)${f.error ? `  ERROR ${f.error}` : ""}`,
    );
  }
  return out;
}

/** Phase 2: time to first frame, `JOINS` fresh players one after another per path (paths at once). */
async function joinPhase(context, pageJs, pscsd, janus) {
  log(`time to first frame: ${JOINS} joins per path`);
  const out = {};
  await Promise.all(
    PATHS.map(async (path) => {
      const o = playOptions(path, pscsd, janus);
      const times = [];
      const errors = [];
      for (let i = 0; i < JOINS; i++) {
        // A fresh page each time, as a viewer opening the live view has.
        const page = await openPage(context, path, pageJs, pscsd);
        await page.evaluate(([p, opts]) => window.benchPage.run(p, 1, opts), [path, o]);
        const end = Date.now() + 5_000;
        let m;
        do {
          await sleep(50);
          [m] = await meters(page);
        } while (m.firstFrameMs === null && !m.error && Date.now() < end);
        if (m.firstFrameMs !== null) times.push(Math.round(m.firstFrameMs));
        else errors.push(m.error ?? "no frame within 5 s");
        await page.evaluate(() => Promise.all(window.bench.stops.map((s) => s?.())));
        await page.close();
        // Let the server see the viewer go before the next one comes.
        await sleep(300);
      }
      const sorted = [...times].sort((a, b) => a - b);
      out[path] = {
        joins: JOINS,
        p50Ms: percentile(sorted, 50),
        maxMs: sorted.at(-1) ?? null,
        timesMs: times,
        failures: errors,
      };
      log(
        `  ${path.padEnd(6)} first frame p50 ${out[path].p50Ms} ms, max ${out[path].maxMs} ms (${errors.length} failed)`,
      );
    }),
  );
  return out;
}

/** Phase 3: pscsd's CPU and memory with n viewers of one of its paths against none, n = VIEWERS. */
async function loadPhase(context, pageJs, pscsd) {
  const groups = { node: () => [pscsd.pid], total: () => [pscsd.pid, ...descendants(pscsd.pid)] };
  const out = {};
  for (const path of OURS) {
    // The idle baseline: recording only, no live session (the last one lingered out).
    await sleep(5_000);
    const idle = await measure(groups, LOAD_SECONDS);
    const rows = [];
    for (const n of VIEWERS) {
      const page = await openPage(context, path, pageJs, pscsd);
      await page.evaluate(([p, c, o]) => window.benchPage.run(p, c, o), [path, n, playOptions(path, pscsd)]);
      await sleep(5_000);
      const from = Date.now();
      const r = await measure(groups, LOAD_SECONDS);
      const to = Date.now();
      const ms = await meters(page);
      const figures = ms.map((m) => latencyFigures(m, from, to));
      const lat = figures.map((f) => f.p50Ms).filter((v) => v !== null);
      await page.evaluate(() => Promise.all(window.bench.stops.map((s) => s?.())));
      await page.close();
      const row = {
        viewers: n,
        playing: figures.filter((f) => f.fps > 10).length,
        nodeCpuPct: +r.node.cpuPct.toFixed(2),
        nodeRssMB: +r.node.rssMB.toFixed(1),
        medianViewerP50Ms: percentile(
          lat.sort((a, b) => a - b),
          50,
        ),
        errors: ms.map((m) => m.error).filter(Boolean),
      };
      rows.push(row);
      log(
        `  ${path} ${n} viewer(s): node ${row.nodeCpuPct}% ${row.nodeRssMB} MB (idle ${idle.node.cpuPct.toFixed(2)}% ${idle.node.rssMB.toFixed(1)} MB); ${row.playing}/${n} playing, median p50 ${row.medianViewerP50Ms} ms`,
      );
      await sleep(3_000);
    }
    // The first viewer also opens the camera's live session (RTSP, depacketizing): per viewer is
    // the slope over the viewer counts; the session's own cost is in the first count's figure.
    const cpu = slope(rows.map((w) => [w.viewers, w.nodeCpuPct]));
    const rss = slope(rows.map((w) => [w.viewers, w.nodeRssMB]));
    out[path] = {
      idle: { nodeCpuPct: +idle.node.cpuPct.toFixed(2), nodeRssMB: +idle.node.rssMB.toFixed(1) },
      rows,
      cpuPctPerViewer: cpu === null ? null : +cpu.toFixed(3),
      rssMBPerViewer: rss === null ? null : +rss.toFixed(2),
    };
    log(`  ${path}: ${out[path].cpuPctPerViewer}% of a core and ${out[path].rssMBPerViewer} MB per viewer`);
  }
  return out;
}

/** Least-squares slope of y over x; null with fewer than two distinct x. */
function slope(points) {
  if (new Set(points.map(([x]) => x)).size < 2) return null;
  const mx = points.reduce((a, [x]) => a + x, 0) / points.length;
  const my = points.reduce((a, [, y]) => a + y, 0) / points.length;
  const sxy = points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  return sxy / sxx;
}

function verdict(lat, ttff) {
  const ours = OURS.filter((p) => lat[p]?.p50Ms != null);
  if (ours.length === 0) return {};
  const [best, other] = [...ours].sort((a, b) => lat[a].p50Ms - lat[b].p50Ms);
  const d = lat[best];
  const ratio = (x) => (x?.p50Ms ? +(x.p50Ms / d.p50Ms).toFixed(2) : null);
  const v = {
    default: best,
    fallback: other ?? null,
    janusP50OverDefault: ratio(lat.janus),
    hlsP50OverDefault: ratio(lat.hls),
  };
  v.goals = {
    defaultP50AtMost60: d.p50Ms <= 60,
    defaultP95AtMost80: d.p95Ms <= 80,
    defaultBelowJanusP50: lat.janus?.p50Ms != null ? d.p50Ms < lat.janus.p50Ms : null,
    hlsAtLeast20x: v.hlsP50OverDefault != null ? v.hlsP50OverDefault >= 20 : null,
    fallbackP50AtMost80: other ? lat[other].p50Ms <= 80 : null,
    mseFirstFrameP50Below200: ttff.mse?.p50Ms != null ? ttff.mse.p50Ms < 200 : null,
    webrtcFirstFrameP50Below1000: ttff.webrtc?.p50Ms != null ? ttff.webrtc.p50Ms < 1000 : null,
  };
  return v;
}

try {
  const pageJs = await bundlePage();
  const { cam, rtsp } = await startBenchSim();
  results.stream = `${cam.video.width}x${cam.video.height}@${cam.video.fps}`;
  const pscsd = OURS.length ? await startBenchPscsd(cam) : null;
  const hlsDir = PATHS.includes("hls") ? startHls(rtsp) : join(work, "none");
  let janus = null;
  if (PATHS.includes("janus")) {
    try {
      janus = await startJanus(rtsp);
    } catch (e) {
      results.janusError = e.message;
      log(`janus did not start, its path is skipped: ${e.message}`);
      PATHS.splice(PATHS.indexOf("janus"), 1);
    }
  }
  const server = await pagesServer(pageJs, hlsDir);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  const context = await browser.newContext();
  if (pscsd)
    await context.addCookies([
      { name: "pscs_session", value: pscsd.session, url: pscsd.origin, httpOnly: true, sameSite: "Strict" },
    ]);
  // The HLS playlist needs its first segments before hls.js can start.
  if (PATHS.includes("hls"))
    await until("ffmpeg hls", 20_000, async () =>
      readFileSync(join(hlsDir, "live.m3u8"), "utf8").includes(".ts"),
    );
  // The machine is shared: how busy it was is part of the figures.
  results.loadAverageAtStart = loadavg().map((l) => +l.toFixed(2));
  results.seconds = SECONDS;
  results.warmupSeconds = WARMUP_S;
  results.latency = await latencyPhase(context, pageJs, pscsd, janus);
  results.firstFrame = JOINS ? await joinPhase(context, pageJs, pscsd, janus) : {};
  Object.assign(results, verdict(results.latency, results.firstFrame));
  if (results.default)
    log(
      `default ${results.default} (fallback ${results.fallback}): Janus p50 ${results.janusP50OverDefault}x, HLS p50 ${results.hlsP50OverDefault}x the default's; goals ${JSON.stringify(results.goals)}`,
    );
  if (OURS.length) {
    log(`pscsd CPU (% of a core) and memory per viewer, ${LOAD_SECONDS} s windows`);
    results.loadSeconds = LOAD_SECONDS;
    results.load = await loadPhase(context, pageJs, pscsd);
  }
  results.loadAverageAtEnd = loadavg().map((l) => +l.toFixed(2));
  server.close();
  mkdirSync(join(root, "bench/results"), { recursive: true });
  writeFileSync(join(root, "bench/results/live.json"), `${JSON.stringify(results, null, 2)}\n`);
  log("wrote bench/results/live.json");
} finally {
  await browser?.close().catch(() => {});
  await stop(procs);
  rmSync(work, { recursive: true, force: true });
}
