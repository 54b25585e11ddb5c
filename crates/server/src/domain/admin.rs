//! What server admins may do: suspend and unsuspend accounts. An admin is
//! a user the operator promoted against the data folder (`natter admin
//! promote`); there is no way to become one over the API.

use super::accounts::announce_revoked;
use crate::auth::{Claims, now_ms};
use crate::error::{DomainError, Result};
use crate::state::AppState;
use natter_proto::*;
use natter_store::*;

/// The caller, who must be a server admin.
pub(super) async fn admin(state: &AppState, claims: &Claims) -> Result<UserRecord> {
    state
        .store
        .user(claims.user)
        .await?
        .filter(|u| u.admin)
        .ok_or(DomainError::Forbidden(
            "only the server's admins may do this",
        ))
}

/// The target account, which must exist and not be an admin.
async fn target(state: &AppState, claims: &Claims, user: UserId) -> Result<UserRecord> {
    if user == claims.user {
        return Err(DomainError::Invalid("you cannot suspend yourself".into()));
    }
    let record = state
        .store
        .user(user)
        .await?
        .ok_or_else(DomainError::no_user)?;
    if record.admin {
        return Err(DomainError::Forbidden(
            "an admin cannot be suspended; demote them first",
        ));
    }
    Ok(record)
}

/// Suspends an account: every session is revoked and its live connections
/// close at once; logging in is refused until the suspension is lifted.
/// Suspending again keeps the first time.
pub async fn suspend(state: &AppState, claims: &Claims, user: UserId) -> Result<Suspension> {
    admin(state, claims).await?;
    let record = target(state, claims, user).await?;
    let at = match record.suspended_at {
        Some(at) => at,
        None => {
            let at = now_ms();
            for device in state.store.set_suspended(user, Some(at)).await? {
                announce_revoked(state, user, device).await;
            }
            at
        }
    };
    Ok(Suspension {
        user: UserInfo::named(record.id, record.username),
        suspended_at: at,
    })
}

/// Lifts a suspension (none is not an error); the user logs in again.
pub async fn unsuspend(state: &AppState, claims: &Claims, user: UserId) -> Result<()> {
    admin(state, claims).await?;
    target(state, claims, user).await?;
    state.store.set_suspended(user, None).await?;
    Ok(())
}
