//! Blocking and message requests.
//!
//! A block is one user's, but it works both ways: while either has blocked
//! the other, neither can write in their direct conversation or start a new
//! one, put the other in a group, or see the other's presence. Groups they
//! already share go on as before.
//!
//! A direct conversation is a message request to the member who did not
//! start it until they accept it or send in it; until then the two are not
//! contacts (presence shared with "contacts" stays hidden).

use crate::auth::{Claims, now_ms};
use crate::error::{DomainError, Result};
use crate::state::AppState;
use natter_proto::*;
use natter_store::{BlockRecord, StoreError};

fn block_info(b: BlockRecord) -> BlockInfo {
    BlockInfo {
        user: UserInfo::named(b.user, b.username),
        blocked_at: b.blocked_at,
    }
}

/// The caller blocks `target`; blocking again answers the same block.
pub async fn block(state: &AppState, claims: &Claims, target: UserId) -> Result<BlockInfo> {
    if target == claims.user {
        return Err(DomainError::Invalid("you cannot block yourself".into()));
    }
    let record = state
        .store
        .block(claims.user, target, now_ms())
        .await
        .map_err(|e| match e {
            StoreError::NotFound => DomainError::no_user(),
            other => other.into(),
        })?;
    reannounce(state, claims.user, target).await;
    Ok(block_info(record))
}

/// The caller lifts their block of `target` (nothing to lift is not an
/// error).
pub async fn unblock(state: &AppState, claims: &Claims, target: UserId) -> Result<()> {
    if state.store.unblock(claims.user, target).await? {
        reannounce(state, claims.user, target).await;
    }
    Ok(())
}

/// The users the caller has blocked, most recent first.
pub async fn blocks(state: &AppState, claims: &Claims) -> Result<BlockList> {
    Ok(BlockList {
        blocks: state
            .store
            .blocks_of(claims.user)
            .await?
            .into_iter()
            .map(block_info)
            .collect(),
    })
}

/// The caller accepts a message request (a no-op for anything else).
pub async fn accept(
    state: &AppState,
    claims: &Claims,
    conv: ConversationId,
) -> Result<ConversationInfo> {
    if state.store.accept_request(conv, claims.user).await? {
        became_contacts(state, conv).await;
    }
    super::conversations::conversation(state, claims, conv).await
}

/// Whether either of `a` and `b` has blocked the other.
pub(super) async fn between(state: &AppState, a: UserId, b: UserId) -> Result<bool> {
    let blocked_by = |list: Vec<BlockRecord>, who: UserId| list.iter().any(|r| r.user == who);
    Ok(blocked_by(state.store.blocks_of(a).await?, b)
        || blocked_by(state.store.blocks_of(b).await?, a))
}

/// After `user` accepted the direct conversation `conv`: the two are
/// contacts now, so each learns the other's presence at once if their
/// setting allows contacts.
pub(super) async fn became_contacts(state: &AppState, conv: ConversationId) {
    let members = match state.store.member_ids(conv).await {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read members");
            return;
        }
    };
    for m in members {
        if let Err(e) = super::presence::announce(state, m, false).await {
            tracing::warn!(error = %e, "cannot announce presence");
        }
    }
}

/// After a block between `a` and `b` was placed or lifted: each side is
/// re-announced as after a privacy change, so the other gets the truth or,
/// once, an unknown state.
async fn reannounce(state: &AppState, a: UserId, b: UserId) {
    for u in [a, b] {
        if let Err(e) = super::presence::announce(state, u, true).await {
            tracing::warn!(error = %e, "cannot announce presence");
        }
    }
}
