//! Typing indicators: never stored, throttled, and expiring by themselves.
//!
//! A `typing` start goes to the other members' devices with the time it
//! stays valid. Refreshes closer together than `typing.min_interval_ms` only
//! extend it; when nothing refreshes it within `typing.ttl_ms` the server
//! sends the stop itself, so a client that vanished mid-sentence does not
//! leave "typing…" on everyone's screen. Sending a message stops it too.
//! Conversations larger than `typing.max_group_members` show no typing.

use crate::auth::Claims;
use crate::cluster::TypingStart;
use crate::error::{DomainError, Result};
use crate::state::AppState;
use natter_bus::{BusMessage, Signal, SignalAudience, SignalKind};
use natter_proto::{ConversationId, ConversationKind, ServerFrame, UserId};
use std::sync::Arc;
use std::time::Duration;

/// Starts or stops the caller's typing indicator in a conversation.
pub async fn set(
    state: &AppState,
    claims: &Claims,
    conv: ConversationId,
    active: bool,
) -> Result<()> {
    state
        .store
        .membership(conv, claims.user)
        .await?
        .ok_or(DomainError::NotMember)?;
    let cfg = &state.config.typing;
    if active {
        let start = state.typing.start(
            conv,
            claims.user,
            Duration::from_millis(cfg.ttl_ms),
            Duration::from_millis(cfg.min_interval_ms),
        );
        if start == TypingStart::Absorbed {
            return Ok(());
        }
    } else if !state.typing.stop(conv, claims.user) {
        return Ok(());
    }
    broadcast(state, conv, claims.user, active).await
}

/// Stops an indicator because its user sent a message (committed at
/// `position`). The stop follows the message: it is sent once this node has
/// handed the message to its connections, so no connection gets the stop
/// first (each connection keeps that order, and reads the store before a
/// signal that came after something it dropped). The sender's answer does
/// not wait for it.
pub fn message_sent(
    state: &AppState,
    conv: ConversationId,
    user: UserId,
    position: natter_proto::Cursor,
) {
    if !state.typing.stop(conv, user) {
        return;
    }
    let state = state.clone();
    tokio::spawn(async move {
        // Bounded: a batch lost on the way must not keep the stop forever
        // (the connections then read the store, which has the message).
        state
            .hub
            .dispatched(position, std::time::Duration::from_secs(1))
            .await;
        if let Err(e) = broadcast(&state, conv, user, false).await {
            tracing::debug!(error = %e, "typing stop not sent");
        }
    });
}

async fn broadcast(
    state: &AppState,
    conv: ConversationId,
    user: UserId,
    active: bool,
) -> Result<()> {
    let cfg = &state.config.typing;
    let Some(record) = state.store.conversation(conv).await? else {
        return Ok(());
    };
    // Channels show no typing: their readers are an audience.
    if record.member_count > cfg.max_group_members || record.kind == ConversationKind::Channel {
        return Ok(());
    }
    // Nothing reaches across a block, not even typing.
    if record.kind == ConversationKind::Direct {
        for peer in state.store.member_ids(conv).await? {
            if peer != user && super::blocks::between(state, user, peer).await? {
                return Ok(());
            }
        }
    }
    let frame = ServerFrame::Typing {
        conv,
        user,
        active,
        expires_in_ms: active.then_some(cfg.ttl_ms),
    };
    let frame = serde_json::to_string(&frame).map_err(DomainError::internal)?;
    let signal = Signal {
        kind: SignalKind::Typing,
        // Each node finds the members connected to it; no member list is
        // read or sent.
        to: SignalAudience::Conversation { conv, except: user },
        frame: Arc::from(frame),
    };
    state
        .bus
        .publish(BusMessage::Signal(Arc::new(signal)))
        .await
        .map_err(DomainError::internal)
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
                tracing::debug!(error = %e, "typing expiry not sent");
            }
        }
    }
}
