//! Rich messages: what a message carries besides its text (a reply, a
//! thread, mentions, a forward mark, its edit time) and the bodies of the
//! operations on messages (edit, react, pin, hide, threads).

use crate::event::{Event, Seq};
use crate::ids::{ConversationId, MessageId, UserId};
use serde::{Deserialize, Serialize};

/// Most mentions one message may carry.
pub const MAX_MENTIONS: usize = 50;
/// Longest reaction, in bytes of UTF-8.
pub const MAX_EMOJI_BYTES: usize = 32;
/// Most different reactions one user may put on one message.
pub const MAX_REACTIONS_PER_USER: usize = 20;
/// Longest quoted snippet of a replied-to message, in characters.
pub const SNIPPET_CHARS: usize = 120;

fn is_false(b: &bool) -> bool {
    !*b
}

/// Everything a message carries besides its text. Every field is optional
/// on the wire and absent when empty. The first group is stored with the
/// message; the second (`reactions`, `thread_summary`, `pinned`) is filled
/// in when history is read (`GET …/events`, `GET …/messages/{seq}`,
/// thread pages), never in live frames or sync, where the events that
/// changed them follow the message instead.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageMeta {
    /// The message this one answers, in the same conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<ReplyTo>,
    /// The seq of the thread's root when this message is a reply in a
    /// thread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<Seq>,
    /// With `thread`: the reply shows in the conversation's main timeline
    /// too (otherwise only in the thread).
    #[serde(default, skip_serializing_if = "is_false")]
    pub also_in_conversation: bool,
    /// With `thread`: how many replies the thread had with this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_replies: Option<u64>,
    /// Forwarded from another conversation (which one is not said).
    #[serde(default, skip_serializing_if = "is_false")]
    pub forwarded: bool,
    /// The members mentioned, with where in the text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<Mention>,
    /// `@everyone` or `@here`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mention_all: Option<MentionAll>,
    /// When the text was last edited, ms since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<i64>,
    /// Files attached (the text is then their caption, and may be empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<crate::Attachment>,
    /// Read-time: the reactions, most used first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<ReactionCount>,
    /// Read-time, on a thread's root: the thread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_summary: Option<ThreadSummary>,
    /// Read-time: the message is pinned.
    #[serde(default, skip_serializing_if = "is_false")]
    pub pinned: bool,
}

impl MessageMeta {
    /// True when nothing is set (the message is plain text).
    pub fn is_empty(&self) -> bool {
        *self == MessageMeta::default()
    }
}

/// What a reply quotes. `snippet` follows the original: it is its current
/// text (cut to [`SNIPPET_CHARS`]), absent once the original was deleted
/// (`deleted` is then true) or when the reader may not see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyTo {
    /// The original's seq.
    pub seq: Seq,
    /// Its id.
    pub id: MessageId,
    /// Its sender.
    pub sender: UserId,
    /// The start of its current text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snippet: Option<String>,
    /// The original was deleted for everyone.
    #[serde(default, skip_serializing_if = "is_false")]
    pub deleted: bool,
}

/// A member mentioned in a message: `text[start..end]` (UTF-8 byte
/// offsets, on character boundaries) names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mention {
    /// Who.
    pub user: UserId,
    /// First byte of the mention in the text.
    pub start: u32,
    /// One past its last byte.
    pub end: u32,
}

/// A mention of every member.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MentionAll {
    /// Every member.
    Everyone,
    /// Every member, meant for those online now.
    Here,
}

/// One emoji's count on a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactionCount {
    /// The emoji.
    pub emoji: String,
    /// How many members reacted with it.
    pub count: u64,
    /// Whether the reader did.
    #[serde(default)]
    pub me: bool,
}

/// A thread as its root shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadSummary {
    /// How many replies (deleted ones included, as tombstones).
    pub replies: u64,
    /// The newest reply's seq.
    pub last_seq: Seq,
    /// The newest reply's time, ms since the epoch.
    pub last_at: i64,
    /// Who replied, most recent first, at most five.
    pub participants: Vec<UserId>,
    /// Replies from others after the reader's read mark in this thread.
    #[serde(default)]
    pub unread: u64,
}

/// Reactions of one message in a `reaction_counts` event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetReactions {
    /// The message's seq.
    pub target: Seq,
    /// Every emoji's count now (`me` is always false here).
    pub reactions: Vec<ReactionCount>,
}

/// A change only the user's own devices hear of. Part of their log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
#[non_exhaustive]
pub enum PersonalChange {
    /// I deleted a message for myself: hide it on every device.
    Hidden {
        /// The conversation.
        conv: ConversationId,
        /// The message's seq.
        seq: Seq,
        /// Its id.
        id: MessageId,
    },
    /// I reacted in a channel (or took my reaction back). Channels send
    /// counts to everyone in coalesced `reaction_counts` events; this tells
    /// my devices which reactions are mine.
    Reaction {
        /// The channel.
        conv: ConversationId,
        /// The message's seq.
        seq: Seq,
        /// The emoji.
        emoji: String,
        /// True when added, false when taken back.
        added: bool,
        /// The emoji's count right after.
        count: u64,
    },
    /// I read a thread up to `seq`.
    ThreadRead {
        /// The conversation.
        conv: ConversationId,
        /// The thread's root.
        root: Seq,
        /// Read up to this reply's seq.
        seq: Seq,
    },
}

impl PersonalChange {
    /// The conversation it concerns.
    pub fn conv(&self) -> ConversationId {
        match self {
            PersonalChange::Hidden { conv, .. }
            | PersonalChange::Reaction { conv, .. }
            | PersonalChange::ThreadRead { conv, .. } => *conv,
        }
    }
}

/// `PATCH /v1/conversations/{id}/messages/{seq}`: new text for my
/// message. Answered by the message as it now is.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditMessage {
    /// The new text.
    pub text: String,
    /// Mentions in the new text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<Mention>,
    /// `@everyone` or `@here` in the new text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mention_all: Option<MentionAll>,
}

/// Where a forwarded message comes from: a message I can read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardFrom {
    /// Its conversation.
    pub conv: ConversationId,
    /// Its seq.
    pub seq: Seq,
}

/// One version of an edited message's text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditVersion {
    /// The text.
    pub text: String,
    /// When it was written: the send time for the first version, the edit
    /// time for the others; ms since the epoch.
    pub at: i64,
}

/// `GET /v1/conversations/{id}/messages/{seq}/edits`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditHistory {
    /// Every version, oldest (as sent) first, the current one last.
    pub versions: Vec<EditVersion>,
}

/// Answer of `PUT` and `DELETE …/messages/{seq}/reactions/{emoji}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactionState {
    /// The message's seq.
    pub seq: Seq,
    /// The emoji.
    pub emoji: String,
    /// How many members reacted with it now.
    pub count: u64,
    /// Whether I did.
    pub me: bool,
}

/// `GET /v1/conversations/{id}/messages/{seq}/reactions`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactionList {
    /// Every emoji on the message, most used first.
    pub reactions: Vec<ReactionCount>,
}

/// One member who reacted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reactor {
    /// Who.
    pub user: UserId,
    /// Their username.
    pub username: String,
    /// Their display name, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// When, ms since the epoch.
    pub at: i64,
}

/// `GET /v1/conversations/{id}/messages/{seq}/reactions/{emoji}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactorList {
    /// Who reacted with the emoji, in the order they did.
    pub users: Vec<Reactor>,
    /// True when more follow: ask again with `after` = the last user's id.
    pub more: bool,
}

/// Query of the reactor list.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ReactorQuery {
    /// Continue after this user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<UserId>,
    /// Page size, 1 to 200 (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// One pinned message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinInfo {
    /// The message as it is now.
    pub message: Event,
    /// Who pinned it.
    pub by: UserId,
    /// When, ms since the epoch.
    pub at: i64,
}

/// `GET /v1/conversations/{id}/pins`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinList {
    /// Pinned messages, most recently pinned first.
    pub pins: Vec<PinInfo>,
}

/// `GET /v1/conversations/{id}/threads/{root}`: a page of a thread.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadPage {
    /// The root message, with its `thread_summary`.
    pub root: Event,
    /// Replies in ascending seq order.
    pub events: Vec<Event>,
    /// True when more replies follow this page.
    pub more: bool,
}

/// Query of a thread page.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ThreadQuery {
    /// Replies with seq above this (default: from the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Seq>,
    /// Page size, 1 to 200 (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// `PUT /v1/conversations/{id}/threads/{root}/read`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThreadRead {
    /// The newest reply read.
    pub seq: Seq,
}

/// Whether `s` is one emoji: a single pictograph with its optional
/// variation selector, skin tone and tag sequence, several of those
/// joined by zero-width joiners, a keycap (`1️⃣`) or a flag (a pair of
/// regional indicators), at most [`MAX_EMOJI_BYTES`] long.
pub fn is_emoji(s: &str) -> bool {
    if s.is_empty() || s.len() > MAX_EMOJI_BYTES {
        return false;
    }
    let cps: Vec<u32> = s.chars().map(u32::from).collect();
    let regional = |c: u32| (0x1F1E6..=0x1F1FF).contains(&c);
    if regional(cps[0]) {
        return cps.len() == 2 && regional(cps[1]);
    }
    // Keycaps: 0-9, # or * with an optional VS16 and the enclosing keycap.
    if matches!(cps[0], 0x30..=0x39 | 0x23 | 0x2A) {
        return matches!(cps[1..], [0x20E3] | [0xFE0F, 0x20E3]);
    }
    let mut i = 0;
    loop {
        // One element: a pictograph and what may follow it.
        if !cps.get(i).copied().is_some_and(pictograph) {
            return false;
        }
        i += 1;
        if matches!(cps.get(i), Some(0xFE0F | 0xFE0E)) {
            i += 1;
        }
        if cps.get(i).is_some_and(|c| (0x1F3FB..=0x1F3FF).contains(c)) {
            i += 1;
        }
        if cps.get(i).is_some_and(|c| (0xE0020..=0xE007E).contains(c)) {
            while cps.get(i).is_some_and(|c| (0xE0020..=0xE007E).contains(c)) {
                i += 1;
            }
            if cps.get(i) != Some(&0xE007F) {
                return false;
            }
            i += 1;
        }
        match cps.get(i) {
            None => return true,
            Some(0x200D) => i += 1,
            Some(_) => return false,
        }
    }
}

/// Code points that are emoji pictographs (the ranges of Unicode's
/// Extended_Pictographic property and the older symbols with emoji
/// presentation).
fn pictograph(c: u32) -> bool {
    matches!(c,
        0xA9 | 0xAE | 0x203C | 0x2049 | 0x2122 | 0x2139
        | 0x2194..=0x21AA
        | 0x231A..=0x23FF
        | 0x24C2
        | 0x25AA..=0x25FE
        | 0x2600..=0x27BF
        | 0x2934 | 0x2935
        | 0x2B05..=0x2B55
        | 0x3030 | 0x303D | 0x3297 | 0x3299
        | 0x1F000..=0x1F1E5
        | 0x1F200..=0x1F3FA
        | 0x1F400..=0x1FAFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emoji_sequences_are_accepted() {
        for ok in [
            "👍",
            "❤️",
            "👍🏽",
            "👨‍👩‍👧",
            "🏳️‍🌈",
            "🇫🇷",
            "1️⃣",
            "#⃣",
            "🏴\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}",
            "🧑🏿‍🚀",
        ] {
            assert!(is_emoji(ok), "{ok:?}");
        }
    }

    #[test]
    fn text_and_several_emoji_are_refused() {
        for bad in [
            "",
            "a",
            "👍👍",
            "👍 ",
            "🇫",
            "🇫🇷🇫",
            "1",
            "<b>",
            "👨‍",
            "\u{200D}👍",
            "👍\u{E0067}",
            "😀😀😀😀😀😀😀😀😀",
        ] {
            assert!(!is_emoji(bad), "{bad:?}");
        }
    }

    #[test]
    fn meta_is_absent_from_plain_messages() {
        let meta = MessageMeta::default();
        assert_eq!(serde_json::to_string(&meta).unwrap(), "{}");
        assert!(meta.is_empty());
    }
}
