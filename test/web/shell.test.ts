import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Pscsd } from "../../src/compose/daemon.js";
import { packageRoot } from "../../src/version.js";
import { type BrowserSession, openBrowser } from "../helpers/browser.js";
import {
  daemonDir,
  type LocalCatalog,
  openLocalCatalog,
  PASSWORD,
  seedUsers,
  startInProcess,
  type TestDaemonDir,
} from "../helpers/pscsd.js";
import { axe, shoot, signIn, tab } from "../helpers/ui.js";

/**
 * The browser UI's shell in Debian's chromium against a real pscsd: sign-in (its failure message),
 * the menu a role gets, the password screen checking the rules as one types, the forced change,
 * the idle warning and the sign-out it leads to; no console error or CSP violation, and axe-core
 * finds no serious or critical violation on any of these screens.
 */

// Short enough to wait out; the warning comes at half of it (a minute before, for real timeouts).
const IDLE_S = 6;

let d: TestDaemonDir;
let pscsd: Pscsd;
let local: LocalCatalog;
let browser: BrowserSession;

beforeAll(async () => {
  d = await daemonDir({ sessionIdleMinutes: IDLE_S / 60 });
  local = openLocalCatalog(d.configFile);
  await seedUsers(local, { ops1: ["ops"], admin1: ["admin"], disp1: ["dispatcher"] });
  await local.auth.addUser(
    {
      username: "newbie",
      displayName: "New Person",
      roles: ["ops"],
      password: PASSWORD,
      mustChangePassword: true,
    },
    { actor: "local:test", role: "admin", client: "cli" },
  );
  pscsd = await startInProcess(d);
  browser = await openBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await pscsd?.stop();
  local?.close();
  rmSync(d.dir, { recursive: true, force: true });
});

describe("the web UI shell", () => {
  it("needs under 150 KB of JavaScript, gzipped, on first load", () => {
    // The page loads app.js (every screen is in it; the charts' uPlot is a chunk fetched with the
    // first chart, the stylesheet is apart).
    const js = readFileSync(join(packageRoot(), "dist", "web", "app.js"));
    const kb = gzipSync(js).length / 1024;
    expect(kb).toBeGreaterThan(5);
    expect(kb).toBeLessThan(150);
  });

  it("is served under a CSP with no inline script or style", async () => {
    const res = await fetch(pscsd.url);
    expect(res.status).toBe(200);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    expect(csp).not.toContain("unsafe-eval");
    expect((await fetch(new URL("/web/app.js", pscsd.url))).headers.get("content-type")).toMatch(
      /^text\/javascript/,
    );
    const missing = await fetch(new URL("/web/..%2Fpackage.json", pscsd.url));
    expect(missing.status).toBe(400);
    expect((await fetch(new URL("/web/nothing.js", pscsd.url))).status).toBe(404);
  });

  it("refuses a wrong password with a message, then signs in to the screens the role allows", async () => {
    const { page, violations } = await tab(browser);
    await signIn(page, pscsd.url, "ops1", "Wrong-Passw0rd!");
    await expect.poll(() => page.getByRole("alert").textContent()).toContain("Sign-in failed");
    expect(await page.getByLabel("Password", { exact: true }).inputValue()).toBe("");
    expect(await axe(page)).toEqual([]);
    await shoot(page, "sign-in");

    await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    const nav = page.getByRole("navigation", { name: "Screens" });
    await expect.poll(() => nav.getByRole("link").allTextContents()).toEqual(["Operations", "Cameras"]);
    await expect.poll(() => page.locator("tr[data-camera=cam1]").count()).toBe(1);
    expect(await axe(page)).toEqual([]);
    await shoot(page, "ops-home");

    await page.getByRole("button", { name: "Sign out" }).click();
    await expect.poll(() => page.getByRole("button", { name: "Sign in" }).count()).toBe(1);
    expect((await page.context().cookies()).filter((c) => c.name === "pscs_session" && c.value)).toEqual([]);
    expect(violations).toEqual([]);
    await page.close();
  });

  it("shows an admin only the screens it may use", async () => {
    const { page } = await tab(browser);
    await signIn(page, pscsd.url, "admin1");
    const nav = page.getByRole("navigation", { name: "Screens" });
    await expect
      .poll(() => nav.getByRole("link").allTextContents())
      .toEqual(["Cameras", "Users", "Privacy zones"]);
    await page.close();
  });

  it("forces a password change, checking the rules as one types", async () => {
    const { page, violations } = await tab(browser);
    await signIn(page, pscsd.url, "newbie");
    await expect.poll(() => page.getByText("must be changed before you go on").count()).toBe(1);
    expect(await page.getByRole("navigation", { name: "Screens" }).getByRole("link").count()).toBe(0);
    const rules = page.locator("#newPassword-rules li");
    await page.getByLabel("New password", { exact: true }).fill("newbie-abc");
    const met = async () => rules.evaluateAll((lis) => lis.filter((l) => l.classList.contains("met")).length);
    const unmet = async () =>
      rules.evaluateAll((lis) => lis.filter((l) => !l.classList.contains("met")).map((l) => l.textContent));
    expect(await unmet()).toEqual(["✗ an upper-case letter", "✗ a digit", "✗ not your user name"]);
    await page.getByLabel("New password", { exact: true }).fill("Fresh-Passw0rd!");
    expect(await unmet()).toEqual([]);
    expect(await met()).toBeGreaterThanOrEqual(6);
    expect(await axe(page)).toEqual([]);
    await shoot(page, "password");
    await page.getByLabel("Current password").fill(PASSWORD);
    await page.getByLabel("New password again").fill("Fresh-Passw0rd?");
    await page.getByRole("button", { name: "Change password" }).click();
    await expect.poll(() => page.locator("#again-error").textContent()).toContain("does not match");
    await page.getByLabel("New password again").fill("Fresh-Passw0rd!");
    await page.getByRole("button", { name: "Change password" }).click();
    const nav = page.getByRole("navigation", { name: "Screens" });
    await expect.poll(() => nav.getByRole("link").allTextContents()).toEqual(["Operations", "Cameras"]);
    expect(violations).toEqual([]);
    await page.close();
  });

  it("warns before the idle timeout and then shows the sign-in screen saying why", async () => {
    const { page } = await tab(browser);
    // A dispatcher on the live wall: its tiles poll on their own, which keeps nobody signed in.
    await signIn(page, pscsd.url, "disp1");
    // The idle clock starts at the sign-in's answer, which a loaded machine may take seconds to give:
    // the warning is looked for from there, within the idle timeout.
    await page.getByRole("navigation", { name: "Screens" }).waitFor();
    const warning = page.getByRole("alertdialog", { name: "Inactivity" });
    await expect.poll(() => warning.count(), { timeout: IDLE_S * 1000 }).toBe(1);
    await page.getByRole("button", { name: "Stay signed in" }).click();
    await expect.poll(() => warning.count()).toBe(0);
    await expect.poll(() => warning.count(), { timeout: IDLE_S * 1000 }).toBe(1);
    await expect
      .poll(() => page.getByRole("alert").textContent(), { timeout: (IDLE_S + 5) * 1000 })
      .toContain("signed out after a period of inactivity");
    // The server agrees: the session the page held is gone.
    const cookie = (await page.context().cookies()).find((c) => c.name === "pscs_session");
    const res = await fetch(new URL("/api/session", pscsd.url), {
      headers: { cookie: `pscs_session=${cookie?.value}` },
    });
    expect(res.status).toBe(401);
    // The wall's camera is not there and the session ended: refused requests are expected, but no
    // script error.
    expect(browser.errors.filter((e) => e.startsWith("page:"))).toEqual([]);
    await page.close();
  });
});
