//! Accounts, tokens and device sessions.

use crate::*;
use natter_proto::{ClientId, ErrorCode};
use natter_test_support::sdk::{Client, Error, LiveEvent};
use natter_test_support::{PASSWORD, TestServer, unique_name};
use serde_json::{Value, json};

/// The HTTP status and error code the server answers `req` with. The SDK
/// folds every "this session is over" code into [`Error::SessionGone`]; the
/// wire tells them apart.
async fn wire_error(req: reqwest::RequestBuilder) -> (u16, String) {
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.expect("an error body in JSON");
    let code = body["error"]["code"].as_str().unwrap_or_default();
    (status, code.to_owned())
}

/// `GET /v1/me` with `token`, raw.
fn me_with(server: &TestServer, token: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .get(format!("{}/v1/me", server.url()))
        .bearer_auth(token)
}

#[tokio::test]
async fn registration_enforces_username_and_password_rules() {
    let server = TestServer::start().await;
    let url = server.url();
    let code = |r: Result<Client, Error>| r.err().and_then(|e| e.code());
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
    let again = Client::login(&url, &name.to_uppercase(), PASSWORD, None)
        .await
        .expect("a login in other case");
    assert_eq!(again.user_id(), carol.user_id());
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
    // The wait asked for is a real one, and never longer than the window.
    let window = Duration::from_secs(server.config().auth.login_window_secs);
    let wait = e.retry_after().expect("rate_limited says how long to wait");
    assert!(
        wait >= Duration::from_secs(1) && wait <= window,
        "{wait:?} within {window:?}"
    );
    // Other accounts are not affected.
    let bob = server.user("bob").await;
    let bob_again = Client::login(
        &server.url(),
        &bob.session().unwrap().username,
        PASSWORD,
        None,
    )
    .await
    .expect("bob logs in while alice is throttled");
    assert_eq!(bob_again.user_id(), bob.user_id());
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
    assert_eq!(alice.me().await.unwrap().device, first.device);
    // Alice refreshes again, so the first token's successor is spent too.
    alice.refresh().await.unwrap();
    // Someone replays the old refresh token: the server recognises the
    // reuse…
    let replay = reqwest::Client::new()
        .post(format!("{}/v1/auth/refresh", server.url()))
        .json(&json!({"refresh_token": first.refresh_token}));
    assert_eq!(wire_error(replay).await, (401, "refresh_reused".to_owned()));
    // …and the whole session dies: whoever holds its tokens, thief or
    // owner, is told to log in again.
    let thief = Client::with_session(&server.url(), first.clone()).unwrap();
    let err = thief.refresh().await.unwrap_err();
    assert!(matches!(err, Error::SessionGone), "{err:?}");
    let err = alice.me().await.unwrap_err();
    assert!(matches!(err, Error::SessionGone), "{err:?}");
    assert_eq!(
        wire_error(me_with(&server, &second.access_token)).await,
        (401, "session_revoked".to_owned())
    );
    let err = alice.refresh().await.unwrap_err();
    assert!(matches!(err, Error::SessionGone), "{err:?}");
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
    let phone_token = phone.access_token().unwrap();
    laptop.revoke_session(phone_device).await.unwrap();
    loop {
        match live.next_event(WAIT).await {
            Some(LiveEvent::SessionGone) => break,
            Some(_) => {}
            None => panic!("the revoked device's connection stayed open"),
        }
    }
    // Nothing follows: the live connection has stopped for good.
    match tokio::time::timeout(WAIT, live.recv()).await {
        Ok(None) => assert!(live.is_finished()),
        Ok(Some(ev)) => panic!("an event after the session was revoked: {ev:?}"),
        Err(_) => panic!("the revoked device's live connection did not stop"),
    }
    let left = laptop.sessions().await.unwrap();
    assert_eq!(
        left.iter().map(|s| s.device).collect::<Vec<_>>(),
        [laptop.session().unwrap().device]
    );
    // The phone is told to log in again, because the server says its
    // session was revoked.
    let err = phone.me().await.unwrap_err();
    assert!(matches!(err, Error::SessionGone), "{err:?}");
    assert_eq!(
        wire_error(me_with(&server, &phone_token)).await,
        (401, "session_revoked".to_owned())
    );
    live.close().await;
}

#[tokio::test]
async fn logout_ends_the_session() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let saved = alice.session().unwrap();
    alice.logout().await.unwrap();
    let again = Client::with_session(&server.url(), saved.clone()).unwrap();
    let err = again.me().await.unwrap_err();
    assert!(matches!(err, Error::SessionGone), "{err:?}");
    assert_eq!(
        wire_error(me_with(&server, &saved.access_token)).await,
        (401, "session_revoked".to_owned())
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

/// A login from the source address `127.0.0.n`.
async fn login_from(server: &TestServer, n: u8, name: &str, password: &str) -> reqwest::Response {
    let http = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, n]))
        .build()
        .unwrap();
    http.post(format!("{}/v1/auth/login", server.url()))
        .json(&serde_json::json!({"username": name, "password": password}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn failures_from_other_addresses_never_lock_the_owner_out() {
    let server = TestServer::start_with(|c| {
        c.auth.login_attempts_per_account = 3;
        c.auth.login_slowdown_after = 5;
        c.auth.login_slowdown_ms = 10;
    })
    .await;
    let alice = server.user("alice").await;
    let name = alice.session().unwrap().username;
    // A stranger at 127.0.0.7 guesses until refused.
    for _ in 0..3 {
        let r = login_from(&server, 7, &name, "wrong password!").await;
        assert_eq!(r.status(), 401);
    }
    let r = login_from(&server, 7, &name, "wrong password!").await;
    assert_eq!(r.status(), 429, "the guessing address is throttled");
    // Alice, elsewhere, logs in at once.
    let r = login_from(&server, 8, &name, PASSWORD).await;
    assert_eq!(r.status(), 200, "the owner is not locked out");
    // Guesses from many more addresses push the account past its
    // all-addresses limit: logins slow down but still succeed.
    for n in 20..30 {
        let r = login_from(&server, n, &name, "wrong password!").await;
        assert_eq!(r.status(), 401);
    }
    let r = login_from(&server, 9, &name, PASSWORD).await;
    assert_eq!(r.status(), 200, "slowed, never locked");
}

#[tokio::test]
async fn a_login_flood_is_shed_early_with_a_retry_time() {
    let server = TestServer::start_with(|c| {
        c.auth.argon2_memory_kib = 2048;
        c.auth.argon2_iterations = 2;
        c.auth.hash_queue_ms = 20;
        c.auth.login_attempts_per_account = 10_000;
        c.auth.login_slowdown_after = 10_000;
    })
    .await;
    let alice = server.user("alice").await;
    let name = alice.session().unwrap().username;
    let http = reqwest::Client::new();
    let flood = (0..120).map(|_| {
        http.post(format!("{}/v1/auth/login", server.url()))
            .json(&serde_json::json!({"username": name, "password": "wrong password!"}))
            .send()
    });
    let (answers, me) = tokio::join!(futures_util::future::join_all(flood), alice.me());
    // Requests that need no password check are served beside the flood.
    assert_eq!(me.unwrap().id, alice.user_id().unwrap());
    let mut shed = 0;
    for a in answers {
        let a = a.unwrap();
        match a.status().as_u16() {
            401 => {}
            503 => {
                let retry = a.headers()["retry-after"].to_str().unwrap().parse::<u64>();
                assert!(matches!(retry, Ok(1..=60)), "{retry:?}");
                let body: serde_json::Value = a.json().await.unwrap();
                assert_eq!(body["error"]["code"], "unavailable");
                shed += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(shed > 0, "a flood beyond the hashing budget is shed");
}

#[tokio::test]
async fn a_refresh_whose_answer_was_lost_can_be_retried() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let first = alice.session().unwrap();
    let refresh = || {
        reqwest::Client::new()
            .post(format!("{}/v1/auth/refresh", server.url()))
            .json(&json!({"refresh_token": first.refresh_token}))
            .send()
    };
    // The answer to the first try is "lost"; the client retries with the
    // same token and gets the same new refresh token, session intact.
    let lost: natter_proto::AuthSession = refresh().await.unwrap().json().await.unwrap();
    let retried = refresh().await.unwrap();
    assert_eq!(retried.status(), 200);
    let retried: natter_proto::AuthSession = retried.json().await.unwrap();
    assert_eq!(retried.refresh_token, lost.refresh_token);
    assert_eq!(retried.device, first.device);
    assert_eq!(
        me_with(&server, &retried.access_token)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // Once the new token is used, the old one is reuse again.
    let client = Client::with_session(&server.url(), retried).unwrap();
    client.refresh().await.unwrap();
    let late = refresh().await.unwrap();
    assert_eq!(late.status(), 401);
    let body: serde_json::Value = late.json().await.unwrap();
    assert_eq!(body["error"]["code"], "refresh_reused");
}
