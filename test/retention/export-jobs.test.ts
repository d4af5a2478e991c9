import { createHash } from "node:crypto";
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Pscsd } from "../../src/compose/daemon.js";
import type { ExportRecord } from "../../src/exports/export.js";
import { verifyPackage } from "../../src/exports/verify.js";
import { isAlive } from "../../src/proc/tree.js";
import {
  cutSegments,
  exportBody,
  ffmpegsUnder,
  seedActiveHold,
  seedFootage,
} from "../helpers/export-footage.js";
import { flipByte, listFiles } from "../helpers/export-package.js";
import { runPscs } from "../helpers/process.js";
import {
  type Client,
  client,
  daemonDir,
  type LocalCatalog,
  login,
  openLocalCatalog,
  PASSWORD,
  seedUsers,
  startInProcess,
  type TestDaemonDir,
} from "../helpers/pscsd.js";

/**
 * Export jobs in a real pscsd (real catalog, HTTP, ffmpeg) over six minutes of held footage (~90 MB,
 * so a production lasts long enough to be seen running): an approval through the API or through
 * `pscs export approve` in another process is produced into a package that verifies; a cancel while
 * it runs leaves nothing; a source changed on disk fails it with the reason; `pscs export wait`
 * follows it. Each step is audited as the system actor.
 */

const MINUTES = 6;
let d: TestDaemonDir;
let daemon: Pscsd;
let local: LocalCatalog;
let records: Client;
let commander: Client;
let hold: number;
let segmentFiles: string[];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  d = await daemonDir();
  local = openLocalCatalog(d.configFile);
  await seedUsers(local, { records1: ["records"], commander1: ["commander"] });
  segmentFiles = seedFootage(d, await cutSegments(MINUTES, "2M"));
  hold = await seedActiveHold(d, MINUTES);
  daemon = await startInProcess(d);
  records = await login(daemon.url, "records1");
  commander = await login(daemon.url, "commander1");
}, 60_000);
afterAll(async () => {
  await daemon?.stop();
  local?.close();
  if (d) rmSync(d.dir, { recursive: true, force: true });
});

const exportsRoot = () => join(d.dir, "exports");
const row = async (id: number) => (await local.directory.read((x) => x.exports.get(id))) as ExportRecord;
const trail = async (id: number) =>
  (await local.audit.list({ target: `export:${id}`, order: "asc" })).map((e) => ({
    action: e.action,
    outcome: e.outcome,
    actor: e.actor,
    details: JSON.parse(e.details) as Record<string, unknown>,
  }));

async function requestExport(): Promise<number> {
  const res = await records.request("POST", "/api/exports", exportBody(hold, MINUTES));
  expect(res.status, await res.clone().text()).toBe(201);
  return ((await res.json()) as { id: number }).id;
}

async function approve(id: number): Promise<void> {
  const res = await commander.request("POST", `/api/exports/${id}/approve`, { note: "per the case file" });
  expect(res.status, await res.clone().text()).toBe(200);
}

/** Reads the row every 20 ms until `done(row)`; returns every row seen. */
async function until(id: number, done: (r: ExportRecord) => boolean, timeoutMs = 30_000) {
  const seen: ExportRecord[] = [];
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await row(id);
    seen.push(r);
    if (done(r)) return seen;
    if (Date.now() > end) throw new Error(`export ${id} still ${r.status} after ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** Nothing of the export's package in the exports root: no folder, no partial one. */
const leftovers = (id: number) =>
  readdirSync(exportsRoot()).filter((n) => n === `export-${id}` || n.startsWith(`.partial-${id}-`));

describe("an export approved through the API", () => {
  it("runs at once: running with progress, then done with a package that verifies; audited as the system", async () => {
    const id = await requestExport();
    expect((await row(id)).status).toBe("requested");
    await approve(id);
    const seen = await until(id, (r) => r.status === "done" || r.status === "failed");
    const done = seen.at(-1) as ExportRecord;
    expect(done.status, done.error ?? "").toBe("done");
    // It was seen running, with progress in bytes stored while it ran.
    const running = seen.filter((r) => r.status === "running");
    expect(running.length).toBeGreaterThan(0);
    const total = 2 * segmentFiles.reduce((n, f) => n + readFileSync(f).length, 0);
    expect(done.progress).toEqual({ bytesDone: total, bytesTotal: total, etaMs: 0 });
    expect(done.packagePath).toBe(`export-${id}`);
    const folder = join(exportsRoot(), done.packagePath as string);
    const fingerprint = daemon.exportProducer?.key().fingerprint as string;
    const report = await verifyPackage(folder, { fingerprint });
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.manifest?.exportId).toBe(id);
    expect(report.manifest?.requestedBy.user).toBe("user:records1");
    expect(report.manifest?.approvedBy.user).toBe("user:commander1");
    expect(done.manifestSha256).toBe(
      createHash("sha256")
        .update(readFileSync(join(folder, "manifest.json")))
        .digest("hex"),
    );
    const onDisk = listFiles(folder).reduce((n, f) => n + statSync(join(folder, f)).size, 0);
    expect(done.packageBytes).toBe(onDisk);
    const entries = await trail(id);
    expect(entries.map((e) => `${e.action} ${e.outcome} ${e.actor}`)).toEqual([
      "export.request success user:records1",
      "export.approve success user:commander1",
      "export.produce.start success system",
      "export.produce success system",
    ]);
    const actual = report.manifest?.cameras[0]?.actual;
    expect(entries[3]?.details).toMatchObject({
      to: "done",
      manifestSha256: done.manifestSha256,
      bytes: done.packageBytes,
      files: report.manifest?.files.length,
      cameras: [{ camera: "cam1", actual: { from: actual?.from.utc, to: actual?.to.utc } }],
    });
  }, 60_000);
});

describe("an export approved by `pscs export approve` in another process", () => {
  it("is picked up by the running pscsd within seconds (the CLI wakes it through the exports root)", async () => {
    const id = await requestExport();
    const approved = await runPscs(
      ["export", "approve", String(id), "-c", d.configFile, "--as", "commander1", "--note", "ok"],
      `${PASSWORD}\n`,
    );
    expect(approved.code, approved.stderr).toBe(0);
    const at = Date.now();
    await until(id, (r) => r.status !== "queued", 5_000);
    console.info(`picked up ${Date.now() - at} ms after the CLI exited`);
    const [done] = (await until(id, (r) => r.status === "done" || r.status === "failed")).slice(-1);
    expect(done?.status, done?.error ?? "").toBe("done");
  }, 60_000);
});

describe("a cancel while the export runs", () => {
  it("stops the production (its ffmpeg killed), ends cancelled with no package, audited; one runs at a time", async () => {
    const id = await requestExport();
    await approve(id);
    const next = await requestExport();
    // The clip's stream copy, caught and paused: the production is running and cannot finish.
    let ff: number | undefined;
    for (let i = 0; i < 2_000 && ff === undefined; i++) {
      ff = ffmpegsUnder(process.pid)[0];
      if (ff === undefined) await sleep(5);
    }
    expect(ff, "the export's ffmpeg").toBeDefined();
    process.kill(ff as number, "SIGSTOP");
    try {
      const running = await row(id);
      expect(running.status).toBe("running");
      // One production at a time: approved now, the next waits queued, and is cancelled before it starts.
      await approve(next);
      await sleep(300);
      expect((await row(next)).status).toBe("queued");
      const early = await commander.request("POST", `/api/exports/${next}/cancel`, { reason: "duplicate" });
      expect(((await early.json()) as ExportRecord).status).toBe("cancelled");
      const res = await records.request("POST", `/api/exports/${id}/cancel`, { reason: "entered in error" });
      expect(res.status, await res.clone().text()).toBe(200);
      expect(((await res.json()) as ExportRecord).status).toBe("cancelled");
      for (let i = 0; i < 500 && !(await trail(id)).some((e) => e.action === "export.produce.cancel"); i++)
        await sleep(20);
      expect((await trail(id)).map((e) => `${e.action} ${e.outcome} ${e.actor}`)).toEqual([
        "export.request success user:records1",
        "export.approve success user:commander1",
        "export.produce.start success system",
        "export.cancel success user:records1",
        "export.produce.cancel success system",
      ]);
      expect(isAlive(ff as number)).toBe(false);
      expect(leftovers(id)).toEqual([]);
      expect((await row(id)).status).toBe("cancelled");
      expect((await trail(next)).map((e) => e.action)).toEqual([
        "export.request",
        "export.approve",
        "export.cancel",
      ]);
    } finally {
      if (isAlive(ff as number)) process.kill(ff as number, "SIGKILL");
    }
  }, 60_000);
});

describe("a production that cannot be done", () => {
  it("fails with the reason when a source segment's bytes changed on disk, leaving no package; `pscs export wait` follows both ways", async () => {
    // A done export, followed from before its approval: exit 0, percent shown (stderr not a TTY: one line each).
    const ok = await requestExport();
    const waiting = runPscs(
      ["export", "wait", String(ok), "-c", d.configFile, "--as", "records1", "--every", "100"],
      `${PASSWORD}\n`,
    );
    await sleep(500);
    await approve(ok);
    const followed = await waiting;
    expect(followed.code, followed.stderr).toBe(0);
    expect(followed.stderr).toMatch(/\] 100% {2}[\d.]+ MiB of [\d.]+ MiB/);
    expect(followed.stdout).toMatch(new RegExp(`export ${ok}  DONE`));

    const changed = segmentFiles[2] as string;
    flipByte(changed);
    try {
      const id = await requestExport();
      const failing = runPscs(
        ["export", "wait", String(id), "-c", d.configFile, "--as", "records1", "--every", "100"],
        `${PASSWORD}\n`,
      );
      await approve(id);
      const [failed] = (await until(id, (r) => r.status === "done" || r.status === "failed")).slice(-1);
      expect(failed?.status).toBe("failed");
      expect(failed?.error).toMatch(/^segment \d+ \(cam1\/.*\) does not match the catalog: SHA-256 /);
      expect(failed?.error).not.toMatch(/\n|at .*\.js/);
      expect(leftovers(id)).toEqual([]);
      const last = (await trail(id)).at(-1);
      expect(last).toMatchObject({
        action: "export.produce",
        outcome: "failure",
        actor: "system",
        details: { to: "failed", reason: failed?.error },
      });
      const out = await failing;
      expect(out.code).toBe(1);
      expect(out.stderr).toContain(`export ${id} failed: segment`);
    } finally {
      flipByte(changed);
    }
  }, 60_000);
});

describe("pscsd whose export key could not be made", () => {
  it("leaves approved exports queued and says in health that exports are off", async () => {
    const off = await daemonDir({}, { exports: { signingKey: join("blocked", "etc", "export.key") } });
    writeFileSync(join(off.dir, "blocked"), "a file where the key's folder should be");
    const offLocal = openLocalCatalog(off.configFile);
    let offDaemon: Pscsd | undefined;
    try {
      await seedUsers(offLocal, { records1: ["records"], commander1: ["commander"] });
      seedFootage(off, segmentFiles.slice(0, 1));
      const offHold = await seedActiveHold(off, 1);
      const token = await offLocal.auth.createToken(
        { name: "monitor", role: "ops" },
        { actor: "local:test", role: "admin", client: "cli" },
      );
      offDaemon = await startInProcess(off);
      expect(offDaemon.exportJobs).toBeUndefined();
      const r = await login(offDaemon.url, "records1");
      const c = await login(offDaemon.url, "commander1");
      const made = await r.request("POST", "/api/exports", exportBody(offHold, 1));
      const { id } = (await made.json()) as { id: number };
      expect((await c.request("POST", `/api/exports/${id}/approve`, { note: "ok" })).status).toBe(200);
      await sleep(500);
      expect((await offLocal.directory.read((x) => x.exports.get(id)))?.status).toBe("queued");
      const health = (await (
        await client(offDaemon.url, { bearer: token.secret }).request("GET", "/api/health")
      ).json()) as { status: string; exports: { on: boolean; detail: string } };
      expect(health.status).toBe("degraded");
      expect(health.exports).toMatchObject({
        on: false,
        detail: expect.stringMatching(/signing key could not be made/),
      });
    } finally {
      await offDaemon?.stop();
      offLocal.close();
      rmSync(off.dir, { recursive: true, force: true });
    }
  }, 60_000);
});
