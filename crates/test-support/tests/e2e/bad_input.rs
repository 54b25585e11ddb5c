//! Bad input gets a typed error, changes nothing, and the server goes on
//! serving everyone else. Table-driven over the WebSocket and HTTP.

use crate::*;
use futures_util::{SinkExt, StreamExt};
use natter_proto::{ClientId, ConversationId, HistoryQuery, UserId};
use natter_test_support::TestServer;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

pub(crate) type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub(crate) struct RawWs(pub(crate) Socket);

impl RawWs {
    pub(crate) async fn open(server: &TestServer) -> RawWs {
        let (ws, _) = tokio_tungstenite::connect_async(server.ws_url())
            .await
            .expect("ws connect");
        RawWs(ws)
    }

    pub(crate) async fn send(&mut self, m: Message) {
        self.0.send(m).await.expect("ws send");
    }

    pub(crate) async fn text(&mut self, s: &str) {
        self.send(Message::text(s.to_owned())).await;
    }

    /// The next JSON frame, or `None` once the server closed the socket.
    pub(crate) async fn frame(&mut self) -> Option<Value> {
        loop {
            let msg = tokio::time::timeout(WAIT, self.0.next())
                .await
                .expect("frame within the wait bound");
            match msg {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return None,
                Some(Ok(Message::Text(t))) => {
                    return Some(serde_json::from_str(t.as_str()).expect("server frames are JSON"));
                }
                Some(Ok(_)) => {}
            }
        }
    }

    /// The close code the server sends next (skipping other frames);
    /// `None` when the connection ended without a close frame.
    pub(crate) async fn close_code(&mut self) -> Option<u16> {
        loop {
            let msg = tokio::time::timeout(WAIT, self.0.next())
                .await
                .expect("close within the wait bound");
            match msg {
                Some(Ok(Message::Close(Some(f)))) => return Some(f.code.into()),
                None | Some(Err(_)) | Some(Ok(Message::Close(None))) => return None,
                Some(Ok(_)) => {}
            }
        }
    }

    pub(crate) async fn hello(&mut self, token: &str) {
        self.text(&json!({"type": "hello", "token": token}).to_string())
            .await;
        let welcome = self.frame().await.expect("welcome");
        assert_eq!(welcome["type"], "welcome", "{welcome}");
        loop {
            let f = self.frame().await.expect("synced");
            if f["type"] == "synced" {
                return;
            }
        }
    }

    pub(crate) async fn expect_error(&mut self, case: &str, code: &str) -> Value {
        loop {
            let f = self
                .frame()
                .await
                .unwrap_or_else(|| panic!("{case}: socket closed before the error"));
            // Deliveries and live signals may arrive at any time.
            if ["event", "receipt", "presence", "typing"]
                .contains(&f["type"].as_str().unwrap_or(""))
            {
                continue;
            }
            assert_eq!(f["type"], "error", "{case}: {f}");
            assert_eq!(f["error"]["code"], code, "{case}: {f}");
            assert!(
                f["error"]["message"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty()),
                "{case}: a message explains it"
            );
            return f;
        }
    }

    pub(crate) async fn still_alive(&mut self, case: &str) {
        self.text(r#"{"type":"ping"}"#).await;
        loop {
            let f = self
                .frame()
                .await
                .unwrap_or_else(|| panic!("{case}: socket closed"));
            if f["type"] == "pong" {
                return;
            }
            assert_ne!(f["type"], "error", "{case}: unexpected {f}");
        }
    }
}

#[tokio::test]
async fn bad_frames_get_typed_errors_and_change_nothing() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let eve = server.user("eve").await;
    let conv = alice.direct(bob.user_id().unwrap()).await.unwrap();
    let eves = eve.create_group("eve only", &[]).await.unwrap();
    alice
        .send_message(conv.id, &ClientId("taken".into()), "original")
        .await
        .unwrap();
    let mut bob_live = connect(&bob).await;

    let max = server.config().limits.max_message_bytes;
    let send = |conv: ConversationId, cid: &str, text: &str| {
        json!({"type": "send", "conv": conv, "client_id": cid, "text": text}).to_string()
    };
    let cases: Vec<(&str, Message, &str)> = vec![
        (
            "malformed json",
            Message::text("{\"type\":"),
            "malformed_frame",
        ),
        ("not an object", Message::text("[1,2,3]"), "bad_request"),
        (
            "unknown frame type",
            Message::text(r#"{"type":"dance"}"#),
            "unknown_frame",
        ),
        (
            "missing fields",
            Message::text(r#"{"type":"send","text":"hi"}"#),
            "bad_request",
        ),
        (
            "invalid utf-8 in a binary frame",
            Message::binary(vec![0xff, 0xfe, 0xfd]),
            "malformed_frame",
        ),
        (
            "empty message",
            Message::text(send(conv.id, "e1", "")),
            "message_empty",
        ),
        (
            "whitespace message",
            Message::text(send(conv.id, "e2", " \n\t ")),
            "message_empty",
        ),
        (
            "a receipt of an unknown kind",
            Message::text(
                json!({"type":"receipt","conv":conv.id,"kind":"seen","seq":1}).to_string(),
            ),
            "bad_request",
        ),
        (
            "a frame with no type",
            Message::text(r#"{"conv":"x"}"#),
            "bad_request",
        ),
        (
            "a zero-width space only",
            Message::text(send(conv.id, "e7", "\u{200B}")),
            "message_empty",
        ),
        (
            "a NUL byte only",
            Message::text(send(conv.id, "e8", "\0")),
            "message_empty",
        ),
        (
            "joiners, marks and a variation selector only",
            Message::text(send(conv.id, "e9", "\u{200D}\u{200E}\u{FE0F}\u{FEFF}")),
            "message_empty",
        ),
        (
            "oversize message",
            Message::text(send(conv.id, "e3", &"x".repeat(max + 1))),
            "message_too_long",
        ),
        (
            "conversation I am not in",
            Message::text(send(eves.id, "e4", "hi")),
            "not_member",
        ),
        (
            "conversation that does not exist",
            Message::text(send(ConversationId::new(), "e5", "hi")),
            "not_member",
        ),
        (
            "a user id as conversation id",
            Message::text(send(ConversationId(bob.user_id().unwrap().0), "e6", "hi")),
            "not_member",
        ),
        (
            "client id reused with other text",
            Message::text(send(conv.id, "taken", "changed")),
            "idempotency_conflict",
        ),
        (
            "invalid client id",
            Message::text(send(conv.id, "has space", "hi")),
            "bad_request",
        ),
        (
            "hello twice",
            Message::text(json!({"type":"hello","token":"x"}).to_string()),
            "bad_request",
        ),
    ];
    let mut ws = RawWs::open(&server).await;
    ws.hello(&alice.access_token().unwrap()).await;
    for (case, msg, code) in cases {
        ws.send(msg).await;
        let err = ws.expect_error(case, code).await;
        if code != "malformed_frame" && case.contains("message") || case.contains("conversation") {
            assert!(
                err["client_id"].is_string(),
                "{case}: send errors name the client id: {err}"
            );
        }
        ws.still_alive(case).await;
    }
    // Nothing was stored by any of it.
    let page = bob
        .history(conv.id, &HistoryQuery::default())
        .await
        .unwrap();
    assert_eq!(
        page.events.iter().filter_map(text).collect::<Vec<_>>(),
        vec!["original"]
    );
    assert_eq!(
        eve.history(eves.id, &HistoryQuery::default())
            .await
            .unwrap()
            .events
            .len(),
        1
    );
    // And the server still serves others.
    alice
        .send_message(conv.id, &ClientId::random(), "still here")
        .await
        .unwrap();
    assert_eq!(
        text(&message_in(&mut bob_live, conv.id).await),
        Some("still here")
    );
    bob_live.close().await;
}

#[tokio::test]
async fn an_oversize_frame_is_refused_and_closes_only_that_socket() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let mut ws = RawWs::open(&server).await;
    ws.hello(&alice.access_token().unwrap()).await;
    let big = "x".repeat(server.config().limits.max_frame_bytes + 10);
    ws.text(&big).await;
    ws.expect_error("oversize frame", "frame_too_large").await;
    // The rest of the frame cannot be skipped safely, so the socket ends:
    // with close code 1009 when the peer reads it before the reset.
    assert!(matches!(ws.close_code().await, Some(1009) | None));
    let mut other = RawWs::open(&server).await;
    other.hello(&alice.access_token().unwrap()).await;
    other.still_alive("another socket").await;
}

#[tokio::test]
async fn hello_rejects_bad_tokens_and_other_first_frames() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let key = std::fs::read(server.data_dir().join("token.key")).unwrap();
    let s = alice.session().unwrap();
    let expired =
        natter_server::auth::Tokens::new(key, std::time::Duration::ZERO).issue(s.user, s.device);
    let forged = natter_server::auth::Tokens::new(vec![7; 32], std::time::Duration::from_secs(600))
        .issue(s.user, s.device);
    let revoked = {
        let other = natter_test_support::sdk::Client::login(
            &server.url(),
            &s.username,
            natter_test_support::PASSWORD,
            None,
        )
        .await
        .unwrap();
        let t = other.access_token().unwrap();
        other.logout().await.unwrap();
        t
    };
    let cases = [
        (
            "expired token",
            json!({"type":"hello","token": expired}).to_string(),
            "token_expired",
        ),
        (
            "forged token",
            json!({"type":"hello","token": forged}).to_string(),
            "token_invalid",
        ),
        (
            "garbage token",
            json!({"type":"hello","token": "nope"}).to_string(),
            "token_invalid",
        ),
        (
            "revoked session",
            json!({"type":"hello","token": revoked}).to_string(),
            "session_revoked",
        ),
        (
            "send before hello",
            json!({"type":"ping"}).to_string(),
            "hello_required",
        ),
        ("malformed hello", "{".to_owned(), "malformed_frame"),
    ];
    for (case, frame, code) in cases {
        let mut ws = RawWs::open(&server).await;
        ws.text(&frame).await;
        ws.expect_error(case, code).await;
        assert_eq!(ws.close_code().await, Some(1008), "{case}");
    }
}

#[tokio::test]
async fn bad_http_requests_get_typed_errors() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let conv = bob.create_group("bob only", &[]).await.unwrap();
    let token = alice.access_token().unwrap();
    let http = reqwest::Client::new();
    let url = server.url();
    let msgs = format!("{url}/v1/conversations/{}/messages", conv.id);
    let bob_device = bob.session().unwrap().device;
    let max = server.config().limits.max_frame_bytes;
    struct Case {
        name: &'static str,
        req: reqwest::RequestBuilder,
        status: u16,
        code: &'static str,
    }
    let json_post = |u: &str, body: Vec<u8>| {
        http.post(u)
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
    };
    let cases = vec![
        Case {
            name: "malformed json",
            req: json_post(&msgs, b"{".to_vec()),
            status: 400,
            code: "malformed_frame",
        },
        Case {
            name: "invalid utf-8",
            req: json_post(&msgs, vec![b'"', 0xff, b'"']),
            status: 400,
            code: "malformed_frame",
        },
        Case {
            name: "missing fields",
            req: json_post(&msgs, br#"{"text":"hi"}"#.to_vec()),
            status: 400,
            code: "bad_request",
        },
        Case {
            name: "oversize body",
            req: json_post(&msgs, vec![b' '; max + 1]),
            status: 413,
            code: "frame_too_large",
        },
        Case {
            name: "not a member",
            req: json_post(&msgs, br#"{"client_id":"a","text":"hi"}"#.to_vec()),
            status: 403,
            code: "not_member",
        },
        Case {
            name: "no token",
            req: http.get(format!("{url}/v1/conversations")),
            status: 401,
            code: "unauthorized",
        },
        Case {
            name: "garbage token",
            req: http
                .get(format!("{url}/v1/conversations"))
                .bearer_auth("v1.x.y"),
            status: 401,
            code: "token_invalid",
        },
        Case {
            name: "someone else's history",
            req: http
                .get(format!("{url}/v1/conversations/{}/events", conv.id))
                .bearer_auth(&token),
            status: 403,
            code: "not_member",
        },
        Case {
            name: "someone else's conversation",
            req: http
                .get(format!("{url}/v1/conversations/{}", conv.id))
                .bearer_auth(&token),
            status: 403,
            code: "not_member",
        },
        Case {
            name: "someone else's session",
            req: http
                .delete(format!("{url}/v1/sessions/{bob_device}"))
                .bearer_auth(&token),
            status: 404,
            code: "not_found",
        },
        Case {
            name: "malformed id",
            req: http
                .get(format!("{url}/v1/conversations/not-an-id"))
                .bearer_auth(&token),
            status: 404,
            code: "not_found",
        },
        Case {
            name: "unknown user",
            req: http
                .get(format!("{url}/v1/users/{}", UserId::new()))
                .bearer_auth(&token),
            status: 404,
            code: "not_found",
        },
        Case {
            name: "bad history range",
            req: http
                .get(format!("{url}/v1/conversations/{}/events?limit=0", conv.id))
                .bearer_auth(&token),
            status: 400,
            code: "bad_request",
        },
        Case {
            name: "bad cursor",
            req: http
                .get(format!("{url}/v1/sync?cursor=abc"))
                .bearer_auth(&token),
            status: 400,
            code: "bad_request",
        },
        Case {
            name: "wrong method",
            req: http
                .put(format!("{url}/v1/conversations"))
                .bearer_auth(&token),
            status: 405,
            code: "method_not_allowed",
        },
        Case {
            name: "websocket endpoint over plain http",
            req: http.get(format!("{url}/v1/ws")),
            status: 400,
            code: "bad_request",
        },
        Case {
            name: "unknown route",
            req: http.get(format!("{url}/v1/nope")),
            status: 404,
            code: "not_found",
        },
    ];
    for c in cases {
        let resp = c
            .req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", c.name));
        assert_eq!(resp.status().as_u16(), c.status, "{}", c.name);
        let body: Value = resp
            .json()
            .await
            .unwrap_or_else(|e| panic!("{}: error body is JSON: {e}", c.name));
        assert_eq!(body["error"]["code"], c.code, "{}: {body}", c.name);
    }
    // Bob's session survived alice's attempt, and nothing was stored.
    assert_eq!(bob.sessions().await.unwrap().len(), 1);
    assert_eq!(
        bob.history(conv.id, &HistoryQuery::default())
            .await
            .unwrap()
            .events
            .len(),
        1
    );
}

#[tokio::test]
async fn invisible_and_reordering_names_are_refused() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let http = reqwest::Client::new();
    let token = alice.access_token().unwrap();
    for name in [
        "\u{200B}\u{200C}",
        "\u{3164}",
        "invoice\u{202E}gpj.exe",
        "a\u{2067}b",
    ] {
        let r = http
            .post(format!("{}/v1/conversations", server.url()))
            .bearer_auth(&token)
            .json(&json!({"kind": "group", "name": name, "members": []}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "group {name:?}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "bad_request");
        let r = http
            .post(format!("{}/v1/auth/login", server.url()))
            .json(&json!({
                "username": alice.session().unwrap().username,
                "password": natter_test_support::PASSWORD,
                "device_name": name,
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "device {name:?}");
    }
    assert!(
        alice.conversations().await.unwrap().is_empty(),
        "nothing was created"
    );
}
