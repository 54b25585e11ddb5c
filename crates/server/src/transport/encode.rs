//! The one encoder of server frames, shared by WebSocket, Server-Sent Events
//! and long-polling. Everything is proto's types on the wire; log entries
//! are the exception in how, not in what: their item is serialised once at
//! commit (`fanout`) and shared by every frame that carries it, so their
//! frames are assembled around that JSON here. Tests check each assembled
//! shape against proto's own serialisation.

use super::stream::Entry;
use natter_proto::{Cursor, ServerFrame};
use std::fmt::Write as _;
use std::sync::Arc;

/// A frame as JSON; `None` (logged) if it cannot be serialised, which
/// proto's types never do.
pub fn frame(frame: &ServerFrame) -> Option<String> {
    match serde_json::to_string(frame) {
        Ok(text) => Some(text),
        Err(e) => {
            tracing::error!(error = %e, "cannot serialise a frame");
            None
        }
    }
}

/// A log entry as a WebSocket frame: proto's `ServerFrame::Event` or
/// `ServerFrame::Receipt`.
pub fn entry_frame((cursor, kind, json): &Entry) -> String {
    format!(r#"{{"type":"{kind}","cursor":"{cursor}","{kind}":{json}}}"#)
}

/// A log entry as proto's `Delivery`: the `data` of an SSE event and an
/// element of a long-poll page.
pub fn delivery((cursor, kind, json): &Entry) -> String {
    format!(r#"{{"cursor":"{cursor}","{kind}":{json}}}"#)
}

/// The `data` of the SSE `synced` event.
pub fn synced(cursor: Cursor) -> String {
    format!(r#"{{"cursor":"{cursor}"}}"#)
}

/// The `data` of the SSE `resync` event.
pub fn resync(cursor: Cursor, reason: &str) -> String {
    format!(
        r#"{{"cursor":"{cursor}","reason":{}}}"#,
        serde_json::Value::String(reason.to_owned())
    )
}

/// The `data` of the SSE `revoked` event.
pub const REVOKED: &str = r#"{"reason":"session revoked"}"#;

/// A long-poll answer: proto's `SyncPage`.
pub fn sync_page(entries: &[Entry], cursor: Cursor, more: bool, signals: &[Arc<str>]) -> String {
    let mut body =
        String::with_capacity(64 + entries.iter().map(|e| e.2.len() + 32).sum::<usize>());
    body.push_str(r#"{"deliveries":["#);
    for (i, entry) in entries.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&delivery(entry));
    }
    let _ = write!(body, r#"],"cursor":"{cursor}","more":{more},"signals":["#);
    for (i, frame) in signals.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(frame);
    }
    body.push_str("]}");
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use natter_proto::{
        ConversationId, Delivery, Event, EventBody, LogItem, Receipt, SyncPage, UserId,
    };

    fn entries() -> Vec<(Entry, LogItem)> {
        let event = Event {
            conv: ConversationId::new(),
            seq: 3,
            ts: 17,
            sender: UserId::new(),
            body: EventBody::MembersAdded {
                users: vec![UserId::new()],
                count: 1,
            },
        };
        let receipt = Receipt {
            conv: ConversationId::new(),
            user: UserId::new(),
            delivered: 4,
            read: 2,
            ts: 18,
        };
        let membership = natter_proto::MembershipChange {
            conv: ConversationId::new(),
            user: UserId::new(),
            change: natter_proto::MembershipChangeKind::Joined,
            by: UserId::new(),
            ts: 19,
            seq: 7,
        };
        [
            (Cursor(41), LogItem::Event(event)),
            (Cursor(42), LogItem::Receipt(receipt)),
            (Cursor(43), LogItem::Membership(membership)),
            (
                Cursor(44),
                LogItem::Settings(natter_proto::SettingsChange {
                    conv: ConversationId::new(),
                    settings: natter_proto::ConversationSettings {
                        muted: true,
                        pinned_at: Some(5),
                        ..Default::default()
                    },
                    ts: 20,
                }),
            ),
        ]
        .into_iter()
        .map(|(cursor, item)| {
            let json = super::super::stream::item_json(&item)
                .unwrap()
                .1
                .to_string();
            ((cursor, item.kind(), Arc::from(json)), item)
        })
        .collect()
    }

    #[test]
    fn entry_frames_are_proto_frames() {
        for (entry, item) in entries() {
            let parsed: ServerFrame = serde_json::from_str(&entry_frame(&entry)).unwrap();
            let expected = match item {
                LogItem::Event(event) => ServerFrame::Event {
                    cursor: entry.0,
                    event,
                },
                LogItem::Receipt(receipt) => ServerFrame::Receipt {
                    cursor: entry.0,
                    receipt,
                },
                LogItem::Membership(membership) => ServerFrame::Membership {
                    cursor: entry.0,
                    membership,
                },
                LogItem::Settings(settings) => ServerFrame::Settings {
                    cursor: entry.0,
                    settings,
                },
                _ => unreachable!("only events, receipts and membership items are made above"),
            };
            assert_eq!(parsed, expected);
        }
    }

    #[test]
    fn deliveries_and_pages_are_proto_bodies() {
        let all = entries();
        let list: Vec<Entry> = all.iter().map(|(e, _)| e.clone()).collect();
        for (entry, item) in &all {
            let parsed: Delivery = serde_json::from_str(&delivery(entry)).unwrap();
            assert_eq!(
                parsed,
                Delivery {
                    cursor: entry.0,
                    item: item.clone()
                }
            );
        }
        let typing: Arc<str> = Arc::from(frame(&ServerFrame::Pong).unwrap());
        let page: SyncPage =
            serde_json::from_str(&sync_page(&list, Cursor(50), true, &[typing])).unwrap();
        assert_eq!(page.deliveries.len(), 4);
        assert_eq!(page.deliveries[1].cursor, Cursor(42));
        assert_eq!((page.cursor, page.more), (Cursor(50), true));
        assert_eq!(page.signals.len(), 1);
        let empty: SyncPage = serde_json::from_str(&sync_page(&[], Cursor(7), false, &[])).unwrap();
        assert!(empty.deliveries.is_empty() && !empty.more);
    }

    #[test]
    fn sse_bodies_parse() {
        let v: serde_json::Value = serde_json::from_str(&synced(Cursor(5))).unwrap();
        assert_eq!(v["cursor"], "5");
        let v: serde_json::Value =
            serde_json::from_str(&resync(Cursor(6), "a \"quoted\" reason")).unwrap();
        assert_eq!(v["reason"], "a \"quoted\" reason");
        let v: serde_json::Value = serde_json::from_str(REVOKED).unwrap();
        assert_eq!(v["reason"], "session revoked");
    }
}
