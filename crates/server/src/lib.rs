//! The natter server as a library: domain services, the HTTP API, the live
//! gateway (WebSocket, Server-Sent Events, long-polling) and auth.
//!
//! It is given a [`Store`] and a [`Bus`] and never chooses backends itself;
//! the binary (or a test) does. Nothing here depends on a particular
//! database or broker.
//!
//! Data flow of a message: a client's `send` is validated by `service`, the
//! store commits it (group commit) and answers; the store's commit feed is
//! forwarded in commit order to the bus by the publisher task; the bus hands
//! it to every node's dispatcher, which gives it to the hub, which queues it
//! on the recipients' local connections; each connection's `Feed` delivers
//! it or, on a gap, reads the store.

#![forbid(unsafe_code)]

pub mod api;
pub mod auth;
pub mod config;
pub mod error;
pub mod feed;
pub mod hub;
pub mod live;
pub mod presence;
pub mod service;
pub mod state;
pub mod typing;
pub mod web;
pub mod ws;

pub use config::Config;

use auth::{Passwords, RateLimiter, Tokens};
use hub::Hub;
use natter_bus::{Bus, BusMessage, Notice};
use natter_store::Store;
use state::{AppState, TaskCount};
use std::net::SocketAddr;
use std::path::Path;
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
    /// The data folder or the signing key could not be prepared.
    #[error("data folder {path}: {source}")]
    DataDir {
        /// The folder.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
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

/// Reads the token-signing secret from the data folder, creating it on first
/// start.
fn load_secret(dir: &Path) -> Result<Vec<u8>, StartError> {
    let io = |source| StartError::DataDir {
        path: dir.display().to_string(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let path = dir.join("token.key");
    match std::fs::read(&path) {
        Ok(bytes) if bytes.len() >= 32 => Ok(bytes),
        Ok(_) => Err(StartError::Other(format!(
            "{} is shorter than 32 bytes; delete it to make a new one (this logs everyone out)",
            path.display()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = vec![0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::rng(), &mut key);
            let tmp = dir.join("token.key.tmp");
            std::fs::write(&tmp, &key).map_err(io)?;
            std::fs::rename(&tmp, &path).map_err(io)?;
            Ok(key)
        }
        Err(e) => Err(io(e)),
    }
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
    let secret = load_secret(&config.data_dir)?;
    let passwords = Passwords::new(&config.auth).map_err(|e| StartError::Other(e.message))?;
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let window = Duration::from_secs(config.auth.login_window_secs);
    let state = AppState::new(state::AppInner {
        tokens: Tokens::new(secret, Duration::from_secs(config.auth.access_ttl_secs)),
        passwords,
        login_by_account: Arc::new(RateLimiter::new(
            config.auth.login_attempts_per_account,
            window,
        )),
        login_by_address: Arc::new(RateLimiter::new(
            config.auth.login_attempts_per_address,
            window,
        )),
        connection_slots: Arc::new(Semaphore::new(config.gateway.max_connections)),
        config: Arc::new(config),
        store: backends.store,
        bus: backends.bus,
        hub: Arc::new(Hub::default()),
        shutdown: shutdown_rx,
        tasks: Arc::new(TaskCount::default()),
        presence: Arc::new(presence::Tracker::default()),
        typing: Arc::new(typing::Tracker::default()),
    });

    let feed = state
        .store
        .take_commit_feed()
        .ok_or_else(|| StartError::Other("the store's commit feed is already taken".into()))?;
    let publisher = tokio::spawn(publish(feed, state.bus.clone()));
    let subscription = state
        .bus
        .subscribe()
        .ok_or_else(|| StartError::Other("the bus is already subscribed".into()))?;
    let dispatcher = tokio::spawn(dispatch(subscription, state.hub.clone()));
    let sweepers = vec![
        tokio::spawn(presence::sweeper(state.clone())),
        tokio::spawn(typing::sweeper(state.clone())),
    ];

    let app = api::router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let mut stop = state.shutdown.clone();
    let http = tokio::spawn(async move {
        // No Nagle: chat frames are small and latency matters more than
        // packet count.
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "cannot set TCP_NODELAY");
            }
        });
        let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
            let _ = stop.wait_for(|s| *s).await;
        });
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "http server failed");
        }
    });
    tracing::info!(%addr, "natter is listening");
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

/// Forwards committed batches to the bus, in commit order, serialising each
/// event once.
async fn publish(
    mut feed: tokio::sync::mpsc::Receiver<natter_store::CommitBatch>,
    bus: Arc<dyn Bus>,
) {
    while let Some(batch) = feed.recv().await {
        let notices: Vec<Notice> = batch
            .iter()
            .filter_map(|c| {
                let encoded = feed::item_json(&c.item).and_then(|(_, json)| {
                    let variants = c
                        .variants
                        .iter()
                        .map(|(u, v)| feed::item_json(v).map(|(_, j)| (*u, j)))
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok((json, variants))
                });
                match encoded {
                    Ok((json, variants)) => Some(Notice {
                        item: c.item.clone(),
                        json,
                        cursor: c.position,
                        recipients: c.recipients.clone(),
                        variants,
                    }),
                    Err(e) => {
                        // Connections see it on their next read from the
                        // store.
                        tracing::error!(code = %e.code, "cannot serialise a log item");
                        None
                    }
                }
            })
            .collect();
        if let Err(e) = bus.publish(BusMessage::Events(Arc::new(notices))).await {
            tracing::warn!(error = %e, "bus publish failed; connections catch up from the store");
        }
    }
}

/// Hands bus messages to this node's connections.
async fn dispatch(mut sub: tokio::sync::mpsc::Receiver<BusMessage>, hub: Arc<Hub>) {
    while let Some(msg) = sub.recv().await {
        hub.dispatch(&msg);
    }
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
