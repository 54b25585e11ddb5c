//! The per-user fan-outs besides messages: `presence` (one user with many
//! contacts goes online and offline) and `receipts` (everyone in a large
//! group reads one message).

use crate::client::{open_ws, users, wait_frame};
use crate::report::{hist, machine, summary};
use crate::target::Target;
use anyhow::{Context, Result, bail};
use futures_util::StreamExt;
use natter_proto::ClientId;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

/// A user with `contacts` connected contacts goes online and offline
/// `rounds` times: how long until all of them hear each change, and the
/// server CPU per change.
pub async fn presence(
    target: &Target,
    contacts: usize,
    rounds: usize,
) -> Result<serde_json::Value> {
    eprintln!("setting up a user with {contacts} contacts…");
    let all = users(&target.url, contacts + 1).await?;
    let (star, others) = all.split_first().context("no users")?;
    let star_id = star.user_id().context("no id")?;
    for o in others {
        o.direct(star_id).await?;
    }
    let mut watchers = Vec::with_capacity(contacts);
    for (i, o) in others.iter().enumerate() {
        watchers.push(open_ws(target, &o.access_token().context("no token")?, 20_000 + i).await?);
    }
    let star_token = star.access_token().context("no token")?;
    let star_str = star_id.to_string();
    let mut to_all = hist();
    let cpu0 = target.cpu_secs();
    let started = Instant::now();
    // Each watcher task reports every presence change of the star.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(usize, bool)>(contacts * 4);
    for (i, mut ws) in watchers.into_iter().enumerate() {
        let tx = tx.clone();
        let star = star_str.clone();
        tokio::spawn(async move {
            while let Some(Ok(msg)) = ws.next().await {
                if let Message::Text(t) = msg
                    && let Ok(v) = serde_json::from_str::<serde_json::Value>(t.as_str())
                    && v["type"] == "presence"
                    && v["user"] == star.as_str()
                    && tx
                        .send((i, v["online"].as_bool().unwrap_or(false)))
                        .await
                        .is_err()
                {
                    return;
                }
            }
        });
    }
    drop(tx);
    for round in 0..rounds * 2 {
        let online = round % 2 == 0;
        let t0 = Instant::now();
        let mut star_ws = None;
        if online {
            star_ws = Some(open_ws(target, &star_token, 1).await?);
        }
        let mut heard = 0;
        while heard < contacts {
            let (_, state) = tokio::time::timeout(Duration::from_secs(30), rx.recv())
                .await
                .context("contacts did not all hear the change")?
                .context("watchers ended")?;
            if state == online {
                heard += 1;
            }
        }
        let _ = to_all.record(t0.elapsed().as_micros() as u64);
        if let Some(mut ws) = star_ws.take() {
            // Keep it open until everyone heard "online", then close.
            ws.close(None).await.ok();
            wait_frame(&mut ws, |_| false).await.ok();
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = match (cpu0, target.cpu_secs()) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    let changes = (rounds * 2) as f64;
    Ok(serde_json::json!({
        "scenario": "presence",
        "machine": machine(),
        "params": { "contacts": contacts, "changes": rounds * 2 },
        "all_contacts_notified": summary(&to_all),
        "deliveries_per_s": ((changes * contacts as f64) / elapsed).round(),
        "server_cpu_ms_per_change": cpu.map(|c| (c * 1000.0 / changes * 100.0).round() / 100.0),
    }))
}

/// Everyone in a group of `members` marks one message read, `concurrency`
/// at a time: receipts per second, their latency, the server CPU per
/// receipt and the latency of the "read by N of M" summary.
pub async fn receipts(
    target: &Target,
    members: usize,
    concurrency: usize,
) -> Result<serde_json::Value> {
    eprintln!("setting up a group of {members}…");
    let all = users(&target.url, members).await?;
    let (sender, readers) = all.split_first().context("no users")?;
    let ids: Vec<_> = readers.iter().filter_map(|c| c.user_id()).collect();
    let group = sender.create_group("bench readers", &ids).await?.id;
    let mut sender_ws = open_ws(target, &sender.access_token().context("no token")?, 1).await?;
    let seq = sender
        .send_message(group, &ClientId::random(), "please read")
        .await?
        .seq;
    let cpu0 = target.cpu_secs();
    let started = Instant::now();
    let mut lat = hist();
    let mut set = tokio::task::JoinSet::new();
    let mut pending = readers.iter().cloned();
    loop {
        while set.len() < concurrency {
            let Some(r) = pending.next() else { break };
            set.spawn(async move {
                let t0 = Instant::now();
                r.mark_read(group, seq).await.map(|_| t0.elapsed())
            });
        }
        let Some(done) = set.join_next().await else {
            break;
        };
        let _ = lat.record(done??.as_micros() as u64);
    }
    let write_secs = started.elapsed().as_secs_f64();
    // The sender hears every reader.
    let mut heard = 0;
    while heard < readers.len() {
        wait_frame(&mut sender_ws, |v| v["type"] == "receipt").await?;
        heard += 1;
    }
    let cpu = match (cpu0, target.cpu_secs()) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    let mut summary_lat = hist();
    for _ in 0..50 {
        let t0 = Instant::now();
        let s = sender.receipts(group, seq).await?;
        let _ = summary_lat.record(t0.elapsed().as_micros() as u64);
        if s.read as usize != readers.len() {
            bail!("summary says {} of {} read", s.read, readers.len());
        }
    }
    Ok(serde_json::json!({
        "scenario": "receipts",
        "machine": machine(),
        "params": { "members": members, "concurrency": concurrency },
        "receipts_per_s": (readers.len() as f64 / write_secs).round(),
        "receipt_latency": summary(&lat),
        "server_cpu_ms_per_receipt": cpu.map(|c| (c * 1000.0 / readers.len() as f64 * 100.0).round() / 100.0),
        "read_by_summary_latency": summary(&summary_lat),
    }))
}
