import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AxeBuilder } from "@axe-core/playwright";
import type { Page } from "playwright-core";
import type { Simulator } from "../../sim/simulator.js";
import type { Role } from "../../src/auth/roles.js";
import type { Pscsd } from "../../src/compose/daemon.js";
import type { PrivacyZone } from "../../src/ptz/zones.js";
import { packageRoot } from "../../src/version.js";
import { type BrowserSession, openBrowser } from "./browser.js";
import { type TestDaemonConfig, writeDaemonConfig } from "./config.js";
import { freePort } from "./ports.js";
import {
  type LocalCatalog,
  openLocalCatalog,
  PASSWORD,
  seedUsers,
  startInProcess,
  TEST_AUTH,
} from "./pscsd.js";
import { simCameraConfigs, startTestCameras } from "./sim.js";

/** The web UI in a browser: the stack a screen test runs on, tabs that record CSP violations, sign-in, axe-core, screenshots. */

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

export interface UiStack {
  sim: Simulator;
  pscsd: Pscsd;
  local: LocalCatalog;
  browser: BrowserSession;
  stop(): Promise<void>;
}

/**
 * What a screen test runs against: the simulator's cameras (`cameras` of them in pscsd's config,
 * optional unless said, `zones` their config file privacy zones), a real pscsd in this process with
 * `users` seeded, and Debian's chromium.
 */
export async function startUiStack(o: {
  users: Record<string, Role[]>;
  cameras?: number;
  required?: boolean;
  onvif?: TestDaemonConfig["onvif"];
  extra?: Record<string, unknown>;
  /** Privacy zones in the config file, by camera id. */
  zones?: Record<string, PrivacyZone[]>;
  /** The zone the browser's pages live in (default: the machine's). */
  timezoneId?: string;
}): Promise<UiStack> {
  const work = mkdtempSync(join(tmpdir(), "pscs-web-"));
  const sim = await startTestCameras(work, { user: "recorder", password: PASSWORD });
  writeFileSync(join(work, "cam.pw"), PASSWORD);
  const configFile = writeDaemonConfig(work, {
    httpPort: await freePort(),
    cameras: simCameraConfigs(sim)
      .slice(0, o.cameras ?? 2)
      .map((c) => ({ ...c, required: o.required ?? false, privacyZones: o.zones?.[c.id] })),
    onvif: o.onvif ?? { heartbeatSeconds: 5, requestTimeoutSeconds: 3 },
    extra: { auth: TEST_AUTH, ...o.extra },
  });
  const local = openLocalCatalog(configFile);
  await seedUsers(local, o.users);
  const pscsd = await startInProcess({ dir: work, configFile, httpPort: 0 });
  const browser = await openBrowser({ timezoneId: o.timezoneId });
  return {
    sim,
    pscsd,
    local,
    browser,
    async stop() {
      await browser.close();
      await pscsd.stop();
      local.close();
      await sim.stop();
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/**
 * `ms` on `zone`'s wall clock as a datetime-local field takes it ("2026-12-01T12:00:00"), and the
 * zone's short name then ("EST"): Intl's own reading, not the screens' code, for tests to type and
 * expect site times with.
 */
export function wallTime(ms: number, zone: string): { input: string; clock: string; name: string } {
  const p: Record<string, string> = {};
  for (const x of new Intl.DateTimeFormat("en-US", {
    timeZone: zone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    timeZoneName: "short",
  }).formatToParts(ms))
    p[x.type] = x.value;
  const clock = `${p.hour}:${p.minute}:${p.second}`;
  return { input: `${p.year}-${p.month}-${p.day}T${clock}`, clock, name: p.timeZoneName ?? zone };
}
