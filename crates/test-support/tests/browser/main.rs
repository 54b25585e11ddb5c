//! Browser tests: the web client in Debian's Chromium, driven by
//! playwright-core from Node (`web/tests/chat.test.mjs`), against a real
//! server started here with [`TestServer`].
//!
//! The suite gets the server's address in `NATTER_URL`. It can ask for the
//! server to be stopped and started again (same port, same data folder) by
//! printing a line `NATTER-CONTROL stop` or `NATTER-CONTROL start` on its
//! standard output, or for a user to be made a server admin (what `natter
//! admin promote` does on the server's machine) with `NATTER-CONTROL
//! promote USERNAME`; this runner does it and answers `done <the request>`
//! on the suite's standard input. Every other line of the
//! suite's output is passed through (and shown when the test fails).
//!
//! Needs, once per machine:
//!
//! ```sh
//! apt-get install -y chromium        # /usr/bin/chromium
//! npm ci --prefix web/tests          # playwright-core, pinned by package-lock.json
//! ```
//!
//! Without them this test fails with that advice: it never skips.

use natter_test_support::TestServer;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// The suite, relative to the repository root.
const SUITE: &str = "web/tests/chat.test.mjs";

/// Debian's Chromium; no test tool may download a browser of its own.
const CHROMIUM: &str = "/usr/bin/chromium";

/// The prefix of the suite's requests to this runner.
const CONTROL: &str = "NATTER-CONTROL ";

/// A bound for the whole suite (it takes well under a minute); only a hung
/// browser or server reaches it.
const SUITE_TIMEOUT: Duration = Duration::from_secs(300);

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

/// Fails with instructions when something the suite needs is missing.
fn preflight(root: &Path) {
    let mut missing = Vec::new();
    let node = Command::new("node")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success());
    if node.is_none() {
        missing.push("Node.js 20 or newer (`node` on PATH): apt-get install -y nodejs npm");
    }
    if !root
        .join("web/tests/node_modules/playwright-core/package.json")
        .is_file()
    {
        missing.push("playwright-core: npm ci --prefix web/tests");
    }
    if !Path::new(CHROMIUM).is_file() {
        missing
            .push("Chromium at /usr/bin/chromium: apt-get update && apt-get install -y chromium");
    }
    assert!(
        missing.is_empty(),
        "the browser tests cannot run; install, from the repository root:\n  {}\n",
        missing.join("\n  ")
    );
}

/// What the suite's output reader reports.
enum FromSuite {
    /// A `NATTER-CONTROL` request.
    Control(String),
    /// Its standard output closed: it is exiting.
    Closed,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_client_in_chromium() {
    let root = repo_root();
    preflight(&root);
    let mut server = TestServer::start_with(|c| {
        // Access tokens expire during the suite, so the client's refresh
        // (HTTP retry on `token_expired`, a fresh token per reconnect) is
        // exercised without waiting for it.
        c.auth.access_ttl_secs = 3;
        // Going offline shows at once, so "last seen" can be checked.
        c.presence.offline_grace_ms = 300;
        // Not the client's default, so the composer is seen to use the
        // server's limit.
        c.limits.max_message_bytes = 12 * 1024;
    })
    .await;
    let started = Instant::now();

    // The screenshot test runs too (into a scratch folder), so every test of
    // the suite runs and the main screens are checked to render.
    let shots = tempfile::tempdir().expect("screenshot folder");
    let mut command = Command::new("node");
    command
        .env("NATTER_SCREENSHOTS", shots.path())
        .arg("--test-reporter=spec")
        .arg(root.join(SUITE))
        .current_dir(root.join("web/tests"))
        .env("NATTER_URL", server.url())
        .env("NATTER_CHROMIUM", CHROMIUM)
        .env("NATTER_CONTROL", "stdio")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("start node");
    let mut stdin = child.stdin.take().expect("stdin");
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");

    // Bounded: the suite waits for each answer before asking again.
    let (tx, mut rx) = mpsc::channel::<FromSuite>(4);
    let out_reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            match line.strip_prefix(CONTROL) {
                Some(cmd) => {
                    println!("[runner] {cmd} requested");
                    if tx
                        .blocking_send(FromSuite::Control(cmd.trim().to_owned()))
                        .is_err()
                    {
                        break;
                    }
                }
                None => println!("{line}"),
            }
        }
        let _ = tx.blocking_send(FromSuite::Closed);
    });
    let err_reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("{line}");
        }
    });

    let serve = async {
        while let Some(msg) = rx.recv().await {
            let cmd = match msg {
                FromSuite::Closed => break,
                FromSuite::Control(cmd) => cmd,
            };
            match cmd.split_once(' ') {
                None if cmd == "stop" => server.stop().await,
                None if cmd == "start" || cmd == "restart" => server.restart().await,
                Some(("promote", username)) => {
                    // What `natter admin promote` does against the data
                    // folder, through the running server's store.
                    let store = server.running().state().store.clone();
                    let user = store
                        .user_by_name(username)
                        .await
                        .expect("read the user")
                        .unwrap_or_else(|| panic!("no user {username} to promote"));
                    store.set_admin(user.id, true).await.expect("promote");
                }
                _ => panic!("unknown request from the browser suite: {cmd}"),
            }
            println!("[runner] {cmd} done");
            writeln!(stdin, "done {cmd}").expect("answer the suite");
            stdin.flush().expect("answer the suite");
        }
    };
    let finished = tokio::time::timeout(SUITE_TIMEOUT, serve).await.is_ok();
    if !finished {
        let _ = child.kill();
    }
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .expect("join")
        .expect("wait for node");
    let _ = out_reader.join();
    let _ = err_reader.join();
    server.stop().await;
    println!("[runner] browser suite took {:.1?}", started.elapsed());
    assert!(
        finished,
        "the browser suite did not finish within {SUITE_TIMEOUT:?}"
    );
    assert!(
        status.success(),
        "the browser suite failed ({status}); its output is above"
    );
    let rendered = std::fs::read_dir(shots.path())
        .expect("screenshot folder")
        .filter_map(Result::ok)
        .filter(|e| e.metadata().is_ok_and(|m| m.len() > 10_000))
        .count();
    assert!(rendered >= 10, "only {rendered} screenshots were rendered");
}
