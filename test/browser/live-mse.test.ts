import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Simulator } from "../../sim/simulator.js";
import type { Pscsd } from "../../src/compose/daemon.js";
import { type BrowserSession, openBrowser } from "../helpers/browser.js";
import { writeDaemonConfig } from "../helpers/config.js";
import { freePort } from "../helpers/ports.js";
import {
  type LocalCatalog,
  openLocalCatalog,
  PASSWORD,
  seedUsers,
  startInProcess,
  TEST_AUTH,
} from "../helpers/pscsd.js";
import { simCameraConfigs, startTestCameras } from "../helpers/sim.js";

// The bundled MsePlayer (dist/web/live/mse.js) in Debian's chromium, in a page on pscsd's origin
// (fulfilled by page.route, so the session cookie and the Origin check apply), signed in as a
// dispatcher, against the simulator's live stream through pscsd: decoded frames that change.
const CAM_PASSWORD = "Mse-Browser-2026!";
const dir = mkdtempSync(join(tmpdir(), "pscs-mse-browser-"));
const BUNDLE = new URL("../../dist/web/live/mse.js", import.meta.url).pathname;
let sim: Simulator;
let daemon: Pscsd;
let local: LocalCatalog;
let browser: BrowserSession;

beforeAll(async () => {
  sim = await startTestCameras(dir, { user: "recorder", password: CAM_PASSWORD });
  writeFileSync(join(dir, "cam.pw"), `${CAM_PASSWORD}\n`);
  const configFile = writeDaemonConfig(dir, {
    httpPort: await freePort(),
    cameras: simCameraConfigs(sim),
    onvif: { heartbeatSeconds: 60, requestTimeoutSeconds: 3 },
    extra: { auth: TEST_AUTH },
  });
  local = openLocalCatalog(configFile);
  await seedUsers(local, { disp1: ["dispatcher"] });
  daemon = await startInProcess({ dir, configFile, httpPort: 0 });
  // A page fulfilled by page.route has no address space of its own, so chromium's Local Network
  // Access checks take it for a public page reaching into loopback; a page pscsd serves is loopback.
  browser = await openBrowser({ args: ["--disable-features=LocalNetworkAccessChecks"] });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await daemon?.stop();
  local?.close();
  await sim?.stop();
});

/** The few page shapes evaluated here (the test build has no DOM lib). */
interface Page {
  player: {
    start(): void;
    stop(): void;
    readonly state: string;
    stats(): { lagSeconds: number; fragments: number; codec: string | null; width: number };
  };
  video: {
    currentTime: number;
    videoWidth: number;
    getVideoPlaybackQuality(): { totalVideoFrames: number };
  };
  sample(): number[];
}
declare const window: Page;

describe("MsePlayer in chromium", () => {
  it("plays the camera live: decoded frames that change, near the live edge, no console errors", async () => {
    const { page } = browser;
    const origin = daemon.url;
    await page.route(`${origin}/live-test/**`, (route) => {
      const url = new URL(route.request().url());
      if (url.pathname.endsWith("/mse.js"))
        return route.fulfill({ contentType: "text/javascript", body: readFileSync(BUNDLE) });
      return route.fulfill({
        contentType: "text/html",
        body: `<!doctype html><meta charset="utf-8"><title>live</title>
<video id="v" muted playsinline width="320" height="180"></video>
<script type="module">
import { MsePlayer } from "./mse.js";
const video = document.getElementById("v");
window.video = video;
window.player = new MsePlayer(video, { camera: "cam1" });
const canvas = document.createElement("canvas");
canvas.width = 64;
canvas.height = 36;
const g = canvas.getContext("2d", { willReadFrequently: true });
window.sample = () => {
  g.drawImage(video, 0, 0, 64, 36);
  return Array.from(g.getImageData(0, 0, 64, 36).data);
};
</script>`,
      });
    });
    await page.goto(`${origin}/live-test/index.html`);
    const status = await page.evaluate(
      async (password) =>
        (
          await fetch("/api/session", {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ username: "disp1", password }),
          })
        ).status,
      PASSWORD,
    );
    expect(status).toBe(200);
    await page.waitForFunction(() => window.player !== undefined);
    const started = Date.now();
    await page.evaluate(() => window.player.start());
    await page
      .waitForFunction(() => window.player.state === "playing" && window.video.currentTime > 0, null, {
        timeout: 10_000,
      })
      .catch(async (e: Error) => {
        const state = await page.evaluate(() => window.player.stats());
        throw new Error(`${e.message}; player ${JSON.stringify(state)}; ${browser.errors.join("; ")}`);
      });
    const firstFrameMs = Date.now() - started;
    const a = await page.evaluate(() => window.sample());
    const moved = (b: number[]) =>
      a.filter((v, i) => i % 4 !== 3 && Math.abs(v - (b[i] as number)) > 8).length;
    // The picture moves (a loaded machine can hold a frame a second or two: wait up to 10 s for it).
    let b = a;
    for (const end = Date.now() + 10_000; moved(b) <= 50 && Date.now() < end; ) {
      await new Promise((r) => setTimeout(r, 500));
      b = await page.evaluate(() => window.sample());
    }
    // Frames keep coming (a loaded machine may take a few seconds for the first ten).
    await page.waitForFunction(() => window.video.getVideoPlaybackQuality().totalVideoFrames > 10, null, {
      timeout: 10_000,
    });
    const seen = await page.evaluate(() => ({
      frames: window.video.getVideoPlaybackQuality().totalVideoFrames,
      width: window.video.videoWidth,
      stats: window.player.stats(),
    }));
    // Not black, and the picture moved (the simulator's clock and moving pattern).
    const luma = a.reduce((n, v, i) => (i % 4 === 3 ? n : n + v), 0) / ((a.length / 4) * 3);
    expect(luma).toBeGreaterThan(16);
    expect(moved(b)).toBeGreaterThan(50);
    expect(seen.width).toBe(320);
    expect(seen.stats.codec).toMatch(/^avc1\./);
    expect(seen.stats.lagSeconds).toBeLessThan(1);
    expect(firstFrameMs).toBeLessThan(5_000);
    await page.evaluate(() => window.player.stop());
    expect(browser.errors).toEqual([]);
    // The socket's close reaches pscsd a moment after stop() returns.
    await expect
      .poll(async () => (await local.audit.list({ action: "video.live.close", actor: "user:disp1" })).length)
      .toBe(1);
    const closes = await local.audit.list({ action: "video.live.close", actor: "user:disp1" });
    expect(JSON.parse(closes[0]?.details ?? "{}")).toMatchObject({ transport: "mse" });
  }, 60_000);
});
