import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inputOptions, outputOptions } from "../../recorder/ffmpeg-args.js";
import type { Simulator } from "../../sim/simulator.js";
import type { Pscsd } from "../../src/compose/daemon.js";
import { type BrowserSession, openBrowser, videoPlays } from "../helpers/browser.js";
import {
  daemonDir,
  type LocalCatalog,
  openLocalCatalog,
  PASSWORD,
  SAMPLE_START,
  sampleSegment,
  seedSegment,
  seedUsers,
  startInProcess,
} from "../helpers/pscsd.js";
import { startTestCameras } from "../helpers/sim.js";

/**
 * The browser harness against real footage in Debian's chromium: a faststart MP4 stream-copied from
 * the simulator's recorded segments plays from a file:// page (as the export's index.html will), a
 * pscsd playback plays in a page signed in as records, and the harness tells a black or broken video
 * from one that plays.
 */

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "pscs-browser-"));
let sim: Simulator | undefined;
let browser: BrowserSession;

const ffmpeg = (args: string[]) => run("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", ...args]);
const page = (body: string) => `<!doctype html><meta charset="utf-8"><title>t</title>${body}`;

/** About 5 s of a simulated camera, recorded as pscsd records it, then one faststart MP4 (stream copy). */
async function simulatorClip(): Promise<string> {
  sim = await startTestCameras(dir, { user: "recorder", password: PASSWORD, fps: 10 });
  const cam = sim.describe()[0] as { rtsp: string };
  const rtsp = cam.rtsp.replace("rtsp://", `rtsp://recorder:${encodeURIComponent(PASSWORD)}@`);
  const segs = join(dir, "segs");
  mkdirSync(segs, { recursive: true });
  await ffmpeg([
    ...inputOptions(),
    ...["-i", rtsp, "-t", "5"],
    ...outputOptions({ rtspUrl: rtsp, segmentSeconds: 2, outputPattern: "" }),
    join(segs, "%03d.ts"),
  ]);
  await sim.stop();
  sim = undefined;
  const files = readdirSync(segs).sort();
  expect(files.length).toBeGreaterThanOrEqual(2);
  const list = join(dir, "list.txt");
  writeFileSync(list, files.map((f) => `file '${join(segs, f)}'\n`).join(""));
  const clip = join(dir, "site", "clip.mp4");
  mkdirSync(join(dir, "site"), { recursive: true });
  await ffmpeg(["-f", "concat", "-safe", "0", "-i", list, "-c", "copy", "-movflags", "+faststart", clip]);
  return clip;
}

beforeAll(async () => {
  browser = await openBrowser({ args: ["--allow-file-access-from-files"] });
}, 30_000);
afterAll(async () => {
  await browser?.close();
  await sim?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("video in headless chromium", () => {
  it("plays a faststart MP4 stream-copied from the simulator's segments, from a file:// page", async () => {
    await simulatorClip();
    const { stdout } = await run("ffprobe", [
      ...["-v", "error", "-show_entries", "stream=codec_name,profile", "-of", "csv=p=0"],
      join(dir, "site", "clip.mp4"),
    ]);
    // The simulator's libx264 (ultrafast: no CABAC, no B-frames) signals Constrained Baseline.
    expect(stdout.trim()).toBe("h264,Constrained Baseline");
    const html = join(dir, "site", "index.html");
    writeFileSync(html, page('<video id="v" src="clip.mp4" muted playsinline></video>'));
    await browser.page.goto(pathToFileURL(html).href);
    const seen = await videoPlays(browser.page, "#v");
    expect(seen, JSON.stringify(seen)).toMatchObject({ plays: true, videoWidth: 320, videoHeight: 180 });
    expect(seen.times.at(-1)).toBeGreaterThanOrEqual(1);
    expect(browser.errors).toEqual([]);
  }, 30_000);

  it("tells a black video and a broken file from one that plays", async () => {
    const site = join(dir, "site");
    await ffmpeg([
      ...["-f", "lavfi", "-i", "color=c=black:s=320x180:r=10", "-t", "3"],
      ...["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-movflags", "+faststart"],
      join(site, "black.mp4"),
    ]);
    writeFileSync(join(site, "broken.mp4"), Buffer.alloc(64 * 1024, 0x47));
    writeFileSync(
      join(site, "two.html"),
      page(
        '<video id="black" src="black.mp4" muted></video><video id="broken" src="broken.mp4" muted></video>',
      ),
    );
    await browser.page.goto(pathToFileURL(join(site, "two.html")).href);
    const black = await videoPlays(browser.page, "#black");
    expect(black.plays).toBe(false);
    expect(black.reason).toMatch(/black/);
    expect(black.luma).toBeLessThan(16);
    const broken = await videoPlays(browser.page, "#broken", { timeoutMs: 3_000 });
    expect(broken.plays).toBe(false);
    expect(broken.reason).toMatch(/media error|play\(\) refused|did not advance/);
  }, 30_000);

  describe("a pscsd playback", () => {
    let daemon: Pscsd;
    let local: LocalCatalog;
    beforeAll(async () => {
      const d = await daemonDir();
      seedSegment(d, await sampleSegment(d.dir));
      local = openLocalCatalog(d.configFile);
      await seedUsers(local, { records1: ["records"] });
      daemon = await startInProcess(d);
    }, 30_000);
    afterAll(async () => {
      await daemon?.stop();
      local?.close();
    });

    it("plays in a page signed in as records, streamed as fragmented MP4, audited with its purpose", async () => {
      // Same origin as the API (its docs page), so the session cookie goes with the video request.
      await browser.page.goto(`${daemon.url}/api/docs`);
      const status = await browser.page.evaluate(
        async (password) =>
          (
            await fetch("/api/session", {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({ username: "records1", password }),
            })
          ).status,
        PASSWORD,
      );
      expect(status).toBe(200);
      const src = `/api/cameras/cam1/playback?from=${SAMPLE_START}&to=${SAMPLE_START + 2_000}&purpose=browser%20test`;
      await browser.page.setContent(page(`<video id="v" src="${src}" muted></video>`));
      const seen = await videoPlays(browser.page, "#v");
      expect(seen, JSON.stringify(seen)).toMatchObject({ plays: true, videoWidth: 320 });
      const views = await local.audit.list({ action: "video.playback", actor: "user:records1" });
      expect(views.map((e) => JSON.parse(e.details).purpose)).toContain("browser test");
    }, 30_000);
  });
});
