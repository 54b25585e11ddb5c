//! The live connection against a scripted fake server: reconnect, resume,
//! dedup, gap filling, outbox resends, token refresh, the state file, and
//! live signals (receipts, presence, typing).
//!
//! The fake speaks just enough HTTP/1.1 and WebSocket for the SDK; each test
//! plays the server's side frame by frame, so these tests pin down what the
//! SDK sends, not what a real server would do (the end-to-end suite does
//! that).
//!
//! One file on purpose: one test binary, one fake server, a test per
//! scenario.

use futures_util::{SinkExt, StreamExt};
use natter_sdk::proto::{
    AuthSession, ClientFrame, ClientId, ConversationId, Cursor, DeviceId, ErrorBody, ErrorCode,
    Event, EventBody, HistoryPage, MessageId, Presence, Receipt, ReceiptKind, Sent, ServerFrame,
    UserId,
};
use natter_sdk::{Client, ConnectOptions, Live, LiveEvent};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

const WAIT: Duration = Duration::from_secs(5);

/// A plain HTTP request the fake received, with a way to answer it.
struct HttpRequest {
    method: String,
    path: String,
    auth: Option<String>,
    body: String,
    respond: oneshot::Sender<(u16, String)>,
}

impl HttpRequest {
    fn reply(self, status: u16, body: impl serde::Serialize) {
        let _ = self
            .respond
            .send((status, serde_json::to_string(&body).unwrap()));
    }
}

/// One WebSocket connection to the fake.
struct Ws(WebSocketStream<TcpStream>);

impl Ws {
    async fn recv(&mut self) -> ClientFrame {
        loop {
            let msg = tokio::time::timeout(WAIT, self.0.next())
                .await
                .expect("client frame in time")
                .expect("socket open")
                .expect("socket ok");
            if let Message::Text(text) = msg {
                return serde_json::from_str(&text).expect("client frame decodes");
            }
        }
    }

    async fn send(&mut self, frame: ServerFrame) {
        let text = serde_json::to_string(&frame).unwrap();
        self.0.send(Message::text(text)).await.unwrap();
    }

    /// Sends several frames in one write, so the client reads them as one
    /// batch.
    async fn send_batch(&mut self, frames: &[ServerFrame]) {
        for frame in frames {
            let text = serde_json::to_string(frame).unwrap();
            self.0.feed(Message::text(text)).await.unwrap();
        }
        self.0.flush().await.unwrap();
    }

    /// Reads `hello`, answers `welcome`, and returns the hello's token and
    /// cursor.
    async fn accept_hello(&mut self, head: u64) -> (String, Option<Cursor>) {
        let hello = self.recv().await;
        let ClientFrame::Hello { token, cursor } = hello else {
            panic!("expected hello, got {hello:?}");
        };
        self.send(welcome(head)).await;
        (token, cursor)
    }
}

struct Fake {
    url: String,
    sockets: mpsc::Receiver<Ws>,
    requests: mpsc::Receiver<HttpRequest>,
}

impl Fake {
    async fn start() -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (ws_tx, sockets) = mpsc::channel(16);
        let (http_tx, requests) = mpsc::channel(16);
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let ws_tx = ws_tx.clone();
                let http_tx = http_tx.clone();
                tokio::spawn(serve(stream, ws_tx, http_tx));
            }
        });
        Fake {
            url,
            sockets,
            requests,
        }
    }

    async fn socket(&mut self) -> Ws {
        tokio::time::timeout(WAIT, self.sockets.recv())
            .await
            .expect("a WebSocket connection in time")
            .unwrap()
    }

    async fn request(&mut self) -> HttpRequest {
        tokio::time::timeout(WAIT, self.requests.recv())
            .await
            .expect("an HTTP request in time")
            .unwrap()
    }

    async fn client(&self) -> Client {
        Client::with_session(&self.url, session("access-1", "refresh-1")).unwrap()
    }
}

/// Peeks at the request line to tell WebSocket upgrades from plain requests.
async fn serve(stream: TcpStream, ws_tx: mpsc::Sender<Ws>, http_tx: mpsc::Sender<HttpRequest>) {
    let mut buf = [0u8; 256];
    let line = loop {
        let n = stream.peek(&mut buf).await.unwrap_or(0);
        if n == 0 {
            return;
        }
        let text = String::from_utf8_lossy(&buf[..n]).to_string();
        if let Some(end) = text.find("\r\n") {
            break text[..end].to_string();
        }
    };
    if line.contains(" /v1/ws") {
        if let Ok(ws) = tokio_tungstenite::accept_async(stream).await {
            let _ = ws_tx.send(Ws(ws)).await;
        }
        return;
    }
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).await.unwrap_or(0) == 0 {
            return;
        }
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_string();
        let path = parts.next().unwrap_or_default().to_string();
        let mut length = 0;
        let mut auth = None;
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).await.unwrap();
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap();
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().unwrap(),
                "authorization" => auth = Some(value.trim().to_string()),
                _ => {}
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).await.unwrap();
        let (respond, answer) = oneshot::channel();
        let req = HttpRequest {
            method,
            path,
            auth,
            body: String::from_utf8(body).unwrap(),
            respond,
        };
        if http_tx.send(req).await.is_err() {
            return;
        }
        let Ok((status, body)) = answer.await else {
            return;
        };
        let response = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        if reader
            .get_mut()
            .write_all(response.as_bytes())
            .await
            .is_err()
        {
            return;
        }
    }
}

fn session(access: &str, refresh: &str) -> AuthSession {
    AuthSession {
        user: UserId::new(),
        username: "alice".into(),
        device: DeviceId::new(),
        access_token: access.into(),
        access_expires_in: 900,
        refresh_token: refresh.into(),
    }
}

fn welcome(head: u64) -> ServerFrame {
    ServerFrame::Welcome {
        version: 1,
        user: UserId::new(),
        device: DeviceId::new(),
        head: Cursor(head),
        heartbeat_secs: 30,
    }
}

fn message(conv: ConversationId, seq: u64, text: &str) -> Event {
    Event {
        conv,
        seq,
        ts: 1,
        sender: UserId::new(),
        body: EventBody::Message {
            id: MessageId::new(),
            client_id: ClientId::random(),
            device: DeviceId::new(),
            text: text.into(),
            meta: Default::default(),
        },
    }
}

fn event_frame(cursor: u64, event: &Event) -> ServerFrame {
    ServerFrame::Event {
        cursor: Cursor(cursor),
        event: event.clone(),
    }
}

fn sent(conv: ConversationId, client_id: ClientId, seq: u64) -> ServerFrame {
    ServerFrame::Sent(Sent {
        conv,
        client_id,
        id: MessageId::new(),
        seq,
        ts: 1,
        duplicate: false,
    })
}

fn error_body(code: ErrorCode) -> ErrorBody {
    serde_json::from_value(serde_json::json!({"code": code, "message": "m"})).unwrap()
}

/// Fast reconnects; no automatic delivered receipts, so that the frames the
/// client sends are exactly the ones each test asks for (the receipt tests
/// turn them back on).
fn options() -> ConnectOptions {
    ConnectOptions::new()
        .with_backoff(Duration::from_millis(10), Duration::from_millis(50))
        .with_auto_delivered(false)
}

async fn next(live: &mut Live) -> LiveEvent {
    live.next_event(WAIT).await.expect("a live event in time")
}

/// The next event that is not a connection-status report.
async fn next_item(live: &mut Live) -> LiveEvent {
    loop {
        match next(live).await {
            LiveEvent::Connected { .. } | LiveEvent::Disconnected { .. } => {}
            other => return other,
        }
    }
}

fn text_of(event: &LiveEvent) -> (Option<Cursor>, String) {
    match event {
        LiveEvent::Event {
            cursor,
            event:
                Event {
                    body: EventBody::Message { text, .. },
                    ..
                },
        } => (*cursor, text.clone()),
        other => panic!("expected a message event, got {other:?}"),
    }
}

#[tokio::test]
async fn resumes_after_a_drop_without_duplicates_and_resends_the_outbox() {
    let mut fake = Fake::start().await;
    let client = fake.client().await;
    let conv = ConversationId::new();
    let mut live = client.connect(options()).await.unwrap();
    let first = live.send(conv, "one");
    let second = live.send(conv, "two");

    let mut ws = fake.socket().await;
    let (token, cursor) = ws.accept_hello(2).await;
    assert_eq!(token, "access-1");
    assert_eq!(cursor, Some(Cursor::START));
    assert_eq!(
        next(&mut live).await,
        LiveEvent::Connected { head: Cursor(2) }
    );
    // The outbox goes out on connect, in order.
    for (expected, text) in [(&first, "one"), (&second, "two")] {
        let ClientFrame::Send {
            client_id, text: t, ..
        } = ws.recv().await
        else {
            panic!("expected send");
        };
        assert_eq!((&client_id, t.as_str()), (expected, text));
    }
    let e1 = message(conv, 1, "a");
    let e2 = message(conv, 2, "b");
    ws.send(event_frame(1, &e1)).await;
    ws.send(event_frame(2, &e2)).await;
    ws.send(ServerFrame::Synced { cursor: Cursor(2) }).await;
    ws.send(sent(conv, first.clone(), 3)).await;
    assert_eq!(
        text_of(&next(&mut live).await),
        (Some(Cursor(1)), "a".into())
    );
    assert_eq!(
        text_of(&next(&mut live).await),
        (Some(Cursor(2)), "b".into())
    );
    assert_eq!(
        next(&mut live).await,
        LiveEvent::Synced { cursor: Cursor(2) }
    );
    assert!(matches!(next(&mut live).await, LiveEvent::Sent(s) if s.client_id == first));
    assert_eq!(live.cursor(), Cursor(2));
    assert_eq!(live.pending().len(), 1);

    // The server goes away before acknowledging "two".
    drop(ws);
    assert!(matches!(
        next(&mut live).await,
        LiveEvent::Disconnected { .. }
    ));
    let mut ws = fake.socket().await;
    let (_, cursor) = ws.accept_hello(3).await;
    assert_eq!(cursor, Some(Cursor(2)));
    // "two" is resent with the same client id.
    let ClientFrame::Send { client_id, .. } = ws.recv().await else {
        panic!("expected send");
    };
    assert_eq!(client_id, second);
    // A replay of old events is dropped; the new one comes through.
    let e3 = message(conv, 3, "c");
    ws.send(event_frame(2, &e2)).await;
    ws.send(event_frame(3, &e3)).await;
    ws.send(sent(conv, second.clone(), 4)).await;
    assert_eq!(
        next(&mut live).await,
        LiveEvent::Connected { head: Cursor(3) }
    );
    assert_eq!(
        text_of(&next(&mut live).await),
        (Some(Cursor(3)), "c".into())
    );
    assert!(matches!(next(&mut live).await, LiveEvent::Sent(s) if s.client_id == second));
    assert!(live.pending().is_empty());
    live.close().await;
}

#[tokio::test]
async fn gaps_are_filled_over_http_before_the_event_that_revealed_them() {
    let mut fake = Fake::start().await;
    let client = fake.client().await;
    let conv = ConversationId::new();
    let mut live = client.connect(options()).await.unwrap();
    let mut ws = fake.socket().await;
    ws.accept_hello(0).await;
    let events: Vec<Event> = (1..=4)
        .map(|s| message(conv, s, &format!("m{s}")))
        .collect();
    ws.send(event_frame(1, &events[0])).await;
    ws.send(event_frame(2, &events[3])).await;
    assert_eq!(text_of(&next_item(&mut live).await).1, "m1");

    let req = fake.request().await;
    assert_eq!(req.method, "GET");
    assert_eq!(
        req.path,
        format!("/v1/conversations/{conv}/events?after=1&limit=200")
    );
    assert_eq!(req.auth.as_deref(), Some("Bearer access-1"));
    req.reply(
        200,
        HistoryPage {
            events: events[1..].to_vec(),
            more: false,
        },
    );
    assert_eq!(text_of(&next(&mut live).await), (None, "m2".into()));
    assert_eq!(text_of(&next(&mut live).await), (None, "m3".into()));
    assert_eq!(
        text_of(&next(&mut live).await),
        (Some(Cursor(2)), "m4".into())
    );
    // The filled events arriving through the log later are not repeated.
    ws.send(event_frame(3, &events[1])).await;
    ws.send(ServerFrame::Synced { cursor: Cursor(3) }).await;
    assert_eq!(
        next(&mut live).await,
        LiveEvent::Synced { cursor: Cursor(3) }
    );
    assert_eq!(live.cursor(), Cursor(3));
    live.close().await;
}

#[tokio::test]
async fn an_expired_token_is_refreshed_and_a_revoked_session_stops_the_task() {
    let mut fake = Fake::start().await;
    let client = fake.client().await;
    let mut sessions = client.watch_session();
    let mut live = client.connect(options()).await.unwrap();

    let mut ws = fake.socket().await;
    let ClientFrame::Hello { token, .. } = ws.recv().await else {
        panic!("expected hello");
    };
    assert_eq!(token, "access-1");
    ws.send(ServerFrame::Error {
        error: error_body(ErrorCode::TokenExpired),
        client_id: None,
        conv: None,
    })
    .await;
    let req = fake.request().await;
    assert_eq!(
        (req.method.as_str(), req.path.as_str()),
        ("POST", "/v1/auth/refresh")
    );
    assert_eq!(req.body, r#"{"refresh_token":"refresh-1"}"#);
    assert_eq!(req.auth, None);
    req.reply(200, session("access-2", "refresh-2"));

    let mut ws = fake.socket().await;
    let (token, _) = ws.accept_hello(0).await;
    assert_eq!(token, "access-2");
    assert_eq!(
        next(&mut live).await,
        LiveEvent::Connected { head: Cursor(0) }
    );
    sessions.changed().await.unwrap();
    assert_eq!(
        client.session().unwrap().refresh_token,
        "refresh-2",
        "the rotated tokens are visible to the application"
    );

    // The session is revoked elsewhere; the next hello is refused.
    drop(ws);
    let mut ws = fake.socket().await;
    ws.recv().await;
    ws.send(ServerFrame::Error {
        error: error_body(ErrorCode::SessionRevoked),
        client_id: None,
        conv: None,
    })
    .await;
    assert_eq!(next_item(&mut live).await, LiveEvent::SessionGone);
    assert_eq!(live.next_event(WAIT).await, None);
    assert!(live.is_finished());
}

#[tokio::test]
async fn send_failures_are_retried_or_reported() {
    let mut fake = Fake::start().await;
    let client = fake.client().await;
    let conv = ConversationId::new();
    let mut live = client.connect(options()).await.unwrap();
    let mut ws = fake.socket().await;
    ws.accept_hello(0).await;
    assert!(matches!(next(&mut live).await, LiveEvent::Connected { .. }));

    let id = live.send(conv, "hi");
    let ClientFrame::Send { client_id, .. } = ws.recv().await else {
        panic!("expected send");
    };
    assert_eq!(client_id, id);
    // Retryable: sent again with the same id, nothing reported.
    ws.send(ServerFrame::Error {
        error: error_body(ErrorCode::Internal),
        client_id: Some(id.clone()),
        conv: Some(conv),
    })
    .await;
    let ClientFrame::Send { client_id, .. } = ws.recv().await else {
        panic!("expected a resend");
    };
    assert_eq!(client_id, id);
    // Not retryable: reported and dropped from the outbox.
    ws.send(ServerFrame::Error {
        error: error_body(ErrorCode::NotMember),
        client_id: Some(id.clone()),
        conv: Some(conv),
    })
    .await;
    match next(&mut live).await {
        LiveEvent::SendFailed {
            conv: c,
            client_id,
            error,
        } => {
            assert_eq!((c, client_id, error.code), (conv, id, ErrorCode::NotMember));
        }
        other => panic!("expected SendFailed, got {other:?}"),
    }
    assert!(live.pending().is_empty());
    live.close().await;
}

#[tokio::test]
async fn resync_restarts_from_the_given_cursor() {
    let mut fake = Fake::start().await;
    let client = fake.client().await;
    let mut live = client
        .connect(options().with_cursor(Cursor(5)))
        .await
        .unwrap();
    let mut ws = fake.socket().await;
    let (_, cursor) = ws.accept_hello(100).await;
    assert_eq!(cursor, Some(Cursor(5)));
    ws.send(ServerFrame::Resync {
        cursor: Cursor(90),
        reason: "too far behind".into(),
    })
    .await;
    drop(ws);
    assert_eq!(
        next_item(&mut live).await,
        LiveEvent::Resync {
            cursor: Cursor(90),
            reason: "too far behind".into()
        }
    );
    assert_eq!(live.cursor(), Cursor(90));
    let mut ws = fake.socket().await;
    let (_, cursor) = ws.accept_hello(100).await;
    assert_eq!(cursor, Some(Cursor(90)));
    live.close().await;
}

#[tokio::test]
async fn the_state_file_keeps_the_cursor_and_the_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("live.json");
    let conv = ConversationId::new();
    let mut fake = Fake::start().await;
    let client = fake.client().await;

    let mut live = client
        .connect(options().with_state_file(&path))
        .await
        .unwrap();
    let mut ws = fake.socket().await;
    ws.accept_hello(0).await;
    ws.send(event_frame(7, &message(conv, 1, "x"))).await;
    assert_eq!(text_of(&next_item(&mut live).await).1, "x");
    // Written while connected, never acknowledged.
    let id = live.send(conv, "offline");
    let _ = ws.recv().await;
    live.close().await;
    drop(ws);

    let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(saved["cursor"], "7");
    assert_eq!(saved["outbox"][0]["client_id"], id.0.as_str());

    // A new process resumes from there.
    let mut live = client
        .connect(options().with_state_file(&path))
        .await
        .unwrap();
    assert_eq!(live.cursor(), Cursor(7));
    assert_eq!(live.pending().len(), 1);
    let mut ws = fake.socket().await;
    let (_, cursor) = ws.accept_hello(7).await;
    assert_eq!(cursor, Some(Cursor(7)));
    let ClientFrame::Send { client_id, .. } = ws.recv().await else {
        panic!("expected the saved message to be sent");
    };
    assert_eq!(client_id, id);
    assert!(matches!(next(&mut live).await, LiveEvent::Connected { .. }));
    live.close().await;
}

fn message_from(conv: ConversationId, seq: u64, sender: UserId) -> Event {
    Event {
        sender,
        ..message(conv, seq, &format!("m{seq}"))
    }
}

fn receipt_frame(
    cursor: u64,
    conv: ConversationId,
    user: UserId,
    delivered: u64,
    read: u64,
) -> ServerFrame {
    ServerFrame::Receipt {
        cursor: Cursor(cursor),
        receipt: Receipt {
            conv,
            user,
            delivered,
            read,
            ts: 1,
        },
    }
}

/// Reads the next client frame, which must be a receipt.
async fn recv_receipt(ws: &mut Ws) -> (ConversationId, ReceiptKind, u64) {
    match ws.recv().await {
        ClientFrame::Receipt { conv, kind, seq } => (conv, kind, seq),
        other => panic!("expected a receipt, got {other:?}"),
    }
}

/// Proves that nothing else was sent before: queues a message and expects
/// its `send` to be the next frame.
async fn expect_nothing_before_a_send(live: &Live, ws: &mut Ws) {
    let id = live.send(ConversationId::new(), "marker");
    match ws.recv().await {
        ClientFrame::Send { client_id, .. } => assert_eq!(client_id, id),
        other => panic!("expected only the marker send, got {other:?}"),
    }
}

#[tokio::test]
async fn receipt_entries_advance_the_cursor_without_gap_checks_and_are_deduplicated() {
    let mut fake = Fake::start().await;
    let client = fake.client().await;
    let conv = ConversationId::new();
    let bob = UserId::new();
    let mut live = client.connect(options()).await.unwrap();
    let mut ws = fake.socket().await;
    ws.accept_hello(4).await;
    let e1 = message(conv, 1, "a");
    let e2 = message(conv, 2, "b");
    // Log: event seq 1, a receipt, event seq 2. The cursor jumps by two
    // between the events, but their seqs are dense: no gap to fill.
    ws.send(event_frame(1, &e1)).await;
    ws.send(receipt_frame(2, conv, bob, 1, 1)).await;
    ws.send(event_frame(3, &e2)).await;
    ws.send(ServerFrame::Synced { cursor: Cursor(3) }).await;
    assert_eq!(text_of(&next_item(&mut live).await).1, "a");
    match next(&mut live).await {
        LiveEvent::Receipt { cursor, receipt } => {
            assert_eq!(cursor, Cursor(2));
            assert_eq!((receipt.user, receipt.read), (bob, 1));
        }
        other => panic!("expected a receipt, got {other:?}"),
    }
    assert_eq!(
        live.cursor(),
        Cursor(2),
        "a receipt's cursor counts as processed"
    );
    assert_eq!(
        text_of(&next(&mut live).await),
        (Some(Cursor(3)), "b".into())
    );
    assert_eq!(
        next(&mut live).await,
        LiveEvent::Synced { cursor: Cursor(3) }
    );

    // After a reconnect the server replays from the cursor; replays are
    // dropped, the new receipt comes through once.
    drop(ws);
    let mut ws = fake.socket().await;
    let (_, cursor) = ws.accept_hello(4).await;
    assert_eq!(cursor, Some(Cursor(3)));
    ws.send(receipt_frame(2, conv, bob, 1, 1)).await;
    ws.send(receipt_frame(4, conv, bob, 2, 2)).await;
    ws.send(ServerFrame::Synced { cursor: Cursor(4) }).await;
    match next_item(&mut live).await {
        LiveEvent::Receipt { cursor, receipt } => {
            assert_eq!((cursor, receipt.read), (Cursor(4), 2));
        }
        other => panic!("expected the new receipt, got {other:?}"),
    }
    assert_eq!(
        next(&mut live).await,
        LiveEvent::Synced { cursor: Cursor(4) }
    );
    assert_eq!(live.cursor(), Cursor(4));
    live.close().await;
}

#[tokio::test]
async fn delivered_receipts_are_sent_once_per_conversation_per_batch() {
    let mut fake = Fake::start().await;
    let client = fake.client().await;
    let me = client.user_id().unwrap();
    let bob = UserId::new();
    let (a, b) = (ConversationId::new(), ConversationId::new());
    let mut live = client
        .connect(options().with_auto_delivered(true))
        .await
        .unwrap();
    let mut ws = fake.socket().await;
    ws.accept_hello(5).await;
    ws.send_batch(&[
        event_frame(1, &message_from(a, 1, bob)),
        event_frame(2, &message_from(a, 2, bob)),
        event_frame(3, &message_from(b, 7, bob)),
        event_frame(4, &message_from(a, 3, bob)),
        // My own message needs no receipt.
        event_frame(5, &message_from(b, 8, me)),
        ServerFrame::Synced { cursor: Cursor(5) },
    ])
    .await;
    for _ in 0..5 {
        assert!(matches!(
            next_item(&mut live).await,
            LiveEvent::Event { .. }
        ));
    }
    assert_eq!(
        next(&mut live).await,
        LiveEvent::Synced { cursor: Cursor(5) }
    );
    let mut got = vec![recv_receipt(&mut ws).await, recv_receipt(&mut ws).await];
    got.sort_by_key(|r| r.0);
    let mut expected = vec![
        (a, ReceiptKind::Delivered, 3),
        (b, ReceiptKind::Delivered, 7),
    ];
    expected.sort_by_key(|r| r.0);
    assert_eq!(got, expected);
    expect_nothing_before_a_send(&live, &mut ws).await;

    // My own receipt entry (from another device, say) covers seq 4 already:
    // the next delivered receipt is for what lies beyond it only.
    ws.send(receipt_frame(6, a, me, 4, 4)).await;
    assert!(matches!(
        next_item(&mut live).await,
        LiveEvent::Receipt { .. }
    ));
    ws.send(event_frame(7, &message_from(a, 4, bob))).await;
    assert!(matches!(
        next_item(&mut live).await,
        LiveEvent::Event { .. }
    ));
    ws.send(event_frame(8, &message_from(a, 5, bob))).await;
    assert!(matches!(
        next_item(&mut live).await,
        LiveEvent::Event { .. }
    ));
    assert_eq!(recv_receipt(&mut ws).await, (a, ReceiptKind::Delivered, 5));
    live.close().await;
}

#[tokio::test]
async fn receipts_wait_offline_coalesced_and_typing_does_not() {
    let mut fake = Fake::start().await;
    let client = fake.client().await;
    let conv = ConversationId::new();
    let mut live = client.connect(options()).await.unwrap();
    // Nothing is connected yet.
    live.mark_read(conv, 3);
    live.mark_read(conv, 5);
    live.mark_read(conv, 4);
    live.mark_delivered(conv, 5);
    live.typing(conv, true);

    let mut ws = fake.socket().await;
    ws.accept_hello(0).await;
    assert!(matches!(next(&mut live).await, LiveEvent::Connected { .. }));
    assert_eq!(recv_receipt(&mut ws).await, (conv, ReceiptKind::Read, 5));
    expect_nothing_before_a_send(&live, &mut ws).await;

    // Connected: typing goes out, the latest state of a burst.
    live.typing(conv, true);
    live.typing(conv, false);
    match ws.recv().await {
        ClientFrame::Typing { conv: c, active } => assert_eq!((c, active), (conv, false)),
        other => panic!("expected typing, got {other:?}"),
    }
    // A refused receipt is reported with its conversation.
    live.mark_read(conv, 99);
    assert_eq!(recv_receipt(&mut ws).await, (conv, ReceiptKind::Read, 99));
    ws.send(ServerFrame::Error {
        error: error_body(ErrorCode::BadRequest),
        client_id: None,
        conv: Some(conv),
    })
    .await;
    match next(&mut live).await {
        LiveEvent::RequestFailed { conv: c, error } => {
            assert_eq!((c, error.code), (conv, ErrorCode::BadRequest));
        }
        other => panic!("expected RequestFailed, got {other:?}"),
    }
    // The refused seq does not hide a valid one below it.
    live.mark_read(conv, 6);
    assert_eq!(recv_receipt(&mut ws).await, (conv, ReceiptKind::Read, 6));
    live.close().await;
}

#[tokio::test]
async fn presence_and_typing_frames_are_passed_on() {
    let mut fake = Fake::start().await;
    let client = fake.client().await;
    let conv = ConversationId::new();
    let bob = UserId::new();
    let mut live = client.connect(options()).await.unwrap();
    let mut ws = fake.socket().await;
    ws.accept_hello(0).await;
    let online = Presence {
        user: bob,
        online: true,
        last_seen: None,
    };
    let offline = Presence {
        user: bob,
        online: false,
        last_seen: Some(42),
    };
    ws.send(ServerFrame::PresenceSnapshot {
        users: vec![online.clone()],
    })
    .await;
    ws.send(ServerFrame::Synced { cursor: Cursor(0) }).await;
    ws.send(ServerFrame::Typing {
        conv,
        user: bob,
        active: true,
        expires_in_ms: Some(5000),
    })
    .await;
    ws.send(ServerFrame::Presence(offline.clone())).await;
    assert_eq!(
        next_item(&mut live).await,
        LiveEvent::PresenceSnapshot(vec![online])
    );
    assert_eq!(
        next(&mut live).await,
        LiveEvent::Synced { cursor: Cursor(0) }
    );
    assert_eq!(
        next(&mut live).await,
        LiveEvent::Typing {
            conv,
            user: bob,
            active: true,
            expires_in_ms: Some(5000)
        }
    );
    assert_eq!(next(&mut live).await, LiveEvent::Presence(offline));
    assert_eq!(
        live.cursor(),
        Cursor(0),
        "live-only frames do not move the cursor"
    );
    live.close().await;
}

#[tokio::test]
async fn the_state_file_keeps_receipts_not_yet_sent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("live.json");
    let conv = ConversationId::new();
    let mut fake = Fake::start().await;
    let client = fake.client().await;

    // The server never answers hello: the receipt cannot go out.
    let live = client
        .connect(options().with_state_file(&path))
        .await
        .unwrap();
    live.mark_read(conv, 8);
    let ws = fake.socket().await;
    live.close().await;
    drop(ws);
    let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(
        saved["receipts"],
        serde_json::json!([{"conv": conv, "kind": "read", "seq": 8}])
    );

    let live = client
        .connect(options().with_state_file(&path))
        .await
        .unwrap();
    let mut ws = fake.socket().await;
    ws.accept_hello(0).await;
    assert_eq!(recv_receipt(&mut ws).await, (conv, ReceiptKind::Read, 8));
    live.close().await;
    let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert!(
        saved.get("receipts").is_none(),
        "sent, so no longer kept: {saved}"
    );
}
