//! Test harness: a real natter server on an ephemeral port with a real
//! store, restartable on the same data and port; and, for tests that run
//! two of natter's executables together, the binary of another workspace
//! package ([`workspace_binary`]).
//!
//! The store is chosen by [`Backend`], from the environment variable
//! `NATTER_TEST_BACKEND` unless a test names one, so the same suites run on
//! every backend. The addresses of the backing services CI starts are read
//! by [`services`].
//!
//! Used only as a dev-dependency; it may depend on every natter crate.

#![forbid(unsafe_code)]

pub mod services;

use natter_bus::LocalBus;
use natter_server::{Backends, Config, Running};
use natter_store::Store;
use natter_store_sqlite::{SqliteOptions, SqliteStore};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

pub use binaries::workspace_binary;
pub use natter_sdk as sdk;

mod binaries;

/// The store a [`TestServer`] runs on.
///
/// Today only [`Backend::Sqlite`]; `Postgres` is added together with the
/// `natter-store-postgres` crate, as one more variant, one more name in
/// [`Backend::NAMES`] and one more arm in [`Backend::open_store`] (the only
/// place that names a backend's crate).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// `natter-store-sqlite`: a SQLite file in the server's data folder.
    Sqlite,
}

impl Backend {
    /// The environment variable that chooses the backend of the servers
    /// that [`TestServer::start`] and [`TestServer::start_with`] start.
    pub const ENV: &'static str = "NATTER_TEST_BACKEND";

    /// Every backend with the name `NATTER_TEST_BACKEND` gives it.
    pub const NAMES: &'static [(&'static str, Backend)] = &[("sqlite", Backend::Sqlite)];

    /// The backend when `NATTER_TEST_BACKEND` is unset.
    pub const DEFAULT: Backend = Backend::Sqlite;

    /// The backend named by `NATTER_TEST_BACKEND`: [`Backend::DEFAULT`]
    /// when it is unset.
    ///
    /// # Panics
    ///
    /// When it is set to anything but one of [`Backend::NAMES`] (an empty
    /// value included): a suite must never run on another backend than the
    /// one asked for.
    pub fn from_env() -> Backend {
        match std::env::var(Self::ENV) {
            Err(std::env::VarError::NotPresent) => Self::DEFAULT,
            Ok(name) => Self::named(&name),
            Err(std::env::VarError::NotUnicode(raw)) => Self::named(&raw.to_string_lossy()),
        }
    }

    /// The backend called `name`, exactly as in [`Backend::NAMES`].
    ///
    /// # Panics
    ///
    /// When no backend has that name; the message names the allowed values.
    pub fn named(name: &str) -> Backend {
        Self::NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, b)| *b)
            .unwrap_or_else(|| {
                let allowed: Vec<_> = Self::NAMES.iter().map(|(n, _)| *n).collect();
                panic!(
                    "{}={name:?} is not a test backend; allowed values: {} (unset means {})",
                    Self::ENV,
                    allowed.join(", "),
                    Self::DEFAULT.name(),
                )
            })
    }

    /// The name `NATTER_TEST_BACKEND` gives this backend.
    pub fn name(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(_, b)| *b == self)
            .map(|(n, _)| *n)
            .expect("every backend has a name")
    }

    /// Opens this backend's store for a server with `config`: the one place
    /// that builds a store. It must open the same data again when called
    /// again with the same configuration, since [`TestServer::restart`]
    /// relies on it; a backend whose data lives outside the data folder
    /// derives its database (or schema) from `config.data_dir`, which is
    /// unique to each [`TestServer`].
    pub async fn open_store(self, config: &Config) -> Arc<dyn Store> {
        match self {
            Backend::Sqlite => {
                let path = config.data_dir.join("natter.db");
                let store = SqliteStore::open(&path, SqliteOptions::default())
                    .unwrap_or_else(|e| panic!("open SQLite store {}: {e}", path.display()));
                Arc::new(store)
            }
        }
    }
}

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

/// A running server, the backend it runs on and the folder it keeps its
/// data in.
pub struct TestServer {
    dir: tempfile::TempDir,
    backend: Backend,
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
    /// Starts a server with [`test_config`] on the backend that
    /// `NATTER_TEST_BACKEND` names ([`Backend::from_env`]).
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    /// Starts a server after `tweak` adjusted [`test_config`], on the
    /// backend that `NATTER_TEST_BACKEND` names ([`Backend::from_env`]).
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
        let mut config = test_config();
        tweak(&mut config);
        Self::start_on(Backend::from_env(), config).await
    }

    /// Starts a server with `config` on `backend`, whatever the environment
    /// says. `config.data_dir` is replaced by a fresh temporary folder that
    /// lives as long as the returned server.
    pub async fn start_on(backend: Backend, mut config: Config) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        config.data_dir = dir.path().to_owned();
        let running = launch(backend, config.clone()).await;
        let addr = running.addr;
        TestServer {
            dir,
            backend,
            config,
            running: Some(running),
            addr,
        }
    }

    /// The backend the server runs on.
    pub fn backend(&self) -> Backend {
        self.backend
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
        self.running = Some(launch(self.backend, config).await);
    }

    /// Shuts the server down (idempotent).
    pub async fn stop(&mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await;
        }
    }

    /// Logs `client`'s user in again: another device of the same account.
    pub async fn login(&self, client: &sdk::Client) -> sdk::Client {
        let username = client.session().expect("logged in").username;
        sdk::Client::login(&self.url(), &username, PASSWORD, Some("second"))
            .await
            .expect("login")
    }

    /// Registers a fresh user and returns a logged-in SDK client.
    pub async fn user(&self, prefix: &str) -> sdk::Client {
        sdk::Client::register(&self.url(), &unique_name(prefix), PASSWORD, Some("test"))
            .await
            .expect("register")
    }
}

async fn launch(backend: Backend, config: Config) -> Running {
    let backends = Backends {
        store: backend.open_store(&config).await,
        bus: Arc::new(LocalBus::new(1024)),
        shared: None,
    };
    natter_server::start(config, backends)
        .await
        .expect("server starts")
}
