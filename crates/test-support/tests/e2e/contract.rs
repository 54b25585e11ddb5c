//! Answers docs/protocol.md gives to questions a client author would
//! otherwise guess at: header and body rules, cursor bounds, the order of
//! pipelined sends and of creation errors, and the resync test hook.

use crate::bad_input::RawWs;
use crate::transports::SseReader;
use crate::*;
use natter_proto::{Cursor, ErrorCode, UserId};
use natter_test_support::TestServer;
use serde_json::{Value, json};

async fn get_me(server: &TestServer, authorization: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .get(format!("{}/v1/me", server.url()))
        .header("Authorization", authorization)
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("JSON answer"))
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let token = alice.access_token().unwrap();
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let (status, body) = get_me(&server, &format!("{scheme} {token}")).await;
        assert_eq!(status, 200, "{scheme}: {body}");
        assert_eq!(body["id"], alice.user_id().unwrap().to_string());
    }
    for bad in [
        format!("Basic {token}"),
        "Bearer".into(),
        "Bearer   ".into(),
        token.clone(),
    ] {
        let (status, body) = get_me(&server, &bad).await;
        assert_eq!(status, 401, "{bad:?}: {body}");
        assert_eq!(body["error"]["code"], "unauthorized", "{bad:?}: {body}");
    }
}

#[tokio::test]
async fn a_cursor_above_the_largest_u64_is_malformed_and_one_at_it_is_from_the_future() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let token = alice.access_token().unwrap();
    let poll = |cursor: &'static str| {
        let url = format!("{}/v1/sync?cursor={cursor}&wait=0", server.url());
        let token = token.clone();
        async move {
            let resp = reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .expect("request");
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.expect("JSON"))
        }
    };
    let (status, body) = poll("18446744073709551616").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("bad_request")),
        "{body}"
    );
    let (status, body) = poll("99999999999999999999").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("bad_request")),
        "{body}"
    );
    let (status, body) = poll("18446744073709551615").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (410, Some("resync_required")),
        "{body}"
    );
    // Leading zeros are the same number.
    let head = alice.me().await.unwrap().head;
    let padded = format!("{:0>20}", head.0);
    let resp = reqwest::Client::new()
        .get(format!("{}/v1/sync?cursor={padded}&wait=0", server.url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn pipelined_sends_from_one_socket_get_seqs_in_frame_order() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let conv = alice.direct(bob.user_id().unwrap()).await.unwrap();
    let mut ws = RawWs::open(&server).await;
    ws.hello(&alice.access_token().unwrap()).await;
    const N: usize = 60;
    for i in 0..N {
        let frame = json!({"type": "send", "conv": conv.id, "client_id": format!("p-{i:03}"), "text": format!("m{i}")});
        ws.text(&frame.to_string()).await;
    }
    let mut seqs = vec![0u64; N];
    let mut got = 0;
    while got < N {
        let f = ws.frame().await.expect("socket open");
        if f["type"] == "sent" {
            let i: usize = f["client_id"].as_str().unwrap()[2..].parse().unwrap();
            seqs[i] = f["seq"].as_u64().unwrap();
            got += 1;
        } else {
            assert_ne!(f["type"], "error", "{f}");
        }
    }
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "seqs follow frame order: {seqs:?}"
    );
}

async fn post_raw(
    server: &TestServer,
    token: &str,
    content_type: Option<&str>,
    body: &'static str,
) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(format!("{}/v1/conversations", server.url()))
        .bearer_auth(token)
        .body(body);
    if let Some(ct) = content_type {
        req = req.header("Content-Type", ct);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("JSON answer"))
}

#[tokio::test]
async fn bodies_need_a_json_content_type_and_an_empty_one_is_malformed() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let token = alice.access_token().unwrap();
    let group = r#"{"kind":"group","name":"g"}"#;
    let cases: [(Option<&str>, &'static str, u16, &str); 6] = [
        (None, group, 400, "bad_request"),
        (Some("text/plain"), group, 400, "bad_request"),
        (
            Some("application/x-www-form-urlencoded"),
            group,
            400,
            "bad_request",
        ),
        (Some("application/json"), "", 400, "malformed_frame"),
        (Some("application/json"), "   ", 400, "malformed_frame"),
        (Some("application/json"), "null", 400, "bad_request"),
    ];
    for (ct, body, status, code) in cases {
        let (s, b) = post_raw(&server, &token, ct, body).await;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (status, Some(code)),
            "{ct:?} {body:?}: {b}"
        );
    }
    let before = alice.conversation_list().await.unwrap().conversations.len();
    assert_eq!(before, 0, "nothing was created");
    for ct in [
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/vnd.natter+json",
    ] {
        let (s, b) = post_raw(&server, &token, Some(ct), group).await;
        assert_eq!(s, 201, "{ct}: {b}");
    }
}

#[tokio::test]
async fn too_many_members_is_refused_before_unknown_users_are_looked_up() {
    let server = TestServer::start_with(|c| c.limits.max_group_members = 3).await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let strangers: Vec<UserId> = (0..3).map(|_| UserId::new()).collect();
    let err = alice.create_group("big", &strangers).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::BadRequest), "{err:?}");
    let err = alice
        .create_group("small", &[bob.user_id().unwrap(), strangers[0]])
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::NotFound), "{err:?}");
    assert!(
        alice
            .conversation_list()
            .await
            .unwrap()
            .conversations
            .is_empty()
    );
}

async fn force_resync(server: &TestServer, token: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/testing/resync", server.url()))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("JSON answer"))
}

#[tokio::test]
async fn the_resync_hook_is_off_unless_configured() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let (status, body) = force_resync(&server, &alice.access_token().unwrap()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found")),
        "{body}"
    );
}

#[tokio::test]
async fn the_resync_hook_sends_every_transport_of_the_caller_to_resync() {
    let server = TestServer::start_with(|c| c.testing.hooks = true).await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let conv = alice.direct(bob.user_id().unwrap()).await.unwrap();
    alice
        .send_message(conv.id, &natter_proto::ClientId("before".into()), "before")
        .await
        .unwrap();
    let token = alice.access_token().unwrap();
    let old = alice.me().await.unwrap().head;

    // A synced WebSocket and an SSE stream, both mid-stream.
    let mut ws = RawWs::open(&server).await;
    ws.hello(&token).await;
    let mut sse = SseReader::open(&server.url(), &token, None).await;
    while sse.next().await.kind != "synced" {}
    let mut bob_ws = RawWs::open(&server).await;
    bob_ws.hello(&bob.access_token().unwrap()).await;

    let (status, body) = force_resync(&server, &token).await;
    assert_eq!(status, 200, "{body}");
    let floor: Cursor = body["cursor"]
        .as_str()
        .expect("a cursor string")
        .parse()
        .unwrap();
    assert!(floor > old);

    let f = loop {
        let f = ws.frame().await.expect("a resync frame before the close");
        if f["type"] == "resync" {
            break f;
        }
        assert!(
            ["presence", "receipt"].contains(&f["type"].as_str().unwrap()),
            "{f}"
        );
    };
    assert_eq!(f["cursor"], floor.to_string(), "{f}");
    assert_eq!(ws.close_code().await, Some(1000));
    let ev = loop {
        let ev = sse.next().await;
        if ev.kind == "resync" {
            break ev;
        }
    };
    let data: Value = serde_json::from_str(&ev.data).unwrap();
    assert_eq!(data["cursor"], floor.to_string());

    // The old cursor, anywhere: long-poll 410, WebSocket `resync` first.
    let err = alice.sync(Some(old), None, None).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::ResyncRequired));
    let mut again = RawWs::open(&server).await;
    again
        .text(&json!({"type": "hello", "token": token, "cursor": old.to_string()}).to_string())
        .await;
    let first = again.frame().await.expect("a frame");
    assert_eq!(first["type"], "resync", "no welcome before it: {first}");
    assert_eq!(again.close_code().await, Some(1000));

    // From the floor, nothing after it is missed; bob was not disturbed.
    let mut live = connect_with(
        &alice,
        natter_test_support::sdk::ConnectOptions::new().with_cursor(floor),
    )
    .await;
    bob.send_message(conv.id, &natter_proto::ClientId("after".into()), "after")
        .await
        .unwrap();
    let e = message_in(&mut live, conv.id).await;
    assert_eq!(text(&e), Some("after"));
    bob_ws.still_alive("bob").await;
}
