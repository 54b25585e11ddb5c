//! The fallback transports serve the same log as the WebSocket.

use crate::*;
use natter_proto::{ClientId, Cursor, Delivery};
use natter_test_support::TestServer;
use natter_test_support::sdk::ConnectOptions;

/// A minimal Server-Sent Events reader over a streaming HTTP response.
pub(crate) struct SseReader {
    resp: reqwest::Response,
    buf: String,
}

pub(crate) struct SseEvent {
    pub(crate) id: Option<String>,
    pub(crate) kind: String,
    pub(crate) data: String,
}

impl SseReader {
    pub(crate) async fn open(url: &str, token: &str, last_event_id: Option<&str>) -> SseReader {
        let mut req = reqwest::Client::new()
            .get(format!("{url}/v1/events"))
            .bearer_auth(token);
        if let Some(id) = last_event_id {
            req = req.header("Last-Event-ID", id);
        }
        let resp = req.send().await.expect("sse request");
        assert_eq!(resp.status(), 200);
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        SseReader {
            resp,
            buf: String::new(),
        }
    }

    pub(crate) async fn next(&mut self) -> SseEvent {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let mut ev = SseEvent {
                    id: None,
                    kind: "message".into(),
                    data: String::new(),
                };
                let mut comment_only = true;
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        ev.id = Some(v.trim().to_owned());
                        comment_only = false;
                    } else if let Some(v) = line.strip_prefix("event:") {
                        ev.kind = v.trim().to_owned();
                        comment_only = false;
                    } else if let Some(v) = line.strip_prefix("data:") {
                        ev.data.push_str(v.trim_start());
                        comment_only = false;
                    }
                }
                if comment_only {
                    continue;
                }
                return ev;
            }
            let chunk = tokio::time::timeout(WAIT, self.resp.chunk())
                .await
                .expect("sse data within the wait bound")
                .expect("sse stream readable")
                .expect("sse stream still open");
            self.buf
                .push_str(std::str::from_utf8(&chunk).expect("utf-8"));
        }
    }

    /// The next `n` deliveries, skipping `synced`.
    pub(crate) async fn deliveries(&mut self, n: usize) -> Vec<Delivery> {
        let mut out = Vec::new();
        while out.len() < n {
            let ev = self.next().await;
            if ev.kind == "event" {
                let d: Delivery = serde_json::from_str(&ev.data).expect("delivery json");
                assert_eq!(
                    ev.id.as_deref(),
                    Some(d.cursor.to_string().as_str()),
                    "id is the cursor"
                );
                out.push(d);
            }
        }
        out
    }
}

#[tokio::test]
async fn sse_long_poll_and_websocket_see_the_same_events() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let conv = alice.direct(bob.user_id().unwrap()).await.unwrap();
    let token = bob.access_token().unwrap();

    // Bob's devices do not report delivery here, so his log holds only
    // the conversation's events.
    let mut ws = connect_with(&bob, ConnectOptions::new().with_auto_delivered(false)).await;
    let mut sse = SseReader::open(&server.url(), &token, None).await;
    // The backlog (the conversation's creation) comes first on SSE.
    let backlog = sse.deliveries(1).await;
    assert_eq!(backlog[0].cursor, Cursor(1));

    for i in 0..5 {
        alice
            .send_message(conv.id, &ClientId::random(), &format!("m{i}"))
            .await
            .unwrap();
    }
    let from_ws: Vec<_> = messages(&mut ws, 5).await;
    let from_sse: Vec<_> = sse.deliveries(5).await;
    let polled = bob.sync(Some(Cursor(1)), None, Some(100)).await.unwrap();
    assert_eq!(polled.deliveries.len(), 5);
    assert_eq!(polled.cursor, Cursor(6));
    assert!(!polled.more);
    for i in 0..5 {
        assert_eq!(Some(&from_ws[i]), from_sse[i].item.event());
        assert_eq!(from_sse[i], polled.deliveries[i]);
    }

    // SSE resumes from Last-Event-ID after a reconnect.
    drop(sse);
    alice
        .send_message(conv.id, &ClientId::random(), "while away")
        .await
        .unwrap();
    let mut sse = SseReader::open(&server.url(), &token, Some("6")).await;
    let resumed = sse.deliveries(1).await;
    assert_eq!(resumed[0].cursor, Cursor(7));
    assert_eq!(resumed[0].item.event().and_then(text), Some("while away"));
    ws.close().await;
}

#[tokio::test]
async fn a_long_poll_waits_for_the_next_event() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let conv = alice.direct(bob.user_id().unwrap()).await.unwrap();
    let head = bob.me().await.unwrap().head;
    let empty = bob.sync(Some(head), Some(0), None).await.unwrap();
    assert!(empty.deliveries.is_empty());
    assert_eq!(empty.cursor, head);
    let poll = {
        let bob = bob.clone();
        tokio::spawn(async move { bob.sync(Some(head), Some(30), None).await })
    };
    alice
        .send_message(conv.id, &ClientId::random(), "wake up")
        .await
        .unwrap();
    let page = poll.await.unwrap().unwrap();
    assert_eq!(page.deliveries.len(), 1);
    assert_eq!(
        page.deliveries[0].item.event().and_then(text),
        Some("wake up")
    );
    assert_eq!(page.cursor, page.deliveries[0].cursor);
    assert!(page.cursor > head);
}

#[tokio::test]
async fn a_long_poll_says_nothing_more_while_other_people_are_busy() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let carol = server.user("carol").await;
    let dave = server.user("dave").await;
    let ab = alice.direct(bob.user_id().unwrap()).await.unwrap();
    let cd = carol.direct(dave.user_id().unwrap()).await.unwrap();
    let first = bob.sync(None, None, Some(100)).await.unwrap();
    assert_eq!(first.deliveries.len(), 1, "the conversation's creation");
    assert!(!first.more);
    for i in 0..5 {
        carol
            .send_message(cd.id, &ClientId::random(), &format!("c{i}"))
            .await
            .unwrap();
    }
    // Nothing of bob's happened: no entries and nothing more to fetch (a
    // client that polls again at once while `more` is true would spin).
    let idle = bob.sync(Some(first.cursor), None, Some(100)).await.unwrap();
    assert!(idle.deliveries.is_empty());
    assert!(!idle.more);
    assert!(idle.cursor >= first.cursor);
    for i in 0..3 {
        alice
            .send_message(ab.id, &ClientId::random(), &format!("a{i}"))
            .await
            .unwrap();
    }
    // A page cut at the limit says there is more, and the rest follows.
    let cut = bob.sync(Some(idle.cursor), None, Some(2)).await.unwrap();
    assert_eq!(cut.deliveries.len(), 2);
    assert!(cut.more);
    let rest = bob.sync(Some(cut.cursor), None, Some(2)).await.unwrap();
    let texts: Vec<_> = cut
        .deliveries
        .iter()
        .chain(&rest.deliveries)
        .filter_map(|d| d.item.event().and_then(text))
        .collect();
    assert_eq!(texts, ["a0", "a1", "a2"]);
    assert!(!rest.more);
}

#[tokio::test]
async fn a_cursor_from_the_future_gets_a_resync_answer() {
    let server = TestServer::start().await;
    let bob = server.user("bob").await;
    let err = bob.sync(Some(Cursor(99)), None, None).await.unwrap_err();
    assert_eq!(err.code(), Some(natter_proto::ErrorCode::ResyncRequired));
    match err {
        natter_test_support::sdk::Error::Api { status, cursor, .. } => {
            assert_eq!(status, 410);
            assert_eq!(cursor, Some(Cursor(0)));
        }
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn signals_reach_sse_and_long_poll_clients_too() {
    let server = TestServer::start_with(|c| {
        c.typing.ttl_ms = 5_000;
    })
    .await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let conv = alice.direct(bob.user_id().unwrap()).await.unwrap();
    let seq = alice
        .send_message(conv.id, &ClientId::random(), "read me")
        .await
        .unwrap()
        .seq;

    // SSE: the presence snapshot comes first, then typing and receipts.
    let mut sse = SseReader::open(&server.url(), &alice.access_token().unwrap(), None).await;
    let first = sse.next().await;
    assert_eq!(first.kind, "presence_snapshot");
    bob.typing(conv.id, true).await.unwrap();
    bob.mark_read(conv.id, seq).await.unwrap();
    let (mut typing, mut receipt) = (false, false);
    while !(typing && receipt) {
        let ev = sse.next().await;
        match ev.kind.as_str() {
            "typing" => {
                let v: serde_json::Value = serde_json::from_str(&ev.data).unwrap();
                assert_eq!(v["user"], bob.user_id().unwrap().to_string());
                assert_eq!(v["active"], true);
                typing = true;
            }
            "receipt" => {
                let d: Delivery = serde_json::from_str(&ev.data).unwrap();
                assert_eq!(ev.id.as_deref(), Some(d.cursor.to_string().as_str()));
                match d.item {
                    natter_proto::LogItem::Receipt(r) => {
                        assert_eq!((r.user, r.read), (bob.user_id().unwrap(), seq));
                    }
                    other => panic!("expected a receipt, got {other:?}"),
                }
                receipt = true;
            }
            _ => {}
        }
    }

    // Long-poll: a waiting poll returns the signals that arrive meanwhile.
    // Typing goes on until the poll answers (a signal sent before the poll
    // registered is not kept, so one alone could be missed).
    let head = alice.me().await.unwrap().head;
    let mut poll = {
        let alice = alice.clone();
        tokio::spawn(async move { alice.sync(Some(head), Some(30), None).await })
    };
    let page = loop {
        bob.typing(conv.id, false).await.unwrap();
        bob.typing(conv.id, true).await.unwrap();
        if let Ok(done) =
            tokio::time::timeout(std::time::Duration::from_millis(200), &mut poll).await
        {
            break done.unwrap().unwrap();
        }
    };
    assert!(page.deliveries.is_empty(), "typing is not in the log");
    assert!(
        page.signals
            .iter()
            .any(|f| matches!(f, natter_proto::ServerFrame::Typing { user, .. } if *user == bob.user_id().unwrap())),
        "{:?}",
        page.signals
    );
    // Receipts come to long-poll clients as log entries.
    let receipts = alice
        .sync(Some(natter_proto::Cursor::START), Some(0), Some(100))
        .await
        .unwrap();
    assert!(
        receipts
            .deliveries
            .iter()
            .any(|d| matches!(&d.item, natter_proto::LogItem::Receipt(r) if r.read == seq))
    );
}

/// A connection whose live queue holds one item, opened while sends are in
/// flight: bursts overflow its queue while it opens and while it is live,
/// and each time it reads what it missed from the store. A raw socket, so
/// no client-side gap filling can hide a loss.
#[tokio::test]
async fn a_connection_that_keeps_falling_behind_misses_nothing() {
    use futures_util::{SinkExt, StreamExt};
    use std::collections::BTreeSet;
    use tokio_tungstenite::tungstenite::Message;

    let server = TestServer::start_with(|c| c.gateway.queue = 1).await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let conv = alice.direct(bob.user_id().unwrap()).await.unwrap();
    let head = bob.me().await.unwrap().head;
    const N: usize = 60;
    // Sends race the socket's opening.
    let sends = {
        let alice = alice.clone();
        tokio::spawn(async move {
            let mut set = tokio::task::JoinSet::new();
            for i in 0..N {
                let alice = alice.clone();
                set.spawn(async move {
                    alice
                        .send_message(conv.id, &ClientId::random(), &format!("m{i}"))
                        .await
                        .unwrap()
                });
                if set.len() >= 8 {
                    set.join_next().await.unwrap().unwrap();
                }
            }
            set.join_all().await;
        })
    };
    let (mut ws, _) = tokio_tungstenite::connect_async(server.ws_url())
        .await
        .unwrap();
    let hello = serde_json::json!({
        "type": "hello",
        "token": bob.access_token().unwrap(),
        "cursor": head,
    });
    ws.send(Message::text(hello.to_string())).await.unwrap();
    /// The seq of the next message event on the socket.
    async fn next_message<S>(ws: &mut S) -> u64
    where
        S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>>
            + Unpin,
    {
        loop {
            let msg = tokio::time::timeout(WAIT, ws.next())
                .await
                .expect("every message arrives")
                .expect("socket open")
                .unwrap();
            if let Message::Text(t) = msg {
                let f: serde_json::Value = serde_json::from_str(t.as_str()).unwrap();
                if f["type"] == "event" && f["event"]["kind"] == "message" {
                    return f["event"]["seq"].as_u64().expect("a seq");
                }
            }
        }
    }
    let mut seqs = BTreeSet::new();
    while seqs.len() < N {
        let seq = next_message(&mut ws).await;
        assert!(seqs.insert(seq), "no duplicates: seq {seq} twice");
    }
    sends.await.unwrap();
    assert_eq!(
        seqs.into_iter().collect::<Vec<_>>(),
        (2..2 + N as u64).collect::<Vec<_>>()
    );
    // Nor after catching up: a message sent now is the next one on the
    // socket, with nothing redelivered before it.
    let marker = alice
        .send_message(conv.id, &ClientId::random(), "marker")
        .await
        .unwrap();
    assert_eq!(next_message(&mut ws).await, marker.seq, "nothing twice");
}

/// The typing stop that a sent message causes arrives after that message,
/// on the WebSocket and on SSE, every time.
#[tokio::test]
async fn the_typing_stop_of_a_sent_message_follows_the_message() {
    use natter_test_support::sdk::LiveEvent;
    let server = TestServer::start_with(|c| {
        c.typing.min_interval_ms = 1;
        c.typing.ttl_ms = 30_000;
    })
    .await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let a_id = alice.user_id().unwrap();
    let conv = alice.direct(bob.user_id().unwrap()).await.unwrap().id;
    let mut ws = connect(&bob).await;
    let mut sse = SseReader::open(&server.url(), &bob.access_token().unwrap(), None).await;
    loop {
        if sse.next().await.kind == "synced" {
            break;
        }
    }
    for round in 0..24 {
        alice.typing(conv, true).await.unwrap();
        loop {
            match ws.next_event(WAIT).await.expect("typing start") {
                LiveEvent::Typing {
                    active: true, user, ..
                } if user == a_id => break,
                _ => {}
            }
        }
        loop {
            if sse.next().await.kind == "typing" {
                break;
            }
        }
        let sent = alice
            .send_message(conv, &ClientId::random(), &format!("m{round}"))
            .await
            .unwrap();
        // WebSocket: the message, then the stop.
        let mut got_message = false;
        loop {
            match ws.next_event(WAIT).await.expect("message and stop") {
                LiveEvent::Event { event, .. } if event.seq == sent.seq => got_message = true,
                LiveEvent::Typing {
                    active: false,
                    user,
                    ..
                } if user == a_id => {
                    assert!(
                        got_message,
                        "round {round}: the stop came before the message"
                    );
                    break;
                }
                _ => {}
            }
        }
        // SSE: the same order.
        let mut got_message = false;
        loop {
            let ev = sse.next().await;
            match ev.kind.as_str() {
                "event" => {
                    let d: Delivery = serde_json::from_str(&ev.data).unwrap();
                    if matches!(&d.item, natter_proto::LogItem::Event(e) if e.seq == sent.seq) {
                        got_message = true;
                    }
                }
                "typing" if ev.data.contains("\"active\":false") => {
                    assert!(got_message, "round {round}: SSE stop before the message");
                    break;
                }
                _ => {}
            }
        }
    }
}
