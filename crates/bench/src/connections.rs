//! Idle connections: `connections` opens and holds authenticated sockets
//! (from this process or from `connections-worker` processes, which are
//! this same executable) and reads what they cost the server; `latency`
//! holds some while it measures.

use crate::client::{Ws, open_ws, users};
use crate::progress::{Goal, Progress};
use crate::report::machine;
use crate::target::Target;
use anyhow::{Context, Result, bail};
use natter_proto::ClientId;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Access tokens of fresh users to own idle connections (50 sockets each).
pub async fn idle_owners(target: &Target, count: usize) -> Result<Vec<String>> {
    let owners = users(&target.url, count.div_ceil(50).clamp(1, 400)).await?;
    Ok(owners.iter().filter_map(|c| c.access_token()).collect())
}

/// Opens `count` authenticated sockets; returns them and the upgrade rate.
pub async fn hold_idle(
    target: &Target,
    tokens: &[String],
    count: usize,
    concurrency: usize,
) -> Result<(Vec<Ws>, f64)> {
    let started = Instant::now();
    let mut out = Vec::with_capacity(count);
    let mut set = tokio::task::JoinSet::new();
    let target_addr = Arc::new(Target::remote(&target.url));
    let opened = Arc::new(AtomicU64::new(0));
    let bar = (count > 100).then(|| {
        Progress::start(
            "connections",
            Goal::Count(count as u64),
            opened.clone(),
            "upgrades",
        )
    });
    for i in 0..count {
        let token = tokens[i % tokens.len()].clone();
        let t = target_addr.clone();
        set.spawn(async move { open_ws(&t, &token, 10_000 + i).await });
        if set.len() >= concurrency
            && let Some(r) = set.join_next().await
        {
            out.push(r??);
            opened.fetch_add(1, Ordering::Relaxed);
        }
    }
    while let Some(r) = set.join_next().await {
        out.push(r??);
        opened.fetch_add(1, Ordering::Relaxed);
    }
    drop(bar);
    let rate = count as f64 / started.elapsed().as_secs_f64();
    Ok((out, rate))
}

/// Opens `count` authenticated idle sockets (over `procs` client processes
/// when more than one) and holds them: upgrades per second and the server's
/// memory per socket.
pub async fn connections(
    target: &Target,
    count: usize,
    concurrency: usize,
    procs: usize,
) -> Result<serde_json::Value> {
    // Users are made first: password hashing has its own memory cost,
    // which is not what this scenario measures. Then a few warm-up sockets,
    // so the baseline is not the cold process (allocator, pools).
    let tokens = idle_owners(target, count).await?;
    let (warm, _) = hold_idle(target, &tokens, 50, 16).await?;
    let before = target.rss();
    let (held, rate, holders) = if procs > 1 {
        eprintln!("opening {count} authenticated connections from {procs} processes…");
        open_in_workers(target, &tokens, count, concurrency, procs).await?
    } else {
        eprintln!("opening {count} authenticated connections…");
        let (sockets, rate) = hold_idle(target, &tokens, count, concurrency).await?;
        (sockets.len(), rate, Holders::Here(sockets))
    };
    // Let the server settle, then read its memory while the sockets are held.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = target.rss();
    holders.release().await;
    drop(warm);
    let per_conn = match (before, after) {
        (Some(b), Some(a)) if held > 0 => Some((a.saturating_sub(b) as f64 / held as f64).round()),
        _ => None,
    };
    Ok(serde_json::json!({
        "scenario": "connections",
        "machine": machine(),
        "params": { "count": count, "concurrency": concurrency, "procs": procs },
        "held": held,
        "upgrades_per_s": rate.round(),
        "server_rss_before_bytes": before,
        "server_rss_after_bytes": after,
        "server_bytes_per_connection": per_conn,
    }))
}

/// Who holds the sockets of a `connections` run.
enum Holders {
    /// This process.
    Here(Vec<Ws>),
    /// Worker processes.
    Workers(Workers),
}

impl Holders {
    /// Closes the sockets (a worker lets go when its stdin closes).
    async fn release(self) {
        match self {
            Holders::Here(sockets) => drop(sockets),
            Holders::Workers(mut workers) => {
                let mut children = std::mem::take(&mut workers.children);
                let _ = tokio::task::spawn_blocking(move || {
                    for w in &mut children {
                        drop(w.stdin.take());
                    }
                    for w in &mut children {
                        let _ = w.wait();
                    }
                })
                .await;
            }
        }
    }
}

/// Worker processes and the file of access tokens they read. Dropped on any
/// path (an error included), it stops the workers and removes the file.
struct Workers {
    children: Vec<Child>,
    file: PathBuf,
}

impl Drop for Workers {
    fn drop(&mut self) {
        for w in &mut self.children {
            let _ = w.kill();
            let _ = w.wait();
        }
        let _ = std::fs::remove_file(&self.file);
    }
}

/// Starts `procs` workers that open their share of `count` sockets at the
/// same time; returns how many they hold and the upgrade rate.
async fn open_in_workers(
    target: &Target,
    tokens: &[String],
    count: usize,
    concurrency: usize,
    procs: usize,
) -> Result<(usize, f64, Holders)> {
    let mut workers = Workers {
        children: Vec::new(),
        file: std::env::temp_dir().join(format!("natter-bench-tokens-{}", ClientId::random())),
    };
    std::fs::write(&workers.file, tokens.join("\n"))?;
    // The workers are this executable's hidden `connections-worker`
    // scenario, not `natter`.
    let exe = std::env::current_exe().context("cannot tell where natter-bench is")?;
    let share = count.div_ceil(procs);
    for p in 0..procs {
        let first = p * share;
        let n = share.min(count.saturating_sub(first));
        if n == 0 {
            break;
        }
        let child = Command::new(&exe)
            .args(["--url", &target.url, "connections-worker", "--tokens"])
            .arg(&workers.file)
            .args([
                "--count",
                &n.to_string(),
                "--first",
                &(20_000 + first).to_string(),
            ])
            .args(["--concurrency", &concurrency.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("cannot start a worker")?;
        workers.children.push(child);
    }
    // Each worker prints "held <n> <seconds>" once its sockets are open.
    let mut held = 0usize;
    let mut slowest = 0f64;
    for w in &mut workers.children {
        let out = w.stdout.take().context("no worker stdout")?;
        let line = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(out).read_line(&mut line).map(|_| line)
        })
        .await??;
        let mut parts = line.split_whitespace();
        if parts.next() != Some("held") {
            bail!("a worker failed: {line}");
        }
        held += parts
            .next()
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(0);
        slowest = slowest.max(parts.next().and_then(|s| s.parse().ok()).unwrap_or(0.0));
    }
    Ok((
        held,
        held as f64 / slowest.max(1e-9),
        Holders::Workers(workers),
    ))
}

/// One worker of a multi-process `connections` run: opens its sockets,
/// reports, and holds them until its stdin closes.
pub async fn worker(
    url: &str,
    tokens: &std::path::Path,
    count: usize,
    first: usize,
    concurrency: usize,
) -> Result<()> {
    let tokens: Vec<String> = std::fs::read_to_string(tokens)?
        .lines()
        .map(str::to_owned)
        .collect();
    let target = Arc::new(Target::remote(url));
    let started = Instant::now();
    let mut held = Vec::with_capacity(count);
    let mut set = tokio::task::JoinSet::new();
    for i in 0..count {
        let token = tokens[(first + i) % tokens.len()].clone();
        let t = target.clone();
        set.spawn(async move { open_ws(&t, &token, first + i).await });
        if set.len() >= concurrency.max(1)
            && let Some(r) = set.join_next().await
        {
            held.push(r??);
        }
    }
    while let Some(r) = set.join_next().await {
        held.push(r??);
    }
    println!("held {} {:.3}", held.len(), started.elapsed().as_secs_f64());
    tokio::task::spawn_blocking(|| {
        let mut sink = String::new();
        while std::io::stdin()
            .read_line(&mut sink)
            .map(|n| n > 0)
            .unwrap_or(false)
        {}
    })
    .await?;
    drop(held);
    Ok(())
}
