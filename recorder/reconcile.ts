import { mkdir, readdir, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { SegmentRow, Segments } from "../src/catalog/footage/segments.js";
import { incomingDir, SEGMENT_EXT, segmentPath } from "../src/footage/layout.js";
import { probeSegment } from "../src/footage/probe.js";
import type { Logger } from "../src/log/logger.js";
import { isAlive, processesMatching } from "../src/proc/tree.js";
import { sha256File } from "../src/storage/durable.js";
import { finishSegment } from "./segment-writer.js";

/**
 * Makes the catalog agree with the disk after a crash, and keeps checking that it does.
 * Invariant: after startup() no row is 'recording' but those of runs being written, every file in a
 * camera's tree has a row, and a row whose file is gone is 'missing' (reported, never silently
 * dropped). Files are only ever moved into the tree or set aside, never deleted, except empty ones.
 */

export interface ReconcileReport {
  recovered: string[];
  missing: SegmentRow[];
  damaged: string[];
  discarded: number;
  orphansKilled: number;
}

export interface ReconcilerOptions {
  root: string;
  cameras: readonly string[];
  store: Segments;
  log: Logger;
  ffprobePath?: string;
  /** Runs whose ffmpeg is alive now: their rows and files are not a crash's leftovers. */
  activeRuns?: () => ReadonlySet<string>;
  /** How far back startup looks for finished files without rows and rows without files. */
  recentMs?: number;
  now?: () => number;
}

const NAME_TIME = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)\.(\d{3})Z\.ts$/;

/** The start time a finished segment's file name records. */
export function startFromName(name: string): number | undefined {
  const m = NAME_TIME.exec(name);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, ms] = m.map(Number) as number[];
  return Date.UTC(y as number, (mo as number) - 1, d, h, mi, s, ms);
}

const exists = (p: string) =>
  stat(p).then(
    () => true,
    (e: NodeJS.ErrnoException) => {
      if (e.code === "ENOENT") return false;
      throw e;
    },
  );

async function listDir(p: string): Promise<string[]> {
  try {
    return await readdir(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
}

export class Reconciler {
  private sweepCursor = 0;
  private readonly now: () => number;

  constructor(private readonly o: ReconcilerOptions) {
    this.now = o.now ?? Date.now;
  }

  private empty(): ReconcileReport {
    return { recovered: [], missing: [], damaged: [], discarded: 0, orphansKilled: 0 };
  }

  /** Before recording starts: orphaned ffmpegs, unfinished rows, files without rows, rows without files. */
  async startup(): Promise<ReconcileReport> {
    const report = this.empty();
    report.orphansKilled = await this.killOrphans();
    const active = this.o.activeRuns?.() ?? new Set<string>();
    for (const camera of this.o.cameras) {
      for (const row of this.o.store.unfinished(camera, active)) await this.finishUnfinished(row, report);
      await this.adoptIncoming(camera, active, report);
      await this.adoptTreeFiles(camera, report);
      await this.checkRows(
        this.o.store.completeSince(camera, this.now() - (this.o.recentMs ?? 3 * 3_600_000)),
        report,
      );
    }
    this.log(report, "startup");
    return report;
  }

  /** One batch of the rolling check that every complete row still has its file. */
  async sweep(batch = 5_000): Promise<ReconcileReport> {
    const report = this.empty();
    const rows = this.o.store.completePathsAfter(this.sweepCursor, batch);
    this.sweepCursor = rows.length < batch ? 0 : (rows.at(-1)?.id ?? 0);
    await this.checkRows(rows, report);
    this.log(report, "sweep");
    return report;
  }

  private log(r: ReconcileReport, pass: string): void {
    const counts = {
      recovered: r.recovered.length,
      missing: r.missing.length,
      damaged: r.damaged.length,
      discarded: r.discarded,
      orphansKilled: r.orphansKilled,
    };
    if (r.missing.length || r.damaged.length)
      this.o.log.error(
        { pass, ...counts, missing: r.missing.map((m) => m.path) },
        "recordings missing or damaged",
      );
    else if (counts.recovered || counts.discarded || counts.orphansKilled)
      this.o.log.warn({ pass, ...counts }, "reconciled recordings");
  }

  /**
   * ffmpegs left writing into our directories by a pscsd that died (kill -9 leaves its children
   * running until their next write to the closed segment-list pipe): stop them before their files
   * are touched.
   */
  private async killOrphans(): Promise<number> {
    const pids = this.o.cameras.flatMap((c) =>
      processesMatching("ffmpeg", `${join(this.o.root, incomingDir(c))}/`),
    );
    for (const pid of pids) process.kill(pid, "SIGKILL");
    for (let i = 0; i < 50 && pids.some(isAlive); i++) await new Promise((r) => setTimeout(r, 20));
    return pids.length;
  }

  private async finishUnfinished(row: SegmentRow, report: ReconcileReport): Promise<void> {
    const file = join(this.o.root, row.path);
    if (await exists(file)) {
      const { size } = await stat(file);
      if (size === 0) {
        this.o.store.discard(row.id);
        await unlink(file);
        report.discarded++;
        return;
      }
      const probed = await probeSegment(file, this.o.ffprobePath);
      if (!probed) return this.setAside(row.camera, row.path, row, report);
      const to = segmentPath(row.camera, row.startMs);
      const { bytes, sha256 } = await finishSegment(this.o.root, row.path, to);
      this.o.store.complete(row.id, {
        startMs: row.startMs,
        endMs: row.startMs + probed.durationMs,
        path: to,
        bytes,
        sha256,
        ...probed,
      });
      this.o.store.markRecovered(row.id);
      report.recovered.push(to);
      return;
    }
    // Renamed into the tree before the crash, row not yet updated: find it there by its start.
    const dir = dirname(join(this.o.root, segmentPath(row.camera, row.startMs)));
    for (const d of [dir, join(dirname(dir), String(Number(basename(dir)) - 1).padStart(2, "0"))]) {
      for (const name of await listDir(d)) {
        const start = startFromName(name);
        const rel = join(d.slice(this.o.root.length + 1), name);
        if (start === undefined || Math.abs(start - row.startMs) > 3_000 || this.o.store.hasPath(rel))
          continue;
        const probed = await probeSegment(join(d, name), this.o.ffprobePath);
        const { size } = await stat(join(d, name));
        this.o.store.complete(row.id, {
          startMs: start,
          endMs: start + (probed?.durationMs ?? 0),
          path: rel,
          bytes: size,
          sha256: await sha256File(join(d, name)),
          ...probed,
        });
        this.o.store.markRecovered(row.id);
        report.recovered.push(rel);
        return;
      }
    }
    this.o.store.markMissing(row.id);
    report.missing.push(row);
  }

  /** Files in .incoming/ no row names (ffmpeg opened the next segment just before the crash). */
  private async adoptIncoming(
    camera: string,
    active: ReadonlySet<string>,
    report: ReconcileReport,
  ): Promise<void> {
    const dir = incomingDir(camera);
    for (const name of await listDir(join(this.o.root, dir))) {
      const rel = join(dir, name);
      if (
        !name.endsWith(`.${SEGMENT_EXT}`) ||
        active.has(name.split("-")[0] as string) ||
        this.o.store.hasPath(rel)
      )
        continue;
      const file = join(this.o.root, rel);
      const st = await stat(file);
      if (st.size === 0) {
        await unlink(file);
        report.discarded++;
        continue;
      }
      const probed = await probeSegment(file, this.o.ffprobePath);
      if (!probed) {
        await this.setAside(camera, rel, undefined, report);
        continue;
      }
      // No row, so no recorded start: the file's last write is its end.
      const endMs = Math.round(st.mtimeMs);
      const startMs = endMs - probed.durationMs;
      const to = segmentPath(camera, startMs);
      const { bytes, sha256 } = await finishSegment(this.o.root, rel, to);
      this.o.store.insertRecovered({ camera, startMs, endMs, path: to, bytes, sha256, ...probed });
      report.recovered.push(to);
    }
  }

  /** Finished files in the recent part of the tree that no row names. */
  private async adoptTreeFiles(camera: string, report: ReconcileReport): Promise<void> {
    const since = this.now() - (this.o.recentMs ?? 3 * 3_600_000);
    const hours = new Set<string>();
    for (let t = since; t <= this.now() + 3_600_000; t += 3_600_000)
      hours.add(dirname(segmentPath(camera, t)));
    for (const hourDir of hours) {
      for (const name of await listDir(join(this.o.root, hourDir))) {
        const rel = join(hourDir, name);
        const startMs = startFromName(name);
        if (startMs === undefined || this.o.store.hasPath(rel)) continue;
        const file = join(this.o.root, rel);
        const probed = await probeSegment(file, this.o.ffprobePath);
        if (!probed) {
          await this.setAside(camera, rel, undefined, report);
          continue;
        }
        const { size } = await stat(file);
        this.o.store.insertRecovered({
          camera,
          startMs,
          endMs: startMs + probed.durationMs,
          path: rel,
          bytes: size,
          sha256: await sha256File(file),
          ...probed,
        });
        report.recovered.push(rel);
      }
    }
  }

  /**
   * Rows whose file is gone become missing. One listing per directory (an hour of one camera), not a
   * stat per row: the sweep checks 5,000 rows a minute all day, and a stat each (with whole rows)
   * cost 115 ms of CPU per sweep, half of what recording 16 cameras costs pscsd; listings (with
   * only each row's id and path) cost 10 ms.
   */
  private async checkRows(
    rows: readonly { id: number; path: string }[],
    report: ReconcileReport,
  ): Promise<void> {
    const byDir = new Map<string, { id: number; path: string }[]>();
    for (const row of rows) {
      const dir = dirname(row.path);
      const inDir = byDir.get(dir);
      if (inDir) inDir.push(row);
      else byDir.set(dir, [row]);
    }
    for (const [dir, inDir] of byDir) {
      const names = new Set(await listDir(join(this.o.root, dir)));
      for (const row of inDir) {
        if (names.has(basename(row.path))) continue;
        // Purged since the batch was read (the purger marks, then unlinks): gone on purpose.
        const whole = this.o.store.get(row.id);
        if (whole?.state !== "complete") continue;
        this.o.store.markMissing(row.id);
        report.missing.push(whole);
      }
    }
  }

  /** A file with no readable video: kept (it may matter to someone) under .damaged/, never indexed as footage. */
  private async setAside(
    camera: string,
    rel: string,
    row: SegmentRow | undefined,
    report: ReconcileReport,
  ): Promise<void> {
    const to = join(this.o.root, camera, ".damaged", basename(rel));
    await mkdir(dirname(to), { recursive: true });
    await rename(join(this.o.root, rel), to);
    if (row) {
      this.o.store.markMissing(row.id);
      report.missing.push(row);
    }
    report.damaged.push(rel);
  }
}
