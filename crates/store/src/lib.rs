//! The storage contract of natter.
//!
//! [`Store`] is the trait every backend implements (SQLite for the embedded
//! deployment, PostgreSQL for the cluster one); the records here are what it
//! takes and returns. [`conformance`] holds the behavioural test suite every
//! backend must pass, so the two deployments behave the same.
//!
//! This crate knows the wire types of `natter-proto` (events are stored and
//! returned as [`natter_proto::Event`]) but nothing of HTTP, sockets or any
//! database driver.
//!
//! # The invariants every backend keeps
//! - A write is acknowledged only after it is durably committed.
//! - Each conversation's events get sequence numbers 1, 2, 3, … with no gap
//!   and no repeat, whatever the concurrency.
//! - Every item that goes to a log (an event, or a receipt addressed to
//!   some users) takes the next position of one database-wide sequence,
//!   assigned inside the same transaction and in commit order, so a reader
//!   that has seen position `n` has seen every position below `n` once `n`
//!   is visible (no cursor can skip an item that commits later). A user's
//!   log is the items of their conversations (from where they joined) and
//!   the items addressed to them, in position order: sparse, but ordered.
//!   An event costs one row however many members it reaches.
//! - `(conversation, sender, client id)` identifies a message: a second append
//!   with the same key returns the first result and stores nothing.
//! - Every committed batch is announced, in commit order, on the commit feed.

#![forbid(unsafe_code)]

pub mod conformance;
mod error;
mod records;
pub mod search;

pub use error::StoreError;
pub use records::*;

use async_trait::async_trait;
use natter_proto::{ConversationId, Cursor, DeviceId, MessageId, Privacy, Seq, UserId};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Result alias of this crate.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What the server needs from a database. Implementations are cheap to share
/// behind an `Arc<dyn Store>`.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    // ---- accounts --------------------------------------------------------

    /// Creates a user. [`StoreError::Conflict`] when the username is taken.
    async fn create_user(&self, user: NewUser) -> Result<UserRecord>;

    /// Looks a user up by exact username.
    async fn user_by_name(&self, username: &str) -> Result<Option<UserRecord>>;

    /// Looks a user up by id.
    async fn user(&self, id: UserId) -> Result<Option<UserRecord>>;

    /// Makes a user a server admin, or not. [`StoreError::NotFound`] for an
    /// unknown user.
    async fn set_admin(&self, user: UserId, admin: bool) -> Result<()>;

    /// Suspends an account (`Some(time)`), revoking every session it has
    /// in the same commit and returning their devices, or lifts the
    /// suspension (`None`, nothing revoked). [`StoreError::NotFound`] for
    /// an unknown user.
    async fn set_suspended(&self, user: UserId, at: Option<i64>) -> Result<Vec<DeviceId>>;

    // ---- device sessions ----------------------------------------------------

    /// Creates a device session with its first refresh token.
    async fn create_session(&self, session: NewSession) -> Result<SessionRecord>;

    /// A device session by id (revoked ones included; check `revoked_at`).
    async fn session(&self, device: DeviceId) -> Result<Option<SessionRecord>>;

    /// Exchanges a refresh token (by hash) for a new one. A token that was
    /// already exchanged revokes its whole session ([`RefreshOutcome::Reused`]).
    async fn rotate_refresh(&self, rotation: RefreshRotation) -> Result<RefreshOutcome>;

    /// The user's sessions that are not revoked, newest first.
    async fn sessions_of(&self, user: UserId) -> Result<Vec<SessionRecord>>;

    /// Revokes one of the user's sessions. [`StoreError::NotFound`] if the
    /// session is not the user's or is already revoked.
    async fn revoke_session(&self, user: UserId, device: DeviceId, now: i64) -> Result<()>;

    // ---- conversations ------------------------------------------------------

    /// Creates a conversation; its `created` event is seq 1 and reaches
    /// every initial member's log. For a direct conversation that already
    /// exists for the pair, returns [`Created::Existing`] and writes nothing.
    /// A new direct conversation is a request to the second member until
    /// they accept it or send in it. In a group, a member whose
    /// `group_adds` setting does not admit the creator (see
    /// [`admits_group_add`]) joins with an invitation, accepted the same
    /// way. [`StoreError::NotFound`] if a member
    /// does not exist; then [`StoreError::Blocked`] if the creator and
    /// another member block one another.
    async fn create_conversation(&self, conv: NewConversation) -> Result<Created>;

    /// Adds members (those already in are skipped), each with an invitation
    /// when their `group_adds` setting does not admit `by` (see
    /// [`admits_group_add`]). Returns `None` when nobody was new.
    /// [`StoreError::Banned`] if a new member is banned from the group. [`StoreError::NotMember`] if `by` is not a member;
    /// [`StoreError::NotFound`] if a new member does not exist; then
    /// [`StoreError::Blocked`] if `by` and a new member block one another.
    async fn add_members(&self, add: NewMembers) -> Result<Option<Committed>>;

    /// A conversation's record.
    async fn conversation(&self, conv: ConversationId) -> Result<Option<ConversationRecord>>;

    /// A user's membership in a conversation.
    async fn membership(&self, conv: ConversationId, user: UserId) -> Result<Option<Membership>>;

    /// All members with their usernames and when they joined, in the order
    /// they joined; no other account data. Empty when the conversation does
    /// not exist.
    async fn member_list(&self, conv: ConversationId) -> Result<Vec<MemberRecord>>;

    /// The ids of all members, in the order they joined (as
    /// [`Store::member_list`], without the names). Empty when the
    /// conversation does not exist.
    async fn member_ids(&self, conv: ConversationId) -> Result<Vec<UserId>>;

    /// The user's conversations, newest activity first, each with its last
    /// message: all of them (see [`Store::conversation_page`]).
    async fn conversations_of(&self, user: UserId) -> Result<Vec<ConversationSummary>> {
        self.conversation_page(user, ListQuery::all()).await
    }

    /// A page of the user's conversations, newest activity first (ties by
    /// id, descending), as [`ListQuery`] asks.
    async fn conversation_page(
        &self,
        user: UserId,
        query: ListQuery,
    ) -> Result<Vec<ConversationSummary>>;

    /// The sum of [`ConversationSummary::unread`] over all the user's
    /// conversations (the badge).
    async fn unread_total(&self, user: UserId) -> Result<u64>;

    /// A page of the members, in join order (`(joined_seq, user id)`),
    /// after `after`, with usernames and roles.
    async fn member_page(
        &self,
        conv: ConversationId,
        after: Option<MemberPosition>,
        limit: u32,
    ) -> Result<Vec<MemberRecord>>;

    /// Gives a member a role (admin, moderator or member) with one
    /// `role_changed` event. [`StoreError::NotMember`] if `by` or `user` is
    /// not a member.
    async fn set_role(&self, change: RoleChange) -> Result<Committed>;

    /// The owner `from` hands the group to the member `to` with one
    /// `ownership_transferred` event; `from` becomes an admin.
    /// [`StoreError::NotMember`] if either is not a member.
    async fn transfer_ownership(
        &self,
        conv: ConversationId,
        from: UserId,
        to: UserId,
        now: i64,
    ) -> Result<Committed>;

    /// Removes a member (`member_removed`), or bans a user
    /// (`member_banned`: removed too if a member). A removed member's log
    /// ends with that event, as after leaving. [`StoreError::NotMember`]
    /// if `by` is not a member, or (without a ban) `user` is not one.
    /// Banning someone already banned changes nothing and returns `None`.
    async fn remove(&self, removal: Removal) -> Result<Option<Committed>>;

    /// Lifts `user`'s ban from `conv` with one `member_unbanned` event;
    /// `None` when there was no ban. [`StoreError::NotMember`] if `by` is
    /// not a member.
    async fn unban(
        &self,
        conv: ConversationId,
        by: UserId,
        user: UserId,
        now: i64,
    ) -> Result<Option<Committed>>;

    /// Changes a group's name, description or history setting with one
    /// `group_updated` event carrying what changed; `None` when nothing
    /// would change. [`StoreError::NotMember`] if `by` is not a member.
    async fn update_group(&self, update: GroupUpdate) -> Result<Option<Committed>>;

    /// Mutes a member until a time (`Some`, a `member_muted` event) or lifts
    /// their mute (`None`, `member_unmuted`). [`StoreError::NotMember`] if
    /// `by` or `user` is not a member.
    async fn set_muted(
        &self,
        conv: ConversationId,
        by: UserId,
        user: UserId,
        until: Option<i64>,
        now: i64,
    ) -> Result<Committed>;

    /// Stores an invite link. [`StoreError::NotMember`] if `by` is not a
    /// member.
    async fn create_invite(&self, invite: NewInvite) -> Result<InviteRecord>;

    /// The group's invite links that were not revoked, newest first.
    async fn invites(&self, conv: ConversationId) -> Result<Vec<InviteRecord>>;

    /// Revokes one of the group's links; false when there is no such link
    /// (or it was revoked before).
    async fn revoke_invite(&self, conv: ConversationId, token: String, now: i64) -> Result<bool>;

    /// A link by its token, whatever its state.
    async fn invite(&self, token: String) -> Result<Option<InviteRecord>>;

    /// Joins a group through a link: one `member_joined` event and one use
    /// counted, in one commit. A member already gets [`Joined::Already`]
    /// whatever the link's state. [`StoreError::NotFound`] when the link is
    /// unknown, revoked, expired or used up; [`StoreError::Banned`] when
    /// the user is banned; [`StoreError::Invalid`] when the group is full.
    async fn join_by_invite(&self, join: InviteJoin) -> Result<Joined>;

    /// Stores a report, once per reporter and message: reporting the same
    /// message again answers the first report (`false`: nothing new).
    async fn create_report(&self, report: NewReport) -> Result<(ReportRecord, bool)>;

    /// Reports, newest first: of one conversation or of all, open ones only
    /// or all.
    async fn reports(&self, conv: Option<ConversationId>, all: bool) -> Result<Vec<ReportRecord>>;

    /// One report.
    async fn report(&self, id: MessageId) -> Result<Option<ReportRecord>>;

    /// Resolves an open report; a resolved one stays as it was. `None` for
    /// an unknown id.
    async fn resolve_report(
        &self,
        id: MessageId,
        by: UserId,
        note: Option<String>,
        now: i64,
    ) -> Result<Option<ReportRecord>>;

    /// The users banned from `conv`, most recent first.
    async fn bans(&self, conv: ConversationId) -> Result<Vec<BanRecord>>;

    /// `user` leaves `conv`: one `member_left` event, which still reaches
    /// the leaver's log (and is the last of this conversation it carries),
    /// and the membership ends in the same commit. [`StoreError::NotMember`]
    /// if they are not a member. Whether they may is the caller's check.
    async fn leave(&self, conv: ConversationId, user: UserId, now: i64) -> Result<Committed>;

    /// One of the user's conversations exactly as
    /// [`Store::conversations_of`] lists it (same peer, watermarks and
    /// unread count), read by key. `None` when the user is not a member,
    /// whether or not the conversation exists.
    async fn conversation_of(
        &self,
        user: UserId,
        conv: ConversationId,
    ) -> Result<Option<ConversationSummary>>;

    /// Accepts a message request or a group invitation: marks `user` as
    /// having taken part in `conv`. True when it changed something (false
    /// when there was nothing to accept).
    /// [`StoreError::NotMember`] if not a member.
    async fn accept_request(&self, conv: ConversationId, user: UserId) -> Result<bool>;

    // ---- blocks ---------------------------------------------------------------

    /// `user` blocks `target` (blocking again keeps the first time).
    /// [`StoreError::NotFound`] for an unknown target. From the commit on,
    /// [`Store::append_message`] refuses messages between them in their
    /// direct conversation, and creating conversations or adding members
    /// that would put one with the other is refused, all with
    /// [`StoreError::Blocked`].
    async fn block(&self, user: UserId, target: UserId, now: i64) -> Result<BlockRecord>;

    /// Lifts `user`'s block of `target`; true when there was one.
    async fn unblock(&self, user: UserId, target: UserId) -> Result<bool>;

    /// The users `user` has blocked, most recent first.
    async fn blocks_of(&self, user: UserId) -> Result<Vec<BlockRecord>>;

    // ---- messages -----------------------------------------------------------

    /// Appends a message (durably) or returns the earlier result for the same
    /// `(conv, sender, client_id)`. [`StoreError::NotMember`] if the sender is
    /// not a member; [`StoreError::IdempotencyConflict`] if the client id was
    /// used with different text; [`StoreError::Blocked`] in a direct
    /// conversation whose members block one another (a retry of a message
    /// stored before the block still answers the earlier result).
    async fn append_message(&self, msg: NewMessage) -> Result<Appended>;

    /// A page of a conversation's events that `viewer` may see (from the
    /// event where they joined on).
    async fn history(&self, query: HistoryRequest) -> Result<HistorySlice>;

    // ---- uploads --------------------------------------------------------------

    /// Records a new upload, unless the owner's uploads (complete or not)
    /// would then pass `quota` bytes: [`StoreError::Quota`].
    async fn create_upload(&self, upload: NewUpload, quota: u64) -> Result<UploadRecord>;

    /// An upload by id.
    async fn upload(&self, id: natter_proto::UploadId) -> Result<Option<UploadRecord>>;

    /// Marks an upload complete with what it holds; completing it again
    /// keeps the first content. [`StoreError::NotFound`] for an unknown id.
    async fn complete_upload(
        &self,
        id: natter_proto::UploadId,
        content: UploadContent,
    ) -> Result<UploadRecord>;

    /// Records what processing found in a complete upload (its kind and
    /// type may change: a picture that cannot be decoded becomes a file).
    /// `None` when the upload is gone.
    async fn set_upload_meta(
        &self,
        id: natter_proto::UploadId,
        kind: String,
        mime: String,
        meta: String,
        thumb: Option<String>,
    ) -> Result<Option<UploadRecord>>;

    /// Deletes an upload's record: `None` when there was none, else the
    /// blob keys it held that nothing references any more (no upload, no
    /// thumbnail, no avatar), which the caller removes from the blob store.
    async fn delete_upload(&self, id: natter_proto::UploadId) -> Result<Option<Vec<String>>>;

    /// Complete uploads whose processing never finished (the server
    /// stopped first), oldest first.
    async fn unprocessed_uploads(&self, limit: u32) -> Result<Vec<UploadRecord>>;

    /// A page of `viewer`'s view of a conversation's messages with
    /// attachments (of `kind` only, when given), newest first, before seq
    /// `before`: messages they may read, neither deleted nor hidden for
    /// them. [`StoreError::NotMember`] for a non-member.
    async fn media_messages(
        &self,
        conv: ConversationId,
        viewer: UserId,
        kind: Option<String>,
        before: Option<Seq>,
        limit: u32,
    ) -> Result<Vec<MediaMessage>>;

    // ---- search -----------------------------------------------------------------

    /// Messages `viewer` may read (in conversations they are a member of,
    /// from where their history starts; not deleted, not hidden for them)
    /// containing every term, with the request's filters, best match first
    /// and the newest first among equals. [`StoreError::NotMember`] when
    /// `conv` names a conversation they are not in.
    async fn search(&self, req: SearchRequest) -> Result<Vec<SearchRow>>;

    // ---- avatars ---------------------------------------------------------------

    /// Records an avatar (again is a no-op).
    async fn put_avatar(&self, avatar: AvatarRecord) -> Result<()>;

    /// An avatar by id.
    async fn avatar(&self, id: String) -> Result<Option<AvatarRecord>>;

    /// Sets or removes a user's avatar; returns the one it replaced.
    async fn set_user_avatar(&self, user: UserId, avatar: Option<String>)
    -> Result<Option<String>>;

    /// Forgets an avatar nobody (no user, no conversation) shows any more:
    /// returns the blob keys that nothing references now, for the caller
    /// to remove. Empty while it is still in use.
    async fn release_avatar(&self, id: String) -> Result<Vec<String>>;

    /// The bytes the owner's uploads take, complete or not.
    async fn upload_usage(&self, owner: UserId) -> Result<u64>;

    /// Uploads created before `before` that no message holds (never
    /// attached, or every message holding them deleted): what the garbage
    /// collector removes. At most `limit`.
    async fn collectable_uploads(&self, before: i64, limit: u32) -> Result<Vec<UploadRecord>>;

    /// Whether `user` may fetch the upload: they own it, or it is attached
    /// to a message (not deleted) they may read in a conversation they are
    /// a member of.
    async fn may_fetch_upload(&self, user: UserId, id: natter_proto::UploadId) -> Result<bool>;

    // ---- receipts, privacy, presence -----------------------------------------

    /// Moves a member's delivered or read watermark forward (read implies
    /// delivered). The entry goes to the member's own log and to the senders
    /// of the messages it covers, masked by read-receipt privacy.
    /// [`StoreError::NotMember`] if not a member; [`StoreError::Invalid`] if
    /// `seq` is beyond the conversation's newest event.
    async fn set_receipt(&self, receipt: NewReceipt) -> Result<ReceiptChange>;

    /// Deletes the message at `seq` for everyone: it stays at its seq as a
    /// `deleted` tombstone without its text (in history, sync and the list),
    /// the text leaves reports of it too, and a `message_deleted` event is
    /// committed. [`StoreError::NotFound`] when there is no message at
    /// `seq` (or it was deleted already); [`StoreError::NotMember`] when
    /// `by` is not a member.
    async fn delete_message(&self, deletion: MessageDeletion) -> Result<Committed>;

    /// Edits the text of `edit.by`'s message at `edit.seq`: the old text
    /// goes to its edit history, the row gets the new text and `edited_at`,
    /// and a `message_edited` event is committed. [`Edited::Unchanged`]
    /// when text and mentions are what the message has. [`StoreError::NotFound`]
    /// when there is no message of `by` at `seq` (or it was deleted);
    /// [`StoreError::Invalid`] for a mention of a non-member;
    /// [`StoreError::NotMember`].
    async fn edit_message(&self, edit: MessageEdit) -> Result<Edited>;

    /// Every version of a message's text with its time: the original first,
    /// the current one last. Empty when there is no message at `seq`.
    async fn message_edits(
        &self,
        conv: ConversationId,
        seq: Seq,
    ) -> Result<Vec<natter_proto::EditVersion>>;

    /// One event as history shows it to `viewer` (see
    /// [`Store::history`]); `None` when there is none at `seq` or it is
    /// before the viewer's `visible_from`. [`StoreError::NotMember`].
    async fn message(
        &self,
        conv: ConversationId,
        seq: Seq,
        viewer: UserId,
    ) -> Result<Option<natter_proto::Event>>;

    /// Hides the message (or tombstone) at `seq` for `user` alone: history
    /// shows them `hidden` there from now on, and a `personal` entry goes
    /// to their log. `None` when it was hidden already.
    /// [`StoreError::NotFound`] when there is no message the user may read
    /// at `seq`; [`StoreError::NotMember`].
    async fn hide_message(
        &self,
        user: UserId,
        conv: ConversationId,
        seq: Seq,
    ) -> Result<(natter_proto::PersonalChange, Option<Committed>)>;

    /// Adds or takes back a reaction. At most one of each emoji per user
    /// per message and [`natter_proto::MAX_REACTIONS_PER_USER`] different
    /// ones ([`StoreError::Invalid`]). In a direct conversation or group
    /// a change commits a `reaction_added` / `reaction_removed` event; in a
    /// channel a `personal` entry for the reactor only. [`StoreError::NotFound`]
    /// when there is no message the user may read at `seq`.
    async fn react(&self, reaction: ReactionRequest) -> Result<ReactionOutcome>;

    /// Commits one `reaction_counts` event in a channel with the current
    /// counts of the messages at `targets` (those still messages); `None`
    /// when none is left.
    async fn reaction_counts(
        &self,
        conv: ConversationId,
        targets: Vec<Seq>,
        now: i64,
    ) -> Result<Option<Committed>>;

    /// The reactions of the message at `seq`, most used first, with
    /// whether `viewer` reacted.
    async fn reactions(
        &self,
        conv: ConversationId,
        seq: Seq,
        viewer: UserId,
    ) -> Result<Vec<natter_proto::ReactionCount>>;

    /// Who reacted to the message at `seq` with `emoji`, in the order they
    /// did, after `after` (a user in that list), at most `limit`.
    async fn reactors(
        &self,
        conv: ConversationId,
        seq: Seq,
        emoji: String,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<ReactorRecord>>;

    /// Pins (`pin`) or unpins the message at `seq` with one
    /// `message_pinned` / `message_unpinned` event; `None` when it already
    /// was (or was not) pinned. [`StoreError::NotFound`] when there is no
    /// message at `seq`; [`StoreError::Invalid`] beyond `max` pins.
    async fn set_pin(
        &self,
        conv: ConversationId,
        seq: Seq,
        by: UserId,
        pin: bool,
        max: u32,
        now: i64,
    ) -> Result<Option<Committed>>;

    /// The pinned messages as `viewer` sees them, most recently pinned
    /// first (those before the viewer's history are left out).
    async fn pins(&self, conv: ConversationId, viewer: UserId) -> Result<Vec<PinRecord>>;

    /// A thread's root (with its summary) and its replies after `after`.
    /// [`StoreError::NotFound`] when `root` is not a message the viewer
    /// may read.
    async fn thread(
        &self,
        conv: ConversationId,
        root: Seq,
        viewer: UserId,
        after: Seq,
        limit: u32,
    ) -> Result<ThreadSlice>;

    /// Moves `user`'s read mark in the thread at `root` forward to `seq`
    /// and tells their devices (a `personal` entry); `None` when it was
    /// there already. [`StoreError::NotFound`] when `root` is not a thread
    /// root the user may read.
    async fn read_thread(
        &self,
        user: UserId,
        conv: ConversationId,
        root: Seq,
        seq: Seq,
    ) -> Result<(natter_proto::PersonalChange, Option<Committed>)>;

    /// Changes a member's own settings for a conversation and puts the
    /// result in their log (a `settings` entry for their devices alone).
    /// [`StoreError::NotMember`] if they are not a member.
    async fn set_settings(&self, update: SettingsUpdate) -> Result<Committed>;

    /// Sets `user`'s display name and "about" text, both at once (`None`
    /// removes one). [`StoreError::NotFound`] for an unknown user.
    async fn set_profile(
        &self,
        user: UserId,
        display_name: Option<String>,
        about: Option<String>,
    ) -> Result<()>;

    /// The directory: discoverable users whose username or display name
    /// (lowercased) starts with `prefix` (lowercase), by username, without
    /// those who blocked `searcher`.
    async fn search_users(
        &self,
        searcher: UserId,
        prefix: String,
        limit: u32,
    ) -> Result<Vec<UserRecord>>;

    /// Every member's watermarks.
    async fn watermarks(&self, conv: ConversationId) -> Result<Vec<MemberWatermarks>>;

    /// For each message of `conv` with a seq in `from..=to`, in seq order:
    /// how many members' read watermark is at or past it. Costs one pass
    /// over the members who read that far, not one per message.
    async fn message_views(
        &self,
        conv: ConversationId,
        from: Seq,
        to: Seq,
    ) -> Result<Vec<(Seq, u64)>>;

    /// Sets a user's privacy.
    async fn set_privacy(&self, user: UserId, privacy: Privacy) -> Result<()>;

    /// Records when a user was last online.
    async fn set_last_seen(&self, user: UserId, at: i64) -> Result<()>;

    /// Everyone who shares a direct conversation, or a group of at most
    /// `max_group` members, with `user`.
    async fn presence_peers(&self, user: UserId, max_group: u64) -> Result<Vec<PresencePeer>>;

    // ---- the per-user log ---------------------------------------------------

    /// Entries of the user's log after `after`, in position order, at most
    /// `limit`. [`StoreError::CursorGone`] when `after` is older than the
    /// oldest entry kept for the user or newer than the head.
    async fn log_after(&self, user: UserId, after: Cursor, limit: u32) -> Result<LogPage>;

    /// Reads, in one go and one snapshot, what a live connection needs when
    /// it opens: its session, its user, the first log page and the presence
    /// peers. (Opening connections is frequent; one read instead of four.)
    async fn connection_view(&self, req: ConnectionRequest) -> Result<ConnectionView>;

    /// The newest position handed out (a cursor at it has seen everything
    /// the user's log holds so far).
    async fn log_head(&self, user: UserId) -> Result<Cursor>;

    /// Moves the user's log floor past every position handed out so far
    /// (taking one position of the sequence for it) and returns the new
    /// floor: from now on every cursor the user was ever given is refused
    /// with [`StoreError::CursorGone`], whose head is that floor, while the
    /// floor itself and everything committed later are served as before.
    /// Other users' logs are untouched. What log pruning will do to a
    /// user's oldest cursors, at once; the testing hook uses it.
    /// [`StoreError::NotFound`] for an unknown user.
    async fn raise_log_floor(&self, user: UserId) -> Result<Cursor>;

    // ---- feed and lifecycle -------------------------------------------------

    /// The commit feed: every committed batch that produced events, in commit
    /// order. Can be taken once; later calls return `None`.
    fn take_commit_feed(&self) -> Option<mpsc::Receiver<CommitBatch>>;

    /// Checks that the database answers.
    async fn ping(&self) -> Result<()>;

    /// Finishes pending writes and closes the database.
    async fn close(&self);
}

/// A batch of commits, shared by everyone that forwards it.
pub type CommitBatch = Arc<Vec<Committed>>;
