//! A full disk: writes are refused with `storage_full` and a retry time,
//! nothing refused is stored, readiness says so, and the server takes
//! writes again once there is room, without a restart.
//!
//! SQLite only: the test fills the database through its page limit
//! (`PRAGMA max_page_count`), which fails writes exactly as a full disk
//! does (`SQLITE_FULL`).

use crate::*;
use natter_bus::LocalBus;
use natter_proto::{ClientId, ErrorCode, HistoryQuery};
use natter_server::Backends;
use natter_store_sqlite::{SqliteOptions, SqliteStore};
use natter_test_support::sdk::Client;
use natter_test_support::{PASSWORD, test_config, unique_name};
use std::sync::Arc;

#[tokio::test]
async fn a_full_disk_refuses_writes_with_a_typed_error_and_recovers_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config();
    config.data_dir = dir.path().to_owned();
    let store = Arc::new(
        SqliteStore::open(&dir.path().join("natter.db"), SqliteOptions::default()).unwrap(),
    );
    let running = natter_server::start(
        config,
        Backends {
            store: store.clone(),
            bus: Arc::new(LocalBus::new(64)),
            shared: None,
        },
    )
    .await
    .unwrap();
    let url = format!("http://{}", running.addr);
    let alice = Client::register(&url, &unique_name("alice"), PASSWORD, None)
        .await
        .unwrap();
    let bob = Client::register(&url, &unique_name("bob"), PASSWORD, None)
        .await
        .unwrap();
    let conv = alice.direct(bob.user_id().unwrap()).await.unwrap();

    // Leave room for a few pages, then send until the disk is full.
    let size = store.set_max_page_count(1).await.unwrap();
    store.set_max_page_count(size + 6).await.unwrap();
    let text = "x".repeat(4000);
    let mut acked = Vec::new();
    let (refused_id, refused) = loop {
        let id = ClientId::random();
        match alice.send_message(conv.id, &id, &text).await {
            Ok(sent) => acked.push(sent.seq),
            Err(e) => break (id, e),
        }
        assert!(acked.len() < 10_000, "the disk never filled");
    };
    assert_eq!(refused.code(), Some(ErrorCode::StorageFull), "{refused:?}");
    let wait = refused
        .retry_after()
        .expect("storage_full says when to retry");
    assert!(wait.as_secs() >= 1, "{wait:?}");

    // Readiness says why; liveness stays up.
    let http = reqwest::Client::new();
    let ready = http.get(format!("{url}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "storage full");
    assert_eq!(
        http.get(format!("{url}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // Everything acknowledged is there, and nothing else.
    let page = bob
        .history(conv.id, &HistoryQuery::default())
        .await
        .unwrap();
    let messages: Vec<_> = page
        .events
        .iter()
        .filter(|e| text_of(e).is_some())
        .map(|e| e.seq)
        .collect();
    assert_eq!(messages, acked);

    // Room again: the retry with the same client id is stored once, and
    // the server is ready again, with no restart.
    store.set_max_page_count(size + 10_000).await.unwrap();
    let sent = alice
        .send_message(conv.id, &refused_id, &text)
        .await
        .unwrap();
    assert_eq!(sent.seq, acked.last().copied().unwrap_or(1) + 1);
    let ready = http.get(format!("{url}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    running.shutdown().await;
}

fn text_of(e: &natter_proto::Event) -> Option<&str> {
    text(e)
}
