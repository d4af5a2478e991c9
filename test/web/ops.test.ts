import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Simulator } from "../../sim/simulator.js";
import type { Pscsd } from "../../src/compose/daemon.js";
import type { BrowserSession } from "../helpers/browser.js";
import { axe, shoot, signIn, startUiStack, tab, type UiStack } from "../helpers/ui.js";

/**
 * The operations screen against a real pscsd recording a simulated camera: the camera row shows it
 * connected with its last segment; when the simulator drops the camera the row and the alerts say
 * so, and both clear when it comes back. Roles without health.read get no such screen.
 */

let stack: UiStack;
let sim: Simulator;
let pscsd: Pscsd;
let browser: BrowserSession;

beforeAll(async () => {
  stack = await startUiStack({
    users: { ops1: ["ops"], disp1: ["dispatcher"] },
    cameras: 1,
    required: true,
    onvif: { heartbeatSeconds: 1, streamingHeartbeatSeconds: 1, requestTimeoutSeconds: 1 },
    extra: { recording: { segmentSeconds: 2, stallSeconds: 3 } },
  });
  ({ sim, pscsd, browser } = stack);
}, 60_000);

afterAll(() => stack?.stop());

describe("the operations screen", () => {
  it("shows a camera go offline when the simulator drops it, and come back", async () => {
    const { page, violations } = await tab(browser);
    await signIn(page, pscsd.url, "ops1");
    const row = page.locator("tr[data-camera=cam1]").first();
    await expect
      .poll(() => row.locator(".badge").first().textContent(), { timeout: 20_000 })
      .toBe("connected");
    await expect.poll(() => row.locator("td").nth(2).textContent(), { timeout: 20_000 }).toMatch(/s ago/);
    expect(await page.locator(".alert").count()).toBe(0);
    expect(await axe(page)).toEqual([]);
    await shoot(page, "ops");

    const down = await fetch(`${sim.controlUrl}/cameras/cam1/reboot`, {
      method: "POST",
      body: JSON.stringify({ seconds: 5 }),
    });
    expect(down.status).toBe(200);
    await expect
      .poll(() => row.locator(".badge").first().textContent(), { timeout: 20_000 })
      .toMatch(/offline|connecting/);
    // A required camera down: pscsd is not ready (failing), and the camera itself is named.
    await expect
      .poll(() => page.locator(".alert").allTextContents(), { timeout: 10_000 })
      .toEqual([
        "failing required camera(s) not connected: cam1",
        expect.stringMatching(/^degraded cam1 is (offline|connecting)/),
      ]);
    expect(await page.locator("h2 .badge").textContent()).toBe("failing");
    await shoot(page, "ops-camera-down");

    await expect
      .poll(() => row.locator(".badge").first().textContent(), { timeout: 40_000 })
      .toBe("connected");
    await expect.poll(() => page.locator(".alert").count(), { timeout: 20_000 }).toBe(0);
    expect(violations).toEqual([]);
    await page.close();
  }, 120_000);

  it("is not offered to a dispatcher, and the API refuses it", async () => {
    const { page } = await tab(browser);
    await signIn(page, pscsd.url, "disp1");
    const nav = page.getByRole("navigation", { name: "Screens" });
    await expect.poll(() => nav.getByRole("link").allTextContents()).toEqual(["Live", "Cameras"]);
    const status = await page.evaluate(async () => (await fetch("/api/health")).status);
    expect(status).toBe(403);
    await page.close();
  });
});
