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
//! Who is connected is a cluster seam (`cluster::PresenceRegistry`): in
//! this process for the embedded deployment, shared for a cluster.

use crate::auth::now_ms;
use crate::error::Result;
use crate::state::AppState;
use natter_bus::{BusMessage, Signal, SignalAudience, SignalKind};
use natter_proto::{Presence, PresenceList, ServerFrame, UserId, Visibility};
use natter_store::{PresencePeer, UserRecord};
use std::sync::Arc;
use std::time::Duration;

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
    if state.presence.heard(user)
        && let Err(e) = announce(state, user, false).await
    {
        tracing::warn!(error = %e, "cannot announce presence");
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
        tracing::warn!(error = %e, "cannot announce presence");
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
        .filter(|p| !p.blocked)
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
pub async fn announce(state: &AppState, user: UserId, privacy_changed: bool) -> Result<()> {
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
        to: SignalAudience::Users(recipients),
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
pub async fn snapshot(state: &AppState, user: UserId) -> Result<PresenceList> {
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
        .filter(|p| !p.blocked)
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
                tracing::warn!(error = %e, "cannot announce presence");
            }
        }
    }
}
