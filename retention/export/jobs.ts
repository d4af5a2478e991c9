import { readdir, rm } from "node:fs/promises";
import { join, relative } from "node:path";
import { SYSTEM_ACTOR } from "../../src/audit/actors.js";
import type { AuditLog } from "../../src/audit/log.js";
import { auditIn } from "../../src/auth/acting.js";
import type { Directory, DirectoryTx } from "../../src/catalog/directory/directory.js";
import type { StoredExport } from "../../src/catalog/directory/exports.js";
import type {
  ExportProgress,
  PackageInput,
  PackageProducer,
  ProducedPackage,
} from "../../src/exports/export.js";
import type { Logger } from "../../src/log/logger.js";
import { fsyncPath } from "../../src/storage/durable.js";
import { PackageError, packageDirName } from "./producer.js";

/**
 * Runs approved (`queued`) exports through the package producer, one at a time: exports are
 * disk-heavy, and recording must not starve. `queued → running → done | failed`, or `cancelled` by
 * the desk while it runs (the production is aborted, its partial folder removed).
 * Invariants:
 * - never a half package that looks complete: the producer writes under `.partial-` and renames to
 *   `export-<id>` only once the manifest is signed (./producer.ts);
 * - never a `done` row without its folder: `done` commits only after the rename; and a folder
 *   `export-<id>` whose row is not `done` (pscsd killed between the rename and that commit, a cancel
 *   that came meanwhile) is removed, at once or at the next start;
 * - a restart fails what was running (the reason says so; a new export produces it again): a
 *   production is never resumed from a half-written folder, and one that crashed pscsd is not retried
 *   in a loop;
 * - every start, success, failure and cancelled production is audited as `export:<id>` by the system
 *   actor, in the unit of work of its status change.
 */

export const STOPPED_REASON =
  "pscsd stopped while producing it (crash or restart); approve a new export to produce it again";

export interface ExportJobsOptions {
  directory: Directory;
  audit: AuditLog;
  producer: PackageProducer;
  /** storage.exports: the producer's root; a row's package path is relative to it. */
  exportsRoot: string;
  /** storage.evidence: a row's scan path is relative to it. */
  evidenceRoot: string;
  log: Logger;
  /** Progress is stored at most this often (and at the end). */
  progressEveryMs?: number;
  now?: () => number;
}

interface Running {
  id: number;
  abort: AbortController;
  /** Why it was aborted: cancelled by the desk, or pscsd stopping. */
  why?: "cancelled" | "stopped";
}

const target = (id: number) => `export:${id}`;

/** A failure's reason as the record shows it: the message alone, one line, never a stack. */
function reasonOf(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const line = message.split("\n", 1)[0]?.trim() || "the production failed";
  return line.length > 500 ? `${line.slice(0, 497)}...` : line;
}

export class ExportJobs {
  private readonly now: () => number;
  private readonly every: number;
  private current: Running | undefined;
  private loop: Promise<void> | undefined;
  /** A wake-up came while the loop was finishing: look again. */
  private again = false;
  private stopping = false;
  /** Nothing runs before recover(): it would take what this process had just started for a crash's. */
  private started = false;

  constructor(private readonly o: ExportJobsOptions) {
    this.now = o.now ?? Date.now;
    this.every = o.progressEveryMs ?? 500;
  }

  /** At pscsd's start, after the producer's sweep: fails what a stopped pscsd left running, then runs the queue. */
  async start(): Promise<void> {
    await this.recover();
    this.started = true;
    this.wake();
  }

  /**
   * Something may have changed (an approval or a cancel, here or in another process): takes queued
   * exports, and stops the running one if its row is no longer `running`.
   */
  wake(): void {
    if (this.stopping || !this.started) return;
    if (this.current) void this.checkCurrent();
    if (this.loop) {
      this.again = true;
      return;
    }
    this.loop = this.drain()
      .catch((err: unknown) => this.o.log.error({ err }, "export jobs failed"))
      .finally(() => {
        this.loop = undefined;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  /** The desk's news, in this process: an approval runs at once, a cancel stops its production. */
  changed(id: number, status: "queued" | "cancelled"): void {
    if (status === "cancelled" && this.current?.id === id) this.abort("cancelled");
    this.wake();
  }

  /** Aborts the running production (its export is failed as stopped) and waits for the loop to end. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.abort("stopped");
    await this.loop;
  }

  private abort(why: "cancelled" | "stopped"): void {
    if (!this.current || this.current.why) return;
    this.current.why = why;
    this.current.abort.abort(new Error(`export ${this.current.id} ${why}`));
  }

  private async checkCurrent(): Promise<void> {
    const c = this.current;
    if (!c) return;
    const row = await this.o.directory.read((d) => d.exports.get(c.id));
    if (row?.status !== "running" && this.current === c) this.abort("cancelled");
  }

  private async drain(): Promise<void> {
    while (!this.stopping) {
      this.again = false;
      const [next] = await this.o.directory.read((d) => d.exports.listByStatus(["queued"]));
      if (!next) return;
      await this.run(next);
    }
  }

  /** A package folder and what it must not outlive: removed, and the root fsynced. */
  private async removePackage(id: number): Promise<void> {
    await rm(join(this.o.exportsRoot, packageDirName(id)), { recursive: true, force: true });
    await fsyncPath(this.o.exportsRoot).catch(() => undefined);
  }

  /**
   * Every `running` row is failed (pscsd is starting, so nothing runs it), and every `export-<id>`
   * folder whose row is not `done` is removed: renamed into place, but never recorded as produced.
   */
  private async recover(): Promise<void> {
    const running = await this.o.directory.read((d) => d.exports.listByStatus(["running"]));
    for (const row of running) {
      await this.removePackage(row.id);
      await this.o.directory.tx(async (d) => {
        if ((await d.exports.get(row.id))?.status !== "running") return;
        await this.fail(d, row, STOPPED_REASON, { atStart: true });
      });
      this.o.log.warn({ export: row.id }, "export failed: pscsd stopped while producing it");
    }
    let names: string[] = [];
    try {
      names = await readdir(this.o.exportsRoot);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    for (const name of names) {
      const id = /^export-(\d{1,12})$/.exec(name)?.[1];
      if (id === undefined) continue;
      const row = await this.o.directory.read((d) => d.exports.get(Number(id)));
      // A folder no export row accounts for is not pscsd's to delete (a restored or copied catalog):
      // it stays, and an export of that id fails rather than overwrite it.
      if (!row) {
        this.o.log.warn({ export: Number(id) }, "package folder without an export record left in place");
      } else if (row.status !== "done") {
        this.o.log.warn(
          { export: row.id, status: row.status },
          "package folder of an export not done removed",
        );
        await this.removePackage(row.id);
      }
    }
  }

  private async fail(
    d: DirectoryTx,
    row: StoredExport,
    reason: string,
    extra: Record<string, unknown> = {},
  ): Promise<void> {
    await d.exports.setStatus(row.id, "failed", reason);
    await auditIn(this.o.audit, d, SYSTEM_ACTOR, "export.produce", target(row.id), "failure", {
      from: "running",
      to: "failed",
      reason,
      ...extra,
    });
  }

  private input(row: StoredExport): PackageInput {
    const scanFiles: Record<string, string> = {};
    if (row.basis.type !== "criminal") {
      if (!row.scanPath) throw new PackageError("basis.scan: the export has no stored scan");
      scanFiles[row.basis.scan.file] = join(this.o.evidenceRoot, row.scanPath);
    }
    if (row.decidedBy === null || row.decidedAt === null)
      throw new PackageError("the export was queued without its approval");
    return {
      exportId: row.id,
      hold: row.hold,
      basis: row.basis,
      scanFiles,
      recipient: row.recipient,
      purpose: row.purpose,
      ranges: row.ranges,
      requestedBy: { user: row.requestedBy, at: row.requestedAt },
      approvedBy: { user: row.decidedBy, at: row.decidedAt },
    };
  }

  private async run(queued: StoredExport): Promise<void> {
    const { directory: dir, audit, log } = this.o;
    const id = queued.id;
    // Running only if still queued (a cancel may have come first), with its entry.
    const row = await dir.tx(async (d) => {
      const now = await d.exports.get(id);
      if (now?.status !== "queued") return undefined;
      await d.exports.setStatus(id, "running");
      await auditIn(audit, d, SYSTEM_ACTOR, "export.produce.start", target(id), "success", {
        from: "queued",
        to: "running",
        hold: now.hold,
        basis: now.basis.type,
        ranges: now.ranges,
      });
      return now;
    });
    if (!row) return;
    const job: Running = { id, abort: new AbortController() };
    this.current = job;
    log.info({ export: id }, "export production started");
    let last = Number.NEGATIVE_INFINITY;
    let latest: ExportProgress | undefined;
    const onProgress = (p: ExportProgress) => {
      latest = p;
      const t = performance.now();
      if (t - last < this.every) return;
      last = t;
      void this.storeProgress(job, p);
    };
    let made: ProducedPackage;
    try {
      made = await this.o.producer.produce(this.input(row), { onProgress, signal: job.abort.signal });
    } catch (e) {
      this.current = undefined;
      await this.ended(job, row, e);
      return;
    }
    this.current = undefined;
    const outcome = await dir.tx(async (d) => {
      const now = await d.exports.get(id);
      if (now?.status !== "running") return now?.status ?? "missing";
      if (latest) await d.exports.progress(id, { ...latest, bytesDone: latest.bytesTotal, etaMs: 0 });
      await d.exports.markProduced(id, {
        packagePath: relative(this.o.exportsRoot, made.dir),
        manifestSha256: made.manifestSha256,
        bytes: made.bytes,
        at: this.now(),
      });
      await auditIn(audit, d, SYSTEM_ACTOR, "export.produce", target(id), "success", {
        from: "running",
        to: "done",
        manifestSha256: made.manifestSha256,
        bytes: made.bytes,
        files: made.manifest.files.length,
        cameras: made.manifest.cameras.map((c) => ({
          camera: c.camera,
          actual: { from: c.actual.from.utc, to: c.actual.to.utc },
        })),
        keyFingerprint: made.manifest.keyFingerprint,
      });
      return "done" as const;
    });
    if (outcome === "done") {
      log.info({ export: id, bytes: made.bytes }, "export produced");
      return;
    }
    // Cancelled while signing or renaming: the package must not outlive its cancelled row.
    await this.removePackage(id);
    await this.stoppedByCancel(id, outcome);
  }

  /** Stores progress only while the row is running; a row no longer running was cancelled elsewhere. */
  private async storeProgress(job: Running, p: ExportProgress): Promise<void> {
    try {
      const running = await this.o.directory.tx(async (d) => {
        if ((await d.exports.get(job.id))?.status !== "running") return false;
        await d.exports.progress(job.id, p);
        return true;
      });
      if (!running && this.current === job) this.abort("cancelled");
    } catch (err) {
      this.o.log.error({ err, export: job.id }, "export progress not stored");
    }
  }

  /** The production threw: aborted (cancelled or pscsd stopping) or failed. */
  private async ended(job: Running, row: StoredExport, e: unknown): Promise<void> {
    const id = job.id;
    const reason = job.why === "stopped" ? STOPPED_REASON : reasonOf(e);
    const status = await this.o.directory.tx(async (d) => {
      const now = await d.exports.get(id);
      if (now?.status !== "running") return now?.status ?? "missing";
      await this.fail(d, row, reason);
      return "failed" as const;
    });
    if (status === "failed") {
      this.o.log.warn({ export: id, reason, err: job.why ? undefined : e }, "export failed");
      return;
    }
    await this.stoppedByCancel(id, status);
  }

  /** The desk changed the row while it ran (a cancel): the production stopped, nothing left of it. */
  private async stoppedByCancel(id: number, status: string): Promise<void> {
    await this.o.directory.tx((d) =>
      auditIn(this.o.audit, d, SYSTEM_ACTOR, "export.produce.cancel", target(id), "success", {
        status,
        package: "none: the partial folder was removed",
      }),
    );
    this.o.log.info({ export: id, status }, "export production stopped");
  }
}
