-- idp-sync schema, version 1 (SQLite). migrations/postgres/0001_initial.sql is the same
-- schema in PostgreSQL's words: keep every change in both folders with the same version
-- and name. Every unique constraint and index is named: src/store/error.rs maps them to
-- typed conflicts (SQLite reports the columns, PostgreSQL the name).
--
-- Timestamps are TEXT in the fixed-width form 2026-11-21T10:00:00.000000Z, so text order
-- is time order. JSON is TEXT. `*_key` columns hold the Unicode lower case of a name,
-- computed by idp-sync, so both engines compare names the same way.

CREATE TABLE users (
    id             TEXT    NOT NULL CONSTRAINT users_pkey PRIMARY KEY,
    connection     TEXT    NOT NULL,
    user_name      TEXT    NOT NULL,
    user_name_key  TEXT    NOT NULL,
    external_id    TEXT,
    sso_subject    TEXT,
    email          TEXT,
    display_name   TEXT,
    given_name     TEXT,
    family_name    TEXT,
    active         BOOLEAN NOT NULL,
    state          TEXT    NOT NULL
        CHECK (state IN ('provisioned', 'invited', 'active', 'suspended', 'removed')),
    accepted_at    TEXT,
    scim           TEXT    NOT NULL,
    version        BIGINT  NOT NULL,
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL
);
CREATE UNIQUE INDEX users_connection_user_name_key ON users (connection, user_name_key);
CREATE UNIQUE INDEX users_connection_external_id_key ON users (connection, external_id)
    WHERE external_id IS NOT NULL;
CREATE UNIQUE INDEX users_connection_sso_subject_key ON users (connection, sso_subject)
    WHERE sso_subject IS NOT NULL;
CREATE INDEX users_connection_email_idx ON users (connection, email);
CREATE INDEX users_state_idx ON users (state);

CREATE TABLE idp_groups (
    id               TEXT   NOT NULL CONSTRAINT idp_groups_pkey PRIMARY KEY,
    connection       TEXT   NOT NULL,
    display_name     TEXT   NOT NULL,
    display_name_key TEXT   NOT NULL,
    external_id      TEXT,
    version          BIGINT NOT NULL,
    created_at       TEXT   NOT NULL,
    updated_at       TEXT   NOT NULL
);
CREATE UNIQUE INDEX idp_groups_connection_external_id_key ON idp_groups (connection, external_id)
    WHERE external_id IS NOT NULL;
-- Display names identify groups only loosely (IdPs rename them); indexed, not unique.
CREATE INDEX idp_groups_connection_display_name_idx ON idp_groups (connection, display_name_key);

CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES idp_groups (id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT group_members_pkey PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user_id_idx ON group_members (user_id);

CREATE TABLE user_access (
    user_id           TEXT NOT NULL CONSTRAINT user_access_pkey PRIMARY KEY
        REFERENCES users (id) ON DELETE CASCADE,
    role              TEXT NOT NULL,
    local_groups      TEXT NOT NULL,
    permissions       TEXT NOT NULL,
    allow_asset_types TEXT NOT NULL,
    role_sources      TEXT NOT NULL,
    capped_from       TEXT,
    updated_at        TEXT NOT NULL
);
CREATE INDEX user_access_role_idx ON user_access (role);

CREATE TABLE access_grants (
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    organization TEXT NOT NULL,
    role         TEXT NOT NULL,
    sources      TEXT NOT NULL,
    CONSTRAINT access_grants_pkey PRIMARY KEY (user_id, organization)
);
CREATE INDEX access_grants_organization_idx ON access_grants (organization);

CREATE TABLE invitations (
    id           TEXT NOT NULL CONSTRAINT invitations_pkey PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash   TEXT NOT NULL CONSTRAINT invitations_token_hash_key UNIQUE,
    email        TEXT NOT NULL,
    invited_by   TEXT NOT NULL,
    access       TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'expired', 'revoked')),
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    renewed_from TEXT
);
CREATE INDEX invitations_user_id_idx ON invitations (user_id, created_at);

CREATE TABLE sessions (
    id_hash      TEXT NOT NULL CONSTRAINT sessions_pkey PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    connection   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    revoked_at   TEXT
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);

-- No foreign key to users: audit rows outlive the user they are about.
CREATE TABLE audit_events (
    seq         INTEGER NOT NULL CONSTRAINT audit_events_pkey PRIMARY KEY AUTOINCREMENT,
    occurred_at TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    connection  TEXT,
    user_id     TEXT,
    user_name   TEXT,
    detail      TEXT    NOT NULL
);
CREATE INDEX audit_events_user_id_idx ON audit_events (user_id, seq);
CREATE INDEX audit_events_kind_idx ON audit_events (kind, seq);
CREATE INDEX audit_events_occurred_at_idx ON audit_events (occurred_at);

-- `seq` orders delivery; `id` (evt_…) is the event's identity and idempotency key. Both
-- engines make `seq` the primary key because SQLite can only autoincrement that one.
-- No foreign key to users: an event about a removed user must still be delivered.
CREATE TABLE outbox_events (
    seq         INTEGER NOT NULL CONSTRAINT outbox_events_pkey PRIMARY KEY AUTOINCREMENT,
    id          TEXT    NOT NULL CONSTRAINT outbox_events_id_key UNIQUE,
    event_type  TEXT    NOT NULL,
    user_id     TEXT,
    occurred_at TEXT    NOT NULL,
    payload     TEXT    NOT NULL
);
CREATE INDEX outbox_events_user_id_idx ON outbox_events (user_id, seq);

CREATE TABLE outbox_deliveries (
    event_id        TEXT    NOT NULL REFERENCES outbox_events (id) ON DELETE CASCADE,
    destination     TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts        BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at TEXT    NOT NULL,
    claimed_until   TEXT,
    last_error      TEXT,
    delivered_at    TEXT,
    CONSTRAINT outbox_deliveries_pkey PRIMARY KEY (event_id, destination)
);
CREATE INDEX outbox_deliveries_due_idx ON outbox_deliveries (status, next_attempt_at);

CREATE TABLE saml_replay (
    assertion_id TEXT NOT NULL CONSTRAINT saml_replay_pkey PRIMARY KEY,
    expires_at   TEXT NOT NULL
);
CREATE INDEX saml_replay_expires_at_idx ON saml_replay (expires_at);
