import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Pscsd } from "../../src/compose/daemon.js";
import type { BrowserSession } from "../helpers/browser.js";
import { type Client, client, login } from "../helpers/pscsd.js";
import { axe, shoot, signIn, startUiStack, tab, type UiStack } from "../helpers/ui.js";

/**
 * The administrator's screens against a real pscsd and a simulated camera: an account made (its
 * password refused beside the field while it breaks a rule), given a role, signed in with; each
 * account's last sign-in, and a display name changed (an empty one refused beside the field); the
 * admin's own account refused the server's way, its message shown where it was asked; a privacy
 * zone drawn on the pan/tilt map and typed in, which the PTZ service then enforces, and removed with
 * a reason; a config file zone shown read-only. A dispatcher is offered neither screen and the API
 * refuses both.
 */

const SITE = "America/Chicago";
let stack: UiStack;
let pscsd: Pscsd;
let browser: BrowserSession;

beforeAll(async () => {
  stack = await startUiStack({
    users: { adm1: ["admin"], disp1: ["dispatcher"], ops1: ["ops"] },
    cameras: 1,
    zones: { cam1: [{ id: "church", pan: [-0.9, -0.7], tilt: [0, 0.3], maxZoom: 0 }] },
    extra: { site: { name: "Norwich PD", timezone: SITE } },
    timezoneId: "UTC",
  });
  ({ pscsd, browser } = stack);
}, 60_000);

afterAll(() => stack?.stop());

/** Console errors other than the refusals a test asks for (chromium logs each 4xx it is answered). */
const consoleErrors = () =>
  browser.errors.filter(
    (e) => !/Failed to load resource: the server responded with a status of 4\d\d/.test(e),
  );

async function adminOn(screen: "Users" | "Privacy zones"): Promise<{ page: Page; violations: string[] }> {
  const t = await tab(browser);
  await signIn(t.page, pscsd.url, "adm1");
  const nav = t.page.getByRole("navigation", { name: "Screens" });
  await expect
    .poll(() => nav.getByRole("link").allTextContents())
    .toEqual(["Cameras", "Users", "Privacy zones"]);
  await nav.getByRole("link", { name: screen }).click();
  return t;
}

/** Takes control of cam1 as `who` (once the camera is connected) and asks for an absolute move. */
async function moveTo(who: Client, pan: number, tilt: number): Promise<Response> {
  for (let i = 0; ; i++) {
    const take = await who.request("POST", "/api/cameras/cam1/ptz/control", {
      purpose: { kind: "incident", reference: "CAD-2026-1208" },
    });
    if (take.status === 200) break;
    if (i > 40) throw new Error(`no PTZ control: ${take.status} ${await take.text()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  try {
    return await who.request("POST", "/api/cameras/cam1/ptz/absolute", { position: { pan, tilt, zoom: 0 } });
  } finally {
    // Released however the move went, so a failure here does not leave cam1 held.
    expect((await who.request("DELETE", "/api/cameras/cam1/ptz/control")).status).toBe(204);
  }
}

describe("the administrator's screens", () => {
  it("makes an account, refusing a password that breaks a rule beside the field, gives it a role, and it signs in", async () => {
    const { page, violations } = await adminOn("Users");
    await page.getByRole("button", { name: "New account" }).click();
    await page.getByLabel("User name (never changes)").fill("mnew");
    await page.getByLabel("Full name").fill("M. New");
    await page.getByRole("checkbox", { name: /^dispatcher/ }).check();
    const password = page.getByLabel("Temporary password (changed at first sign-in)");
    await password.fill("Temporary-Pass");
    const unmet = () => page.locator("#new-password-rules li:not(.met)").allTextContents();
    expect(await unmet()).toEqual(["✗ a digit"]);
    await page.getByRole("button", { name: "Make the account" }).click();
    await expect.poll(() => page.locator("#new-password-error").textContent()).toContain("digit");

    await password.fill("Temporary-Pass1!");
    expect(await unmet()).toEqual([]);
    await page.getByRole("button", { name: "Make the account" }).click();
    const row = page.locator("tr[data-user=mnew]");
    await expect.poll(() => row.locator("td").first().textContent()).toBe("dispatcher");
    expect(await row.textContent()).toContain("must be changed at next sign-in");
    const account = page.locator("[data-account=mnew]");
    await account.getByRole("checkbox", { name: /^supervisor/ }).check();
    await account.getByRole("button", { name: "Save roles" }).click();
    await expect.poll(() => row.locator("td").first().textContent()).toBe("dispatcher, supervisor");
    expect(await account.getByRole("status").textContent()).toBe("Roles saved.");
    expect(await axe(page)).toEqual([]);
    await page.evaluate("scrollTo(0, 0)");
    await shoot(page, "users");

    await signIn(page, pscsd.url, "mnew", "Temporary-Pass1!");
    await expect.poll(() => page.getByText("must be changed before you go on").count()).toBe(1);
    const me = await page.evaluate(async () => (await fetch("/api/session")).json());
    expect(me).toMatchObject({ username: "mnew", roles: ["dispatcher", "supervisor"] });
    expect(violations).toEqual([]);
    await page.close();
  });

  it("unlocks another's account, and shows the server's refusal of the admin's own roles, state and password beside each", async () => {
    for (let i = 0; i < 5; i++) {
      const wrong = { username: "ops1", password: "Wrong-Passw0rd!" };
      expect((await client(pscsd.url).request("POST", "/api/session", wrong)).status).toBe(401);
    }
    const { page, violations } = await adminOn("Users");
    const ops1 = page.locator("tr[data-user=ops1]");
    await expect.poll(() => ops1.locator("[data-state]").getAttribute("data-state")).toBe("locked");
    await ops1.getByRole("button", { name: "ops1" }).click();
    await page.locator("[data-account=ops1]").getByRole("button", { name: "Unlock" }).click();
    await expect.poll(() => ops1.locator("[data-state]").getAttribute("data-state")).toBe("active");
    await login(pscsd.url, "ops1");

    await page.locator("tr[data-user=adm1]").getByRole("button", { name: "adm1" }).click();
    const own = page.locator("[data-account=adm1]");
    await own.getByRole("checkbox", { name: /^ops/ }).check();
    await own.getByRole("button", { name: "Save roles" }).click();
    await expect
      .poll(() => own.locator("fieldset.roles .field-error").textContent())
      .toBe("you cannot change the roles on your own account: another administrator must do it");
    await own.getByRole("button", { name: "Disable the account" }).click();
    await expect
      .poll(() => own.locator("[data-action=disabled] .field-error").textContent())
      .toBe("you cannot disable on your own account: another administrator must do it");
    await own.getByLabel("New temporary password").fill("Another-Pass2!");
    await own.getByRole("button", { name: "Reset the password" }).click();
    await expect
      .poll(() => own.locator("#account-password-error").textContent())
      .toContain("you cannot reset the password on your own account");
    // Nothing changed.
    const adm1 = (await (
      await login(pscsd.url, "adm1")
    )
      .request("GET", "/api/users/adm1")
      .then((r) => r.json())) as {
      roles: string[];
      disabled: boolean;
    };
    expect(adm1).toMatchObject({ roles: ["admin"], disabled: false });
    expect(await axe(page)).toEqual([]);
    expect(violations).toEqual([]);
    await page.close();
  });

  it("shows each account's last sign-in in the site's zone ('never' for one never used), and changes a display name, refusing an empty one beside the field", async () => {
    const adm = await login(pscsd.url, "adm1");
    const made = await adm.request("POST", "/api/users", {
      username: "stale1",
      displayName: "S. Tale",
      roles: ["records"],
      password: "Temporary-Pass1!",
    });
    expect(made.status).toBe(201);
    const { page, violations } = await adminOn("Users");
    const lastCell = (u: string) => page.locator(`tr[data-user=${u}] td[data-col=last-sign-in]`);
    await expect.poll(() => lastCell("stale1").textContent()).toBe("never");
    const user = async (u: string) =>
      (await (await adm.request("GET", `/api/users/${u}`)).json()) as {
        displayName: string;
        lastSignInAt: number | null;
      };
    const at = (await user("adm1")).lastSignInAt;
    if (at === null) throw new Error("adm1 has signed in, yet no last sign-in");
    // As when() writes it: in the site's zone, not the browser's (UTC here).
    const expected = await page.evaluate(
      ([ms, timeZone]) =>
        new Intl.DateTimeFormat(undefined, {
          year: "numeric",
          month: "short",
          day: "numeric",
          hour: "2-digit",
          minute: "2-digit",
          second: "2-digit",
          timeZoneName: "short",
          timeZone,
          hourCycle: "h23",
        }).format(ms),
      [at, SITE] as const,
    );
    expect(expected).toMatch(/C[SD]T$/);
    await expect.poll(() => lastCell("adm1").textContent()).toBe(expected);

    await page.locator("tr[data-user=stale1]").getByRole("button", { name: "stale1" }).click();
    const account = page.locator("[data-account=stale1]");
    const name = account.getByLabel("Display name");
    expect(await name.inputValue()).toBe("S. Tale");
    await name.fill("  ");
    await name.press("Enter");
    await expect
      .poll(() => page.locator("#account-displayName-error").textContent())
      .toBe("expected a name: 1 to 100 characters");
    expect((await user("stale1")).displayName).toBe("S. Tale");

    await name.fill("Sam Tale");
    await account.getByRole("button", { name: "Save the name" }).click();
    await expect.poll(() => account.getByRole("status").textContent()).toBe("Display name saved.");
    expect(await page.locator("#account-displayName-error").count()).toBe(0);
    expect((await user("stale1")).displayName).toBe("Sam Tale");
    await expect.poll(() => page.locator("tr[data-user=stale1] th .hint").textContent()).toBe("Sam Tale");
    expect(await axe(page)).toEqual([]);
    expect(violations).toEqual([]);
    await page.close();
  });

  it("draws a privacy zone on the map and in its fields, which PTZ then refuses to enter, and removes it", async () => {
    const { page, violations } = await adminOn("Privacy zones");
    const church = page.locator("tr[data-zone=church]");
    await expect.poll(() => church.getAttribute("data-source")).toBe("config");
    expect(await church.textContent()).toContain("config file (read-only here)");
    expect(await church.getByRole("button").count()).toBe(0);
    await expect
      .poll(() => page.locator("[data-position]").textContent(), { timeout: 20_000 })
      .toMatch(/points at pan -?\d\.\d\d, tilt/);

    // Drawn by dragging from (pan 0.3, tilt 0.6) to (pan 0.6, tilt 0.2) on the map…
    const map = page.locator("svg.zone-map");
    const box = await map.boundingBox();
    if (!box) throw new Error("no map");
    // The viewBox runs from -6 to 206 around the 200-unit square of [-1, 1]².
    const px = (pan: number, tilt: number) => ({
      x: box.x + ((6 + ((pan + 1) / 2) * 200) / 212) * box.width,
      y: box.y + ((6 + ((1 - tilt) / 2) * 200) / 212) * box.height,
    });
    const a = px(0.3, 0.6);
    const b = px(0.6, 0.2);
    await page.mouse.move(a.x, a.y);
    await page.mouse.down();
    await page.mouse.move(b.x, b.y, { steps: 4 });
    await page.mouse.up();
    const edge = (name: string) => page.getByLabel(name, { exact: true });
    expect(Number(await edge("Pan from").inputValue())).toBeCloseTo(0.3, 1);
    expect(Number(await edge("Tilt to").inputValue())).toBeCloseTo(0.6, 1);
    expect(await page.locator("svg.zone-map .draft").count()).toBe(1);
    // …and set exactly from the keyboard.
    await edge("Pan from").fill("0.3");
    await edge("Pan to").fill("0.6");
    await edge("Tilt from").fill("0.2");
    await edge("Tilt to").fill("0.6");
    await page.getByLabel("Zone name (a-z, 0-9, - and _)").fill("north-flats");
    await page.getByLabel("Zoom limit, 0 to 1").fill("0.2");
    await page.getByRole("button", { name: "Set the zone" }).click();
    await expect.poll(() => page.locator("#zone-reason-error").count()).toBe(1);
    await page.getByLabel("Reason (recorded in the audit log)").fill("complaint 2026-113: apartment windows");
    // The config file's zone is not the API's to change.
    await page.getByLabel("Zone name (a-z, 0-9, - and _)").fill("church");
    await page.getByRole("button", { name: "Set the zone" }).click();
    await expect.poll(() => page.locator("#zone-id-error").textContent()).toContain("set in the config file");
    await page.getByLabel("Zone name (a-z, 0-9, - and _)").fill("north-flats");
    await page.getByRole("button", { name: "Set the zone" }).click();
    const flats = page.locator("tr[data-zone=north-flats]");
    await expect.poll(() => flats.getAttribute("data-source")).toBe("api");
    await expect.poll(() => page.locator("svg.zone-map [data-zone=north-flats]").count()).toBe(1);
    expect(await axe(page)).toEqual([]);
    await page.evaluate("scrollTo(0, 0)");
    await shoot(page, "zones");

    const disp = await login(pscsd.url, "disp1");
    const refused = await moveTo(disp, 0.45, 0.4);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain("privacy zone 'north-flats'");

    await flats.getByRole("button", { name: "Remove north-flats…" }).click();
    await page.getByRole("button", { name: "Remove the zone" }).click();
    await expect.poll(() => page.locator("#remove-north-flats-reason-error").count()).toBe(1);
    await page.getByLabel("Why remove north-flats?").fill("complaint withdrawn");
    await page.getByRole("button", { name: "Remove the zone" }).click();
    await expect.poll(() => flats.count()).toBe(0);
    expect((await moveTo(disp, 0.45, 0.4)).status).toBe(204);
    expect(violations).toEqual([]);
    expect(consoleErrors()).toEqual([]);
    await page.close();
  }, 60_000);

  it("is not offered to a dispatcher, and the API refuses it", async () => {
    const { page } = await tab(browser);
    await signIn(page, pscsd.url, "disp1");
    const nav = page.getByRole("navigation", { name: "Screens" });
    await expect.poll(() => nav.getByRole("link").allTextContents()).toEqual(["Live", "Cameras"]);
    await page.close();
    const disp = await login(pscsd.url, "disp1");
    expect((await disp.request("GET", "/api/users")).status).toBe(403);
    const zone = { pan: [0, 0.2], tilt: [0, 0.2], maxZoom: 0, reason: "mine" };
    expect((await disp.request("PUT", "/api/cameras/cam1/privacy-zones/x", zone)).status).toBe(403);
    expect(
      (await disp.request("DELETE", "/api/cameras/cam1/privacy-zones/church", { reason: "no" })).status,
    ).toBe(403);
  });
});
