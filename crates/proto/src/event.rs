//! Conversation events: everything that happens in a conversation is an event
//! with the conversation's next sequence number. Messages are events; so are
//! the creation of the conversation and membership changes.

use crate::ids::{ClientId, ConversationId, DeviceId, MessageId, UserId};
use serde::{Deserialize, Serialize};

/// The most user ids a membership event lists (`created.members`,
/// `members_added.users`): an event stays small however many people it
/// concerns, and a client reads the rest from the member list.
pub const MAX_EVENT_USERS: usize = 100;

/// A per-conversation sequence number. The server hands them out densely:
/// 1, 2, 3, … with no gaps and no repeats. Clients order by it and detect gaps
/// with it.
pub type Seq = u64;

/// Direct (exactly two users, at most one per pair), group, or broadcast
/// channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationKind {
    /// One-to-one.
    Direct,
    /// A named group with a creator.
    Group,
    /// A broadcast channel: its owner and admins post, subscribers read.
    /// Subscribers join and leave without an event in the channel (each
    /// gets a `membership` item in their own log instead), see no presence
    /// or typing, and send receipts that reach only their own devices.
    Channel,
}

impl ConversationKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationKind::Direct => "direct",
            ConversationKind::Group => "group",
            ConversationKind::Channel => "channel",
        }
    }

    /// Groups and channels: conversations with a name, roles and settings.
    pub fn is_multi(self) -> bool {
        !matches!(self, ConversationKind::Direct)
    }
}

/// One event in a conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// The conversation.
    pub conv: ConversationId,
    /// Its position in the conversation.
    pub seq: Seq,
    /// Server time of the commit, milliseconds since the Unix epoch.
    pub ts: i64,
    /// Who caused it.
    pub sender: UserId,
    /// What happened.
    #[serde(flatten)]
    pub body: EventBody,
}

/// What an event says. The `kind` field on the wire selects the variant;
/// clients ignore kinds they do not know.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventBody {
    /// A text message.
    Message {
        /// Server-assigned message id.
        id: MessageId,
        /// The sender's idempotency key.
        client_id: ClientId,
        /// The device it was sent from.
        device: DeviceId,
        /// UTF-8 text: its current version (see `edited_at`).
        text: String,
        /// Reply, thread, mentions, forward mark, edit time and, when read
        /// from history, reactions, thread summary and pin: each field only
        /// when set.
        #[serde(flatten)]
        meta: Box<crate::MessageMeta>,
    },
    /// The conversation was created (always seq 1).
    Created {
        /// Direct or group.
        conv_kind: ConversationKind,
        /// Group name; absent for direct conversations.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// The initial members, creator first; at most
        /// [`MAX_EVENT_USERS`] of them.
        members: Vec<UserId>,
        /// How many initial members there were (more than `members` lists
        /// when they were over [`MAX_EVENT_USERS`]).
        #[serde(default)]
        member_count: u64,
    },
    /// Members were added by `sender`.
    MembersAdded {
        /// The new members; at most [`MAX_EVENT_USERS`] of them.
        users: Vec<UserId>,
        /// How many were added (more than `users` lists when they were
        /// over [`MAX_EVENT_USERS`]).
        #[serde(default)]
        count: u64,
    },
    /// `user` (who is also the `sender`) left the group. It is the last
    /// event of the conversation the leaver's log carries.
    MemberLeft {
        /// Who left.
        user: UserId,
    },
    /// `sender` removed `user` from the group; like `member_left`, it is
    /// the last event the removed member's log carries.
    MemberRemoved {
        /// Who was removed.
        user: UserId,
    },
    /// `sender` banned `user`: removed if they were a member (then it is the
    /// last event their log carries), and kept out until unbanned.
    MemberBanned {
        /// Who was banned.
        user: UserId,
    },
    /// `user` (also the `sender`) joined the group through an invite link.
    MemberJoined {
        /// Who joined.
        user: UserId,
    },
    /// `sender` muted `user` until `until` (ms since the epoch): their
    /// sends are refused with `muted` until then.
    MemberMuted {
        /// Who was muted.
        user: UserId,
        /// Until when.
        until: i64,
    },
    /// `sender` lifted `user`'s mute.
    MemberUnmuted {
        /// Whose mute was lifted.
        user: UserId,
    },
    /// `sender` lifted the ban of `user` (who is not a member).
    MemberUnbanned {
        /// Whose ban was lifted.
        user: UserId,
    },
    /// `sender` gave `user` a new role.
    RoleChanged {
        /// Whose role changed.
        user: UserId,
        /// The new role: admin, moderator or member.
        role: crate::Role,
    },
    /// `sender` changed the group's settings: only the fields that changed
    /// are present.
    GroupUpdated {
        /// The new name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// The new description (empty: none).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
        /// What people who join from now on may read.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        history: Option<crate::HistoryVisibility>,
        /// The new slow mode, in seconds (0: off).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        slow_mode_secs: Option<u32>,
        /// The new avatar (`""`: removed).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        avatar: Option<String>,
    },
    /// What is left of a deleted message at its own seq (history, sync and
    /// the conversation list show this instead of the message): its id,
    /// who deleted it and when. The text is gone from the server.
    Deleted {
        /// The message's id.
        id: MessageId,
        /// Who deleted it (the sender, or a moderator).
        by: UserId,
        /// When, ms since the epoch.
        at: i64,
        /// When it was a thread reply: the root's seq (keep the tombstone
        /// in the thread, out of the main timeline unless `also_in_conversation`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        thread: Option<Seq>,
        /// With `thread`: it was shown in the main timeline too.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        also_in_conversation: bool,
        /// With `thread`: the thread's reply count when it was sent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        thread_replies: Option<u64>,
    },
    /// `sender` deleted the message at seq `target` for everyone: replace it with
    /// a tombstone. The text is gone from the server.
    MessageDeleted {
        /// The deleted message's seq.
        target: Seq,
        /// Its id.
        id: MessageId,
    },
    /// A message the reader deleted for themselves, in place of it (history
    /// and sync show this to that user alone).
    Hidden {
        /// The message's id.
        id: MessageId,
    },
    /// `sender` edited the message at seq `target`: its text is now `text`.
    MessageEdited {
        /// The edited message's seq.
        target: Seq,
        /// Its id.
        id: MessageId,
        /// The new text.
        text: String,
        /// Mentions in the new text.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        mentions: Vec<crate::Mention>,
        /// `@everyone` or `@here` in the new text.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mention_all: Option<crate::MentionAll>,
        /// When, ms since the epoch.
        edited_at: i64,
    },
    /// `sender` reacted to the message at seq `target` with `emoji`;
    /// `count` is how many members have reacted with it now.
    ReactionAdded {
        /// The message's seq.
        target: Seq,
        /// Its id.
        id: MessageId,
        /// The emoji.
        emoji: String,
        /// The emoji's count after this.
        count: u64,
    },
    /// `sender` took their `emoji` reaction back; `count` is what is left.
    ReactionRemoved {
        /// The message's seq.
        target: Seq,
        /// Its id.
        id: MessageId,
        /// The emoji.
        emoji: String,
        /// The emoji's count after this.
        count: u64,
    },
    /// In a channel: the reactions of the messages listed, as they are now
    /// (sent coalesced instead of one event per reaction). `sender` is the
    /// channel's creator and means nothing here.
    ReactionCounts {
        /// The messages whose reactions changed.
        messages: Vec<crate::TargetReactions>,
    },
    /// `sender` pinned the message at seq `target`.
    MessagePinned {
        /// The message's seq.
        target: Seq,
        /// Its id.
        id: MessageId,
    },
    /// `sender` unpinned the message at seq `target`.
    MessageUnpinned {
        /// The message's seq.
        target: Seq,
        /// Its id.
        id: MessageId,
    },
    /// The owner (`sender`, also `from`) handed ownership to `to`; `from`
    /// is an admin from this event on.
    OwnershipTransferred {
        /// The owner until now.
        from: UserId,
        /// The new owner.
        to: UserId,
    },
}

impl EventBody {
    /// The seq of the message this event acts on (an edit, a reaction, a
    /// pin, a deletion), if it is such an event.
    pub fn target(&self) -> Option<Seq> {
        match self {
            EventBody::MessageEdited { target, .. }
            | EventBody::ReactionAdded { target, .. }
            | EventBody::ReactionRemoved { target, .. }
            | EventBody::MessagePinned { target, .. }
            | EventBody::MessageUnpinned { target, .. }
            | EventBody::MessageDeleted { target, .. } => Some(*target),
            _ => None,
        }
    }

    /// Whether the event only acts on an earlier message (an edit, a
    /// reaction, a pin, a deletion, reaction counts): such events do not
    /// move the conversation up the list or count as unread.
    pub fn is_message_operation(&self) -> bool {
        self.target().is_some() || matches!(self, EventBody::ReactionCounts { .. })
    }
}

impl Event {
    /// The message id, if this event is a message (or what is left of a
    /// deleted one).
    pub fn message_id(&self) -> Option<MessageId> {
        match &self.body {
            EventBody::Message { id, .. }
            | EventBody::Deleted { id, .. }
            | EventBody::Hidden { id } => Some(*id),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deletion_events_round_trip() {
        let id = MessageId::new();
        for body in [
            EventBody::Deleted {
                id,
                by: UserId::new(),
                at: 9,
                thread: Some(2),
                also_in_conversation: false,
                thread_replies: Some(1),
            },
            EventBody::MessageDeleted { target: 2, id },
        ] {
            let ev = Event {
                conv: ConversationId::new(),
                seq: 3,
                ts: 1,
                sender: UserId::new(),
                body,
            };
            let json = serde_json::to_string(&ev).unwrap();
            assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), ev, "{json}");
        }
    }

    #[test]
    fn message_event_wire_shape() {
        let ev = Event {
            conv: ConversationId::new(),
            seq: 3,
            ts: 1,
            sender: UserId::new(),
            body: EventBody::Message {
                id: MessageId::new(),
                client_id: ClientId("c1".into()),
                device: DeviceId::new(),
                text: "hi".into(),
                meta: Default::default(),
            },
        };
        let v: serde_json::Value = serde_json::to_value(&ev).unwrap();
        assert_eq!(v["kind"], "message");
        assert_eq!(v["text"], "hi");
        assert_eq!(v["seq"], 3);
        let back: Event = serde_json::from_value(v).unwrap();
        assert_eq!(back, ev);
    }
}
