import { copyFile, link, mkdir, readdir, rm, stat, unlink } from "node:fs/promises";
import { basename, join } from "node:path";
import type { Db } from "../src/catalog/catalog.js";
import type { Directory } from "../src/catalog/directory/directory.js";
import type { EvidenceLink } from "../src/catalog/directory/evidence-links.js";
import { EvidenceSegments, type HeldSegment } from "../src/catalog/footage/evidence-segments.js";
import type { EvidenceProblem, VerifyReport } from "../src/holds/hold.js";
import { fsyncPath, sha256File, writeFileAtomic } from "../src/storage/durable.js";

/**
 * The evidence tree: every segment an active hold covers gets its own name under
 * `evidence/<hold>/<camera>/`, a hard link (same volume) or a copy, plus a manifest of hashes.
 * Invariant: a link is recorded in the directory only after its file is durable in the evidence
 * tree, so the rolling store can be wiped (or purged) without touching held footage; and only while
 * its hold is still active (a hold released during a sync gets no links, and its tree goes again).
 * The sync crosses two stores: active ranges from the directory → their complete segments from the
 * footage catalog → the links not yet recorded (directory) → files placed → links recorded.
 */

/** By camera, then start: the evidence tree's and the manifest's order. */
const byCameraStart = (a: { camera: string; startMs: number }, b: { camera: string; startMs: number }) =>
  a.camera < b.camera ? -1 : a.camera > b.camera ? 1 : a.startMs - b.startMs;

export interface EvidenceTreeOptions {
  directory: Directory;
  /** The footage catalog holding the segments. */
  db: Db;
  recordingsRoot: string;
  root: string;
  now?: () => number;
}

export class EvidenceTree {
  private syncing: Promise<unknown> = Promise.resolve();
  private readonly segments: EvidenceSegments;
  private readonly directory: Directory;
  private readonly recordingsRoot: string;
  readonly root: string;
  private readonly now: () => number;

  constructor(o: EvidenceTreeOptions) {
    this.directory = o.directory;
    this.segments = new EvidenceSegments(o.db);
    this.recordingsRoot = o.recordingsRoot;
    this.root = o.root;
    this.now = o.now ?? Date.now;
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
    const wanted = await this.candidates(only);
    let added = 0;
    for (const [hold, segs] of wanted) {
      const files: EvidenceLink[] = [];
      for (const s of segs) {
        const file = join(String(hold), s.camera, basename(s.path));
        await this.place(join(this.recordingsRoot, s.path), join(this.root, file));
        files.push({ hold, segment: s.id, file, sha256: s.sha256, bytes: s.bytes, linkedAt: this.now() });
      }
      const recorded = await this.directory.tx(async (d) => {
        if ((await d.holds.get(hold))?.status !== "active") return false;
        for (const f of files) await d.evidenceLinks.insert(f);
        return true;
      });
      if (!recorded) {
        await this.remove(hold);
        continue;
      }
      added += files.length;
      await this.writeManifest(hold);
    }
    return added;
  }

  /** Per hold (ascending), the segments it covers and has no link for, by camera and start. */
  private async candidates(only: { hold?: number; segment?: number }): Promise<Map<number, HeldSegment[]>> {
    const closed = only.segment === undefined ? undefined : this.segments.complete(only.segment);
    if (only.segment !== undefined && !closed) return new Map();
    const ranges = await this.directory.read((d) =>
      d.holds.activeRanges(
        closed
          ? { camera: closed.camera, fromMs: closed.startMs, toMs: closed.endMs }
          : only.hold !== undefined
            ? { hold: only.hold }
            : {},
      ),
    );
    // From the ranges to their segments, never the other way: a sync costs what the holds cover.
    const byHold = new Map<number, Map<number, HeldSegment>>();
    for (const r of ranges) {
      const mine = byHold.get(r.hold) ?? new Map<number, HeldSegment>();
      byHold.set(r.hold, mine);
      for (const s of closed ? [closed] : this.segments.completeIn(r.camera, r.fromMs, r.toMs))
        mine.set(s.id, s);
    }
    const holds = [...byHold.keys()].sort((a, b) => a - b);
    return this.directory.read(async (d) => {
      const out = new Map<number, HeldSegment[]>();
      for (const h of holds) {
        const segs = [...(byHold.get(h)?.values() ?? [])].sort(byCameraStart);
        const missing = new Set(
          await d.evidenceLinks.unlinked(
            h,
            segs.map((s) => s.id),
          ),
        );
        const todo = segs.filter((s) => missing.has(s.id));
        if (todo.length) out.set(h, todo);
      }
      return out;
    });
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
    const [h, links] = await this.directory.read(
      async (d) => [await d.holds.get(hold), await d.evidenceLinks.ofHold(hold)] as const,
    );
    const segs = this.segments.byIds(links.map((l) => l.segment));
    // Segment rows are never deleted (purged ones stay); a link to one this catalog lacks is not listed.
    const files = links
      .flatMap((l) => {
        const s = segs.get(l.segment);
        return s
          ? [
              {
                file: l.file,
                sha256: l.sha256,
                bytes: l.bytes,
                camera: s.camera,
                startMs: s.startMs,
                endMs: s.endMs,
              },
            ]
          : [];
      })
      .sort(byCameraStart);
    const header = h && {
      id: h.id,
      form_number: h.formNumber,
      case_number: h.caseNumber,
      legal_basis: h.legalBasis,
      agency: h.agency,
      requested_by: h.requestedBy,
      form_sha256: h.form.sha256,
      decided_by: h.decidedBy,
      decided_at: h.decidedAt,
    };
    await writeFileAtomic(
      join(this.holdDir(hold), "manifest.json"),
      `${JSON.stringify({ hold: header, algorithm: "sha256", files }, null, 2)}\n`,
    );
  }

  /** Every file of the hold against the hash it had when linked and the catalog's. */
  async verify(hold: number): Promise<VerifyReport> {
    const links = await this.directory.read((d) => d.evidenceLinks.ofHold(hold));
    const catalog = this.segments.byIds(links.map((l) => l.segment));
    const problems: EvidenceProblem[] = [];
    let bytes = 0;
    for (const r of links) {
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
      const recorded = catalog.get(r.segment)?.sha256 ?? null;
      if (actual !== r.sha256) {
        problems.push({
          segment: r.segment,
          file: r.file,
          problem: "hash_mismatch",
          detail: `sha256 ${actual}, recorded ${r.sha256}`,
        });
      } else if (recorded !== r.sha256) {
        problems.push({
          segment: r.segment,
          file: r.file,
          problem: "catalog_mismatch",
          detail: `catalog says ${recorded}, evidence recorded ${r.sha256}`,
        });
      }
    }
    return { hold, files: links.length, bytes, problems };
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
