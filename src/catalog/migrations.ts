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
  {
    version: 2,
    name: "people, sessions, machine tokens and the audit chain",
    sql: `
      -- Named accounts only: no shared logins, so every action belongs to a person.
      CREATE TABLE users (
        username        TEXT    PRIMARY KEY,
        display_name    TEXT    NOT NULL,
        password_hash   TEXT    NOT NULL, -- scrypt$logN$r$p$salt$hash (see src/auth/password.ts)
        roles           TEXT    NOT NULL, -- JSON array of role names
        disabled        INTEGER NOT NULL DEFAULT 0,
        must_change_password INTEGER NOT NULL DEFAULT 0,
        failed_attempts INTEGER NOT NULL DEFAULT 0, -- consecutive; reset by a successful login
        locked_until    INTEGER,                     -- UTC epoch ms
        created_at      INTEGER NOT NULL,
        created_by      TEXT    NOT NULL,
        password_changed_at INTEGER NOT NULL
      ) STRICT;

      -- Only the SHA-256 of a session id is stored: a copy of the catalog does not log anyone in.
      CREATE TABLE sessions (
        id_hash      TEXT    PRIMARY KEY,
        username     TEXT    NOT NULL REFERENCES users(username),
        csrf_token   TEXT    NOT NULL,
        created_at   INTEGER NOT NULL,
        last_seen_at INTEGER NOT NULL,
        expires_at   INTEGER NOT NULL,   -- absolute lifetime; idle expiry is last_seen_at + idle
        client       TEXT    NOT NULL
      ) STRICT;
      CREATE INDEX sessions_by_user ON sessions(username);

      CREATE TABLE api_tokens (
        id           TEXT    PRIMARY KEY,
        name         TEXT    NOT NULL,
        role         TEXT    NOT NULL,
        secret_hash  TEXT    NOT NULL,   -- SHA-256 of the secret part; the secret is shown once
        created_at   INTEGER NOT NULL,
        created_by   TEXT    NOT NULL,
        expires_at   INTEGER,
        revoked_at   INTEGER,
        revoked_by   TEXT,
        last_used_at INTEGER
      ) STRICT;

      -- The audit chain. hash = SHA-256(prev_hash || canonical content) (src/audit/chain.ts), so an
      -- edited, deleted or reordered row breaks every hash after it; the triggers make accidental
      -- edits fail loudly, the chain catches deliberate ones.
      CREATE TABLE audit_log (
        seq        INTEGER PRIMARY KEY,
        at         INTEGER NOT NULL,  -- UTC epoch ms
        actor      TEXT    NOT NULL,  -- 'user:<name>', 'token:<id>', 'local:<os user>' or 'system'
        role       TEXT,              -- the role that granted the action, when one did
        action     TEXT    NOT NULL,  -- dotted verb, e.g. 'auth.login', 'user.add', 'http.denied'
        target     TEXT,              -- what was acted on: 'user:x', 'camera:y', 'token:z', ...
        outcome    TEXT    NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
        client     TEXT,              -- client address, or 'cli' / 'daemon'
        details    TEXT    NOT NULL,  -- canonical JSON object
        prev_hash  TEXT    NOT NULL,
        hash       TEXT    NOT NULL
      ) STRICT;
      CREATE INDEX audit_by_time ON audit_log(at);
      CREATE INDEX audit_by_action ON audit_log(action, at);
      CREATE INDEX audit_by_actor ON audit_log(actor, at);
      CREATE INDEX audit_by_target ON audit_log(target, at);
      CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
      CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

      -- One row: a scratch write /readyz makes to prove the catalog accepts writes.
      CREATE TABLE readiness_probe (id INTEGER PRIMARY KEY CHECK (id = 1), at INTEGER NOT NULL) STRICT;
      INSERT INTO readiness_probe (id, at) VALUES (1, 0);
    `,
  },
  {
    version: 3,
    name: "recorded segments and recording gaps",
    sql: `
      -- One row per segment file. Write protocol (recorder/segment-writer.ts): a 'recording' row is
      -- inserted when ffmpeg opens the file; on close the file is fsynced, hashed, renamed into the
      -- dated tree, both directories fsynced, and only then is the row made 'complete' with its final
      -- path, end, size and hash. So a 'complete' row always names a durable file with that hash.
      CREATE TABLE segments (
        id         INTEGER PRIMARY KEY,
        camera     TEXT    NOT NULL,
        start_ms   INTEGER NOT NULL,  -- UTC epoch ms of the first frame
        end_ms     INTEGER,           -- UTC epoch ms after the last frame; NULL while recording
        path       TEXT    NOT NULL UNIQUE, -- relative to the recordings root
        bytes      INTEGER,
        sha256     TEXT,
        codec      TEXT,
        width      INTEGER,
        height     INTEGER,
        state      TEXT    NOT NULL CHECK (state IN ('recording', 'complete', 'missing')),
        recovered  INTEGER NOT NULL DEFAULT 0, -- 1: indexed by reconciliation, not at close
        run        TEXT    NOT NULL,  -- the ffmpeg run that wrote it (segments of one run are contiguous)
        created_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX segments_by_camera_time ON segments(camera, start_ms);
      CREATE INDEX segments_by_state ON segments(state) WHERE state <> 'complete';

      -- Time a running camera was not recorded, and why (camera down, ffmpeg restart, stall).
      CREATE TABLE recording_gaps (
        id        INTEGER PRIMARY KEY,
        camera    TEXT    NOT NULL,
        start_ms  INTEGER NOT NULL,
        end_ms    INTEGER,            -- NULL while the gap is still open
        cause     TEXT    NOT NULL
      ) STRICT;
      CREATE INDEX gaps_by_camera_time ON recording_gaps(camera, start_ms);
    `,
  },
];
