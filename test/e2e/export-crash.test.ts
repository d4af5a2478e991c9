import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { STOPPED_REASON } from "../../retention/export/jobs.js";
import type { ExportRecord } from "../../src/exports/export.js";
import { verifyPackage } from "../../src/exports/verify.js";
import { createLogger } from "../../src/log/logger.js";
import { isAlive, processesMatching } from "../../src/proc/tree.js";
import {
  cutSegments,
  exportBody,
  ffmpegsUnder,
  seedActiveHold,
  seedFootage,
} from "../helpers/export-footage.js";
import { type Proc, startProc } from "../helpers/process.js";
import {
  daemonDir,
  type LocalCatalog,
  openLocalCatalog,
  seedUsers,
  type TestDaemonDir,
} from "../helpers/pscsd.js";

/**
 * kill -9 of a real pscsd (the built daemon, its own process) while it produces an export, at a few
 * points: with its clip's ffmpeg caught mid-copy, and at random moments after the job was seen running
 * with progress. At the kill no folder named export-<id> exists unless it verifies (it is renamed
 * only once signed); after a restart the export is failed with the reason (or, had the kill come after
 * its done commit, done with its folder), no partial folder is left, and no ffmpeg of the dead pscsd
 * still writes. A graceful stop fails the running export the same way.
 */

const PSCSD = join(import.meta.dirname, "../../dist/src/bin/pscsd.js");
const MINUTES = 6;
const RANDOM_KILLS = 3;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let d: TestDaemonDir;
let local: LocalCatalog;
let hold: number;
const records = { actor: "user:records1", role: "records", client: "test" };
const commander = { actor: "user:commander1", role: "commander", client: "test" };

beforeAll(async () => {
  d = await daemonDir();
  local = openLocalCatalog(d.configFile);
  await seedUsers(local, { records1: ["records"], commander1: ["commander"] });
  seedFootage(d, await cutSegments(MINUTES, "2M"));
  hold = await seedActiveHold(d, MINUTES);
}, 60_000);
afterAll(() => {
  local?.close();
  if (d) rmSync(d.dir, { recursive: true, force: true });
});

const exportsRoot = () => join(d.dir, "exports");
const desk = () => local.retention(createLogger({ name: "test", level: "error" })).exports;
const row = async (id: number) => (await local.directory.read((x) => x.exports.get(id))) as ExportRecord;
const partials = () => readdirSync(exportsRoot()).filter((n) => n.startsWith(".partial-"));

async function startDaemon(): Promise<Proc> {
  const p = startProc(process.execPath, [PSCSD, "--config", d.configFile]);
  await p.waitForLine(/"msg":"pscsd started"/, 20_000);
  return p;
}

/** Requested and approved at the console (which wakes the running pscsd), as `pscs export` does. */
async function queueExport(): Promise<number> {
  const b = exportBody(hold, MINUTES);
  const e = await desk().request(
    { ...b, ranges: b.ranges.map((r) => ({ camera: r.camera, fromMs: r.from, toMs: r.to })) },
    records,
  );
  await desk().approve(e.id, "ok", commander);
  return e.id;
}

async function until(id: number, done: (r: ExportRecord) => boolean, timeoutMs = 20_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await row(id);
    if (done(r)) return r;
    if (Date.now() > end) throw new Error(`export ${id} still ${r.status} after ${timeoutMs} ms`);
    await sleep(10);
  }
}

/** At any instant: a folder named export-<id> is a whole signed package. Returns whether one exists. */
async function noHalfPackage(id: number): Promise<boolean> {
  const folder = join(exportsRoot(), `export-${id}`);
  if (!existsSync(folder)) return false;
  const report = await verifyPackage(folder);
  expect(report.problems, `export-${id} exists and must verify`).toEqual([]);
  return true;
}

/** After a restart: failed as stopped with nothing of it left, or done with its folder. */
async function afterRestart(id: number): Promise<string> {
  const r = await row(id);
  expect(partials()).toEqual([]);
  if (r.status === "done") {
    expect(await noHalfPackage(id)).toBe(true);
    return "done";
  }
  expect(r).toMatchObject({ status: "failed", error: STOPPED_REASON, packagePath: null });
  expect(existsSync(join(exportsRoot(), `export-${id}`))).toBe(false);
  const last = (await local.audit.list({ target: `export:${id}`, order: "desc", limit: 1 }))[0];
  expect(last).toMatchObject({ action: "export.produce", outcome: "failure", actor: "system" });
  return "failed";
}

describe("kill -9 of pscsd during an export", () => {
  it("never leaves a package that looks complete; the restart fails the job and clears what it left", async () => {
    let daemon = await startDaemon();
    const outcomes: string[] = [];
    try {
      // 1. Its clip's ffmpeg caught and paused mid-copy: the kill lands inside the production.
      const first = await queueExport();
      let ff: number | undefined;
      for (let i = 0; i < 4_000 && ff === undefined; i++) {
        ff = ffmpegsUnder(daemon.child.pid as number)[0];
        if (ff === undefined) await sleep(5);
      }
      expect(ff, "the export's ffmpeg").toBeDefined();
      process.kill(ff as number, "SIGSTOP");
      expect((await row(first)).status).toBe("running");
      daemon.child.kill("SIGKILL");
      await daemon.exited;
      expect(await noHalfPackage(first)).toBe(false);
      expect(partials().length).toBe(1);
      daemon = await startDaemon();
      // The restart killed the dead pscsd's ffmpeg before removing the folder it wrote into.
      expect(isAlive(ff as number)).toBe(false);
      outcomes.push(await afterRestart(first));

      // 2. At random moments once the job is seen running with progress.
      for (let k = 0; k < RANDOM_KILLS; k++) {
        const id = await queueExport();
        await until(id, (r) => (r.status === "running" && r.progress !== null) || r.status === "done");
        await sleep(Math.floor(Math.random() * 1_200));
        daemon.child.kill("SIGKILL");
        await daemon.exited;
        await noHalfPackage(id);
        daemon = await startDaemon();
        outcomes.push(await afterRestart(id));
      }

      // 3. A graceful stop while it runs: the production is aborted, the export failed the same way.
      const stopped = await queueExport();
      await until(stopped, (r) => r.status === "running" && r.progress !== null);
      const { code } = await daemon.stop("SIGTERM");
      expect(code).toBe(0);
      const r = await row(stopped);
      if (r.status !== "done") {
        expect(r).toMatchObject({ status: "failed", error: STOPPED_REASON });
        expect(partials()).toEqual([]);
        expect(existsSync(join(exportsRoot(), `export-${stopped}`))).toBe(false);
      }
      outcomes.push(`stop: ${r.status}`);
      console.info(`outcomes: ${outcomes.join(", ")}`);
      expect(outcomes[0]).toBe("failed");
    } finally {
      await daemon.stop("SIGKILL");
      for (const pid of processesMatching("ffmpeg", d.dir)) process.kill(pid, "SIGKILL");
    }
  }, 90_000);
});
