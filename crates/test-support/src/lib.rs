//! Test harness: a real natter server on an ephemeral port with a real
//! SQLite file, restartable on the same data folder and port; and, for tests
//! that run two of natter's executables together, the binary of another
//! workspace package ([`workspace_binary`]).
//!
//! Used only as a dev-dependency; it may depend on every natter crate.

#![forbid(unsafe_code)]

use natter_bus::LocalBus;
use natter_server::{Backends, Config, Running};
use natter_store_sqlite::{SqliteOptions, SqliteStore};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

pub use binaries::workspace_binary;
pub use natter_sdk as sdk;

mod binaries;

/// A configuration for tests: cheap password hashing, short timeouts.
pub fn test_config() -> Config {
    let mut c = Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        ..Config::default()
    };
    // Argon2id stays on, at a cost that keeps the suite fast.
    c.auth.argon2_memory_kib = 64;
    c.auth.argon2_iterations = 1;
    c.auth.login_attempts_per_address = 10_000;
    c
}

/// A running server and the folder it keeps its data in.
pub struct TestServer {
    dir: tempfile::TempDir,
    config: Config,
    running: Option<Running>,
    addr: SocketAddr,
}

static NAMES: AtomicUsize = AtomicUsize::new(0);

/// A username no other test in this process uses.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}{}", NAMES.fetch_add(1, Ordering::Relaxed))
}

/// The password fixtures use.
pub const PASSWORD: &str = "correct horse battery";

impl TestServer {
    /// Starts a server with [`test_config`].
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    /// Starts a server after `tweak` adjusted the configuration.
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = test_config();
        config.data_dir = dir.path().to_owned();
        tweak(&mut config);
        let running = launch(config.clone()).await;
        let addr = running.addr;
        TestServer {
            dir,
            config,
            running: Some(running),
            addr,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `ws://127.0.0.1:PORT/v1/ws`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/v1/ws", self.addr)
    }

    /// The effective configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The data folder.
    pub fn data_dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// The running server.
    pub fn running(&self) -> &Running {
        self.running.as_ref().expect("server is running")
    }

    /// Shuts the server down in order and starts it again on the same data
    /// folder and port.
    pub async fn restart(&mut self) {
        self.stop().await;
        let mut config = self.config.clone();
        config.listen = self.addr;
        self.running = Some(launch(config).await);
    }

    /// Shuts the server down (idempotent).
    pub async fn stop(&mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await;
        }
    }

    /// Registers a fresh user and returns a logged-in SDK client.
    pub async fn user(&self, prefix: &str) -> sdk::Client {
        sdk::Client::register(&self.url(), &unique_name(prefix), PASSWORD, Some("test"))
            .await
            .expect("register")
    }
}

async fn launch(config: Config) -> Running {
    let store = SqliteStore::open(&config.data_dir.join("natter.db"), SqliteOptions::default())
        .expect("open store");
    let backends = Backends {
        store: Arc::new(store),
        bus: Arc::new(LocalBus::new(1024)),
        shared: None,
    };
    natter_server::start(config, backends)
        .await
        .expect("server starts")
}
