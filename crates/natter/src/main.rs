//! The `natter` binary: the server (`natter serve`) and the command-line
//! client (every other subcommand). It chooses the backends; the libraries
//! never do.

#![forbid(unsafe_code)]

mod bench;
mod cli;
mod serve;

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
    match cli.command {
        Command::Serve(args) => {
            init_logging("info");
            match runtime.block_on(serve::run(args)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Bench(args) => {
            init_logging("warn");
            match runtime.block_on(bench::run(args)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Client(cmd) => {
            init_logging("warn");
            match runtime.block_on(cli::run(cmd, &cli.globals)) {
                Ok(code) => code,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
