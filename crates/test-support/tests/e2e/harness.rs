//! The harness itself: the backing services CI starts answer where their
//! URLs say, and the backend and service settings are read strictly.

use crate::*;
use natter_test_support::services::{self, host_port};
use natter_test_support::{Backend, TestServer, test_config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Connects to the service at `url` and returns the first bytes it answers
/// `greeting` with (nothing is sent when `greeting` is empty: the service
/// speaks first). Panics, naming the service and its address but never the
/// URL's user part, when it does not answer within [`WAIT`].
async fn first_answer(name: &str, url: &str, greeting: &[u8]) -> Vec<u8> {
    let (host, port) = host_port(url);
    let talk = async {
        let mut conn = TcpStream::connect((host.as_str(), port)).await?;
        conn.write_all(greeting).await?;
        let mut buf = vec![0; 64];
        let n = conn.read(&mut buf).await?;
        buf.truncate(n);
        std::io::Result::Ok(buf)
    };
    match tokio::time::timeout(WAIT, talk).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(e)) => panic!("{name} does not answer on {host}:{port}: {e}"),
        Err(_) => panic!("{name} on {host}:{port} said nothing within {WAIT:?}"),
    }
}

/// PostgreSQL, Redis and NATS each accept a connection on the address their
/// variable (or its default) gives, and answer as that service: a missing
/// or misplaced service fails here by name, not later in a suite that
/// needs it.
#[tokio::test]
async fn services_answer() {
    // PostgreSQL answers an SSLRequest (length 8, code 80877103) with one
    // byte: 'S' or 'N'.
    let ssl_request = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];
    let pg = first_answer("PostgreSQL", &services::postgres_url(), &ssl_request).await;
    assert!(
        matches!(pg.as_slice(), [b'S' | b'N']),
        "PostgreSQL's answer to an SSLRequest: {pg:?}"
    );
    // Redis answers PING with PONG, or with NOAUTH when it wants a password.
    let redis = first_answer("Redis", &services::redis_url(), b"PING\r\n").await;
    let redis = String::from_utf8_lossy(&redis);
    assert!(
        redis.starts_with("+PONG") || redis.starts_with("-NOAUTH"),
        "Redis's answer to PING: {redis:?}"
    );
    // NATS speaks first, with its INFO line.
    let nats = first_answer("NATS", &services::nats_url(), b"").await;
    let nats = String::from_utf8_lossy(&nats);
    assert!(nats.starts_with("INFO "), "NATS's greeting: {nats:?}");
}

#[test]
fn service_addresses_come_from_the_urls() {
    assert_eq!(
        host_port(services::POSTGRES_DEFAULT),
        ("127.0.0.1".to_owned(), 5432)
    );
    assert_eq!(
        host_port(services::REDIS_DEFAULT),
        ("127.0.0.1".to_owned(), 6379)
    );
    assert_eq!(
        host_port(services::NATS_DEFAULT),
        ("127.0.0.1".to_owned(), 4222)
    );
    assert_eq!(
        host_port("postgresql://u:p%40ss@db.internal/natter?sslmode=disable"),
        ("db.internal".to_owned(), 5432)
    );
    assert_eq!(
        host_port("redis://:secret@[::1]:6380/0"),
        ("::1".to_owned(), 6380)
    );
    assert_eq!(host_port("nats://nats:4333"), ("nats".to_owned(), 4333));
}

#[test]
#[should_panic(expected = "service URL with a bad port: redis://host:port")]
fn a_service_url_with_a_bad_port_is_refused_without_its_password() {
    host_port("redis://user:hunter2@host:port");
}

#[test]
fn every_backend_is_chosen_by_its_name() {
    for &(name, backend) in Backend::NAMES {
        assert_eq!(Backend::named(name), backend);
        assert_eq!(backend.name(), name);
    }
    assert_eq!(Backend::DEFAULT, Backend::Sqlite);
}

#[test]
#[should_panic(
    expected = "NATTER_TEST_BACKEND=\"mysql\" is not a test backend; allowed values: sqlite"
)]
fn an_unknown_backend_name_panics_naming_the_allowed_values() {
    Backend::named("mysql");
}

#[test]
#[should_panic(expected = "allowed values: sqlite")]
fn backend_names_are_exact() {
    Backend::named("SQLite");
}

/// A server started on a named backend runs on it, keeps what it stored
/// across a restart on that backend, and ignores the data folder it was
/// given for one of its own.
#[tokio::test]
async fn a_server_started_on_a_backend_keeps_its_data_there() {
    for &(_, backend) in Backend::NAMES {
        let mut server = TestServer::start_on(backend, test_config()).await;
        assert_eq!(server.backend(), backend);
        assert_ne!(server.config().data_dir, test_config().data_dir);
        let alice = server.user("alice").await;
        let bob = server.user("bob").await;
        let conv = alice.direct(bob.user_id().unwrap()).await.unwrap();
        let sent = alice
            .send_message(conv.id, &natter_proto::ClientId::random(), "kept")
            .await
            .unwrap();
        server.restart().await;
        let page = bob
            .history(conv.id, &natter_proto::HistoryQuery::default())
            .await
            .unwrap();
        let kept: Vec<_> = page.events.iter().filter_map(|e| e.message_id()).collect();
        assert_eq!(kept, [sent.id], "{}", backend.name());
    }
}
