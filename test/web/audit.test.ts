import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Pscsd } from "../../src/compose/daemon.js";
import type { BrowserSession } from "../helpers/browser.js";
import { login } from "../helpers/pscsd.js";
import { axe, SCREENSHOTS, shoot, signIn, startUiStack, tab, type UiStack, wallTime } from "../helpers/ui.js";

/**
 * The auditor's screen against a real pscsd: the chain shown verified; an investigation of one
 * camera lists who moved it and why (the PTZ purpose), of one person everything they did, as a
 * report that prints (PDF) without the screen's controls; the inspection sample drawn. A records
 * clerk is offered no such screen. The browser lives in UTC, the site in New York: the filters and
 * the report's times are the site's.
 */

let stack: UiStack;
let pscsd: Pscsd;
let browser: BrowserSession;
const SITE = "America/New_York";
/** Before the PTZ move the investigation looks for. */
let movedAfter: number;

beforeAll(async () => {
  stack = await startUiStack({
    users: { disp1: ["dispatcher"], aud1: ["auditor"], rec1: ["records"] },
    extra: { site: { name: "Norwich PD", timezone: SITE } },
    timezoneId: "UTC",
  });
  ({ pscsd, browser } = stack);
  const disp = await login(pscsd.url, "disp1");
  for (let i = 0; ; i++) {
    const take = await disp.request("POST", "/api/cameras/cam1/ptz/control", {
      purpose: { kind: "incident", reference: "CAD-2026-7731" },
    });
    if (take.status === 200) break;
    if (i > 40) throw new Error(`no PTZ control: ${take.status} ${await take.text()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  movedAfter = Date.now();
  expect(
    (await disp.request("POST", "/api/cameras/cam1/ptz/absolute", { position: { pan: -0.4 } })).status,
  ).toBe(204);
  expect((await disp.request("DELETE", "/api/cameras/cam1/ptz/control")).status).toBe(204);
}, 60_000);

afterAll(() => stack?.stop());

describe("the audit screen", () => {
  it("shows the chain verified and prints an investigation of one camera with who moved it and why", async () => {
    const { page, violations } = await tab(browser);
    await signIn(page, pscsd.url, "aud1");
    await page.getByRole("link", { name: "Audit" }).click();
    await expect
      .poll(() => page.locator("[data-chain]").getAttribute("data-chain"), { timeout: 10_000 })
      .toBe("ok");

    await page.getByLabel("Camera").fill("cam1");
    await page.getByRole("button", { name: "Search" }).click();
    const rows = page.locator("table.report tbody tr");
    await expect.poll(() => rows.count()).toBeGreaterThanOrEqual(2);
    const text = await rows.allTextContents();
    expect(
      text.some(
        (t) =>
          t.includes("ptz.absolute") && t.includes("user:disp1") && t.includes("incident · CAD-2026-7731"),
      ),
    ).toBe(true);
    // Nothing about the other camera.
    expect(text.some((t) => t.includes("cam2"))).toBe(false);
    expect(await page.locator(".report-head").textContent()).toContain(
      "Everyone who saw, moved, held or exported camera cam1",
    );
    expect(await axe(page)).toEqual([]);
    await shoot(page, "audit-investigation");

    await page.emulateMedia({ media: "print" });
    expect(await page.locator("form.filters").first().isVisible()).toBe(false);
    expect(await page.locator("header.top").isVisible()).toBe(false);
    expect(await page.locator("table.report").isVisible()).toBe(true);
    const pdf = join(SCREENSHOTS, "audit-investigation.pdf");
    await page.pdf({ path: pdf, format: "Letter" });
    expect(readFileSync(pdf).subarray(0, 5).toString()).toBe("%PDF-");
    await page.emulateMedia({ media: "screen" });

    await page.getByLabel("Camera").fill("");
    await page.getByLabel("Person").fill("user:disp1");
    await page.getByRole("button", { name: "Search" }).click();
    // The camera's rows stay until the person's are drawn, with their report head.
    await expect
      .poll(() => page.locator(".report-head").textContent())
      .toContain("Everything user:disp1 did");
    await expect
      .poll(async () => (await rows.allTextContents()).every((t) => t.includes("user:disp1")))
      .toBe(true);
    expect(
      (await rows.allTextContents()).some((t) => t.includes("ptz.take") || t.includes("ptz.control")),
    ).toBe(true);

    // The period in New York's wall time (to the minute, as the fields take it) finds the move;
    // read in the browser's zone (UTC) it would be hours away from it.
    const zone = wallTime(movedAfter, SITE).name;
    const minute = (ms: number) => wallTime(ms, SITE).input.slice(0, 16);
    await page.getByLabel("Person").fill("");
    await page.getByLabel("Action").fill("ptz.absolute");
    await page.getByLabel(`From (site time, ${zone})`).fill(minute(movedAfter - 60_000));
    await page.getByLabel(`To (site time, ${zone})`).fill(minute(movedAfter + 180_000));
    await page.getByRole("button", { name: "Search" }).click();
    await expect.poll(() => rows.count()).toBe(1);
    // Its time is New York's, with the zone's name.
    const moved = await stack.local.audit.list({ action: "ptz.absolute" });
    expect(moved).toHaveLength(1);
    const site = wallTime(moved[0]?.at ?? 0, SITE);
    expect(await rows.first().locator("td").first().textContent()).toMatch(
      new RegExp(`^\\w{3} \\d{1,2}, \\d{4},? ${site.clock} ${site.name}$`),
    );
    expect(await page.locator(".report-head").textContent()).toContain(`(site time, ${zone})`);
    await page.getByLabel(`To (site time, ${zone})`).fill(minute(movedAfter - 60_000));
    await page.getByRole("button", { name: "Search" }).click();
    await expect.poll(() => rows.count()).toBe(0);
    // A New York time the clocks went back over is refused beside its field, with the offsets.
    await page.getByLabel(`From (site time, ${zone})`).fill("2026-11-01T01:30");
    await page.getByRole("button", { name: "Search" }).click();
    await expect
      .poll(() => page.locator("#from-error").textContent())
      .toMatch(/happens twice in America\/New_York/);
    await page.getByLabel(`From (site time, ${zone})`).fill("");
    await page.getByLabel(`To (site time, ${zone})`).fill("");

    await page.getByLabel("Action").fill("not an action!");
    await page.getByRole("button", { name: "Search" }).click();
    await expect.poll(() => page.locator("#action-error").textContent()).toContain("expected an action");

    await page.getByRole("button", { name: "Draw" }).click();
    await expect.poll(() => page.locator("ol.sample > li").count()).toBeGreaterThan(0);
    expect(await page.locator("ol.sample").textContent()).toContain("ptz-session:");
    expect(violations).toEqual([]);
    await page.close();
  }, 90_000);

  it("is not offered to records, and the API refuses it", async () => {
    const { page } = await tab(browser);
    await signIn(page, pscsd.url, "rec1");
    await expect.poll(() => page.getByRole("navigation", { name: "Screens" }).count()).toBe(1);
    expect(await page.getByRole("link", { name: "Audit" }).count()).toBe(0);
    expect(await page.evaluate(async () => (await fetch("/api/audit")).status)).toBe(403);
    await page.close();
  });
});
