import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runPscs } from "../helpers/process.js";
import {
  daemonDir,
  FORM_PDF,
  insertUserRow,
  openLocalCatalog,
  PASSWORD,
  SAMPLE_START,
  sampleSegment,
  seedSegment,
  seedUsers,
} from "../helpers/pscsd.js";

// The built CLI at the server's console: export requests and their approval as named users.
const pscs = runPscs;

describe("pscs export", () => {
  it("refuses a civil order of another court quoting the policy, requests on a court order (holding the footage), and approves only by another commander", async () => {
    const d = await daemonDir();
    const local = openLocalCatalog(d.configFile);
    await seedUsers(local, { records1: ["records"], commander1: ["commander"] });
    await insertUserRow(local, "both1", ["records", "commander"]);
    local.close();
    seedSegment(d, await sampleSegment(d.dir));
    const order = join(d.dir, "order.pdf");
    writeFileSync(order, FORM_PDF);
    const c = ["-c", d.configFile];
    const from = new Date(SAMPLE_START - 60_000).toISOString();
    const to = new Date(SAMPLE_START + 60_000).toISOString();
    const request = (as: string, court: string) => [
      "export",
      "request",
      ...c,
      "--as",
      as,
      "--basis",
      "court_order",
      "--dispute",
      "civil",
      "--court",
      court,
      "--docket",
      "NNH-CV26-6000001-S",
      "--judge",
      "Hon. J. Example",
      "--order-date",
      "2026-01-05",
      "--scan",
      order,
      "--recipient",
      "A. Lawyer",
      "--organisation",
      "Example LLP",
      "--delivery",
      "in person, USB drive",
      "--purpose",
      "civil discovery",
      "--range",
      `cam1,${from},${to}`,
    ];

    const federal = await pscs(
      request("records1", "US District Court, District of Connecticut"),
      `${PASSWORD}\n`,
    );
    expect(federal.code).toBe(2);
    expect(federal.stderr).toMatch(
      /^pscs: --court: in a civil dispute between private litigants only an order/m,
    );
    expect(federal.stderr).toMatch(
      /policy \(Storage & Archive Procedures 4\): "Images collected by the PSCS shall not be made available to parties or discoverable in civil disputes between private litigants except pursuant to an order issued by a Judge of the Superior Court of Connecticut\."/,
    );

    const made = await pscs([...request("both1", "Connecticut Superior Court"), "--json"], `${PASSWORD}\n`);
    expect(made.code, made.stderr).toBe(0);
    const e = JSON.parse(made.stdout) as { id: number; hold: number; status: string };
    expect(e.status).toBe("requested");

    // Its enterer cannot approve it, whatever roles they hold; the hold must be approved first.
    const own = await pscs(["export", "approve", String(e.id), ...c, "--as", "both1"], `${PASSWORD}\n`);
    expect(own.code).toBe(1);
    expect(own.stderr).toMatch(/entered this export request; another commander must decide it/);
    const early = await pscs(
      ["export", "approve", String(e.id), ...c, "--as", "commander1"],
      `${PASSWORD}\n`,
    );
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(/awaits the commander/);
    const hold = await pscs(["hold", "approve", String(e.hold), ...c, "--as", "commander1"], `${PASSWORD}\n`);
    expect(hold.code, hold.stderr).toBe(0);
    const ok = await pscs(
      ["export", "approve", String(e.id), ...c, "--as", "commander1", "--note", "per the order"],
      `${PASSWORD}\n`,
    );
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(new RegExp(`^export ${e.id}  QUEUED  hold ${e.hold}`, "m"));
    expect(ok.stdout).toMatch(/approved by user:commander1 .*: per the order/);
    const list = await pscs(["export", "list", ...c, "--as", "records1", "--json"], `${PASSWORD}\n`);
    expect((JSON.parse(list.stdout) as { status: string }[]).map((x) => x.status)).toEqual(["queued"]);
  }, 60_000);
});
