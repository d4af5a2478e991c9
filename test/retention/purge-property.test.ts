import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { EvidenceTree } from "../../retention/evidence.js";
import { HoldService } from "../../retention/holds.js";
import { Purger } from "../../retention/purger.js";
import { AuditLog } from "../../src/audit/log.js";
import { type Db, openCatalog } from "../../src/catalog/catalog.js";
import { SqliteDirectory } from "../../src/catalog/directory/sqlite.js";
import { CoverageCatalog } from "../../src/catalog/footage/coverage.js";
import { ServiceError } from "../../src/errors/service-error.js";
import { createLogger } from "../../src/log/logger.js";

/**
 * Generated histories of recorded segments, hold requests, approvals, releases, clock advances,
 * purges and purges under disk pressure, run against the real purger, hold service and evidence tree
 * on a real SQLite catalog and real files. After every purge the model (not the catalog) says what
 * must and must not be gone.
 */

const DAY = 86_400_000;
const RETENTION_DAYS = 30;
const RUNS = Number(process.env.PSCS_PROPERTY_RUNS ?? 5_000);
const CAMERAS = ["cam1", "cam2"] as const;
const PDF = Buffer.from("%PDF-1.4\n% signed hold request form\n");
const BY = { actor: "records1", role: "records", client: "test" };
const CMD = { actor: "commander1", role: "commander", client: "test" };
const base = process.env.PSCS_PROPERTY_DIR ?? (existsSync("/dev/shm") ? "/dev/shm" : undefined);
const work = mkdtempSync(join(base ?? "/tmp", "pscs-prop-"));
const quiet = createLogger({ name: "prop", destination: new Writable({ write: (_c, _e, cb) => cb() }) });
afterAll(() => rmSync(work, { recursive: true, force: true }));

type Op =
  | { op: "segment"; camera: 0 | 1; seconds: number; skip: number }
  | { op: "advance"; ms: number }
  | { op: "request"; camera: 0 | 1; back: number; length: number; approve: boolean }
  | { op: "release"; pick: number }
  | { op: "purge" }
  | { op: "pressure"; batches: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant("segment" as const),
      camera: fc.constantFrom(0 as const, 1 as const),
      seconds: fc.integer({ min: 1, max: 600 }),
      skip: fc.integer({ min: 0, max: 3_600 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("advance" as const),
      ms: fc.oneof(fc.integer({ min: 0, max: 2 * DAY }), fc.integer({ min: 25 * DAY, max: 35 * DAY })),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("request" as const),
      camera: fc.constantFrom(0 as const, 1 as const),
      back: fc.integer({ min: 0, max: 40 * DAY }),
      length: fc.integer({ min: 1, max: 3 * DAY }),
      approve: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("release" as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("purge" as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant("pressure" as const), batches: fc.integer({ min: 1, max: 3 }) }),
  },
);

interface ModelSegment {
  id: number;
  camera: string;
  startMs: number;
  endMs: number;
  path: string;
}
interface ModelHold {
  id: number;
  camera: string;
  fromMs: number;
  toMs: number;
  status: "requested" | "active" | "released";
}

let historyNo = 0;

async function runHistory(ops: Op[]): Promise<void> {
  const dir = join(work, String(historyNo++));
  const rec = join(dir, "rec");
  mkdirSync(rec, { recursive: true });
  const db: Db = openCatalog(":memory:");
  let now = Date.UTC(2026, 0, 1);
  const clock = () => now;
  const directory = new SqliteDirectory(db);
  const audit = new AuditLog(directory, { now: clock });
  const evidence = new EvidenceTree({
    directory,
    db,
    recordingsRoot: rec,
    root: join(dir, "ev"),
    now: clock,
  });
  mkdirSync(evidence.root, { recursive: true });
  const holds = new HoldService({
    directory,
    footage: new CoverageCatalog(db),
    audit,
    evidence,
    cameras: new Set(CAMERAS),
    log: quiet,
    now: clock,
  });
  let pressureCalls = 0;
  const floor = 1_000_000;
  const purger = new Purger({
    db,
    directory,
    recordingsRoot: rec,
    retentionDays: RETENTION_DAYS,
    audit,
    log: quiet,
    evidence,
    batchSize: 3,
    now: clock,
    // Free space is short for as many measurements as the op says, then fine.
    pressure: {
      floorBytes: floor,
      action: "purge_oldest",
      freeBytes: async () => (pressureCalls-- > 0 ? 0 : floor),
    },
  });
  const segments: ModelSegment[] = [];
  const modelHolds: ModelHold[] = [];
  const lastEnd = new Map<string, number>();
  const insert = db.prepare(
    `INSERT INTO segments (camera, start_ms, end_ms, path, bytes, sha256, state, run, created_at)
     VALUES (?, ?, ?, ?, ?, ?, 'complete', 'prop', ?)`,
  );
  const protects = (s: ModelSegment) =>
    modelHolds.some(
      (h) => h.status !== "released" && h.camera === s.camera && h.fromMs < s.endMs && h.toMs > s.startMs,
    );
  const gone = (s: ModelSegment) => !existsSync(join(rec, s.path));
  try {
    for (const o of ops) {
      switch (o.op) {
        case "segment": {
          const camera = CAMERAS[o.camera];
          const startMs = Math.max(lastEnd.get(camera) ?? 0, now + o.skip * 1000);
          const endMs = startMs + o.seconds * 1000;
          now = Math.max(now, endMs);
          const path = `${camera}/${startMs}.ts`;
          mkdirSync(join(rec, camera), { recursive: true });
          writeFileSync(join(rec, path), `${camera}:${startMs}`);
          const id = Number(insert.run(camera, startMs, endMs, path, 16, "00", now).lastInsertRowid);
          segments.push({ id, camera, startMs, endMs, path });
          lastEnd.set(camera, endMs);
          break;
        }
        case "advance":
          now += o.ms;
          break;
        case "request": {
          const camera = CAMERAS[o.camera];
          const fromMs = now - o.back;
          const toMs = Math.min(fromMs + o.length, now + DAY);
          try {
            const h = await holds.request(
              {
                formNumber: "PSCS-1",
                receivedOn: "2026-01-01",
                requestedBy: "Det. Example",
                agency: "NPD",
                caseNumber: "26-0001",
                legalBasis: "criminal",
                reason: "property test",
                ranges: [{ camera, fromMs, toMs }],
                form: PDF,
              },
              BY,
            );
            const m: ModelHold = { id: h.id, camera, fromMs, toMs, status: "requested" };
            modelHolds.push(m);
            // Refused requests name what is left: nothing on disk in that range.
          } catch (e) {
            if (!(e instanceof ServiceError)) throw e;
            const present = segments.some(
              (s) => s.camera === camera && s.startMs < toMs && s.endMs > fromMs && !gone(s),
            );
            expect(present, `request refused (${e.message}) though footage is there`).toBe(false);
            break;
          }
          const m = modelHolds.at(-1) as ModelHold;
          if (o.approve) {
            await holds.approve(m.id, "approved", CMD);
            m.status = "active";
          }
          break;
        }
        case "release": {
          const active = modelHolds.filter((h) => h.status === "active");
          const h = active[o.pick % Math.max(1, active.length)];
          if (!h) break;
          await holds.release(h.id, "case closed", CMD);
          h.status = "released";
          break;
        }
        case "purge":
        case "pressure": {
          pressureCalls = o.op === "pressure" ? o.batches : 0;
          const cutoff = now - RETENTION_DAYS * DAY;
          // A request may name a range whose older part is already gone: that part it cannot save.
          const goneBefore = new Set(segments.filter(gone).map((s) => s.id));
          await purger.run("manual", CMD);
          const log = db
            .prepare<[], { segment: number; reason: string }>("SELECT segment, reason FROM destruction_log")
            .all();
          const logged = new Map(log.map((r) => [r.segment, r.reason]));
          for (const s of segments) {
            const held = protects(s);
            // A segment covered by a pending request or active hold is never destroyed.
            if (held && !goneBefore.has(s.id)) expect(gone(s), `held segment ${s.id} destroyed`).toBe(false);
            // An unheld segment older than the retention period is destroyed at this run.
            if (!held && s.endMs <= cutoff) expect(gone(s), `expired segment ${s.id} kept`).toBe(true);
            // Nothing younger goes, unless disk pressure destroyed it (and then never the last hour).
            if (s.endMs > cutoff && gone(s)) {
              expect(logged.get(s.id), `young segment ${s.id} destroyed for age`).toBe("disk_pressure");
              expect(s.endMs).toBeLessThanOrEqual(now - 3_600_000);
            }
            // The destruction log matches the files gone, and the catalog agrees with both.
            expect(logged.has(s.id), `segment ${s.id}: log vs disk`).toBe(gone(s));
          }
          const states = db
            .prepare<[], { n: number }>(
              "SELECT count(*) n FROM segments WHERE state IN ('purging', 'purged')",
            )
            .get();
          expect(states?.n).toBe(log.length);
          // Every active hold's footage is in its evidence tree.
          for (const h of modelHolds.filter((x) => x.status === "active")) {
            const files = db
              .prepare<[number], { file: string }>("SELECT file FROM hold_segments WHERE hold = ?")
              .all(h.id);
            // (Footage destroyed before the request was entered cannot be in it.)
            const covered = segments.filter(
              (s) => s.camera === h.camera && s.startMs < h.toMs && s.endMs > h.fromMs && !gone(s),
            ).length;
            expect(files.length).toBe(covered);
            for (const f of files) expect(existsSync(join(evidence.root, f.file))).toBe(true);
          }
          break;
        }
      }
    }
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("retention property", () => {
  it(`holds over ${RUNS} generated histories`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 24 }), (ops) => runHistory(ops)),
      // A failure prints its seed and path: PSCS_PROPERTY_SEED=… PSCS_PROPERTY_PATH=… replays it.
      {
        numRuns: RUNS,
        ...(process.env.PSCS_PROPERTY_SEED ? { seed: Number(process.env.PSCS_PROPERTY_SEED) } : {}),
        ...(process.env.PSCS_PROPERTY_PATH ? { path: process.env.PSCS_PROPERTY_PATH } : {}),
      },
    );
  }, 900_000);
});
