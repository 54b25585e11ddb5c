//! Accounts, tokens and device sessions.

use crate::*;
use natter_proto::{ClientId, ErrorCode};
use natter_test_support::sdk::{Client, LiveEvent};
use natter_test_support::{PASSWORD, TestServer, unique_name};

#[tokio::test]
async fn registration_enforces_username_and_password_rules() {
    let server = TestServer::start().await;
    let url = server.url();
    let code = |r: Result<Client, natter_test_support::sdk::Error>| r.err().and_then(|e| e.code());
    assert_eq!(
        code(Client::register(&url, "x", PASSWORD, None).await),
        Some(ErrorCode::InvalidUsername)
    );
    assert_eq!(
        code(Client::register(&url, "has space", PASSWORD, None).await),
        Some(ErrorCode::InvalidUsername)
    );
    assert_eq!(
        code(Client::register(&url, &unique_name("pw"), "short", None).await),
        Some(ErrorCode::WeakPassword)
    );
    assert_eq!(
        code(Client::register(&url, &unique_name("pw"), "password123", None).await),
        Some(ErrorCode::WeakPassword)
    );
    let name = unique_name("Carol");
    let carol = Client::register(&url, &name, PASSWORD, None).await.unwrap();
    // Usernames are case-insensitive.
    assert_eq!(carol.session().unwrap().username, name.to_lowercase());
    assert_eq!(
        code(Client::register(&url, &name.to_lowercase(), PASSWORD, None).await),
        Some(ErrorCode::UsernameTaken)
    );
    assert!(
        Client::login(&url, &name.to_uppercase(), PASSWORD, None)
            .await
            .is_ok()
    );
    assert_eq!(
        code(Client::login(&url, &name, "wrong password!", None).await),
        Some(ErrorCode::InvalidCredentials)
    );
    assert_eq!(
        code(Client::login(&url, "nobody-here", PASSWORD, None).await),
        Some(ErrorCode::InvalidCredentials)
    );
}

#[tokio::test]
async fn login_attempts_are_rate_limited_per_account() {
    let server = TestServer::start_with(|c| c.auth.login_attempts_per_account = 3).await;
    let alice = server.user("alice").await;
    let name = alice.session().unwrap().username;
    for _ in 0..3 {
        let e = Client::login(&server.url(), &name, "wrong password!", None)
            .await
            .unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::InvalidCredentials));
    }
    let e = Client::login(&server.url(), &name, PASSWORD, None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::RateLimited));
    assert!(e.retry_after().is_some());
    // Other accounts are not affected.
    let bob = server.user("bob").await;
    assert!(
        Client::login(
            &server.url(),
            &bob.session().unwrap().username,
            PASSWORD,
            None
        )
        .await
        .is_ok()
    );
}

#[tokio::test]
async fn login_attempts_are_rate_limited_per_address() {
    let server = TestServer::start_with(|c| c.auth.login_attempts_per_address = 4).await;
    let mut last = None;
    for i in 0..6 {
        last = Some(
            Client::login(&server.url(), &format!("ghost{i}"), PASSWORD, None)
                .await
                .unwrap_err(),
        );
    }
    assert_eq!(last.unwrap().code(), Some(ErrorCode::RateLimited));
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_refresh_token_revokes_the_session() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let first = alice.session().unwrap();
    let second = alice.refresh().await.unwrap();
    assert_eq!(second.device, first.device);
    assert_ne!(second.refresh_token, first.refresh_token);
    assert!(alice.me().await.is_ok());
    // Someone replays the old refresh token: the whole session dies.
    let thief = Client::with_session(&server.url(), first.clone()).unwrap();
    let err = thief.refresh().await.unwrap_err();
    assert!(
        matches!(err, natter_test_support::sdk::Error::SessionGone)
            || err.code() == Some(ErrorCode::RefreshReused),
        "{err:?}"
    );
    let err = alice.me().await.unwrap_err();
    assert!(
        matches!(err, natter_test_support::sdk::Error::SessionGone)
            || err.code() == Some(ErrorCode::SessionRevoked),
        "{err:?}"
    );
}

#[tokio::test]
async fn revoking_a_session_closes_its_live_connection() {
    let server = TestServer::start().await;
    let laptop = server.user("alice").await;
    let name = laptop.session().unwrap().username;
    let phone = Client::login(&server.url(), &name, PASSWORD, Some("phone"))
        .await
        .unwrap();
    let mut live = connect(&phone).await;
    let sessions = laptop.sessions().await.unwrap();
    assert_eq!(sessions.len(), 2);
    let phone_device = phone.session().unwrap().device;
    laptop.revoke_session(phone_device).await.unwrap();
    loop {
        match live.next_event(WAIT).await {
            Some(LiveEvent::SessionGone) => break,
            Some(_) => {}
            None => panic!("the revoked device's connection stayed open"),
        }
    }
    assert_eq!(laptop.sessions().await.unwrap().len(), 1);
    assert!(phone.me().await.is_err());
    live.close().await;
}

#[tokio::test]
async fn logout_ends_the_session() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let saved = alice.session().unwrap();
    alice.logout().await.unwrap();
    let again = Client::with_session(&server.url(), saved).unwrap();
    let err = again.me().await.unwrap_err();
    assert!(
        matches!(err, natter_test_support::sdk::Error::SessionGone)
            || err.code() == Some(ErrorCode::SessionRevoked),
        "{err:?}"
    );
}

/// The published limits are the ones enforced: a client that checks input
/// against `GET /v1/limits` (before logging in) is never surprised.
#[tokio::test]
async fn published_limits_are_the_enforced_ones() {
    let server = TestServer::start_with(|c| {
        c.limits.max_message_bytes = 1000;
        // Small frames too: the socket's buffers must still fit.
        c.limits.max_frame_bytes = 2048;
        c.limits.max_group_members = 7;
    })
    .await;
    let url = server.url();
    let limits = Client::new(&url).unwrap().limits().await.unwrap();
    assert_eq!(limits.max_message_bytes, 1000);
    assert_eq!(limits.max_group_members, 7);
    assert_eq!(limits.username_chars, [3, 32]);
    assert_eq!(limits.password_chars, [10, 256]);

    let code = |r: Result<Client, natter_test_support::sdk::Error>| r.err().and_then(|e| e.code());
    let [short, long] = limits.username_chars.map(|n| n as usize);
    assert_eq!(
        code(Client::register(&url, &"a".repeat(short - 1), PASSWORD, None).await),
        Some(ErrorCode::InvalidUsername)
    );
    assert_eq!(
        code(Client::register(&url, &"b".repeat(long + 1), PASSWORD, None).await),
        Some(ErrorCode::InvalidUsername)
    );
    let [min_pw, _] = limits.password_chars.map(|n| n as usize);
    assert_eq!(
        code(Client::register(&url, &unique_name("pw"), &"xy".repeat(min_pw / 2 - 1), None).await),
        Some(ErrorCode::WeakPassword)
    );

    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let conv = alice.direct(bob.user_id().unwrap()).await.unwrap();
    let mut live = connect(&bob).await;
    let max = limits.max_message_bytes as usize;
    let longest = "é".repeat(max / 2);
    alice
        .send_message(conv.id, &ClientId::random(), &longest)
        .await
        .expect("a message of exactly the limit is accepted");
    let got = message_in(&mut live, conv.id).await;
    assert_eq!(text(&got), Some(longest.as_str()), "and delivered live");
    let err = alice
        .send_message(conv.id, &ClientId::random(), &"x".repeat(max + 1))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::MessageTooLong));
}
