//! `fanout`: one sender, one group, every member connected: deliveries per
//! second, delivery latency and the server's CPU per delivery (compare with
//! `nats-fanout`, the bare broker doing the same).

use crate::client::{Ws, open_ws, payload_at, send_frame, users};
use crate::progress::{Goal, Progress};
use crate::report::{Window, cpu_us_per, hist, machine, summary};
use crate::target::Target;
use anyhow::{Context, Result};
use futures_util::{SinkExt, StreamExt};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

/// Sends `rate` messages per second to a group of `members` (sender
/// included) for `secs` seconds after `warmup` seconds, and counts the
/// deliveries of the messages sent inside the measured window.
pub async fn fanout(
    target: &Target,
    members: usize,
    rate: u64,
    secs: u64,
    warmup: u64,
    channel: bool,
) -> Result<serde_json::Value> {
    let what = if channel { "channel" } else { "group" };
    let (all, group, sockets) = audience(target, members, channel).await?;
    let sender = &all[0];
    let epoch = Instant::now();
    let warmup = Duration::from_secs(warmup);
    let start = Instant::now() + warmup;
    let end = start + Duration::from_secs(secs);
    let delivered = Arc::new(AtomicU64::new(0));
    let start_us = start.duration_since(epoch).as_micros() as u64;
    let end_us = end.duration_since(epoch).as_micros() as u64;
    let window = Window {
        epoch,
        start_us,
        end_us,
        delivered: delivered.clone(),
    };
    let mut receivers = Vec::with_capacity(sockets.len());
    for mut ws in sockets {
        let window = window.clone();
        receivers.push(tokio::spawn(async move {
            let mut h = hist();
            let deadline = end + Duration::from_secs(5);
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                let msg = match tokio::time::timeout(left, ws.next()).await {
                    Err(_) | Ok(None) => break,
                    Ok(Some(m)) => m?,
                };
                if let Message::Text(t) = msg
                    && t.as_str().starts_with("{\"type\":\"event\"")
                {
                    window.record(t.as_str(), &mut h);
                }
            }
            drop(ws);
            Ok::<_, anyhow::Error>(h)
        }));
    }
    eprintln!("sending {rate} msg/s to {members} members for {secs} s after {warmup:?}…");
    let bar = Progress::start(
        "fan-out",
        Goal::Window { start, end },
        delivered.clone(),
        "deliveries",
    );
    let mut sender_ws = open_ws(target, &sender.access_token().context("no token")?, 1).await?;
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate.max(1) as f64));
    let mut sent = 0u64;
    let mut seq = 0u64;
    let mut cpu_start = None;
    while Instant::now() < end {
        ticker.tick().await;
        let at = epoch.elapsed().as_micros() as u64;
        if at >= start_us && cpu_start.is_none() {
            cpu_start = target.cpu_secs();
        }
        let text = payload_at(at, 100);
        sender_ws
            .send(Message::text(send_frame(group, seq, &text)))
            .await?;
        seq += 1;
        if at >= start_us && at < end_us {
            sent += 1;
        }
        // Drain acknowledgements and echoes without blocking.
        while let Ok(Some(m)) = tokio::time::timeout(Duration::ZERO, sender_ws.next()).await {
            m?;
        }
    }
    let cpu_end = target.cpu_secs();
    let mut lat = hist();
    for r in receivers {
        lat.add(r.await??)?;
    }
    drop(bar);
    let got = delivered.load(Ordering::Relaxed);
    let cpu = cpu_us_per(cpu_start, cpu_end, got);
    let expected = sent * (members as u64 - 1);
    Ok(serde_json::json!({
        "scenario": "fanout",
        "machine": machine(),
        "params": { "members": members, "rate_per_s": rate, "duration_s": secs, "warmup_s": warmup.as_secs(), "kind": what },
        "messages_sent": sent,
        "deliveries_expected": expected,
        "deliveries": got,
        "deliveries_per_s": (got as f64 / secs as f64).round(),
        "delivery_latency": summary(&lat),
        "server_rss_bytes": target.rss(),
        "server_cpu_us_per_delivery": cpu,
    }))
}

/// A group (or channel) of `members` users, the first its creator (or
/// owner), and a connected WebSocket for every other member.
pub async fn audience(
    target: &Target,
    members: usize,
    channel: bool,
) -> Result<(
    Vec<natter_sdk::Client>,
    natter_proto::ConversationId,
    Vec<Ws>,
)> {
    let what = if channel { "channel" } else { "group" };
    eprintln!("setting up a {what} of {members}…");
    let all = users(&target.url, members).await?;
    let (sender, readers) = all.split_first().context("no users")?;
    let group = if channel {
        let ch = sender.create_channel("bench fan-out", None).await?.id;
        let link = sender
            .create_invite(ch, &natter_proto::CreateInvite::default())
            .await?;
        let mut set = tokio::task::JoinSet::new();
        for reader in readers {
            // A client of its own for the one request, dropped after it:
            // ten thousand pooled idle connections would hit the server's
            // connection limits before the sockets are opened.
            let session = reader.session().context("no session")?;
            let joiner = natter_sdk::Client::with_session(&target.url, session)?;
            let token = link.token.clone();
            set.spawn(async move { joiner.join_invite(&token).await.map(drop) });
            if set.len() >= 64
                && let Some(r) = set.join_next().await
            {
                r??;
            }
        }
        while let Some(r) = set.join_next().await {
            r??;
        }
        ch
    } else {
        let ids: Vec<_> = readers.iter().filter_map(|c| c.user_id()).collect();
        // Bodies are limited in size: create with the first thousand, add
        // the rest.
        let first = ids.len().min(1000);
        let group = sender
            .create_group("bench fan-out", &ids[..first])
            .await?
            .id;
        for chunk in ids[first..].chunks(1000) {
            sender.add_members(group, chunk).await?;
        }
        group
    };
    eprintln!("connecting {} members…", readers.len());
    let tokens: Vec<String> = readers.iter().filter_map(|c| c.access_token()).collect();
    let mut sockets = Vec::with_capacity(tokens.len());
    let mut set = tokio::task::JoinSet::new();
    let shared_target = Arc::new(Target::remote(&target.url));
    for (i, token) in tokens.into_iter().enumerate() {
        let t = shared_target.clone();
        set.spawn(async move { open_ws(&t, &token, 30_000 + i).await });
        if set.len() >= 64
            && let Some(r) = set.join_next().await
        {
            sockets.push(r??);
        }
    }
    while let Some(r) = set.join_next().await {
        sockets.push(r??);
    }
    Ok((all, group, sockets))
}
