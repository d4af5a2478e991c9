import type { Prepare } from "../catalog.js";

/**
 * Which segment of the footage catalog each hold's evidence tree holds a file of, with the hash it
 * had when linked. Invariant (retention/evidence.ts): a link is written only once its file is
 * durable in the evidence tree.
 */

export interface EvidenceLink {
  hold: number;
  segment: number;
  /** Relative to the evidence root. */
  file: string;
  sha256: string;
  bytes: number;
  linkedAt: number;
}

export interface EvidenceLinkRepository {
  /** Of `segments`, those the hold has no link for yet, in the order given. */
  unlinked(hold: number, segments: readonly number[]): Promise<number[]>;
  /** A link already there is kept as it was (a sync that crashed after linking, before its row). */
  insert(link: EvidenceLink): Promise<void>;
  /** The hold's links, by file name. */
  ofHold(hold: number): Promise<EvidenceLink[]>;
  /** Linked segments and their bytes, per hold asked for (a hold with none is absent). */
  totals(holds: readonly number[]): Promise<Map<number, { segments: number; bytes: number }>>;
}

export class SqliteEvidenceLinkRepository implements EvidenceLinkRepository {
  constructor(private readonly sql: Prepare) {}

  async unlinked(hold: number, segments: readonly number[]): Promise<number[]> {
    if (segments.length === 0) return [];
    // One statement for the whole list: json_each keeps its order, the primary key answers each.
    return this.sql<[string, number], { value: number }>(
      `SELECT j.value FROM json_each(?) j
         WHERE NOT EXISTS (SELECT 1 FROM hold_segments x WHERE x.hold = ? AND x.segment = j.value)
         ORDER BY j.key`,
    )
      .all(JSON.stringify(segments), hold)
      .map((r) => r.value);
  }

  async insert(l: EvidenceLink): Promise<void> {
    this.sql(
      "INSERT OR IGNORE INTO hold_segments (hold, segment, file, sha256, bytes, linked_at) VALUES (?, ?, ?, ?, ?, ?)",
    ).run(l.hold, l.segment, l.file, l.sha256, l.bytes, l.linkedAt);
  }

  async ofHold(hold: number): Promise<EvidenceLink[]> {
    return this.sql<[number], EvidenceLink>(
      `SELECT hold, segment, file, sha256, bytes, linked_at linkedAt FROM hold_segments
         WHERE hold = ? ORDER BY file`,
    ).all(hold);
  }

  async totals(holds: readonly number[]): Promise<Map<number, { segments: number; bytes: number }>> {
    const rows = this.sql<[string], { hold: number; segments: number; bytes: number }>(
      `SELECT x.hold, count(*) segments, sum(x.bytes) bytes FROM json_each(?) j
         JOIN hold_segments x ON x.hold = j.value GROUP BY x.hold`,
    ).all(JSON.stringify(holds));
    return new Map(rows.map((r) => [r.hold, { segments: r.segments, bytes: r.bytes }]));
  }
}
