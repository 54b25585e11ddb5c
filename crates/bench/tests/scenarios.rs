//! `natter-bench` works end to end at a small size: each scenario starts its
//! own `natter serve` (or talks to the local NATS server), and its JSON
//! result accounts for every delivery. Speed is measured by running the
//! scenarios at full size by hand (docs/benchmarks.md), never here.
//!
//! The bench starts the `natter` binary it finds beside itself, as it does
//! for a user after `cargo build --release -p natter -p natter-bench`.
//! Cargo builds only this package's binary for these tests, so
//! [`ensure_natter`] has cargo build `natter` into the same folder when it
//! is not there yet (`natter_test_support::workspace_binary` says why only
//! then: after changing the server, `cargo build -p natter` or
//! `cargo test --workspace` refreshes it). These tests could instead go
//! through `natter bench`, but that would test the launcher twice and the
//! bench's own lookup of `natter` never.
//!
//! Nothing here sleeps to synchronise: a run is waited for until it exits,
//! with a bound after which the test fails.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::Duration;

/// The binary under test.
const BENCH: &str = env!("CARGO_BIN_EXE_natter-bench");

/// How long a small run may take before the test fails.
const LIMIT: Duration = Duration::from_secs(120);

/// Makes sure a `natter` binary is beside the bench (once per test
/// process).
fn ensure_natter() {
    static NATTER: OnceLock<PathBuf> = OnceLock::new();
    NATTER.get_or_init(|| {
        natter_test_support::workspace_binary("natter", "natter", Path::new(BENCH))
    });
}

/// What a finished run left behind.
#[derive(Debug)]
struct Finished {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// Runs `exe args…` with an empty environment (so a developer's own
/// `NATTER_*` variables never leak in) and `tmp` as its temporary folder;
/// kills it and fails if it runs longer than [`LIMIT`].
fn run(exe: &Path, tmp: &Path, args: &[&str]) -> Finished {
    let mut child = Command::new(exe)
        .env_clear()
        .env("TMPDIR", tmp)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start natter-bench");
    let stdout = drain(child.stdout.take().expect("stdout is piped"));
    let stderr = drain(child.stderr.take().expect("stderr is piped"));
    // stdout reaches its end when the bench exits.
    let Ok(stdout) = stdout.recv_timeout(LIMIT) else {
        kill(child);
        panic!("natter-bench {args:?} did not finish within {LIMIT:?}");
    };
    let stderr = stderr.recv_timeout(LIMIT).expect("stderr closes");
    let status = child.wait().expect("wait for natter-bench");
    Finished {
        status,
        stdout,
        stderr,
    }
}

fn kill(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Reads a pipe to its end on a thread; the text arrives on the channel.
fn drain(mut pipe: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        let _ = tx.send(String::from_utf8_lossy(&bytes).into_owned());
    });
    rx
}

/// Runs `natter-bench <args>` to completion in `tmp` and returns its JSON
/// result, after checking that it succeeded without an error line.
fn bench_in(tmp: &Path, args: &[&str]) -> serde_json::Value {
    bench_with(Path::new(BENCH), tmp, args)
}

/// [`bench_in`] with the bench at `exe`.
fn bench_with(exe: &Path, tmp: &Path, args: &[&str]) -> serde_json::Value {
    let out = run(exe, tmp, args);
    assert!(out.status.success(), "natter-bench failed: {out:#?}");
    assert!(
        !out.stderr.lines().any(|l| l.starts_with("error")),
        "a successful run printed an error: {out:#?}"
    );
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {out:#?}"))
}

/// [`bench_in`] with a temporary folder of its own.
fn bench(args: &[&str]) -> serde_json::Value {
    let tmp = tempfile::tempdir().expect("temp dir");
    bench_in(tmp.path(), args)
}

#[test]
fn fanout_delivers_every_message_to_every_member() {
    ensure_natter();
    let r = bench(&[
        "fanout",
        "--members",
        "20",
        "--rate",
        "20",
        "--duration",
        "1",
    ]);
    assert_eq!(r["scenario"], "fanout");
    let expected = r["deliveries_expected"].as_u64().unwrap();
    assert!(expected >= 19 * 10, "about 20 messages to 19 members: {r}");
    assert_eq!(r["deliveries"].as_u64(), Some(expected), "{r}");
    assert!(r["delivery_latency"]["p99_ms"].as_f64().is_some(), "{r}");
    assert!(r["server_cpu_us_per_delivery"].as_f64().is_some(), "{r}");
}

#[test]
fn reactions_reach_every_group_member_and_channels_coalesce_them() {
    ensure_natter();
    let group = bench(&[
        "ops",
        "--op",
        "react",
        "--members",
        "10",
        "--actors",
        "2",
        "--duration",
        "1",
    ]);
    assert_eq!(group["scenario"], "ops");
    assert!(group["operations"].as_u64().unwrap() > 0, "{group}");
    assert_eq!(
        group["frames_per_operation"].as_f64(),
        Some(9.0),
        "each reaction reaches the 9 other members once: {group}"
    );
    let channel = bench(&[
        "ops",
        "--op",
        "react",
        "--members",
        "10",
        "--actors",
        "2",
        "--duration",
        "1",
        "--channel",
    ]);
    let ops = channel["operations"].as_u64().unwrap();
    let frames = channel["frames_to_members"].as_u64().unwrap();
    assert!(ops > 20, "{channel}");
    assert!(
        frames < ops,
        "a channel's counts are coalesced: {frames} frames for {ops} reactions"
    );
    let edits = bench(&[
        "ops",
        "--op",
        "edit",
        "--members",
        "5",
        "--actors",
        "1",
        "--duration",
        "1",
    ]);
    assert!(edits["operations"].as_u64().unwrap() > 0, "{edits}");
}

#[test]
fn nats_fanout_baseline_reaches_every_subscriber() {
    let nats =
        std::env::var("NATTER_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let r = bench(&[
        "nats-fanout",
        "--subscribers",
        "20",
        "--rate",
        "20",
        "--duration",
        "1",
        "--nats",
        &nats,
    ]);
    assert_eq!(r["scenario"], "nats-fanout");
    let expected = r["deliveries_expected"].as_u64().unwrap();
    assert!(
        expected >= 20 * 10,
        "about 20 messages to 20 subscribers: {r}"
    );
    assert_eq!(r["deliveries"].as_u64(), Some(expected), "{r}");
}

#[test]
fn connections_spread_over_processes_are_all_held() {
    ensure_natter();
    let tmp = tempfile::tempdir().expect("temp dir");
    let r = bench_in(
        tmp.path(),
        &["connections", "--count", "60", "--procs", "3"],
    );
    assert_eq!(r["held"].as_u64(), Some(60), "{r}");
    assert!(r["server_bytes_per_connection"].as_f64().is_some(), "{r}");
    // The workers let go, and neither the file of access tokens they read
    // nor the server's data folder is left behind.
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().flatten().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn a_missing_natter_binary_is_named_with_its_build_command() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let missing = tmp.path().join("no-natter-here");
    let out = run(
        Path::new(BENCH),
        tmp.path(),
        &["--natter", missing.to_str().unwrap(), "fanout"],
    );
    assert_eq!(out.status.code(), Some(1), "{out:#?}");
    assert_eq!(out.stdout, "", "{out:#?}");
    assert!(out.stderr.starts_with("error: "), "{out:#?}");
    assert!(
        out.stderr.contains(&missing.display().to_string()),
        "{out:#?}"
    );
    assert!(out.stderr.contains("cargo build"), "{out:#?}");

    let (_alone, bench) = lone_bench();
    let out = run(&bench, tmp.path(), &["fanout"]);
    assert_eq!(out.status.code(), Some(1), "{out:#?}");
    let line = out.stderr.lines().next().unwrap_or_default();
    assert!(line.starts_with("error: "), "{out:#?}");
    assert!(line.contains("no natter binary beside"), "{out:#?}");
    assert!(line.contains("cargo build"), "{out:#?}");
    assert!(line.contains("--natter PATH"), "{out:#?}");
}

#[test]
fn ceilings_run_without_a_natter_binary() {
    let (_alone, bench) = lone_bench();
    let tmp = tempfile::tempdir().expect("temp dir");
    let r = bench_with(&bench, tmp.path(), &["sqlite-ceiling", "--duration", "1"]);
    assert_eq!(r["scenario"], "sqlite-ceiling");
    assert!(r["rows_per_s"].as_f64().is_some_and(|n| n > 0.0), "{r}");
    // The echo server is the bench itself, started again.
    let r = bench_with(
        &bench,
        tmp.path(),
        &["ws-echo", "--pairs", "5", "--rate", "50", "--duration", "1"],
    );
    assert_eq!(r["scenario"], "ws-echo");
    assert!(
        r["round_trip"]["count"].as_u64().is_some_and(|n| n > 0),
        "{r}"
    );
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().flatten().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// A copy of the bench alone in a folder, with no `natter` beside it, and
/// the folder (removed when dropped). The copy is a hard link when the
/// target folder allows one: a debug build is large.
fn lone_bench() -> (tempfile::TempDir, PathBuf) {
    let alone = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let copy = alone
        .path()
        .join(Path::new(BENCH).file_name().expect("a file name"));
    if std::fs::hard_link(BENCH, &copy).is_err() {
        std::fs::copy(BENCH, &copy).expect("copy natter-bench");
    }
    (alone, copy)
}

#[test]
fn media_moves_every_byte_on_both_backends_and_thumbnails_every_picture() {
    ensure_natter();
    let local = bench(&[
        "media",
        "--sizes",
        "1",
        "--pictures",
        "2",
        "--megapixels",
        "1",
    ]);
    assert_eq!(local["scenario"], "media");
    let row = &local["sizes"][0];
    assert_eq!(row["size_mib"], 1, "{local}");
    for key in [
        "bare_write_mib_s",
        "natter_upload_mib_s",
        "bare_read_mib_s",
        "natter_download_mib_s",
    ] {
        assert!(row[key].as_f64().unwrap() > 0.0, "{key}: {local}");
    }
    assert!(
        row["server_rss_peak_mib"].as_f64() >= row["server_rss_before_mib"].as_f64(),
        "{local}"
    );
    assert_eq!(local["thumbnails"]["burst_pictures"], 2, "{local}");
    assert!(
        local["thumbnails"]["last_byte_to_thumbnail_ms_median"]
            .as_f64()
            .is_some()
    );
    assert!(local["thumbnails"]["thumbnails_per_s"].as_f64().unwrap() > 0.0);

    let s3 = natter_test_support::services::s3_url();
    let remote = bench(&[
        "media",
        "--backend",
        "s3",
        "--s3",
        &s3,
        "--sizes",
        "1",
        "--pictures",
        "0",
    ]);
    assert_eq!(remote["backend"], "s3", "{remote}");
    assert!(remote["sizes"][0]["natter_upload_mib_s"].as_f64().unwrap() > 0.0);
    assert!(remote["thumbnails"].is_null());
}

#[test]
fn search_indexes_every_message_and_answers_queries() {
    let r = bench(&[
        "search",
        "--messages",
        "3200",
        "--conversations",
        "40",
        "--runs",
        "20",
    ]);
    assert_eq!(r["scenario"], "search");
    assert_eq!(r["viewer_conversations"], 2, "{r}");
    for key in [
        "write_msgs_per_s_without_index",
        "write_msgs_per_s_with_index",
    ] {
        assert!(r[key].as_f64().unwrap() > 0.0, "{key}: {r}");
    }
    assert!(
        r["database_mib_with_index"].as_f64() > r["database_mib_without_index"].as_f64(),
        "the index takes room: {r}"
    );
    assert_eq!(r["query_common_word"]["count"], 20, "{r}");
    assert!(
        r["query_common_word"]["mean_hits"].as_f64().unwrap() > 0.0,
        "a common word is found in the viewer's conversations: {r}"
    );
}
