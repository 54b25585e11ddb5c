//! 1:1 messaging between sender/receiver pairs: `throughput` (as fast as
//! acknowledgements allow) and `latency` (a fixed total rate, optionally
//! with idle connections held).

use crate::client::{Frame, Ws, open_ws, payload, send_frame, sent_at, users};
use crate::connections::{hold_idle, idle_owners};
use crate::progress::{Goal, Progress};
use crate::report::{cpu_us_per, hist, machine, summary};
use crate::target::Target;
use anyhow::{Context, Result, bail};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use natter_proto::ConversationId;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

/// A direct conversation with a socket for each of its two users.
struct Pair {
    conv: ConversationId,
    sender: Ws,
    receiver: Ws,
}

/// Registers `2 × n` users, pairs them in direct conversations and
/// connects them all.
async fn pairs(target: &Target, n: usize) -> Result<Vec<Pair>> {
    let clients = users(&target.url, n * 2).await?;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let a = &clients[2 * i];
        let b = &clients[2 * i + 1];
        let conv = a.direct(b.user_id().context("no user id")?).await?.id;
        let sender = open_ws(target, &a.access_token().context("no token")?, 2 * i).await?;
        let receiver = open_ws(target, &b.access_token().context("no token")?, 2 * i + 1).await?;
        out.push(Pair {
            conv,
            sender,
            receiver,
        });
    }
    Ok(out)
}

/// Receives messages until `deadline`, recording delivery latency.
async fn receive(
    mut ws: Ws,
    epoch: Instant,
    deadline: Instant,
    delivered: Arc<AtomicU64>,
) -> Result<Histogram<u64>> {
    let mut h = hist();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let msg = match tokio::time::timeout(left, ws.next()).await {
            Err(_) => break,
            Ok(None) => bail!("receiver socket closed"),
            Ok(Some(m)) => m?,
        };
        if let Message::Text(t) = msg {
            let f: Frame<'_> = serde_json::from_str(t.as_str())?;
            if f.kind == "event"
                && let Some(ev) = f.event
                && ev.kind == "message"
                && let Some(at) = ev.text.as_deref().and_then(sent_at)
            {
                let now = epoch.elapsed().as_micros() as u64;
                let _ = h.record(now.saturating_sub(at).max(1));
                delivered.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    let _ = ws.close(None).await;
    Ok(h)
}

/// `throughput`: each sender keeps `window` sends in flight for `secs`
/// seconds after a 2 s warm-up; acknowledged and delivered messages per
/// second, their latency, and the server's memory and CPU.
pub async fn throughput(
    target: &Target,
    n: usize,
    window: usize,
    secs: u64,
    size: usize,
) -> Result<serde_json::Value> {
    eprintln!("setting up {n} pairs…");
    let ps = pairs(target, n).await?;
    let epoch = Instant::now();
    let warmup = Duration::from_secs(2);
    let start = Instant::now() + warmup;
    let end = start + Duration::from_secs(secs);
    let acked = Arc::new(AtomicU64::new(0));
    let delivered = Arc::new(AtomicU64::new(0));
    let mut senders = Vec::new();
    let mut receivers = Vec::new();
    eprintln!("measuring for {secs} s after {warmup:?} warm-up…");
    let bar = Progress::start(
        "throughput",
        Goal::Window { start, end },
        delivered.clone(),
        "msg",
    );
    for p in ps {
        let acked = acked.clone();
        receivers.push(tokio::spawn(receive(
            p.receiver,
            epoch,
            end + Duration::from_secs(3),
            delivered.clone(),
        )));
        senders.push(tokio::spawn(async move {
            let mut ws = p.sender;
            let mut inflight = 0usize;
            let mut seq = 0u64;
            let mut h = hist();
            let mut sent_times = Vec::new();
            loop {
                let now = Instant::now();
                while inflight < window && now < end {
                    let text = payload(epoch, size);
                    ws.feed(Message::text(send_frame(p.conv, seq, &text)))
                        .await?;
                    sent_times.push(epoch.elapsed().as_micros() as u64);
                    seq += 1;
                    inflight += 1;
                }
                ws.flush().await?;
                if inflight == 0 {
                    break;
                }
                let msg = ws.next().await.context("sender socket closed")??;
                if let Message::Text(t) = msg {
                    let f: Frame<'_> = serde_json::from_str(t.as_str())?;
                    if f.kind == "sent" {
                        inflight -= 1;
                        let idx: usize = f.client_id.and_then(|c| c[1..].parse().ok()).unwrap_or(0);
                        let at = Instant::now();
                        if at >= start && at < end {
                            acked.fetch_add(1, Ordering::Relaxed);
                            let now = epoch.elapsed().as_micros() as u64;
                            let _ = h.record(now.saturating_sub(sent_times[idx]).max(1));
                        }
                    } else if f.kind == "error" {
                        bail!("send refused: {t}");
                    }
                }
            }
            let _ = ws.close(None).await;
            Ok::<_, anyhow::Error>(h)
        }));
    }
    // Count deliveries inside the measured window only.
    tokio::time::sleep_until(start.into()).await;
    let d0 = delivered.load(Ordering::Relaxed);
    let cpu0 = target.cpu_secs();
    tokio::time::sleep_until(end.into()).await;
    let d1 = delivered.load(Ordering::Relaxed);
    let cpu1 = target.cpu_secs();
    drop(bar);
    let rss = target.rss();
    let mut ack_h = hist();
    for s in senders {
        ack_h.add(s.await??)?;
    }
    let mut del_h = hist();
    for r in receivers {
        del_h.add(r.await??)?;
    }
    let acks = acked.load(Ordering::Relaxed);
    Ok(serde_json::json!({
        "scenario": "throughput",
        "machine": machine(),
        "params": { "pairs": n, "window": window, "duration_s": secs, "size": size },
        "acked_per_s": (acks as f64 / secs as f64).round(),
        "delivered_per_s": ((d1 - d0) as f64 / secs as f64).round(),
        "ack_latency": summary(&ack_h),
        "delivery_latency": summary(&del_h),
        "server_rss_bytes": rss,
        "server_cpu_us_per_message": cpu_us_per(cpu0, cpu1, d1 - d0),
        "server_cpu_cores": match (cpu0, cpu1) {
            (Some(a), Some(b)) => Some(((b - a) / secs as f64 * 100.0).round() / 100.0),
            _ => None,
        },
    }))
}

/// `latency`: `n` pairs send `rate` messages per second in all for `secs`
/// seconds after a 2 s warm-up, while `idle` other sockets are held;
/// acknowledgement and delivery latency.
pub async fn latency(
    target: &Target,
    n: usize,
    rate: u64,
    secs: u64,
    size: usize,
    idle: usize,
) -> Result<serde_json::Value> {
    eprintln!("setting up {n} pairs…");
    let ps = pairs(target, n).await?;
    let mut held = Vec::new();
    if idle > 0 {
        eprintln!("opening {idle} idle connections…");
        let tokens = idle_owners(target, idle).await?;
        held = hold_idle(target, &tokens, idle, 64).await?.0;
    }
    let epoch = Instant::now();
    let warmup = Duration::from_secs(2);
    let start = Instant::now() + warmup;
    let end = start + Duration::from_secs(secs);
    let per_pair = rate as f64 / n as f64;
    let interval = Duration::from_secs_f64(1.0 / per_pair);
    let delivered = Arc::new(AtomicU64::new(0));
    let mut senders = Vec::new();
    let mut receivers = Vec::new();
    eprintln!("sending {rate} msg/s for {secs} s after {warmup:?} warm-up…");
    let bar = Progress::start(
        "latency",
        Goal::Window { start, end },
        delivered.clone(),
        "msg",
    );
    for (i, p) in ps.into_iter().enumerate() {
        receivers.push(tokio::spawn(receive(
            p.receiver,
            epoch,
            end + Duration::from_secs(3),
            delivered.clone(),
        )));
        // Spread the pairs' ticks evenly over one interval.
        let offset = interval.mul_f64(i as f64 / n as f64);
        senders.push(tokio::spawn(async move {
            let mut ws = p.sender;
            let mut ticker = tokio::time::interval_at((Instant::now() + offset).into(), interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut h = hist();
            let mut sent_times = Vec::new();
            let mut inflight = 0usize;
            let mut seq = 0u64;
            loop {
                tokio::select! {
                    _ = ticker.tick(), if Instant::now() < end => {
                        let text = payload(epoch, size);
                        sent_times.push(epoch.elapsed().as_micros() as u64);
                        ws.send(Message::text(send_frame(p.conv, seq, &text))).await?;
                        seq += 1;
                        inflight += 1;
                    }
                    msg = ws.next() => {
                        let msg = msg.context("sender socket closed")??;
                        if let Message::Text(t) = msg {
                            let f: Frame<'_> = serde_json::from_str(t.as_str())?;
                            if f.kind == "sent" {
                                inflight -= 1;
                                let idx: usize = f.client_id.and_then(|c| c[1..].parse().ok()).unwrap_or(0);
                                if Instant::now() >= start {
                                    let now = epoch.elapsed().as_micros() as u64;
                                    let _ = h.record(now.saturating_sub(sent_times[idx]).max(1));
                                }
                            } else if f.kind == "error" {
                                bail!("send refused: {t}");
                            }
                        }
                        if inflight == 0 && Instant::now() >= end {
                            break;
                        }
                    }
                }
            }
            let _ = ws.close(None).await;
            Ok::<_, anyhow::Error>(h)
        }));
    }
    let mut ack_h = hist();
    for s in senders {
        ack_h.add(s.await??)?;
    }
    drop(bar);
    let mut del_h = hist();
    for r in receivers {
        // Warm-up deliveries are in here too; they are few and early.
        del_h.add(r.await??)?;
    }
    drop(held);
    Ok(serde_json::json!({
        "scenario": "latency",
        "machine": machine(),
        "params": { "pairs": n, "rate_per_s": rate, "duration_s": secs, "size": size, "idle_connections": idle },
        "ack_latency": summary(&ack_h),
        "delivery_latency": summary(&del_h),
        "delivered": delivered.load(Ordering::Relaxed),
        "server_rss_bytes": target.rss(),
    }))
}
