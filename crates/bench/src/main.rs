//! `natter-bench`: natter's load generator, also run as `natter bench` (the
//! `natter` binary's `bench` subcommand starts this binary). It measures
//! what operators ask of a chat server: durable message throughput,
//! acknowledgement and delivery latency at a fixed rate, fan-out, presence,
//! receipts and what an idle connection costs, next to bare ceilings
//! (SQLite, a WebSocket echo server, NATS) on the same machine.
//!
//! By default each run starts its own server (`natter serve` on a fresh data
//! folder and a free port, see [`target`]) so that the server's memory and
//! CPU time can be read from /proc; `--url` targets a running server
//! instead.
//!
//! Clients speak the raw WebSocket protocol (not the SDK's live task) so the
//! generator costs as little CPU as possible on the machine it shares with
//! the server.
//!
//! This is a tool, not a library: no natter crate may depend on it. It is
//! its own binary so that the production `natter` binary carries none of
//! what only the bench needs (rusqlite for the SQLite ceiling, async-nats,
//! HDR histograms, socket options).

#![forbid(unsafe_code)]

mod ceilings;
mod client;
mod connections;
mod fanout;
mod media;
mod messaging;
mod nats;
mod ops;
mod presence;
mod progress;
mod report;
mod search;
mod target;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use natter_proto::ClientId;
use std::path::PathBuf;
use std::process::ExitCode;
use target::Target;

/// Load-generate against a server and report throughput, latency and
/// memory (see docs/benchmarks.md).
#[derive(Parser, Debug)]
#[command(name = "natter-bench", version)]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
    /// Target a running server instead of starting one.
    #[arg(long, global = true)]
    url: Option<String>,
    /// Write the result as JSON to this file.
    #[arg(long, global = true)]
    out: Option<PathBuf>,
    /// The `natter` binary whose `serve` the scenarios start [default: the
    /// `natter` beside this executable].
    #[arg(long, env = "NATTER_BIN", global = true)]
    natter: Option<PathBuf>,
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
        /// A broadcast channel instead of a group: the sender owns it and
        /// every other member subscribes with an invite link.
        #[arg(long)]
        channel: bool,
    },
    /// Reactions or edits on earlier messages in a group (or channel) with
    /// every member connected: operations per second, acknowledgement
    /// latency, frames per operation and server CPU per operation.
    Ops {
        /// `react` or `edit`.
        #[arg(long, default_value = "react")]
        op: String,
        /// Group size, creator included; every member has a connected socket.
        #[arg(long, default_value_t = 1000)]
        members: usize,
        /// Concurrent clients doing operations (reactions: that many
        /// members; edits: the creator, on their own posts).
        #[arg(long, default_value_t = 16)]
        actors: usize,
        /// Seconds to measure.
        #[arg(long, default_value_t = 10)]
        duration: u64,
        /// A broadcast channel instead of a group (reactions then reach
        /// subscribers as coalesced counts).
        #[arg(long)]
        channel: bool,
    },
    /// Files through natter (tus upload in 4 MiB chunks, signed download)
    /// beside a bare copy of the same bytes, the server's memory meanwhile,
    /// and thumbnails per second.
    Media {
        /// `local` (the data folder) or `s3`.
        #[arg(long, default_value = "local")]
        backend: String,
        /// File sizes in MiB, comma-separated.
        #[arg(long, value_delimiter = ',', default_values_t = [1u64, 200])]
        sizes: Vec<u64>,
        /// Pictures to thumbnail (0: none).
        #[arg(long, default_value_t = 20)]
        pictures: usize,
        /// Their size in megapixels.
        #[arg(long, default_value_t = 12)]
        megapixels: u32,
        /// The S3-compatible service (with `--backend s3`).
        #[arg(
            long,
            env = "NATTER_TEST_S3_URL",
            default_value = "http://127.0.0.1:9000"
        )]
        s3: String,
    },
    /// The full-text index on the store itself: write rate with and
    /// without it, its size, and query latency for common words, rare
    /// words and prefixes (no server).
    Search {
        /// Messages to write (twice: without and with the index).
        #[arg(long, default_value_t = 1_000_000)]
        messages: usize,
        /// Group conversations (ten members each) they spread over.
        #[arg(long, default_value_t = 1000)]
        conversations: usize,
        /// Searches of each kind to time.
        #[arg(long, default_value_t = 200)]
        runs: usize,
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

fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("NATTER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging("warn");
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs a scenario and prints (and optionally writes) its result.
async fn run(cli: Cli) -> Result<()> {
    // Scenarios without a natter server (the ceilings and the worker
    // processes) run first, so that they never look for the `natter`
    // binary.
    match cli.scenario {
        Scenario::SqliteCeiling {
            batch,
            size,
            duration,
        } => {
            return finish(ceilings::sqlite_ceiling(batch, size, duration)?, cli.out);
        }
        Scenario::EchoServer => return ceilings::echo_server().await,
        Scenario::Search {
            messages,
            conversations,
            runs,
        } => {
            return finish(
                search::search(messages, conversations, runs).await?,
                cli.out,
            );
        }
        Scenario::NatsFanout {
            subscribers,
            rate,
            duration,
            warmup,
            nats,
        } => {
            let result = nats::fanout(&nats, subscribers, rate, duration, warmup).await?;
            return finish(result, cli.out);
        }
        Scenario::ConnectionsWorker {
            tokens,
            count,
            first,
            concurrency,
        } => {
            let url = cli.url.context("--url is required")?;
            return connections::worker(&url, &tokens, count, first, concurrency).await;
        }
        Scenario::WsEcho {
            pairs,
            rate,
            duration,
        } => {
            let echo = Target::spawn_echo()?;
            let result = ceilings::ws_echo(&echo, pairs, rate, duration).await?;
            return finish(result, cli.out);
        }
        _ => {}
    }
    // The media scenario's server may store in a bucket of its own.
    let mut s3 = None;
    let mut extra = String::new();
    if let Scenario::Media {
        backend, s3: url, ..
    } = &cli.scenario
    {
        anyhow::ensure!(
            backend == "local" || backend == "s3",
            "--backend is local or s3"
        );
        // Room for the large files (1 GiB each, 100 GiB in all).
        extra = "\n[media]\nmax_file_bytes = 1073741824\nquota_bytes = 107374182400\n".to_owned();
        if backend == "s3" {
            let bucket = format!("bench-{}", &ClientId::random().0[..8]).to_lowercase();
            reqwest::Client::new()
                .put(format!("{url}/{bucket}"))
                .send()
                .await
                .and_then(reqwest::Response::error_for_status)
                .with_context(|| format!("cannot create a bucket at {url}"))?;
            extra += &format!(
                "backend = \"s3\"\ns3_endpoint = \"{url}\"\ns3_bucket = \"{bucket}\"\ns3_access_key = \"test\"\ns3_secret_key = \"test\"\n"
            );
            s3 = Some(media::S3 {
                url: url.clone(),
                bucket,
            });
        }
    }
    let server = match &cli.url {
        Some(url) => Target::remote(url),
        None => Target::spawn_configured(&target::natter_binary(cli.natter.as_deref())?, &extra)?,
    };
    let result = match cli.scenario {
        Scenario::Throughput {
            pairs,
            window,
            duration,
            size,
        } => messaging::throughput(&server, pairs, window, duration, size).await?,
        Scenario::Latency {
            pairs,
            rate,
            duration,
            size,
            idle,
        } => messaging::latency(&server, pairs, rate, duration, size, idle).await?,
        Scenario::Connections {
            count,
            concurrency,
            procs,
        } => connections::connections(&server, count, concurrency, procs).await?,
        Scenario::Presence { contacts, rounds } => {
            presence::presence(&server, contacts, rounds).await?
        }
        Scenario::Receipts {
            members,
            concurrency,
        } => presence::receipts(&server, members, concurrency).await?,
        Scenario::Fanout {
            members,
            rate,
            duration,
            warmup,
            channel,
        } => fanout::fanout(&server, members, rate, duration, warmup, channel).await?,
        Scenario::Ops {
            op,
            members,
            actors,
            duration,
            channel,
        } => ops::ops(&server, &op, members, actors, duration, channel).await?,
        Scenario::Media {
            backend,
            sizes,
            pictures,
            megapixels,
            ..
        } => media::media(&server, &backend, s3.as_ref(), &sizes, pictures, megapixels).await?,
        Scenario::SqliteCeiling { .. }
        | Scenario::WsEcho { .. }
        | Scenario::EchoServer
        | Scenario::Search { .. }
        | Scenario::NatsFanout { .. }
        | Scenario::ConnectionsWorker { .. } => unreachable!("handled above"),
    };
    let out = finish(result, cli.out);
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
