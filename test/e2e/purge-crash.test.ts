import { spawn } from "node:child_process";
import { createHash, randomInt } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { segmentPath } from "../../src/footage/layout.js";
import { daemonDir, openLocalCatalog, PASSWORD, seedUsers } from "../helpers/pscsd.js";

/**
 * kill -9 of `pscs purge --now` at random moments of its run, then a second run: catalog, disk and
 * destruction log agree at the moment of the kill (every row is complete with its file, marked, or
 * destroyed with its log entry) and after the second run (nothing marked, nothing expired left).
 */

const PSCS = join(import.meta.dirname, "../../dist/src/bin/pscs.js");
// `npm test` runs 12 (the 15-minute budget); `npm run soak` runs 50.
const TRIALS = Number(process.env.PSCS_PURGE_CRASH_TRIALS ?? 8);
const SEGMENTS = 3_000;
const HELD_EVERY = 10; // every 10th segment lies inside an approved hold's range
const DAY = 86_400_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Row {
  id: number;
  path: string;
  state: string;
  start_ms: number;
}

async function fixture() {
  // Small batches: a run is many mark → unlink → record cycles, each a place to be killed in.
  const d = await daemonDir({}, { retention: { purgeBatchSize: 250 } });
  const local = openLocalCatalog(d.configFile);
  await seedUsers(local, { commander1: ["commander"] });
  const base = Date.now() - 40 * DAY;
  const insert = local.db.prepare(
    `INSERT INTO segments (camera, start_ms, end_ms, path, bytes, sha256, state, run, created_at)
     VALUES ('cam1', ?, ?, ?, ?, ?, 'complete', 'fixture', ?)`,
  );
  const held: number[] = [];
  local.db.transaction(() => {
    for (let i = 0; i < SEGMENTS; i++) {
      const start = base + i * 60_000;
      const rel = segmentPath("cam1", start);
      mkdirSync(join(d.dir, "rec", rel, ".."), { recursive: true });
      const data = Buffer.from(`segment ${i}\n`);
      writeFileSync(join(d.dir, "rec", rel), data);
      insert.run(
        start,
        start + 60_000,
        rel,
        data.length,
        createHash("sha256").update(data).digest("hex"),
        start,
      );
      if (i % HELD_EVERY === 0) held.push(start);
    }
    // Approved holds, written as the hold service would leave them (its own tests cover the service).
    const hold = local.db.prepare(
      `INSERT INTO holds (form_number, received_on, requested_by, agency, case_number, legal_basis, reason,
         form_path, form_sha256, form_type, form_bytes, entered_by, entered_at, status, decided_by, decided_at)
       VALUES ('F', '2026-01-01', 'x', 'x', 'c', 'criminal', 'r', 'forms/x.pdf', 'x', 'application/pdf', 1, 'x', 0, 'active', 'y', 0)`,
    );
    const range = local.db.prepare(
      "INSERT INTO hold_ranges (hold, camera, start_ms, end_ms) VALUES (?, 'cam1', ?, ?)",
    );
    for (const start of held) range.run(Number(hold.run().lastInsertRowid), start + 1_000, start + 2_000);
  })();
  local.close();
  return { d, held: new Set(held) };
}

function purge(configFile: string) {
  const child = spawn(process.execPath, [PSCS, "purge", "--now", "--as", "commander1", "-c", configFile], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  child.stdin.end(`${PASSWORD}\n`);
  let out = "";
  child.stdout.on("data", (b: Buffer) => {
    out += b.toString();
  });
  child.stderr.on("data", (b: Buffer) => {
    out += b.toString();
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, exited, output: () => out };
}

/** The protocol's invariant, true at any instant: returns what breaks it. */
function check(
  catalog: string,
  rec: string,
  held: ReadonlySet<number>,
): { problems: string[]; states: Map<string, number> } {
  const db = new Database(catalog, { readonly: true });
  try {
    const rows = db.prepare("SELECT id, path, state, start_ms FROM segments").all() as Row[];
    const logged = new Set(
      (db.prepare("SELECT segment FROM destruction_log").all() as { segment: number }[]).map(
        (r) => r.segment,
      ),
    );
    const marked = new Set(
      (db.prepare("SELECT segment FROM purge_marks").all() as { segment: number }[]).map((r) => r.segment),
    );
    const problems: string[] = [];
    const states = new Map<string, number>();
    for (const r of rows) {
      states.set(r.state, (states.get(r.state) ?? 0) + 1);
      const there = existsSync(join(rec, r.path));
      if (r.state === "complete" && !there) problems.push(`${r.id}: complete, file gone`);
      if (r.state === "purged" && (there || !logged.has(r.id)))
        problems.push(`${r.id}: purged, file ${there ? "still there" : "gone"}, logged ${logged.has(r.id)}`);
      if (r.state === "purging" && !marked.has(r.id)) problems.push(`${r.id}: purging without a mark`);
      if (r.state !== "purged" && logged.has(r.id))
        problems.push(`${r.id}: logged as destroyed but ${r.state}`);
      if (held.has(r.start_ms) && r.state !== "complete") problems.push(`${r.id}: held, but ${r.state}`);
    }
    return { problems, states };
  } finally {
    db.close();
  }
}

describe("crash during purge", () => {
  it(`${TRIALS} × kill -9 of a purging pscs at a random moment, then a second run`, async () => {
    // One undisturbed run first: how long a run takes here, so the kills can be spread over it.
    const calibration = await fixture();
    await purge(calibration.d.configFile).exited;
    const cal = new Database(join(calibration.d.dir, "catalog.db"), { readonly: true });
    const { ms } = cal.prepare("SELECT finished_at - started_at ms FROM purge_runs").get() as { ms: number };
    cal.close();
    const failures: string[] = [];
    let midRun = 0;
    const atKills: number[] = [];
    for (let trial = 1; trial <= TRIALS; trial++) {
      const { d, held } = await fixture();
      const catalog = join(d.dir, "catalog.db");
      const rec = join(d.dir, "rec");
      // Odd trials are killed at a random time after the run's start (evidence linking comes first).
      // Even ones wait until a random number of segments are marked or destroyed, then die at once:
      // the destroying is a short share of a run and its length varies with the machine's load, so
      // a kill timed by the clock alone too often landed after it was over (CI: 6 of 20 mid-run).
      const started = trial % 2 === 1;
      const target = randomInt(1, Math.floor((SEGMENTS - held.size) * 0.8));
      const poll = () => {
        const db = new Database(catalog, { readonly: true });
        try {
          const sql = started
            ? "SELECT count(*) n FROM purge_runs"
            : "SELECT count(*) n FROM segments WHERE state IN ('purging', 'purged')";
          return (db.prepare(sql).get() as { n: number }).n;
        } finally {
          db.close();
        }
      };
      const p = purge(d.configFile);
      const until = Date.now() + 20_000;
      const reached = () => (started ? poll() > 0 : poll() >= target);
      while (!reached() && Date.now() < until && p.child.exitCode === null) await sleep(started ? 1 : 0);
      if (started) await sleep(randomInt(0, Math.max(2, ms)));
      p.child.kill("SIGKILL");
      const { signal } = await p.exited;
      const atKill = check(catalog, rec, held);
      const destroyed = atKill.states.get("purged") ?? 0;
      atKills.push(destroyed);
      const marked = atKill.states.get("purging") ?? 0;
      if (signal === "SIGKILL" && (marked > 0 || (destroyed > 0 && destroyed < SEGMENTS - held.size)))
        midRun++;
      if (atKill.problems.length)
        failures.push(`trial ${trial} at the kill: ${atKill.problems.slice(0, 5).join("; ")}`);

      const second = purge(d.configFile);
      const { code } = await second.exited;
      if (code !== 0) failures.push(`trial ${trial}: second run exited ${code}: ${second.output()}`);
      const after = check(catalog, rec, held);
      if (after.problems.length)
        failures.push(`trial ${trial} after restart: ${after.problems.slice(0, 5).join("; ")}`);
      if ((after.states.get("purged") ?? 0) !== SEGMENTS - held.size || after.states.get("purging")) {
        failures.push(`trial ${trial}: after restart ${JSON.stringify([...after.states])}`);
      }
    }
    console.log(
      `a run takes ${ms} ms; ${midRun} of ${TRIALS} kills mid-destroying; destroyed of ${SEGMENTS - SEGMENTS / HELD_EVERY} when killed: ${atKills.join(" ")}`,
    );
    expect(failures).toEqual([]);
    // The kills must land inside the destroying, or the test shows nothing.
    expect(midRun).toBeGreaterThanOrEqual(Math.ceil(TRIALS / 3));
  }, 600_000);
});
