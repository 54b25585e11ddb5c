//! Frames on the live transports.
//!
//! Over WebSocket every frame is one JSON text message with a `type` field.
//! Server-Sent Events and long-polling carry the same [`Delivery`] objects.

use crate::cursor::Cursor;
use crate::error::ErrorBody;
use crate::event::{Event, Seq};
use crate::ids::{ClientId, ConversationId, DeviceId, MessageId, UserId};
use serde::{Deserialize, Serialize};

/// Frames a client sends over WebSocket. Unknown fields are ignored, so
/// newer clients can talk to older servers; unknown types are an error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// Must be the first frame: authenticates the socket and says where to
    /// resume. The server answers `welcome`, then every event after `cursor`
    /// (`event` frames), then `synced`, then live events.
    Hello {
        /// An access token from login or refresh.
        token: String,
        /// The last cursor this device has processed; absent or empty means
        /// from the beginning.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cursor: Option<Cursor>,
    },
    /// Send a text message. Answered by `sent` (or `error` carrying the same
    /// `client_id`).
    Send {
        /// The conversation.
        conv: ConversationId,
        /// Idempotency key; reuse it on retry.
        client_id: ClientId,
        /// UTF-8 text, not empty, at most the server's limit.
        text: String,
        /// Answer the message at this seq (as `POST …/messages`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_to: Option<Seq>,
        /// Reply in the thread rooted at this seq.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        thread: Option<Seq>,
        /// With `thread`: show the reply in the main timeline too.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        also_in_conversation: bool,
        /// Members mentioned in the text.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        mentions: Vec<crate::Mention>,
        /// `@everyone` or `@here`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mention_all: Option<crate::MentionAll>,
        /// Up to 10 of my complete uploads (the text is then a caption and
        /// may be empty).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        attachments: Vec<crate::UploadId>,
    },
    /// Application-level keep-alive; answered by `pong`.
    Ping,
    /// Moves my delivered or read watermark in a conversation. Answered by
    /// the resulting `receipt` (through the log) or by `error` with `conv`.
    Receipt {
        /// The conversation.
        conv: ConversationId,
        /// Which watermark.
        kind: crate::ReceiptKind,
        /// Up to which seq.
        seq: Seq,
    },
    /// I am typing (or stopped). Not stored; throttled; expires by itself
    /// after the server's typing timeout without a refresh.
    Typing {
        /// The conversation.
        conv: ConversationId,
        /// True while typing.
        active: bool,
    },
}

/// Why a client frame could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// Not JSON.
    Malformed,
    /// An object whose `type` this protocol does not know.
    UnknownType,
    /// A known `type` with a missing or invalid field, no `type`, or JSON
    /// that is not an object; the text says what.
    Invalid(String),
}

impl ClientFrame {
    /// The `type` of every frame a client may send.
    pub const TYPES: [&'static str; 5] = ["hello", "send", "ping", "receipt", "typing"];

    /// Decodes one frame, telling apart text that is not JSON, an unknown
    /// frame type, and a known frame with bad fields. The usual case costs
    /// one parse; only a refused frame is looked at again.
    pub fn decode(text: &str) -> Result<ClientFrame, FrameError> {
        use serde_json::error::Category;
        // serde also reads a tagged enum from an array whose first element
        // is the tag; the protocol's frames are objects only.
        let object = text
            .trim_start_matches([' ', '\t', '\n', '\r'])
            .starts_with('{');
        let e = match serde_json::from_str::<ClientFrame>(text) {
            Ok(frame) if object => return Ok(frame),
            Ok(_) => None,
            Err(e) if !matches!(e.classify(), Category::Data) => {
                return Err(FrameError::Malformed);
            }
            Err(e) => Some(e),
        };
        // A data error can come before the parser has read the whole text
        // (an array is refused at its first element, trailing characters
        // are only looked for after a value parses), so check that the text
        // is JSON at all.
        if serde_json::from_str::<serde::de::IgnoredAny>(text).is_err() {
            return Err(FrameError::Malformed);
        }
        let e = match e {
            Some(e) if object => e,
            _ => return Err(FrameError::Invalid("a frame is a JSON object".into())),
        };
        /// Just the tag, to tell an unknown type from a bad field.
        #[derive(Deserialize)]
        struct Tag<'a> {
            #[serde(rename = "type", borrow, default)]
            kind: Option<std::borrow::Cow<'a, str>>,
        }
        match serde_json::from_str::<Tag<'_>>(text) {
            Ok(Tag { kind: Some(kind) }) if !Self::TYPES.contains(&kind.as_ref()) => {
                Err(FrameError::UnknownType)
            }
            // A known type with bad fields, or no type at all.
            _ => Err(FrameError::Invalid(e.to_string())),
        }
    }
}

/// Frames the server sends over WebSocket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ServerFrame {
    /// The socket is authenticated.
    Welcome {
        /// Protocol revision.
        version: u32,
        /// Who you are.
        user: UserId,
        /// Which device session this socket belongs to.
        device: DeviceId,
        /// The newest position the server had handed out (to anyone) when
        /// the socket was accepted; not necessarily one of your entries.
        head: Cursor,
        /// The server pings at least this often; a client that hears
        /// nothing for twice as long should reconnect.
        heartbeat_secs: u64,
    },
    /// Something happened in one of your conversations. Store `cursor` once
    /// you have processed the event.
    Event {
        /// Position of this event in your log (the same in every member's
        /// log; not consecutive with your previous entry).
        cursor: Cursor,
        /// The event.
        event: Event,
    },
    /// Everything up to `cursor` has been delivered; what follows is live.
    Synced {
        /// The cursor after the backlog. It can be higher than the last
        /// entry delivered: when the backlog reached the server's newest
        /// position, the cursor moves there. Store it like any cursor.
        cursor: Cursor,
    },
    /// A message was durably committed.
    Sent(Sent),
    /// A request failed. For a failed `send`, `client_id` and `conv` are
    /// set; for a failed `receipt` or `typing`, only `conv`.
    Error {
        /// What went wrong.
        error: ErrorBody,
        /// The failed send's client id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<ClientId>,
        /// The failed send's conversation.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        conv: Option<ConversationId>,
    },
    /// The cursor cannot be served: drop local state, reload it over HTTP,
    /// and reconnect from `cursor`. The server closes the socket after this.
    Resync {
        /// Where to continue after reloading.
        cursor: Cursor,
        /// Why.
        reason: String,
    },
    /// Answer to `ping`.
    Pong,
    /// A member's receipt watermarks moved. Part of the log: store `cursor`.
    Receipt {
        /// Position of this entry in your log.
        cursor: Cursor,
        /// The watermarks.
        receipt: crate::Receipt,
    },
    /// A message was reported in a conversation I moderate (or, as a
    /// server admin, anywhere). Part of the log: store `cursor`.
    Report {
        /// Position of this entry in your log.
        cursor: Cursor,
        /// The report.
        report: crate::ReportInfo,
    },
    /// My own settings for a conversation changed (from any of my
    /// devices). Part of the log: store `cursor`.
    Settings {
        /// Position of this entry in your log.
        cursor: Cursor,
        /// The settings after the change.
        settings: crate::SettingsChange,
    },
    /// Something only my devices hear of (a message I hid, my reaction in
    /// a channel, a thread I read). Part of the log: store `cursor`.
    Personal {
        /// Position of this entry in your log.
        cursor: Cursor,
        /// What changed.
        personal: crate::PersonalChange,
    },
    /// My membership of a channel began or ended without an event in the
    /// channel. Part of the log: store `cursor`.
    Membership {
        /// Position of this entry in your log.
        cursor: Cursor,
        /// What changed.
        membership: MembershipChange,
    },
    /// Who is online among the people you may see, sent once after
    /// `welcome`; `presence` frames update it.
    PresenceSnapshot {
        /// Everyone visible to you.
        users: Vec<crate::Presence>,
    },
    /// Someone's presence changed. Live only (not in the log).
    Presence(crate::Presence),
    /// Someone is typing in a conversation (or stopped). Live only.
    Typing {
        /// The conversation.
        conv: ConversationId,
        /// Who.
        user: UserId,
        /// True while typing.
        active: bool,
        /// With `active`: the indicator expires after this many ms unless
        /// refreshed (the server also sends `active: false` then).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires_in_ms: Option<u64>,
    },
}

/// The acknowledgement of a committed message: the message is durable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sent {
    /// The conversation.
    pub conv: ConversationId,
    /// The sender's idempotency key.
    pub client_id: ClientId,
    /// Server-assigned message id.
    pub id: MessageId,
    /// The message's position in the conversation.
    pub seq: Seq,
    /// Commit time, milliseconds since the Unix epoch.
    pub ts: i64,
    /// True when this acknowledges an earlier send with the same client id
    /// (nothing new was stored).
    #[serde(default)]
    pub duplicate: bool,
}

/// One entry of a user's log, as delivered by SSE (the `data` of an
/// `event` or `receipt`) and long-polling: `{"cursor": "7", "event": {...}}`
/// or `{"cursor": "8", "receipt": {...}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// Position in the user's log.
    pub cursor: Cursor,
    /// What is at that position.
    #[serde(flatten)]
    pub item: LogItem,
}

/// What a log entry holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LogItem {
    /// A conversation event.
    Event(Event),
    /// A change of someone's receipt watermarks.
    Receipt(crate::Receipt),
    /// My membership of a channel began or ended (channels do not announce
    /// their subscribers to each other).
    Membership(MembershipChange),
    /// My own settings for a conversation (mute, archive, pin, unread
    /// mark) changed, on this device or another of mine.
    Settings(crate::SettingsChange),
    /// A new report for me to handle (I moderate its conversation, or I am
    /// a server admin).
    Report(crate::ReportInfo),
    /// A change for my devices alone: a message I hid, my reaction in a
    /// channel, a thread I read.
    Personal(crate::PersonalChange),
}

/// How a silent membership change came about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MembershipChangeKind {
    /// I subscribed (through an invite link).
    Joined,
    /// I left.
    Left,
    /// An admin removed me.
    Removed,
    /// An admin banned me.
    Banned,
}

/// A membership change only the member concerned hears of: a subscriber
/// joining or leaving a channel. It takes a position in that user's log but
/// no `seq` in the channel, so the channel's other subscribers see nothing
/// and the channel's `seq` stays dense for everyone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembershipChange {
    /// The channel.
    pub conv: ConversationId,
    /// Whose membership changed (the user whose log this is).
    pub user: UserId,
    /// What happened.
    pub change: MembershipChangeKind,
    /// Who did it (`user` for joined and left).
    pub by: UserId,
    /// Server time of the commit, ms since the epoch.
    pub ts: i64,
    /// With `joined`: the channel's newest seq when I joined; I receive
    /// every event after it. With the others: the last seq I receive.
    pub seq: Seq,
}

impl LogItem {
    /// The wire name: `event`, `receipt`, `membership`, `settings`,
    /// `report` or `personal`.
    pub fn kind(&self) -> &'static str {
        match self {
            LogItem::Event(_) => "event",
            LogItem::Receipt(_) => "receipt",
            LogItem::Membership(_) => "membership",
            LogItem::Settings(_) => "settings",
            LogItem::Report(_) => "report",
            LogItem::Personal(_) => "personal",
        }
    }

    /// The event, if this is one.
    pub fn event(&self) -> Option<&Event> {
        match self {
            LogItem::Event(e) => Some(e),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_parses_with_and_without_cursor() {
        let f: ClientFrame = serde_json::from_str(r#"{"type":"hello","token":"t"}"#).unwrap();
        assert_eq!(
            f,
            ClientFrame::Hello {
                token: "t".into(),
                cursor: None
            }
        );
        let f: ClientFrame =
            serde_json::from_str(r#"{"type":"hello","token":"t","cursor":"12"}"#).unwrap();
        assert!(matches!(
            f,
            ClientFrame::Hello {
                cursor: Some(Cursor(12)),
                ..
            }
        ));
    }

    #[test]
    fn unknown_types_and_missing_fields_are_rejected() {
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"nope"}"#).is_err());
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"send","text":"x"}"#).is_err());
    }

    #[test]
    fn decode_tells_the_causes_apart() {
        assert_eq!(ClientFrame::decode("{"), Err(FrameError::Malformed));
        assert!(matches!(
            ClientFrame::decode("[1]"),
            Err(FrameError::Invalid(_))
        ));
        assert_eq!(
            ClientFrame::decode(r#"{"type":"dance"}"#),
            Err(FrameError::UnknownType)
        );
        assert!(matches!(
            ClientFrame::decode(r#"{"x":1}"#),
            Err(FrameError::Invalid(_))
        ));
        assert!(matches!(
            ClientFrame::decode(r#"{"type":"send","text":"x"}"#),
            Err(FrameError::Invalid(m)) if m.contains("conv")
        ));
        assert_eq!(
            ClientFrame::decode(r#"{"type":"ping"}"#),
            Ok(ClientFrame::Ping)
        );
    }

    #[test]
    fn text_that_only_starts_like_json_is_malformed() {
        // Found by fuzzing: serde stops at the first wrong type, before it
        // has seen that the rest of the text is not JSON.
        for text in [
            r#"""="#,
            r#"{"type":"send"} x"#,
            r#"[1, {"#,
            r#"{"type":"ping","type":"ping", x"#,
        ] {
            assert_eq!(
                ClientFrame::decode(text),
                Err(FrameError::Malformed),
                "{text}"
            );
        }
    }

    #[test]
    fn a_frame_is_an_object() {
        // Found by fuzzing: serde also reads a tagged enum from an array
        // whose first element is the tag.
        for text in [
            r#"["ping"]"#,
            r#"["hello","t"]"#,
            r#"["dance"]"#,
            r#""ping""#,
        ] {
            assert!(
                matches!(ClientFrame::decode(text), Err(FrameError::Invalid(_))),
                "{text}"
            );
        }
        assert_eq!(
            ClientFrame::decode(" \n{\"type\":\"ping\"}"),
            Ok(ClientFrame::Ping)
        );
    }

    #[test]
    fn every_listed_type_is_a_frame() {
        for t in ClientFrame::TYPES {
            let text = format!(r#"{{"type":"{t}"}}"#);
            assert_ne!(
                ClientFrame::decode(&text),
                Err(FrameError::UnknownType),
                "{t}"
            );
        }
    }

    #[test]
    fn deliveries_flatten_their_item() {
        let r = crate::Receipt {
            conv: ConversationId::new(),
            user: UserId::new(),
            delivered: 4,
            read: 3,
            ts: 9,
        };
        let d = Delivery {
            cursor: Cursor(8),
            item: LogItem::Receipt(r.clone()),
        };
        let v = serde_json::to_value(&d).unwrap();
        assert_eq!(v["cursor"], "8");
        assert_eq!(v["receipt"]["read"], 3);
        let back: Delivery = serde_json::from_value(v).unwrap();
        assert_eq!(back, d);
    }

    #[test]
    fn server_frames_are_tagged() {
        let v = serde_json::to_value(ServerFrame::Pong).unwrap();
        assert_eq!(v["type"], "pong");
        let v = serde_json::to_value(ServerFrame::Synced { cursor: Cursor(3) }).unwrap();
        assert_eq!(v, serde_json::json!({"type":"synced","cursor":"3"}));
    }
}
