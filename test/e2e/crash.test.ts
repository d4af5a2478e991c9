import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Simulator } from "../../sim/simulator.js";
import { seededRandom } from "../../src/audit/sample.js";
import { processesMatching } from "../../src/proc/tree.js";
import { writeDaemonConfig } from "../helpers/config.js";
import { freePort } from "../helpers/ports.js";
import { descendants, type Proc, startProc } from "../helpers/process.js";
import { simCameraConfigs, startTestCameras } from "../helpers/sim.js";

/**
 * kill -9 of pscsd at random moments while it records, then restart: the catalog and the disk agree,
 * no ffmpeg is left orphaned, and nothing closed before the kill is lost. `npm run soak` runs 100.
 */
// `npm test` runs 8 (the 15-minute budget); `npm run soak` runs 100.
const TRIALS = Number(process.env.PSCS_CRASH_TRIALS ?? 8);
const SEED = process.env.PSCS_CRASH_SEED ?? String(Date.now());
const PSCSD = join(import.meta.dirname, "../../dist/src/bin/pscsd.js");
const PASSWORD = "Crash-Test-2026!";

let sim: Simulator;
const dir = mkdtempSync(join(tmpdir(), "pscs-crash-"));
const rec = join(dir, "rec");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  sim = await startTestCameras(dir, { user: "recorder", password: PASSWORD, fps: 10 });
});
afterAll(() => sim?.stop());

interface Row {
  id: number;
  camera: string;
  path: string;
  state: string;
  bytes: number | null;
  sha256: string | null;
  created_at: number;
}
const rows = (): Row[] => {
  const db = new Database(join(dir, "catalog.db"), { readonly: true });
  try {
    return db
      .prepare("SELECT id, camera, path, state, bytes, sha256, created_at FROM segments")
      .all() as Row[];
  } finally {
    db.close();
  }
};

function treeFiles(): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name.startsWith(".")) continue; // .incoming (being written), .damaged (set aside)
      if (e.isDirectory()) walk(join(d, e.name));
      else out.push(relative(rec, join(d, e.name)));
    }
  };
  walk(rec);
  return out;
}

const sha = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");

/** Everything that must hold after a restart; empty when it does. */
function problems(daemon: Proc, before: Row[], restartedAt: number, hashAll: boolean): string[] {
  const out: string[] = [];
  const now = rows();
  const byPath = new Map(now.map((r) => [r.path, r]));
  for (const r of now) {
    if (r.state === "complete") {
      let size = -1;
      try {
        size = statSync(join(rec, r.path)).size;
      } catch {
        out.push(`row ${r.id} complete but ${r.path} is gone`);
        continue;
      }
      if (size !== r.bytes) out.push(`row ${r.id}: ${size} bytes on disk, ${r.bytes} in the row`);
      if (hashAll && sha(join(rec, r.path)) !== r.sha256) out.push(`row ${r.id}: hash differs`);
    } else if (r.state === "recording" && r.created_at < restartedAt) {
      out.push(`row ${r.id} still 'recording' from before the crash (${r.path})`);
    } else if (r.state === "missing") out.push(`row ${r.id} missing (${r.path})`);
  }
  for (const f of treeFiles()) if (!byPath.has(f)) out.push(`file ${f} has no row`);
  for (const r of before) {
    const after = now.find((x) => x.id === r.id);
    if (after?.state !== "complete" || after.sha256 !== r.sha256)
      out.push(`segment ${r.path} closed before the kill was lost`);
  }
  const mine = new Set(descendants(daemon.child.pid as number));
  for (const pid of processesMatching("ffmpeg", `${rec}/`))
    if (!mine.has(pid)) out.push(`orphan ffmpeg ${pid}`);
  return out;
}

async function settled(daemon: Proc, before: Row[], restartedAt: number, hashAll = false): Promise<string[]> {
  // A segment being finished right now is between rename and row for a moment: look again.
  let p: string[] = [];
  for (let i = 0; i < 4; i++) {
    p = problems(daemon, before, restartedAt, hashAll);
    if (!p.length) return p;
    await sleep(400);
  }
  return p;
}

describe("crash consistency", () => {
  it(
    `${TRIALS} × kill -9 at a random moment while recording, then restart (seed ${SEED})`,
    async () => {
      writeFileSync(join(dir, "cam.pw"), `${PASSWORD}\n`);
      const cfg = writeDaemonConfig(dir, {
        httpPort: await freePort(),
        onvif: { heartbeatSeconds: 5, requestTimeoutSeconds: 2 },
        cameras: simCameraConfigs(sim),
        extra: { recording: { segmentSeconds: 2, stallSeconds: 5 } },
      });
      const start = async () => {
        const p = startProc(process.execPath, [PSCSD, "--config", cfg]);
        await p.waitForLine(/"msg":"pscsd started"/, 30_000);
        return p;
      };
      const random = seededRandom(SEED);
      let startedAt = Date.now();
      let daemon = await start();
      const failures: string[] = [];
      let killedWhileWriting = 0;
      let stopCode: number | null = null;
      try {
        // Both cameras under way before the first kill.
        for (
          let i = 0;
          i < 80 &&
          new Set(
            rows()
              .filter((r) => r.state === "complete")
              .map((r) => r.camera),
          ).size < 2;
          i++
        )
          await sleep(250);
        for (let trial = 1; trial <= TRIALS; trial++) {
          // Recording again (a segment open since this daemon started), then a random moment within
          // the next segment or so: kills land mid-segment, at any point of the write protocol.
          for (
            let i = 0;
            i < 120 && !rows().some((r) => r.state === "recording" && r.created_at >= startedAt);
            i++
          ) {
            await sleep(250);
          }
          await sleep(random() % 3_000);
          const before = rows().filter((r) => r.state === "complete");
          if (rows().some((r) => r.state === "recording")) killedWhileWriting++;
          daemon.child.kill("SIGKILL");
          await daemon.exited;
          const restartedAt = Date.now();
          startedAt = restartedAt;
          daemon = await start();
          const p = await settled(daemon, before, restartedAt);
          if (p.length) failures.push(`trial ${trial}: ${p.join("; ")}`);
        }
      } finally {
        // Stopped right after a restart, while its recorders are still starting ffmpeg (checked
        // below, so that an error thrown by a trial is the one reported).
        stopCode = (await daemon.stop("SIGTERM", 15_000)).code;
      }
      expect(stopCode).toBe(0);
      expect(failures).toEqual([]);
      // The kills landed mid-segment, not only between segments.
      expect(killedWhileWriting).toBeGreaterThanOrEqual(TRIALS * 0.8);
      // After a clean stop, everything agrees, hashes included.
      expect(await settled(daemon, [], Date.now() + 1, true)).toEqual([]);
      expect(rows().filter((r) => r.state !== "complete")).toEqual([]);
      const audit = new Database(join(dir, "catalog.db"), { readonly: true });
      const reconciled = audit
        .prepare("SELECT count(*) n FROM audit_log WHERE action = 'segment.reconcile'")
        .get() as { n: number };
      audit.close();
      expect(reconciled.n).toBeGreaterThan(0);
    },
    Math.max(600_000, TRIALS * 15_000),
  );
});
