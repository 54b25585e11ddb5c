//! `natter bench` is a launcher: it runs the natter-bench binary beside it
//! with every argument unchanged, and says how to build it when it is
//! missing. The scenarios themselves are tested with the bench, in
//! crates/bench/tests.

use crate::*;
use std::sync::OnceLock;

/// Makes sure a natter-bench binary is beside the natter under test: cargo
/// builds only this package's binaries for these tests (see
/// `natter_test_support::workspace_binary`).
fn ensure_bench() {
    static BENCH: OnceLock<PathBuf> = OnceLock::new();
    BENCH.get_or_init(|| {
        natter_test_support::workspace_binary(
            "natter-bench",
            "natter-bench",
            Path::new(natter_bin()),
        )
    });
}

/// Runs `natter args…` (with `env` set) to completion.
fn natter(args: &[&str], env: &[(&str, &Path)]) -> Finished {
    let mut cmd = natter_command();
    for (key, value) in env {
        cmd.env(key, value);
    }
    let child = cmd
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start natter");
    finish(child, None, WAIT)
}

#[test]
fn bench_arguments_reach_the_bench() {
    ensure_bench();
    let out = natter(&["bench", "--help"], &[]);
    let help = out.ok();
    assert!(help.contains("Usage: natter bench "), "{out:#?}");
    for scenario in [
        "throughput",
        "latency",
        "fanout",
        "sqlite-ceiling",
        "connections",
    ] {
        assert!(help.contains(scenario), "lists {scenario}: {out:#?}");
    }

    // A scenario's options pass through too, hyphens and all.
    let out = natter(&["bench", "fanout", "--members", "11", "--help"], &[]);
    let help = out.ok();
    assert!(help.contains("Usage: natter bench fanout"), "{out:#?}");
    assert!(help.contains("--members"), "{out:#?}");

    // The bench's own usage errors come back with its exit code.
    let out = natter(&["bench", "frobnicate"], &[]);
    out.fails(2);
    assert!(out.stderr.contains("frobnicate"), "{out:#?}");
}

#[test]
fn a_missing_bench_binary_is_named_with_its_build_command() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("natter-bench");
    let out = natter(
        &["bench", "fanout", "--members", "11"],
        &[("NATTER_BENCH_BIN", &missing)],
    );
    assert_eq!(
        out.fails(1),
        "error: natter bench needs the natter-bench binary: cargo build --release -p natter-bench",
        "{out:#?}"
    );
    assert!(
        out.stderr.contains(&missing.display().to_string()),
        "says where it looked: {out:#?}"
    );
}
