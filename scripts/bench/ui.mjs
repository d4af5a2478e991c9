// The web UI's budget (issue 18), in headless Debian chromium against the built pscsd and the
// simulator, all on loopback:
//  1. first load of every screen, cold (new tab, HTTP cache disabled) and warm (new tab, cache
//     primed), from navigation start to the screen's main content drawn with its data: a selector
//     per screen present in an animation frame after the screen's API answers were parsed. Baseline:
//     a static page of the same bytes (HTML, a script as long as app.js, a stylesheet as long as
//     app.css) from a bare node:http server, ready when its script has run.
//  2. the dispatch wall at 9 tiles of 9 simulated cameras (640x360@15): every tile's decoded frame
//     rate from requestVideoFrameCallback over a window, with chromium's, pscsd's and the
//     simulator's CPU. Baseline: the simulator's own frame rate, counted by an RTSP client (ffmpeg
//     -c copy) on one camera over the same window.
// Per screen also where its time went: the requests of the median cold load (asked at, the wait
// for the first byte, done at) and each API request's time asked again from here (the server's
// share); per tile its stalls and seeks. Also the first-load JavaScript and CSS, gzipped.
// Budget: every screen < 1 s; every tile ≥ 12 fps.
// Options: --runs 5 (loads per screen, cold and warm) --seconds 20 (wall window) --cameras 9
//          --only load|wall
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { chromium } from "playwright-core";
import { rtspUrlWithCredentials } from "../../dist/recorder/recorder.js";
import { descendants, procArgs } from "../../dist/src/proc/tree.js";
import { start, stop } from "./children.mjs";
import { measure } from "./procstat.mjs";
import {
  CHROMIUM,
  CHROMIUM_ARGS,
  signInApi,
  simCameraConfig,
  startPscsd,
  startSim,
  until,
} from "./stack.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "5" },
    seconds: { type: "string", default: "20" },
    cameras: { type: "string", default: "9" },
    only: { type: "string" },
  },
});
/** A flag's value as a whole number in [min, max], or exit 2 naming the flag. */
function whole(flag, text, min, max) {
  const n = Number(text);
  if (Number.isInteger(n) && n >= min && n <= max) return n;
  process.stderr.write(`bench ui: --${flag}: expected a whole number from ${min} to ${max}, got '${text}'\n`);
  process.exit(2);
}
const RUNS = whole("runs", values.runs, 1, 100);
const SECONDS = whole("seconds", values.seconds, 5, 600);
const CAMERAS = whole("cameras", values.cameras, 1, 16);
if (values.only !== undefined && !["load", "wall"].includes(values.only)) {
  process.stderr.write(`bench ui: --only: expected load or wall, got '${values.only}'\n`);
  process.exit(2);
}
const PARTS = values.only ? [values.only] : ["load", "wall"];
const BUDGET = { loadMs: 1000, tileFps: 12 };
const SIM_FPS = 15;
const TILES = 9;
// Every tile must be playing and past its first key frame before the window opens.
const WALL_WARMUP_S = 5;
const PASSWORD = "Bench-Only-1!";
const USER = "bench1";
const USER_PASSWORD = "Bench-Viewer-1!";
const PORTS = { sim: 27000, pscsd: 27500, baseline: 27600 };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (s) => process.stdout.write(`${s}\n`);

const work = mkdtempSync(join(tmpdir(), "pscs-bench-ui-"));
// Also when interrupted (children.mjs exits on SIGINT, past any finally).
process.on("exit", () => rmSync(work, { recursive: true, force: true }));
const procs = [];

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
const round = (v, d = 1) => (v === null ? null : Math.round(v * 10 ** d) / 10 ** d);
function summary(loads) {
  const s = loads.map((l) => l.ms).sort((a, b) => a - b);
  const p50 = (k) =>
    round(
      percentile(
        loads.map((l) => l[k]).sort((a, b) => a - b),
        50,
      ),
    );
  return {
    runs: s.length,
    p50Ms: round(percentile(s, 50)),
    maxMs: round(s.at(-1) ?? null),
    // p50 of when the script, the session and the last data answer had arrived, from navigation start.
    parts: { scriptMs: p50("scriptMs"), sessionMs: p50("sessionMs"), dataMs: p50("dataMs") },
    // The requests of the run at the median: where its time went.
    waterfall: loads.find((l) => l.ms === percentile(s, 50))?.waterfall ?? [],
  };
}

/** A run's requests in one line: path asked at → done at (of which waiting for the server). */
const waterfallLine = (w) =>
  w.map((e) => `${e.path.split("?")[0].replace(/^\/api\//, "")} ${e.at}→${e.endMs} (${e.waitMs})`).join(", ");

/** pscsd recording every simulated camera, with one person holding every screen's role. */
function startBenchPscsd(cameras) {
  return startPscsd({
    dir: join(work, "pscsd"),
    files: { "cam.pw": `${PASSWORD}\n` },
    config: {
      http: { host: "127.0.0.1", port: PORTS.pscsd },
      storage: { recordings: "rec", evidence: "ev", catalog: "catalog.db" },
      log: { level: "warn" },
      auth: { scryptLogN: 10 },
      cameras: simCameraConfig(cameras, "cam.pw"),
    },
    users: [
      {
        username: USER,
        displayName: "Bench: every screen",
        // Between them, every screen's permission (screens.tsx).
        roles: ["supervisor", "ops", "records", "auditor", "admin"],
        password: USER_PASSWORD,
      },
    ],
  });
}

/** A PTZ session, so the PTZ sessions screen has a row to draw; whether it was made. */
async function seedPtzSession(call) {
  const purpose = { purpose: { kind: "incident", reference: "CAD-2026-1201" } };
  const lock = await call("POST", "/api/cameras/cam1/ptz/control", purpose);
  if (!lock.ok) {
    log(`seed: PTZ session refused: ${lock.status} ${await lock.text()}`);
    return false;
  }
  await call("DELETE", "/api/cameras/cam1/ptz/control");
  return true;
}

/**
 * A hold on the last ten minutes of cam1, so the holds screen has a row to draw; whether it was
 * made (pscsd refuses until a first segment is cataloged: a minute after the recorder starts).
 */
async function seedHold(call) {
  const now = Date.now();
  const hold = await call("POST", "/api/holds", {
    formNumber: "PSCS-H-0018",
    receivedOn: new Date(now).toISOString().slice(0, 10),
    requestedBy: "Det. A. Example",
    agency: "Norwich Police Department",
    caseNumber: "26-000018",
    legalBasis: "criminal",
    reason: "UI benchmark",
    ranges: [{ camera: "cam1", from: now - 600_000, to: now }],
    form: {
      contentType: "application/pdf",
      data: Buffer.from("%PDF-1.4\n% bench\n%%EOF\n").toString("base64"),
    },
  });
  if (!hold.ok) log(`seed: no hold (its table is measured empty): ${(await hold.json()).detail}`);
  return hold.ok;
}

/**
 * Each screen's main content with its data: `selector` drawn in a frame after every `data` API
 * answer (a path part) was parsed. A row where the run has one to show; else the table itself.
 */
const SCREEN_IDS = [
  "wall",
  "ops",
  "cameras",
  "ptz-sessions",
  "playback",
  "holds",
  "exports",
  "audit",
  "users",
  "zones",
];
function screen(id, seeded) {
  const row = (seededRow, selector) => (seededRow ? selector : "table.grid");
  const s = {
    wall: { selector: "figure[data-camera][data-state=playing]", data: ["/api/cameras"] },
    ops: { selector: "tr[data-camera] .badge", data: ["/api/health"] },
    cameras: { selector: "tr[data-camera]", data: ["/api/cameras"] },
    "ptz-sessions": { selector: row(seeded.ptzSession, "tr[data-session]"), data: ["/api/ptz/sessions"] },
    playback: { selector: ".timeline", data: ["/timeline"] },
    holds: { selector: row(seeded.hold, "tr[data-hold]"), data: ["/api/holds"] },
    exports: { selector: "table.grid", data: ["/api/exports"] },
    audit: { selector: "[data-chain]", data: ["/api/audit/verify"] },
    users: { selector: "tr[data-user]", data: ["/api/users"] },
    zones: { selector: "svg.zone-map", data: ["/privacy-zones"] },
  }[id];
  return { id, ...s };
}

/**
 * Run in the page before its own scripts: records (performance.now(), from navigation start) the
 * first animation frame in which the selector matches and every named API answer was parsed.
 */
function readyProbe(target) {
  return `(() => {
    const want = ${JSON.stringify(target)};
    const got = [];
    const json = Response.prototype.json;
    Response.prototype.json = function () {
      const path = new URL(this.url).pathname;
      return json.call(this).then((v) => { got.push(path); return v; });
    };
    const tick = () => {
      if (document.querySelector(want.selector) && want.data.every((d) => got.some((g) => g.includes(d)))) {
        // Where the time went: the script's and the session's answers, the last data answer.
        const res = performance.getEntriesByType("resource");
        const end = (f) => Math.max(0, ...res.filter((e) => f(new URL(e.name).pathname)).map((e) => e.responseEnd));
        const nav = performance.getEntriesByType("navigation")[0];
        const r = (v) => Math.round(v);
        window.__ready = {
          ms: performance.now(),
          scriptMs: end((p) => p.endsWith("/app.js")),
          sessionMs: end((p) => p === "/api/session"),
          dataMs: end((p) => want.data.some((d) => p.includes(d))),
          // Every request until ready: asked at, waited for its first byte (the server), done at.
          waterfall: [
            { path: "/", at: 0, waitMs: r(nav.responseStart - nav.requestStart), endMs: r(nav.responseEnd) },
            ...res.map((e) => {
              const u = new URL(e.name);
              return { path: u.pathname + u.search, at: r(e.startTime), waitMs: r(e.responseStart - e.requestStart), endMs: r(e.responseEnd) };
            }),
          ],
        };
        return;
      }
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  })()`;
}

/** One load of `url` in a new tab of `context`; ms from navigation start to ready, and its parts. */
async function loadOnce(context, url, target, cold) {
  const page = await context.newPage();
  try {
    if (cold) {
      const cdp = await context.newCDPSession(page);
      await cdp.send("Network.enable");
      await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
    }
    await page.addInitScript({ content: readyProbe(target) });
    await page.goto(url);
    await page.waitForFunction(() => window.__ready !== undefined, null, { timeout: 30_000 });
    return await page.evaluate(() => window.__ready);
  } finally {
    await page.close();
  }
}

async function loads(context, url, target) {
  const cold = [];
  for (let i = 0; i < RUNS; i++) cold.push(await loadOnce(context, url, target, true));
  // One load fills the HTTP cache; the measured warm loads follow it.
  await loadOnce(context, url, target, false);
  const warm = [];
  for (let i = 0; i < RUNS; i++) warm.push(await loadOnce(context, url, target, false));
  return { cold: summary(cold), warm: summary(warm) };
}

/**
 * The server's share: each API request of a load (GET, as the screen made it) asked again from
 * here, RUNS times one after the other; p50 ms from asking to the whole answer.
 */
async function serverTimes(call, waterfall) {
  const out = {};
  const paths = new Set(waterfall.map((e) => e.path).filter((p) => p.startsWith("/api/")));
  for (const path of paths) {
    const ms = [];
    for (let i = 0; i < RUNS; i++) {
      const t = performance.now();
      const res = await call("GET", path);
      await res.arrayBuffer();
      // A POST the screen made (holds coverage) answers a GET otherwise: not its figure.
      if (!res.ok) break;
      ms.push(performance.now() - t);
    }
    if (ms.length)
      out[path.split("?")[0]] = round(
        percentile(
          ms.sort((a, b) => a - b),
          50,
        ),
      );
  }
  return out;
}

/** The baseline page: the same bytes as pscsd's first load, static, its script marking it ready. */
function baselineServer(jsBytes, cssBytes) {
  const mark = 'document.getElementById("app").setAttribute("data-ready", "");\n';
  const pad = (n, head) => `${head}/*${"x".repeat(Math.max(0, n - head.length - 4))}*/`;
  const files = {
    "/": {
      type: "text/html; charset=utf-8",
      body: '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>baseline</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/base.css"><script type="module" src="/base.js"></script></head><body><div id="app"></div></body></html>\n',
    },
    "/base.js": { type: "text/javascript; charset=utf-8", body: pad(jsBytes, mark) },
    "/base.css": { type: "text/css; charset=utf-8", body: pad(cssBytes, "body{margin:0}\n") },
  };
  const server = createServer((req, res) => {
    const f = files[new URL(req.url, "http://x").pathname];
    if (!f) return res.writeHead(404).end();
    res.writeHead(200, { "content-type": f.type, "cache-control": "no-cache" }).end(f.body);
  });
  return new Promise((resolve) => server.listen(PORTS.baseline, "127.0.0.1", () => resolve(server)));
}

/** Signs in through the sign-in screen, as a person would; the context keeps the cookie. */
async function signIn(context, origin) {
  const page = await context.newPage();
  await page.goto(origin);
  await page.getByLabel("User name").fill(USER);
  await page.getByLabel("Password", { exact: true }).fill(USER_PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("navigation", { name: "Screens" }).waitFor({ timeout: 15_000 });
  await page.close();
}

/** Frames counted from the camera's RTSP stream by ffmpeg (stream copy): the simulator's rate. */
function simCounter(cam) {
  const ff = start("ffmpeg", [
    ...["-hide_banner", "-nostdin", "-loglevel", "error", "-rtsp_transport", "tcp"],
    ...["-i", rtspUrlWithCredentials(cam.rtsp, cam.onvif.user, PASSWORD)],
    ...["-an", "-c", "copy", "-f", "null", "-", "-progress", "pipe:1", "-stats_period", "0.5"],
  ]);
  procs.push(ff);
  const last = { frames: 0, at: performance.now() };
  createInterface({ input: ff.stdout }).on("line", (l) => {
    const m = /^frame=(\d+)/.exec(l);
    if (m) Object.assign(last, { frames: Number(m[1]), at: performance.now() });
  });
  return { pid: ff.pid, read: () => ({ ...last }) };
}

/** Every tile's frames so far (requestVideoFrameCallback, and the decoder's own count). */
const TILE_COUNTS = `(() => {
  if (!window.__tiles) {
    window.__tiles = {};
    for (const v of document.querySelectorAll("figure[data-camera] video")) {
      const cam = v.closest("figure").dataset.camera;
      const t = (window.__tiles[cam] = { frames: 0, waiting: 0, seeking: 0 });
      v.addEventListener("waiting", () => t.waiting++);
      v.addEventListener("seeking", () => t.seeking++);
      const f = () => { t.frames++; v.requestVideoFrameCallback(f); };
      v.requestVideoFrameCallback(f);
    }
  }
  const out = {};
  for (const v of document.querySelectorAll("figure[data-camera] video")) {
    const cam = v.closest("figure").dataset.camera;
    const q = v.getVideoPlaybackQuality();
    out[cam] = {
      frames: window.__tiles[cam]?.frames ?? 0,
      // Stalls (the playhead at the newest frame) and seeks (the player jumping to the live edge).
      waiting: window.__tiles[cam]?.waiting ?? 0,
      seeking: window.__tiles[cam]?.seeking ?? 0,
      lagS: v.buffered.length ? Math.round((v.buffered.end(v.buffered.length - 1) - v.currentTime) * 100) / 100 : null,
      rate: v.playbackRate,
      decoded: q.totalVideoFrames,
      dropped: q.droppedVideoFrames,
      state: v.closest("figure").dataset.state,
      transport: v.closest("figure").dataset.transport,
      size: v.videoWidth + "x" + v.videoHeight,
    };
  }
  return { at: performance.now(), tiles: out };
})()`;

async function wall(context, origin, sim, pscsdPid) {
  const page = await context.newPage();
  await page.setViewportSize({ width: 1920, height: 1080 });
  await page.goto(`${origin}/#/wall`);
  await page.getByRole("button", { name: "9 tiles" }).click();
  const playing = page.locator("figure[data-camera][data-state=playing]");
  await until("9 tiles playing", 30_000, async () => (await playing.count()) === Math.min(TILES, CAMERAS));
  await sleep(WALL_WARMUP_S * 1000);
  const counter = simCounter(sim.cameras[0]);
  await sleep(3000);
  const mine = new Set([process.pid]);
  const others = () =>
    new Set([pscsdPid, sim.pid, counter.pid, ...descendants(pscsdPid), ...descendants(sim.pid)]);
  const browserPids = () => {
    const skip = others();
    return descendants(process.pid).filter(
      (p) => !skip.has(p) && !mine.has(p) && (procArgs(p)?.[0] ?? "").includes("chromium"),
    );
  };
  const s0 = counter.read();
  const t0 = await page.evaluate(TILE_COUNTS);
  const cpu = await measure(
    {
      chromium: browserPids,
      pscsd: () => [pscsdPid],
      pscsdChildren: () => descendants(pscsdPid),
      sim: () => [sim.pid, ...descendants(sim.pid)],
    },
    SECONDS,
  );
  const t1 = await page.evaluate(TILE_COUNTS);
  const s1 = counter.read();
  await stop([counter]);
  await page.close();
  const span = (t1.at - t0.at) / 1000;
  const tiles = Object.entries(t1.tiles).map(([camera, b]) => {
    const a = t0.tiles[camera] ?? { frames: 0, decoded: 0, dropped: 0 };
    return {
      camera,
      size: b.size,
      state: b.state,
      transport: b.transport,
      // Frames handed to the compositor (requestVideoFrameCallback): the budget's figure.
      fps: round((b.frames - a.frames) / span),
      // The decoder's own count (getVideoPlaybackQuality), and of those the ones dropped as late.
      decodedFps: round((b.decoded - a.decoded) / span),
      droppedFps: round((b.dropped - a.dropped) / span),
      stalls: b.waiting - (a.waiting ?? 0),
      seeks: b.seeking - (a.seeking ?? 0),
      lagS: b.lagS,
      playbackRate: b.rate,
    };
  });
  const fps = tiles.map((t) => t.fps).sort((a, b) => a - b);
  const simFps = round((s1.frames - s0.frames) / ((s1.at - s0.at) / 1000));
  return {
    tiles: tiles.length,
    windowS: round(span),
    minFps: fps[0] ?? null,
    p50Fps: percentile(fps, 50),
    minDecodedFps: Math.min(...tiles.map((t) => t.decodedFps)),
    simFps,
    ratioMinToSim: round((fps[0] ?? 0) / simFps, 2),
    meetsBudget: tiles.length === Math.min(TILES, CAMERAS) && (fps[0] ?? 0) >= BUDGET.tileFps,
    perTile: tiles,
    cpuPct: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, round(v.cpuPct)])),
    rssMB: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, Math.round(v.rssMB)])),
  };
}

const js = readFileSync(join(root, "dist/web/app.js"));
const css = readFileSync(join(root, "dist/web/app.css"));
const results = {
  benchmark: "ui",
  when: new Date().toISOString(),
  // This machine is shared: the 1-minute load average at the start and as each part began.
  machine: { cpus: cpus().length, loadavg: { start: round(loadavg()[0], 2) } },
  options: { runs: RUNS, seconds: SECONDS, cameras: CAMERAS, sim: `640x360@${SIM_FPS}`, parts: PARTS },
  budget: BUDGET,
  firstLoad: {
    jsBytes: js.length,
    jsGzipKB: round(gzipSync(js).length / 1024),
    cssBytes: css.length,
    cssGzipKB: round(gzipSync(css).length / 1024),
  },
};
log(
  `first load: app.js ${results.firstLoad.jsGzipKB} KB gzipped (${(js.length / 1024).toFixed(0)} KB), app.css ${results.firstLoad.cssGzipKB} KB gzipped`,
);
let browser;
let baseline;
try {
  const sim = await startSim({
    cameras: CAMERAS,
    basePort: PORTS.sim,
    stateDir: join(work, "sim"),
    password: PASSWORD,
    args: ["--fps", String(SIM_FPS)],
  });
  procs.push(sim.child);
  const pscsd = await startBenchPscsd(sim.cameras);
  procs.push(pscsd.child);
  const { call } = await signInApi(pscsd.origin, USER, USER_PASSWORD);
  const seeded = { ptzSession: await seedPtzSession(call), hold: false };
  results.seeded = seeded;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", ...CHROMIUM_ARGS],
    timeout: 20_000,
  });
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  await signIn(context, pscsd.origin);
  // Footage for the playback timeline, and the recorder's first segments behind us.
  await sleep(3000);
  if (PARTS.includes("load")) {
    results.machine.loadavg.load = round(loadavg()[0], 2);
    baseline = await baselineServer(js.length, css.length);
    const base = await loads(context, `http://127.0.0.1:${PORTS.baseline}/`, {
      selector: "#app[data-ready]",
      data: [],
    });
    log(`baseline static page: cold p50 ${base.cold.p50Ms} ms, warm p50 ${base.warm.p50Ms} ms`);
    const byScreen = {};
    for (const id of SCREEN_IDS) {
      if (id === "holds") seeded.hold = await seedHold(call);
      const s = screen(id, seeded);
      const r = await loads(context, `${pscsd.origin}/#/${s.id}`, s);
      const server = await serverTimes(call, r.cold.waterfall);
      byScreen[s.id] = {
        selector: s.selector,
        ...r,
        serverMs: server,
        ratioCold: round(r.cold.p50Ms / base.cold.p50Ms, 2),
        ratioWarm: round(r.warm.p50Ms / base.warm.p50Ms, 2),
        meetsBudget: r.cold.maxMs < BUDGET.loadMs && r.warm.maxMs < BUDGET.loadMs,
      };
      log(
        `${s.id.padEnd(13)} cold p50 ${r.cold.p50Ms} max ${r.cold.maxMs} ms (${byScreen[s.id].ratioCold}x) | warm p50 ${r.warm.p50Ms} max ${r.warm.maxMs} ms (${byScreen[s.id].ratioWarm}x)${byScreen[s.id].meetsBudget ? "" : "  OVER BUDGET"}`,
      );
      log(`  cold p50 run: ${waterfallLine(r.cold.waterfall)}`);
      log(
        `  server p50: ${Object.entries(server)
          .map(([k, v]) => `${k} ${v} ms`)
          .join(", ")}`,
      );
    }
    results.load = { baseline: base, screens: byScreen };
  }
  if (PARTS.includes("wall")) {
    results.machine.loadavg.wall = round(loadavg()[0], 2);
    const w = await wall(context, pscsd.origin, sim, pscsd.pid);
    results.wall = w;
    log(
      `wall ${w.tiles} tiles over ${w.windowS} s: min ${w.minFps} fps, p50 ${w.p50Fps} fps drawn (decoder min ${w.minDecodedFps}) | simulator ${w.simFps} fps | min/sim ${w.ratioMinToSim}x${w.meetsBudget ? "" : "  UNDER BUDGET"}`,
    );
    log(
      `  CPU (% of a core): chromium ${w.cpuPct.chromium}, pscsd ${w.cpuPct.pscsd} (+ its ffmpeg ${w.cpuPct.pscsdChildren}), simulator ${w.cpuPct.sim}`,
    );
  }
} finally {
  await browser?.close().catch(() => undefined);
  baseline?.close();
  await stop(procs);
}
mkdirSync(join(root, "bench/results"), { recursive: true });
writeFileSync(join(root, "bench/results/ui.json"), `${JSON.stringify(results, null, 2)}\n`);
log("wrote bench/results/ui.json");
