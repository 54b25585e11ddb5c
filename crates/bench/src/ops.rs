//! `ops`: operations on earlier messages (reactions or edits) in a group
//! or channel whose members are all connected: operations per second,
//! their acknowledgement latency, the frames they cost the members, and
//! the server's CPU per operation.

use crate::fanout::audience;
use crate::report::{cpu_us_per, hist, machine, summary};
use crate::target::Target;
use anyhow::Result;
use futures_util::StreamExt;
use natter_proto::{ClientId, EditMessage};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

/// Emoji the reactors take turns with.
const EMOJI: [&str; 8] = ["👍", "❤️", "😂", "🎉", "🔥", "👀", "🙏", "😮"];

/// Runs `op` (`react` or `edit`) from `actors` concurrent clients for
/// `secs` seconds against `targets` messages of a group (or channel) of
/// `members`.
pub async fn ops(
    target: &Target,
    op: &str,
    members: usize,
    actors: usize,
    secs: u64,
    channel: bool,
) -> Result<serde_json::Value> {
    anyhow::ensure!(op == "react" || op == "edit", "--op is react or edit");
    let kind = if channel { "channel" } else { "group" };
    let (all, conv, sockets) = audience(target, members, channel).await?;
    let owner = all[0].clone();
    eprintln!("posting the messages to {op} on…");
    let mut posts = Vec::new();
    for i in 0..64 {
        posts.push(
            owner
                .send_message(conv, &ClientId::random(), &format!("post {i}"))
                .await?
                .seq,
        );
    }
    // Members count the frames they get while the operations run.
    let measuring = Arc::new(AtomicBool::new(false));
    let frames = Arc::new(AtomicU64::new(0));
    let stop = Instant::now() + Duration::from_secs(secs + 30);
    let duplicates = Arc::new(AtomicU64::new(0));
    let mut readers = Vec::new();
    for mut ws in sockets {
        let (measuring, frames, duplicates) =
            (measuring.clone(), frames.clone(), duplicates.clone());
        readers.push(tokio::spawn(async move {
            let mut seen = std::collections::HashSet::new();
            while let Ok(Some(Ok(m))) =
                tokio::time::timeout(stop.saturating_duration_since(Instant::now()), ws.next())
                    .await
            {
                let Message::Text(t) = m else { continue };
                let Ok(frame) = serde_json::from_str::<natter_proto::ServerFrame>(t.as_str())
                else {
                    continue;
                };
                let natter_proto::ServerFrame::Event { event, .. } = frame else {
                    continue;
                };
                if !seen.insert(event.seq) {
                    duplicates.fetch_add(1, Ordering::Relaxed);
                }
                // The posts themselves may still be arriving.
                if measuring.load(Ordering::Relaxed)
                    && !matches!(event.body, natter_proto::EventBody::Message { .. })
                {
                    frames.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    // Edits are the owner's own messages; reactions come from members.
    let actors: Vec<natter_sdk::Client> = if op == "edit" {
        (0..actors).map(|_| owner.clone()).collect()
    } else {
        all.iter().skip(1).take(actors).cloned().collect()
    };
    anyhow::ensure!(!actors.is_empty(), "no actors");
    let n_actors = actors.len();
    eprintln!(
        "{} {op} operations for {secs} s in a {kind} of {members}…",
        actors.len()
    );
    let cpu_start = target.cpu_secs();
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    let end = started + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for (i, actor) in actors.into_iter().enumerate() {
        let posts = posts.clone();
        let op = op.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut h = hist();
            let mut n = 0u64;
            let mut added = std::collections::HashSet::new();
            while Instant::now() < end {
                let seq = posts[(i + n as usize) % posts.len()];
                let at = Instant::now();
                if op == "edit" {
                    let edit = EditMessage {
                        text: format!("post {seq}, edit {i}.{n}"),
                        mentions: Vec::new(),
                        mention_all: None,
                    };
                    actor.edit_message(conv, seq, &edit).await?;
                } else {
                    let emoji = EMOJI[(n as usize / posts.len()) % EMOJI.len()];
                    // Add, and take back the next time round.
                    let add = added.insert((seq, emoji));
                    if !add {
                        added.remove(&(seq, emoji));
                    }
                    actor.react(conv, seq, emoji, add).await?;
                }
                h.record(at.elapsed().as_micros().max(1) as u64)?;
                n += 1;
            }
            Ok::<_, anyhow::Error>((n, h))
        }));
    }
    let mut done = 0u64;
    let mut lat = hist();
    for t in tasks {
        let (n, h) = t.await??;
        done += n;
        lat.add(h)?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    // Channels announce counts a flush interval later: wait for the last
    // announcement before reading the frame count and the CPU.
    if channel {
        tokio::time::sleep(Duration::from_millis(2500)).await;
    } else {
        // In a group every operation reaches every other member: wait for
        // the frames still on their way (bounded) before counting them.
        let expected = done * (members as u64 - 1);
        let until = Instant::now() + Duration::from_secs(10);
        while frames.load(Ordering::Relaxed) < expected && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let cpu_end = target.cpu_secs();
    measuring.store(false, Ordering::Relaxed);
    let got = frames.load(Ordering::Relaxed);
    for r in readers {
        r.abort();
    }
    let per_op = if done > 0 {
        (got as f64 / done as f64 * 100.0).round() / 100.0
    } else {
        0.0
    };
    Ok(serde_json::json!({
        "scenario": "ops",
        "machine": machine(),
        "params": { "op": op, "members": members, "actors": n_actors, "duration_s": secs, "kind": kind },
        "operations": done,
        "operations_per_s": (done as f64 / elapsed).round(),
        "ack_latency": summary(&lat),
        "frames_to_members": got,
        "frames_per_operation": per_op,
        "duplicate_frames": duplicates.load(Ordering::Relaxed),
        "server_rss_bytes": target.rss(),
        "server_cpu_us_per_operation": cpu_us_per(cpu_start, cpu_end, done),
    }))
}
