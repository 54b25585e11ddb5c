//! End-to-end tests of the `natter` binary, driven the way a person at a
//! terminal or a shell script drives it: real processes, real exit codes,
//! tab-separated stdout and `error: ` lines on stderr.
//!
//! The client commands talk to an in-process server from the test-support
//! harness; the crash and power-loss tests run `natter serve` itself as a
//! child process so that they can kill it with SIGKILL. Nothing here sleeps to synchronise: a
//! test waits for something the binary prints or answers, with [`WAIT`] as
//! the bound after which it fails.
//!
//! All of this crate's integration tests compile into this one binary.

mod bench;
mod cli;
mod crash;
mod errors;
mod powerloss;
mod tail;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a test waits for something that should happen at once before it
/// fails. A bound for failures, not a sleep: passing tests never wait it.
pub const WAIT: Duration = Duration::from_secs(20);

/// The binary under test.
pub fn natter_bin() -> &'static str {
    env!("CARGO_BIN_EXE_natter")
}

/// A `natter` command with an empty environment, so that a developer's own
/// `NATTER_*` variables or saved profiles never leak into a test.
pub fn natter_command() -> Command {
    let mut cmd = Command::new(natter_bin());
    cmd.env_clear();
    cmd
}

/// What a finished process left behind.
#[derive(Debug)]
pub struct Finished {
    /// The exit status.
    pub status: ExitStatus,
    /// Everything it wrote to stdout.
    pub stdout: String,
    /// Everything it wrote to stderr.
    pub stderr: String,
}

impl Finished {
    /// The exit code (`None` if a signal ended it).
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Asserts exit code 0 and a quiet stderr, and returns stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(self.code(), Some(0), "expected success: {self:#?}");
        assert!(
            !self.stderr.lines().any(|l| l.starts_with("error")),
            "a successful command printed an error: {self:#?}"
        );
        &self.stdout
    }

    /// Asserts that the command failed with `code`, printed nothing on
    /// stdout and said why on stderr; returns stderr's first line.
    #[track_caller]
    pub fn fails(&self, code: i32) -> &str {
        assert_eq!(self.code(), Some(code), "expected exit {code}: {self:#?}");
        assert_eq!(
            self.stdout, "",
            "a failed command printed output: {self:#?}"
        );
        self.stderr.lines().next().unwrap_or_default()
    }

    /// Asserts success and splits stdout into lines of tab-separated fields.
    #[track_caller]
    pub fn rows(&self) -> Vec<Vec<String>> {
        self.ok()
            .lines()
            .map(|line| line.split('\t').map(str::to_owned).collect())
            .collect()
    }

    /// Asserts success and a single output line, and returns its fields.
    #[track_caller]
    pub fn row(&self) -> Vec<String> {
        let mut rows = self.rows();
        assert_eq!(rows.len(), 1, "expected exactly one line: {self:#?}");
        rows.remove(0)
    }
}

/// Feeds `stdin` to a spawned child (then closes it), collects its output
/// and waits for it to exit. A child still running after `limit` is killed
/// and the test fails: a hung CLI must not hang the suite.
pub fn finish(mut child: Child, stdin: Option<&str>, limit: Duration) -> Finished {
    let stderr = drain(child.stderr.take().expect("stderr is piped"));
    finish_with_stderr(child, stdin, limit, stderr)
}

/// [`finish`], with stderr's text coming from `stderr` (whoever reads the
/// pipe sends it all there once it closes).
fn finish_with_stderr(
    mut child: Child,
    stdin: Option<&str>,
    limit: Duration,
    stderr: mpsc::Receiver<String>,
) -> Finished {
    // The pipe is taken and dropped either way; closing it tells the child
    // that its input has ended.
    if let Some(mut pipe) = child.stdin.take()
        && let Some(text) = stdin
    {
        pipe.write_all(text.as_bytes())
            .expect("write the child's stdin");
    }
    let stdout = drain(child.stdout.take().expect("stdout is piped"));
    // stdout reaches end of file when the child exits (or closes it).
    let Ok(stdout) = stdout.recv_timeout(limit) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("the natter process did not finish within {limit:?}");
    };
    let stderr = stderr.recv_timeout(limit).expect("stderr closes");
    let status = child.wait().expect("wait for the child");
    Finished {
        status,
        stdout,
        stderr,
    }
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

/// A running child whose stderr is read line by line as it comes, so that
/// a test can wait for a line it prints when ready (`tail`'s `following
/// from cursor`) before going on.
pub struct Watched {
    /// The child; `None` once [`Watched::finish`] took it.
    child: Option<Child>,
    /// Stderr's lines, from a thread that reads the pipe to its end.
    lines: mpsc::Receiver<String>,
    /// The lines received so far, for [`Watched::finish`] and failures.
    seen: String,
}

impl Watched {
    /// Starts reading `child`'s stderr.
    pub fn new(mut child: Child) -> Watched {
        let stderr = BufReader::new(child.stderr.take().expect("stderr is piped"));
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stderr.lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Watched {
            child: Some(child),
            lines,
            seen: String::new(),
        }
    }

    /// Waits for a stderr line starting with `prefix` and returns it. If
    /// stderr ends or [`WAIT`] passes first, the child is killed and the
    /// test fails.
    pub fn wait_for_stderr(&mut self, prefix: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push_str(&line);
                    self.seen.push('\n');
                    if line.starts_with(prefix) {
                        return line;
                    }
                }
                Err(e) => {
                    let status = self.child.take().map(|mut child| {
                        let _ = child.kill();
                        child.wait()
                    });
                    panic!(
                        "no stderr line starting with {prefix:?} ({e}): {status:?}, stderr: {:?}",
                        self.seen
                    );
                }
            }
        }
    }

    /// [`finish`] for a watched child: stderr holds every line, those
    /// already waited for included.
    pub fn finish(mut self, limit: Duration) -> Finished {
        let child = self.child.take().expect("the child is still there");
        let lines = std::mem::replace(&mut self.lines, mpsc::channel().1);
        let mut seen = std::mem::take(&mut self.seen);
        let (tx, stderr) = mpsc::channel();
        std::thread::spawn(move || {
            for line in lines {
                seen.push_str(&line);
                seen.push('\n');
            }
            let _ = tx.send(seen);
        });
        finish_with_stderr(child, None, limit, stderr)
    }
}

impl Drop for Watched {
    /// A test that fails half way leaves no `tail` running behind it.
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One person's terminal: their own natter home (where profiles are saved)
/// and profile name, so that several people can share one test.
pub struct Terminal {
    home: tempfile::TempDir,
    profile: Option<String>,
}

impl Default for Terminal {
    fn default() -> Terminal {
        Terminal::new()
    }
}

impl Terminal {
    /// A terminal using the default profile.
    pub fn new() -> Terminal {
        Terminal {
            home: tempfile::tempdir().expect("temp dir"),
            profile: None,
        }
    }

    /// A terminal that passes `--profile name` on every command.
    pub fn with_profile(name: &str) -> Terminal {
        Terminal {
            profile: Some(name.to_owned()),
            ..Terminal::new()
        }
    }

    /// The natter home (`NATTER_HOME`).
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// `natter [--profile p] args…` with this terminal's home, ready to run.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = natter_command();
        cmd.env("NATTER_HOME", self.home());
        if let Some(profile) = &self.profile {
            cmd.args(["--profile", profile]);
        }
        cmd.args(args);
        cmd
    }

    /// Runs a command to completion.
    pub async fn run(&self, args: &[&str]) -> Finished {
        run(self.command(args), None).await
    }

    /// Runs a command with `NATTER_PASSWORD` set.
    pub async fn run_with_password(&self, args: &[&str], password: &str) -> Finished {
        let mut cmd = self.command(args);
        cmd.env("NATTER_PASSWORD", password);
        run(cmd, None).await
    }

    /// Runs a command with `stdin` as its standard input.
    pub async fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Finished {
        run(self.command(args), Some(stdin.to_owned())).await
    }

    /// Starts a command that keeps running (`tail`); finish it with
    /// [`finish`].
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start natter")
    }

    /// `natter register <username> --server <url>` with the fixture
    /// password; returns `(user id, device id)`.
    pub async fn register(&self, server: &str, username: &str) -> (String, String) {
        let out = self
            .run_with_password(
                &["register", username, "--server", server],
                natter_test_support::PASSWORD,
            )
            .await;
        let row = out.row();
        assert_eq!(row.len(), 3, "username, user id, device id: {out:#?}");
        assert_eq!(row[0], username);
        (row[1].to_owned(), row[2].to_owned())
    }
}

/// Runs a command off the async threads (an in-process server may need
/// them to answer it) and returns what it left behind.
pub async fn run(mut cmd: Command, stdin: Option<String>) -> Finished {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    tokio::task::spawn_blocking(move || {
        let child = cmd.spawn().expect("start natter");
        finish(child, stdin.as_deref(), WAIT)
    })
    .await
    .expect("the command runner panicked")
}

/// `natter serve` running as a child process, killed (SIGKILL) when
/// dropped so that a failing test leaves no server behind.
pub struct ServeProcess {
    child: Child,
    /// `http://ADDR`, as the server printed it.
    pub url: String,
}

impl ServeProcess {
    /// Runs `natter serve --config <config> --listen 127.0.0.1:0 --data-dir
    /// <data_dir>` and waits for its `natter is running at` line.
    pub async fn start(config: PathBuf, data_dir: PathBuf) -> ServeProcess {
        tokio::task::spawn_blocking(move || ServeProcess::start_blocking(&config, &data_dir))
            .await
            .expect("starting the server panicked")
    }

    fn start_blocking(config: &Path, data_dir: &Path) -> ServeProcess {
        let mut child = natter_command()
            .arg("serve")
            .arg("--config")
            .arg(config)
            .args(["--listen", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(data_dir)
            .env("NATTER_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start natter serve");
        let stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let (tx, rx) = mpsc::channel();
        // Reads stdout to its end, so the server never blocks (or dies of
        // a broken pipe) writing to it; the first URL line is passed on.
        std::thread::spawn(move || {
            for line in stdout.lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.strip_prefix("natter is running at ") {
                    let _ = tx.send(addr.trim().to_owned());
                }
            }
        });
        match rx.recv_timeout(WAIT) {
            Ok(url) => {
                assert!(url.starts_with("http://127.0.0.1:"), "odd URL {url:?}");
                ServeProcess { child, url }
            }
            Err(_) => {
                let _ = child.kill();
                let status = child.wait();
                panic!("natter serve did not say where it runs within {WAIT:?}: {status:?}");
            }
        }
    }

    /// Kills the server with SIGKILL (no shutdown, no flush) and reaps it.
    pub fn kill(&mut self) {
        self.child.kill().expect("kill natter serve");
        self.child.wait().expect("reap natter serve");
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
