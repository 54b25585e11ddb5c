//! Live signals: receipts (durable watermarks, delivered through the log),
//! presence and typing (ephemeral, live only), and the privacy settings
//! that govern them.

use crate::event::Seq;
use crate::ids::{ConversationId, UserId};
use serde::{Deserialize, Serialize};

/// Which watermark a receipt moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptKind {
    /// Some device of the member received the messages up to `seq`.
    Delivered,
    /// The member displayed the messages up to `seq` (implies delivered).
    Read,
}

/// A member's receipt watermarks in a conversation after a change. Both only
/// move forward; `read <= delivered` always.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The conversation.
    pub conv: ConversationId,
    /// Whose watermarks these are.
    pub user: UserId,
    /// Every message up to this seq reached one of the user's devices.
    pub delivered: Seq,
    /// Every message up to this seq was read. Reported as 0 to others when
    /// the user does not share read receipts.
    pub read: Seq,
    /// When the watermark moved, ms since the epoch.
    pub ts: i64,
}

/// Whether a user is online, and when they were last seen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presence {
    /// The user.
    pub user: UserId,
    /// True while a device of theirs is connected.
    pub online: bool,
    /// When they were last online, ms since the epoch; absent while online,
    /// when never seen, or when hidden.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<i64>,
}

/// Who may see a user's online status and last seen; also who may add a
/// user to groups directly (see [`Privacy::group_adds`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Everyone who shares a direct conversation or a small group with me.
    #[default]
    Everyone,
    /// Only people I have a direct conversation with.
    Contacts,
    /// Nobody.
    Nobody,
}

impl Visibility {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Everyone => "everyone",
            Visibility::Contacts => "contacts",
            Visibility::Nobody => "nobody",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Visibility> {
        match s {
            "everyone" => Some(Visibility::Everyone),
            "contacts" => Some(Visibility::Contacts),
            "nobody" => Some(Visibility::Nobody),
            _ => None,
        }
    }
}

/// `GET` and `PUT /v1/me/privacy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Privacy {
    /// Who sees my online status and last seen.
    pub presence: Visibility,
    /// Whether others see when I read their messages. Turning this off also
    /// hides others' read receipts from me.
    pub read_receipts: bool,
    /// Who may add me to a group as a member at once. Anyone else's add
    /// makes me a member with an invitation (`request: true`) that I accept
    /// or decline by leaving.
    #[serde(default)]
    pub group_adds: Visibility,
    /// Whether others can find me in the user directory (`GET
    /// /v1/users/search`). Finding me by my exact username works either way.
    #[serde(default = "yes")]
    pub discoverable: bool,
}

fn yes() -> bool {
    true
}

impl Default for Privacy {
    fn default() -> Self {
        Privacy {
            presence: Visibility::Everyone,
            read_receipts: true,
            group_adds: Visibility::Everyone,
            discoverable: true,
        }
    }
}

/// `PUT /v1/me/privacy`: `presence` and `read_receipts` are required;
/// `group_adds` keeps its current value when left out (clients written
/// before it existed send only the first two).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacyUpdate {
    /// Who sees my online status and last seen.
    pub presence: Visibility,
    /// Whether others see when I read their messages.
    pub read_receipts: bool,
    /// Who may add me to groups directly; unchanged when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_adds: Option<Visibility>,
    /// Whether the directory lists me; unchanged when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discoverable: Option<bool>,
}

impl PrivacyUpdate {
    /// The settings after this update is applied to `current`.
    pub fn apply(self, current: Privacy) -> Privacy {
        Privacy {
            presence: self.presence,
            read_receipts: self.read_receipts,
            group_adds: self.group_adds.unwrap_or(current.group_adds),
            discoverable: self.discoverable.unwrap_or(current.discoverable),
        }
    }
}

impl From<Privacy> for PrivacyUpdate {
    fn from(p: Privacy) -> Self {
        PrivacyUpdate {
            presence: p.presence,
            read_receipts: p.read_receipts,
            group_adds: Some(p.group_adds),
            discoverable: Some(p.discoverable),
        }
    }
}

/// `POST /v1/conversations/{id}/receipts` and the `receipt` client frame.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarkReceipt {
    /// Which watermark.
    pub kind: ReceiptKind,
    /// Up to which seq (at most the conversation's newest seq).
    pub seq: Seq,
}

/// `POST /v1/conversations/{id}/typing`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetTyping {
    /// True while typing; false to stop.
    pub active: bool,
}

/// One member's watermarks, in [`ReceiptSummary`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberReceipt {
    /// The member.
    pub user: UserId,
    /// Delivered up to.
    pub delivered: Seq,
    /// Read up to (0 when the member does not share read receipts).
    pub read: Seq,
}

/// `GET /v1/conversations/{id}/receipts?seq=N`: who has a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptSummary {
    /// The message's seq.
    pub seq: Seq,
    /// Members other than the message's sender.
    pub total: u64,
    /// How many of them have it on a device.
    pub delivered: u64,
    /// How many of them read it (among those who share read receipts; 0
    /// when you do not share yours).
    pub read: u64,
    /// Every other member's watermarks (read hidden as above).
    pub members: Vec<MemberReceipt>,
}

/// `GET /v1/presence`: the presence of everyone I may see.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PresenceList {
    /// One entry per visible user.
    pub users: Vec<Presence>,
}
