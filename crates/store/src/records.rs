//! Records the store takes and returns. They carry no serialization: the
//! server converts them to wire types.

use natter_proto::{
    ClientId, ConversationId, ConversationKind, Cursor, DeviceId, Event, HistoryVisibility,
    LogItem, MessageId, Privacy, ReceiptKind, Role, Seq, UserId, Visibility,
};
use std::sync::Arc;

/// A user to create.
#[derive(Clone, Debug)]
pub struct NewUser {
    /// New id.
    pub id: UserId,
    /// Validated, lowercase username.
    pub username: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Creation time, ms since the epoch.
    pub now: i64,
}

/// A stored user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRecord {
    /// Id.
    pub id: UserId,
    /// Username.
    pub username: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Creation time.
    pub created_at: i64,
    /// Presence and receipt privacy.
    pub privacy: Privacy,
    /// When the user was last online, if ever.
    pub last_seen: Option<i64>,
    /// A server admin.
    pub admin: bool,
    /// Suspended by an admin since then: no login.
    pub suspended_at: Option<i64>,
    /// The name they chose to be shown by.
    pub display_name: Option<String>,
    /// A few words about them.
    pub about: Option<String>,
    /// Their avatar's id.
    pub avatar: Option<String>,
}

/// A device session to create.
#[derive(Clone, Debug)]
pub struct NewSession {
    /// New device id.
    pub device: DeviceId,
    /// Owner.
    pub user: UserId,
    /// Label.
    pub name: String,
    /// SHA-256 of the first refresh token.
    pub refresh_hash: [u8; 32],
    /// When the refresh token stops working, ms since the epoch.
    pub refresh_expires_at: i64,
    /// Creation time.
    pub now: i64,
}

/// A stored device session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    /// Id.
    pub device: DeviceId,
    /// Owner.
    pub user: UserId,
    /// Label.
    pub name: String,
    /// Creation time.
    pub created_at: i64,
    /// Last login or refresh.
    pub last_active_at: i64,
    /// Set once revoked.
    pub revoked_at: Option<i64>,
}

/// A refresh-token exchange.
#[derive(Clone, Debug)]
pub struct RefreshRotation {
    /// SHA-256 of the presented token.
    pub presented: [u8; 32],
    /// SHA-256 of the replacement.
    pub replacement: [u8; 32],
    /// When the replacement stops working.
    pub replacement_expires_at: i64,
    /// Now, ms since the epoch.
    pub now: i64,
    /// A token already exchanged less than this long ago (ms) for this same
    /// `replacement`, whose replacement was not used yet, rotates again to
    /// it ([`RefreshOutcome::Rotated`], nothing new stored): the retry of a
    /// refresh whose answer was lost. 0 turns retries off.
    pub retry_grace_ms: i64,
}

/// What a refresh-token exchange did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// The token was current: the replacement is stored.
    Rotated(SessionRecord),
    /// The token had already been exchanged: the session is now revoked.
    Reused(SessionRecord),
    /// The session was already revoked.
    Revoked(SessionRecord),
    /// The token has expired.
    Expired,
    /// No such token.
    Unknown,
}

/// A conversation to create.
#[derive(Clone, Debug)]
pub struct NewConversation {
    /// New id.
    pub id: ConversationId,
    /// Direct or group.
    pub kind: ConversationKind,
    /// Group or channel name.
    pub name: Option<String>,
    /// Group or channel description.
    pub description: Option<String>,
    /// Creator; always among `members`.
    pub creator: UserId,
    /// Initial members, creator first, no duplicates; exactly two for direct.
    pub members: Vec<UserId>,
    /// Creation time.
    pub now: i64,
}

/// What `create_conversation` did.
#[derive(Clone, Debug)]
pub enum Created {
    /// A new conversation; its `created` event.
    New(Committed),
    /// The direct conversation of this pair already existed.
    Existing(ConversationId),
}

/// Members to add.
#[derive(Clone, Debug)]
pub struct NewMembers {
    /// The conversation.
    pub conv: ConversationId,
    /// Who adds them (must be a member; permission is checked by the caller).
    pub by: UserId,
    /// Who to add.
    pub users: Vec<UserId>,
    /// Now.
    pub now: i64,
}

/// A stored conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversationRecord {
    /// Id.
    pub id: ConversationId,
    /// Direct or group.
    pub kind: ConversationKind,
    /// Group name.
    pub name: Option<String>,
    /// Group description.
    pub description: Option<String>,
    /// What people who join the group from now on may read.
    pub history: HistoryVisibility,
    /// Slow mode: fewest seconds between two messages of one member.
    pub slow_mode_secs: u32,
    /// Creator.
    pub creator: UserId,
    /// Creation time.
    pub created_at: i64,
    /// Newest event's seq.
    pub last_seq: Seq,
    /// Member count.
    pub member_count: u64,
    /// Its avatar's id (groups and channels).
    pub avatar: Option<String>,
}

/// A change of a group's settings (see [`crate::Store::update_group`]);
/// `None` leaves a setting as it is.
#[derive(Clone, Debug)]
pub struct GroupUpdate {
    /// The group.
    pub conv: ConversationId,
    /// Who changes it (must be a member; permission is the caller's check).
    pub by: UserId,
    /// A new, validated name.
    pub name: Option<String>,
    /// A new description; empty removes it.
    pub description: Option<String>,
    /// A new history setting.
    pub history: Option<HistoryVisibility>,
    /// A new slow mode.
    pub slow_mode_secs: Option<u32>,
    /// A new avatar id (stored with [`crate::Store::put_avatar`]); empty
    /// removes it.
    pub avatar: Option<String>,
    /// Now.
    pub now: i64,
}

/// A user's membership.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Membership {
    /// The seq of the event that made them a member; their log starts
    /// there.
    pub joined_seq: Seq,
    /// The first seq they may read in history: `joined_seq`, or earlier
    /// when the group's history setting let them see more as they joined.
    pub visible_from: Seq,
    /// Their role.
    pub role: Role,
    /// Until when they are muted, if they are (ms since the epoch).
    pub muted_until: Option<i64>,
}

/// A member of a conversation, without any account data beyond the name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberRecord {
    /// The member.
    pub id: UserId,
    /// Their username.
    pub username: String,
    /// Their display name.
    pub display_name: Option<String>,
    /// Their avatar's id.
    pub avatar: Option<String>,
    /// The seq of the event that made them a member.
    pub joined_seq: Seq,
    /// When they became a member, ms since the epoch.
    pub joined_at: i64,
    /// Their role.
    pub role: Role,
    /// Until when they are muted, if they are.
    pub muted_until: Option<i64>,
}

/// A place in a member list: the last member of the page before.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemberPosition {
    /// Their `joined_seq`.
    pub joined_seq: Seq,
    /// Their id.
    pub user: UserId,
}

/// A role to give (see [`crate::Store::set_role`]).
#[derive(Clone, Copy, Debug)]
pub struct RoleChange {
    /// The group.
    pub conv: ConversationId,
    /// Who changes it (must be a member; permission is the caller's check).
    pub by: UserId,
    /// Whose role.
    pub user: UserId,
    /// The new role (not owner: ownership moves by transfer).
    pub role: Role,
    /// Now.
    pub now: i64,
}

/// A member to remove, or a user to ban (see [`crate::Store::remove`]).
#[derive(Clone, Copy, Debug)]
pub struct Removal {
    /// The group.
    pub conv: ConversationId,
    /// Who removes (must be a member; permission is the caller's check).
    pub by: UserId,
    /// Who is removed.
    pub user: UserId,
    /// Also ban them: they cannot be added again until unbanned. A ban
    /// needs no membership.
    pub ban: bool,
    /// Now.
    pub now: i64,
}

/// An invite link to store.
#[derive(Clone, Debug)]
pub struct NewInvite {
    /// Its random token.
    pub token: String,
    /// The group.
    pub conv: ConversationId,
    /// Who makes it (must be a member; permission is the caller's check).
    pub by: UserId,
    /// Now.
    pub now: i64,
    /// When it stops working.
    pub expires_at: Option<i64>,
    /// How many joins it allows.
    pub max_uses: Option<u32>,
}

/// A stored invite link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InviteRecord {
    /// Its token.
    pub token: String,
    /// The group.
    pub conv: ConversationId,
    /// Who made it.
    pub created_by: UserId,
    /// When.
    pub created_at: i64,
    /// When it stops working.
    pub expires_at: Option<i64>,
    /// How many joins it allows.
    pub max_uses: Option<u32>,
    /// How many joined with it.
    pub uses: u32,
    /// When it was revoked.
    pub revoked_at: Option<i64>,
}

impl InviteRecord {
    /// Whether someone may join with it at `now`.
    pub fn usable(&self, now: i64) -> bool {
        self.revoked_at.is_none()
            && self.expires_at.is_none_or(|at| now < at)
            && self.max_uses.is_none_or(|max| self.uses < max)
    }
}

/// A join through an invite link.
#[derive(Clone, Debug)]
pub struct InviteJoin {
    /// The link's token.
    pub token: String,
    /// Who joins.
    pub user: UserId,
    /// Now.
    pub now: i64,
    /// The group may not grow past this.
    pub max_members: u64,
}

/// What a join through an invite link did.
#[derive(Clone, Debug)]
pub enum Joined {
    /// Joined now: the `member_joined` event.
    New(Committed),
    /// Was a member already; nothing was written and no use counted.
    Already(ConversationId),
}

/// A report to store.
#[derive(Clone, Debug)]
pub struct NewReport {
    /// New id.
    pub id: MessageId,
    /// The conversation.
    pub conv: ConversationId,
    /// The message's seq.
    pub seq: Seq,
    /// Who wrote the message.
    pub sender: UserId,
    /// Its text now.
    pub text: String,
    /// Who reports it.
    pub reporter: UserId,
    /// Why.
    pub reason: natter_proto::ReportReason,
    /// The reporter's words.
    pub note: Option<String>,
    /// Now.
    pub now: i64,
    /// The roles of the conversation's members who hear of it at once
    /// (the domain's rule), besides the server's admins.
    pub notify: ReportAudience,
}

/// Who hears of a new report at once (a `report` entry in their log): the
/// members of its conversation with one of these roles, and every server
/// admin who is not suspended; never the reporter.
pub type ReportAudience = Vec<Role>;

/// A stored report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportRecord {
    /// Id.
    pub id: MessageId,
    /// The conversation.
    pub conv: ConversationId,
    /// The message's seq.
    pub seq: Seq,
    /// Who wrote the message.
    pub sender: UserId,
    /// Its text when reported.
    pub text: String,
    /// Who reported it.
    pub reporter: UserId,
    /// Why.
    pub reason: natter_proto::ReportReason,
    /// The reporter's words.
    pub note: Option<String>,
    /// When.
    pub created_at: i64,
    /// Who resolved it.
    pub resolved_by: Option<UserId>,
    /// When it was resolved.
    pub resolved_at: Option<i64>,
    /// The resolver's words.
    pub resolution: Option<String>,
}

/// A user banned from a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BanRecord {
    /// The banned user.
    pub user: UserId,
    /// Their username.
    pub username: String,
    /// Who banned them.
    pub by: UserId,
    /// When.
    pub banned_at: i64,
}

/// A conversation in a user's list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversationSummary {
    /// The conversation.
    pub conv: ConversationRecord,
    /// For direct conversations, the other member.
    pub peer: Option<UserRecord>,
    /// For direct conversations, the other member's watermarks.
    pub peer_watermarks: Option<Watermarks>,
    /// The newest message.
    pub last_message: Option<Event>,
    /// My watermarks.
    pub mine: Watermarks,
    /// Messages from others after my read watermark (and after I joined).
    pub unread: u64,
    /// A direct conversation the other member started that I have neither
    /// accepted nor sent a message in, or a group invitation I have not
    /// accepted.
    pub request: bool,
    /// When it last saw activity (its newest event), ms since the epoch:
    /// what the list is ordered by.
    pub activity: i64,
    /// My role in it.
    pub role: Role,
    /// The first seq I may read in history.
    pub visible_from: Seq,
    /// Until when I am muted, if I am.
    pub muted_until: Option<i64>,
    /// My own settings for it.
    pub settings: natter_proto::ConversationSettings,
    /// Messages from others after my read watermark that mention me (or
    /// everyone).
    pub unread_mentions: u64,
}

/// A message to delete for everyone.
#[derive(Clone, Copy, Debug)]
pub struct MessageDeletion {
    /// The conversation.
    pub conv: ConversationId,
    /// The message's seq.
    pub seq: Seq,
    /// Who deletes it (must be a member; permission is the caller's check).
    pub by: UserId,
    /// Now.
    pub now: i64,
}

/// A change of one member's own settings for a conversation.
#[derive(Clone, Copy, Debug)]
pub struct SettingsUpdate {
    /// The conversation.
    pub conv: ConversationId,
    /// Whose settings (must be a member).
    pub user: UserId,
    /// What changes.
    pub change: natter_proto::UpdateSettings,
    /// Now (a pin's time).
    pub now: i64,
}

/// Which page of a user's conversation list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListQuery {
    /// At most this many.
    pub limit: u32,
    /// Only conversations after this one in the list's order.
    pub after: Option<ListPosition>,
    /// `Some(true)`: only requests and invitations; `Some(false)`: none.
    pub request: Option<bool>,
    /// `Some(true)`: only archived ones; `Some(false)`: none.
    pub archived: Option<bool>,
    /// `Some(true)`: only pinned ones; `Some(false)`: none.
    pub pinned: Option<bool>,
}

impl ListQuery {
    /// The whole list.
    pub fn all() -> Self {
        ListQuery {
            limit: u32::MAX,
            after: None,
            request: None,
            archived: None,
            pinned: None,
        }
    }
}

/// A place in a conversation list: the activity time and id of the last
/// conversation of the page before.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListPosition {
    /// Its [`ConversationSummary::activity`].
    pub activity: i64,
    /// Its id.
    pub conv: ConversationId,
}

/// Whether someone added to a group joins at once (`true`) or with an
/// invitation, given their `group_adds` setting and whether the one adding
/// them is their contact (someone they share an accepted direct
/// conversation with).
pub fn admits_group_add(setting: Visibility, contact: bool) -> bool {
    match setting {
        Visibility::Everyone => true,
        Visibility::Contacts => contact,
        Visibility::Nobody => false,
    }
}

/// A user someone has blocked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockRecord {
    /// The blocked user.
    pub user: UserId,
    /// Their username.
    pub username: String,
    /// When the block was placed, ms since the epoch.
    pub blocked_at: i64,
}

/// A member's receipt watermarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Watermarks {
    /// Delivered up to.
    pub delivered: Seq,
    /// Read up to.
    pub read: Seq,
}

/// A member's watermarks with what the receipt rules need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemberWatermarks {
    /// The member.
    pub user: UserId,
    /// Their watermarks (read unmasked).
    pub marks: Watermarks,
    /// Whether they share read receipts.
    pub shares_read: bool,
    /// The seq at which they joined.
    pub joined_seq: Seq,
}

/// A receipt to record.
#[derive(Clone, Copy, Debug)]
pub struct NewReceipt {
    /// The conversation.
    pub conv: ConversationId,
    /// Whose watermark.
    pub user: UserId,
    /// Which one.
    pub kind: ReceiptKind,
    /// Up to which seq.
    pub seq: Seq,
    /// Now.
    pub now: i64,
    /// Who hears of the move and what each sees: the domain's rule (read
    /// receipts are private unless both sides share them), called by the
    /// backend inside the transaction with what it read there.
    pub audience: ReceiptAudience,
}

/// The domain's receipt rule: from what a watermark move covers, who gets a
/// log entry and what it says. Backends call it and store its answer; they
/// hold no privacy rule of their own.
pub type ReceiptAudience = fn(&ReceiptFacts) -> Vec<(UserId, natter_proto::Receipt)>;

/// What a backend knows about a watermark move when it calls the
/// [`ReceiptAudience`].
#[derive(Clone, Debug)]
pub struct ReceiptFacts {
    /// The member's new watermarks, unmasked.
    pub receipt: natter_proto::Receipt,
    /// Whether the member shares read receipts.
    pub reader_shares_reads: bool,
    /// Whether the conversation is a broadcast channel.
    pub channel: bool,
    /// The senders of the messages the move covers (never the member,
    /// never messages from before the member joined), each once.
    pub senders: Vec<CoveredSender>,
}

/// One sender whose messages a watermark move covers.
#[derive(Clone, Copy, Debug)]
pub struct CoveredSender {
    /// The sender.
    pub user: UserId,
    /// Whether they share read receipts.
    pub shares_reads: bool,
    /// The delivered watermark passed some of their messages.
    pub delivered: bool,
    /// The read watermark passed some of their messages.
    pub read: bool,
}

/// What recording a receipt did.
#[derive(Clone, Debug)]
pub enum ReceiptChange {
    /// The watermarks moved; the entry went to these logs.
    Moved(Committed),
    /// Nothing moved (the value was not higher); the current watermarks.
    Unchanged(Watermarks),
}

/// Someone whose presence a user may see, or who may see theirs: they share
/// a direct conversation or a small group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PresencePeer {
    /// The other user.
    pub user: UserId,
    /// True when the two are contacts: they share a direct conversation
    /// that both have taken part in (its creator, and the other member
    /// once they accepted it or sent a message in it).
    pub contact: bool,
    /// True when either has blocked the other: neither sees the other's
    /// presence, whatever their settings.
    pub blocked: bool,
    /// The other user's presence visibility.
    pub visibility: Visibility,
    /// The other user's last seen.
    pub last_seen: Option<i64>,
}

/// A message to append.
#[derive(Clone, Debug)]
pub struct NewMessage {
    /// The id it gets if it is new.
    pub id: MessageId,
    /// The conversation.
    pub conv: ConversationId,
    /// Sender.
    pub sender: UserId,
    /// Sending device.
    pub device: DeviceId,
    /// Idempotency key.
    pub client_id: ClientId,
    /// Validated text.
    pub text: String,
    /// Now.
    pub now: i64,
    /// Reply, thread, mentions, forward mark.
    pub extras: MessageExtras,
}

/// What a new message carries besides its text. The writer checks each
/// against the conversation in the commit's transaction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MessageExtras {
    /// The seq of the message it answers: a message (not deleted) of the
    /// same conversation at or after the sender's `visible_from`.
    pub reply_to: Option<Seq>,
    /// The seq of the thread's root: such a message, itself not in a
    /// thread.
    pub thread: Option<Seq>,
    /// With `thread`: shown in the main timeline too.
    pub also_in_conversation: bool,
    /// A forwarded copy.
    pub forwarded: bool,
    /// Mentioned members (each must be a member).
    pub mentions: Vec<natter_proto::Mention>,
    /// `@everyone` / `@here`.
    pub mention_all: Option<natter_proto::MentionAll>,
    /// Uploads attached (checked by the domain: the sender's, complete).
    pub attachments: Vec<natter_proto::Attachment>,
}

/// An edit of a message's text.
#[derive(Clone, Debug)]
pub struct MessageEdit {
    /// The conversation.
    pub conv: ConversationId,
    /// The message's seq.
    pub seq: Seq,
    /// Who edits: must be its sender.
    pub by: UserId,
    /// The new text.
    pub text: String,
    /// Mentions in the new text.
    pub mentions: Vec<natter_proto::Mention>,
    /// `@everyone` / `@here` in the new text.
    pub mention_all: Option<natter_proto::MentionAll>,
    /// Now.
    pub now: i64,
}

/// What an edit did.
#[derive(Clone, Debug)]
pub enum Edited {
    /// The text changed: the `message_edited` event.
    New(Committed),
    /// The message already had this text and these mentions.
    Unchanged,
}

/// A reaction added or taken back.
#[derive(Clone, Debug)]
pub struct ReactionRequest {
    /// The conversation.
    pub conv: ConversationId,
    /// The message's seq.
    pub seq: Seq,
    /// Who reacts.
    pub user: UserId,
    /// The (validated) emoji.
    pub emoji: String,
    /// Add (true) or take back.
    pub add: bool,
    /// Now.
    pub now: i64,
}

/// What a reaction did.
#[derive(Clone, Debug)]
pub struct ReactionOutcome {
    /// The emoji's count on the message now.
    pub count: u64,
    /// Whether the user has it now.
    pub me: bool,
    /// What was committed when something changed: a `reaction_added` or
    /// `reaction_removed` event, or in a channel a `personal` entry for the
    /// reactor alone (the counts go out coalesced, see
    /// [`crate::Store::reaction_counts`]).
    pub committed: Option<Committed>,
    /// True in a channel: the counts of this message must be announced.
    pub coalesce: bool,
}

/// A member who reacted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReactorRecord {
    /// Who.
    pub user: UserId,
    /// Username.
    pub username: String,
    /// Display name.
    pub display_name: Option<String>,
    /// When.
    pub at: i64,
}

/// A pinned message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PinRecord {
    /// The message as history shows it to the reader.
    pub message: Event,
    /// Who pinned it.
    pub by: UserId,
    /// When.
    pub at: i64,
}

/// A page of a thread.
#[derive(Clone, Debug)]
pub struct ThreadSlice {
    /// The root, with its summary.
    pub root: Event,
    /// Replies in seq order.
    pub events: Vec<Event>,
    /// More replies follow.
    pub more: bool,
}

/// What `append_message` did.
#[derive(Clone, Debug)]
pub enum Appended {
    /// Stored now.
    New(Committed),
    /// Stored now, and it was the sender's first message in a direct
    /// conversation the other member started: it accepted the request, and
    /// the two are contacts from this commit on.
    Accepted(Committed),
    /// Stored earlier under the same client id; the original event.
    Duplicate(Event),
}

/// One committed log item, the position it took and who gets it.
#[derive(Clone, Debug)]
pub struct Committed {
    /// The item: an event, or a receipt.
    pub item: Arc<LogItem>,
    /// Its position. Every recipient's log has it at this position.
    pub position: Cursor,
    /// Each user whose log got the item (for an event: the conversation's
    /// members when it committed).
    pub recipients: Arc<Vec<UserId>>,
    /// Recipients who see a different version of the item (read receipts
    /// masked by privacy), with that version.
    pub variants: Vec<(UserId, Arc<LogItem>)>,
    /// The users who became members of the conversation in this commit:
    /// every initial member for a `created` event, only the newly added
    /// users for a `members_added` one, and nobody for anything else
    /// (messages, receipts). Lets a consumer of the commit feed keep its
    /// view of who is in which conversation current without decoding event
    /// bodies.
    pub joined: Vec<UserId>,
    /// The users whose membership ended with this commit (a `member_left`
    /// event): they are among the recipients of this item, and of nothing
    /// later in the conversation.
    pub left: Vec<UserId>,
}

impl Committed {
    /// The event, if the item is one.
    pub fn event(&self) -> Option<&Event> {
        self.item.event()
    }
}

/// Which page of history.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HistoryRange {
    /// The newest events.
    Latest,
    /// Events with seq below this.
    Before(Seq),
    /// Events with seq above this.
    After(Seq),
}

/// A history request.
#[derive(Clone, Copy, Debug)]
pub struct HistoryRequest {
    /// The conversation.
    pub conv: ConversationId,
    /// Who asks (must be a member).
    pub viewer: UserId,
    /// Which page.
    pub range: HistoryRange,
    /// Page size (already clamped).
    pub limit: u32,
}

/// A page of history.
#[derive(Clone, Debug)]
pub struct HistorySlice {
    /// Ascending by seq.
    pub events: Vec<Event>,
    /// More exist in the requested direction.
    pub more: bool,
}

/// A page of a user's log.
#[derive(Clone, Debug)]
pub struct LogPage {
    /// Entries in order.
    pub entries: Vec<(Cursor, LogItem)>,
    /// The head when read.
    pub head: Cursor,
    /// Every conversation the user is a member of, ordered by id, read in
    /// the same snapshot as the entries and `head`: the memberships that
    /// hold at `head`, so a caller can take them over together with the
    /// page without a gap or an overlap with later commits.
    pub conversations: Vec<ConversationId>,
}

/// What a live connection reads when it opens.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionRequest {
    /// The token's user.
    pub user: UserId,
    /// The token's device session.
    pub device: DeviceId,
    /// Where the device's log resumes.
    pub cursor: Cursor,
    /// Size of the first log page.
    pub limit: u32,
    /// Largest group whose members see each other's presence.
    pub max_group: u64,
}

/// Everything a live connection needs to start, read in one snapshot.
#[derive(Clone, Debug)]
pub struct ConnectionView {
    /// The device session (check it is the user's and not revoked).
    pub session: Option<SessionRecord>,
    /// The user.
    pub user: Option<UserRecord>,
    /// The first page of the log after the cursor, or the head when the
    /// cursor cannot be served.
    pub log: Result<LogPage, Cursor>,
    /// The user's presence peers (as [`crate::Store::presence_peers`]).
    pub peers: Vec<PresencePeer>,
}

/// An upload to create (its bytes arrive later, resumably).
#[derive(Clone, Debug)]
pub struct NewUpload {
    /// Its id.
    pub id: natter_proto::UploadId,
    /// Who uploads.
    pub owner: UserId,
    /// Its announced length in bytes.
    pub length: u64,
    /// The file name the client gave, if any.
    pub name: Option<String>,
    /// The type the client claimed, if any (never trusted: the kind comes
    /// from the content).
    pub claimed_type: Option<String>,
    /// The uploader says it is a voice note.
    pub voice: bool,
    /// The uploader asks to keep a photo's location metadata.
    pub keep_location: bool,
    /// The duration the uploader declared, in ms.
    pub declared_ms: Option<u64>,
    /// Now.
    pub now: i64,
}

/// An upload and, once all its bytes arrived and were checked, what they
/// are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadRecord {
    /// Its id.
    pub id: natter_proto::UploadId,
    /// Who uploads.
    pub owner: UserId,
    /// Its length in bytes.
    pub length: u64,
    /// The client's file name.
    pub name: Option<String>,
    /// The client's claimed type.
    pub claimed_type: Option<String>,
    /// A voice note, as the uploader said.
    pub voice: bool,
    /// Keep a photo's location metadata, as the uploader asked.
    pub keep_location: bool,
    /// The duration the uploader declared, in ms.
    pub declared_ms: Option<u64>,
    /// When it was created.
    pub created_at: i64,
    /// Set once complete.
    pub content: Option<UploadContent>,
}

/// What a complete upload holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadContent {
    /// The blob's key (SHA-256, hex).
    pub blob: String,
    /// `image`, `video`, `audio` or `file`.
    pub kind: String,
    /// The media type found in the content.
    pub mime: String,
    /// When the last byte arrived.
    pub completed_at: i64,
    /// What the server read from the content (JSON the server defines);
    /// `None` while a picture waits to be processed.
    pub meta: Option<String>,
    /// The thumbnail's blob key, if one was made.
    pub thumb: Option<String>,
}

/// An avatar: two JPEG squares in the blob store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AvatarRecord {
    /// Its id (the large square's key).
    pub id: String,
    /// The small square's blob key.
    pub small: String,
    /// The large square's blob key.
    pub large: String,
}

/// One message of a conversation's media, and which of its uploads
/// matched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaMessage {
    /// The message event.
    pub event: natter_proto::Event,
    /// Its uploads of the asked kind.
    pub uploads: Vec<natter_proto::UploadId>,
}

/// A full-text search (see [`crate::Store::search`]).
#[derive(Clone, Debug, Default)]
pub struct SearchRequest {
    /// Who searches.
    pub viewer: UserId,
    /// What every hit contains ([`crate::search::parse`]); not empty.
    pub terms: Vec<crate::search::Term>,
    /// Only in this conversation.
    pub conv: Option<ConversationId>,
    /// Only from this sender.
    pub from: Option<UserId>,
    /// Only sent at or after this time (ms).
    pub after: Option<i64>,
    /// Only sent before this time (ms).
    pub before: Option<i64>,
    /// Only messages with attachments.
    pub has_file: bool,
    /// Only messages with an `http://` or `https://` link.
    pub has_link: bool,
    /// Only messages that mention the viewer (or everyone).
    pub mentions_me: bool,
    /// Only thread replies.
    pub in_thread: bool,
    /// Hits to skip (paging).
    pub offset: u32,
    /// Most hits to return.
    pub limit: u32,
}

/// A message a search found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchRow {
    /// Its conversation.
    pub conv: ConversationId,
    /// Its seq.
    pub seq: Seq,
    /// When it was sent.
    pub ts: i64,
    /// Who sent it.
    pub sender: UserId,
    /// Its current text.
    pub text: String,
    /// The thread root, for a thread reply.
    pub thread: Option<Seq>,
}
