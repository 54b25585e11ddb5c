//! natter's embedded storage backend: one SQLite file in WAL mode.
//!
//! Writes go through a single writer thread that batches them into one
//! transaction and one fsync (group commit, see `writer`); reads use a small
//! pool of read-only connections on the blocking thread pool, which WAL lets
//! run beside the writer (`pool`). Row types are private to this crate and
//! converted into the records of `natter-store`.
//!
//! This file holds the store itself: opening and closing it, and the
//! [`Store`] implementation, which hands each call to the writer or the read
//! pool and leaves the work to the module of its area:
//! - `accounts`: users, device sessions, refresh tokens, privacy, last seen;
//! - `conversations`: creating conversations, adding members, the reads of
//!   a conversation, its members and a user's list;
//! - `messages`: appending messages, history;
//! - `blocks`: blocks between users, message requests;
//! - `membership`: leaving, removal and bans, roles and ownership, member
//!   pages;
//! - `invites`: invite links and joining through them;
//! - `reports`: reports of messages;
//! - `receipts`: delivered and read watermarks;
//! - `log`: a user's log pages, the connection view, presence peers;
//! - `commit`: what the writes that put items in the log share (positions,
//!   event insertion, the cached members and last seq);
//! - `writer` and `cache`: the writer thread and what it keeps warm;
//! - `checkpoint`: the thread that checkpoints the WAL;
//! - `migrate` and `schema`: the schema and bringing a file up to it;
//! - `rows`: the row types and their conversion into records.
//!
//! Depends on `natter-store` and `natter-proto` only; knows nothing of HTTP.

#![forbid(unsafe_code)]

mod accounts;
mod blocks;
mod cache;
mod checkpoint;
mod commit;
mod conversations;
mod invites;
mod log;
mod membership;
mod messages;
mod migrate;
mod pool;
mod receipts;
mod reports;
mod rich;
mod rows;
mod schema;
mod search;
mod uploads;
mod writer;

use async_trait::async_trait;
use checkpoint::Checkpointer;
use natter_proto::{ConversationId, Cursor, DeviceId, Privacy, Seq, UserId};
use natter_store::*;
use pool::ReadPool;
use rusqlite::Connection;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
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
    /// Most pages the database file may grow to (`PRAGMA max_page_count`);
    /// `None` for SQLite's own limit. Writes past it fail as a full disk
    /// does, with [`StoreError::StorageFull`].
    pub max_page_count: Option<u32>,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            max_batch: 512,
            queue: 8192,
            readers: 4,
            feed: 1024,
            max_page_count: None,
        }
    }
}

/// The SQLite store. Cheap to share behind an `Arc`.
pub struct SqliteStore {
    jobs: Mutex<Option<mpsc::Sender<Box<dyn Job>>>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Copies the WAL into the database off the writer's path.
    checkpointer: Mutex<Option<Checkpointer>>,
    readers: ReadPool,
    feed: FeedSlot,
    feed_capacity: usize,
    /// Set while the last batch failed for lack of room; readiness reports
    /// it until a batch commits again.
    full: Arc<AtomicBool>,
}

/// A driver error as the store reports it: a full disk (or database size
/// limit) is [`StoreError::StorageFull`], everything else internal.
pub(crate) fn db_err(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::DiskFull => {
            StoreError::StorageFull
        }
        _ => StoreError::Internal(e.to_string()),
    }
}

/// Whether the statement failed on a unique or primary key constraint.
pub(crate) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}

/// Prepared statements kept per connection: more than the store has.
pub(crate) const STATEMENT_CACHE: usize = 64;

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
             -- a deleted message's text is overwritten, not left in free space
             PRAGMA secure_delete = FAST;
             PRAGMA foreign_keys = ON;
             PRAGMA busy_timeout = 10000;
             PRAGMA wal_autocheckpoint = 0;
             PRAGMA journal_size_limit = 67108864;",
        )
        .map_err(db_err)?;
        if let Some(pages) = opts.max_page_count {
            conn.pragma_update(None, "max_page_count", pages)
                .map_err(db_err)?;
        }
        migrate::migrate(&mut conn)?;
        let (tx, rx) = mpsc::channel(opts.queue.max(1));
        let feed: FeedSlot = Arc::new(Mutex::new(None));
        let feed2 = feed.clone();
        let max_batch = opts.max_batch.max(1);
        let full = Arc::new(AtomicBool::new(false));
        let full2 = full.clone();
        let handle = std::thread::Builder::new()
            .name("natter-sqlite-writer".into())
            .spawn(move || writer::run(conn, rx, feed2, max_batch, full2))
            .map_err(|e| StoreError::Internal(format!("cannot start writer: {e}")))?;
        Ok(Self {
            jobs: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(handle)),
            checkpointer: Mutex::new(Some(Checkpointer::start(path)?)),
            readers: ReadPool::new(path, opts.readers),
            feed,
            feed_capacity: opts.feed.max(1),
            full,
        })
    }

    /// Changes the most pages the database may grow to (see
    /// [`SqliteOptions::max_page_count`]), for quotas and for tests of a
    /// full disk. Returns the limit now in force (SQLite never sets it below
    /// the current size).
    pub async fn set_max_page_count(&self, pages: u32) -> Result<u32> {
        self.write(move |ctx| {
            ctx.conn
                .query_row(&format!("PRAGMA max_page_count = {pages}"), [], |r| {
                    r.get::<_, u32>(0)
                })
                .map_err(db_err)
        })
        .await
    }

    /// Runs `f` on the writer thread, inside the next batch's transaction,
    /// and returns its result once the batch committed.
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

    /// Runs `f` on a read connection.
    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        self.readers.run(f).await
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_user(&self, user: NewUser) -> Result<UserRecord> {
        self.write(move |ctx| accounts::create_user(ctx.conn, &user))
            .await
    }

    async fn user_by_name(&self, username: &str) -> Result<Option<UserRecord>> {
        let username = username.to_owned();
        self.read(move |c| accounts::user_by_name(c, &username))
            .await
    }

    async fn user(&self, id: UserId) -> Result<Option<UserRecord>> {
        self.read(move |c| accounts::user_by_id(c, &id)).await
    }

    async fn set_admin(&self, user: UserId, admin: bool) -> Result<()> {
        self.write(move |ctx| accounts::set_admin(ctx.conn, &user, admin))
            .await
    }

    async fn set_suspended(&self, user: UserId, at: Option<i64>) -> Result<Vec<DeviceId>> {
        self.write(move |ctx| accounts::set_suspended(ctx.conn, &user, at))
            .await
    }

    async fn create_session(&self, session: NewSession) -> Result<SessionRecord> {
        self.write(move |ctx| accounts::create_session(ctx.conn, &session))
            .await
    }

    async fn session(&self, device: DeviceId) -> Result<Option<SessionRecord>> {
        self.read(move |c| accounts::session_by_id(c, &device))
            .await
    }

    async fn rotate_refresh(&self, rotation: RefreshRotation) -> Result<RefreshOutcome> {
        self.write(move |ctx| accounts::rotate_refresh(ctx.conn, &rotation))
            .await
    }

    async fn sessions_of(&self, user: UserId) -> Result<Vec<SessionRecord>> {
        self.read(move |c| accounts::sessions_of(c, &user)).await
    }

    async fn revoke_session(&self, user: UserId, device: DeviceId, now: i64) -> Result<()> {
        self.write(move |ctx| accounts::revoke_session(ctx.conn, &user, &device, now))
            .await
    }

    async fn create_conversation(&self, conv: NewConversation) -> Result<Created> {
        self.write(move |ctx| conversations::create_conversation(ctx, &conv))
            .await
    }

    async fn add_members(&self, add: NewMembers) -> Result<Option<Committed>> {
        self.write(move |ctx| conversations::add_members(ctx, &add))
            .await
    }

    async fn conversation(&self, conv: ConversationId) -> Result<Option<ConversationRecord>> {
        self.read(move |c| conversations::conversation(c, &conv))
            .await
    }

    async fn membership(&self, conv: ConversationId, user: UserId) -> Result<Option<Membership>> {
        self.read(move |c| conversations::membership(c, &conv, &user))
            .await
    }

    async fn member_list(&self, conv: ConversationId) -> Result<Vec<MemberRecord>> {
        self.read(move |c| conversations::member_list(c, &conv))
            .await
    }

    async fn member_ids(&self, conv: ConversationId) -> Result<Vec<UserId>> {
        self.read(move |c| conversations::member_ids(c, &conv))
            .await
    }

    async fn conversation_page(
        &self,
        user: UserId,
        query: ListQuery,
    ) -> Result<Vec<ConversationSummary>> {
        self.read(move |c| conversations::conversation_page(c, &user, &query))
            .await
    }

    async fn unread_total(&self, user: UserId) -> Result<u64> {
        self.read(move |c| conversations::unread_total(c, &user))
            .await
    }

    async fn leave(&self, conv: ConversationId, user: UserId, now: i64) -> Result<Committed> {
        self.write(move |ctx| membership::leave(ctx, &conv, &user, now))
            .await
    }

    async fn member_page(
        &self,
        conv: ConversationId,
        after: Option<MemberPosition>,
        limit: u32,
    ) -> Result<Vec<MemberRecord>> {
        self.read(move |c| membership::member_page(c, &conv, after, limit))
            .await
    }

    async fn set_role(&self, change: RoleChange) -> Result<Committed> {
        self.write(move |ctx| membership::set_role(ctx, &change))
            .await
    }

    async fn transfer_ownership(
        &self,
        conv: ConversationId,
        from: UserId,
        to: UserId,
        now: i64,
    ) -> Result<Committed> {
        self.write(move |ctx| membership::transfer_ownership(ctx, &conv, &from, &to, now))
            .await
    }

    async fn remove(&self, removal: Removal) -> Result<Option<Committed>> {
        self.write(move |ctx| membership::remove(ctx, &removal))
            .await
    }

    async fn unban(
        &self,
        conv: ConversationId,
        by: UserId,
        user: UserId,
        now: i64,
    ) -> Result<Option<Committed>> {
        self.write(move |ctx| membership::unban(ctx, &conv, &by, &user, now))
            .await
    }

    async fn update_group(&self, update: GroupUpdate) -> Result<Option<Committed>> {
        self.write(move |ctx| conversations::update_group(ctx, &update))
            .await
    }

    async fn set_muted(
        &self,
        conv: ConversationId,
        by: UserId,
        user: UserId,
        until: Option<i64>,
        now: i64,
    ) -> Result<Committed> {
        self.write(move |ctx| membership::set_muted(ctx, &conv, &by, &user, until, now))
            .await
    }

    async fn create_invite(&self, invite: NewInvite) -> Result<InviteRecord> {
        self.write(move |ctx| invites::create(ctx, &invite)).await
    }

    async fn invites(&self, conv: ConversationId) -> Result<Vec<InviteRecord>> {
        self.read(move |c| invites::list(c, &conv)).await
    }

    async fn revoke_invite(&self, conv: ConversationId, token: String, now: i64) -> Result<bool> {
        self.write(move |ctx| invites::revoke(ctx, &conv, &token, now))
            .await
    }

    async fn invite(&self, token: String) -> Result<Option<InviteRecord>> {
        self.read(move |c| invites::get(c, &token)).await
    }

    async fn join_by_invite(&self, join: InviteJoin) -> Result<Joined> {
        self.write(move |ctx| invites::join(ctx, &join)).await
    }

    async fn create_report(&self, report: NewReport) -> Result<(ReportRecord, bool)> {
        self.write(move |ctx| reports::create(ctx, &report)).await
    }

    async fn reports(&self, conv: Option<ConversationId>, all: bool) -> Result<Vec<ReportRecord>> {
        self.read(move |c| reports::list(c, conv.as_ref(), all))
            .await
    }

    async fn report(&self, id: natter_proto::MessageId) -> Result<Option<ReportRecord>> {
        self.read(move |c| reports::get(c, &id)).await
    }

    async fn resolve_report(
        &self,
        id: natter_proto::MessageId,
        by: UserId,
        note: Option<String>,
        now: i64,
    ) -> Result<Option<ReportRecord>> {
        self.write(move |ctx| reports::resolve(ctx, &id, &by, note.as_deref(), now))
            .await
    }

    async fn bans(&self, conv: ConversationId) -> Result<Vec<BanRecord>> {
        self.read(move |c| membership::bans(c, &conv)).await
    }

    async fn conversation_of(
        &self,
        user: UserId,
        conv: ConversationId,
    ) -> Result<Option<ConversationSummary>> {
        self.read(move |c| conversations::conversation_of(c, &user, &conv))
            .await
    }

    async fn accept_request(&self, conv: ConversationId, user: UserId) -> Result<bool> {
        self.write(move |ctx| blocks::accept_request(ctx, &conv, &user))
            .await
    }

    async fn block(&self, user: UserId, target: UserId, now: i64) -> Result<BlockRecord> {
        self.write(move |ctx| blocks::block(ctx, &user, &target, now))
            .await
    }

    async fn unblock(&self, user: UserId, target: UserId) -> Result<bool> {
        self.write(move |ctx| blocks::unblock(ctx, &user, &target))
            .await
    }

    async fn blocks_of(&self, user: UserId) -> Result<Vec<BlockRecord>> {
        self.read(move |c| blocks::blocks_of(c, &user)).await
    }

    async fn append_message(&self, msg: NewMessage) -> Result<Appended> {
        self.write(move |ctx| messages::append_message(ctx, &msg))
            .await
    }

    async fn history(&self, query: HistoryRequest) -> Result<HistorySlice> {
        self.read(move |c| messages::history(c, &query)).await
    }

    async fn set_receipt(&self, receipt: NewReceipt) -> Result<ReceiptChange> {
        self.write(move |ctx| receipts::set_receipt(ctx, &receipt))
            .await
    }

    async fn watermarks(&self, conv: ConversationId) -> Result<Vec<MemberWatermarks>> {
        self.read(move |c| receipts::watermarks(c, &conv)).await
    }

    async fn delete_message(&self, deletion: MessageDeletion) -> Result<Committed> {
        self.write(move |ctx| messages::delete_message(ctx, &deletion))
            .await
    }

    async fn edit_message(&self, edit: MessageEdit) -> Result<Edited> {
        self.write(move |ctx| rich::edit_message(ctx, &edit)).await
    }

    async fn message_edits(
        &self,
        conv: ConversationId,
        seq: Seq,
    ) -> Result<Vec<natter_proto::EditVersion>> {
        self.read(move |c| rich::message_edits(c, &conv, seq)).await
    }

    async fn message(
        &self,
        conv: ConversationId,
        seq: Seq,
        viewer: UserId,
    ) -> Result<Option<natter_proto::Event>> {
        self.read(move |c| rich::message(c, &conv, seq, &viewer))
            .await
    }

    async fn hide_message(
        &self,
        user: UserId,
        conv: ConversationId,
        seq: Seq,
    ) -> Result<(natter_proto::PersonalChange, Option<Committed>)> {
        self.write(move |ctx| rich::hide_message(ctx, &user, &conv, seq))
            .await
    }

    async fn react(&self, reaction: ReactionRequest) -> Result<ReactionOutcome> {
        self.write(move |ctx| rich::react(ctx, &reaction)).await
    }

    async fn reaction_counts(
        &self,
        conv: ConversationId,
        targets: Vec<Seq>,
        now: i64,
    ) -> Result<Option<Committed>> {
        self.write(move |ctx| rich::reaction_counts(ctx, &conv, &targets, now))
            .await
    }

    async fn reactions(
        &self,
        conv: ConversationId,
        seq: Seq,
        viewer: UserId,
    ) -> Result<Vec<natter_proto::ReactionCount>> {
        self.read(move |c| rich::reactions(c, &conv, seq, Some(&viewer)))
            .await
    }

    async fn reactors(
        &self,
        conv: ConversationId,
        seq: Seq,
        emoji: String,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<ReactorRecord>> {
        self.read(move |c| rich::reactors(c, &conv, seq, &emoji, after.as_ref(), limit))
            .await
    }

    async fn set_pin(
        &self,
        conv: ConversationId,
        seq: Seq,
        by: UserId,
        pin: bool,
        max: u32,
        now: i64,
    ) -> Result<Option<Committed>> {
        self.write(move |ctx| rich::set_pin(ctx, &conv, seq, &by, pin, max, now))
            .await
    }

    async fn pins(&self, conv: ConversationId, viewer: UserId) -> Result<Vec<PinRecord>> {
        self.read(move |c| rich::pins(c, &conv, &viewer)).await
    }

    async fn thread(
        &self,
        conv: ConversationId,
        root: Seq,
        viewer: UserId,
        after: Seq,
        limit: u32,
    ) -> Result<ThreadSlice> {
        self.read(move |c| rich::thread(c, &conv, root, &viewer, after, limit))
            .await
    }

    async fn read_thread(
        &self,
        user: UserId,
        conv: ConversationId,
        root: Seq,
        seq: Seq,
    ) -> Result<(natter_proto::PersonalChange, Option<Committed>)> {
        self.write(move |ctx| rich::read_thread(ctx, &user, &conv, root, seq))
            .await
    }

    async fn create_upload(&self, upload: NewUpload, quota: u64) -> Result<UploadRecord> {
        self.write(move |ctx| uploads::create_upload(ctx, &upload, quota))
            .await
    }

    async fn upload(&self, id: natter_proto::UploadId) -> Result<Option<UploadRecord>> {
        self.read(move |c| uploads::upload(c, &id)).await
    }

    async fn complete_upload(
        &self,
        id: natter_proto::UploadId,
        content: UploadContent,
    ) -> Result<UploadRecord> {
        self.write(move |ctx| uploads::complete_upload(ctx, &id, &content))
            .await
    }

    async fn set_upload_meta(
        &self,
        id: natter_proto::UploadId,
        kind: String,
        mime: String,
        meta: String,
        thumb: Option<String>,
    ) -> Result<Option<UploadRecord>> {
        self.write(move |ctx| uploads::set_meta(ctx, &id, &kind, &mime, &meta, thumb.as_deref()))
            .await
    }

    async fn delete_upload(&self, id: natter_proto::UploadId) -> Result<Option<Vec<String>>> {
        self.write(move |ctx| uploads::delete_upload(ctx, &id))
            .await
    }

    async fn unprocessed_uploads(&self, limit: u32) -> Result<Vec<UploadRecord>> {
        self.read(move |c| uploads::unprocessed(c, limit)).await
    }

    async fn media_messages(
        &self,
        conv: ConversationId,
        viewer: UserId,
        kind: Option<String>,
        before: Option<Seq>,
        limit: u32,
    ) -> Result<Vec<MediaMessage>> {
        self.read(move |c| {
            uploads::media_messages(c, &conv, &viewer, kind.as_deref(), before, limit)
        })
        .await
    }

    async fn search(&self, req: SearchRequest) -> Result<Vec<SearchRow>> {
        self.read(move |c| search::search(c, &req)).await
    }

    async fn put_avatar(&self, avatar: AvatarRecord) -> Result<()> {
        self.write(move |ctx| uploads::put_avatar(ctx, &avatar))
            .await
    }

    async fn avatar(&self, id: String) -> Result<Option<AvatarRecord>> {
        self.read(move |c| uploads::avatar(c, &id)).await
    }

    async fn set_user_avatar(
        &self,
        user: UserId,
        avatar: Option<String>,
    ) -> Result<Option<String>> {
        self.write(move |ctx| uploads::set_user_avatar(ctx, &user, avatar.as_deref()))
            .await
    }

    async fn release_avatar(&self, id: String) -> Result<Vec<String>> {
        self.write(move |ctx| uploads::release_avatar(ctx, &id))
            .await
    }

    async fn upload_usage(&self, owner: UserId) -> Result<u64> {
        self.read(move |c| uploads::usage(c, &owner)).await
    }

    async fn collectable_uploads(&self, before: i64, limit: u32) -> Result<Vec<UploadRecord>> {
        self.read(move |c| uploads::collectable(c, before, limit))
            .await
    }

    async fn may_fetch_upload(&self, user: UserId, id: natter_proto::UploadId) -> Result<bool> {
        self.read(move |c| uploads::may_fetch(c, &user, &id)).await
    }

    async fn set_settings(&self, update: SettingsUpdate) -> Result<Committed> {
        self.write(move |ctx| conversations::set_settings(ctx, &update))
            .await
    }

    async fn set_profile(
        &self,
        user: UserId,
        display_name: Option<String>,
        about: Option<String>,
    ) -> Result<()> {
        self.write(move |ctx| {
            accounts::set_profile(ctx.conn, &user, display_name.as_deref(), about.as_deref())
        })
        .await
    }

    async fn search_users(
        &self,
        searcher: UserId,
        prefix: String,
        limit: u32,
    ) -> Result<Vec<UserRecord>> {
        self.read(move |c| accounts::search_users(c, &searcher, &prefix, limit))
            .await
    }

    async fn message_views(
        &self,
        conv: ConversationId,
        from: Seq,
        to: Seq,
    ) -> Result<Vec<(Seq, u64)>> {
        self.read(move |c| receipts::message_views(c, &conv, from, to))
            .await
    }

    async fn set_privacy(&self, user: UserId, privacy: Privacy) -> Result<()> {
        self.write(move |ctx| accounts::set_privacy(ctx.conn, &user, &privacy))
            .await
    }

    async fn set_last_seen(&self, user: UserId, at: i64) -> Result<()> {
        self.write(move |ctx| accounts::set_last_seen(ctx.conn, &user, at))
            .await
    }

    async fn presence_peers(&self, user: UserId, max_group: u64) -> Result<Vec<PresencePeer>> {
        self.read(move |c| log::presence_peers(c, &user, max_group))
            .await
    }

    async fn log_after(&self, user: UserId, after: Cursor, limit: u32) -> Result<LogPage> {
        self.read(move |c| log::log_after(c, &user, after, limit))
            .await
    }

    async fn connection_view(&self, req: ConnectionRequest) -> Result<ConnectionView> {
        self.read(move |c| log::connection_view(c, &req)).await
    }

    async fn log_head(&self, user: UserId) -> Result<Cursor> {
        self.read(move |c| Ok(Cursor(log::head_and_floor(c, &user)?.0)))
            .await
    }

    async fn raise_log_floor(&self, user: UserId) -> Result<Cursor> {
        self.write(move |ctx| log::raise_log_floor(ctx, &user))
            .await
            .map(Cursor)
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
        if self.full.load(Ordering::Acquire) {
            return Err(StoreError::StorageFull);
        }
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
        if let Some(checkpointer) = checkpointer {
            let _ = tokio::task::spawn_blocking(move || checkpointer.stop()).await;
        }
        if let Ok(mut f) = self.feed.lock() {
            f.take();
        }
        self.readers.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn open() -> (tempfile::TempDir, Arc<dyn Store>) {
        let dir = tempfile::tempdir().unwrap();
        let store =
            SqliteStore::open(&dir.path().join("natter.db"), SqliteOptions::default()).unwrap();
        (dir, Arc::new(store))
    }

    natter_store::conformance_suite!(open);

    fn user(n: usize) -> NewUser {
        NewUser {
            id: UserId::new(),
            username: format!("user{n}"),
            password_hash: "x".repeat(200),
            now: 0,
        }
    }

    /// A message deleted for everyone leaves no trace of its text in the
    /// database file: the row is rewritten and the freed bytes are zeroed
    /// (`secure_delete`), and closing checkpoints and truncates the WAL.
    #[tokio::test]
    async fn a_deleted_message_text_is_gone_from_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("natter.db");
        let store = SqliteStore::open(&path, SqliteOptions::default()).unwrap();
        let (a, b) = (user(1), user(2));
        let (alice, bob) = (a.id, b.id);
        store.create_user(a).await.unwrap();
        store.create_user(b).await.unwrap();
        let conv = ConversationId::new();
        store
            .create_conversation(NewConversation {
                id: conv,
                kind: natter_proto::ConversationKind::Group,
                name: Some("g".into()),
                description: None,
                creator: alice,
                members: vec![alice, bob],
                now: 0,
            })
            .await
            .unwrap();
        let secret = "zebra-crossing-4711-password";
        let keep = "this one stays";
        for (i, text) in [secret, keep].iter().enumerate() {
            store
                .append_message(NewMessage {
                    id: natter_proto::MessageId::new(),
                    conv,
                    sender: alice,
                    device: DeviceId::new(),
                    client_id: natter_proto::ClientId(format!("c{i}")),
                    text: (*text).to_owned(),
                    now: 0,
                    extras: Default::default(),
                })
                .await
                .unwrap();
        }
        store
            .delete_message(MessageDeletion {
                conv,
                seq: 2,
                by: alice,
                now: 1,
            })
            .await
            .unwrap();
        store.close().await;
        let raw = std::fs::read(&path).unwrap();
        let has = |needle: &str| raw.windows(needle.len()).any(|w| w == needle.as_bytes());
        assert!(has(keep), "the scan reads the file that holds the messages");
        assert!(!has(secret), "the deleted text is still in the file");
    }

    /// A full disk (here: the database's page limit, which fails writes the
    /// same way) refuses writes with `StorageFull`, stores nothing of them,
    /// shows in `ping`, and clears by itself once there is room.
    #[tokio::test]
    async fn a_full_database_refuses_writes_and_recovers_without_restart() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            SqliteStore::open(&dir.path().join("natter.db"), SqliteOptions::default()).unwrap();
        let size = store.set_max_page_count(1).await.unwrap();
        assert_eq!(store.set_max_page_count(size + 4).await.unwrap(), size + 4);
        let mut stored = 0;
        let refused = loop {
            match store.create_user(user(stored)).await {
                Ok(_) => stored += 1,
                Err(e) => break e,
            }
            assert!(stored < 100_000, "the page limit never took effect");
        };
        assert!(matches!(refused, StoreError::StorageFull), "{refused:?}");
        assert!(matches!(store.ping().await, Err(StoreError::StorageFull)));
        // The refused user was not stored; those before it were.
        assert!(
            store
                .user_by_name(&format!("user{stored}"))
                .await
                .unwrap()
                .is_none()
        );
        assert!(store.user_by_name("user0").await.unwrap().is_some());
        // Room again: the next write commits and readiness recovers.
        store.set_max_page_count(size + 1000).await.unwrap();
        store.create_user(user(stored)).await.unwrap();
        store.ping().await.unwrap();
    }
}
