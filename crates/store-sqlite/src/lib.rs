//! natter's embedded storage backend: one SQLite file in WAL mode.
//!
//! Writes go through a single writer thread that batches them into one
//! transaction and one fsync (group commit, see `writer`); reads use a small
//! pool of read-only connections on the blocking thread pool, which WAL lets
//! run beside the writer. Row types are private to this crate and converted
//! into the records of `natter-store`.
//!
//! Depends on `natter-store` and `natter-proto` only; knows nothing of HTTP.

#![forbid(unsafe_code)]

mod cache;
mod rows;
mod schema;
mod writer;

use async_trait::async_trait;
use natter_proto::{
    ConversationId, ConversationKind, Cursor, DeviceId, Event, EventBody, LogItem, Privacy,
    Receipt, ReceiptKind, UserId,
};
use natter_store::*;
use rows::*;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use writer::{Ctx, FeedSlot, FnJob, Job};

/// Tuning knobs of the SQLite backend.
#[derive(Clone, Debug)]
pub struct SqliteOptions {
    /// Most jobs committed in one transaction.
    pub max_batch: usize,
    /// Jobs that may wait for the writer; senders wait when it is full.
    pub queue: usize,
    /// Read connections kept open.
    pub readers: usize,
    /// Capacity of the commit feed, in batches.
    pub feed: usize,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            max_batch: 512,
            queue: 8192,
            readers: 4,
            feed: 1024,
        }
    }
}

/// The SQLite store. Cheap to share behind an `Arc`.
pub struct SqliteStore {
    path: PathBuf,
    jobs: Mutex<Option<mpsc::Sender<Box<dyn Job>>>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Copies the WAL into the database off the writer's path; dropping the
    /// sender stops it.
    checkpointer: Mutex<Option<(std::sync::mpsc::Sender<()>, std::thread::JoinHandle<()>)>>,
    readers: Arc<Mutex<Vec<Connection>>>,
    /// Bounds concurrent reads to the number of read connections, so load
    /// never opens more connections or blocking threads than that.
    read_slots: Arc<tokio::sync::Semaphore>,
    feed: FeedSlot,
    feed_capacity: usize,
}

pub(crate) fn db_err(e: rusqlite::Error) -> StoreError {
    StoreError::Internal(e.to_string())
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}

/// Prepared statements kept per connection: more than the store has.
const STATEMENT_CACHE: usize = 64;

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, runs migrations,
    /// and starts the writer thread.
    pub fn open(path: &Path, opts: SqliteOptions) -> Result<Self> {
        let mut conn = Connection::open(path).map_err(db_err)?;
        // Every statement the writer runs stays prepared (the default keeps 16).
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA foreign_keys = ON;
             PRAGMA busy_timeout = 10000;
             PRAGMA wal_autocheckpoint = 0;
             PRAGMA journal_size_limit = 67108864;",
        )
        .map_err(db_err)?;
        migrate(&mut conn)?;
        let (tx, rx) = mpsc::channel(opts.queue.max(1));
        let feed: FeedSlot = Arc::new(Mutex::new(None));
        let feed2 = feed.clone();
        let max_batch = opts.max_batch.max(1);
        let handle = std::thread::Builder::new()
            .name("natter-sqlite-writer".into())
            .spawn(move || writer::run(conn, rx, feed2, max_batch))
            .map_err(|e| StoreError::Internal(format!("cannot start writer: {e}")))?;
        Ok(Self {
            path: path.to_owned(),
            jobs: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(handle)),
            checkpointer: Mutex::new(Some(start_checkpointer(path)?)),
            readers: Arc::new(Mutex::new(Vec::new())),
            read_slots: Arc::new(tokio::sync::Semaphore::new(opts.readers.max(1))),
            feed,
            feed_capacity: opts.feed.max(1),
        })
    }

    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnMut(&mut Ctx<'_>) -> Result<T> + Send + 'static,
    {
        let sender = self
            .jobs
            .lock()
            .map_err(|_| StoreError::Unavailable)?
            .clone()
            .ok_or(StoreError::Unavailable)?;
        let (job, rx) = FnJob::boxed(f);
        sender
            .send(job)
            .await
            .map_err(|_| StoreError::Unavailable)?;
        rx.await.map_err(|_| StoreError::Unavailable)?
    }

    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let pool = self.readers.clone();
        let path = self.path.clone();
        let permit = self
            .read_slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Unavailable)?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let conn = pool.lock().ok().and_then(|mut p| p.pop());
            let conn = match conn {
                Some(c) => c,
                None => open_reader(&path)?,
            };
            let out = f(&conn);
            if let Ok(mut p) = pool.lock() {
                p.push(conn);
            }
            out
        })
        .await
        .map_err(|e| StoreError::Internal(format!("read task failed: {e}")))?
    }
}

/// How often the checkpointer copies the WAL into the database file. Small
/// and frequent: a checkpoint's writes and fsync delay the commits running
/// beside it, so many small ones keep commit latency flat (measured: with
/// 5 s between checkpoints the acknowledgement p99 at 2,000 msg/s was 50 to
/// 110 ms; with 100 ms it was 6 to 8 ms).
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// WAL frames (pages of 4 KiB) past which the checkpointer makes the WAL
/// start over: about 16 MiB.
const RESTART_AFTER_FRAMES: i64 = 4096;

/// Starts the thread that checkpoints the WAL. With SQLite's automatic
/// checkpoints the committing writer does this work, and every commit that
/// crosses the threshold stalls for the copy and an extra fsync; here a
/// separate connection does it in the background (PASSIVE: it never blocks
/// the writer or readers), and truncates the WAL when it stops.
fn start_checkpointer(
    path: &Path,
) -> Result<(std::sync::mpsc::Sender<()>, std::thread::JoinHandle<()>)> {
    let conn = Connection::open(path).map_err(db_err)?;
    conn.execute_batch("PRAGMA busy_timeout = 10000; PRAGMA journal_size_limit = 67108864;")
        .map_err(db_err)?;
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let handle = std::thread::Builder::new()
        .name("natter-sqlite-checkpoint".into())
        .spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                rx.recv_timeout(CHECKPOINT_EVERY)
            {
                // (busy, frames in the WAL, frames copied)
                let passive = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                    Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
                });
                match passive {
                    // Under steady writes a passive checkpoint never catches
                    // the writer, so the WAL is never started over and grows
                    // without bound. Past a size, wait for the readers once
                    // (RESTART): the next commit then writes from the start
                    // of the file, and `journal_size_limit` trims it.
                    Ok((log, _)) if log > RESTART_AFTER_FRAMES => {
                        if let Err(e) =
                            conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(()))
                        {
                            tracing::warn!(error = %e, "restart checkpoint failed");
                        }
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "checkpoint failed"),
                }
            }
            if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())) {
                tracing::warn!(error = %e, "final checkpoint failed");
            }
        })
        .map_err(|e| StoreError::Internal(format!("cannot start checkpointer: {e}")))?;
    Ok((tx, handle))
}

fn open_reader(path: &Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(db_err)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.execute_batch("PRAGMA busy_timeout = 10000; PRAGMA query_only = ON;")
        .map_err(db_err)?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let version: usize = conn
        .query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
        .map_err(db_err)? as usize;
    if version > schema::MIGRATIONS.len() {
        return Err(StoreError::Internal(format!(
            "database schema version {version} is newer than this natter ({})",
            schema::MIGRATIONS.len()
        )));
    }
    for (i, sql) in schema::MIGRATIONS.iter().enumerate().skip(version) {
        let tx = conn.transaction().map_err(db_err)?;
        tx.execute_batch(sql).map_err(db_err)?;
        tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))
            .map_err(db_err)?;
        tx.commit().map_err(db_err)?;
    }
    Ok(())
}

// ---- helpers used inside the writer --------------------------------------

fn log_head_of(conn: &Connection) -> Result<u64> {
    conn.prepare_cached("SELECT pos FROM log_head WHERE id = 0")
        .and_then(|mut s| s.query_row([], |r| r.get::<_, i64>(0)))
        .map(|h| h as u64)
        .map_err(db_err)
}

fn members_of(ctx: &mut Ctx<'_>, conv: &ConversationId) -> Result<Arc<Vec<UserId>>> {
    if let Some(m) = ctx.cache.members.get(conv) {
        return Ok(m.clone());
    }
    let mut stmt = ctx
        .conn
        .prepare_cached(
            "SELECT user_id FROM members WHERE conv_id = ?1 ORDER BY joined_seq, joined_at",
        )
        .map_err(db_err)?;
    let ids = stmt
        .query_map([conv.as_bytes()], |r| r.get::<_, Vec<u8>>(0))
        .map_err(db_err)?
        .map(|r| r.map_err(db_err).and_then(|b| user_id(&b)))
        .collect::<Result<Vec<_>>>()?;
    let ids = Arc::new(ids);
    ctx.cache.trim();
    ctx.cache.members.insert(*conv, ids.clone());
    Ok(ids)
}

fn last_seq_of(ctx: &mut Ctx<'_>, conv: &ConversationId) -> Result<Option<u64>> {
    if let Some(s) = ctx.cache.last_seq.get(conv) {
        return Ok(Some(*s));
    }
    let seq: Option<i64> = ctx
        .conn
        .prepare_cached("SELECT last_seq FROM conversations WHERE id = ?1")
        .and_then(|mut s| s.query_row([conv.as_bytes()], |r| r.get(0)).optional())
        .map_err(db_err)?;
    if let Some(s) = seq {
        ctx.cache.last_seq.insert(*conv, s as u64);
    }
    Ok(seq.map(|s| s as u64))
}

/// Takes the next position of the database-wide sequence.
fn next_position(ctx: &mut Ctx<'_>) -> Result<u64> {
    let head = match ctx.cache.head {
        Some(h) => h,
        None => log_head_of(ctx.conn)?,
    };
    let next = head + 1;
    ctx.conn
        .prepare_cached("UPDATE log_head SET pos = ?1 WHERE id = 0")
        .and_then(|mut s| s.execute([next as i64]))
        .map_err(db_err)?;
    ctx.cache.head = Some(next);
    Ok(next)
}

/// Inserts an event at the next position; it reaches `recipients` (the
/// conversation's members) without a row per member.
fn commit_event(
    ctx: &mut Ctx<'_>,
    event: Event,
    recipients: Arc<Vec<UserId>>,
) -> Result<Committed> {
    let pos = next_position(ctx)?;
    insert_event(ctx.conn, &event, pos)?;
    let is_message = matches!(event.body, EventBody::Message { .. });
    ctx.conn
        .prepare_cached(
            "UPDATE conversations SET last_seq = ?2, last_pos = ?3, last_ts = ?4,
                 last_msg_seq = CASE WHEN ?5 THEN ?2 ELSE last_msg_seq END
             WHERE id = ?1",
        )
        .and_then(|mut s| {
            s.execute(params![
                event.conv.as_bytes(),
                event.seq as i64,
                pos as i64,
                event.ts,
                is_message
            ])
        })
        .map_err(db_err)?;
    ctx.cache.last_seq.insert(event.conv, event.seq);
    let committed = Committed {
        item: Arc::new(LogItem::Event(event)),
        position: Cursor(pos),
        recipients,
        variants: Vec::new(),
    };
    ctx.committed.push(committed.clone());
    Ok(committed)
}

fn user_exists(conn: &Connection, user: &UserId) -> Result<bool> {
    conn.prepare_cached("SELECT 1 FROM users WHERE id = ?1")
        .and_then(|mut s| s.exists([user.as_bytes()]))
        .map_err(db_err)
}

fn direct_key(a: &UserId, b: &UserId) -> Vec<u8> {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let mut key = Vec::with_capacity(32);
    key.extend_from_slice(lo.as_bytes());
    key.extend_from_slice(hi.as_bytes());
    key
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_user(&self, user: NewUser) -> Result<UserRecord> {
        self.write(move |ctx| {
            ctx.conn
                .prepare_cached(
                    "INSERT INTO users (id, username, password_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        user.id.as_bytes(),
                        user.username,
                        user.password_hash,
                        user.now
                    ])
                })
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        StoreError::Conflict("username")
                    } else {
                        db_err(e)
                    }
                })?;
            Ok(UserRecord {
                id: user.id,
                username: user.username.clone(),
                password_hash: user.password_hash.clone(),
                created_at: user.now,
                privacy: natter_proto::Privacy::default(),
                last_seen: None,
            })
        })
        .await
    }

    async fn user_by_name(&self, username: &str) -> Result<Option<UserRecord>> {
        let username = username.to_owned();
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {USER_COLS} FROM users WHERE username = ?1"
            ))
            .and_then(|mut s| s.query_row([username], UserRow::from_row).optional())
            .map_err(db_err)?
            .map(UserRow::into_record)
            .transpose()
        })
        .await
    }

    async fn user(&self, id: UserId) -> Result<Option<UserRecord>> {
        self.read(move |c| user_by_id(c, &id)).await
    }

    async fn create_session(&self, session: NewSession) -> Result<SessionRecord> {
        self.write(move |ctx| {
            ctx.conn
                .prepare_cached(
                    "INSERT INTO sessions (device_id, user_id, name, created_at, last_active_at)
                     VALUES (?1, ?2, ?3, ?4, ?4)",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        session.device.as_bytes(),
                        session.user.as_bytes(),
                        session.name,
                        session.now
                    ])
                })
                .map_err(db_err)?;
            ctx.conn
                .prepare_cached(
                    "INSERT INTO refresh_tokens (hash, device_id, expires_at) VALUES (?1, ?2, ?3)",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        session.refresh_hash.as_slice(),
                        session.device.as_bytes(),
                        session.refresh_expires_at
                    ])
                })
                .map_err(db_err)?;
            Ok(SessionRecord {
                device: session.device,
                user: session.user,
                name: session.name.clone(),
                created_at: session.now,
                last_active_at: session.now,
                revoked_at: None,
            })
        })
        .await
    }

    async fn session(&self, device: DeviceId) -> Result<Option<SessionRecord>> {
        self.read(move |c| session_by_id(c, &device)).await
    }

    async fn rotate_refresh(&self, rot: RefreshRotation) -> Result<RefreshOutcome> {
        self.write(move |ctx| {
            let found: Option<(Vec<u8>, bool, i64)> = ctx
                .conn
                .prepare_cached(
                    "SELECT device_id, superseded, expires_at FROM refresh_tokens WHERE hash = ?1",
                )
                .and_then(|mut s| {
                    s.query_row([rot.presented.as_slice()], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                    })
                    .optional()
                })
                .map_err(db_err)?;
            let Some((device, superseded, expires_at)) = found else {
                return Ok(RefreshOutcome::Unknown);
            };
            let device = device_id(&device)?;
            let Some(session) = session_by_id(ctx.conn, &device)? else {
                return Ok(RefreshOutcome::Unknown);
            };
            if session.revoked_at.is_some() {
                return Ok(RefreshOutcome::Revoked(session));
            }
            if superseded {
                ctx.conn
                    .prepare_cached("UPDATE sessions SET revoked_at = ?2 WHERE device_id = ?1")
                    .and_then(|mut s| s.execute(params![device.as_bytes(), rot.now]))
                    .map_err(db_err)?;
                let mut session = session;
                session.revoked_at = Some(rot.now);
                return Ok(RefreshOutcome::Reused(session));
            }
            if expires_at <= rot.now {
                return Ok(RefreshOutcome::Expired);
            }
            ctx.conn
                .prepare_cached("UPDATE refresh_tokens SET superseded = 1 WHERE hash = ?1")
                .and_then(|mut s| s.execute([rot.presented.as_slice()]))
                .map_err(db_err)?;
            ctx.conn
                .prepare_cached(
                    "INSERT INTO refresh_tokens (hash, device_id, expires_at) VALUES (?1, ?2, ?3)",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        rot.replacement.as_slice(),
                        device.as_bytes(),
                        rot.replacement_expires_at
                    ])
                })
                .map_err(db_err)?;
            ctx.conn
                .prepare_cached("UPDATE sessions SET last_active_at = ?2 WHERE device_id = ?1")
                .and_then(|mut s| s.execute(params![device.as_bytes(), rot.now]))
                .map_err(db_err)?;
            let mut session = session;
            session.last_active_at = rot.now;
            Ok(RefreshOutcome::Rotated(session))
        })
        .await
    }

    async fn sessions_of(&self, user: UserId) -> Result<Vec<SessionRecord>> {
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(&format!(
                    "SELECT {SESSION_COLS} FROM sessions WHERE user_id = ?1 AND revoked_at IS NULL
                     ORDER BY created_at DESC"
                ))
                .map_err(db_err)?;
            stmt.query_map([user.as_bytes()], SessionRow::from_row)
                .map_err(db_err)?
                .map(|r| r.map_err(db_err).and_then(SessionRow::into_record))
                .collect()
        })
        .await
    }

    async fn revoke_session(&self, user: UserId, device: DeviceId, now: i64) -> Result<()> {
        self.write(move |ctx| {
            let n = ctx
                .conn
                .prepare_cached(
                    "UPDATE sessions SET revoked_at = ?3
                     WHERE device_id = ?1 AND user_id = ?2 AND revoked_at IS NULL",
                )
                .and_then(|mut s| s.execute(params![device.as_bytes(), user.as_bytes(), now]))
                .map_err(db_err)?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        })
        .await
    }

    async fn create_conversation(&self, conv: NewConversation) -> Result<Created> {
        self.write(move |ctx| {
            let key = match conv.kind {
                ConversationKind::Direct => {
                    let [a, b] = conv.members.as_slice() else {
                        return Err(StoreError::Internal(
                            "a direct conversation has exactly two members".into(),
                        ));
                    };
                    let key = direct_key(a, b);
                    let existing: Option<Vec<u8>> = ctx
                        .conn
                        .prepare_cached("SELECT id FROM conversations WHERE direct_key = ?1")
                        .and_then(|mut s| s.query_row([&key], |r| r.get(0)).optional())
                        .map_err(db_err)?;
                    if let Some(id) = existing {
                        return Ok(Created::Existing(conv_id(&id)?));
                    }
                    Some(key)
                }
                ConversationKind::Group => None,
            };
            for m in &conv.members {
                if !user_exists(ctx.conn, m)? {
                    return Err(StoreError::NotFound);
                }
            }
            ctx.conn
                .prepare_cached(
                    "INSERT INTO conversations
                     (id, kind, name, creator, created_at, direct_key, last_seq, last_ts, member_count)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?5, ?7)",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        conv.id.as_bytes(),
                        conv.kind.as_str(),
                        conv.name,
                        conv.creator.as_bytes(),
                        conv.now,
                        key,
                        conv.members.len() as i64
                    ])
                })
                .map_err(db_err)?;
            for m in &conv.members {
                insert_member(ctx.conn, &conv.id, m, 1, conv.now)?;
            }
            let members = Arc::new(conv.members.clone());
            ctx.cache.members.insert(conv.id, members.clone());
            let event = Event {
                conv: conv.id,
                seq: 1,
                ts: conv.now,
                sender: conv.creator,
                body: EventBody::Created {
                    conv_kind: conv.kind,
                    name: conv.name.clone(),
                    members: conv.members.clone(),
                },
            };
            Ok(Created::New(commit_event(ctx, event, members)?))
        })
        .await
    }

    async fn add_members(&self, add: NewMembers) -> Result<Option<Committed>> {
        self.write(move |ctx| {
            let members = members_of(ctx, &add.conv)?;
            if !members.contains(&add.by) {
                return Err(StoreError::NotMember);
            }
            let mut fresh = Vec::new();
            for u in &add.users {
                if members.contains(u) || fresh.contains(u) {
                    continue;
                }
                if !user_exists(ctx.conn, u)? {
                    return Err(StoreError::NotFound);
                }
                fresh.push(*u);
            }
            if fresh.is_empty() {
                return Ok(None);
            }
            let last = last_seq_of(ctx, &add.conv)?.ok_or(StoreError::NotFound)?;
            let seq = last + 1;
            let count = (members.len() + fresh.len()) as i64;
            ctx.conn
                .prepare_cached("UPDATE conversations SET member_count = ?2 WHERE id = ?1")
                .and_then(|mut s| s.execute(params![add.conv.as_bytes(), count]))
                .map_err(db_err)?;
            for u in &fresh {
                insert_member(ctx.conn, &add.conv, u, seq, add.now)?;
            }
            let mut all: Vec<UserId> = members.as_ref().clone();
            all.extend(fresh.iter().copied());
            let all = Arc::new(all);
            ctx.cache.members.insert(add.conv, all.clone());
            let event = Event {
                conv: add.conv,
                seq,
                ts: add.now,
                sender: add.by,
                body: EventBody::MembersAdded { users: fresh },
            };
            Ok(Some(commit_event(ctx, event, all)?))
        })
        .await
    }

    async fn conversation(&self, conv: ConversationId) -> Result<Option<ConversationRecord>> {
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {CONV_COLS} FROM conversations WHERE id = ?1"
            ))
            .and_then(|mut s| s.query_row([conv.as_bytes()], ConvRow::from_row).optional())
            .map_err(db_err)?
            .map(ConvRow::into_record)
            .transpose()
        })
        .await
    }

    async fn membership(&self, conv: ConversationId, user: UserId) -> Result<Option<Membership>> {
        self.read(move |c| {
            let seq: Option<i64> = c
                .prepare_cached(
                    "SELECT joined_seq FROM members WHERE conv_id = ?1 AND user_id = ?2",
                )
                .and_then(|mut s| {
                    s.query_row([conv.as_bytes(), user.as_bytes()], |r| r.get(0))
                        .optional()
                })
                .map_err(db_err)?;
            Ok(seq.map(|s| Membership {
                joined_seq: s as u64,
            }))
        })
        .await
    }

    async fn members(&self, conv: ConversationId) -> Result<Vec<UserRecord>> {
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(&format!(
                    "SELECT {USER_COLS_U} FROM members m JOIN users u ON u.id = m.user_id
                     WHERE m.conv_id = ?1 ORDER BY m.joined_seq, m.joined_at"
                ))
                .map_err(db_err)?;
            stmt.query_map([conv.as_bytes()], UserRow::from_row)
                .map_err(db_err)?
                .map(|r| r.map_err(db_err).and_then(UserRow::into_record))
                .collect()
        })
        .await
    }

    async fn conversations_of(&self, user: UserId) -> Result<Vec<ConversationSummary>> {
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(&format!(
                    "SELECT {CONV_COLS_C}, {EVENT_COLS_E}, {USER_COLS_P},
                            m.delivered_seq, m.read_seq, pm.delivered_seq, pm.read_seq,
                            (SELECT COUNT(*) FROM events x
                              WHERE x.conv_id = c.id AND x.kind = 'message' AND x.sender <> m.user_id
                                AND x.seq > MAX(m.read_seq, m.joined_seq - 1)) AS unread
                     FROM members m
                     JOIN conversations c ON c.id = m.conv_id
                     LEFT JOIN events e ON e.conv_id = c.id AND e.seq = c.last_msg_seq
                          AND c.last_msg_seq >= m.joined_seq
                     LEFT JOIN members pm ON c.kind = 'direct' AND pm.conv_id = c.id AND pm.user_id <> m.user_id
                     LEFT JOIN users p ON p.id = pm.user_id
                     WHERE m.user_id = ?1
                     ORDER BY c.last_ts DESC"
                ))
                .map_err(db_err)?;
            let at = CONV_COL_COUNT + EVENT_COL_COUNT + USER_COL_COUNT;
            stmt.query_map([user.as_bytes()], |r| {
                let mine = Watermarks {
                    delivered: r.get::<_, i64>(at)? as u64,
                    read: r.get::<_, i64>(at + 1)? as u64,
                };
                let peer_marks = match (r.get::<_, Option<i64>>(at + 2)?, r.get::<_, Option<i64>>(at + 3)?) {
                    (Some(d), Some(rd)) => Some(Watermarks {
                        delivered: d as u64,
                        read: rd as u64,
                    }),
                    _ => None,
                };
                Ok((
                    ConvRow::from_row(r)?,
                    EventRow::from_row_at(r, CONV_COL_COUNT)?,
                    UserRow::from_row_at(r, CONV_COL_COUNT + EVENT_COL_COUNT)?,
                    mine,
                    peer_marks,
                    r.get::<_, i64>(at + 4)? as u64,
                ))
            })
            .map_err(db_err)?
            .map(|r| {
                let (conv, ev, peer, mine, peer_watermarks, unread) = r.map_err(db_err)?;
                Ok(ConversationSummary {
                    conv: conv.into_record()?,
                    last_message: ev.map(EventRow::into_event).transpose()?,
                    peer: peer.map(UserRow::into_record).transpose()?,
                    peer_watermarks,
                    mine,
                    unread,
                })
            })
            .collect()
        })
        .await
    }

    async fn append_message(&self, msg: NewMessage) -> Result<Appended> {
        self.write(move |ctx| {
            let earlier = ctx
                .conn
                .prepare_cached(&format!(
                    "SELECT {EVENT_COLS} FROM events WHERE conv_id = ?1 AND sender = ?2 AND client_id = ?3"
                ))
                .and_then(|mut s| {
                    s.query_row(
                        params![msg.conv.as_bytes(), msg.sender.as_bytes(), msg.client_id.0],
                        |r| EventRow::from_row_at(r, 0),
                    )
                    .optional()
                })
                .map_err(db_err)?
                .flatten();
            if let Some(row) = earlier {
                let event = row.into_event()?;
                return match &event.body {
                    EventBody::Message { text, .. } if *text == msg.text => {
                        Ok(Appended::Duplicate(event))
                    }
                    _ => Err(StoreError::IdempotencyConflict),
                };
            }
            let members = members_of(ctx, &msg.conv)?;
            if !members.contains(&msg.sender) {
                return Err(StoreError::NotMember);
            }
            let last = last_seq_of(ctx, &msg.conv)?.ok_or(StoreError::NotMember)?;
            let seq = last + 1;
            let event = Event {
                conv: msg.conv,
                seq,
                ts: msg.now,
                sender: msg.sender,
                body: EventBody::Message {
                    id: msg.id,
                    client_id: msg.client_id.clone(),
                    device: msg.device,
                    text: msg.text.clone(),
                },
            };
            Ok(Appended::New(commit_event(ctx, event, members)?))
        })
        .await
    }

    async fn history(&self, q: HistoryRequest) -> Result<HistorySlice> {
        self.read(move |c| {
            let joined: Option<i64> = c
                .prepare_cached("SELECT joined_seq FROM members WHERE conv_id = ?1 AND user_id = ?2")
                .and_then(|mut s| {
                    s.query_row([q.conv.as_bytes(), q.viewer.as_bytes()], |r| r.get(0))
                        .optional()
                })
                .map_err(db_err)?;
            let floor = joined.ok_or(StoreError::NotMember)?;
            let limit = q.limit.max(1) as i64;
            let (sql, bound, descending) = match q.range {
                HistoryRange::Latest => (
                    format!("SELECT {EVENT_COLS} FROM events WHERE conv_id = ?1 AND seq >= ?2 AND seq <= ?3 ORDER BY seq DESC LIMIT ?4"),
                    i64::MAX,
                    true,
                ),
                HistoryRange::Before(b) => (
                    format!("SELECT {EVENT_COLS} FROM events WHERE conv_id = ?1 AND seq >= ?2 AND seq < ?3 ORDER BY seq DESC LIMIT ?4"),
                    b.min(i64::MAX as u64) as i64,
                    true,
                ),
                HistoryRange::After(a) => (
                    format!("SELECT {EVENT_COLS} FROM events WHERE conv_id = ?1 AND seq >= ?2 AND seq > ?3 ORDER BY seq ASC LIMIT ?4"),
                    a.min(i64::MAX as u64) as i64,
                    false,
                ),
            };
            let mut stmt = c.prepare_cached(&sql).map_err(db_err)?;
            let mut events = stmt
                .query_map(params![q.conv.as_bytes(), floor, bound, limit + 1], |r| {
                    EventRow::from_row_at(r, 0)
                })
                .map_err(db_err)?
                .filter_map(|r| r.transpose())
                .map(|r| r.map_err(db_err).and_then(EventRow::into_event))
                .collect::<Result<Vec<_>>>()?;
            let more = events.len() as i64 > limit;
            events.truncate(limit as usize);
            if descending {
                events.reverse();
            }
            Ok(HistorySlice { events, more })
        })
        .await
    }

    async fn set_receipt(&self, r: NewReceipt) -> Result<ReceiptChange> {
        self.write(move |ctx| {
            let row: Option<(i64, i64, i64)> = ctx
                .conn
                .prepare_cached(
                    "SELECT delivered_seq, read_seq, joined_seq FROM members WHERE conv_id = ?1 AND user_id = ?2",
                )
                .and_then(|mut s| {
                    s.query_row([r.conv.as_bytes(), r.user.as_bytes()], |row| {
                        Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                    })
                    .optional()
                })
                .map_err(db_err)?;
            let (old_d, old_r, joined) = row.ok_or(StoreError::NotMember)?;
            let (old_d, old_r) = (old_d as u64, old_r as u64);
            // Messages from before the member joined are not theirs to
            // acknowledge: their senders hear nothing about them.
            let visible_from = (joined as u64).saturating_sub(1);
            let last = last_seq_of(ctx, &r.conv)?.ok_or(StoreError::NotMember)?;
            if r.seq > last {
                return Err(StoreError::Invalid("seq is beyond the conversation's newest event"));
            }
            let (mut d, mut rd) = (old_d, old_r);
            match r.kind {
                ReceiptKind::Delivered => d = d.max(r.seq),
                ReceiptKind::Read => {
                    rd = rd.max(r.seq);
                    d = d.max(rd);
                }
            }
            if (d, rd) == (old_d, old_r) {
                return Ok(ReceiptChange::Unchanged(Watermarks { delivered: d, read: rd }));
            }
            ctx.conn
                .prepare_cached(
                    "UPDATE members SET delivered_seq = ?3, read_seq = ?4 WHERE conv_id = ?1 AND user_id = ?2",
                )
                .and_then(|mut s| {
                    s.execute(params![r.conv.as_bytes(), r.user.as_bytes(), d as i64, rd as i64])
                })
                .map_err(db_err)?;
            let senders = |lo: u64, hi: u64| -> Result<Vec<UserId>> {
                if hi <= lo {
                    return Ok(Vec::new());
                }
                let mut stmt = ctx
                    .conn
                    .prepare_cached(
                        "SELECT DISTINCT sender FROM events
                         WHERE conv_id = ?1 AND kind = 'message' AND seq > ?2 AND seq <= ?3 AND sender <> ?4",
                    )
                    .map_err(db_err)?;
                stmt.query_map(
                    params![r.conv.as_bytes(), lo as i64, hi as i64, r.user.as_bytes()],
                    |row| row.get::<_, Vec<u8>>(0),
                )
                .map_err(db_err)?
                .map(|b| b.map_err(db_err).and_then(|b| user_id(&b)))
                .collect()
            };
            let delivered_to = senders(old_d.max(visible_from), d)?;
            let read_by = senders(old_r.max(visible_from), rd)?;
            let shares = |u: &UserId| -> Result<bool> {
                ctx.conn
                    .prepare_cached("SELECT read_receipts FROM users WHERE id = ?1")
                    .and_then(|mut s| s.query_row([u.as_bytes()], |row| row.get::<_, bool>(0)))
                    .map_err(db_err)
            };
            let reader_shares = shares(&r.user)?;
            let full = Receipt {
                conv: r.conv,
                user: r.user,
                delivered: d,
                read: rd,
                ts: r.now,
            };
            let mut audience: Vec<(UserId, Receipt)> = vec![(r.user, full.clone())];
            let mut others: Vec<UserId> = delivered_to.clone();
            for u in &read_by {
                if !others.contains(u) {
                    others.push(*u);
                }
            }
            for u in others {
                let visible_read = reader_shares && shares(&u)?;
                let hears_delivery = delivered_to.contains(&u);
                let hears_read = visible_read && read_by.contains(&u);
                if !hears_delivery && !hears_read {
                    continue;
                }
                let seen = Receipt {
                    read: if visible_read { rd } else { 0 },
                    ..full.clone()
                };
                audience.push((u, seen));
            }
            let pos = next_position(ctx)?;
            let mut recipients = Vec::with_capacity(audience.len());
            let mut variants = Vec::new();
            for (u, receipt) in audience {
                let json = serde_json::to_string(&receipt)
                    .map_err(|e| StoreError::Internal(format!("encode receipt: {e}")))?;
                ctx.conn
                    .prepare_cached(
                        "INSERT INTO user_items (user_id, pos, conv_id, receipt) VALUES (?1, ?2, ?3, ?4)",
                    )
                    .and_then(|mut s| s.execute(params![u.as_bytes(), pos as i64, r.conv.as_bytes(), json]))
                    .map_err(db_err)?;
                recipients.push(u);
                if receipt != full {
                    variants.push((u, Arc::new(LogItem::Receipt(receipt))));
                }
            }
            let committed = Committed {
                item: Arc::new(LogItem::Receipt(full)),
                position: Cursor(pos),
                recipients: Arc::new(recipients),
                variants,
            };
            ctx.committed.push(committed.clone());
            Ok(ReceiptChange::Moved(committed))
        })
        .await
    }

    async fn watermarks(&self, conv: ConversationId) -> Result<Vec<MemberWatermarks>> {
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT m.user_id, m.delivered_seq, m.read_seq, u.read_receipts, m.joined_seq
                     FROM members m JOIN users u ON u.id = m.user_id
                     WHERE m.conv_id = ?1 ORDER BY m.joined_seq, m.joined_at",
                )
                .map_err(db_err)?;
            stmt.query_map([conv.as_bytes()], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, bool>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            })
            .map_err(db_err)?
            .map(|r| {
                let (u, d, rd, shares, joined) = r.map_err(db_err)?;
                Ok(MemberWatermarks {
                    user: user_id(&u)?,
                    marks: Watermarks {
                        delivered: d as u64,
                        read: rd as u64,
                    },
                    shares_read: shares,
                    joined_seq: joined as u64,
                })
            })
            .collect()
        })
        .await
    }

    async fn set_privacy(&self, user: UserId, privacy: Privacy) -> Result<()> {
        self.write(move |ctx| {
            let n = ctx
                .conn
                .prepare_cached(
                    "UPDATE users SET presence_visibility = ?2, read_receipts = ?3 WHERE id = ?1",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        user.as_bytes(),
                        privacy.presence.as_str(),
                        privacy.read_receipts
                    ])
                })
                .map_err(db_err)?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        })
        .await
    }

    async fn set_last_seen(&self, user: UserId, at: i64) -> Result<()> {
        self.write(move |ctx| {
            ctx.conn
                .prepare_cached("UPDATE users SET last_seen_at = MAX(COALESCE(last_seen_at, 0), ?2) WHERE id = ?1")
                .and_then(|mut s| s.execute(params![user.as_bytes(), at]))
                .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn presence_peers(&self, user: UserId, max_group: u64) -> Result<Vec<PresencePeer>> {
        self.read(move |c| presence_peers_of(c, &user, max_group))
            .await
    }

    async fn log_after(&self, user: UserId, after: Cursor, limit: u32) -> Result<LogPage> {
        self.read(move |c| {
            // One snapshot for every statement: a commit landing between two
            // of them could otherwise put a position in one conversation's
            // answer and hide a lower one in another's.
            let tx = c.unchecked_transaction().map_err(db_err)?;
            log_page(&tx, &user, after, limit)
        })
        .await
    }

    async fn connection_view(&self, req: ConnectionRequest) -> Result<ConnectionView> {
        self.read(move |c| {
            let tx = c.unchecked_transaction().map_err(db_err)?;
            let log = match log_page(&tx, &req.user, req.cursor, req.limit) {
                Ok(page) => Ok(page),
                Err(StoreError::CursorGone { head }) => Err(head),
                Err(e) => return Err(e),
            };
            Ok(ConnectionView {
                session: session_by_id(&tx, &req.device)?,
                user: user_by_id(&tx, &req.user)?,
                log,
                peers: presence_peers_of(&tx, &req.user, req.max_group)?,
            })
        })
        .await
    }

    async fn log_head(&self, user: UserId) -> Result<Cursor> {
        self.read(move |c| Ok(Cursor(head_and_floor(c, &user)?.0)))
            .await
    }

    fn take_commit_feed(&self) -> Option<mpsc::Receiver<CommitBatch>> {
        let mut slot = self.feed.lock().ok()?;
        if slot.is_some() {
            return None;
        }
        let (tx, rx) = mpsc::channel(self.feed_capacity);
        *slot = Some(tx);
        Some(rx)
    }

    async fn ping(&self) -> Result<()> {
        self.read(|c| c.query_row("SELECT 1", [], |_| Ok(())).map_err(db_err))
            .await
    }

    async fn close(&self) {
        // Dropping the sender ends the writer loop once queued jobs ran.
        if let Ok(mut j) = self.jobs.lock() {
            j.take();
        }
        let handle = self.writer.lock().ok().and_then(|mut w| w.take());
        if let Some(handle) = handle {
            let _ = tokio::task::spawn_blocking(move || handle.join()).await;
        }
        let checkpointer = self.checkpointer.lock().ok().and_then(|mut c| c.take());
        if let Some((stop, handle)) = checkpointer {
            drop(stop);
            let _ = tokio::task::spawn_blocking(move || handle.join()).await;
        }
        if let Ok(mut f) = self.feed.lock() {
            f.take();
        }
        self.read_slots.close();
        if let Ok(mut r) = self.readers.lock() {
            r.clear();
        }
    }
}

/// A page of `user`'s log after `after`. Run it inside one read transaction.
fn log_page(c: &Connection, user: &UserId, after: Cursor, limit: u32) -> Result<LogPage> {
    let (head, floor) = head_and_floor(c, user)?;
    if after.0 < floor || after.0 > head {
        return Err(StoreError::CursorGone { head: Cursor(head) });
    }
    if after.0 == head {
        return Ok(LogPage {
            entries: Vec::new(),
            head: Cursor(head),
        });
    }
    let limit = limit.max(1) as usize;
    let after_pos = after.0 as i64;
    let mut entries: Vec<(u64, LogItem)> = Vec::new();
    // Receipts addressed to the user.
    let mut stmt = c
        .prepare_cached(
            "SELECT pos, receipt FROM user_items WHERE user_id = ?1 AND pos > ?2
             ORDER BY pos LIMIT ?3",
        )
        .map_err(db_err)?;
    let rows = stmt
        .query_map(params![user.as_bytes(), after_pos, limit as i64], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })
        .map_err(db_err)?;
    for row in rows {
        let (pos, json) = row.map_err(db_err)?;
        let receipt = serde_json::from_str::<Receipt>(&json)
            .map_err(|e| StoreError::Internal(format!("decode receipt: {e}")))?;
        entries.push((pos as u64, LogItem::Receipt(receipt)));
    }
    // The user's conversations that moved past the cursor, each read
    // through its (conversation, position) index from where the user
    // joined. Once `limit` entries are known, later reads stop below
    // the highest one kept.
    // The position where the user joined bounds the read from below too:
    // inside a conversation positions grow with seq, so nothing before it
    // is theirs (a member added to a long conversation, resuming from an
    // older cursor, would otherwise walk its whole history past the cursor).
    let mut stmt = c
        .prepare_cached(
            "SELECT m.conv_id, m.joined_seq, COALESCE(j.pos, 0) FROM members m
             JOIN conversations c ON c.id = m.conv_id
             LEFT JOIN events j ON j.conv_id = m.conv_id AND j.seq = m.joined_seq
             WHERE m.user_id = ?1 AND c.last_pos > ?2",
        )
        .map_err(db_err)?;
    let convs = stmt
        .query_map(params![user.as_bytes(), after_pos], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })
        .map_err(db_err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db_err)?;
    let mut stmt = c
        .prepare_cached(&format!(
            "SELECT pos, {EVENT_COLS} FROM events
             WHERE conv_id = ?1 AND pos > ?2 AND pos < ?3 AND seq >= ?4
             ORDER BY pos LIMIT ?5"
        ))
        .map_err(db_err)?;
    for (conv, joined, joined_pos) in convs {
        let from = after_pos.max(joined_pos - 1);
        let below = if entries.len() >= limit {
            entries.sort_unstable_by_key(|e| e.0);
            entries.truncate(limit);
            entries.last().map_or(i64::MAX, |e| e.0 as i64)
        } else {
            i64::MAX
        };
        let rows = stmt
            .query_map(params![conv, from, below, joined, limit as i64], |r| {
                Ok((r.get::<_, i64>(0)?, EventRow::from_row_at(r, 1)?))
            })
            .map_err(db_err)?;
        for row in rows {
            let (pos, ev) = row.map_err(db_err)?;
            let ev = ev.ok_or_else(|| StoreError::Internal("event row without id".into()))?;
            entries.push((pos as u64, LogItem::Event(ev.into_event()?)));
        }
    }
    entries.sort_unstable_by_key(|e| e.0);
    entries.truncate(limit);
    Ok(LogPage {
        entries: entries.into_iter().map(|(p, i)| (Cursor(p), i)).collect(),
        head: Cursor(head),
    })
}

fn presence_peers_of(c: &Connection, user: &UserId, max_group: u64) -> Result<Vec<PresencePeer>> {
    let mut stmt = c
        .prepare_cached(
            "SELECT u.id, MAX(c.kind = 'direct'), u.presence_visibility, u.last_seen_at
             FROM members me
             JOIN conversations c ON c.id = me.conv_id
                  AND (c.kind = 'direct' OR c.member_count <= ?2)
             JOIN members o ON o.conv_id = c.id AND o.user_id <> me.user_id
             JOIN users u ON u.id = o.user_id
             WHERE me.user_id = ?1
             GROUP BY u.id",
        )
        .map_err(db_err)?;
    stmt.query_map(
        params![user.as_bytes(), max_group.min(i64::MAX as u64) as i64],
        |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, bool>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<i64>>(3)?,
            ))
        },
    )
    .map_err(db_err)?
    .map(|r| {
        let (u, contact, vis, last_seen) = r.map_err(db_err)?;
        Ok(PresencePeer {
            user: user_id(&u)?,
            contact,
            visibility: rows::parse_visibility(&vis)?,
            last_seen,
        })
    })
    .collect()
}

fn user_by_id(c: &Connection, id: &UserId) -> Result<Option<UserRecord>> {
    c.prepare_cached(&format!("SELECT {USER_COLS} FROM users WHERE id = ?1"))
        .and_then(|mut s| s.query_row([id.as_bytes()], UserRow::from_row).optional())
        .map_err(db_err)?
        .map(UserRow::into_record)
        .transpose()
}

/// The newest position and the user's floor (cursors below it were pruned).
fn head_and_floor(c: &Connection, user: &UserId) -> Result<(u64, u64)> {
    let floor: Option<i64> = c
        .prepare_cached("SELECT log_floor FROM users WHERE id = ?1")
        .and_then(|mut s| s.query_row([user.as_bytes()], |r| r.get(0)).optional())
        .map_err(db_err)?;
    let floor = floor.ok_or(StoreError::NotFound)? as u64;
    Ok((log_head_of(c)?.max(floor), floor))
}

fn session_by_id(c: &Connection, device: &DeviceId) -> Result<Option<SessionRecord>> {
    c.prepare_cached(&format!(
        "SELECT {SESSION_COLS} FROM sessions WHERE device_id = ?1"
    ))
    .and_then(|mut s| {
        s.query_row([device.as_bytes()], SessionRow::from_row)
            .optional()
    })
    .map_err(db_err)?
    .map(SessionRow::into_record)
    .transpose()
}

fn insert_member(
    c: &Connection,
    conv: &ConversationId,
    user: &UserId,
    seq: u64,
    now: i64,
) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO members (conv_id, user_id, joined_seq, joined_at) VALUES (?1, ?2, ?3, ?4)",
    )
    .and_then(|mut s| s.execute(params![conv.as_bytes(), user.as_bytes(), seq as i64, now]))
    .map_err(db_err)?;
    Ok(())
}

fn insert_event(c: &Connection, ev: &Event, pos: u64) -> Result<()> {
    let row = EventRow::from_event(ev)?;
    c.prepare_cached(
        "INSERT INTO events (conv_id, seq, ts, sender, kind, msg_id, client_id, device_id, text, payload, pos)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )
    .and_then(|mut s| {
        s.execute(params![
            row.conv,
            row.seq,
            row.ts,
            row.sender,
            row.kind,
            row.msg_id,
            row.client_id,
            row.device_id,
            row.text,
            row.payload,
            pos as i64
        ])
    })
    .map_err(db_err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use natter_proto::{ClientId, MessageId};

    async fn open() -> (tempfile::TempDir, Arc<dyn Store>) {
        let dir = tempfile::tempdir().unwrap();
        let store =
            SqliteStore::open(&dir.path().join("natter.db"), SqliteOptions::default()).unwrap();
        (dir, Arc::new(store))
    }

    natter_store::conformance_suite!(open);

    /// A database written by the per-user log schema keeps its history;
    /// cursors from that era get a resync answer instead of silently
    /// skipping anything, and new writes continue above the old positions.
    #[tokio::test]
    async fn per_user_log_databases_migrate_and_old_cursors_resync() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("natter.db");
        let (alice, conv) = (UserId::new(), ConversationId::new());
        {
            let conn = Connection::open(&path).unwrap();
            for sql in &schema::MIGRATIONS[..2] {
                conn.execute_batch(sql).unwrap();
            }
            conn.execute_batch("PRAGMA user_version = 2").unwrap();
            conn.execute(
                "INSERT INTO users (id, username, password_hash, created_at) VALUES (?1, 'alice', 'x', 1)",
                [alice.as_bytes()],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO conversations (id, kind, creator, created_at, last_seq, last_ts, member_count)
                 VALUES (?1, 'group', ?2, 1, 3, 3, 1)",
                [conv.as_bytes().as_slice(), alice.as_bytes().as_slice()],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO members (conv_id, user_id, joined_seq, joined_at) VALUES (?1, ?2, 1, 1)",
                [conv.as_bytes().as_slice(), alice.as_bytes().as_slice()],
            )
            .unwrap();
            for seq in 1..=3i64 {
                conn.execute(
                    "INSERT INTO events (conv_id, seq, ts, sender, kind, msg_id, client_id, device_id, text)
                     VALUES (?1, ?2, ?2, ?3, 'message', ?4, ?5, ?6, ?7)",
                    params![
                        conv.as_bytes(),
                        seq,
                        alice.as_bytes(),
                        MessageId::new().as_bytes(),
                        format!("c{seq}"),
                        DeviceId::new().as_bytes(),
                        format!("old {seq}")
                    ],
                )
                .unwrap();
                conn.execute(
                    "INSERT INTO user_log (user_id, useq, conv_id, seq) VALUES (?1, ?2, ?3, ?2)",
                    params![alice.as_bytes(), seq, conv.as_bytes()],
                )
                .unwrap();
            }
            // Receipts took per-user positions too: the old log reached 8.
            for useq in 4..=8i64 {
                conn.execute(
                    "INSERT INTO user_log (user_id, useq, conv_id, seq, receipt) VALUES (?1, ?2, ?3, 0, '{}')",
                    params![alice.as_bytes(), useq, conv.as_bytes()],
                )
                .unwrap();
            }
        }
        let store = SqliteStore::open(&path, SqliteOptions::default()).unwrap();
        let old_cursors = [Cursor::START, Cursor(2), Cursor(5), Cursor(7)];
        for old in old_cursors {
            assert!(matches!(
                store.log_after(alice, old, 10).await,
                Err(StoreError::CursorGone { .. })
            ));
        }
        let head = store.log_head(alice).await.unwrap();
        assert!(
            store
                .log_after(alice, head, 10)
                .await
                .unwrap()
                .entries
                .is_empty()
        );
        let history = store
            .history(HistoryRequest {
                conv,
                viewer: alice,
                range: HistoryRange::Latest,
                limit: 10,
            })
            .await
            .unwrap();
        assert_eq!(history.events.len(), 3);
        let Appended::New(c) = store
            .append_message(NewMessage {
                conv,
                sender: alice,
                device: DeviceId::new(),
                id: MessageId::new(),
                client_id: ClientId("new".into()),
                text: "new".into(),
                now: 4,
            })
            .await
            .unwrap()
        else {
            panic!("a new message");
        };
        assert!(c.position > head);
        let page = store.log_after(alice, head, 10).await.unwrap();
        assert_eq!(page.entries.len(), 1);
        assert_eq!(page.entries[0].1.event().map(|e| e.seq), Some(4));
        // Later writes never make an old cursor acceptable.
        for old in old_cursors {
            assert!(matches!(
                store.log_after(alice, old, 10).await,
                Err(StoreError::CursorGone { .. })
            ));
        }
        store.close().await;
    }
}
