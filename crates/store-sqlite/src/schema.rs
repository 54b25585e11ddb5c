//! Migrations, applied in order at open; `PRAGMA user_version` records how
//! many have run.

/// Each entry is one migration; never edit one that has shipped, append.
pub(crate) const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE users (
    id            BLOB PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    -- log entries at or below this were pruned; cursors below it need a resync
    log_floor     INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE sessions (
    device_id      BLOB PRIMARY KEY,
    user_id        BLOB NOT NULL REFERENCES users(id),
    name           TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    last_active_at INTEGER NOT NULL,
    revoked_at     INTEGER
);
CREATE INDEX sessions_by_user ON sessions(user_id);

-- every refresh token ever issued, so a reused one is recognised
CREATE TABLE refresh_tokens (
    hash       BLOB PRIMARY KEY,
    device_id  BLOB NOT NULL REFERENCES sessions(device_id),
    superseded INTEGER NOT NULL DEFAULT 0,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX refresh_tokens_by_device ON refresh_tokens(device_id);

CREATE TABLE conversations (
    id           BLOB PRIMARY KEY,
    kind         TEXT NOT NULL,
    name         TEXT,
    creator      BLOB NOT NULL REFERENCES users(id),
    created_at   INTEGER NOT NULL,
    -- sorted pair of user ids; makes a direct conversation unique per pair
    direct_key   BLOB UNIQUE,
    last_seq     INTEGER NOT NULL,
    last_msg_seq INTEGER NOT NULL DEFAULT 0,
    last_ts      INTEGER NOT NULL,
    member_count INTEGER NOT NULL
);

CREATE TABLE members (
    conv_id    BLOB NOT NULL REFERENCES conversations(id),
    user_id    BLOB NOT NULL REFERENCES users(id),
    joined_seq INTEGER NOT NULL,
    joined_at  INTEGER NOT NULL,
    PRIMARY KEY (conv_id, user_id)
) WITHOUT ROWID;
CREATE INDEX members_by_user ON members(user_id, conv_id);

-- kind-specific data: message columns for messages, `payload` (the event
-- body as JSON) for everything else
CREATE TABLE events (
    conv_id   BLOB NOT NULL,
    seq       INTEGER NOT NULL,
    ts        INTEGER NOT NULL,
    sender    BLOB NOT NULL,
    kind      TEXT NOT NULL,
    msg_id    BLOB,
    client_id TEXT,
    device_id BLOB,
    text      TEXT,
    payload   TEXT,
    PRIMARY KEY (conv_id, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX events_by_client_id ON events(conv_id, sender, client_id)
    WHERE client_id IS NOT NULL;

-- the per-user log behind the resume cursor
CREATE TABLE user_log (
    user_id BLOB NOT NULL,
    useq    INTEGER NOT NULL,
    conv_id BLOB NOT NULL,
    seq     INTEGER NOT NULL,
    PRIMARY KEY (user_id, useq)
) WITHOUT ROWID;
"#,
    r#"
-- receipts are watermarks per member, never a row per message per reader
ALTER TABLE members ADD COLUMN delivered_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE members ADD COLUMN read_seq INTEGER NOT NULL DEFAULT 0;

ALTER TABLE users ADD COLUMN last_seen_at INTEGER;
ALTER TABLE users ADD COLUMN presence_visibility TEXT NOT NULL DEFAULT 'everyone';
ALTER TABLE users ADD COLUMN read_receipts INTEGER NOT NULL DEFAULT 1;

-- a log entry is an event (conv_id, seq) or a receipt (conv_id, seq = 0,
-- and the receipt as this user sees it, as JSON)
ALTER TABLE user_log ADD COLUMN receipt TEXT;
"#,
];
