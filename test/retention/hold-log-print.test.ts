import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { holdLogHtml } from "../../retention/hold-log.js";
import type { Hold } from "../../src/holds/hold.js";

const run = promisify(execFile);
const CHROMIUM = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run"];

/** Letter landscape less the page's 10 mm margins, in CSS pixels (96 per inch). */
const PRINTABLE_PX = Math.floor(((279.4 - 20) / 25.4) * 96);

const hold = (id: number): Hold =>
  ({
    id,
    status: "active",
    formNumber: "PSCS-H-2026-000123",
    receivedOn: "2026-01-02",
    caseNumber: "26-000123-ROBBERY",
    legalBasis: "agency_request",
    requestedBy: "Detective Sergeant Alexandra Example-Longname",
    agency: "Norwich Police Department Criminal Investigation Division",
    reason: "Robbery at the bus station; suspect vehicle seen on cameras 1-4. ".repeat(4),
    ranges: [1, 2, 3].map((i) => ({
      camera: `cam${i}`,
      fromMs: Date.UTC(2026, 0, 1),
      toMs: Date.UTC(2026, 0, 1, 1),
    })),
    form: { sha256: "ab".repeat(32) },
    enteredBy: "user:records.clerk1",
    enteredAt: Date.UTC(2026, 0, 2),
    decidedBy: "user:commander.one",
    decidedAt: Date.UTC(2026, 0, 2, 3),
    decisionNote: "approved after review of the signed form",
    releasedBy: null,
    releasedAt: null,
    releaseReason: null,
    evidence: { segments: 1234, bytes: 123_456_789_012 },
  }) as unknown as Hold;

describe("the printable hold log", () => {
  it("lays out within a landscape letter page's width however long its cells are (rendered by chromium)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pscs-holdlog-"));
    const html = holdLogHtml([1, 2, 3, 4, 5, 6].map(hold), {
      site: "Norwich",
      generatedAt: Date.UTC(2026, 0, 3),
      by: "user:commander.one",
    });
    // The page itself has no scripts; a copy gets one that writes the laid-out width into the DOM.
    const page = join(dir, "log.html");
    writeFileSync(
      page,
      html.replace(
        "</body>",
        `<script>addEventListener("load", () => document.body.setAttribute("data-width", String(document.documentElement.scrollWidth)))</script></body>`,
      ),
    );
    const { stdout } = await run(
      "chromium",
      [
        ...CHROMIUM,
        `--window-size=${PRINTABLE_PX},800`,
        "--virtual-time-budget=3000",
        "--dump-dom",
        `file://${page}`,
      ],
      { timeout: 60_000 },
    );
    const width = Number(/data-width="(\d+)"/.exec(stdout)?.[1]);
    expect(width).toBeGreaterThan(0);
    expect(width).toBeLessThanOrEqual(PRINTABLE_PX);

    // And it prints on letter paper in landscape (792 x 612 pt).
    const pdf = join(dir, "log.pdf");
    await run(
      "chromium",
      [...CHROMIUM, "--no-pdf-header-footer", `--print-to-pdf=${pdf}`, `file://${join(dir, "log.html")}`],
      {
        timeout: 60_000,
      },
    );
    const boxes = readFileSync(pdf, "latin1").match(/\/MediaBox \[[^\]]*\]/g) ?? [];
    expect(boxes.length).toBeGreaterThan(0);
    expect(new Set(boxes)).toEqual(new Set(["/MediaBox [0 0 792 612]"]));
  }, 120_000);
});
