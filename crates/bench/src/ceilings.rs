//! The bare ceilings natter is compared with on the same machine:
//! `sqlite-ceiling` (a batched-commit insert loop, no server) and `ws-echo`
//! (the `latency` load against a WebSocket echo server on the same stack,
//! run as this executable's hidden `echo-server` scenario). The third,
//! `nats-fanout`, is in [`crate::nats`].

use crate::client::{frame_sent_at, payload};
use crate::report::{hist, machine, summary};
use crate::target::Target;
use anyhow::{Context, Result};
use futures_util::{SinkExt, StreamExt};
use natter_proto::{ClientId, ConversationId};
use std::time::{Duration, Instant};
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::Message;

/// Inserts message-sized rows of `size` bytes, `batch` per commit (WAL,
/// synchronous = FULL), for `secs` seconds after a 1 s warm-up: rows per
/// second and commit latency.
pub fn sqlite_ceiling(batch: usize, size: usize, secs: u64) -> Result<serde_json::Value> {
    let dir = std::env::temp_dir().join(format!("natter-ceiling-{}", ClientId::random()));
    std::fs::create_dir_all(&dir)?;
    let conn = rusqlite::Connection::open(dir.join("ceiling.db"))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
         CREATE TABLE messages (conv BLOB NOT NULL, seq INTEGER NOT NULL, sender BLOB NOT NULL,
                                ts INTEGER NOT NULL, text TEXT NOT NULL, PRIMARY KEY (conv, seq)) WITHOUT ROWID;",
    )?;
    let conv = ConversationId::new();
    let sender = natter_proto::UserId::new();
    let text = "x".repeat(size);
    let warmup = Duration::from_secs(1);
    let started = Instant::now();
    let (mut rows, mut seq, mut counted_from) = (0u64, 0i64, None);
    let mut commits = hist();
    while started.elapsed() < warmup + Duration::from_secs(secs) {
        if counted_from.is_none() && started.elapsed() >= warmup {
            counted_from = Some((Instant::now(), rows));
        }
        let t0 = Instant::now();
        let tx = conn.unchecked_transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO messages (conv, seq, sender, ts, text) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for _ in 0..batch {
                seq += 1;
                stmt.execute(rusqlite::params![
                    conv.as_bytes(),
                    seq,
                    sender.as_bytes(),
                    seq,
                    text
                ])?;
            }
        }
        tx.commit()?;
        rows += batch as u64;
        if counted_from.is_some() {
            let _ = commits.record(t0.elapsed().as_micros() as u64);
        }
    }
    let (from, base) = counted_from.context("the run was shorter than its warm-up")?;
    let rate = (rows - base) as f64 / from.elapsed().as_secs_f64();
    drop(conn);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(serde_json::json!({
        "scenario": "sqlite-ceiling",
        "machine": machine(),
        "params": { "batch": batch, "size": size, "duration_s": secs },
        "rows_per_s": rate.round(),
        "commit_latency": summary(&commits),
    }))
}

/// A bare WebSocket echo server: what the same HTTP/WebSocket stack costs
/// with no chat logic at all.
pub async fn echo_server() -> Result<()> {
    use axum::extract::ws::{Message as AxMessage, WebSocketUpgrade};
    let app = axum::Router::new().route(
        "/v1/ws",
        axum::routing::get(|ws: WebSocketUpgrade| async move {
            ws.on_upgrade(|mut socket| async move {
                while let Some(Ok(msg)) = socket.recv().await {
                    if let AxMessage::Text(_) = msg
                        && socket.send(msg).await.is_err()
                    {
                        return;
                    }
                }
            })
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("natter is running at http://{}", listener.local_addr()?);
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await?;
    Ok(())
}

/// `ws-echo`: `n` sockets send `rate` echo frames per second in all to the
/// echo server for `secs` seconds after a 2 s warm-up: round-trip latency.
pub async fn ws_echo(target: &Target, n: usize, rate: u64, secs: u64) -> Result<serde_json::Value> {
    let addr = target.ws_addr()?;
    let mut sockets = Vec::with_capacity(n);
    for i in 0..n {
        let socket = TcpSocket::new_v4()?;
        let src = std::net::Ipv4Addr::new(127, 0, 1, (1 + i % 250) as u8);
        socket.bind((src, 0).into())?;
        let stream = socket.connect(addr).await?;
        stream.set_nodelay(true)?;
        let (ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}/v1/ws"), stream).await?;
        sockets.push(ws);
    }
    let epoch = Instant::now();
    let start = Instant::now() + Duration::from_secs(2);
    let end = start + Duration::from_secs(secs);
    let interval = Duration::from_secs_f64(n as f64 / rate as f64);
    let mut tasks = Vec::new();
    for (i, mut ws) in sockets.into_iter().enumerate() {
        let offset = interval.mul_f64(i as f64 / n as f64);
        tasks.push(tokio::spawn(async move {
            let mut ticker = tokio::time::interval_at((Instant::now() + offset).into(), interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut h = hist();
            let mut inflight = 0usize;
            loop {
                tokio::select! {
                    _ = ticker.tick(), if Instant::now() < end => {
                        let text = payload(epoch, 100);
                        ws.send(Message::text(format!(r#"{{"type":"echo","text":"{text}"}}"#))).await?;
                        inflight += 1;
                    }
                    msg = ws.next() => {
                        let msg = msg.context("echo socket closed")??;
                        if let Message::Text(t) = msg {
                            inflight -= 1;
                            if Instant::now() >= start
                                && let Some(at) = frame_sent_at(t.as_str())
                            {
                                let _ = h.record((epoch.elapsed().as_micros() as u64).saturating_sub(at).max(1));
                            }
                        }
                        if inflight == 0 && Instant::now() >= end {
                            break;
                        }
                    }
                }
            }
            Ok::<_, anyhow::Error>(h)
        }));
    }
    let mut h = hist();
    for t in tasks {
        h.add(t.await??)?;
    }
    Ok(serde_json::json!({
        "scenario": "ws-echo",
        "machine": machine(),
        "params": { "connections": n, "rate_per_s": rate, "duration_s": secs },
        "round_trip": summary(&h),
    }))
}
