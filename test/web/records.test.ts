import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { deflateSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Pscsd } from "../../src/compose/daemon.js";
import { probeSegment } from "../../src/footage/probe.js";
import { parseTime } from "../../src/time/parse.js";
import { type BrowserSession, openBrowser } from "../helpers/browser.js";
import {
  daemonDir,
  type LocalCatalog,
  login,
  openLocalCatalog,
  sampleSegment,
  seedSegment,
  seedUsers,
  startInProcess,
  type TestDaemonDir,
} from "../helpers/pscsd.js";
import { axe, shoot, signIn, tab, wallTime } from "../helpers/ui.js";

/**
 * Records and the commander in chromium against a real pscsd: a clerk files a hold request with
 * every field and a scanned form (previewed), a missing field is named beside it; the commander
 * sees it in the queue, approves it, and the hold shows active with its audit trail; a dispatcher
 * gets no such screen. The browser lives in UTC, the site in New York: every time is typed and shown
 * in the site's zone.
 */

let d: TestDaemonDir;
let pscsd: Pscsd;
let local: LocalCatalog;
let browser: BrowserSession;
let sample: string;
// Recent footage (whole seconds): pscsd's hourly purge must not take it if the test runs across the hour.
const START = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;

/** A console error besides the signed-out page's first look at its session (401). */
const unexpected = (e: string) => !e.endsWith("status of 401 (Unauthorized)");

const SITE = "America/New_York";
/** A time as a datetime-local field takes it: the site's wall time. */
const siteTime = (ms: number) => wallTime(ms, SITE).input;
/** What a time field's label says: the site's zone by its short name now. */
const zoneLabel = (end: string) => new RegExp(`^${end} \\(site time, ${wallTime(Date.now(), SITE).name}\\)$`);
/** A New York time that happens twice (the clocks went back over it). */
const TWICE = "2026-11-01T01:30:00";

/** A real 8×8 grey PNG: the scan's bytes are checked by type on the server. */
function png(): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer) => {
    let c = 0xffffffff;
    for (const x of b) c = (crcTable[(c ^ x) & 0xff] as number) ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(8, 0);
  ihdr.writeUInt32BE(8, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // greyscale
  const rows = Buffer.concat(Array.from({ length: 8 }, () => Buffer.from([0, ...Array(8).fill(128)])));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(rows)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

beforeAll(async () => {
  // The site's zone is not the browser's: the forms' times are the site's, as pscsd reads them.
  d = await daemonDir({}, { site: { name: "Norwich PD", timezone: SITE } });
  sample = await sampleSegment(d.dir);
  seedSegment(d, sample, START);
  local = openLocalCatalog(d.configFile);
  await seedUsers(local, { rec1: ["records"], cmd1: ["commander"], disp1: ["dispatcher"] });
  pscsd = await startInProcess(d);
  browser = await openBrowser({ timezoneId: "UTC" });
  writeFileSync(join(d.dir, "form.png"), png());
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await pscsd?.stop();
  local?.close();
  rmSync(d.dir, { recursive: true, force: true });
});

describe("the records and commander screens", () => {
  it("files a request with its scan, which the commander approves", async () => {
    const { page, violations } = await tab(browser);
    await signIn(page, pscsd.url, "rec1");
    await page.getByRole("link", { name: "Holds" }).click();
    await page.getByRole("button", { name: "New hold request" }).click();
    await page.getByLabel("Form number").fill("PSCS-H-0042");
    await page.getByLabel("Requested by").fill("Det. R. Alvarez");
    await page.getByLabel("Agency").fill("Norwich Police Department");
    await page.getByLabel("Reason").fill("Armed robbery at the corner store");
    // A New York time the clocks went back over, and no case number: each refused beside its field.
    await page.getByLabel(zoneLabel("From")).fill(TWICE);
    await page.getByLabel(zoneLabel("To")).fill(siteTime(START + 60_000));
    await page.getByLabel("Scanned signed form (PDF or image)").setInputFiles(join(d.dir, "form.png"));
    await expect.poll(() => page.locator(".scan img").count()).toBe(1);
    await page.getByRole("button", { name: "File the request" }).click();
    await expect.poll(() => page.locator(".field.invalid #caseNumber").count()).toBe(1);
    expect(await page.locator(".field.invalid .field-error").first().textContent()).toContain("case");
    expect(await page.locator(".range .field-error").textContent()).toMatch(
      /ranges\[0\]\.from: .*happens twice in America\/New_York.*-04:00 or .*-05:00/,
    );
    // Typed as New York's clocks read: read in UTC, the range would miss the footage by hours.
    await page.getByLabel(zoneLabel("From")).fill(siteTime(START - 60_000));
    await page.getByLabel("Case or incident number").fill("26-004211");
    expect(await axe(page)).toEqual([]);
    await shoot(page, "hold-request");
    await page.getByRole("button", { name: "File the request" }).click();
    await expect.poll(() => page.locator("#hold-title").textContent()).toContain("PSCS-H-0042");
    expect(await page.locator("#hold-title .badge").textContent()).toBe("requested");
    // pscsd holds the instants the site's clocks named.
    const held = (await (await (await login(pscsd.url, "rec1")).request("GET", "/api/holds")).json()) as {
      holds: { ranges: { fromMs: number; toMs: number }[] }[];
    };
    expect(held.holds.map((h) => h.ranges)).toEqual([
      [expect.objectContaining({ fromMs: START - 60_000, toMs: START + 60_000 })],
    ]);
    expect(violations).toEqual([]);
    await page.close();

    const c = await tab(browser);
    await signIn(c.page, pscsd.url, "cmd1");
    await c.page.getByRole("link", { name: "Holds" }).click();
    const queued = c.page.locator("section", { hasText: "Requests to decide" }).locator("tr[data-hold]");
    await expect.poll(() => queued.count()).toBe(1);
    await queued.getByRole("button").click();
    await c.page.getByLabel("Note or reason (a refusal needs one)").fill("Basis and form in order");
    await c.page.getByRole("button", { name: "Approve" }).click();
    await expect.poll(() => c.page.locator("#hold-title .badge").textContent()).toBe("active");
    // Shown as the site's clocks read it, with the zone's name; not as the browser's (UTC).
    const start = wallTime(START - 60_000, SITE);
    const hold = (await c.page.locator("section.hold").textContent()) ?? "";
    expect(hold).toContain(`${start.clock} ${start.name}`);
    expect(hold).not.toContain(wallTime(START - 60_000, "UTC").clock);
    await expect.poll(() => c.page.locator("ol.trail").textContent()).toContain("hold.approve");
    await c.page.getByRole("button", { name: "Verify evidence" }).click();
    await expect.poll(() => c.page.locator("[data-verified]").getAttribute("data-verified")).toBe("ok");
    expect(await axe(c.page)).toEqual([]);
    await shoot(c.page, "hold-approved");
    expect(c.violations).toEqual([]);
    await c.page.close();
  }, 90_000);

  it("is not offered to a dispatcher", async () => {
    const { page } = await tab(browser);
    await signIn(page, pscsd.url, "disp1");
    await expect
      .poll(() => page.getByRole("navigation", { name: "Screens" }).getByRole("link").count())
      .toBeGreaterThan(0);
    expect(await page.getByRole("link", { name: "Holds" }).count()).toBe(0);
    await page.close();
  });

  it("shows the held range on the playback timeline, and plays from a click only with a stated purpose", async () => {
    const { page, violations } = await tab(browser);
    await signIn(page, pscsd.url, "rec1");
    await page.getByRole("link", { name: "Playback" }).click();
    await page.getByLabel(zoneLabel("Go to")).fill(siteTime(START));
    await page.getByRole("button", { name: "Go" }).click();
    // No purpose: nothing plays, and the field says why.
    await expect.poll(() => page.locator("#pb-purpose-error").count()).toBe(1);
    await page.getByRole("button", { name: "10 minutes" }).click();
    await expect.poll(() => page.locator(".timeline .span").count()).toBe(1);
    await expect.poll(() => page.locator(".timeline .held").count()).toBe(1);
    await page.getByLabel("Purpose of viewing").fill("case 26-004211");
    await page.getByRole("button", { name: "Go" }).click();
    await expect
      .poll(
        () =>
          page.locator("video.player").evaluate((v) => (v as unknown as { currentTime: number }).currentTime),
        {
          timeout: 15_000,
        },
      )
      .toBeGreaterThan(0.5);
    expect(await axe(page)).toEqual([]);
    await shoot(page, "playback");
    // "Hold this range" opens the request form with the camera and the range in view filled in.
    await page.getByRole("link", { name: "Hold this range" }).click();
    await expect.poll(() => page.locator("#camera-0").inputValue()).toBe("cam1");
    expect(await page.locator("#from-0").inputValue()).not.toBe("");
    expect(violations).toEqual([]);
    await page.close();
  }, 60_000);

  it("selects a range by dragging across the timeline into the hold form, and steps one frame at the footage's rate", async () => {
    // The seeded footage is 10 frames a second, as ffprobe reads the file itself.
    expect((await probeSegment(sample))?.fps).toBe(10);
    const { page, violations } = await tab(browser);
    const errorsBefore = browser.errors.length;
    await signIn(page, pscsd.url, "rec1");
    await page.getByRole("link", { name: "Playback" }).click();
    await page.getByLabel("Purpose of viewing").fill("case 26-004211");
    await page.getByLabel(zoneLabel("Go to")).fill(siteTime(START));
    await page.getByRole("button", { name: "10 minutes" }).click();
    await page.getByRole("button", { name: "Go" }).click();
    const video = page.locator("video.player");
    const now = () => video.evaluate((v) => (v as unknown as { currentTime: number }).currentTime);
    await expect.poll(now, { timeout: 15_000 }).toBeGreaterThan(0.3);
    await expect.poll(() => page.locator("[data-fps]").getAttribute("data-fps")).toBe("10");
    // Paused mid-clip (it is two seconds long, and may have played to its end by now).
    await video.evaluate((v) => {
      const el = v as unknown as { pause(): void; currentTime: number };
      el.pause();
      el.currentTime = 0.5;
    });
    const t0 = await now();
    await page.getByRole("button", { name: "Frame ▶" }).click();
    expect((await now()) - t0).toBeCloseTo(0.1, 6);
    await page.getByRole("button", { name: "◀ Frame" }).click();
    await page.getByRole("button", { name: "◀ Frame" }).click();
    expect((await now()) - t0).toBeCloseTo(-0.1, 6);

    // The view is START ± 5 minutes: 40 % to 60 % across is START − 60 s to START + 60 s.
    await page.locator("svg.timeline").scrollIntoViewIfNeeded();
    const box = await page.locator("svg.timeline").boundingBox();
    if (!box) throw new Error("no timeline");
    const y = box.y + box.height / 2;
    await page.mouse.move(box.x + box.width * 0.4, y);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.5, y, { steps: 4 });
    await page.mouse.move(box.x + box.width * 0.6, y, { steps: 4 });
    await page.mouse.up();
    await expect.poll(() => page.locator(".timeline .selection").count()).toBe(1);
    // Each field shows the site's wall time of where the drag went, as pscsd will read it.
    const near = async (field: string, ms: number) => {
      const read = parseTime(await page.locator(field).inputValue(), SITE);
      const typed = read.ok ? read.ms : Number.NaN;
      expect(Math.abs(typed - ms), `${field} ${new Date(typed).toISOString()}`).toBeLessThan(3_000);
    };
    await near("#pb-sel-from", START - 60_000);
    await near("#pb-sel-to", START + 60_000);
    // The drag selected; it did not start another playback from where it was let go.
    expect(await now()).toBeCloseTo(t0 - 0.1, 6);
    expect(await axe(page)).toEqual([]);
    await shoot(page, "playback-selection");
    await page.getByRole("link", { name: "Hold the selected range" }).click();
    await expect.poll(() => page.locator("#camera-0").inputValue()).toBe("cam1");
    await near("#from-0", START - 60_000);
    await near("#to-0", START + 60_000);
    expect(violations).toEqual([]);
    expect(browser.errors.slice(errorsBefore).filter(unexpected)).toEqual([]);
    await page.close();
  }, 60_000);

  it("shows the commander the held range, and the timeline without rows the role may not read", async () => {
    const { page, violations } = await tab(browser);
    const errorsBefore = browser.errors.length;
    await signIn(page, pscsd.url, "cmd1");
    await page.getByRole("link", { name: "Playback" }).click();
    await page.getByLabel(zoneLabel("Go to")).fill(siteTime(START));
    await page.getByRole("button", { name: "10 minutes" }).click();
    await expect.poll(() => page.locator(".timeline .held").count()).toBe(1);
    // Destroyed ranges come from the destruction log (purge.read): asked for and answered.
    await expect.poll(() => page.locator(".legend .destroyed").count()).toBe(1);
    expect(violations).toEqual([]);
    expect(browser.errors.slice(errorsBefore).filter(unexpected)).toEqual([]);
    await page.close();
  }, 30_000);

  it("requests an export of the held footage in the wizard; another commander approves; it downloads and verifies", async () => {
    const { page, violations } = await tab(browser);
    await signIn(page, pscsd.url, "rec1");
    await page.getByRole("link", { name: "Exports" }).click();
    await page.getByRole("button", { name: "New export" }).click();
    // Site time: read in the browser's zone (UTC), the range would hold none of the footage.
    await page.getByLabel(zoneLabel("From")).fill(siteTime(START - 30_000));
    await page.getByLabel(zoneLabel("To")).fill(siteTime(START + 30_000));
    await page.getByRole("button", { name: "Next: legal basis" }).click();
    // Exactly the criminal basis's fields; an agency's request asks for its scan instead.
    await expect.poll(() => page.getByLabel("Case number").count()).toBe(1);
    await page.getByLabel("Legal basis").selectOption("agency_request");
    await expect.poll(() => page.getByLabel("The written request, scanned").count()).toBe(1);
    expect(await page.getByLabel("Case number").count()).toBe(0);
    await page.getByLabel("Legal basis").selectOption("criminal");
    await page.getByLabel("Case number").fill("26-004211");
    await page.getByRole("button", { name: "Next: recipient" }).click();
    await page.getByLabel("Recipient").fill("ADA M. Chen");
    await page.getByLabel("Organisation").fill("New London State's Attorney");
    await page
      .getByLabel("Purpose (kept with every audit entry of the export)")
      .fill("Prosecution of 26-004211");
    await page.getByRole("button", { name: "Next: review" }).click();
    await expect.poll(() => page.locator(".wizard").textContent()).toContain("1 segments present");
    // The requesting officer is missing: pscsd refuses, and the wizard goes back to that field.
    await page.getByRole("button", { name: "Request the export" }).click();
    await expect.poll(() => page.locator(".field.invalid #requestingOfficer").count()).toBe(1);
    expect(await page.locator(".field.invalid .field-error").textContent()).toContain("requesting officer");
    await page.getByLabel("Requesting officer or prosecutor").fill("Det. R. Alvarez");
    expect(await axe(page)).toEqual([]);
    await shoot(page, "export-wizard");
    await page.getByRole("button", { name: "Next: recipient" }).click();
    await page.getByRole("button", { name: "Next: review" }).click();
    await page.getByRole("button", { name: "Request the export" }).click();
    const row = page.locator("tr[data-export]").first();
    await expect.poll(() => row.locator(".badge").textContent()).toBe("requested");
    // The one who entered it cannot approve it, and has no button to.
    expect(await row.getByRole("button", { name: "Approve" }).count()).toBe(0);
    expect(violations).toEqual([]);

    const c = await tab(browser);
    await signIn(c.page, pscsd.url, "cmd1");
    await c.page.getByRole("link", { name: "Exports" }).click();
    const theirs = c.page.locator("tr[data-export]").first();
    await theirs.getByRole("button", { name: "Approve" }).click();
    await expect.poll(() => theirs.locator(".badge").textContent(), { timeout: 60_000 }).toBe("done");
    const [download] = await Promise.all([
      c.page.waitForEvent("download"),
      theirs.getByRole("link", { name: "Download" }).click(),
    ]);
    const zip = await download.path();
    expect(readFileSync(zip).subarray(0, 2).toString()).toBe("PK");
    await theirs.getByRole("button", { name: "Verify" }).click();
    await expect.poll(() => theirs.locator("[data-verified]").getAttribute("data-verified")).toBe("ok");
    await shoot(c.page, "exports");
    expect(c.violations).toEqual([]);
    await c.page.close();
    await page.close();
  }, 120_000);
});
