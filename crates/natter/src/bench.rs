//! `natter bench`: starts the load generator, which is its own binary
//! (`natter-bench`, from crates/bench) so that this production binary
//! carries none of what only the bench needs. Every argument after `bench`
//! goes to it unchanged, `--help` included.

use clap::Args;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

/// What `natter bench` passes on: everything after `bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// The scenario and its options (`natter bench --help` lists them).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
    args: Vec<OsString>,
}

/// Runs `natter-bench` with `args` and ends with its exit status.
pub fn run(args: BenchArgs) -> ExitCode {
    let bench = match locate() {
        Ok(path) => path,
        Err(why) => {
            eprintln!(
                "error: natter bench needs the natter-bench binary: cargo build --release -p natter-bench"
            );
            eprintln!("({why})");
            return ExitCode::FAILURE;
        }
    };
    let mut cmd = Command::new(&bench);
    cmd.args(&args.args);
    // `natter bench` measures the natter it was run as: the bench starts
    // `natter serve` from this executable unless NATTER_BIN names another.
    if std::env::var_os("NATTER_BIN").is_none()
        && let Ok(exe) = std::env::current_exe()
    {
        cmd.env("NATTER_BIN", exe);
    }
    launch(cmd, &bench)
}

/// The `natter-bench` binary: NATTER_BENCH_BIN if set, else the one beside
/// this executable (where cargo puts both binaries of a build). The error
/// says where it looked.
fn locate() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("NATTER_BENCH_BIN").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!(
                "NATTER_BENCH_BIN names {}, which does not exist",
                path.display()
            ))
        };
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot tell where natter is: {e}"))?;
    let beside = exe.with_file_name(format!("natter-bench{}", std::env::consts::EXE_SUFFIX));
    if beside.is_file() {
        Ok(beside)
    } else {
        Err(format!(
            "looked for {}; NATTER_BENCH_BIN may name another",
            beside.display()
        ))
    }
}

/// Replaces this process with the bench, so that signals (Ctrl-C) and the
/// exit status are the bench's own. Its argv[0] is `natter bench`, so its
/// usage and error lines name the command the user typed.
#[cfg(unix)]
fn launch(mut cmd: Command, bench: &std::path::Path) -> ExitCode {
    use std::os::unix::process::CommandExt;
    let err = cmd.arg0("natter bench").exec();
    eprintln!("error: cannot run {}: {err}", bench.display());
    ExitCode::FAILURE
}

/// Runs the bench as a child and exits with its status.
#[cfg(not(unix))]
fn launch(mut cmd: Command, bench: &std::path::Path) -> ExitCode {
    match cmd.status() {
        Ok(status) => match status.code() {
            Some(0) => ExitCode::SUCCESS,
            code => ExitCode::from(code.and_then(|c| u8::try_from(c).ok()).unwrap_or(1)),
        },
        Err(err) => {
            eprintln!("error: cannot run {}: {err}", bench.display());
            ExitCode::FAILURE
        }
    }
}
