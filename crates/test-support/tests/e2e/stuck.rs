//! Clients that leave or stop reading: a departed SSE client goes offline
//! within the grace, and a client that never reads (SSE or WebSocket) is
//! closed after the write timeout, which ends its presence too.

use crate::*;
use natter_proto::{ClientId, Presence, UserId};
use natter_test_support::TestServer;
use natter_test_support::sdk::{Live, LiveEvent};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

async fn presence_of(live: &mut Live, user: UserId) -> Presence {
    loop {
        match live.next_event(WAIT).await {
            Some(LiveEvent::Presence(p)) if p.user == user => return p,
            Some(_) => {}
            None => panic!("no presence change of {user} within {WAIT:?}"),
        }
    }
}

/// Opens `GET /v1/events` on a raw socket and never reads from it.
async fn raw_sse(server: &TestServer, token: &str) -> TcpStream {
    let addr = server.url().trim_start_matches("http://").to_owned();
    let mut tcp = TcpStream::connect(&addr).await.unwrap();
    tcp.write_all(
        format!("GET /v1/events HTTP/1.1\r\nHost: natter\r\nAuthorization: Bearer {token}\r\n\r\n")
            .as_bytes(),
    )
    .await
    .unwrap();
    tcp
}

/// Opens a WebSocket, says hello, and never reads again.
async fn raw_ws(server: &TestServer, token: &str) -> TcpStream {
    use futures_util::SinkExt;
    let addr = server.url().trim_start_matches("http://").to_owned();
    let tcp = TcpStream::connect(&addr).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::client_async(server.ws_url(), tcp)
        .await
        .unwrap();
    let hello = serde_json::json!({"type": "hello", "token": token}).to_string();
    ws.send(tokio_tungstenite::tungstenite::Message::text(hello))
        .await
        .unwrap();
    ws.into_inner()
}

#[tokio::test]
async fn a_departed_sse_client_goes_offline_within_the_grace() {
    // Heartbeats far apart: only noticing the close itself can pass.
    let server = TestServer::start_with(|c| {
        c.gateway.heartbeat_secs = 30;
        c.presence.timeout_ms = 60_000;
        c.presence.offline_grace_ms = 100;
    })
    .await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let b_id = bob.user_id().unwrap();
    alice.direct(b_id).await.unwrap();
    let mut a = connect(&alice).await;
    let sse = raw_sse(&server, &bob.access_token().unwrap()).await;
    assert!(presence_of(&mut a, b_id).await.online);
    drop(sse);
    assert!(!presence_of(&mut a, b_id).await.online, "bob left");
}

/// Sends `bob` messages until `alice` sees him go offline (his only
/// connection was closed for not reading); fails after `max` messages.
async fn flood_until_offline(server: &TestServer, a: &mut Live, bob_id: UserId, max: usize) {
    let carol = server.user("carol").await;
    let conv = carol.direct(bob_id).await.unwrap();
    let text = "z".repeat(16 * 1024);
    for i in 0..max {
        carol
            .send_message(conv.id, &ClientId::random(), &text)
            .await
            .unwrap();
        // Drain presence changes as they come, without waiting.
        while let Some(ev) = a.try_recv() {
            if let LiveEvent::Presence(p) = ev
                && p.user == bob_id
                && !p.online
            {
                return;
            }
        }
        if i == max - 1 {
            break;
        }
    }
    assert!(
        !presence_of(a, bob_id).await.online,
        "the stuck client was closed"
    );
}

#[tokio::test]
async fn a_client_that_never_reads_is_closed_after_the_write_timeout() {
    for transport in ["sse", "websocket"] {
        let server = TestServer::start_with(|c| {
            c.gateway.write_timeout_secs = 1;
            c.gateway.heartbeat_secs = 30;
            c.presence.timeout_ms = 60_000;
            c.presence.offline_grace_ms = 100;
        })
        .await;
        let alice = server.user("alice").await;
        let bob = server.user("bob").await;
        let b_id = bob.user_id().unwrap();
        alice.direct(b_id).await.unwrap();
        let mut a = connect(&alice).await;
        let token = bob.access_token().unwrap();
        let _stuck = match transport {
            "sse" => raw_sse(&server, &token).await,
            _ => raw_ws(&server, &token).await,
        };
        assert!(presence_of(&mut a, b_id).await.online, "{transport}");
        // Enough to fill every buffer between the server and bob's socket.
        flood_until_offline(&server, &mut a, b_id, 2_000).await;
    }
}
