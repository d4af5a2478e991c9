import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { descendants, procArgs } from "../../src/proc/tree.js";

/**
 * Debian's chromium, headless, driven by playwright-core, for tests that must show something plays
 * in a real browser (playback, the export package's offline index.html). Each session has its own
 * fresh profile, records every console error and uncaught page error, and is closed for certain:
 * if chromium does not quit when asked, its processes (found by that profile) are killed by PID.
 */

export const CHROMIUM = "/usr/bin/chromium";

const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  // A test plays video without a click.
  "--autoplay-policy=no-user-gesture-required",
];

export interface BrowserSession {
  context: BrowserContext;
  /** The session's first tab. */
  page: Page;
  /** Console errors and uncaught page errors so far, in order, as text. */
  errors: string[];
  close(): Promise<void>;
}

/**
 * Starts chromium with a fresh profile; `args` are added to the harness's own flags; `timezoneId`
 * sets the zone its pages live in (default: the machine's).
 */
export async function openBrowser(o: { args?: string[]; timezoneId?: string } = {}): Promise<BrowserSession> {
  const profile = mkdtempSync(join(tmpdir(), "pscs-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...ARGS, ...(o.args ?? [])],
    timeout: 20_000,
    ...(o.timezoneId ? { timezoneId: o.timezoneId } : {}),
  });
  const errors: string[] = [];
  const watch = (p: Page) => {
    p.on("console", (m) => {
      if (m.type() === "error") errors.push(`console: ${m.text()}`);
    });
    p.on("pageerror", (e) => errors.push(`page: ${e.message}`));
  };
  context.pages().forEach(watch);
  context.on("page", watch);
  const page = context.pages()[0] ?? (await context.newPage());
  let closed: Promise<void> | undefined;
  return {
    context,
    page,
    errors,
    close: () => {
      closed ??= (async () => {
        const quit = await Promise.race([
          context.close().then(() => true),
          new Promise<false>((r) => setTimeout(() => r(false), 5_000)),
        ]);
        if (!quit) killProfile(profile);
        rmSync(profile, { recursive: true, force: true });
      })();
      return closed;
    },
  };
}

/** Chromium's processes under this test process that use `profile`, killed by PID. */
function killProfile(profile: string): void {
  for (const pid of descendants(process.pid)) {
    if (!(procArgs(pid) ?? []).includes(`--user-data-dir=${profile}`)) continue;
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
}

/**
 * The few DOM shapes the code run in the page uses, declared here: the test build has no DOM lib
 * (it would replace Node's globals, such as `performance`, in src/ too).
 */
interface VideoElement {
  muted: boolean;
  currentTime: number;
  duration: number;
  videoWidth: number;
  videoHeight: number;
  error: { code: number; message: string } | null;
  play(): Promise<void>;
}
interface Canvas2D {
  drawImage(image: VideoElement, x: number, y: number, w: number, h: number): void;
  getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
}
interface CanvasElement {
  width: number;
  height: number;
  getContext(kind: "2d", o: { willReadFrequently: boolean }): Canvas2D | null;
}
declare const document: {
  querySelector(selector: string): unknown;
  createElement(tag: "canvas"): CanvasElement;
};

export interface PlayEvidence {
  /** currentTime advanced by at least `advanceS` and the frame drawn from the video is not black. */
  plays: boolean;
  /** Why not, when it does not (the media error, a stall, a black frame). */
  reason: string | null;
  /** currentTime (s) as sampled every 100 ms from the first play() call. */
  times: number[];
  /** Mean luma (BT.709, 0-255) of the frame drawn onto a canvas once currentTime advanced; null if never. */
  luma: number | null;
  videoWidth: number;
  videoHeight: number;
  duration: number;
}

export interface PlayOptions {
  /** How far currentTime must advance, in seconds (default 1). */
  advanceS?: number;
  /** Mean luma a frame must exceed not to count as black (default 16). */
  minLuma?: number;
  timeoutMs?: number;
}

/**
 * Plays the `<video>` at `selector` (muted) and reports whether it really plays: its currentTime
 * advances, and a frame drawn from it onto a canvas is not black. The video must be same-origin
 * (or CORS-clean) for its pixels to be read; a file:// page needs `--allow-file-access-from-files`.
 */
export async function videoPlays(page: Page, selector: string, o: PlayOptions = {}): Promise<PlayEvidence> {
  const args = {
    selector,
    advanceS: o.advanceS ?? 1,
    minLuma: o.minLuma ?? 16,
    timeoutMs: o.timeoutMs ?? 10_000,
  };
  await page.waitForSelector(selector, { state: "attached", timeout: args.timeoutMs });
  return page.evaluate(async ({ selector, advanceS, minLuma, timeoutMs }) => {
    const video = document.querySelector(selector) as VideoElement;
    const times: number[] = [];
    const out = (plays: boolean, reason: string | null, luma: number | null) => ({
      plays,
      reason,
      times,
      luma,
      videoWidth: video.videoWidth,
      videoHeight: video.videoHeight,
      duration: video.duration,
    });
    const mediaError = () =>
      video.error ? `media error ${video.error.code}: ${video.error.message || "(no message)"}` : null;
    video.muted = true;
    const started = await video.play().then(
      () => null,
      (e: Error) => `play() refused: ${e.name}: ${e.message}`,
    );
    if (started) return out(false, mediaError() ?? started, null);
    const t0 = video.currentTime;
    const end = performance.now() + timeoutMs;
    for (;;) {
      times.push(video.currentTime);
      if (video.currentTime - t0 >= advanceS) break;
      const err = mediaError();
      if (err) return out(false, err, null);
      if (performance.now() > end)
        return out(false, `currentTime did not advance ${advanceS} s within ${timeoutMs} ms`, null);
      await new Promise((r) => setTimeout(r, 100));
    }
    const canvas = document.createElement("canvas");
    canvas.width = 64;
    canvas.height = 36;
    const g = canvas.getContext("2d", { willReadFrequently: true }) as Canvas2D;
    g.drawImage(video, 0, 0, canvas.width, canvas.height);
    let px: Uint8ClampedArray;
    try {
      px = g.getImageData(0, 0, canvas.width, canvas.height).data;
    } catch (e) {
      return out(false, `the frame cannot be read back: ${(e as Error).message}`, null);
    }
    let sum = 0;
    for (let i = 0; i < px.length; i += 4)
      sum += 0.2126 * (px[i] as number) + 0.7152 * (px[i + 1] as number) + 0.0722 * (px[i + 2] as number);
    const luma = sum / (px.length / 4);
    return luma > minLuma
      ? out(true, null, luma)
      : out(false, `the frame is black (mean luma ${luma.toFixed(1)} ≤ ${minLuma})`, luma);
  }, args);
}
