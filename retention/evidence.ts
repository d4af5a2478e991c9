import { copyFile, link, mkdir, readdir, rm, stat, unlink } from "node:fs/promises";
import { basename, join } from "node:path";
import { type Db, type Prepare, statementCache } from "../src/catalog/catalog.js";
import { fsyncPath, sha256File, writeFileAtomic } from "../src/storage/durable.js";

/**
 * The evidence tree: every segment an active hold covers gets its own name under
 * `evidence/<hold>/<camera>/`, a hard link (same volume) or a copy, plus a manifest of hashes.
 * Invariant: a hold_segments row is written only after its file is durable in the evidence tree, so
 * the rolling store can be wiped (or purged) without touching held footage.
 */

/** Longer than any segment can be (segmentSeconds is at most 600): bounds the index scan. */
const MAX_SEGMENT_MS = 660_000;

interface Candidate {
  hold: number;
  segment: number;
  camera: string;
  start_ms: number;
  end_ms: number;
  path: string;
  sha256: string;
  bytes: number;
}

export interface EvidenceProblem {
  segment: number;
  file: string;
  problem: "missing" | "hash_mismatch" | "catalog_mismatch";
  detail: string;
}

export interface VerifyReport {
  hold: number;
  files: number;
  bytes: number;
  problems: EvidenceProblem[];
}

export class EvidenceTree {
  private syncing: Promise<unknown> = Promise.resolve();
  private readonly sql: Prepare;

  constructor(
    db: Db,
    private readonly recordingsRoot: string,
    readonly root: string,
    private readonly now: () => number = Date.now,
  ) {
    this.sql = statementCache(db);
  }

  holdDir(hold: number): string {
    return join(this.root, String(hold));
  }

  /**
   * Links every complete segment inside an active hold's ranges that is not linked yet: run at
   * approval (`{ hold }`), when a segment closes (`{ segment }`: that segment only), and before every
   * purge (everything). Returns how many were added.
   */
  sync(only: { hold?: number; segment?: number } = {}): Promise<number> {
    // One sync at a time: segment closes, approvals and purge runs all ask for one.
    const next = this.syncing.then(() => this.syncNow(only));
    this.syncing = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  }

  private async syncNow(only: { hold?: number; segment?: number }): Promise<number> {
    const rows =
      only.segment !== undefined
        ? // One closed segment: from it to the ranges of its camera that overlap it.
          this.sql<[number], Candidate>(
            `SELECT r.hold, s.id segment, s.camera, s.start_ms, s.end_ms, s.path, s.sha256, s.bytes
               FROM segments s CROSS JOIN hold_ranges r ON r.camera = s.camera AND r.protecting = 1
                 AND r.start_ms < s.end_ms AND r.end_ms > s.start_ms
               JOIN holds h ON h.id = r.hold AND h.status = 'active'
               WHERE s.id = ? AND s.state = 'complete'
                 AND NOT EXISTS (SELECT 1 FROM hold_segments x WHERE x.hold = r.hold AND x.segment = s.id)
               GROUP BY r.hold, s.id ORDER BY r.hold`,
          ).all(only.segment)
        : // From the ranges to their segments, never the other way (CROSS JOIN fixes the order):
          // without statistics SQLite chose to scan every complete segment, 250 ms a sync with 20
          // holds and a month of 16 cameras, on every segment close.
          this.sql<[number | null, number | null], Candidate>(
            `SELECT r.hold, s.id segment, s.camera, s.start_ms, s.end_ms, s.path, s.sha256, s.bytes
               FROM hold_ranges r CROSS JOIN segments s ON s.camera = r.camera
                 AND s.start_ms >= r.start_ms - ${MAX_SEGMENT_MS} AND s.start_ms < r.end_ms
                 AND s.end_ms > r.start_ms AND s.state = 'complete'
               JOIN holds h ON h.id = r.hold AND h.status = 'active'
               WHERE r.protecting = 1 AND (? IS NULL OR r.hold = ?)
                 AND NOT EXISTS (SELECT 1 FROM hold_segments x WHERE x.hold = r.hold AND x.segment = s.id)
               GROUP BY r.hold, s.id ORDER BY r.hold, s.camera, s.start_ms`,
          ).all(only.hold ?? null, only.hold ?? null);
    const touched = new Set<number>();
    const insert = this.sql(
      "INSERT OR IGNORE INTO hold_segments (hold, segment, file, sha256, bytes, linked_at) VALUES (?, ?, ?, ?, ?, ?)",
    );
    for (const c of rows) {
      const file = join(String(c.hold), c.camera, basename(c.path));
      await this.place(join(this.recordingsRoot, c.path), join(this.root, file));
      insert.run(c.hold, c.segment, file, c.sha256, c.bytes, this.now());
      touched.add(c.hold);
    }
    for (const h of touched) await this.writeManifest(h);
    return rows.length;
  }

  /** Hard link where the volumes allow it, else a copy; durable before it returns. */
  private async place(src: string, dst: string): Promise<void> {
    const dir = join(dst, "..");
    await mkdir(dir, { recursive: true });
    try {
      await link(src, dst);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EXDEV" || code === "EPERM") {
        await copyFile(src, dst);
        await fsyncPath(dst);
      } else if (code !== "EEXIST") throw e; // EEXIST: a run that crashed after linking, before its row
    }
    await fsyncPath(dir);
  }

  private async writeManifest(hold: number): Promise<void> {
    const h = this.sql<[number], Record<string, unknown>>(
      `SELECT id, form_number, case_number, legal_basis, agency, requested_by, form_sha256, decided_by, decided_at
         FROM holds WHERE id = ?`,
    ).get(hold);
    const files = this.sql<[number], Record<string, unknown>>(
      `SELECT x.file, x.sha256, x.bytes, s.camera, s.start_ms startMs, s.end_ms endMs
         FROM hold_segments x JOIN segments s ON s.id = x.segment WHERE x.hold = ? ORDER BY s.camera, s.start_ms`,
    ).all(hold);
    await writeFileAtomic(
      join(this.holdDir(hold), "manifest.json"),
      `${JSON.stringify({ hold: h, algorithm: "sha256", files }, null, 2)}\n`,
    );
  }

  /** Every file of the hold against the hash it had when linked and the catalog's. */
  async verify(hold: number): Promise<VerifyReport> {
    const rows = this.sql<
      [number],
      { segment: number; file: string; sha256: string; bytes: number; catalog: string | null }
    >(
      `SELECT x.segment, x.file, x.sha256, x.bytes, s.sha256 catalog
         FROM hold_segments x JOIN segments s ON s.id = x.segment WHERE x.hold = ? ORDER BY x.file`,
    ).all(hold);
    const problems: EvidenceProblem[] = [];
    let bytes = 0;
    for (const r of rows) {
      const path = join(this.root, r.file);
      const size = await stat(path).then(
        (s) => s.size,
        (e: NodeJS.ErrnoException) => {
          if (e.code === "ENOENT") return undefined;
          throw e;
        },
      );
      if (size === undefined) {
        problems.push({ segment: r.segment, file: r.file, problem: "missing", detail: "file is gone" });
        continue;
      }
      bytes += size;
      const actual = await sha256File(path);
      if (actual !== r.sha256) {
        problems.push({
          segment: r.segment,
          file: r.file,
          problem: "hash_mismatch",
          detail: `sha256 ${actual}, recorded ${r.sha256}`,
        });
      } else if (r.catalog !== r.sha256) {
        problems.push({
          segment: r.segment,
          file: r.file,
          problem: "catalog_mismatch",
          detail: `catalog says ${r.catalog}, evidence recorded ${r.sha256}`,
        });
      }
    }
    return { hold, files: rows.length, bytes, problems };
  }

  /** After a release: the hold's links go; the rolling store's copy then follows normal retention. */
  async remove(hold: number): Promise<number> {
    const dir = this.holdDir(hold);
    let removed = 0;
    const cameras = await readdir(dir).catch((e: NodeJS.ErrnoException) => {
      if (e.code === "ENOENT") return [] as string[];
      throw e;
    });
    for (const cam of cameras) {
      if (cam === "manifest.json") continue;
      for (const f of await readdir(join(dir, cam))) {
        await unlink(join(dir, cam, f));
        removed++;
      }
    }
    await rm(dir, { recursive: true, force: true });
    await fsyncPath(this.root);
    return removed;
  }
}
