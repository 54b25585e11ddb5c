//! What a server holds for connections that do nothing useful: sockets that
//! never send a byte, half a header or half a body are closed after the
//! configured timeouts; one address cannot take more than its share; and
//! when every slot is taken by idle sockets, a real client still gets in.

use crate::*;
use natter_test_support::TestServer;
use std::net::{Ipv4Addr, SocketAddr};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// Opens a TCP connection to the server from the loopback address
/// `127.0.a.b` (every 127/8 address is local on Linux).
async fn tcp_from(server: &TestServer, a: u8, b: u8) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::from((Ipv4Addr::new(127, 0, a, b), 0)))
        .expect("bind a loopback source address");
    let addr: SocketAddr = server.url().trim_start_matches("http://").parse().unwrap();
    socket.connect(addr).await.expect("connect")
}

/// Everything the server sends until it closes the connection; panics if
/// it is still open after [`WAIT`].
async fn until_closed(tcp: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let read = tokio::time::timeout(WAIT, async {
        let mut buf = [0u8; 4096];
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server kept the connection open");
    String::from_utf8_lossy(&got).into_owned()
}

/// A GET over a fresh connection from `127.0.a.b`: the status line.
async fn get_from(server: &TestServer, a: u8, b: u8, path: &str) -> String {
    let mut tcp = tcp_from(server, a, b).await;
    tcp.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: natter\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .expect("write");
    let answer = until_closed(&mut tcp).await;
    answer.lines().next().unwrap_or_default().to_owned()
}

/// The connection is still open: a request on it is answered.
async fn still_serves(tcp: &mut TcpStream) {
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: natter\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let answer = until_closed(tcp).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn silent_and_half_sent_requests_are_closed_after_the_timeouts() {
    let server = TestServer::start_with(|c| {
        c.http.header_timeout_secs = 1;
        c.http.body_timeout_secs = 1;
    })
    .await;
    // Never a byte.
    let mut silent = tcp_from(&server, 0, 1).await;
    // Half a header.
    let mut half_header = tcp_from(&server, 0, 1).await;
    half_header
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: nat")
        .await
        .unwrap();
    // A whole header, then half the body it announces.
    let mut half_body = tcp_from(&server, 0, 1).await;
    half_body
        .write_all(
            b"POST /v1/auth/login HTTP/1.1\r\nHost: natter\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"username\":",
        )
        .await
        .unwrap();
    // Idle after a first answered request (keep-alive).
    let mut kept_alive = tcp_from(&server, 0, 1).await;
    kept_alive
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: natter\r\n\r\n")
        .await
        .unwrap();

    assert_eq!(until_closed(&mut silent).await, "", "closed without a word");
    until_closed(&mut half_header).await;
    let answer = until_closed(&mut half_body).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"request_timeout\""), "{answer}");
    let answer = until_closed(&mut kept_alive).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(answer.matches("HTTP/1.1").count(), 1, "{answer}");
}

#[tokio::test]
async fn one_address_gets_its_cap_and_others_are_still_served() {
    let server = TestServer::start_with(|c| {
        c.http.max_connections_per_address = 3;
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(tcp_from(&server, 0, 2).await);
    }
    let mut over = tcp_from(&server, 0, 2).await;
    assert_eq!(until_closed(&mut over).await, "", "refused at once");
    assert_eq!(get_from(&server, 0, 3, "/healthz").await, "HTTP/1.1 200 OK");
    // The address's own held connections still work, and closing one lets
    // a new one in.
    still_serves(&mut held[0]).await;
    drop(held.remove(0));
    let mut again = tcp_from(&server, 0, 2).await;
    still_serves(&mut again).await;
}

#[tokio::test]
async fn a_table_full_of_idle_sockets_still_lets_a_login_in() {
    let server = TestServer::start_with(|c| {
        c.http.max_connections = 6;
    })
    .await;
    let name = natter_test_support::unique_name("alice");
    let alice = natter_test_support::sdk::Client::register(
        &server.url(),
        &name,
        natter_test_support::PASSWORD,
        None,
    )
    .await
    .unwrap();
    // Six idle sockets from six addresses fill every slot.
    let mut idle = Vec::new();
    for b in 1..=6 {
        idle.push(tcp_from(&server, 1, b).await);
    }
    // A health check and a login still get through; the longest-waiting
    // idle sockets make room.
    assert_eq!(get_from(&server, 0, 1, "/healthz").await, "HTTP/1.1 200 OK");
    let again = natter_test_support::sdk::Client::login(
        &server.url(),
        &name,
        natter_test_support::PASSWORD,
        None,
    )
    .await
    .expect("login while the table is full");
    assert_eq!(again.user_id(), alice.user_id());
    assert_eq!(
        until_closed(&mut idle[0]).await,
        "",
        "the oldest idle socket made room"
    );
}
