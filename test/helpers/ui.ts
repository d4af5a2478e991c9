import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { AxeBuilder } from "@axe-core/playwright";
import type { Page } from "playwright-core";
import { packageRoot } from "../../src/version.js";
import type { BrowserSession } from "./browser.js";
import { PASSWORD } from "./pscsd.js";

/** The web UI in a browser: tabs that record CSP violations, sign-in, axe-core, screenshots. */

export const SCREENSHOTS = join(packageRoot(), "test-output", "screens");

/** A fresh tab that collects CSP violations as well as the harness's console errors. */
export async function tab(browser: BrowserSession): Promise<{ page: Page; violations: string[] }> {
  const page = await browser.context.newPage();
  const violations: string[] = [];
  await page.exposeFunction("__cspViolation", (v: string) => violations.push(v));
  await page.addInitScript({
    content: `addEventListener("securitypolicyviolation", (e) => __cspViolation(e.violatedDirective + " " + e.blockedURI));`,
  });
  return { page, violations };
}

export async function signIn(page: Page, url: string, username: string, password = PASSWORD): Promise<void> {
  // One profile per browser: whoever signed in before in it is signed out first.
  await page.context().clearCookies();
  await page.goto(url);
  await page.getByLabel("User name").fill(username);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** axe-core's serious and critical violations on the page as it is now. */
export async function axe(page: Page): Promise<string[]> {
  const r = await new AxeBuilder({ page }).analyze();
  return r.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`);
}

/** Screenshots of the page at 1366×768 and 1920×1080 under test-output/screens/. */
export async function shoot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  for (const [w, h] of [
    [1366, 768],
    [1920, 1080],
  ] as const) {
    await page.setViewportSize({ width: w, height: h });
    await page.screenshot({ path: join(SCREENSHOTS, `${name}-${w}x${h}.png`) });
  }
}
