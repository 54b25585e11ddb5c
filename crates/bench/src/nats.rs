//! The fan-out ceiling: bare NATS core pub/sub (a local `nats-server`) to
//! the same number of subscriber connections as `fanout` has members, with
//! a payload the size of a natter event frame. No storage, no
//! authentication, no per-user logic: what one broker process does on this
//! machine with the same load generator.

use crate::client::payload_at;
use crate::progress::{Goal, Progress};
use crate::report::{Window, cpu_us_per, hist, machine, summary};
use crate::target::{cpu_secs, pid_of};
use anyhow::{Context, Result};
use futures_util::StreamExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const SUBJECT: &str = "natter.bench.fanout";

/// Runs the NATS fan-out and returns its result.
pub async fn fanout(
    url: &str,
    subscribers: usize,
    rate: u64,
    secs: u64,
    warmup: u64,
) -> Result<serde_json::Value> {
    let broker = pid_of("nats-server");
    eprintln!("connecting {subscribers} NATS subscribers to {url}…");
    let mut subs = Vec::with_capacity(subscribers);
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..subscribers {
        let url = url.to_owned();
        set.spawn(async move {
            let client = async_nats::ConnectOptions::new()
                .subscription_capacity(4096)
                .connect(url.as_str())
                .await?;
            let sub = client.subscribe(SUBJECT).await?;
            // Sends the subscription; the warm-up gives the server time to
            // have it before measuring starts.
            client.flush().await?;
            Ok::<_, anyhow::Error>((client, sub))
        });
        if set.len() >= 64
            && let Some(r) = set.join_next().await
        {
            subs.push(r??);
        }
    }
    while let Some(r) = set.join_next().await {
        subs.push(r??);
    }
    let publisher = async_nats::connect(url)
        .await
        .context("cannot connect to NATS")?;

    let epoch = Instant::now();
    let warmup = Duration::from_secs(warmup);
    let start = Instant::now() + warmup;
    let end = start + Duration::from_secs(secs);
    let start_us = start.duration_since(epoch).as_micros() as u64;
    let end_us = end.duration_since(epoch).as_micros() as u64;
    let delivered = Arc::new(AtomicU64::new(0));
    let window = Window {
        epoch,
        start_us,
        end_us,
        delivered: delivered.clone(),
    };
    let mut receivers = Vec::with_capacity(subs.len());
    let mut clients = Vec::with_capacity(subs.len());
    for (client, mut sub) in subs {
        clients.push(client);
        let window = window.clone();
        receivers.push(tokio::spawn(async move {
            let mut h = hist();
            let deadline = end + Duration::from_secs(5);
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                let Ok(Some(msg)) = tokio::time::timeout(left, sub.next()).await else {
                    break;
                };
                if let Ok(text) = std::str::from_utf8(&msg.payload) {
                    window.record(text, &mut h);
                }
            }
            h
        }));
    }
    eprintln!(
        "publishing {rate} msg/s to {subscribers} subscribers for {secs} s after {warmup:?}…"
    );
    let bar = Progress::start(
        "NATS fan-out",
        Goal::Window { start, end },
        delivered.clone(),
        "deliveries",
    );
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate.max(1) as f64));
    let mut sent = 0u64;
    let mut cpu_start = None;
    let mut seq = 0u64;
    while Instant::now() < end {
        ticker.tick().await;
        let at = epoch.elapsed().as_micros() as u64;
        if at >= start_us && cpu_start.is_none() {
            cpu_start = broker.and_then(cpu_secs);
        }
        publisher
            .publish(SUBJECT, event_frame(at, seq).into())
            .await?;
        publisher.flush().await?;
        seq += 1;
        if at >= start_us && at < end_us {
            sent += 1;
        }
    }
    let cpu_end = broker.and_then(cpu_secs);
    let mut lat = hist();
    for r in receivers {
        lat.add(r.await?)?;
    }
    drop(bar);
    drop(clients);
    let got = delivered.load(Ordering::Relaxed);
    let cpu = cpu_us_per(cpu_start, cpu_end, got);
    Ok(serde_json::json!({
        "scenario": "nats-fanout",
        "machine": machine(),
        "params": { "subscribers": subscribers, "rate_per_s": rate, "duration_s": secs, "warmup_s": warmup.as_secs() },
        "messages_sent": sent,
        "deliveries_expected": sent * subscribers as u64,
        "deliveries": got,
        "deliveries_per_s": (got as f64 / secs as f64).round(),
        "delivery_latency": summary(&lat),
        "broker_cpu_us_per_delivery": cpu,
    }))
}

/// A payload shaped and sized like the event frame natter sends for a
/// 100-byte message.
fn event_frame(at: u64, seq: u64) -> String {
    let id = "0195f2c4-7a1e-7c3d-9b2a-5e8f1d3c6a70";
    format!(
        r#"{{"type":"event","cursor":"{cursor}","event":{{"conv":"{id}","seq":{seq},"ts":1764360000000,"sender":"{id}","kind":"message","id":"{id}","client_id":"Xk2v9QpL3mZt7RwB1nYc4e","device":"{id}","text":"{text}"}}}}"#,
        cursor = 100_000 + seq,
        text = payload_at(at, 100),
    )
}
