import type { Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Simulator } from "../../sim/simulator.js";
import type { Pscsd } from "../../src/compose/daemon.js";
import { type BrowserSession, openBrowser } from "../helpers/browser.js";
import { login } from "../helpers/pscsd.js";
import { axe, shoot, signIn, startUiStack, tab, type UiStack } from "../helpers/ui.js";

/**
 * The dispatch wall in chromium against a real pscsd and two simulated cameras: live tiles that
 * decode changing frames (fMP4 over the WebSocket, WebRTC where that cannot play), a privacy zone in view drawn as a mask where pscsd says it
 * falls (the picture covered until it has said), a tile opened large, control taken with a stated purpose (refused without its number),
 * the arrow keys moving the simulated camera, presets saved, gone to (refused in a privacy zone)
 * and deleted, home set, and a supervisor's takeover told to the dispatcher.
 * On the same stack, every screen's first load held to a bound (the budget is BENCHMARKS.md's).
 */

let stack: UiStack;
let sim: Simulator;
let pscsd: Pscsd;
let browser: BrowserSession;

beforeAll(async () => {
  stack = await startUiStack({
    // every1: between its roles, every screen (screens.tsx).
    users: {
      disp1: ["dispatcher"],
      sup1: ["supervisor"],
      adm1: ["admin"],
      every1: ["supervisor", "ops", "records", "auditor"],
    },
    extra: { ptz: { deadmanMs: 1_000, keepAliveMs: 300 }, live: { sessionCheckSeconds: 1 } },
  });
  ({ sim, pscsd, browser } = stack);
  const admin = await login(pscsd.url, "adm1");
  const zone = await admin.request("PUT", "/api/cameras/cam1/privacy-zones/flats", {
    pan: [0.3, 0.6],
    tilt: [-0.2, 0.2],
    maxZoom: 0.5,
    reason: "apartment windows on Elm St",
  });
  expect(zone.status).toBe(200);
}, 60_000);

afterAll(() => stack?.stop());

/**
 * What a test that failed midway left behind is undone before the next: its tabs (their tiles keep
 * decoding, their panels keep control alive) and any PTZ control still held, released by its
 * holder. Otherwise the next test's take is a renewal of the old session (no `control` event, the
 * old purpose) and one failure becomes several.
 */
afterEach(async () => {
  for (const p of browser.context.pages()) if (p !== browser.page) await p.close();
  const disp = await login(pscsd.url, "disp1");
  for (const camera of ["cam1", "cam2"]) {
    const { lock } = (await (await disp.request("GET", `/api/cameras/${camera}/ptz/control`)).json()) as {
      lock: { actor: string } | null;
    };
    if (!lock) continue;
    const holder = await login(pscsd.url, lock.actor.replace(/^user:/, ""));
    expect((await holder.request("DELETE", `/api/cameras/${camera}/ptz/control`)).status).toBe(204);
  }
});

/** A digest of what the tile's video shows now (drawn onto a canvas), or null before a frame. */
function picture(page: Page, camera: string): Promise<number | null> {
  return page.evaluate(`(() => {
    const v = document.querySelector('figure[data-camera="${camera}"] video');
    if (!v || v.videoWidth === 0) return null;
    const c = document.createElement("canvas");
    c.width = 64;
    c.height = 36;
    const g = c.getContext("2d", { willReadFrequently: true });
    g.drawImage(v, 0, 0, 64, 36);
    let h = 0;
    for (const b of g.getImageData(0, 0, 64, 36).data) h = (h * 31 + b) >>> 0;
    return h;
  })()`);
}

/** Where an element sits across its parent, as fractions of the parent's width. */
function across(page: Page, selector: string): Promise<{ x: number; w: number }> {
  return page.evaluate(`(() => {
    const m = document.querySelector(${JSON.stringify(selector)});
    const p = m.parentElement.getBoundingClientRect();
    const r = m.getBoundingClientRect();
    return { x: (r.left - p.left) / p.width, w: r.width / p.width };
  })()`);
}

const position = () => {
  const c = sim.cameras.find((x) => x.describe().id === "cam1");
  if (!c) throw new Error("no cam1");
  return c.ptz.position();
};

describe("the dispatch wall", () => {
  it("shows every camera live, frames changing, with the privacy zone in view masked", async () => {
    const { page, violations } = await tab(browser);
    // cam2's zones answer is held back: its picture plays covered until pscsd says where zones fall.
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    await page.route("**/api/cameras/cam2/privacy-zones", async (route) => {
      await held;
      await route.continue();
    });
    await signIn(page, pscsd.url, "disp1");
    for (const cam of ["cam1", "cam2"]) {
      await expect
        .poll(() => page.locator(`figure[data-camera=${cam}]`).getAttribute("data-state"), {
          timeout: 20_000,
        })
        .toBe("playing");
      await expect.poll(() => picture(page, cam), { timeout: 10_000 }).not.toBeNull();
      const first = await picture(page, cam);
      await expect.poll(() => picture(page, cam), { timeout: 5_000 }).not.toBe(first);
    }
    const cover = page.locator("figure[data-camera=cam2] .cover");
    expect(await cover.count()).toBe(1);
    release();
    await expect.poll(() => cover.count(), { timeout: 5_000 }).toBe(0);
    // The default transport, and how much it holds behind the newest frame.
    await expect
      .poll(() => page.locator("figure[data-camera=cam1] figcaption").textContent(), { timeout: 5_000 })
      .toMatch(/MSE · \d+ ms held/);
    const mask = page.locator("figure[data-camera=cam1] .mask");
    await expect.poll(() => mask.count(), { timeout: 5_000 }).toBe(1);
    // Where pscsd places it: the zone's pan 0.3–0.6 seen from pan 0 with a half-width of 0.5.
    const box = await across(page, "figure[data-camera=cam1] .mask");
    expect(box.x).toBeCloseTo(0.8, 1);
    expect(box.w).toBeCloseTo(0.2, 1);
    expect(await page.locator("figure[data-camera=cam2] .mask").count()).toBe(0);
    expect(await axe(page)).toEqual([]);
    await shoot(page, "dispatch-wall");

    // cam1's ONVIF stops answering while its video still flows: where the zone falls is not known,
    // so the whole picture is covered, and uncovered once the camera says where it points again.
    const cam1 = sim.cameras.find((x) => x.describe().id === "cam1");
    const cover1 = page.locator("figure[data-camera=cam1] .cover");
    await cam1?.setOnvifOnline(false);
    try {
      await expect
        .poll(() => cover1.textContent(), { timeout: 10_000 })
        .toBe("Camera position unknown: covered for its privacy zones");
      expect(await mask.count()).toBe(0);
    } finally {
      await cam1?.setOnvifOnline(true);
    }
    await expect.poll(() => mask.count(), { timeout: 10_000 }).toBe(1);
    expect(await cover1.count()).toBe(0);
    expect(violations).toEqual([]);
    await page.close();
  }, 90_000);

  it("takes control for a stated purpose, moves the camera with the arrow keys, and is told of a takeover", async () => {
    const { page, violations } = await tab(browser);
    await signIn(page, pscsd.url, "disp1");
    await page
      .getByRole("button", { name: "Enlarge MAIN ST & BROADWAY" })
      .or(page.locator("figure[data-camera=cam1] .tile-name"))
      .first()
      .click();
    await page.getByRole("button", { name: "Take control" }).click();
    // An incident needs its CAD number: pscsd refuses without it, and the form says so.
    await page.getByRole("button", { name: "Take control" }).click();
    await expect.poll(() => page.locator(".purpose .field-error").count()).toBeGreaterThan(0);
    await page.getByLabel("CAD / incident number").fill("CAD-2026-1201");
    await page.getByRole("button", { name: "Take control" }).click();
    await expect
      .poll(() => page.locator(".holder").textContent())
      .toContain("You control this camera: incident · CAD-2026-1201");
    expect(await axe(page)).toEqual([]);
    await expect
      .poll(() => page.locator("figure.big").getAttribute("data-state"), { timeout: 20_000 })
      .toBe("playing");
    await shoot(page, "dispatch-ptz");

    const before = position();
    const pad = page.getByRole("button", { name: "Pan and tilt: drag, or hold the arrow keys" });
    await pad.focus();
    await page.keyboard.down("ArrowLeft");
    await expect.poll(() => position().pan, { timeout: 5_000 }).toBeLessThan(before.pan - 0.05);
    await page.keyboard.up("ArrowLeft");
    await expect.poll(() => sim.cameras[0]?.ptz.status().moveStatus.panTilt, { timeout: 5_000 }).toBe("IDLE");
    const stopped = position().pan;
    await new Promise((r) => setTimeout(r, 500));
    expect(position().pan).toBe(stopped);

    // Told by the stream pscsd pushes, not by a poll.
    // The panel says "poll" until its EventSource has opened (an answer of pscsd's).
    await expect.poll(() => page.locator("section.ptz").getAttribute("data-events")).toBe("stream");
    const sup = await login(pscsd.url, "sup1");
    const took = await sup.request("POST", "/api/cameras/cam1/ptz/takeover", {
      purpose: { kind: "emergency", note: "officer needs assistance" },
    });
    expect(took.status).toBe(200);
    await expect
      .poll(() => page.getByRole("alert").allTextContents(), { timeout: 5_000 })
      .toContainEqual(expect.stringContaining("taken over by user:sup1"));
    await expect.poll(() => page.locator(".holder").textContent()).toContain("Controlled by sup1");
    expect(violations).toEqual([]);
    await page.close();
  }, 90_000);

  it("saves a preset from the panel that the API lists and that moves the camera; refuses one in a privacy zone beside the name; deletes one once confirmed; sets home", async () => {
    const cam2 = () => {
      const c = sim.cameras.find((x) => x.describe().id === "cam2");
      if (!c) throw new Error("no cam2");
      return c.ptz;
    };
    const disp = await login(pscsd.url, "disp1");
    const admin = await login(pscsd.url, "adm1");
    const presets = async () =>
      (
        (await (await disp.request("GET", "/api/cameras/cam2/ptz/presets")).json()) as {
          presets: { name: string }[];
        }
      ).presets.map((x) => x.name);
    const { page, violations } = await tab(browser);
    const errorsBefore = browser.errors.length;
    await signIn(page, pscsd.url, "disp1");
    await page.locator("figure[data-camera=cam2] .tile-name").click();
    await page.getByRole("button", { name: "Take control" }).click();
    await page.getByLabel("CAD / incident number").fill("CAD-2026-1202");
    await page.getByRole("button", { name: "Take control" }).click();
    await expect.poll(() => page.locator(".holder").textContent()).toContain("You control this camera");

    // Saved where the camera points, by keyboard alone: it is the camera's, as the API lists it.
    const gate = cam2().position();
    await page.getByLabel("Save this position as").fill("North gate");
    await page.getByLabel("Save this position as").press("Enter");
    await expect.poll(presets).toContain("North gate");
    const moved = await disp.request("POST", "/api/cameras/cam2/ptz/absolute", {
      position: { pan: -0.5, tilt: 0.3 },
    });
    expect(moved.status).toBe(204);
    await expect.poll(() => cam2().position().pan, { timeout: 5_000 }).toBeLessThan(-0.45);
    await page.getByRole("button", { name: "North gate", exact: true }).click();
    await expect
      .poll(() => Math.abs(cam2().position().pan - gate.pan), { timeout: 5_000 })
      .toBeLessThan(0.01);

    // A zone now covers where it points: pscsd refuses the preset, and says why beside the name.
    const here = cam2().position();
    const zone = await admin.request("PUT", "/api/cameras/cam2/privacy-zones/yard", {
      pan: [here.pan - 0.05, here.pan + 0.05],
      tilt: [here.tilt - 0.05, here.tilt + 0.05],
      maxZoom: 1,
      reason: "school yard",
    });
    expect(zone.status).toBe(200);
    await page.getByLabel("Save this position as").fill("Yard");
    await page.getByRole("button", { name: "Save preset" }).click();
    await expect
      .poll(() => page.locator("#ptz-preset-name-error").textContent())
      .toContain("privacy zone 'yard'");
    expect(await page.getByLabel("Save this position as").getAttribute("aria-describedby")).toBe(
      "ptz-preset-name-error",
    );
    expect(await presets()).not.toContain("Yard");
    expect(await axe(page)).toEqual([]);
    await shoot(page, "dispatch-presets");
    const removed = await admin.request("DELETE", "/api/cameras/cam2/privacy-zones/yard", {
      reason: "test over",
    });
    expect(removed.status).toBe(204);

    // Deleting asks first; keeping it deletes nothing.
    await page.getByRole("button", { name: "Delete preset North gate" }).click();
    await page.getByRole("button", { name: "Keep it" }).click();
    expect(await presets()).toContain("North gate");
    await page.getByRole("button", { name: "Delete preset North gate" }).click();
    await page.keyboard.press("Enter");
    await expect.poll(presets).not.toContain("North gate");

    await page.getByRole("button", { name: "Set home here" }).click();
    await expect
      .poll(() => page.getByRole("alert").allTextContents())
      .toContainEqual(expect.stringContaining("Home is now where the camera points"));
    await page.getByRole("button", { name: "Release control" }).click();
    await expect.poll(() => page.locator(".holder").textContent()).toBe("Nobody controls this camera.");
    expect(violations).toEqual([]);
    // The signed-out page's look at its session (401) and the refused preset (403), nothing else.
    expect(browser.errors.slice(errorsBefore).filter((e) => !/status of 40[13] /.test(e))).toEqual([]);
    await page.close();
  }, 60_000);

  it("streams control events from now on (Server-Sent Events) and ends the stream with the signed-in session", async () => {
    const disp = await login(pscsd.url, "disp1");
    const res = await disp.request("GET", "/api/ptz/events", undefined, { accept: "text/event-stream" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let text = "";
    const until = async (done: (t: string) => boolean) => {
      while (!done(text)) {
        const r = await reader.read();
        if (r.done) return false;
        text += Buffer.from(r.value).toString();
      }
      return true;
    };
    const take = await disp.request("POST", "/api/cameras/cam2/ptz/control", {
      purpose: { kind: "event", note: "parade" },
    });
    expect(take.status).toBe(200);
    expect(await until((t) => t.includes('"kind":"control"'))).toBe(true);
    // Nothing from before the stream opened (earlier tests' events), each event with its id.
    const events = text
      .split("\n\n")
      .filter((m) => m.includes("data: "))
      .map((m) => ({
        id: Number(/^id: (\d+)$/m.exec(m)?.[1]),
        ...JSON.parse(m.slice(m.indexOf("data: ") + 6)),
      }));
    expect(events.map((e) => [e.kind, e.camera])).toEqual([["control", "cam2"]]);
    expect(events[0]?.id).toBeGreaterThan(1);
    expect((await disp.request("DELETE", "/api/cameras/cam2/ptz/control")).status).toBe(204);
    expect(await until((t) => t.includes('"kind":"released"'))).toBe(true);
    // Signed out elsewhere (the cookie's session ends): the stream ends within a re-check.
    const started = Date.now();
    expect((await disp.request("DELETE", "/api/session")).status).toBe(204);
    expect(await until(() => false)).toBe(false);
    expect(Date.now() - started).toBeLessThan(3_000);
  }, 20_000);

  it("lets a supervisor review a session's moves on the pan/tilt map and take the camera over", async () => {
    const disp = await login(pscsd.url, "disp1");
    const take = await disp.request("POST", "/api/cameras/cam2/ptz/control", {
      purpose: { kind: "investigation", reference: "CASE-26-118" },
    });
    expect(take.status).toBe(200);
    for (const pan of [-0.3, -0.6]) {
      const moved = await disp.request("POST", "/api/cameras/cam2/ptz/absolute", { position: { pan } });
      expect(moved.status).toBe(204);
    }
    const { page, violations } = await tab(browser);
    await signIn(page, pscsd.url, "sup1");
    await page.getByRole("link", { name: "PTZ sessions" }).click();
    const row = page.locator("tr", { hasText: "CASE-26-118" });
    await expect.poll(() => row.count(), { timeout: 10_000 }).toBe(1);
    expect(await row.textContent()).toContain("open");
    await row.getByRole("button").click();
    await expect.poll(() => page.locator(".move-map circle").count()).toBe(2);
    expect(await axe(page)).toEqual([]);
    await shoot(page, "ptz-sessions");
    await page.getByRole("button", { name: "Take over this camera" }).click();
    await page.getByLabel("Purpose", { exact: true }).selectOption("emergency");
    await page.getByRole("button", { name: "Take over control" }).click();
    await expect.poll(() => page.locator(".ok").textContent()).toContain("You now control cam2");
    const lock = (await (await disp.request("GET", "/api/cameras/cam2/ptz/control")).json()) as {
      lock: { actor: string } | null;
    };
    expect(lock.lock?.actor).toBe("user:sup1");
    expect(violations).toEqual([]);
    await page.close();
  }, 60_000);

  it("falls back to WebRTC in a browser without Media Source Extensions", async () => {
    const noMse = await openBrowser();
    try {
      const { page, violations } = await tab(noMse);
      // As Safari on an iPhone is: no MediaSource at all.
      await page.addInitScript({
        content: "Object.defineProperty(window, 'MediaSource', { value: undefined, configurable: true });",
      });
      await signIn(page, pscsd.url, "disp1");
      const tile = page.locator("figure[data-camera=cam2]");
      await expect.poll(() => tile.getAttribute("data-transport"), { timeout: 20_000 }).toBe("webrtc");
      await expect.poll(() => tile.getAttribute("data-state"), { timeout: 20_000 }).toBe("playing");
      const first = await picture(page, "cam2");
      await expect.poll(() => picture(page, "cam2"), { timeout: 5_000 }).not.toBe(first);
      expect(await tile.locator("figcaption").textContent()).toContain("WebRTC");
      expect(violations).toEqual([]);
      await page.close();
    } finally {
      await noMse.close();
    }
  }, 60_000);
});

/**
 * Each screen's main content drawn with its data: the API answers it asks for first, then its
 * selector in the page, in a frame (ms from navigation start). BENCHMARKS.md "ui" measures the same.
 */
const FIRST_LOAD: [screen: string, answer: string, selector: string][] = [
  ["wall", "/api/cameras", "figure[data-camera][data-state=playing]"],
  ["ops", "/api/health", "tr[data-camera] .badge"],
  ["cameras", "/api/cameras", "tr[data-camera]"],
  ["ptz-sessions", "/api/ptz/sessions", "table.grid"],
  ["playback", "/timeline", ".timeline"],
  ["holds", "/api/holds", "table.grid"],
  ["exports", "/api/exports", "table.grid"],
  ["audit", "/api/audit/verify", "[data-chain]"],
];
// The budget is 1 s on this machine (BENCHMARKS.md, measured by `bench ui`); the bound is 3 s so
// that a loaded CI machine passes and a screen that starts waiting on something new does not.
const FIRST_LOAD_BOUND_MS = 3_000;

describe("every screen's first load", () => {
  it(`draws each screen's main content with its data within ${FIRST_LOAD_BOUND_MS} ms`, async () => {
    const { page } = await tab(browser);
    await signIn(page, pscsd.url, "every1");
    await page.getByRole("navigation", { name: "Screens" }).waitFor();
    await page.close();
    const took: Record<string, number> = {};
    for (const [screen, answer, selector] of FIRST_LOAD) {
      const p = await browser.context.newPage();
      const answered = p.waitForResponse((r) => new URL(r.url()).pathname.includes(answer) && r.ok());
      await p.goto(`${pscsd.url}#/${screen}`);
      await answered;
      await p.locator(selector).first().waitFor({ timeout: 10_000 });
      took[screen] = await p.evaluate<number>(
        "new Promise((r) => requestAnimationFrame(() => r(performance.now())))",
      );
      await p.close();
    }
    expect(Object.keys(took)).toHaveLength(FIRST_LOAD.length);
    expect(Object.entries(took).filter(([, ms]) => ms > FIRST_LOAD_BOUND_MS)).toEqual([]);
  }, 60_000);
});
