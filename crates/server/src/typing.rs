//! Typing indicators: never stored, throttled, and expiring by themselves.
//!
//! A `typing` start goes to the other members' devices with the time it
//! stays valid. Refreshes closer together than `typing.min_interval_ms` only
//! extend it; when nothing refreshes it within `typing.ttl_ms` the server
//! sends the stop itself, so a client that vanished mid-sentence does not
//! leave "typing…" on everyone's screen. Sending a message stops it too.
//! Conversations larger than `typing.max_group_members` show no typing.

use crate::auth::Claims;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use natter_bus::{BusMessage, Signal, SignalKind};
use natter_proto::{ConversationId, ErrorCode, ServerFrame, UserId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Entry {
    expires: Instant,
    last_sent: Instant,
}

/// Who is typing where, on this node.
#[derive(Default)]
pub struct Tracker {
    active: Mutex<HashMap<(ConversationId, UserId), Entry>>,
}

enum Action {
    Send,
    Absorbed,
}

impl Tracker {
    fn start(&self, key: (ConversationId, UserId), ttl: Duration, min: Duration) -> Action {
        let Ok(mut map) = self.active.lock() else {
            return Action::Absorbed;
        };
        let now = Instant::now();
        match map.get_mut(&key) {
            Some(e) if now.duration_since(e.last_sent) < min => {
                e.expires = now + ttl;
                Action::Absorbed
            }
            Some(e) => {
                e.expires = now + ttl;
                e.last_sent = now;
                Action::Send
            }
            None => {
                map.insert(
                    key,
                    Entry {
                        expires: now + ttl,
                        last_sent: now,
                    },
                );
                Action::Send
            }
        }
    }

    /// Removes an indicator; true when there was one.
    fn stop(&self, key: (ConversationId, UserId)) -> bool {
        self.active
            .lock()
            .map(|mut m| m.remove(&key).is_some())
            .unwrap_or(false)
    }

    fn expired(&self) -> Vec<(ConversationId, UserId)> {
        let Ok(mut map) = self.active.lock() else {
            return Vec::new();
        };
        let now = Instant::now();
        let gone: Vec<_> = map
            .iter()
            .filter(|(_, e)| e.expires <= now)
            .map(|(k, _)| *k)
            .collect();
        for k in &gone {
            map.remove(k);
        }
        gone
    }
}

/// Starts or stops the caller's typing indicator in a conversation.
pub async fn set(
    state: &AppState,
    claims: &Claims,
    conv: ConversationId,
    active: bool,
) -> ApiResult<()> {
    state
        .store
        .membership(conv, claims.user)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotMember,
                "you are not a member of this conversation",
            )
        })?;
    let cfg = &state.config.typing;
    let key = (conv, claims.user);
    if active {
        let action = state.typing.start(
            key,
            Duration::from_millis(cfg.ttl_ms),
            Duration::from_millis(cfg.min_interval_ms),
        );
        if let Action::Absorbed = action {
            return Ok(());
        }
    } else if !state.typing.stop(key) {
        return Ok(());
    }
    broadcast(state, conv, claims.user, active).await
}

/// Stops an indicator because its user sent a message.
pub async fn message_sent(state: &AppState, conv: ConversationId, user: UserId) {
    if state.typing.stop((conv, user))
        && let Err(e) = broadcast(state, conv, user, false).await
    {
        tracing::debug!(code = %e.code, "typing stop not sent: {}", e.message);
    }
}

async fn broadcast(
    state: &AppState,
    conv: ConversationId,
    user: UserId,
    active: bool,
) -> ApiResult<()> {
    let cfg = &state.config.typing;
    let Some(record) = state.store.conversation(conv).await? else {
        return Ok(());
    };
    if record.member_count > cfg.max_group_members {
        return Ok(());
    }
    let recipients: Vec<UserId> = state
        .store
        .members(conv)
        .await?
        .into_iter()
        .map(|m| m.id)
        .filter(|u| *u != user)
        .collect();
    let frame = ServerFrame::Typing {
        conv,
        user,
        active,
        expires_in_ms: active.then_some(cfg.ttl_ms),
    };
    let frame = serde_json::to_string(&frame).map_err(ApiError::internal)?;
    let signal = Signal {
        kind: SignalKind::Typing,
        recipients,
        frame: Arc::from(frame),
    };
    state
        .bus
        .publish(BusMessage::Signal(Arc::new(signal)))
        .await
        .map_err(ApiError::internal)
}

/// Runs until shutdown: sends the stop for indicators nobody refreshed.
pub async fn sweeper(state: AppState) {
    let ttl = Duration::from_millis(state.config.typing.ttl_ms);
    let tick = (ttl / 4).clamp(Duration::from_millis(20), Duration::from_secs(1));
    let mut ticker = tokio::time::interval(tick);
    let mut shutdown = state.shutdown.clone();
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
        for (conv, user) in state.typing.expired() {
            if let Err(e) = broadcast(&state, conv, user, false).await {
                tracing::debug!(code = %e.code, "typing expiry not sent: {}", e.message);
            }
        }
    }
}
