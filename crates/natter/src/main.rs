//! The `natter` binary: the server (`natter serve`) and the command-line
//! client (every other subcommand). It chooses the backends; the libraries
//! never do.

#![forbid(unsafe_code)]

mod bench;
mod cli;
#[cfg(test)]
mod config_doc;
mod serve;

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// natter: chat server and command-line client.
#[derive(Parser, Debug)]
#[command(name = "natter", version, about, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    globals: cli::ClientGlobals,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server (embedded SQLite; nothing else to install).
    Serve(serve::ServeArgs),
    /// Load-generate against a server and report throughput, latency and
    /// memory (see docs/benchmarks.md).
    ///
    /// Runs the natter-bench binary beside this one with the same arguments;
    /// `natter bench --help` lists its scenarios.
    // Help and version flags belong to natter-bench: they pass through.
    #[command(disable_help_flag = true, disable_version_flag = true)]
    Bench(bench::BenchArgs),
    #[command(flatten)]
    Client(cli::ClientCommand),
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
    match cli.command {
        // The bench runs in its own process, which this one becomes.
        Command::Bench(args) => bench::run(args),
        Command::Serve(args) => {
            init_logging("info");
            match block_on(serve::run(args)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => failed(e),
            }
        }
        Command::Client(cmd) => {
            init_logging("warn");
            block_on(cli::run(cmd, &cli.globals)).unwrap_or_else(failed)
        }
    }
}

/// Runs `work` to completion on a new multi-threaded runtime.
fn block_on<T>(work: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(work)
}

/// Prints `e` as an `error: ` line and fails.
fn failed(e: anyhow::Error) -> ExitCode {
    eprintln!("error: {e:#}");
    ExitCode::FAILURE
}
