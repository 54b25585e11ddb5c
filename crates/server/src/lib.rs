//! The natter server as a library: domain services, the HTTP API, the live
//! gateway (WebSocket, Server-Sent Events, long-polling) and auth.
//!
//! It is given a [`Store`] and a [`Bus`] and never chooses backends itself;
//! the binary (or a test) does. Nothing here depends on a particular
//! database or broker.
//!
//! Modules, in the order a message passes them: `transport` (decode, and
//! encode answers), `domain` (the rules), the store (commit), `fanout`
//! (commit feed → bus → this node's hub → each device's `LogStream`), and
//! `transport` again (frames out). `cluster` holds what several nodes must
//! share; `auth` the credential mechanics; `state` the shared handle.

#![forbid(unsafe_code)]

pub mod auth;
pub mod cluster;
pub mod config;
pub mod domain;
pub mod error;
pub mod fanout;
pub mod state;
pub mod transport;

pub use config::Config;

use auth::{Passwords, Tokens};
use fanout::hub::Hub;
use natter_bus::Bus;
use natter_store::Store;
use state::{AppState, TaskCount};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration is invalid.
    #[error("invalid configuration:\n  {}", .0.join("\n  "))]
    Config(Vec<String>),
    /// The token-signing key could not be had (the text says why).
    #[error("{0}")]
    Key(String),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
    /// Something else.
    #[error("{0}")]
    Other(String),
}

/// The backends the server runs on.
pub struct Backends {
    /// The database.
    pub store: Arc<dyn Store>,
    /// The fan-out bus.
    pub bus: Arc<dyn Bus>,
    /// What the nodes of a deployment share; `None` for this process's own
    /// (the embedded deployment: [`cluster::Shared::local`]).
    pub shared: Option<cluster::Shared>,
}

/// A running server.
pub struct Running {
    /// The address it listens on (useful with port 0).
    pub addr: SocketAddr,
    state: AppState,
    shutdown_tx: watch::Sender<bool>,
    http: JoinHandle<()>,
    publisher: JoinHandle<()>,
    dispatcher: JoinHandle<()>,
    sweepers: Vec<JoinHandle<()>>,
}

/// Binds the configured address and starts serving.
pub async fn start(config: Config, backends: Backends) -> Result<Running, StartError> {
    config.validate().map_err(StartError::Config)?;
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.listen,
            source,
        })?;
    start_on(listener, config, backends).await
}

/// Starts serving on an already bound listener.
pub async fn start_on(
    listener: TcpListener,
    config: Config,
    backends: Backends,
) -> Result<Running, StartError> {
    config.validate().map_err(StartError::Config)?;
    let addr = listener
        .local_addr()
        .map_err(|e| StartError::Other(e.to_string()))?;
    let shared = backends
        .shared
        .unwrap_or_else(|| cluster::Shared::local(&config));
    let secret = shared.key.load().map_err(StartError::Key)?;
    let passwords = Passwords::new(&config.auth).map_err(|e| StartError::Other(e.to_string()))?;
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let media = &config.media;
    let blob_config = if media.backend == "s3" {
        natter_blob::BlobConfig::S3 {
            endpoint: media.s3_endpoint.clone(),
            bucket: media.s3_bucket.clone(),
            region: media.s3_region.clone(),
            access_key: media.s3_access_key.clone(),
            secret_key: media.s3_secret_key.clone(),
        }
    } else {
        natter_blob::BlobConfig::Local {
            root: config.data_dir.join("media"),
        }
    };
    let blobs: Arc<dyn natter_blob::BlobStore> = Arc::new(
        natter_blob::ObjectBlobStore::open(&blob_config)
            .map_err(|e| StartError::Other(format!("media storage: {e}")))?,
    );
    let state = AppState::new(state::AppInner {
        tokens: Tokens::new(secret, Duration::from_secs(config.auth.access_ttl_secs)),
        passwords,
        login_by_account: shared.login_by_account,
        login_by_address: shared.login_by_address,
        login_slowdown: shared.login_slowdown,
        actions: shared.actions,
        connection_slots: Arc::new(Semaphore::new(config.gateway.max_connections)),
        pictures: domain::pictures::Jobs::new(config.media.processing_workers),
        config: Arc::new(config),
        store: backends.store,
        bus: backends.bus,
        hub: Arc::new(Hub::default()),
        shutdown: shutdown_rx,
        tasks: Arc::new(TaskCount::default()),
        presence: shared.presence,
        typing: shared.typing,
        reaction_backlog: Default::default(),
        blobs,
        uploads_writing: Default::default(),
    });

    let feed = state
        .store
        .take_commit_feed()
        .ok_or_else(|| StartError::Other("the store's commit feed is already taken".into()))?;
    let publisher = tokio::spawn(fanout::publish(feed, state.bus.clone()));
    let subscription = state
        .bus
        .subscribe()
        .ok_or_else(|| StartError::Other("the bus is already subscribed".into()))?;
    let dispatcher = tokio::spawn(fanout::dispatch(subscription, state.hub.clone()));
    let sweepers = vec![
        tokio::spawn(domain::presence::sweeper(state.clone())),
        tokio::spawn(domain::typing::sweeper(state.clone())),
        tokio::spawn(domain::media::collector(state.clone())),
    ];

    let app = transport::router(state.clone());
    let limits = transport::accept::AcceptLimits::resolve(
        &state.config.http,
        Duration::from_secs(state.config.gateway.write_timeout_secs),
        transport::accept::fd_limit(),
    );
    tracing::debug!(?limits, "connection limits");
    let http = tokio::spawn(transport::accept::serve(
        listener,
        app,
        limits,
        state.shutdown.clone(),
    ));
    tracing::info!(%addr, "natter is listening");
    if state.config.testing.hooks {
        tracing::warn!(
            "testing.hooks is on: any user may force their own resync; never on a server people use"
        );
    }
    Ok(Running {
        addr,
        state,
        shutdown_tx,
        http,
        publisher,
        dispatcher,
        sweepers,
    })
}

impl Running {
    /// Shared state, for tests and metrics.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Shuts down in order: stop accepting, close live connections with a
    /// close frame, wait for them (up to 10 s), then close the store and the
    /// bus.
    pub async fn shutdown(self) {
        let _ = self.shutdown_tx.send(true);
        let tasks = self.state.tasks.clone();
        if tokio::time::timeout(Duration::from_secs(10), tasks.wait_zero())
            .await
            .is_err()
        {
            tracing::warn!(
                left = tasks.live(),
                "connections still open after 10 s; closing anyway"
            );
        }
        if tokio::time::timeout(Duration::from_secs(10), self.http)
            .await
            .is_err()
        {
            tracing::warn!("http server did not stop within 10 s");
        }
        for sweeper in self.sweepers {
            let _ = sweeper.await;
        }
        self.state.store.close().await;
        let _ = self.publisher.await;
        self.state.bus.close().await;
        let _ = self.dispatcher.await;
        tracing::info!("natter stopped");
    }
}
