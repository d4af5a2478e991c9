import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BrowserSession, openBrowser } from "../helpers/browser.js";
import { type LiveDaemon, startLiveDaemon } from "../helpers/live.js";
import { login, PASSWORD } from "../helpers/pscsd.js";

/**
 * The WebRTC player (api/web/live/webrtc-player.ts, as bundled into dist/web) in Debian's chromium,
 * on a page served under pscsd's origin, signed in as a dispatcher: decoded frames that change over
 * time, no console errors, the session ended by the player's stop(); signed out while playing, the
 * player ends at signed-out, not retrying.
 */

const BUNDLE = new URL("../../dist/web/live/webrtc.js", import.meta.url).pathname;
let live: LiveDaemon;
let browser: BrowserSession;

/** The few DOM shapes the page code uses (the test build has no DOM lib). */
interface Player {
  state: string;
  session: string | undefined;
  firstFrameMs: number | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
  stats(): Promise<{ framesDecoded: number; session: string | undefined; attempts: number }>;
}
interface Canvas2D {
  drawImage(image: unknown, x: number, y: number, w: number, h: number): void;
  getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
}
declare const document: {
  querySelector(selector: string): unknown;
  createElement(tag: "canvas"): { width: number; height: number; getContext(k: "2d"): Canvas2D };
};
declare const window: { player: Player };

beforeAll(async () => {
  live = await startLiveDaemon(mkdtempSync(join(tmpdir(), "pscs-webrtc-browser-")), {
    users: { disp1: ["dispatcher"], aud1: ["auditor"] },
    fps: 15,
  });
  browser = await openBrowser({
    // Loopback candidates (pscsd offers only 127.0.0.1 here), and plain addresses rather than mDNS
    // names, so nothing is multicast on the machine's networks.
    args: ["--allow-loopback-in-peer-connection", "--disable-features=WebRtcHideLocalIpsWithMdns"],
  });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await live?.stop();
});

describe("the WebRTC player in chromium", () => {
  it("shows the camera's live picture, changing over time; stop() ends the session", async () => {
    const origin = live.daemon.url;
    const { page } = browser;
    await page.route(`${origin}/live-test/**`, (route) => {
      const url = route.request().url();
      if (url.endsWith("/webrtc.js"))
        return route.fulfill({ contentType: "text/javascript", body: readFileSync(BUNDLE, "utf8") });
      return route.fulfill({
        contentType: "text/html",
        body: `<!doctype html><meta charset="utf-8"><title>live</title><video id="v" muted></video>
<script type="module">
  import { WebRtcPlayer } from "/live-test/webrtc.js";
  window.WebRtcPlayer = WebRtcPlayer;
</script>`,
      });
    });
    await page.goto(`${origin}/live-test/index.html`);
    await page.waitForFunction(() => "WebRtcPlayer" in window);
    const firstFrameMs = await page.evaluate(
      async ({ camera, password }) => {
        const signIn = await fetch("/api/session", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ username: "disp1", password }),
        });
        const { csrfToken } = (await signIn.json()) as { csrfToken: string };
        const Ctor = (window as unknown as { WebRtcPlayer: new (v: unknown, o: object) => Player })
          .WebRtcPlayer;
        window.player = new Ctor(document.querySelector("#v"), { camera, csrfToken });
        await window.player.start();
        const end = performance.now() + 10_000;
        while (window.player.state !== "playing") {
          if (performance.now() > end) throw new Error(`not playing: ${window.player.state}`);
          await new Promise((r) => setTimeout(r, 20));
        }
        return window.player.firstFrameMs;
      },
      { camera: live.camera, password: PASSWORD },
    );
    console.log(`WebRTC player in chromium: first frame ${firstFrameMs} ms after start()`);
    expect(firstFrameMs).toBeGreaterThan(0);

    // A later frame drawn from the video differs from the first (the simulator's picture moves): a
    // loaded machine can hold a frame a second or two, so it is looked for every 200 ms for up to 10 s;
    // frames keep being decoded meanwhile.
    const samples = await page.evaluate(async () => {
      const video = document.querySelector("#v");
      const canvas = document.createElement("canvas");
      canvas.width = 160;
      canvas.height = 90;
      const g = canvas.getContext("2d");
      const grab = () => {
        g.drawImage(video, 0, 0, 160, 90);
        return Array.from(g.getImageData(0, 0, 160, 90).data);
      };
      const a = grab();
      const end = performance.now() + 10_000;
      let differ = 0;
      let lit = 0;
      let stats = await window.player.stats();
      do {
        await new Promise((r) => setTimeout(r, 200));
        const b = grab();
        differ = 0;
        lit = 0;
        for (let i = 0; i < a.length; i += 4) {
          if (Math.abs((a[i] as number) - (b[i] as number)) > 8) differ += 1;
          if ((b[i] as number) + (b[i + 1] as number) + (b[i + 2] as number) > 60) lit += 1;
        }
        stats = await window.player.stats();
      } while ((differ <= 20 || stats.framesDecoded <= 5) && performance.now() < end);
      return { differ, lit, pixels: a.length / 4, stats };
    });
    expect(samples.lit, "the picture is not black").toBeGreaterThan(samples.pixels / 4);
    expect(samples.differ, "the picture changes").toBeGreaterThan(20);
    expect(samples.stats.framesDecoded).toBeGreaterThan(5);
    const session = samples.stats.session;
    expect(session).toMatch(/^[0-9a-f-]{36}$/);

    // The session ended on pscsd's side (another tab of the same person): the player reconnects.
    const other = await login(live.daemon.url, "disp1");
    expect((await other.request("DELETE", `/api/live/sessions/${session}`)).status).toBe(204);
    const lostAt = Date.now();
    const again = await page.evaluate(async (old) => {
      const end = performance.now() + 30_000;
      while (!(window.player.state === "playing" && window.player.session && window.player.session !== old)) {
        if (performance.now() > end) throw new Error(`not back: ${window.player.state}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return { session: window.player.session, attempts: (await window.player.stats()).attempts };
    }, session);
    console.log(
      `WebRTC player in chromium: playing again ${Date.now() - lostAt} ms after its session was ended`,
    );
    expect(again.attempts).toBeGreaterThanOrEqual(2);

    await page.evaluate(() => window.player.stop());
    const local = live.daemon;
    const aud = await fetch(`${local.url}/api/session`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "aud1", password: PASSWORD }),
    });
    const cookie = /pscs_session=([^;]+)/.exec(aud.headers.get("set-cookie") ?? "")?.[1];
    const entries = (await (
      await fetch(`${local.url}/api/audit?action=video.live.close&order=desc`, {
        headers: { cookie: `pscs_session=${cookie}` },
      })
    ).json()) as { entries: { details: string }[] };
    const closed = entries.entries.map((e) => JSON.parse(e.details) as Record<string, unknown>);
    for (const id of [session, again.session]) {
      expect(closed.find((d) => d.session === id)).toMatchObject({
        transport: "webrtc",
        reason: "closed by the viewer",
      });
    }
    expect(closed.filter((d) => d.session === session)).toHaveLength(1);
    expect(browser.errors).toEqual([]);
  }, 60_000);

  it("signing out while it plays: pscsd closes the peer, and the player shows signed-out rather than retrying", async () => {
    const r = await browser.page.evaluate(async (camera) => {
      const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));
      const Ctor = (window as unknown as { WebRtcPlayer: new (v: unknown, o: object) => Player })
        .WebRtcPlayer;
      const states: string[] = [];
      window.player = new Ctor(document.querySelector("#v"), {
        camera,
        onState: (s: string) => states.push(s),
      });
      await window.player.start();
      for (const end = performance.now() + 10_000; window.player.state !== "playing"; await sleep(20))
        if (performance.now() > end) throw new Error(`not playing: ${window.player.state}`);
      const { csrfToken } = (await (await fetch("/api/session")).json()) as { csrfToken: string };
      const signedOutAt = performance.now();
      await fetch("/api/session", { method: "DELETE", headers: { "x-csrf-token": csrfToken } });
      for (
        const end = signedOutAt + 30_000;
        (window.player.state as string) !== "signed-out";
        await sleep(50)
      )
        if (performance.now() > end) throw new Error(`not signed out: ${states.join(" → ")}`);
      return { ms: Math.round(performance.now() - signedOutAt), states };
    }, live.camera);
    console.log(
      `WebRTC player in chromium: signed-out ${r.ms} ms after signing out (${r.states.join(" → ")})`,
    );
    // The peer lost, one more offer refused 401, and no retry after it (signed-out is final).
    expect(r.states.slice(-3)).toEqual(["retrying", "connecting", "signed-out"]);
    // Only the refused offer itself is logged, as chromium logs every 401 response.
    expect(browser.errors).toEqual([
      "console: Failed to load resource: the server responded with a status of 401 (Unauthorized)",
    ]);
  }, 60_000);
});
