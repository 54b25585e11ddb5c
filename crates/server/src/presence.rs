//! Presence: who is online, and last seen.
//!
//! A user is online while any of their devices is connected and heard from
//! within `presence.timeout_ms`; after their last device disconnects they go
//! offline once `presence.offline_grace_ms` has passed (so a quick reconnect
//! does not flap). Going offline records "last seen" in the store.
//!
//! Presence is never broadcast widely: a change goes only to the people who
//! share a direct conversation or a small group with the user, filtered by
//! the user's visibility setting, as a live-only signal. On connect a device
//! gets a snapshot of everything it may see.
//!
//! The tracker is per node; the cluster deployment keeps it in Redis.

use crate::auth::now_ms;
use crate::error::ApiResult;
use crate::state::AppState;
use natter_bus::{BusMessage, Signal, SignalKind};
use natter_proto::{Presence, PresenceList, ServerFrame, UserId, Visibility};
use natter_store::{PresencePeer, UserRecord};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug)]
struct Entry {
    conns: usize,
    last_heard: Instant,
    online: bool,
    disconnected_at: Option<Instant>,
}

/// Who is connected on this node.
#[derive(Default)]
pub struct Tracker {
    users: Mutex<HashMap<UserId, Entry>>,
}

impl Tracker {
    /// A connection of `user` opened; true when the user just came online.
    fn connect(&self, user: UserId) -> bool {
        let Ok(mut users) = self.users.lock() else {
            return false;
        };
        let now = Instant::now();
        let e = users.entry(user).or_insert(Entry {
            conns: 0,
            last_heard: now,
            online: false,
            disconnected_at: None,
        });
        e.conns += 1;
        e.last_heard = now;
        e.disconnected_at = None;
        let came_online = !e.online;
        e.online = true;
        came_online
    }

    /// Something was heard from one of the user's connections; true when
    /// that brings a user who had timed out back online.
    fn heard_now(&self, user: UserId) -> bool {
        let Ok(mut users) = self.users.lock() else {
            return false;
        };
        let Some(e) = users.get_mut(&user) else {
            return false;
        };
        e.last_heard = Instant::now();
        let back = !e.online && e.conns > 0;
        e.online |= back;
        back
    }

    fn disconnect(&self, user: UserId) {
        if let Ok(mut users) = self.users.lock()
            && let Some(e) = users.get_mut(&user)
        {
            e.conns = e.conns.saturating_sub(1);
            if e.conns == 0 {
                e.disconnected_at = Some(Instant::now());
            }
        }
    }

    /// True when the user is online on this node.
    pub fn is_online(&self, user: UserId) -> bool {
        self.users
            .lock()
            .map(|u| u.get(&user).is_some_and(|e| e.online))
            .unwrap_or(false)
    }

    /// Marks offline whoever timed out; returns them.
    fn sweep(&self, timeout: Duration, grace: Duration) -> Vec<UserId> {
        let Ok(mut users) = self.users.lock() else {
            return Vec::new();
        };
        let now = Instant::now();
        let mut gone = Vec::new();
        users.retain(|user, e| {
            let silent = now.duration_since(e.last_heard) >= timeout;
            let left = e
                .disconnected_at
                .is_some_and(|at| now.duration_since(at) >= grace);
            if e.online && (silent || left) {
                e.online = false;
                gone.push(*user);
            }
            // Forget users with no connection once they are offline.
            e.online || e.conns > 0
        });
        gone
    }
}

/// Marks one connection as present while it lives.
pub struct PresenceGuard {
    state: AppState,
    user: UserId,
}

impl Drop for PresenceGuard {
    fn drop(&mut self) {
        self.state.presence.disconnect(self.user);
    }
}

/// Notes that a connection of `user` is alive, announcing them online again
/// if they had timed out.
pub async fn heard(state: &AppState, user: UserId) {
    if state.presence.heard_now(user)
        && let Err(e) = announce(state, user, false).await
    {
        tracing::warn!(code = %e.code, "cannot announce presence: {}", e.message);
    }
}

/// Keeps `user` counted as heard while `work` runs: for transports that
/// cannot carry anything from the client while they wait (SSE, a waiting
/// long-poll), an open request is the sign of life.
pub async fn while_waiting<T>(
    state: &AppState,
    user: UserId,
    work: impl std::future::Future<Output = T>,
) -> T {
    let every =
        Duration::from_millis(state.config.presence.timeout_ms / 3).max(Duration::from_millis(10));
    let mut ticker = tokio::time::interval(every);
    tokio::pin!(work);
    loop {
        tokio::select! {
            out = &mut work => return out,
            _ = ticker.tick() => heard(state, user).await,
        }
    }
}

/// Counts a connection of `user`, announcing them online if they were not.
pub async fn connected(state: &AppState, user: UserId) -> PresenceGuard {
    if state.presence.connect(user)
        && let Err(e) = announce(state, user, false).await
    {
        tracing::warn!(code = %e.code, "cannot announce presence: {}", e.message);
    }
    PresenceGuard {
        state: state.clone(),
        user,
    }
}

/// [`connected`] for a connection that already read the user and their
/// peers.
pub async fn connected_with(
    state: &AppState,
    record: Option<&UserRecord>,
    user: UserId,
    peers: &[PresencePeer],
) -> PresenceGuard {
    if state.presence.connect(user)
        && let Some(record) = record
    {
        announce_to(state, record, peers, false).await;
    }
    PresenceGuard {
        state: state.clone(),
        user,
    }
}

/// Who may see `user`'s presence, given their visibility.
fn audience(visibility: Visibility, peers: &[PresencePeer]) -> Vec<UserId> {
    peers
        .iter()
        .filter(|p| match visibility {
            Visibility::Everyone => true,
            Visibility::Contacts => p.contact,
            Visibility::Nobody => false,
        })
        .map(|p| p.user)
        .collect()
}

/// Tells everyone who may see it the user's current presence. After a
/// privacy change (`privacy_changed`), those who may no longer see it get an
/// unknown state once; otherwise they get nothing, so a hidden user's
/// comings and goings leave no trace.
pub async fn announce(state: &AppState, user: UserId, privacy_changed: bool) -> ApiResult<()> {
    let Some(record) = state.store.user(user).await? else {
        return Ok(());
    };
    let peers = state
        .store
        .presence_peers(user, state.config.presence.max_group_members)
        .await?;
    announce_to(state, &record, &peers, privacy_changed).await;
    Ok(())
}

/// [`announce`] with the user and their peers already read.
async fn announce_to(
    state: &AppState,
    record: &UserRecord,
    peers: &[PresencePeer],
    privacy_changed: bool,
) {
    let user = record.id;
    let visible = audience(record.privacy.presence, peers);
    let hidden: Vec<UserId> = if privacy_changed {
        peers
            .iter()
            .map(|p| p.user)
            .filter(|u| !visible.contains(u))
            .collect()
    } else {
        Vec::new()
    };
    let online = state.presence.is_online(user);
    let truth = Presence {
        user,
        online,
        last_seen: if online { None } else { record.last_seen },
    };
    publish(state, visible, truth).await;
    publish(
        state,
        hidden,
        Presence {
            user,
            online: false,
            last_seen: None,
        },
    )
    .await;
}

async fn publish(state: &AppState, recipients: Vec<UserId>, presence: Presence) {
    if recipients.is_empty() {
        return;
    }
    let frame = match serde_json::to_string(&ServerFrame::Presence(presence)) {
        Ok(f) => f,
        Err(e) => {
            tracing::error!(error = %e, "cannot serialise presence");
            return;
        }
    };
    let signal = Signal {
        kind: SignalKind::Presence,
        recipients,
        frame: Arc::from(frame),
    };
    if let Err(e) = state
        .bus
        .publish(BusMessage::Signal(Arc::new(signal)))
        .await
    {
        tracing::warn!(error = %e, "cannot publish presence");
    }
}

/// The presence of everyone `user` may see.
pub async fn snapshot(state: &AppState, user: UserId) -> ApiResult<PresenceList> {
    let peers = state
        .store
        .presence_peers(user, state.config.presence.max_group_members)
        .await?;
    Ok(snapshot_from(state, &peers))
}

/// [`snapshot`] from peers already read.
pub fn snapshot_from(state: &AppState, peers: &[PresencePeer]) -> PresenceList {
    let users = peers
        .iter()
        .filter(|p| match p.visibility {
            Visibility::Everyone => true,
            Visibility::Contacts => p.contact,
            Visibility::Nobody => false,
        })
        .map(|p| {
            let online = state.presence.is_online(p.user);
            Presence {
                user: p.user,
                online,
                last_seen: if online { None } else { p.last_seen },
            }
        })
        .collect();
    PresenceList { users }
}

/// Runs until shutdown: marks timed-out users offline, records their last
/// seen, and announces it.
pub async fn sweeper(state: AppState) {
    let cfg = state.config.presence.clone();
    let timeout = Duration::from_millis(cfg.timeout_ms);
    let grace = Duration::from_millis(cfg.offline_grace_ms);
    let tick = (grace.min(timeout) / 4).clamp(Duration::from_millis(20), Duration::from_secs(1));
    let mut ticker = tokio::time::interval(tick);
    let mut shutdown = state.shutdown.clone();
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
        for user in state.presence.sweep(timeout, grace) {
            if let Err(e) = state.store.set_last_seen(user, now_ms()).await {
                tracing::warn!(error = %e, "cannot record last seen");
            }
            if let Err(e) = announce(&state, user, false).await {
                tracing::warn!(code = %e.code, "cannot announce presence: {}", e.message);
            }
        }
    }
}
