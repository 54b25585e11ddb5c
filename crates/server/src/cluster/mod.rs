//! What several nodes of one deployment must share, behind small traits:
//! the token-signing key, the login rate limits, who is online and who is
//! typing. The embedded deployment uses the in-process implementations in
//! [`local`]; a cluster slots in shared ones (a key from configuration,
//! Redis counters and presence) without the rest of the server changing.
//!
//! The traits are synchronous and cheap on purpose: they sit on hot paths
//! (every connection, every typing frame). A shared implementation keeps a
//! local view and synchronises in the background; how is for the cluster
//! deployment to decide.

pub mod local;

use crate::error::Result;
use natter_proto::{ConversationId, UserId};
use std::sync::Arc;
use std::time::Duration;

/// Where the secret that signs access tokens comes from. Every node of a
/// deployment must get the same key, or tokens issued by one are refused
/// by another.
pub trait KeySource: Send + Sync {
    /// The key (at least 32 bytes). Called once at start.
    fn load(&self) -> std::result::Result<Vec<u8>, String>;
}

/// Attempt counters keyed by account or address.
pub trait RateLimit: Send + Sync {
    /// Counts one attempt; `DomainError::RateLimited` once the key is over
    /// its limit.
    fn hit(&self, key: &str) -> Result<()>;
    /// Forgets a key (after a successful login).
    fn reset(&self, key: &str);
}

/// Who is connected and heard from, for presence.
pub trait PresenceRegistry: Send + Sync {
    /// A connection of `user` opened; true when the user just came online.
    fn connect(&self, user: UserId) -> bool;
    /// Something was heard from one of the user's connections; true when
    /// that brings a user who had timed out back online.
    fn heard(&self, user: UserId) -> bool;
    /// A connection of `user` closed.
    fn disconnect(&self, user: UserId);
    /// True when the user is online.
    fn is_online(&self, user: UserId) -> bool;
    /// Marks offline whoever was silent for `timeout` or disconnected for
    /// `grace`; returns them.
    fn sweep(&self, timeout: Duration, grace: Duration) -> Vec<UserId>;
}

/// What a typing start should do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TypingStart {
    /// Tell the other members.
    Announce,
    /// Only extends an indicator announced a moment ago.
    Absorbed,
}

/// Live typing indicators with their expiry.
pub trait TypingRegistry: Send + Sync {
    /// Starts or refreshes an indicator valid for `ttl`; refreshes closer
    /// together than `min_interval` are absorbed.
    fn start(
        &self,
        conv: ConversationId,
        user: UserId,
        ttl: Duration,
        min_interval: Duration,
    ) -> TypingStart;
    /// Removes an indicator; true when there was one.
    fn stop(&self, conv: ConversationId, user: UserId) -> bool;
    /// Removes and returns the indicators that expired.
    fn expired(&self) -> Vec<(ConversationId, UserId)>;
}

/// The shared parts a node runs with.
#[derive(Clone)]
pub struct Shared {
    /// The token-signing key.
    pub key: Arc<dyn KeySource>,
    /// Failed logins per account.
    pub login_by_account: Arc<dyn RateLimit>,
    /// Login and registration attempts per client address.
    pub login_by_address: Arc<dyn RateLimit>,
    /// Login attempts per account from every address together (past its
    /// limit, attempts are slowed, never refused).
    pub login_slowdown: Arc<dyn RateLimit>,
    /// Who is online.
    pub presence: Arc<dyn PresenceRegistry>,
    /// Who is typing where.
    pub typing: Arc<dyn TypingRegistry>,
    /// Per-user limits on what costs others (sends, new groups, joins,
    /// invitations).
    pub actions: ActionLimits,
}

/// Per-user counters of the actions a spammer would repeat, each keyed by
/// user id.
#[derive(Clone)]
pub struct ActionLimits {
    /// Messages per minute.
    pub sends: Arc<dyn RateLimit>,
    /// Groups created per hour.
    pub group_creates: Arc<dyn RateLimit>,
    /// Groups joined with links per hour.
    pub joins: Arc<dyn RateLimit>,
    /// Add-member calls and invite links made per hour.
    pub invites: Arc<dyn RateLimit>,
}

impl ActionLimits {
    /// Counters in this process, as configured.
    pub fn local(limits: &crate::config::Limits) -> Self {
        let minute = Duration::from_secs(60);
        let hour = Duration::from_secs(3600);
        let counter = |n, w| -> Arc<dyn RateLimit> { Arc::new(local::LocalRateLimit::new(n, w)) };
        ActionLimits {
            sends: counter(limits.sends_per_minute, minute),
            group_creates: counter(limits.group_creates_per_hour, hour),
            joins: counter(limits.joins_per_hour, hour),
            invites: counter(limits.invites_per_hour, hour),
        }
    }
}

impl Shared {
    /// The embedded deployment's parts: the key in the data folder, and
    /// counters, presence and typing in this process.
    pub fn local(config: &crate::Config) -> Self {
        let window = Duration::from_secs(config.auth.login_window_secs);
        Shared {
            key: Arc::new(local::DataDirKey::new(&config.data_dir)),
            login_by_account: Arc::new(local::LocalRateLimit::new(
                config.auth.login_attempts_per_account,
                window,
            )),
            login_by_address: Arc::new(local::LocalRateLimit::new(
                config.auth.login_attempts_per_address,
                window,
            )),
            login_slowdown: Arc::new(local::LocalRateLimit::new(
                config.auth.login_slowdown_after,
                window,
            )),
            presence: Arc::new(local::LocalPresence::default()),
            typing: Arc::new(local::LocalTyping::default()),
            actions: ActionLimits::local(&config.limits),
        }
    }
}
