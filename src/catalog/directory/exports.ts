import type { ExportDownload, ExportProgress, ExportRecord, ExportStatus } from "../../exports/export.js";
import type { BasisFields, Recipient } from "../../exports/package-format.js";
import type { HoldRange } from "../../holds/hold.js";
import type { Prepare } from "../catalog.js";

/**
 * Export requests, the commander's decisions, the job's progress and outcome, and every download of
 * the finished package. Which transitions are allowed is the export desk's (retention/export/desk.ts)
 * rule, not this repository's.
 */

export interface NewExport {
  hold: number;
  basis: BasisFields;
  /** The basis's stored scan, relative to the evidence root (none for a criminal basis). */
  scanPath: string | null;
  recipient: Recipient;
  purpose: string;
  ranges: HoldRange[];
  requestedBy: string;
  requestedAt: number;
}

/** An export as stored: the record callers see, and where its scan is kept. */
export interface StoredExport extends ExportRecord {
  scanPath: string | null;
}

export interface ExportDecision {
  status: "queued" | "refused";
  by: string;
  at: number;
  note: string;
  /** A refusal's reason, kept as the export's error. */
  error?: string;
}

export interface ExportRepository {
  insert(e: NewExport): Promise<number>;
  get(id: number): Promise<StoredExport | undefined>;
  /** Newest first. */
  list(): Promise<StoredExport[]>;
  /** Those in any of `statuses`, oldest first: the order a job runner takes them in. */
  listByStatus(statuses: readonly ExportStatus[]): Promise<StoredExport[]>;
  decide(id: number, d: ExportDecision): Promise<void>;
  cancel(id: number, c: { by: string; at: number; reason: string }): Promise<void>;
  /** A job's own transitions (running, failed, …), with the reason of a failure. */
  setStatus(id: number, status: ExportStatus, error?: string | null): Promise<void>;
  progress(id: number, p: ExportProgress): Promise<void>;
  /** Done: where the package is and what its manifest hashes to. */
  markProduced(
    id: number,
    p: { packagePath: string; manifestSha256: string; bytes: number; at: number },
  ): Promise<void>;
  addDownload(id: number, d: ExportDownload): Promise<void>;
}

interface Row {
  id: number;
  hold: number;
  basis: string;
  scan_path: string | null;
  recipient: string;
  purpose: string;
  ranges: string;
  status: ExportStatus;
  requested_by: string;
  requested_at: number;
  decided_by: string | null;
  decided_at: number | null;
  decision_note: string | null;
  bytes_done: number | null;
  bytes_total: number | null;
  eta_ms: number | null;
  error: string | null;
  package_path: string | null;
  manifest_sha256: string | null;
  package_bytes: number | null;
  produced_at: number | null;
}

/** Answers at once; `SqliteDirectory` runs it inside its unit of work. */
export class SqliteExportRepository implements ExportRepository {
  constructor(private readonly sql: Prepare) {}

  async insert(e: NewExport): Promise<number> {
    return Number(
      this.sql(
        `INSERT INTO exports (hold, basis_type, basis, scan_path, recipient, purpose, ranges, status,
           requested_by, requested_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'requested', ?, ?)`,
      ).run(
        e.hold,
        e.basis.type,
        JSON.stringify(e.basis),
        e.scanPath,
        JSON.stringify(e.recipient),
        e.purpose,
        JSON.stringify(e.ranges),
        e.requestedBy,
        e.requestedAt,
      ).lastInsertRowid,
    );
  }

  async get(id: number): Promise<StoredExport | undefined> {
    return this.query("WHERE id = ?", [id], "id")[0];
  }

  async list(): Promise<StoredExport[]> {
    return this.query("", [], "id DESC");
  }

  async listByStatus(statuses: readonly ExportStatus[]): Promise<StoredExport[]> {
    if (statuses.length === 0) return [];
    return this.query(`WHERE status IN (${statuses.map(() => "?").join(", ")})`, [...statuses], "id");
  }

  async decide(id: number, d: ExportDecision): Promise<void> {
    this.sql(
      "UPDATE exports SET status = ?, decided_by = ?, decided_at = ?, decision_note = ?, error = ? WHERE id = ?",
    ).run(d.status, d.by, d.at, d.note, d.error ?? null, id);
  }

  async cancel(id: number, c: { by: string; at: number; reason: string }): Promise<void> {
    this.sql(
      "UPDATE exports SET status = 'cancelled', cancelled_by = ?, cancelled_at = ?, error = ? WHERE id = ?",
    ).run(c.by, c.at, `cancelled by ${c.by}: ${c.reason}`, id);
  }

  async setStatus(id: number, status: ExportStatus, error: string | null = null): Promise<void> {
    this.sql("UPDATE exports SET status = ?, error = ? WHERE id = ?").run(status, error, id);
  }

  async progress(id: number, p: ExportProgress): Promise<void> {
    this.sql("UPDATE exports SET bytes_done = ?, bytes_total = ?, eta_ms = ? WHERE id = ?").run(
      p.bytesDone,
      p.bytesTotal,
      p.etaMs,
      id,
    );
  }

  async markProduced(
    id: number,
    p: { packagePath: string; manifestSha256: string; bytes: number; at: number },
  ): Promise<void> {
    this.sql(
      `UPDATE exports SET status = 'done', error = NULL, package_path = ?, manifest_sha256 = ?,
         package_bytes = ?, produced_at = ? WHERE id = ?`,
    ).run(p.packagePath, p.manifestSha256, p.bytes, p.at, id);
  }

  async addDownload(id: number, d: ExportDownload): Promise<void> {
    this.sql(
      "INSERT INTO export_downloads (export, by_actor, at, from_addr, bytes, complete) VALUES (?, ?, ?, ?, ?, ?)",
    ).run(id, d.by, d.at, d.from, d.bytes, d.complete ? 1 : 0);
  }

  private query(where: string, args: unknown[], order: string): StoredExport[] {
    const rows = this.sql<unknown[], Row>(`SELECT * FROM exports ${where} ORDER BY ${order}`).all(...args);
    const downloads = this.sql<
      [number],
      { by: string; at: number; from: string; bytes: number; complete: number }
    >(
      `SELECT by_actor AS "by", at, from_addr AS "from", bytes, complete FROM export_downloads
         WHERE export = ? ORDER BY id`,
    );
    return rows.map((r) => ({
      id: r.id,
      hold: r.hold,
      basis: JSON.parse(r.basis) as BasisFields,
      scanPath: r.scan_path,
      recipient: JSON.parse(r.recipient) as Recipient,
      purpose: r.purpose,
      ranges: JSON.parse(r.ranges) as HoldRange[],
      status: r.status,
      requestedBy: r.requested_by,
      requestedAt: r.requested_at,
      decidedBy: r.decided_by,
      decidedAt: r.decided_at,
      decisionNote: r.decision_note,
      progress:
        r.bytes_done === null || r.bytes_total === null
          ? null
          : { bytesDone: r.bytes_done, bytesTotal: r.bytes_total, etaMs: r.eta_ms },
      error: r.error,
      packagePath: r.package_path,
      manifestSha256: r.manifest_sha256,
      packageBytes: r.package_bytes,
      producedAt: r.produced_at,
      downloads: downloads.all(r.id).map((d) => ({ ...d, complete: d.complete === 1 })),
    }));
  }
}
