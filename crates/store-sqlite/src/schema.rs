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
    r#"
-- One position sequence for the whole database instead of one per user: an
-- event takes one position and costs one row however many members read it
-- (a 10,000-member group used to write 10,000 log rows per message). A
-- user's log is read as the events of their conversations plus the entries
-- addressed to them (receipts), merged by position.
ALTER TABLE events ADD COLUMN pos INTEGER;
ALTER TABLE conversations ADD COLUMN last_pos INTEGER NOT NULL DEFAULT 0;

CREATE TEMP TABLE renumbered AS
    SELECT conv_id, seq, ROW_NUMBER() OVER (ORDER BY conv_id, seq) AS n FROM events;
UPDATE events SET pos = r.n FROM renumbered r WHERE r.conv_id = events.conv_id AND r.seq = events.seq;
DROP TABLE renumbered;
CREATE UNIQUE INDEX events_by_pos ON events(conv_id, pos);
UPDATE conversations SET last_pos = COALESCE((SELECT MAX(pos) FROM events WHERE conv_id = conversations.id), 0);

-- the newest position handed out
CREATE TABLE log_head (
    id  INTEGER PRIMARY KEY CHECK (id = 0),
    pos INTEGER NOT NULL
);
-- above every position handed out so far, old per-user ones included, so
-- no cursor from before can ever look like a new one
INSERT INTO log_head (id, pos) VALUES (0, MAX(
    COALESCE((SELECT MAX(pos) FROM events), 0),
    COALESCE((SELECT MAX(useq) FROM user_log), 0),
    COALESCE((SELECT MAX(log_floor) FROM users), 0)));

-- entries addressed to one user (receipts, as that user sees them)
CREATE TABLE user_items (
    user_id BLOB NOT NULL,
    pos     INTEGER NOT NULL,
    conv_id BLOB NOT NULL,
    receipt TEXT NOT NULL,
    PRIMARY KEY (user_id, pos)
) WITHOUT ROWID;

-- cursors handed out before this migration counted per user: they cannot be
-- served any more, and a device that presents one is told to resync
UPDATE users SET log_floor = (SELECT pos FROM log_head WHERE id = 0);
DROP TABLE user_log;
"#,
    // 4: a refresh retried after its answer was lost gets the same answer.
    r#"
-- when a refresh token was exchanged, and for which successor (by hash)
ALTER TABLE refresh_tokens ADD COLUMN superseded_at INTEGER;
ALTER TABLE refresh_tokens ADD COLUMN successor BLOB;
"#,
    // 5: blocks, and message requests in direct conversations.
    r#"
-- user_id has blocked blocked_id
CREATE TABLE blocks (
    user_id    BLOB NOT NULL REFERENCES users(id),
    blocked_id BLOB NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, blocked_id)
) WITHOUT ROWID;
CREATE INDEX blocks_by_blocked ON blocks(blocked_id, user_id);

-- 0 while a direct conversation is a request to this member: the other
-- member started it and this one has neither accepted nor sent in it
ALTER TABLE members ADD COLUMN accepted INTEGER NOT NULL DEFAULT 1;
UPDATE members SET accepted = 0
 WHERE EXISTS (SELECT 1 FROM conversations c
                WHERE c.id = members.conv_id AND c.kind = 'direct'
                  AND c.creator <> members.user_id)
   AND NOT EXISTS (SELECT 1 FROM events e
                    WHERE e.conv_id = members.conv_id AND e.sender = members.user_id
                      AND e.kind = 'message');
"#,
    // 6: leaving groups, and who may add a user to groups.
    r#"
-- who may add this user to a group at once (others' adds are invitations)
ALTER TABLE users ADD COLUMN group_adds TEXT NOT NULL DEFAULT 'everyone';

-- memberships that ended: the leaver's log still carries the conversation's
-- events from joined_seq up to left_seq (their own member_left event)
CREATE TABLE former_members (
    user_id    BLOB NOT NULL,
    conv_id    BLOB NOT NULL,
    joined_seq INTEGER NOT NULL,
    left_seq   INTEGER NOT NULL,
    PRIMARY KEY (user_id, conv_id, joined_seq)
) WITHOUT ROWID;
"#,
    // 7: roles and bans.
    r#"
-- a member's role: owner (one per group), admin, moderator or member
ALTER TABLE members ADD COLUMN role TEXT NOT NULL DEFAULT 'member';
UPDATE members SET role = 'owner'
 WHERE EXISTS (SELECT 1 FROM conversations c
                WHERE c.id = members.conv_id AND c.kind = 'group'
                  AND c.creator = members.user_id);

-- users kept out of a group until unbanned
CREATE TABLE bans (
    conv_id    BLOB NOT NULL,
    user_id    BLOB NOT NULL,
    by_id      BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (conv_id, user_id)
) WITHOUT ROWID;
"#,
    // 8: group settings: description and history visibility.
    r#"
ALTER TABLE conversations ADD COLUMN description TEXT;
-- what people who join from now on may read: 'joined', 'all' or 'days'
-- (with history_days)
ALTER TABLE conversations ADD COLUMN history TEXT NOT NULL DEFAULT 'joined';
ALTER TABLE conversations ADD COLUMN history_days INTEGER;
-- the first seq a member may read in history, fixed when they join
ALTER TABLE members ADD COLUMN visible_seq INTEGER NOT NULL DEFAULT 0;
UPDATE members SET visible_seq = joined_seq;
"#,
    // 9: invite links.
    r#"
CREATE TABLE invites (
    token       TEXT PRIMARY KEY,
    conv_id     BLOB NOT NULL,
    created_by  BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER,
    max_uses    INTEGER,
    uses        INTEGER NOT NULL DEFAULT 0,
    revoked_at  INTEGER
) WITHOUT ROWID;
CREATE INDEX invites_by_conv ON invites(conv_id, created_at);
"#,
    // 10: server admins and suspended accounts.
    r#"
ALTER TABLE users ADD COLUMN admin INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN suspended_at INTEGER;
"#,
    // 11: reports of messages.
    r#"
CREATE TABLE reports (
    id          BLOB PRIMARY KEY,
    conv_id     BLOB NOT NULL,
    seq         INTEGER NOT NULL,
    sender      BLOB NOT NULL,
    text        TEXT NOT NULL,
    reporter    BLOB NOT NULL,
    reason      TEXT NOT NULL,
    note        TEXT,
    created_at  INTEGER NOT NULL,
    resolved_by BLOB,
    resolved_at INTEGER,
    resolution  TEXT,
    UNIQUE (conv_id, seq, reporter)
) WITHOUT ROWID;
CREATE INDEX reports_by_conv ON reports(conv_id, created_at);
CREATE INDEX reports_open ON reports(created_at) WHERE resolved_at IS NULL;
"#,
    // 12: slow mode and muted members.
    r#"
ALTER TABLE conversations ADD COLUMN slow_mode_secs INTEGER NOT NULL DEFAULT 0;
ALTER TABLE members ADD COLUMN muted_until INTEGER;
-- when the member last posted, kept only while the group has slow mode
ALTER TABLE members ADD COLUMN last_post_at INTEGER;
"#,
    // 13: broadcast channels: items addressed to one user are receipts or
    // (silent) membership changes; views count read watermarks.
    r#"
ALTER TABLE user_items ADD COLUMN kind TEXT NOT NULL DEFAULT 'receipt';
CREATE INDEX members_by_read ON members(conv_id, read_seq);
"#,
    // 14: profiles and the user directory.
    r#"
ALTER TABLE users ADD COLUMN display_name TEXT;
ALTER TABLE users ADD COLUMN about TEXT;
ALTER TABLE users ADD COLUMN discoverable INTEGER NOT NULL DEFAULT 1;
-- the display name lowercased, for prefix search
ALTER TABLE users ADD COLUMN name_key TEXT;
CREATE INDEX users_by_name_key ON users(name_key) WHERE name_key IS NOT NULL;
"#,
    // 15: each member's own settings for a conversation.
    r#"
ALTER TABLE members ADD COLUMN muted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE members ADD COLUMN hide_badge INTEGER NOT NULL DEFAULT 0;
ALTER TABLE members ADD COLUMN archived INTEGER NOT NULL DEFAULT 0;
ALTER TABLE members ADD COLUMN pinned_at INTEGER;
ALTER TABLE members ADD COLUMN marked_unread INTEGER NOT NULL DEFAULT 0;
"#,
    // 16: rich messages. `target` is the seq an event acts on (an edit, a
    // reaction, a pin) or, on a thread reply, its root; `in_thread` marks
    // thread replies kept out of the main timeline.
    r#"
ALTER TABLE events ADD COLUMN target INTEGER;
ALTER TABLE events ADD COLUMN in_thread INTEGER NOT NULL DEFAULT 0;
CREATE INDEX events_by_target ON events(conv_id, target, seq) WHERE target IS NOT NULL;
-- earlier versions of edited messages (the current text is in events)
CREATE TABLE message_edits (
    conv_id BLOB NOT NULL,
    seq     INTEGER NOT NULL,
    version INTEGER NOT NULL,
    text    TEXT NOT NULL,
    at      INTEGER NOT NULL,
    PRIMARY KEY (conv_id, seq, version)
) WITHOUT ROWID;
CREATE TABLE reactions (
    conv_id BLOB NOT NULL,
    seq     INTEGER NOT NULL,
    emoji   TEXT NOT NULL,
    user_id BLOB NOT NULL,
    at      INTEGER NOT NULL,
    PRIMARY KEY (conv_id, seq, emoji, user_id)
) WITHOUT ROWID;
CREATE INDEX reactions_in_order ON reactions(conv_id, seq, emoji, at, user_id);
CREATE INDEX reactions_by_user ON reactions(conv_id, seq, user_id);
CREATE TABLE pins (
    conv_id BLOB NOT NULL,
    seq     INTEGER NOT NULL,
    by_user BLOB NOT NULL,
    at      INTEGER NOT NULL,
    PRIMARY KEY (conv_id, seq)
) WITHOUT ROWID;
-- messages a user deleted for themselves
CREATE TABLE hidden (
    user_id BLOB NOT NULL,
    conv_id BLOB NOT NULL,
    seq     INTEGER NOT NULL,
    PRIMARY KEY (user_id, conv_id, seq)
) WITHOUT ROWID;
-- who a message mentions; user_id is sixteen zero bytes for @everyone/@here
CREATE TABLE mentions (
    conv_id BLOB NOT NULL,
    user_id BLOB NOT NULL,
    seq     INTEGER NOT NULL,
    sender  BLOB NOT NULL,
    PRIMARY KEY (conv_id, user_id, seq)
) WITHOUT ROWID;
CREATE TABLE threads (
    conv_id      BLOB NOT NULL,
    root         INTEGER NOT NULL,
    replies      INTEGER NOT NULL,
    last_seq     INTEGER NOT NULL,
    last_at      INTEGER NOT NULL,
    participants TEXT NOT NULL,
    PRIMARY KEY (conv_id, root)
) WITHOUT ROWID;
CREATE TABLE thread_reads (
    user_id BLOB NOT NULL,
    conv_id BLOB NOT NULL,
    root    INTEGER NOT NULL,
    seq     INTEGER NOT NULL,
    PRIMARY KEY (user_id, conv_id, root)
) WITHOUT ROWID;
"#,
    // 17: uploads (their bytes are in the blob store, by `blob`).
    r#"
CREATE TABLE uploads (
    id           BLOB PRIMARY KEY,
    owner        BLOB NOT NULL REFERENCES users(id),
    length       INTEGER NOT NULL,
    name         TEXT,
    claimed_type TEXT,
    created_at   INTEGER NOT NULL,
    blob         TEXT,
    kind         TEXT,
    mime         TEXT,
    completed_at INTEGER
);
CREATE INDEX uploads_by_owner ON uploads(owner);
CREATE INDEX uploads_by_blob ON uploads(blob) WHERE blob IS NOT NULL;
"#,
    // 18: which messages hold which uploads (who may download them).
    r#"
CREATE TABLE message_uploads (
    upload_id BLOB NOT NULL,
    conv_id   BLOB NOT NULL,
    seq       INTEGER NOT NULL,
    PRIMARY KEY (upload_id, conv_id, seq)
) WITHOUT ROWID;
CREATE INDEX message_uploads_by_message ON message_uploads(conv_id, seq);
"#,
    // 19: what processing reads from uploads, thumbnails, and avatars.
    r#"
ALTER TABLE uploads ADD COLUMN voice INTEGER NOT NULL DEFAULT 0;
ALTER TABLE uploads ADD COLUMN keep_location INTEGER NOT NULL DEFAULT 0;
ALTER TABLE uploads ADD COLUMN declared_ms INTEGER;
ALTER TABLE uploads ADD COLUMN meta TEXT;
ALTER TABLE uploads ADD COLUMN thumb_blob TEXT;
CREATE INDEX uploads_by_thumb ON uploads(thumb_blob) WHERE thumb_blob IS NOT NULL;
CREATE INDEX uploads_unprocessed ON uploads(completed_at) WHERE blob IS NOT NULL AND meta IS NULL;
CREATE TABLE avatars (
    id    TEXT PRIMARY KEY,
    small TEXT NOT NULL,
    large TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX avatars_by_small ON avatars(small);
ALTER TABLE users ADD COLUMN avatar TEXT;
ALTER TABLE conversations ADD COLUMN avatar TEXT;
CREATE INDEX users_by_avatar ON users(avatar) WHERE avatar IS NOT NULL;
CREATE INDEX conversations_by_avatar ON conversations(avatar) WHERE avatar IS NOT NULL;
"#,
    // 20: full-text search. Each conversation gets a small number; a
    // message's document id is `num << 32 | seq`, so "this conversation,
    // from this seq on" is a rowid range the index answers directly. The
    // index is contentless: the text lives once, in `events`.
    r#"
ALTER TABLE conversations ADD COLUMN num INTEGER;
UPDATE conversations SET num = rowid;
CREATE UNIQUE INDEX conversations_by_num ON conversations(num);
CREATE TRIGGER conversations_number AFTER INSERT ON conversations WHEN NEW.num IS NULL
BEGIN
    UPDATE conversations SET num = (SELECT COALESCE(MAX(num), 0) + 1 FROM conversations)
    WHERE rowid = NEW.rowid;
END;
CREATE VIRTUAL TABLE message_search USING fts5(
    body,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
);
"#,
];

/// The migration that creates the search index; its rows are filled in
/// from the messages already there right after it runs.
pub(crate) const SEARCH_VERSION: usize = 20;
