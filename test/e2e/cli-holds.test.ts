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

// The built CLI at the server's console: every hold command acts as a named, signed-in user.
const pscs = runPscs;

describe("pscs hold, holds log, purge", () => {
  it("requests, refuses the wrong person, approves, verifies, logs and purges, as named users", async () => {
    const d = await daemonDir();
    const local = openLocalCatalog(d.configFile);
    await seedUsers(local, { records1: ["records"], commander1: ["commander"] });
    local.close();
    seedSegment(d, await sampleSegment(d.dir));
    const form = join(d.dir, "form.pdf");
    writeFileSync(form, FORM_PDF);
    const c = ["-c", d.configFile];
    const from = new Date(SAMPLE_START - 60_000).toISOString();
    const to = new Date(SAMPLE_START + 60_000).toISOString();
    const requestArgs = [
      "hold",
      "request",
      ...c,
      "--as",
      "records1",
      "--form-number",
      "PSCS-H-7",
      "--received-on",
      "2026-01-02",
      "--requested-by",
      "Det. A. Example",
      "--agency",
      "NPD",
      "--case",
      "26-000007",
      "--basis",
      "criminal",
      "--reason",
      "assault downtown",
      "--range",
      `cam1,${from},${to}`,
    ];

    // Bad input: a readable reason and a non-zero exit, nothing stored.
    const noForm = await pscs(requestArgs, `${PASSWORD}\n`);
    expect(noForm.code).not.toBe(0);
    expect(noForm.stderr).toMatch(/--form/);
    const textForm = join(d.dir, "form.txt");
    writeFileSync(textForm, "not a scan");
    const bad = await pscs([...requestArgs, "--form", textForm], `${PASSWORD}\n`);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^pscs: --form: the scanned form must be one of application\/pdf/m);
    const badBasis = await pscs([
      ...requestArgs.map((a) => (a === "criminal" ? "gossip" : a)),
      "--form",
      form,
    ]);
    expect(badBasis.code).toBe(2);
    expect(badBasis.stderr).toMatch(/--basis: expected one of criminal, agency_request, court_order/);
    const never = await pscs(
      [
        ...requestArgs.map((a) =>
          a.startsWith("cam1,") ? "cam1,2026-03-01T00:00:00Z,2026-03-01T01:00:00Z" : a,
        ),
        "--form",
        form,
      ],
      `${PASSWORD}\n`,
    );
    expect(never.code).toBe(2);
    expect(never.stderr).toMatch(
      /^pscs: --range #1: nothing is left to hold for cam1 in this range: the camera recorded nothing then/m,
    );
    expect(never.stderr).toMatch(/never recorded: 3600 s of the range/);
    // A refusal names the option typed (and which of several --range), not the service's field.
    const backwards = await pscs(
      [...requestArgs, "--range", `cam1,${to},${from}`, "--form", form],
      `${PASSWORD}\n`,
    );
    expect(backwards.code).toBe(2);
    expect(backwards.stderr).toMatch(/\npscs: --range #2 TO: expected the range to end after it starts\n$/);
    const late = await pscs(
      [...requestArgs.map((a) => (a === "2026-01-02" ? "2999-01-01" : a)), "--form", form],
      `${PASSWORD}\n`,
    );
    expect(late.code).toBe(2);
    expect(late.stderr).toMatch(/^pscs: --received-on: the form cannot have been received after today/m);
    const wrongPassword = await pscs([...requestArgs, "--form", form], "Not-The-Password1!\n");
    expect(wrongPassword.code).toBe(1);
    expect(wrongPassword.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace

    const req = await pscs([...requestArgs, "--form", form, "--json"], `${PASSWORD}\n`);
    expect(req.code, req.stderr).toBe(0);
    const hold = JSON.parse(req.stdout) as { id: number; status: string };
    expect(hold.status).toBe("requested");

    // records may request, not release or approve: exit 77, audited.
    const denied = await pscs(
      ["hold", "approve", String(hold.id), ...c, "--as", "records1"],
      `${PASSWORD}\n`,
    );
    expect(denied.code).toBe(77);
    expect(denied.stderr).toMatch(/records1 lacks permission 'holds.approve'/);

    const approved = await pscs(
      ["hold", "approve", String(hold.id), ...c, "--as", "commander1", "--json"],
      `${PASSWORD}\n`,
    );
    expect(approved.code, approved.stderr).toBe(0);
    expect(JSON.parse(approved.stdout)).toMatchObject({ status: "active", evidence: { segments: 1 } });

    const verify = await pscs(
      ["hold", "verify", String(hold.id), ...c, "--as", "commander1"],
      `${PASSWORD}\n`,
    );
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/1 files, \d+ bytes, all match/);

    const log = await pscs(["holds", "log", ...c, "--as", "commander1", "--csv"], `${PASSWORD}\n`);
    expect(log.code, log.stderr).toBe(0);
    expect(log.stdout.split("\r\n")[0]).toMatch(/^hold,status,form_number,received_on,case_number/);
    expect(log.stdout).toMatch(/PSCS-H-7,2026-01-02,26-000007,criminal/);

    // Held, so neither the dry run nor a real run touches it.
    const dry = await pscs(["purge", "--dry-run", ...c]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/would destroy 0 segment/);
    const released = await pscs(
      ["hold", "release", String(hold.id), ...c, "--as", "commander1", "--reason", "case closed"],
      `${PASSWORD}\n`,
    );
    expect(released.code, released.stderr).toBe(0);
    expect((await pscs(["purge", "--dry-run", ...c])).stdout).toMatch(/would destroy 1 segment/);
    const run = await pscs(["purge", "--now", ...c, "--as", "commander1"], `${PASSWORD}\n`);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/destroyed 1 segment/);

    const check = openLocalCatalog(d.configFile);
    try {
      const actions = (await check.audit.list({ order: "asc", limit: 1000 })).map(
        (e) => `${e.action} ${e.actor} ${e.outcome}`,
      );
      expect(actions).toEqual(
        expect.arrayContaining([
          "hold.request user:records1 success",
          "cli.denied user:records1 denied",
          "hold.approve user:commander1 success",
          "hold.verify user:commander1 success",
          "holds.log.export user:commander1 success",
          "hold.release user:commander1 success",
          "retention.purge user:commander1 success",
        ]),
      );
      expect(check.db.prepare("SELECT count(*) n FROM destruction_log").get()).toEqual({ n: 1 });
      // Each command's sign-in ended with it: no session is left behind by the console.
      expect(check.db.prepare("SELECT count(*) n FROM sessions").get()).toEqual({ n: 0 });
    } finally {
      check.close();
    }
  }, 120_000);

  it("refuses the person who entered a request as its commander, at the console too", async () => {
    const d = await daemonDir();
    const local = openLocalCatalog(d.configFile);
    await seedUsers(local, { commander1: ["commander"] });
    await insertUserRow(local, "both1", ["records", "commander"]);
    local.close();
    seedSegment(d, await sampleSegment(d.dir));
    const form = join(d.dir, "form.pdf");
    writeFileSync(form, FORM_PDF);
    const c = ["-c", d.configFile];
    const range = `cam1,${new Date(SAMPLE_START - 60_000).toISOString()},${new Date(SAMPLE_START + 60_000).toISOString()}`;
    const req = await pscs(
      [
        ...["hold", "request", ...c, "--as", "both1", "--form", form, "--form-number", "PSCS-H-8"],
        ...["--received-on", "2026-01-02", "--requested-by", "Det. B", "--agency", "NPD", "--case", "26-8"],
        ...["--basis", "criminal", "--reason", "theft", "--range", range, "--json"],
      ],
      `${PASSWORD}\n`,
    );
    expect(req.code, req.stderr).toBe(0);
    const id = String((JSON.parse(req.stdout) as { id: number }).id);
    const self = await pscs(["hold", "approve", id, ...c, "--as", "both1"], `${PASSWORD}\n`);
    expect(self.code).toBe(1);
    expect(self.stderr).toMatch(/user:both1 may not approve hold \d+: they entered this request/);
    const other = await pscs(["hold", "approve", id, ...c, "--as", "commander1", "--json"], `${PASSWORD}\n`);
    expect(other.code, other.stderr).toBe(0);
    expect(JSON.parse(other.stdout)).toMatchObject({ status: "active", decidedBy: "user:commander1" });
  }, 60_000);

  it("refuses a temporary password at the console as the API does: whoever set it could act as the person", async () => {
    const d = await daemonDir();
    const local = openLocalCatalog(d.configFile);
    await seedUsers(local, { commander1: ["commander"], admin1: ["admin"] });
    const temporary = "Temporary-Passw0rd!";
    await local.auth.resetPassword("commander1", temporary, {
      actor: "user:admin1",
      role: "admin",
      client: "cli",
    });
    local.close();
    const log = await pscs(
      ["holds", "log", "-c", d.configFile, "--as", "commander1", "--csv"],
      `${temporary}\n`,
    );
    expect(log.code).toBe(77);
    expect(log.stderr).toMatch(/commander1 must change the temporary password/);
    const check = openLocalCatalog(d.configFile);
    try {
      const denied = await check.audit.list({ action: "cli.denied" });
      expect(denied.map((e) => [e.actor, JSON.parse(e.details).reason])).toEqual([
        ["user:commander1", "password change required"],
      ]);
      expect(check.db.prepare("SELECT count(*) n FROM sessions").get()).toEqual({ n: 0 });
    } finally {
      check.close();
    }
  }, 60_000);
});
