//! `natter bench` works end to end at a small size: each scenario starts its
//! own server (or talks to the local NATS server), and its JSON result
//! accounts for every delivery. Speed is measured by running the scenarios
//! at full size by hand (docs/benchmarks.md), never here.

use crate::*;

/// Runs `natter bench <args>` to completion and returns its JSON result.
fn bench(args: &[&str]) -> serde_json::Value {
    let tmp = tempfile::tempdir().unwrap();
    bench_in(tmp.path(), args)
}

/// [`bench`] with `tmp` as the temporary directory.
fn bench_in(tmp: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let child = natter_command()
        .env("TMPDIR", tmp)
        .arg("bench")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start natter bench");
    let out = finish(child, None, Duration::from_secs(120));
    serde_json::from_str(out.ok()).unwrap_or_else(|e| panic!("not JSON ({e}): {out:#?}"))
}

#[test]
fn fanout_delivers_every_message_to_every_member() {
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
    let tmp = tempfile::tempdir().unwrap();
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
