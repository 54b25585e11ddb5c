//! Request and response bodies of the HTTP API (`/v1/...`).

use crate::cursor::Cursor;
use crate::event::{ConversationKind, Event, Seq};
use crate::frame::Delivery;
use crate::ids::{ClientId, ConversationId, DeviceId, UserId};
use serde::{Deserialize, Serialize};

/// `POST /v1/auth/register` and `POST /v1/auth/login`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// 3 to 32 characters: lowercase letters, digits, `_`, `.` and `-`,
    /// starting with a letter or digit.
    pub username: String,
    /// 10 to 256 characters, not only one repeated character, not the
    /// username.
    pub password: String,
    /// A label for the device session ("laptop", "phone").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_name: Option<String>,
}

/// A fresh device session: the answer to register, login and refresh.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuthSession {
    /// The account.
    pub user: UserId,
    /// The account's username.
    pub username: String,
    /// The device session.
    pub device: DeviceId,
    /// Bearer token for HTTP and for the WebSocket `hello`.
    pub access_token: String,
    /// Seconds until the access token expires.
    pub access_expires_in: u64,
    /// Single-use token for `POST /v1/auth/refresh`. Using one twice
    /// revokes the session.
    pub refresh_token: String,
}

/// `POST /v1/auth/refresh`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token from the last login or refresh.
    pub refresh_token: String,
}

/// A device session as listed by `GET /v1/sessions`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SessionInfo {
    /// The device session id.
    pub device: DeviceId,
    /// Its label.
    pub name: String,
    /// Login time, ms since the epoch.
    pub created_at: i64,
    /// Last token refresh or login, ms since the epoch.
    pub last_active_at: i64,
    /// True for the session making the request.
    pub current: bool,
}

/// A user as others see them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    /// Id.
    pub id: UserId,
    /// Username.
    pub username: String,
    /// The name they chose to be shown by (clients show it instead of the
    /// username when present).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// A few words about them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<String>,
    /// Their avatar, if they set one: fetch it from
    /// `/v1/avatars/{avatar}?size=small|large` (no token needed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
}

impl UserInfo {
    /// A user known only by id and username.
    pub fn named(id: UserId, username: impl Into<String>) -> Self {
        UserInfo {
            id,
            username: username.into(),
            display_name: None,
            about: None,
            avatar: None,
        }
    }

    /// What to call them: the display name, else the username.
    pub fn shown_name(&self) -> &str {
        self.display_name.as_deref().unwrap_or(&self.username)
    }
}

/// `PATCH /v1/me/profile`: change my display name or "about" text; give at
/// least one. An empty string removes it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateProfile {
    /// 1 to 64 characters (a visible one among them); empty removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// At most 280 characters; empty removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<String>,
}

/// `GET /v1/users/search?q=…`: the directory's answer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserList {
    /// Matching users, by username.
    pub users: Vec<UserInfo>,
}

/// `POST /v1/conversations`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum CreateConversation {
    /// The direct conversation with `user`; returns the existing one if
    /// there is one.
    Direct {
        /// The other person.
        user: UserId,
    },
    /// A new group; the caller is its creator and first member.
    Group {
        /// 1 to 128 characters.
        name: String,
        /// Other initial members.
        #[serde(default)]
        members: Vec<UserId>,
    },
    /// A new broadcast channel; the caller is its owner and only member.
    /// Subscribers join with invite links; its history is visible to them
    /// from the start (`history: all`) unless changed.
    Channel {
        /// 1 to 128 characters.
        name: String,
        /// At most 1,024 characters.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
    },
}

/// My own settings for one conversation, kept by the server so that every
/// device of mine shows the same list. Nobody else sees them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationSettings {
    /// No notifications for it.
    #[serde(default)]
    pub muted: bool,
    /// With `muted`: its unread messages do not count in the badge
    /// (`unread_total`) either.
    #[serde(default)]
    pub hide_badge: bool,
    /// Archived: clients list it apart (it stays archived when messages
    /// arrive).
    #[serde(default)]
    pub archived: bool,
    /// Pinned to the top of the list since then (ms since the epoch);
    /// absent when not pinned. Clients order pins by it, newest first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned_at: Option<i64>,
    /// Marked unread by me: shown as unread (and counted as one in the
    /// badge) until I clear the mark, which clients do when I open it.
    #[serde(default)]
    pub marked_unread: bool,
}

/// `PUT /v1/conversations/{id}/settings`: change some of my settings for a
/// conversation; the fields left out keep their values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateSettings {
    /// Mute notifications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muted: Option<bool>,
    /// Leave it out of the badge (only while muted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hide_badge: Option<bool>,
    /// Archive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived: Option<bool>,
    /// Pin (true pins it now, again if pinned already: to the top).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned: Option<bool>,
    /// Mark unread, or clear the mark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marked_unread: Option<bool>,
}

/// A change of my settings for a conversation: the `settings` entry of my
/// log, and the answer of `PUT …/settings`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsChange {
    /// The conversation.
    pub conv: ConversationId,
    /// The settings after the change.
    #[serde(flatten)]
    pub settings: ConversationSettings,
    /// When, ms since the epoch.
    pub ts: i64,
}

/// What leaving, or removing someone, answers: the `member_left` or
/// `member_removed` event, or, when the one who goes is a channel's
/// subscriber, the silent `membership` item (no event is written then).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Departure {
    /// The event every member (and the one who went) got.
    Event(Event),
    /// The item only the subscriber who went got.
    Membership(crate::MembershipChange),
}

impl Departure {
    /// The event, if one was written.
    pub fn event(&self) -> Option<&Event> {
        match self {
            Departure::Event(e) => Some(e),
            Departure::Membership(_) => None,
        }
    }

    /// The last seq of the conversation the one who went receives.
    pub fn seq(&self) -> Seq {
        match self {
            Departure::Event(e) => e.seq,
            Departure::Membership(m) => m.seq,
        }
    }
}

/// `GET /v1/conversations/{id}/views`: how many members have read each
/// message of a channel (their read watermark is at or past it), in seq
/// order. Aggregate counts only: who read what is never shown in a channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageViews {
    /// One entry per message in the range asked for.
    pub views: Vec<SeqViews>,
}

/// The views of one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeqViews {
    /// The message's seq.
    pub seq: Seq,
    /// How many members' read watermark is at or past it (its sender
    /// included).
    pub views: u64,
}

/// What a group's history shows people who join it later. The setting in
/// force when someone joins decides for them; changing it later does not
/// change what existing members may read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "visible", rename_all = "snake_case", deny_unknown_fields)]
pub enum HistoryVisibility {
    /// Only what happens from the event that made them a member on.
    #[default]
    Joined,
    /// Everything, from the group's creation.
    All,
    /// What happened in the `days` days before they joined, and everything
    /// after.
    Days {
        /// 1 to 3650.
        days: u32,
    },
}

/// `PATCH /v1/conversations/{id}`: change a group's settings; give at least
/// one field.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateGroup {
    /// A new name (the rules of a group name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A new description, at most 1,024 characters; empty removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// What people who join from now on may read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<HistoryVisibility>,
    /// Slow mode: the fewest seconds between two messages of one member
    /// (moderators and above are exempt); 0 turns it off; at most 86,400.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slow_mode_secs: Option<u32>,
}

/// `PUT /v1/conversations/{id}/members/{user}/mute`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MuteMember {
    /// For how long, in seconds: 60 to 31,536,000 (a year).
    pub secs: u64,
}

/// A conversation as its members see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationInfo {
    /// Id.
    pub id: ConversationId,
    /// Direct or group.
    pub kind: ConversationKind,
    /// Group name (absent for direct conversations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Group description (absent when there is none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Groups and channels: their avatar, if set (see `UserInfo::avatar`;
    /// a direct conversation shows `peer.avatar`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
    /// Groups: what people who join from now on may read. Absent for
    /// direct conversations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<HistoryVisibility>,
    /// Groups: slow mode, the fewest seconds between two messages of one
    /// member (0: off).
    #[serde(default)]
    pub slow_mode_secs: u32,
    /// Until when I am muted here (ms since the epoch), if I am.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muted_until: Option<i64>,
    /// The first seq of this conversation I may read in history (the
    /// event that made me a member, or earlier if the group's history
    /// setting let me see more when I joined).
    #[serde(default)]
    pub visible_from: Seq,
    /// Who created it.
    pub creator: UserId,
    /// Creation time, ms since the epoch.
    pub created_at: i64,
    /// How many members it has.
    pub member_count: u64,
    /// For direct conversations: the other person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<UserInfo>,
    /// The newest event's sequence number.
    pub last_seq: Seq,
    /// The newest message, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_message: Option<Event>,
    /// My read watermark: I have read every message up to this seq.
    #[serde(default)]
    pub read_seq: Seq,
    /// Messages from others after my read watermark.
    #[serde(default)]
    pub unread: u64,
    /// Of those, the ones that mention me or everyone.
    #[serde(default)]
    pub unread_mentions: u64,
    /// For direct conversations: the other person's watermarks (their
    /// `read` is 0 when either of you does not share read receipts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_receipt: Option<crate::MemberReceipt>,
    /// A direct conversation the other person started that you have neither
    /// accepted nor replied in (a message request), or a group someone
    /// added you to whom your `group_adds` setting does not admit (an
    /// invitation), until you accept it.
    #[serde(default)]
    pub request: bool,
    /// My own settings for it (mute, archive, pin, unread mark).
    #[serde(default)]
    pub settings: ConversationSettings,
    /// My role in it (`member` in direct conversations).
    #[serde(default = "crate::Role::member")]
    pub role: crate::Role,
}

/// `GET /v1/conversations`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ConversationList {
    /// Newest activity first.
    pub conversations: Vec<ConversationInfo>,
    /// Unread messages over all conversations (the badge), whatever page
    /// this is.
    #[serde(default)]
    pub unread_total: u64,
    /// Where the next page starts (`before=`), when there may be more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// The query of `GET /v1/conversations`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ConversationQuery {
    /// Page size: 1 to 500; 100 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// A `next` from an earlier page: the conversations after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    /// `true`: only requests and invitations; `false`: none of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<bool>,
    /// `true`: only the ones I archived; `false`: none of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived: Option<bool>,
    /// `true`: only the ones I pinned; `false`: none of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned: Option<bool>,
}

/// A user the caller has blocked (`GET /v1/blocks`, `PUT /v1/blocks/{user}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockInfo {
    /// The blocked user.
    pub user: UserInfo,
    /// When they were blocked, ms since the epoch.
    pub blocked_at: i64,
}

/// `GET /v1/blocks`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockList {
    /// Most recently blocked first.
    pub blocks: Vec<BlockInfo>,
}

/// `GET /v1/conversations/{id}/members`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MemberList {
    /// Members in the order they joined.
    pub members: Vec<MemberInfo>,
    /// Where the next page starts (`after=`), when there may be more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// A member as the member list shows them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberInfo {
    /// The user.
    pub id: UserId,
    /// Their username.
    pub username: String,
    /// Their display name, if they set one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Their avatar, if they set one: fetch it from
    /// `/v1/avatars/{avatar}?size=small|large` (no token needed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
    /// Their role in this conversation.
    pub role: crate::Role,
    /// The seq of the event that made them a member.
    pub joined_seq: Seq,
    /// Until when they are muted (ms since the epoch), if they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muted_until: Option<i64>,
}

/// The query of `GET /v1/conversations/{id}/members`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct MemberQuery {
    /// Page size: 1 to 1000; 1000 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// A `next` from an earlier page: the members after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

/// `PUT /v1/conversations/{id}/members/{user}/role`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetRole {
    /// The new role: `admin`, `moderator` or `member`.
    pub role: crate::Role,
}

/// `POST /v1/conversations/{id}/owner`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferOwnership {
    /// The member who becomes the owner.
    pub user: UserId,
}

/// `POST /v1/conversations/{id}/invites`.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateInvite {
    /// The link stops working this many seconds from now (60 to
    /// 31,536,000); never when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_secs: Option<u64>,
    /// The link stops working after this many joins (1 to 100,000); no
    /// limit when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_uses: Option<u32>,
}

/// An invite link to a group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteInfo {
    /// The secret part of the link: whoever has it may join.
    pub token: String,
    /// The group.
    pub conv: ConversationId,
    /// Who made it.
    pub created_by: UserId,
    /// When, ms since the epoch.
    pub created_at: i64,
    /// When it stops working, ms since the epoch; absent: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// How many joins it allows; absent: no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_uses: Option<u32>,
    /// How many people joined with it.
    pub uses: u32,
}

/// `GET /v1/conversations/{id}/invites`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InviteList {
    /// The links not revoked, newest first (expired and used-up ones
    /// included: their fields say so).
    pub invites: Vec<InviteInfo>,
}

/// `GET /v1/invites/{token}`: what a link leads to, without joining.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitePreview {
    /// The group or channel.
    pub conv: ConversationId,
    /// `group` or `channel` (older servers sent no kind: a group).
    #[serde(default = "group_kind")]
    pub kind: ConversationKind,
    /// Its name.
    pub name: String,
    /// Its description, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// How many members it has.
    pub member_count: u64,
    /// Whether the caller is a member already.
    pub member: bool,
}

fn group_kind() -> ConversationKind {
    ConversationKind::Group
}

/// Why a message is reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportReason {
    /// Unwanted advertising, scams, floods.
    Spam,
    /// Harassment, threats, hate.
    Abuse,
    /// Anything else (say what in `note`).
    Other,
}

impl ReportReason {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportReason::Spam => "spam",
            ReportReason::Abuse => "abuse",
            ReportReason::Other => "other",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<ReportReason> {
        [ReportReason::Spam, ReportReason::Abuse, ReportReason::Other]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// `POST /v1/conversations/{id}/reports`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportMessage {
    /// The reported message's seq.
    pub seq: Seq,
    /// Why.
    pub reason: ReportReason,
    /// More words, at most 500 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A report of a message, as moderators and server admins see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportInfo {
    /// The report's id.
    pub id: crate::MessageId,
    /// The conversation.
    pub conv: ConversationId,
    /// The reported message's seq.
    pub seq: Seq,
    /// Who wrote the message.
    pub sender: UserId,
    /// The message's text when it was reported.
    pub text: String,
    /// Who reported it.
    pub reporter: UserId,
    /// Why.
    pub reason: ReportReason,
    /// The reporter's words, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// When, ms since the epoch.
    pub created_at: i64,
    /// Who resolved it, once resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_by: Option<UserId>,
    /// When it was resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<i64>,
    /// The resolver's words, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
}

/// `GET /v1/conversations/{id}/reports` and `GET /v1/admin/reports`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReportList {
    /// Newest first.
    pub reports: Vec<ReportInfo>,
}

/// The query of the report lists.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct ReportQuery {
    /// `true`: resolved reports too. Default: open ones only.
    #[serde(default)]
    pub all: bool,
}

/// `POST /v1/reports/{id}/resolve`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolveReport {
    /// What was done, at most 500 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A user banned from a group (`GET /v1/conversations/{id}/bans`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BanInfo {
    /// The banned user.
    pub user: UserInfo,
    /// Who banned them.
    pub by: UserId,
    /// When, ms since the epoch.
    pub banned_at: i64,
}

/// `GET /v1/conversations/{id}/bans`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BanList {
    /// Most recent first.
    pub bans: Vec<BanInfo>,
}

/// `POST /v1/conversations/{id}/members`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddMembers {
    /// Users to add; those already in are ignored.
    pub users: Vec<UserId>,
}

/// `POST /v1/conversations/{id}/messages`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendMessage {
    /// Idempotency key; reuse it on retry.
    pub client_id: ClientId,
    /// UTF-8 text. May be empty only with `forward` (the forwarded text is
    /// used then).
    #[serde(default)]
    pub text: String,
    /// Answer the message at this seq of the same conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<Seq>,
    /// Reply in the thread rooted at this seq (a message that is not
    /// itself in a thread).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<Seq>,
    /// With `thread`: show the reply in the main timeline too.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub also_in_conversation: bool,
    /// Members mentioned in the text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<crate::Mention>,
    /// `@everyone` or `@here` (moderators and above in groups).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mention_all: Option<crate::MentionAll>,
    /// Forward this message (one I can read, in any of my conversations):
    /// its text is copied, the copy is marked `forwarded`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward: Option<crate::ForwardFrom>,
    /// My complete uploads to attach (at most [`crate::MAX_ATTACHMENTS`]);
    /// `text` is then an optional caption.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<crate::UploadId>,
}

impl SendMessage {
    /// A plain text message.
    pub fn text(client_id: ClientId, text: impl Into<String>) -> Self {
        SendMessage {
            client_id,
            text: text.into(),
            reply_to: None,
            thread: None,
            also_in_conversation: false,
            mentions: Vec::new(),
            mention_all: None,
            forward: None,
            attachments: Vec::new(),
        }
    }
}

/// `GET /v1/conversations/{id}/events`: a page of history.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HistoryPage {
    /// Events in ascending `seq` order.
    pub events: Vec<Event>,
    /// True when more events exist beyond this page in the direction asked.
    pub more: bool,
}

/// `GET /v1/sync`: a page of the caller's log.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SyncPage {
    /// Entries after the requested cursor, in order.
    pub deliveries: Vec<Delivery>,
    /// The cursor to ask from next time: the last delivery's, or, when the
    /// page holds everything of the caller's up to the server's newest
    /// position, that position (it can be higher than the last delivery's
    /// cursor, and higher than the cursor asked from on an empty page).
    pub cursor: Cursor,
    /// True when the page was cut at its limit: more entries are ready
    /// right now, so ask again at once. False when the page reached the
    /// newest position, however busy other users are.
    pub more: bool,
    /// Live-only frames (`presence`, `typing`) that arrived while this
    /// request waited. Between polls such signals are not kept: call
    /// `GET /v1/presence` for the current state.
    #[serde(default)]
    pub signals: Vec<crate::ServerFrame>,
}

/// `GET /v1/me`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Me {
    /// Id.
    pub id: UserId,
    /// Username.
    pub username: String,
    /// This device session.
    pub device: DeviceId,
    /// The newest position the server has handed out (to anyone): a cursor
    /// that means "everything so far". Not the position of your own newest
    /// entry; `"0"` only while nothing at all has happened on the server.
    pub head: Cursor,
    /// Whether I am a server admin (may suspend accounts).
    #[serde(default)]
    pub admin: bool,
    /// My display name, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// My "about" text, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<String>,
    /// My avatar, if set (see `UserInfo::avatar`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
}

/// `PUT /v1/admin/suspensions/{user}`: a suspended account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suspension {
    /// The account.
    pub user: UserInfo,
    /// Since when, ms since the epoch.
    pub suspended_at: i64,
}

/// `GET /v1/limits`: what the server accepts, so a client can check input
/// before sending it. Needs no session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerLimits {
    /// Longest message text, in bytes of UTF-8.
    pub max_message_bytes: u64,
    /// Largest WebSocket frame or HTTP JSON body, in bytes.
    pub max_frame_bytes: u64,
    /// Most members a group may have.
    pub max_group_members: u64,
    /// Shortest and longest username, in characters.
    pub username_chars: [u32; 2],
    /// Shortest and longest password, in characters.
    pub password_chars: [u32; 2],
    /// Largest page of `GET …/events` (history).
    pub max_history_page: u32,
    /// Largest page of `GET /v1/sync` (long-polling).
    pub max_sync_page: u32,
    /// How long after sending the sender may edit a message, in seconds.
    #[serde(default)]
    pub edit_window_secs: u64,
    /// How long after sending the sender may delete a message for
    /// everyone, in seconds.
    #[serde(default)]
    pub delete_window_secs: u64,
}

/// `GET /healthz` and `GET /readyz`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Health {
    /// `ok` or a reason.
    pub status: String,
    /// Server version.
    pub version: String,
}

/// `GET /v1/sessions`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SessionList {
    /// The caller's live device sessions, newest first.
    pub sessions: Vec<SessionInfo>,
}

/// Query of `GET /v1/conversations/{id}/events`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct HistoryQuery {
    /// Events with `seq` below this, newest first up to `limit` (returned in
    /// ascending order).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Seq>,
    /// Events with `seq` above this, oldest first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Seq>,
    /// Page size, 1 to 200 (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// Query of `GET /v1/sync` (long-polling).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SyncQuery {
    /// The last cursor processed; empty for the beginning.
    #[serde(default)]
    pub cursor: Option<Cursor>,
    /// Seconds to wait for something new when nothing is ready (0 to 60,
    /// default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait: Option<u64>,
    /// Page size, 1 to 500 (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// The query of `GET /v1/search`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchQuery {
    /// What to find: words (case and accents ignored; the last one also
    /// as a prefix unless the query ends with a space), 1 to 256
    /// characters. Nothing in it is an operator.
    pub q: String,
    /// Only in this conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conv: Option<ConversationId>,
    /// Only from this user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<UserId>,
    /// Only sent at or after this time (ms since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<i64>,
    /// Only sent before this time (ms since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<i64>,
    /// `file` (with attachments) or `link` (with an http or https link).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has: Option<String>,
    /// Only messages that mention me (or everyone).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mentions_me: bool,
    /// Only thread replies.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub in_thread: bool,
    /// Hits per page: 1 to 50, 20 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// A `next` from the page before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// A message a search found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchHit {
    /// Its conversation.
    pub conv: ConversationId,
    /// Its seq (load history around it to show it in context).
    pub seq: Seq,
    /// When it was sent, ms since the epoch.
    pub ts: i64,
    /// Who sent it.
    pub sender: UserId,
    /// Its text, cut around the first match (with `…`) when long.
    pub snippet: String,
    /// What matched: `[start, end)` UTF-8 byte ranges in `snippet`.
    pub highlights: Vec<[u32; 2]>,
    /// For a thread reply: the thread's root seq.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<Seq>,
}

/// `GET /v1/search`: best matches first, the newest first among equals.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchPage {
    /// The hits.
    pub results: Vec<SearchHit>,
    /// Pass as `cursor` for more; absent when there are no more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}
