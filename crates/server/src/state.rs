//! Shared state handed to every handler.

use crate::auth::{Passwords, Tokens};
use crate::cluster::{PresenceRegistry, RateLimit, TypingRegistry};
use crate::config::Config;
use crate::fanout::hub::Hub;
use natter_bus::Bus;
use natter_store::Store;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::{Notify, Semaphore, watch};

/// Everything a handler may need. Cloning is one reference count: every
/// live connection holds a few clones, so they must not copy anything.
#[derive(Clone)]
pub struct AppState(Arc<AppInner>);

impl AppState {
    /// Wraps the shared state.
    pub fn new(inner: AppInner) -> Self {
        AppState(Arc::new(inner))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}

/// The shared state itself.
pub struct AppInner {
    /// Validated configuration.
    pub config: Arc<Config>,
    /// The database.
    pub store: Arc<dyn Store>,
    /// Cross-node fan-out.
    pub bus: Arc<dyn Bus>,
    /// This node's live connections.
    pub hub: Arc<Hub>,
    /// Access-token signer.
    pub tokens: Tokens,
    /// Password hasher.
    pub passwords: Passwords,
    /// Login attempts per account and client address.
    pub login_by_account: Arc<dyn RateLimit>,
    /// Login and registration attempts per client address.
    pub login_by_address: Arc<dyn RateLimit>,
    /// Login attempts per account from all addresses (slows, never locks).
    pub login_slowdown: Arc<dyn RateLimit>,
    /// Per-user limits on sends, new groups, joins and invitations.
    pub actions: crate::cluster::ActionLimits,
    /// Caps live connections.
    pub connection_slots: Arc<Semaphore>,
    /// Flips to true when the server starts shutting down.
    pub shutdown: watch::Receiver<bool>,
    /// Counts live connection tasks so shutdown can wait for them.
    pub tasks: Arc<TaskCount>,
    /// Who is online.
    pub presence: Arc<dyn PresenceRegistry>,
    /// Who is typing where.
    pub typing: Arc<dyn TypingRegistry>,
    /// Channel messages whose reactions changed and are not announced yet.
    pub reaction_backlog: crate::domain::rich::ReactionBacklog,
    /// Where media bytes are kept.
    pub blobs: Arc<dyn natter_blob::BlobStore>,
    /// Uploads a request is writing right now.
    pub uploads_writing: crate::domain::media::Writing,
    /// Pictures being processed.
    pub pictures: crate::domain::pictures::Jobs,
}

/// A count of running connection tasks with a way to wait for zero.
#[derive(Default)]
pub struct TaskCount {
    live: AtomicUsize,
    zero: Notify,
}

/// Decrements the count when dropped.
pub struct TaskGuard(Arc<TaskCount>);

impl TaskCount {
    /// Counts one more task until the guard is dropped.
    pub fn enter(self: &Arc<Self>) -> TaskGuard {
        self.live.fetch_add(1, Ordering::AcqRel);
        TaskGuard(self.clone())
    }

    /// Tasks running now.
    pub fn live(&self) -> usize {
        self.live.load(Ordering::Acquire)
    }

    /// Waits until no task runs.
    pub async fn wait_zero(&self) {
        loop {
            let notified = self.zero.notified();
            if self.live() == 0 {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        if self.0.live.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.zero.notify_waiters();
        }
    }
}
