//! Row types private to this backend and their conversion into records.

use natter_proto::{
    ClientId, ConversationId, ConversationKind, DeviceId, Event, EventBody, HistoryVisibility,
    MessageId, MessageMeta, Privacy, UserId, Visibility,
};
use natter_store::{ConversationRecord, Result, SessionRecord, StoreError, UserRecord};
use rusqlite::Row;

pub(crate) const USER_COLS: &str = "id, username, password_hash, created_at, presence_visibility, read_receipts, last_seen_at, group_adds, admin, suspended_at, display_name, about, discoverable, avatar";
pub(crate) const USER_COLS_P: &str = "p.id, p.username, p.password_hash, p.created_at, p.presence_visibility, p.read_receipts, p.last_seen_at, p.group_adds, p.admin, p.suspended_at, p.display_name, p.about, p.discoverable, p.avatar";
pub(crate) const USER_COL_COUNT: usize = 14;
pub(crate) const SESSION_COLS: &str =
    "device_id, user_id, name, created_at, last_active_at, revoked_at";
pub(crate) const CONV_COLS: &str = "id, kind, name, creator, created_at, last_seq, member_count, description, history, history_days, slow_mode_secs, avatar";
pub(crate) const CONV_COLS_C: &str = "c.id, c.kind, c.name, c.creator, c.created_at, c.last_seq, c.member_count, c.description, c.history, c.history_days, c.slow_mode_secs, c.avatar";
pub(crate) const CONV_COL_COUNT: usize = 12;
pub(crate) const EVENT_COLS: &str =
    "conv_id, seq, ts, sender, kind, msg_id, client_id, device_id, text, payload";
pub(crate) const EVENT_COLS_E: &str = "e.conv_id, e.seq, e.ts, e.sender, e.kind, e.msg_id, e.client_id, e.device_id, e.text, e.payload";
pub(crate) const EVENT_COL_COUNT: usize = 10;

fn bytes16(b: &[u8]) -> Result<[u8; 16]> {
    b.try_into()
        .map_err(|_| StoreError::Internal(format!("id column has {} bytes, not 16", b.len())))
}

pub(crate) fn message_id(b: &[u8]) -> Result<MessageId> {
    Ok(MessageId::from_bytes(bytes16(b)?))
}

pub(crate) fn user_id(b: &[u8]) -> Result<UserId> {
    Ok(UserId::from_bytes(bytes16(b)?))
}

pub(crate) fn conv_id(b: &[u8]) -> Result<ConversationId> {
    Ok(ConversationId::from_bytes(bytes16(b)?))
}

pub(crate) fn device_id(b: &[u8]) -> Result<DeviceId> {
    Ok(DeviceId::from_bytes(bytes16(b)?))
}

pub(crate) struct UserRow {
    id: Vec<u8>,
    username: String,
    password_hash: String,
    created_at: i64,
    visibility: String,
    read_receipts: bool,
    last_seen: Option<i64>,
    group_adds: String,
    admin: bool,
    suspended_at: Option<i64>,
    display_name: Option<String>,
    about: Option<String>,
    discoverable: bool,
    avatar: Option<String>,
}

impl UserRow {
    pub(crate) fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: r.get(0)?,
            username: r.get(1)?,
            password_hash: r.get(2)?,
            created_at: r.get(3)?,
            visibility: r.get(4)?,
            read_receipts: r.get(5)?,
            last_seen: r.get(6)?,
            group_adds: r.get(7)?,
            admin: r.get(8)?,
            suspended_at: r.get(9)?,
            display_name: r.get(10)?,
            about: r.get(11)?,
            discoverable: r.get(12)?,
            avatar: r.get(13)?,
        })
    }

    /// Reads the columns starting at `at`; `None` when a LEFT JOIN found
    /// nothing.
    pub(crate) fn from_row_at(r: &Row<'_>, at: usize) -> rusqlite::Result<Option<Self>> {
        let id: Option<Vec<u8>> = r.get(at)?;
        let Some(id) = id else { return Ok(None) };
        Ok(Some(Self {
            id,
            username: r.get(at + 1)?,
            password_hash: r.get(at + 2)?,
            created_at: r.get(at + 3)?,
            visibility: r.get(at + 4)?,
            read_receipts: r.get(at + 5)?,
            last_seen: r.get(at + 6)?,
            group_adds: r.get(at + 7)?,
            admin: r.get(at + 8)?,
            suspended_at: r.get(at + 9)?,
            display_name: r.get(at + 10)?,
            about: r.get(at + 11)?,
            discoverable: r.get(at + 12)?,
            avatar: r.get(at + 13)?,
        }))
    }

    pub(crate) fn into_record(self) -> Result<UserRecord> {
        Ok(UserRecord {
            id: user_id(&self.id)?,
            username: self.username,
            password_hash: self.password_hash,
            created_at: self.created_at,
            privacy: Privacy {
                presence: parse_visibility(&self.visibility)?,
                read_receipts: self.read_receipts,
                group_adds: parse_visibility(&self.group_adds)?,
                discoverable: self.discoverable,
            },
            last_seen: self.last_seen,
            admin: self.admin,
            suspended_at: self.suspended_at,
            display_name: self.display_name,
            about: self.about,
            avatar: self.avatar,
        })
    }
}

pub(crate) struct SessionRow {
    device: Vec<u8>,
    user: Vec<u8>,
    name: String,
    created_at: i64,
    last_active_at: i64,
    revoked_at: Option<i64>,
}

impl SessionRow {
    pub(crate) fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            device: r.get(0)?,
            user: r.get(1)?,
            name: r.get(2)?,
            created_at: r.get(3)?,
            last_active_at: r.get(4)?,
            revoked_at: r.get(5)?,
        })
    }

    pub(crate) fn into_record(self) -> Result<SessionRecord> {
        Ok(SessionRecord {
            device: device_id(&self.device)?,
            user: user_id(&self.user)?,
            name: self.name,
            created_at: self.created_at,
            last_active_at: self.last_active_at,
            revoked_at: self.revoked_at,
        })
    }
}

pub(crate) struct ConvRow {
    id: Vec<u8>,
    kind: String,
    name: Option<String>,
    creator: Vec<u8>,
    created_at: i64,
    last_seq: i64,
    member_count: i64,
    description: Option<String>,
    history: String,
    history_days: Option<i64>,
    slow_mode_secs: i64,
    avatar: Option<String>,
}

impl ConvRow {
    pub(crate) fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: r.get(0)?,
            kind: r.get(1)?,
            name: r.get(2)?,
            creator: r.get(3)?,
            created_at: r.get(4)?,
            last_seq: r.get(5)?,
            member_count: r.get(6)?,
            description: r.get(7)?,
            history: r.get(8)?,
            history_days: r.get(9)?,
            slow_mode_secs: r.get(10)?,
            avatar: r.get(11)?,
        })
    }

    pub(crate) fn into_record(self) -> Result<ConversationRecord> {
        Ok(ConversationRecord {
            id: conv_id(&self.id)?,
            kind: parse_kind(&self.kind)?,
            name: self.name,
            description: self.description,
            history: parse_history(&self.history, self.history_days)?,
            slow_mode_secs: self.slow_mode_secs as u32,
            creator: user_id(&self.creator)?,
            created_at: self.created_at,
            last_seq: self.last_seq as u64,
            member_count: self.member_count as u64,
            avatar: self.avatar,
        })
    }
}

/// A history setting as stored: its name and, for `days`, the count.
pub(crate) fn history_columns(h: HistoryVisibility) -> (&'static str, Option<i64>) {
    match h {
        HistoryVisibility::Joined => ("joined", None),
        HistoryVisibility::All => ("all", None),
        HistoryVisibility::Days { days } => ("days", Some(i64::from(days))),
    }
}

pub(crate) fn parse_history(name: &str, days: Option<i64>) -> Result<HistoryVisibility> {
    match (name, days) {
        ("joined", _) => Ok(HistoryVisibility::Joined),
        ("all", _) => Ok(HistoryVisibility::All),
        ("days", Some(d)) => Ok(HistoryVisibility::Days { days: d as u32 }),
        _ => Err(StoreError::Internal(format!(
            "unknown history setting {name:?}/{days:?}"
        ))),
    }
}

pub(crate) fn parse_role(s: &str) -> Result<natter_proto::Role> {
    natter_proto::Role::parse(s)
        .ok_or_else(|| StoreError::Internal(format!("unknown role {s:?} in the database")))
}

pub(crate) fn parse_visibility(s: &str) -> Result<Visibility> {
    Visibility::parse(s).ok_or_else(|| StoreError::Internal(format!("unknown visibility {s:?}")))
}

fn parse_kind(s: &str) -> Result<ConversationKind> {
    match s {
        "direct" => Ok(ConversationKind::Direct),
        "group" => Ok(ConversationKind::Group),
        "channel" => Ok(ConversationKind::Channel),
        other => Err(StoreError::Internal(format!(
            "unknown conversation kind {other:?}"
        ))),
    }
}

/// An event as stored: message columns for messages, the JSON body for
/// other kinds.
pub(crate) struct EventRow {
    pub conv: Vec<u8>,
    pub seq: i64,
    pub ts: i64,
    pub sender: Vec<u8>,
    pub kind: String,
    pub msg_id: Option<Vec<u8>>,
    pub client_id: Option<String>,
    pub device_id: Option<Vec<u8>>,
    pub text: Option<String>,
    pub payload: Option<String>,
}

impl EventRow {
    pub(crate) fn from_row_at(r: &Row<'_>, at: usize) -> rusqlite::Result<Option<Self>> {
        let conv: Option<Vec<u8>> = r.get(at)?;
        let Some(conv) = conv else { return Ok(None) };
        Ok(Some(Self {
            conv,
            seq: r.get(at + 1)?,
            ts: r.get(at + 2)?,
            sender: r.get(at + 3)?,
            kind: r.get(at + 4)?,
            msg_id: r.get(at + 5)?,
            client_id: r.get(at + 6)?,
            device_id: r.get(at + 7)?,
            text: r.get(at + 8)?,
            payload: r.get(at + 9)?,
        }))
    }

    pub(crate) fn from_event(ev: &Event) -> Result<Self> {
        let mut row = EventRow {
            conv: ev.conv.as_bytes().to_vec(),
            seq: ev.seq as i64,
            ts: ev.ts,
            sender: ev.sender.as_bytes().to_vec(),
            kind: String::new(),
            msg_id: None,
            client_id: None,
            device_id: None,
            text: None,
            payload: None,
        };
        match &ev.body {
            EventBody::Message {
                id,
                client_id,
                device,
                text,
                meta,
            } => {
                row.kind = "message".into();
                row.msg_id = Some(id.as_bytes().to_vec());
                row.client_id = Some(client_id.0.clone());
                row.device_id = Some(device.as_bytes().to_vec());
                row.text = Some(text.clone());
                row.payload = stored_meta(meta)?;
            }
            other => {
                let payload = serde_json::to_string(other)
                    .map_err(|e| StoreError::Internal(format!("encode event: {e}")))?;
                row.kind = match other {
                    EventBody::Created { .. } => "created",
                    EventBody::MembersAdded { .. } => "members_added",
                    EventBody::MemberLeft { .. } => "member_left",
                    EventBody::MemberRemoved { .. } => "member_removed",
                    EventBody::MemberBanned { .. } => "member_banned",
                    EventBody::MemberUnbanned { .. } => "member_unbanned",
                    EventBody::RoleChanged { .. } => "role_changed",
                    EventBody::OwnershipTransferred { .. } => "ownership_transferred",
                    EventBody::GroupUpdated { .. } => "group_updated",
                    EventBody::MemberJoined { .. } => "member_joined",
                    EventBody::MemberMuted { .. } => "member_muted",
                    EventBody::MemberUnmuted { .. } => "member_unmuted",
                    EventBody::Deleted { .. } => "deleted",
                    EventBody::MessageDeleted { .. } => "message_deleted",
                    EventBody::MessageEdited { .. } => "message_edited",
                    EventBody::ReactionAdded { .. } => "reaction_added",
                    EventBody::ReactionRemoved { .. } => "reaction_removed",
                    EventBody::ReactionCounts { .. } => "reaction_counts",
                    EventBody::MessagePinned { .. } => "message_pinned",
                    EventBody::MessageUnpinned { .. } => "message_unpinned",
                    _ => "other",
                }
                .into();
                row.payload = Some(payload);
            }
        }
        Ok(row)
    }

    pub(crate) fn into_event(self) -> Result<Event> {
        let body = if self.kind == "message" {
            let missing = || StoreError::Internal("message row lacks a column".into());
            EventBody::Message {
                id: MessageId::from_bytes(bytes16(&self.msg_id.ok_or_else(missing)?)?),
                client_id: ClientId(self.client_id.ok_or_else(missing)?),
                device: device_id(&self.device_id.ok_or_else(missing)?)?,
                text: self.text.ok_or_else(missing)?,
                meta: match self.payload {
                    Some(json) => serde_json::from_str(&json)
                        .map_err(|e| StoreError::Internal(format!("decode message meta: {e}")))?,
                    None => Box::default(),
                },
            }
        } else {
            let payload = self
                .payload
                .ok_or_else(|| StoreError::Internal("event row lacks its payload".into()))?;
            serde_json::from_str(&payload)
                .map_err(|e| StoreError::Internal(format!("decode event: {e}")))?
        };
        Ok(Event {
            conv: conv_id(&self.conv)?,
            seq: self.seq as u64,
            ts: self.ts,
            sender: user_id(&self.sender)?,
            body,
        })
    }
}

/// What of a message's meta is stored with it: everything but what is
/// filled in at read time (the reply's snippet, reactions, the thread
/// summary, the pin). `None` for a plain message.
pub(crate) fn stored_meta(meta: &MessageMeta) -> Result<Option<String>> {
    let mut stored = MessageMeta {
        reactions: Vec::new(),
        thread_summary: None,
        pinned: false,
        ..meta.clone()
    };
    if let Some(r) = stored.reply_to.as_mut() {
        r.snippet = None;
        r.deleted = false;
    }
    if stored.is_empty() {
        return Ok(None);
    }
    serde_json::to_string(&stored)
        .map(Some)
        .map_err(|e| StoreError::Internal(format!("encode message meta: {e}")))
}
