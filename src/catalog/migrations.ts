/**
 * The catalog schema, as an append-only list of migrations.
 * Invariant: a released migration is never edited or reordered; a change is a new entry with the next
 * version, so every catalog file's `user_version` names exactly the schema it holds.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "schema history and camera clock samples",
    sql: `
      CREATE TABLE schema_history (
        version     INTEGER PRIMARY KEY,
        name        TEXT    NOT NULL,
        applied_at  INTEGER NOT NULL  -- UTC epoch ms
      ) STRICT;

      -- The camera's own clock against ours, sampled at every connection: an export must be able to
      -- say what a burned-in camera time meant (evidence practice), so the history is kept, not just
      -- the latest value.
      CREATE TABLE camera_clock_samples (
        camera      TEXT    NOT NULL,
        sampled_at  INTEGER NOT NULL, -- UTC epoch ms, server clock, midpoint of the request
        offset_ms   INTEGER NOT NULL, -- camera clock minus server clock
        rtt_ms      INTEGER NOT NULL, -- offset_ms is known to ±(500 + rtt/2): ONVIF time has whole seconds
        PRIMARY KEY (camera, sampled_at)
      ) STRICT;
    `,
  },
];
