import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Pscsd } from "../../src/compose/daemon.js";
import { segmentPath } from "../../src/footage/layout.js";
import {
  type Client,
  daemonDir,
  FORM_PDF,
  type LocalCatalog,
  login,
  openLocalCatalog,
  SAMPLE_START,
  sampleSegment,
  seedSegment,
  seedUsers,
  startInProcess,
  type TestDaemonDir,
} from "../helpers/pscsd.js";

/**
 * Hold requests to release and purge through the real HTTP API, a real catalog and real files: what a
 * records clerk and the commander do, and what the purger then may and may not destroy.
 */

let d: TestDaemonDir;
let daemon: Pscsd;
let local: LocalCatalog;
let records: Client;
let commander: Client;
let dispatcher: Client;
let auditor: Client;
const file = () => join(d.dir, "rec", segmentPath("cam1", SAMPLE_START));

type Problem = { status: number; detail: string; errors?: { field: string }[]; coverage?: unknown[] };
type Hold = { id: number; status: string; evidence: { segments: number }; form: { sha256: string } };

const request = (over: Record<string, unknown> = {}) => ({
  formNumber: "PSCS-H-0042",
  receivedOn: "2026-01-02",
  requestedBy: "Det. A. Example",
  agency: "Norwich Police Department",
  caseNumber: "26-000042",
  legalBasis: "criminal",
  reason: "Robbery at the bus station <b>",
  ranges: [{ camera: "cam1", from: SAMPLE_START - 60_000, to: SAMPLE_START + 60_000 }],
  form: { contentType: "application/pdf", data: FORM_PDF.toString("base64") },
  ...over,
});

beforeAll(async () => {
  d = await daemonDir();
  local = openLocalCatalog(d.configFile);
  await seedUsers(local, {
    records1: ["records"],
    commander1: ["commander"],
    dispatcher1: ["dispatcher"],
    auditor1: ["auditor"],
    ops1: ["ops"],
  });
  seedSegment(d, await sampleSegment(d.dir));
  daemon = await startInProcess(d);
  [records, commander, dispatcher, auditor] = (await Promise.all(
    ["records1", "commander1", "dispatcher1", "auditor1"].map((u) => login(daemon.url, u)),
  )) as [Client, Client, Client, Client];
});
afterAll(async () => {
  await daemon?.stop();
  local?.close();
});

/** A segment of its own (a copy of the sample), recorded `start`: for a test that must not share one. */
function freshSegment(start: number): { start: number; rel: string } {
  const rel = segmentPath("cam1", start);
  writeFileSync(join(d.dir, "rec", "sample-copy.ts"), readFileSync(join(d.dir, "sample.ts")));
  mkdirSync(join(d.dir, "rec", rel, ".."), { recursive: true });
  renameSync(join(d.dir, "rec", "sample-copy.ts"), join(d.dir, "rec", rel));
  const bytes = readFileSync(join(d.dir, "rec", rel));
  local.db
    .prepare(
      "INSERT INTO segments (camera, start_ms, end_ms, path, bytes, sha256, state, run, created_at) VALUES ('cam1', ?, ?, ?, ?, ?, 'complete', 't', ?)",
    )
    .run(
      start,
      start + 2_000,
      rel,
      bytes.length,
      createHash("sha256").update(bytes).digest("hex"),
      Date.now(),
    );
  return { start, rel };
}

describe("hold requests", () => {
  it("refuses a request without a form scan, a case number, a real form, or any footage left, naming the problem", async () => {
    const cases: [Record<string, unknown>, RegExp, RegExp][] = [
      [{ form: undefined }, /^body\.form$/, /form/],
      [{ caseNumber: "" }, /^body\.caseNumber$/, /case or incident number/],
      [{ caseNumber: undefined }, /^body\.caseNumber$/, /.*/],
      [{ form: { data: Buffer.from("just text").toString("base64") } }, /form/, /application\/pdf/],
      [
        { ranges: [{ camera: "cam1", from: "2026-02-01T00:00:00Z", to: "2026-02-01T01:00:00Z" }] },
        /ranges/,
        /recorded nothing/,
      ],
      [{ ranges: [{ camera: "nope", from: SAMPLE_START, to: SAMPLE_START + 1 }] }, /ranges/, /camera/],
      [{ legalBasis: "curiosity" }, /^body\.legalBasis$/, /.*/],
    ];
    for (const [over, field, detail] of cases) {
      const body = JSON.parse(JSON.stringify(request(over)));
      const res = await records.request("POST", "/api/holds", body);
      const p = (await res.json()) as Problem;
      expect(res.status, JSON.stringify(over)).toBe(400);
      expect(res.headers.get("content-type")).toMatch(/application\/problem\+json/);
      expect(p.errors?.map((e) => e.field).join(" "), JSON.stringify(p)).toMatch(field);
      expect(`${p.detail} ${JSON.stringify(p.errors)}`).toMatch(detail);
    }
    // Nothing was stored for any of them.
    expect(local.db.prepare("SELECT count(*) n FROM holds").get()).toEqual({ n: 0 });
  });

  it("takes a request, protects it, lets only a commander approve and release it, and audits each step", async () => {
    const res = await records.request("POST", "/api/holds", request());
    expect(res.status).toBe(201);
    const h = (await res.json()) as Hold & { coverage: { present: unknown[] }[] };
    expect(h.status).toBe("requested");
    expect(h.coverage[0]?.present).toHaveLength(1);
    expect(h.form.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(readFileSync(join(d.dir, "ev", "forms", `${h.form.sha256}.pdf`))).toEqual(FORM_PDF);

    // Expired (January) but requested: the purger leaves it.
    const run1 = await (await commander.request("POST", "/api/purge/run")).json();
    expect(run1).toMatchObject({ destroyed: 0 });
    expect(existsSync(file())).toBe(true);

    // Only a commander releases or approves; every refusal is audited.
    for (const [c, verb] of [
      [records, "release"],
      [records, "approve"],
      [dispatcher, "release"],
      [auditor, "release"],
    ] as const) {
      const r = await c.request(
        "POST",
        `/api/holds/${h.id}/${verb}`,
        verb === "approve" ? {} : { reason: "x" },
      );
      expect(r.status, `${verb}`).toBe(403);
    }
    const denied = await local.audit.list({ action: "http.denied", target: "route:releaseHold" });
    expect(denied.map((e) => e.actor).sort()).toEqual(["user:auditor1", "user:dispatcher1", "user:records1"]);
    expect((await commander.request("POST", `/api/holds/${h.id}/release`, { reason: "x" })).status).toBe(409);

    const approved = (await (
      await commander.request("POST", `/api/holds/${h.id}/approve`, { note: "ok" })
    ).json()) as Hold;
    expect(approved.status).toBe("active");
    expect(approved.evidence.segments).toBe(1);
    const linked = join(
      d.dir,
      "ev",
      String(h.id),
      "cam1",
      segmentPath("cam1", SAMPLE_START).split("/").at(-1) ?? "",
    );
    expect(statSync(linked).ino).toBe(statSync(file()).ino); // a hard link, not a copy
    const manifest = JSON.parse(readFileSync(join(d.dir, "ev", String(h.id), "manifest.json"), "utf8"));
    expect(manifest.files).toHaveLength(1);

    const verify = (await (await auditor.request("GET", `/api/holds/${h.id}/verify`)).json()) as {
      ok: boolean;
    };
    expect(verify.ok).toBe(true);

    // The hold log: JSON for records, CSV and a printable page, with the hold's audit trail.
    const one = (await (await records.request("GET", `/api/holds/${h.id}`)).json()) as {
      trail: { action: string; actor: string }[];
    };
    expect(one.trail.map((e) => `${e.action} ${e.actor}`)).toEqual([
      "hold.request user:records1",
      "hold.approve user:commander1",
      "hold.verify user:auditor1",
    ]);
    const csv = await (await commander.request("GET", "/api/holds?format=csv")).text();
    expect(csv.split("\r\n")[0]).toMatch(/^hold,status,form_number/);
    expect(csv).toContain("26-000042");
    const html = await (await commander.request("GET", "/api/holds?format=html&status=active")).text();
    expect(html).toContain("26-000042");
    expect(html).toContain("&lt;b&gt;");
    expect(html).not.toContain("<b>");
    expect(html).toContain(`<a href="/api/holds/${h.id}/form">${h.form.sha256}</a>`);
    expect((await dispatcher.request("GET", "/api/holds")).status).toBe(403);

    // Active: still not purged. Released: gone at the next run, with a destruction log entry.
    expect(await (await commander.request("POST", "/api/purge/run")).json()).toMatchObject({ destroyed: 0 });
    const released = (await (
      await commander.request("POST", `/api/holds/${h.id}/release`, { reason: "case closed" })
    ).json()) as Hold;
    expect(released.status).toBe("released");
    expect(existsSync(linked)).toBe(false);
    const plan = (await (await auditor.request("GET", "/api/purge/plan")).json()) as { count: number };
    expect(plan.count).toBe(1);
    expect(await (await commander.request("POST", "/api/purge/run")).json()).toMatchObject({ destroyed: 1 });
    expect(existsSync(file())).toBe(false);
    const log = (await (await auditor.request("GET", "/api/purge/destroyed?camera=cam1")).json()) as {
      entries: { sha256: string; reason: string }[];
    };
    expect(log.entries).toHaveLength(1);
    expect(log.entries[0]?.reason).toBe("retention");
    expect(log.entries[0]?.sha256).toMatch(/^[0-9a-f]{64}$/);

    // Asking again for footage now destroyed: refused, saying so.
    const again = await records.request("POST", "/api/holds", request({ formNumber: "PSCS-H-0043" }));
    const p = (await again.json()) as Problem & { coverage: { destroyed: { reason: string }[] }[] };
    expect(again.status).toBe(400);
    expect(p.detail).toMatch(/destroyed \(retention\)/);
    expect(p.coverage[0]?.destroyed[0]?.reason).toBe("retention");

    // Ops sees the purge in health and metrics (no video, no hold details).
    const ops = await login(daemon.url, "ops1");
    const health = (await (await ops.request("GET", "/api/health")).json()) as {
      purge: {
        lastRun: { destroyed: number; error: null };
        nextRunAt: number;
        retentionDays: number;
        overdue: boolean;
      };
    };
    expect(health.purge.lastRun).toMatchObject({ destroyed: 1, error: null });
    expect(health.purge.nextRunAt).toBeGreaterThan(Date.now());
    expect(health.purge.nextRunAt - Date.now()).toBeLessThanOrEqual(3_600_000);
    expect(health.purge.overdue).toBe(false);
    const metrics = await (await ops.request("GET", "/metrics")).text();
    expect(metrics).toMatch(/^pscs_purge_last_run_destroyed_segments 1$/m);
    expect(metrics).toMatch(/^pscs_holds_active 0$/m);

    const actions = await local.audit.list({ action: "retention.purge" });
    expect(actions.map((e) => e.actor)).toEqual(["user:commander1", "user:commander1", "user:commander1"]);
  });

  it("finds an evidence file whose bytes changed", async () => {
    // A fresh segment and hold, then one byte of the held file flipped on disk.
    const { start, rel } = freshSegment(Date.now() - 3_600_000);
    const h = (await (
      await records.request(
        "POST",
        "/api/holds",
        request({ formNumber: "PSCS-H-0044", ranges: [{ camera: "cam1", from: start, to: start + 2_000 }] }),
      )
    ).json()) as Hold;
    await commander.request("POST", `/api/holds/${h.id}/approve`, {});
    const f = join(d.dir, "rec", rel);
    const changed = readFileSync(f);
    changed[100] = (changed[100] ?? 0) ^ 0xff;
    writeFileSync(f, changed);
    const v = (await (await commander.request("GET", `/api/holds/${h.id}/verify`)).json()) as {
      ok: boolean;
      problems: { problem: string }[];
    };
    expect(v.ok).toBe(false);
    expect(v.problems.map((p) => p.problem)).toEqual(["hash_mismatch"]);
    expect(await local.audit.list({ action: "hold.verify", outcome: "failure" })).toHaveLength(1);
  });

  it("takes a scan of several megabytes, past the 64 KiB body limit of other routes, and stores it byte for byte", async () => {
    const { start } = freshSegment(Date.now() - 2 * 3_600_000);
    const scan = Buffer.concat([FORM_PDF, Buffer.alloc(5 * 1024 * 1024, 0x20), Buffer.from("%%EOF\n")]);
    const res = await records.request(
      "POST",
      "/api/holds",
      request({
        formNumber: "PSCS-H-0045",
        ranges: [{ camera: "cam1", from: start, to: start + 2_000 }],
        form: { contentType: "application/pdf", data: scan.toString("base64") },
      }),
    );
    expect(res.status, await res.clone().text()).toBe(201);
    const h = (await res.json()) as Hold;
    expect(h.form.sha256).toBe(createHash("sha256").update(scan).digest("hex"));
    expect(readFileSync(join(d.dir, "ev", "forms", `${h.form.sha256}.pdf`)).equals(scan)).toBe(true);
  });
});
