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
        -- recording → complete → purging → purged (retention/purger.ts), or missing (file lost)
        state      TEXT    NOT NULL CHECK (state IN ('recording', 'complete', 'missing', 'purging', 'purged')),
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
  {
    version: 4,
    name: "holds from written requests, destruction log, purge runs",
    sql: `
      -- A written hold request (the department's form) and, once the commander approves it, the hold.
      -- The hold has the request's id. requested → active → released, or requested → refused.
      CREATE TABLE holds (
        id            INTEGER PRIMARY KEY,
        form_number   TEXT    NOT NULL,
        received_on   TEXT    NOT NULL,  -- YYYY-MM-DD the signed form was received
        requested_by  TEXT    NOT NULL,  -- requesting member or party
        agency        TEXT    NOT NULL,
        case_number   TEXT    NOT NULL,
        legal_basis   TEXT    NOT NULL CHECK (legal_basis IN ('criminal', 'agency_request', 'court_order')),
        reason        TEXT    NOT NULL,
        form_path     TEXT    NOT NULL,  -- scanned signed form, relative to the evidence root
        form_sha256   TEXT    NOT NULL,
        form_type     TEXT    NOT NULL,
        form_bytes    INTEGER NOT NULL,
        entered_by    TEXT    NOT NULL,
        entered_at    INTEGER NOT NULL,
        status        TEXT    NOT NULL CHECK (status IN ('requested', 'active', 'refused', 'released')),
        decided_by    TEXT,              -- the commander who approved or refused it
        decided_at    INTEGER,
        decision_note TEXT,
        released_by   TEXT,
        released_at   INTEGER,
        release_reason TEXT
      ) STRICT;
      CREATE INDEX holds_by_case ON holds(case_number);

      -- What a hold covers. protecting = 1 while the request is pending or the hold active: the purger
      -- never destroys a segment that overlaps a protecting range (Invariant, retention/purger.ts).
      CREATE TABLE hold_ranges (
        hold       INTEGER NOT NULL REFERENCES holds(id),
        camera     TEXT    NOT NULL,
        start_ms   INTEGER NOT NULL,
        end_ms     INTEGER NOT NULL CHECK (end_ms > start_ms),
        protecting INTEGER NOT NULL DEFAULT 1 CHECK (protecting IN (0, 1))
      ) STRICT;
      CREATE INDEX hold_ranges_protecting ON hold_ranges(camera, start_ms, end_ms) WHERE protecting = 1;

      -- Segments copied into evidence/<hold>/ (hard link or copy), with the hash they had.
      CREATE TABLE hold_segments (
        hold      INTEGER NOT NULL REFERENCES holds(id),
        segment   INTEGER NOT NULL REFERENCES segments(id),
        file      TEXT    NOT NULL,  -- relative to the evidence root
        sha256    TEXT    NOT NULL,
        bytes     INTEGER NOT NULL,
        linked_at INTEGER NOT NULL,
        PRIMARY KEY (hold, segment)
      ) STRICT;

      -- One row per purge run, written at its start and completed at its end.
      CREATE TABLE purge_runs (
        id          INTEGER PRIMARY KEY,
        trigger     TEXT    NOT NULL,  -- schedule, manual, disk_pressure
        actor       TEXT    NOT NULL,
        started_at  INTEGER NOT NULL,
        finished_at INTEGER,
        cutoff_ms   INTEGER NOT NULL,  -- segments ending before this were expired
        destroyed   INTEGER NOT NULL DEFAULT 0,
        bytes       INTEGER NOT NULL DEFAULT 0,
        failures    INTEGER NOT NULL DEFAULT 0,
        error       TEXT
      ) STRICT;

      -- The proof that the retention schedule was followed: kept after the file is gone, never edited.
      CREATE TABLE destruction_log (
        id           INTEGER PRIMARY KEY,
        segment      INTEGER NOT NULL UNIQUE REFERENCES segments(id),
        camera       TEXT    NOT NULL,
        start_ms     INTEGER NOT NULL,
        end_ms       INTEGER NOT NULL,
        bytes        INTEGER NOT NULL,
        sha256       TEXT    NOT NULL,
        path         TEXT    NOT NULL,
        reason       TEXT    NOT NULL CHECK (reason IN ('retention', 'disk_pressure')),
        run          INTEGER NOT NULL REFERENCES purge_runs(id),
        destroyed_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX destruction_by_camera_time ON destruction_log(camera, start_ms);
      CREATE TRIGGER destruction_log_no_update BEFORE UPDATE ON destruction_log
        BEGIN SELECT RAISE(ABORT, 'destruction_log is append-only'); END;
      CREATE TRIGGER destruction_log_no_delete BEFORE DELETE ON destruction_log
        BEGIN SELECT RAISE(ABORT, 'destruction_log is append-only'); END;

      -- A segment the purger has decided to destroy (state 'purging'), until its destruction is
      -- recorded: a run killed in between is finished by the next one with the same reason.
      CREATE TABLE purge_marks (
        segment INTEGER PRIMARY KEY REFERENCES segments(id),
        run     INTEGER NOT NULL REFERENCES purge_runs(id),
        reason  TEXT    NOT NULL
      ) STRICT;

      -- The purger's question, answered from an index: complete segments by end time.
      CREATE INDEX segments_expiry ON segments(end_ms) WHERE state = 'complete';
    `,
  },
  {
    version: 5,
    name: "evidence exports and their downloads",
    sql: `
      -- An export of held footage to a recipient, on a legal basis: entered by records, approved by a
      -- commander who did not enter it (retention/export/desk.ts). requested → refused | queued →
      -- running → done | failed; requested or queued → cancelled.
      CREATE TABLE exports (
        id              INTEGER PRIMARY KEY,
        hold            INTEGER NOT NULL REFERENCES holds(id),
        basis_type      TEXT    NOT NULL CHECK (basis_type IN ('criminal', 'agency_request', 'court_order')),
        basis           TEXT    NOT NULL,  -- JSON: BasisFields (src/exports/package-format.ts)
        scan_path       TEXT,              -- the basis's stored scan, relative to the evidence root
        recipient       TEXT    NOT NULL,  -- JSON: { name, organisation, delivery }
        purpose         TEXT    NOT NULL,
        ranges          TEXT    NOT NULL,  -- JSON: [{ camera, fromMs, toMs }]
        status          TEXT    NOT NULL CHECK (status IN
                          ('requested', 'refused', 'queued', 'running', 'done', 'failed', 'cancelled')),
        requested_by    TEXT    NOT NULL,
        requested_at    INTEGER NOT NULL,
        decided_by      TEXT,              -- the commander who approved or refused it
        decided_at      INTEGER,
        decision_note   TEXT,
        cancelled_by    TEXT,
        cancelled_at    INTEGER,
        bytes_done      INTEGER,           -- progress of a running job
        bytes_total     INTEGER,
        eta_ms          INTEGER,
        error           TEXT,              -- why it failed, was refused or cancelled
        package_path    TEXT,              -- once done: the package folder, relative to the exports root
        manifest_sha256 TEXT,
        package_bytes   INTEGER,
        produced_at     INTEGER
      ) STRICT;
      CREATE INDEX exports_by_status ON exports(status);
      CREATE INDEX exports_by_hold ON exports(hold);

      -- Every download of a finished package: who, when, from where, how much of it.
      CREATE TABLE export_downloads (
        id        INTEGER PRIMARY KEY,
        export    INTEGER NOT NULL REFERENCES exports(id),
        by_actor  TEXT    NOT NULL,
        at        INTEGER NOT NULL,
        from_addr TEXT    NOT NULL,
        bytes     INTEGER NOT NULL,
        complete  INTEGER NOT NULL CHECK (complete IN (0, 1))
      ) STRICT;
      CREATE INDEX export_downloads_by_export ON export_downloads(export);
    `,
  },
  {
    version: 6,
    name: "camera identities as seen over ONVIF",
    sql: `
      -- What each camera said it is (GetDeviceInformation) at each connection where that changed:
      -- an export states which device recorded the footage, and a swapped or reflashed camera shows.
      CREATE TABLE camera_identities (
        camera       TEXT    NOT NULL,
        seen_at      INTEGER NOT NULL, -- UTC epoch ms, first connection that reported this identity
        manufacturer TEXT    NOT NULL,
        model        TEXT    NOT NULL,
        serial       TEXT    NOT NULL,
        firmware     TEXT    NOT NULL,
        PRIMARY KEY (camera, seen_at)
      ) STRICT;
    `,
  },
  {
    version: 7,
    name: "PTZ sessions and their commands",
    sql: `
      -- Who controlled which camera, why, from when to when, and how control ended: every movement
      -- can be explained later (policy, Use Procedures 7).
      CREATE TABLE ptz_sessions (
        id           INTEGER PRIMARY KEY,
        camera       TEXT    NOT NULL,
        actor        TEXT    NOT NULL,
        role         TEXT,
        purpose_kind TEXT    NOT NULL CHECK (purpose_kind IN ('incident', 'event', 'emergency', 'investigation')),
        purpose_ref  TEXT,
        purpose_note TEXT,
        started_at   INTEGER NOT NULL, -- UTC epoch ms
        ended_at     INTEGER,
        end_reason   TEXT CHECK (end_reason IN ('released', 'expired', 'taken-over', 'stopped')),
        ended_by     TEXT,             -- the supervisor who took over, for 'taken-over'
        CHECK ((ended_at IS NULL) = (end_reason IS NULL))
      ) STRICT;
      CREATE INDEX ptz_sessions_by_start ON ptz_sessions(started_at);
      CREATE INDEX ptz_sessions_open ON ptz_sessions(camera) WHERE ended_at IS NULL;
      -- Every command of a session, in order; a continuous move's coalesced updates are one row.
      CREATE TABLE ptz_commands (
        session INTEGER NOT NULL REFERENCES ptz_sessions(id),
        seq     INTEGER NOT NULL,
        at      INTEGER NOT NULL,
        kind    TEXT    NOT NULL,
        params  TEXT    NOT NULL, -- JSON
        outcome TEXT    NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
        updates INTEGER NOT NULL DEFAULT 1,
        error   TEXT,
        PRIMARY KEY (session, seq)
      ) STRICT;
    `,
  },
  {
    version: 8,
    name: "privacy zones set through the API",
    sql: `
      -- Where a camera may not look (policy, Use Procedures 4), as admins set them; the config
      -- file's zones are not here. Who set each and why is in the audit log.
      CREATE TABLE privacy_zones (
        camera     TEXT    NOT NULL,
        id         TEXT    NOT NULL,
        pan_min    REAL    NOT NULL,
        pan_max    REAL    NOT NULL,
        tilt_min   REAL    NOT NULL,
        tilt_max   REAL    NOT NULL,
        max_zoom   REAL    NOT NULL,
        set_at     INTEGER NOT NULL, -- UTC epoch ms
        set_by     TEXT    NOT NULL,
        CHECK (pan_min < pan_max AND tilt_min < tilt_max),
        PRIMARY KEY (camera, id)
      ) STRICT;
    `,
  },
  {
    version: 9,
    name: "a segment's frame rate",
    sql: `
      -- Frames per second of the segment's video, as ffmpeg or ffprobe read it (NULL: not known,
      -- e.g. rows written before this column): playback steps one frame by it.
      ALTER TABLE segments ADD COLUMN fps REAL CHECK (fps IS NULL OR fps > 0);
    `,
  },
  {
    version: 10,
    name: "an account's last sign-in",
    sql: `
      -- UTC epoch ms of the account's last successful sign-in with its password (NULL: never, or
      -- not since before this column): so an admin sees stale accounts (policy: access limited to
      -- those who need it). Machine tokens are not sign-ins and do not set it.
      ALTER TABLE users ADD COLUMN last_sign_in_at INTEGER;
    `,
  },
];
