-- Removals that wait (DESIGN §3, §10 "Mass removal"; `removal.grace`): a change that would
-- take access from too many users at once stores its removals here instead of applying
-- them, and so does every loss of access while `removal.grace` is set. The user keeps
-- their access until an administrator approves (the removal is then re-checked and
-- applied through the lifecycle) or rejects it, or — grace — until `due_at`.
-- No foreign key to users: the record outlives the user it is about.
CREATE TABLE pending_removals (
    seq        INTEGER NOT NULL CONSTRAINT pending_removals_pkey PRIMARY KEY AUTOINCREMENT,
    id         TEXT    NOT NULL CONSTRAINT pending_removals_id_key UNIQUE,
    user_id    TEXT    NOT NULL,
    connection TEXT    NOT NULL,
    user_name  TEXT    NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind IN ('mass', 'grace')),
    change_id  TEXT    NOT NULL,
    previous   TEXT    NOT NULL,
    reason     TEXT    NOT NULL,
    cause      TEXT    NOT NULL,
    status     TEXT    NOT NULL
        CHECK (status IN ('pending', 'approved', 'rejected', 'obsolete', 'superseded')),
    created_at TEXT    NOT NULL,
    due_at     TEXT,
    decided_at TEXT,
    decided_by TEXT
);
-- At most one removal of a user waits at a time.
CREATE UNIQUE INDEX pending_removals_user_pending_key ON pending_removals (user_id)
    WHERE status = 'pending';
CREATE INDEX pending_removals_status_idx ON pending_removals (status, seq);
CREATE INDEX pending_removals_due_idx ON pending_removals (due_at) WHERE status = 'pending';

-- Config reloads refused as mass removals, by the fingerprint of their inputs. An
-- administrator's approval is recorded here, so every replica reading the same file
-- applies it (each polls this table), and the same file is never held again once approved.
CREATE TABLE held_configs (
    fingerprint TEXT    NOT NULL CONSTRAINT held_configs_pkey PRIMARY KEY,
    source      TEXT    NOT NULL,
    removals    BIGINT  NOT NULL,
    with_access BIGINT  NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('held', 'approved', 'rejected')),
    held_at     TEXT    NOT NULL,
    decided_at  TEXT,
    decided_by  TEXT
);
