//! `natter bench`: the load generator. It measures what operators ask of a
//! chat server: durable message throughput, acknowledgement and delivery
//! latency at a fixed rate, and what an idle connection costs.
//!
//! By default each run starts its own server (this same binary, `serve`, on
//! a fresh data folder and a free port) so that the server's memory can be
//! read from /proc; `--url` targets a running server instead.
//!
//! Clients speak the raw WebSocket protocol (not the SDK's live task) so the
//! generator costs as little CPU as possible on the machine it shares with
//! the server.

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use natter_proto::{ClientId, ConversationId};
use natter_sdk::Client;
use serde::Deserialize;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::Message;

mod nats;
mod progress;

use progress::{Goal, Progress};

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// `natter bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(subcommand)]
    scenario: Scenario,
    /// Target a running server instead of starting one.
    #[arg(long, global = true)]
    url: Option<String>,
    /// Write the result as JSON to this file.
    #[arg(long, global = true)]
    out: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Scenario {
    /// Many senders as fast as acknowledgements allow: durable messages per
    /// second and send-to-delivery latency.
    Throughput {
        /// Sender/receiver pairs (one direct conversation each).
        #[arg(long, default_value_t = 16)]
        pairs: usize,
        /// Sends each sender keeps in flight.
        #[arg(long, default_value_t = 32)]
        window: usize,
        /// Seconds to measure.
        #[arg(long, default_value_t = 10)]
        duration: u64,
        /// Message size in bytes.
        #[arg(long, default_value_t = 100)]
        size: usize,
    },
    /// Pairs exchanging 1:1 messages at a fixed total rate: acknowledgement
    /// and delivery latency percentiles.
    Latency {
        /// Sender/receiver pairs.
        #[arg(long, default_value_t = 100)]
        pairs: usize,
        /// Messages per second, all pairs together.
        #[arg(long, default_value_t = 2000)]
        rate: u64,
        /// Seconds to measure.
        #[arg(long, default_value_t = 20)]
        duration: u64,
        /// Message size in bytes.
        #[arg(long, default_value_t = 100)]
        size: usize,
        /// Idle authenticated connections held during the run.
        #[arg(long, default_value_t = 0)]
        idle: usize,
    },
    /// One user with many contacts goes online and offline: how long until
    /// every contact knows, and the server CPU each change costs.
    Presence {
        /// Contacts (each has a direct conversation with the user and a
        /// connected socket).
        #[arg(long, default_value_t = 500)]
        contacts: usize,
        /// Online/offline round trips to measure.
        #[arg(long, default_value_t = 20)]
        rounds: usize,
    },
    /// One group with many connected members and one sender: deliveries per
    /// second and delivery latency.
    Fanout {
        /// Group size, sender included; every member has a connected socket.
        #[arg(long, default_value_t = 1000)]
        members: usize,
        /// Messages per second from the sender.
        #[arg(long, default_value_t = 20)]
        rate: u64,
        /// Seconds to measure.
        #[arg(long, default_value_t = 10)]
        duration: u64,
        /// Seconds of sending before measuring starts.
        #[arg(long, default_value_t = 2)]
        warmup: u64,
    },
    /// The ceiling for durable writes: a bare SQLite loop inserting
    /// message-sized rows with batched commits (WAL, synchronous = FULL), no
    /// server at all.
    SqliteCeiling {
        /// Rows per commit.
        #[arg(long, default_value_t = 100)]
        batch: usize,
        /// Bytes of text per row.
        #[arg(long, default_value_t = 100)]
        size: usize,
        /// Seconds to measure.
        #[arg(long, default_value_t = 10)]
        duration: u64,
    },
    /// The floor for latency: the `latency` load against a bare WebSocket
    /// echo server on the same stack (axum, tokio), in its own process.
    WsEcho {
        /// Connections.
        #[arg(long, default_value_t = 100)]
        pairs: usize,
        /// Messages per second, all connections together.
        #[arg(long, default_value_t = 2000)]
        rate: u64,
        /// Seconds to measure.
        #[arg(long, default_value_t = 20)]
        duration: u64,
    },
    /// The ceiling for fan-out: bare NATS core pub/sub from one publisher to
    /// as many subscriber connections, with event-frame-sized payloads.
    NatsFanout {
        /// Subscriber connections.
        #[arg(long, default_value_t = 1000)]
        subscribers: usize,
        /// Messages per second from the publisher.
        #[arg(long, default_value_t = 20)]
        rate: u64,
        /// Seconds to measure.
        #[arg(long, default_value_t = 10)]
        duration: u64,
        /// Seconds of publishing before measuring starts.
        #[arg(long, default_value_t = 2)]
        warmup: u64,
        /// The NATS server.
        #[arg(
            long,
            env = "NATTER_TEST_NATS_URL",
            default_value = "nats://127.0.0.1:4222"
        )]
        nats: String,
    },
    /// Runs the bare echo server for `ws-echo` (prints its URL).
    #[command(hide = true)]
    EchoServer,
    /// Everyone in a large group reads a message: receipt writes per second,
    /// their latency, and the cost of the "read by N of M" summary.
    Receipts {
        /// Group size, sender included.
        #[arg(long, default_value_t = 1000)]
        members: usize,
        /// Receipts in flight at once.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
    },
    /// Opens and holds authenticated idle WebSockets: upgrades per second and
    /// server memory per connection.
    Connections {
        /// Connections to open.
        #[arg(long, default_value_t = 5000)]
        count: usize,
        /// Upgrades in flight at once (per process).
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Client processes to spread the sockets over (one process may hold
        /// only about 19,900 sockets here).
        #[arg(long, default_value_t = 1)]
        procs: usize,
    },
    /// One client process of a multi-process `connections` run.
    #[command(hide = true)]
    ConnectionsWorker {
        /// File with one access token per line.
        #[arg(long)]
        tokens: PathBuf,
        /// Sockets to open.
        #[arg(long)]
        count: usize,
        /// Index of this worker's first socket (picks source addresses).
        #[arg(long)]
        first: usize,
        /// Upgrades in flight at once.
        #[arg(long)]
        concurrency: usize,
    },
}

/// Runs a scenario and prints (and optionally writes) its result.
pub async fn run(args: BenchArgs) -> Result<()> {
    match args.scenario {
        Scenario::SqliteCeiling {
            batch,
            size,
            duration,
        } => {
            return finish(sqlite_ceiling(batch, size, duration)?, args.out);
        }
        Scenario::EchoServer => return echo_server().await,
        Scenario::NatsFanout {
            subscribers,
            rate,
            duration,
            warmup,
            nats,
        } => {
            let result = nats::fanout(&nats, subscribers, rate, duration, warmup).await?;
            return finish(result, args.out);
        }
        Scenario::ConnectionsWorker {
            tokens,
            count,
            first,
            concurrency,
        } => {
            let url = args.url.context("--url is required")?;
            return connections_worker(&url, &tokens, count, first, concurrency).await;
        }
        Scenario::WsEcho {
            pairs,
            rate,
            duration,
        } => {
            let echo = Target::spawn_with(&["bench", "echo-server"])?;
            let result = ws_echo(&echo, pairs, rate, duration).await?;
            return finish(result, args.out);
        }
        _ => {}
    }
    let server = match &args.url {
        Some(url) => Target {
            url: url.trim_end_matches('/').to_owned(),
            child: None,
            data: None,
        },
        None => Target::spawn()?,
    };
    let result = match args.scenario {
        Scenario::Throughput {
            pairs,
            window,
            duration,
            size,
        } => throughput(&server, pairs, window, duration, size).await?,
        Scenario::Latency {
            pairs,
            rate,
            duration,
            size,
            idle,
        } => latency(&server, pairs, rate, duration, size, idle).await?,
        Scenario::Connections {
            count,
            concurrency,
            procs,
        } => connections(&server, count, concurrency, procs).await?,
        Scenario::Presence { contacts, rounds } => presence(&server, contacts, rounds).await?,
        Scenario::Receipts {
            members,
            concurrency,
        } => receipts(&server, members, concurrency).await?,
        Scenario::Fanout {
            members,
            rate,
            duration,
            warmup,
        } => fanout(&server, members, rate, duration, warmup).await?,
        Scenario::SqliteCeiling { .. }
        | Scenario::WsEcho { .. }
        | Scenario::EchoServer
        | Scenario::NatsFanout { .. }
        | Scenario::ConnectionsWorker { .. } => unreachable!("handled above"),
    };
    let out = finish(result, args.out);
    drop(server);
    out
}

/// Prints a result and writes it to `out` if asked.
fn finish(result: serde_json::Value, out: Option<PathBuf>) -> Result<()> {
    let text = serde_json::to_string_pretty(&result)?;
    println!("{text}");
    if let Some(path) = out {
        std::fs::write(&path, text + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// The server under test.
struct Target {
    url: String,
    child: Option<Child>,
    data: Option<PathBuf>,
}

impl Target {
    fn spawn() -> Result<Target> {
        let data = std::env::temp_dir().join(format!("natter-bench-{}", ClientId::random()));
        std::fs::create_dir_all(&data)?;
        // The load generator registers and logs in many users from one
        // address; lift the per-address throttle for its own server.
        let config = data.join("bench.toml");
        // Registration cost is not what these scenarios measure, so the
        // bench server hashes with a cheaper Argon2id; users go offline as
        // soon as their last socket closes.
        std::fs::write(
            &config,
            "[limits]\nmax_group_members = 100000\n\n[auth]\nlogin_attempts_per_address = 1000000\nargon2_memory_kib = 1024\nargon2_iterations = 1\n\n[presence]\noffline_grace_ms = 0\n\n[gateway]\nmax_connections = 200000\n",
        )?;
        let mut args: Vec<std::ffi::OsString> = ["serve", "--listen", "127.0.0.1:0", "--config"]
            .iter()
            .map(Into::into)
            .collect();
        args.push(config.into_os_string());
        args.push("--data-dir".into());
        args.push(data.clone().into_os_string());
        let mut target = Target::spawn_with(&args)?;
        target.data = Some(data);
        Ok(target)
    }

    /// Starts this binary with `args` and waits for the line that says where
    /// it listens.
    fn spawn_with<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Result<Target> {
        let exe = std::env::current_exe()?;
        let mut child = Command::new(exe)
            .args(args)
            .env("NATTER_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("cannot start the server")?;
        let stdout = child.stdout.take().context("no server stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let url = loop {
            let Some(line) = lines.next() else {
                bail!("the server exited before printing its URL")
            };
            let line = line?;
            if let Some(url) = line.strip_prefix("natter is running at ") {
                break url.trim().to_owned();
            }
        };
        // Keep draining stdout so the server never blocks on it.
        std::thread::spawn(move || for _ in lines {});
        Ok(Target {
            url,
            child: Some(child),
            data: None,
        })
    }

    fn ws_addr(&self) -> Result<std::net::SocketAddr> {
        let host = self
            .url
            .strip_prefix("http://")
            .context("only http:// targets")?;
        host.parse().context("the target must be an IP:port URL")
    }

    /// CPU seconds (user + system) a spawned server has used.
    fn cpu_secs(&self) -> Option<f64> {
        cpu_secs(self.child.as_ref()?.id())
    }

    /// Resident memory of a spawned server, in bytes.
    fn rss(&self) -> Option<u64> {
        let pid = self.child.as_ref()?.id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let _ = child.wait();
        }
        if let Some(data) = &self.data {
            let _ = std::fs::remove_dir_all(data);
        }
    }
}

const BENCH_PASSWORD: &str = "bench password 1234";

async fn users(url: &str, n: usize) -> Result<Vec<Client>> {
    let tag = &ClientId::random().0[..8];
    let mut out = Vec::with_capacity(n);
    let mut set = tokio::task::JoinSet::new();
    for i in 0..n {
        let url = url.to_owned();
        let name = format!("b{tag}-{i}");
        set.spawn(async move {
            // Keep the session, not the client: each client pools its own
            // HTTP connection, and ten thousand idle ones would use up the
            // file descriptors of both processes. A client rebuilt from the
            // session connects only when it is used.
            let registered = Client::register(&url, &name, BENCH_PASSWORD, Some("bench"))
                .await
                .and_then(|c| {
                    let session = c.session().ok_or(natter_sdk::Error::NotLoggedIn)?;
                    Client::with_session(&url, session)
                });
            (i, registered)
        });
        if set.len() >= 8
            && let Some(r) = set.join_next().await
        {
            let (i, c) = r?;
            out.push((i, c?));
        }
    }
    while let Some(r) = set.join_next().await {
        let (i, c) = r?;
        out.push((i, c?));
    }
    out.sort_by_key(|(i, _)| *i);
    Ok(out.into_iter().map(|(_, c)| c).collect())
}

/// Opens an authenticated socket from source address 127.0.x.y (picked by
/// `n`), so a run is not limited by one address's ephemeral ports. The port
/// is chosen at connect time (`IP_BIND_ADDRESS_NO_PORT`), so binding does not
/// reserve one per address.
async fn open_ws(target: &Target, token: &str, n: usize) -> Result<Ws> {
    let addr = target.ws_addr()?;
    let socket = TcpSocket::new_v4()?;
    if addr.ip().is_loopback() {
        #[cfg(target_os = "linux")]
        nix::sys::socket::setsockopt(
            &socket,
            nix::sys::socket::sockopt::IpBindAddressNoPort,
            &true,
        )?;
        let src = std::net::Ipv4Addr::new(127, 0, (1 + (n / 250) % 250) as u8, (1 + n % 250) as u8);
        socket.bind((src, 0).into())?;
    }
    let stream = socket.connect(addr).await?;
    stream.set_nodelay(true)?;
    let (mut ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}/v1/ws"), stream).await?;
    let hello = serde_json::json!({"type": "hello", "token": token}).to_string();
    ws.send(Message::text(hello)).await?;
    loop {
        let msg = ws.next().await.context("socket closed during hello")??;
        if let Message::Text(t) = msg {
            let f: Frame<'_> = serde_json::from_str(t.as_str())?;
            match f.kind {
                "synced" => return Ok(ws),
                "error" => bail!("hello refused: {t}"),
                _ => {}
            }
        }
    }
}

#[derive(Deserialize)]
struct Frame<'a> {
    #[serde(rename = "type", borrow)]
    kind: &'a str,
    #[serde(default, borrow)]
    event: Option<FrameEvent<'a>>,
    #[serde(default, borrow)]
    client_id: Option<&'a str>,
}

#[derive(Deserialize)]
struct FrameEvent<'a> {
    #[serde(borrow)]
    kind: &'a str,
    #[serde(default, borrow)]
    text: Option<std::borrow::Cow<'a, str>>,
}

fn hist() -> Histogram<u64> {
    // 1 µs to 60 s, 3 significant digits.
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

fn summary(h: &Histogram<u64>) -> serde_json::Value {
    let ms = |v: u64| (v as f64 / 1000.0 * 100.0).round() / 100.0;
    serde_json::json!({
        "count": h.len(),
        "p50_ms": ms(h.value_at_quantile(0.50)),
        "p90_ms": ms(h.value_at_quantile(0.90)),
        "p99_ms": ms(h.value_at_quantile(0.99)),
        "p99_9_ms": ms(h.value_at_quantile(0.999)),
        "max_ms": ms(h.max()),
    })
}

fn machine() -> serde_json::Value {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_default();
    serde_json::json!({ "cpus": cpus, "cpu": model })
}

/// Message text: send time (µs since `epoch`), a colon, padding.
fn payload(epoch: Instant, size: usize) -> String {
    payload_at(epoch.elapsed().as_micros() as u64, size)
}

/// Message text stamped with `at` (µs since the run's epoch).
fn payload_at(at: u64, size: usize) -> String {
    let mut s = format!("{at}:");
    while s.len() < size {
        s.push('x');
    }
    s
}

fn sent_at(text: &str) -> Option<u64> {
    text.split(':').next()?.parse().ok()
}

struct Pair {
    conv: ConversationId,
    sender: Ws,
    receiver: Ws,
}

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

fn send_frame(conv: ConversationId, seq: u64, text: &str) -> String {
    format!(r#"{{"type":"send","conv":"{conv}","client_id":"c{seq}","text":"{text}"}}"#)
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

async fn throughput(
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

async fn latency(
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

/// Access tokens of fresh users to own idle connections (50 sockets each).
async fn idle_owners(target: &Target, count: usize) -> Result<Vec<String>> {
    let owners = users(&target.url, count.div_ceil(50).clamp(1, 400)).await?;
    Ok(owners.iter().filter_map(|c| c.access_token()).collect())
}

/// Opens `count` authenticated sockets; returns them and the upgrade rate.
async fn hold_idle(
    target: &Target,
    tokens: &[String],
    count: usize,
    concurrency: usize,
) -> Result<(Vec<Ws>, f64)> {
    let started = Instant::now();
    let mut out = Vec::with_capacity(count);
    let mut set = tokio::task::JoinSet::new();
    let target_addr = Arc::new(Target {
        url: target.url.clone(),
        child: None,
        data: None,
    });
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
async fn connections(
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
    let exe = std::env::current_exe()?;
    let share = count.div_ceil(procs);
    for p in 0..procs {
        let first = p * share;
        let n = share.min(count.saturating_sub(first));
        if n == 0 {
            break;
        }
        let child = Command::new(&exe)
            .args([
                "bench",
                "--url",
                &target.url,
                "connections-worker",
                "--tokens",
            ])
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

/// One worker of a multi-process `connections` run: opens its sockets, reports, and
/// holds them until its stdin closes.
async fn connections_worker(
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
    let target = Arc::new(Target {
        url: url.trim_end_matches('/').to_owned(),
        child: None,
        data: None,
    });
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

/// Reads frames until `pred` accepts one; fails after 30 s.
async fn wait_frame(ws: &mut Ws, pred: impl Fn(&serde_json::Value) -> bool) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let msg = tokio::time::timeout(left, ws.next())
            .await
            .context("timed out waiting for a frame")?
            .context("socket closed")??;
        if let Message::Text(t) = msg {
            let v: serde_json::Value = serde_json::from_str(t.as_str())?;
            if pred(&v) {
                return Ok(());
            }
        }
    }
}

async fn presence(target: &Target, contacts: usize, rounds: usize) -> Result<serde_json::Value> {
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

async fn receipts(
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

/// The pid of a running process by its command name, if there is exactly
/// one (so the broker's CPU can be read).
fn pid_of(name: &str) -> Option<u32> {
    let mut found = None;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if comm.trim() == name {
            if found.is_some() {
                return None;
            }
            found = Some(pid);
        }
    }
    found
}

/// CPU seconds (user + system) a process has used.
fn cpu_secs(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces).
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // Linux reports clock ticks, 100 per second on every common setup.
    Some((utime + stime) / 100.0)
}

/// Microseconds of CPU per unit of work between two CPU readings (seconds),
/// to two decimals.
fn cpu_us_per(before: Option<f64>, after: Option<f64>, units: u64) -> Option<f64> {
    match (before, after) {
        (Some(a), Some(b)) if units > 0 => {
            Some(((b - a) * 1e6 / units as f64 * 100.0).round() / 100.0)
        }
        _ => None,
    }
}

/// The measured window of a run: records the latency of each message sent
/// inside it (whenever it arrives) and counts it.
#[derive(Clone)]
struct Window {
    epoch: Instant,
    start_us: u64,
    end_us: u64,
    delivered: Arc<AtomicU64>,
}

impl Window {
    fn record(&self, frame: &str, h: &mut Histogram<u64>) {
        if let Some(at) = frame_sent_at(frame)
            && at >= self.start_us
            && at < self.end_us
        {
            let _ = h.record(
                (self.epoch.elapsed().as_micros() as u64)
                    .saturating_sub(at)
                    .max(1),
            );
            self.delivered.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The send time embedded in a message frame's text, found without parsing
/// the whole frame (a fan-out run reads hundreds of thousands of frames).
fn frame_sent_at(frame: &str) -> Option<u64> {
    let at = frame.find("\"text\":\"")? + 8;
    let digits = &frame[at..];
    let end = digits.find(':')?;
    digits[..end].parse().ok()
}

async fn fanout(
    target: &Target,
    members: usize,
    rate: u64,
    secs: u64,
    warmup: u64,
) -> Result<serde_json::Value> {
    eprintln!("setting up a group of {members}…");
    let all = users(&target.url, members).await?;
    let (sender, readers) = all.split_first().context("no users")?;
    let ids: Vec<_> = readers.iter().filter_map(|c| c.user_id()).collect();
    // Bodies are limited in size: create with the first thousand, add the rest.
    let first = ids.len().min(1000);
    let group = sender
        .create_group("bench fan-out", &ids[..first])
        .await?
        .id;
    for chunk in ids[first..].chunks(1000) {
        sender.add_members(group, chunk).await?;
    }
    eprintln!("connecting {} members…", readers.len());
    let tokens: Vec<String> = readers.iter().filter_map(|c| c.access_token()).collect();
    let mut sockets = Vec::with_capacity(tokens.len());
    let mut set = tokio::task::JoinSet::new();
    let shared_target = Arc::new(Target {
        url: target.url.clone(),
        child: None,
        data: None,
    });
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
        "params": { "members": members, "rate_per_s": rate, "duration_s": secs, "warmup_s": warmup.as_secs() },
        "messages_sent": sent,
        "deliveries_expected": expected,
        "deliveries": got,
        "deliveries_per_s": (got as f64 / secs as f64).round(),
        "delivery_latency": summary(&lat),
        "server_rss_bytes": target.rss(),
        "server_cpu_us_per_delivery": cpu,
    }))
}

fn sqlite_ceiling(batch: usize, size: usize, secs: u64) -> Result<serde_json::Value> {
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
async fn echo_server() -> Result<()> {
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

async fn ws_echo(target: &Target, n: usize, rate: u64, secs: u64) -> Result<serde_json::Value> {
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
