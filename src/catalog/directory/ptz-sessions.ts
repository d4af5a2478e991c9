import type { Outcome } from "../../audit/chain.js";
import type { PtzPurpose } from "../../ptz/purpose.js";
import type { Prepare } from "../catalog.js";

/**
 * PTZ sessions (who controlled which camera, why, from when to when, how it ended) and every
 * command sent in them. Invariant (src/ptz/service.ts): at most one open session per camera.
 */

export const PTZ_END_REASONS = ["released", "expired", "taken-over", "stopped"] as const;
export type PtzEndReason = (typeof PTZ_END_REASONS)[number];

export interface PtzSessionRecord {
  id: number;
  camera: string;
  actor: string;
  role: string | null;
  purpose: PtzPurpose;
  startedAt: number;
  endedAt: number | null;
  endReason: PtzEndReason | null;
  /** Who took over, when the session ended that way. */
  endedBy: string | null;
}

export interface PtzCommandRecord {
  session: number;
  seq: number;
  at: number;
  kind: string;
  params: Record<string, unknown>;
  outcome: Outcome;
  /** For a continuous move: how many velocity updates were coalesced into it. */
  updates: number;
  error: string | null;
}

export interface PtzSessionFilter {
  camera?: string;
  actor?: string;
  /** Sessions started at or after, UTC epoch ms. */
  from?: number;
  /** Sessions started before. */
  to?: number;
  limit?: number;
}

export interface PtzSessionRepository {
  open(s: Omit<PtzSessionRecord, "id" | "endedAt" | "endReason" | "endedBy">): Promise<number>;
  /** Ends an open session; one already ended is left as it was (returns false). */
  end(id: number, at: number, reason: PtzEndReason, by?: string): Promise<boolean>;
  /** Appends a command (seq is the next in its session); returns its seq. */
  addCommand(c: Omit<PtzCommandRecord, "seq">): Promise<number>;
  /** Updates a command written before (a continuous move's coalesced updates, its final outcome). */
  updateCommand(c: PtzCommandRecord): Promise<void>;
  get(id: number): Promise<PtzSessionRecord | undefined>;
  commands(session: number): Promise<PtzCommandRecord[]>;
  /** Newest first. */
  list(filter?: PtzSessionFilter): Promise<PtzSessionRecord[]>;
  /** Sessions never ended (pscsd stopped while they were open). */
  unended(): Promise<PtzSessionRecord[]>;
  /** The camera's latest successful command of `kind` in any session (where home was last set). */
  lastSucceeded(camera: string, kind: string): Promise<PtzCommandRecord | undefined>;
}

interface SessionRow {
  id: number;
  camera: string;
  actor: string;
  role: string | null;
  purpose_kind: PtzPurpose["kind"];
  purpose_ref: string | null;
  purpose_note: string | null;
  started_at: number;
  ended_at: number | null;
  end_reason: PtzEndReason | null;
  ended_by: string | null;
}

const SESSION_COLUMNS =
  "id, camera, actor, role, purpose_kind, purpose_ref, purpose_note, started_at, ended_at, end_reason, ended_by";

function session(r: SessionRow): PtzSessionRecord {
  return {
    id: r.id,
    camera: r.camera,
    actor: r.actor,
    role: r.role,
    purpose: {
      kind: r.purpose_kind,
      ...(r.purpose_ref !== null ? { reference: r.purpose_ref } : {}),
      ...(r.purpose_note !== null ? { note: r.purpose_note } : {}),
    },
    startedAt: r.started_at,
    endedAt: r.ended_at,
    endReason: r.end_reason,
    endedBy: r.ended_by,
  };
}

interface CommandRow {
  session: number;
  seq: number;
  at: number;
  kind: string;
  params: string;
  outcome: Outcome;
  updates: number;
  error: string | null;
}

export class SqlitePtzSessionRepository implements PtzSessionRepository {
  constructor(private readonly sql: Prepare) {}

  async open(s: Omit<PtzSessionRecord, "id" | "endedAt" | "endReason" | "endedBy">): Promise<number> {
    const r = this.sql(
      `INSERT INTO ptz_sessions (camera, actor, role, purpose_kind, purpose_ref, purpose_note, started_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      s.camera,
      s.actor,
      s.role,
      s.purpose.kind,
      s.purpose.reference ?? null,
      s.purpose.note ?? null,
      s.startedAt,
    );
    return Number(r.lastInsertRowid);
  }

  async end(id: number, at: number, reason: PtzEndReason, by?: string): Promise<boolean> {
    const r = this.sql(
      "UPDATE ptz_sessions SET ended_at = ?, end_reason = ?, ended_by = ? WHERE id = ? AND ended_at IS NULL",
    ).run(at, reason, by ?? null, id);
    return r.changes === 1;
  }

  async addCommand(c: Omit<PtzCommandRecord, "seq">): Promise<number> {
    const row = this.sql<
      [number, number, number, string, string, string, number, string | null],
      { seq: number }
    >(
      `INSERT INTO ptz_commands (session, seq, at, kind, params, outcome, updates, error)
         VALUES (?, (SELECT coalesce(max(seq), 0) + 1 FROM ptz_commands WHERE session = ?), ?, ?, ?, ?, ?, ?)
         RETURNING seq`,
    ).get(c.session, c.session, c.at, c.kind, JSON.stringify(c.params), c.outcome, c.updates, c.error);
    return row?.seq ?? 0;
  }

  async updateCommand(c: PtzCommandRecord): Promise<void> {
    this.sql(
      "UPDATE ptz_commands SET params = ?, outcome = ?, updates = ?, error = ? WHERE session = ? AND seq = ?",
    ).run(JSON.stringify(c.params), c.outcome, c.updates, c.error, c.session, c.seq);
  }

  async get(id: number): Promise<PtzSessionRecord | undefined> {
    const r = this.sql<[number], SessionRow>(`SELECT ${SESSION_COLUMNS} FROM ptz_sessions WHERE id = ?`).get(
      id,
    );
    return r ? session(r) : undefined;
  }

  async commands(id: number): Promise<PtzCommandRecord[]> {
    return this.sql<[number], CommandRow>(
      "SELECT session, seq, at, kind, params, outcome, updates, error FROM ptz_commands WHERE session = ? ORDER BY seq",
    )
      .all(id)
      .map((r) => ({ ...r, params: JSON.parse(r.params) as Record<string, unknown> }));
  }

  async list(f: PtzSessionFilter = {}): Promise<PtzSessionRecord[]> {
    return this.sql<[Record<string, string | number | null>], SessionRow>(
      `SELECT ${SESSION_COLUMNS} FROM ptz_sessions
         WHERE (@camera IS NULL OR camera = @camera) AND (@actor IS NULL OR actor = @actor)
           AND (@from IS NULL OR started_at >= @from) AND (@to IS NULL OR started_at < @to)
         ORDER BY started_at DESC, id DESC LIMIT @limit`,
    )
      .all({
        camera: f.camera ?? null,
        actor: f.actor ?? null,
        from: f.from ?? null,
        to: f.to ?? null,
        limit: f.limit ?? 100,
      })
      .map(session);
  }

  async unended(): Promise<PtzSessionRecord[]> {
    return this.sql<[], SessionRow>(
      `SELECT ${SESSION_COLUMNS} FROM ptz_sessions WHERE ended_at IS NULL ORDER BY id`,
    )
      .all()
      .map(session);
  }

  async lastSucceeded(camera: string, kind: string): Promise<PtzCommandRecord | undefined> {
    const r = this.sql<[string, string], CommandRow>(
      `SELECT c.session, c.seq, c.at, c.kind, c.params, c.outcome, c.updates, c.error
         FROM ptz_commands c JOIN ptz_sessions s ON s.id = c.session
         WHERE s.camera = ? AND c.kind = ? AND c.outcome = 'success'
         ORDER BY c.at DESC, c.session DESC, c.seq DESC LIMIT 1`,
    ).get(camera, kind);
    return r ? { ...r, params: JSON.parse(r.params) as Record<string, unknown> } : undefined;
  }
}
