//! The server under test: finding the `natter` binary, starting `natter
//! serve` (or the bare echo server) as a child process and stopping it, and
//! what /proc says about a process (CPU time, resident memory).

use anyhow::{Context, Result, bail};
use natter_proto::ClientId;
use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The `natter` binary whose `serve` a run starts: `explicit` (from
/// `--natter` or `NATTER_BIN`) when given, else the `natter` beside this
/// executable, where cargo puts both binaries of a build.
pub fn natter_binary(explicit: Option<&Path>) -> Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot tell where natter-bench is")?;
    let build = build_command(&exe);
    if let Some(path) = explicit {
        if path.is_file() {
            return Ok(path.to_owned());
        }
        bail!(
            "the natter binary {} (from --natter or NATTER_BIN) does not exist; build it with `{build}`",
            path.display()
        );
    }
    let beside = exe.with_file_name(format!("natter{}", std::env::consts::EXE_SUFFIX));
    if beside.is_file() {
        return Ok(beside);
    }
    bail!(
        "the bench starts its own server with `natter serve`, and there is no natter binary beside {}: \
         build it with `{build}`, pass --natter PATH or set NATTER_BIN (or target a running server with --url)",
        exe.display()
    )
}

/// The command that builds `natter` in the profile this executable was
/// built in (its folder is named after the profile: `debug` for dev).
fn build_command(exe: &Path) -> &'static str {
    match exe.parent().and_then(Path::file_name) {
        Some(dir) if dir == "debug" => "cargo build -p natter",
        _ => "cargo build --release -p natter",
    }
}

/// A server under test: started by this run (and stopped when dropped) or
/// already running.
pub struct Target {
    /// `http://IP:PORT`, without a trailing slash.
    pub url: String,
    child: Option<Child>,
    data: Option<PathBuf>,
}

impl Target {
    /// A server this run neither started nor stops.
    pub fn remote(url: &str) -> Target {
        Target {
            url: url.trim_end_matches('/').to_owned(),
            child: None,
            data: None,
        }
    }

    /// Starts `natter serve` from `natter` on a fresh data folder and a free
    /// port, configured for load generation; `extra` is more configuration
    /// (TOML tables the bench's own do not use).
    pub fn spawn_configured(natter: &Path, extra: &str) -> Result<Target> {
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
            "[limits]\nmax_group_members = 100000\nsends_per_minute = 1000000000\ngroup_creates_per_hour = 1000000000\njoins_per_hour = 1000000000\ninvites_per_hour = 1000000000\n\n[auth]\nlogin_attempts_per_address = 1000000\nargon2_memory_kib = 1024\nargon2_iterations = 1\n\n[presence]\noffline_grace_ms = 0\n\n[gateway]\nmax_connections = 200000\n\n[http]\nmax_connections_per_address = 0\n".to_owned() + extra,
        )?;
        let mut args: Vec<std::ffi::OsString> = ["serve", "--listen", "127.0.0.1:0", "--config"]
            .iter()
            .map(Into::into)
            .collect();
        args.push(config.into_os_string());
        args.push("--data-dir".into());
        args.push(data.clone().into_os_string());
        let spawned = Target::spawn_with(natter, &args);
        // The data folder goes too if the server never started.
        let mut target = spawned.inspect_err(|_| {
            let _ = std::fs::remove_dir_all(&data);
        })?;
        target.data = Some(data);
        Ok(target)
    }

    /// Starts the bare WebSocket echo server of `ws-echo`: this executable's
    /// hidden `echo-server` scenario.
    pub fn spawn_echo() -> Result<Target> {
        let exe = std::env::current_exe().context("cannot tell where natter-bench is")?;
        Target::spawn_with(&exe, &["echo-server"])
    }

    /// Starts `exe` with `args` and waits for the line that says where it
    /// listens.
    fn spawn_with<S: AsRef<OsStr>>(exe: &Path, args: &[S]) -> Result<Target> {
        let mut child = Command::new(exe)
            .args(args)
            .env("NATTER_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("cannot start the server {}", exe.display()))?;
        let stdout = child.stdout.take().context("no server stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let url = loop {
            let Some(line) = lines.next() else {
                let _ = child.wait();
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

    /// The address the WebSockets connect to.
    pub fn ws_addr(&self) -> Result<std::net::SocketAddr> {
        let host = self
            .url
            .strip_prefix("http://")
            .context("only http:// targets")?;
        host.parse().context("the target must be an IP:port URL")
    }

    /// CPU seconds (user + system) a spawned server has used.
    pub fn cpu_secs(&self) -> Option<f64> {
        cpu_secs(self.child.as_ref()?.id())
    }

    /// Resident memory of a spawned server, in bytes.
    pub fn rss(&self) -> Option<u64> {
        rss_of(self.child.as_ref()?.id())
    }

    /// A way to read the spawned server's resident memory from another
    /// thread (`None` for a remote server).
    pub fn rss_reader(&self) -> impl Fn() -> Option<u64> + Send + 'static + use<> {
        let pid = self.child.as_ref().map(Child::id);
        move || rss_of(pid?)
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

/// The pid of a running process by its command name, if there is exactly
/// one (so the broker's CPU can be read).
pub fn pid_of(name: &str) -> Option<u32> {
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

/// Resident memory of a process, in bytes.
fn rss_of(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// CPU seconds (user + system) a process has used.
pub fn cpu_secs(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces).
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // Linux reports clock ticks, 100 per second on every common setup.
    Some((utime + stime) / 100.0)
}
