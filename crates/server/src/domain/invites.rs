//! Invite links: owners and admins make them (optionally expiring or
//! limited in uses) and revoke them; anyone signed in who has a link sees
//! what it leads to and joins with it, unless banned.

use super::conversations::require_member;
use super::policy::{self, Action};
use crate::auth::{Claims, now_ms};
use crate::error::{DomainError, Result};
use crate::state::AppState;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use natter_proto::*;
use natter_store::*;
use rand::RngCore;

/// Longest life of a link, in seconds (a year).
pub const MAX_EXPIRY_SECS: u64 = 31_536_000;
/// Shortest life of a link, in seconds.
pub const MIN_EXPIRY_SECS: u64 = 60;
/// Most joins a link may allow.
pub const MAX_USES: u32 = 100_000;

/// What every invalid link answers, whatever the reason, so a guess learns
/// nothing.
fn invalid() -> DomainError {
    DomainError::NotFound("no such invite link, or it expired, was revoked or was used up")
}

fn info(r: InviteRecord) -> InviteInfo {
    InviteInfo {
        token: r.token,
        conv: r.conv,
        created_by: r.created_by,
        created_at: r.created_at,
        expires_at: r.expires_at,
        max_uses: r.max_uses,
        uses: r.uses,
    }
}

/// Checks that the caller may manage the group's links.
async fn may_manage(state: &AppState, claims: &Claims, conv: ConversationId) -> Result<()> {
    let me = require_member(state, conv, claims.user).await?;
    let record = state
        .store
        .conversation(conv)
        .await?
        .ok_or(DomainError::NotMember)?;
    policy::check(record.kind, me.role, Action::CreateInvites)
}

/// Makes a link: 128 random bits, URL-safe.
pub async fn create(
    state: &AppState,
    claims: &Claims,
    conv: ConversationId,
    req: CreateInvite,
) -> Result<InviteInfo> {
    may_manage(state, claims, conv).await?;
    state.actions.invites.hit(&claims.user.to_string())?;
    if let Some(secs) = req.expires_in_secs
        && !(MIN_EXPIRY_SECS..=MAX_EXPIRY_SECS).contains(&secs)
    {
        return Err(DomainError::Invalid(format!(
            "expires_in_secs is {MIN_EXPIRY_SECS} to {MAX_EXPIRY_SECS}"
        )));
    }
    if let Some(uses) = req.max_uses
        && !(1..=MAX_USES).contains(&uses)
    {
        return Err(DomainError::Invalid(format!("max_uses is 1 to {MAX_USES}")));
    }
    let mut raw = [0u8; 16];
    rand::rng().fill_bytes(&mut raw);
    let now = now_ms();
    let record = state
        .store
        .create_invite(NewInvite {
            token: URL_SAFE_NO_PAD.encode(raw),
            conv,
            by: claims.user,
            now,
            expires_at: req.expires_in_secs.map(|s| now + (s as i64) * 1000),
            max_uses: req.max_uses,
        })
        .await?;
    Ok(info(record))
}

/// The group's links, for those who may manage them.
pub async fn list(state: &AppState, claims: &Claims, conv: ConversationId) -> Result<InviteList> {
    may_manage(state, claims, conv).await?;
    Ok(InviteList {
        invites: state
            .store
            .invites(conv)
            .await?
            .into_iter()
            .map(info)
            .collect(),
    })
}

/// Revokes a link of the group.
pub async fn revoke(
    state: &AppState,
    claims: &Claims,
    conv: ConversationId,
    token: String,
) -> Result<()> {
    may_manage(state, claims, conv).await?;
    if state.store.revoke_invite(conv, token, now_ms()).await? {
        Ok(())
    } else {
        Err(DomainError::NotFound("no such invite link"))
    }
}

/// What a usable link leads to, without joining.
pub async fn preview(state: &AppState, claims: &Claims, token: String) -> Result<InvitePreview> {
    let invite = state.store.invite(token).await?.ok_or_else(invalid)?;
    let member = state
        .store
        .membership(invite.conv, claims.user)
        .await?
        .is_some();
    // A member following the link again sees where it leads, whatever its
    // state, as joining with it lets them through.
    if !member && !invite.usable(now_ms()) {
        return Err(invalid());
    }
    let conv = state
        .store
        .conversation(invite.conv)
        .await?
        .ok_or_else(invalid)?;
    Ok(InvitePreview {
        conv: conv.id,
        kind: conv.kind,
        name: conv.name.unwrap_or_default(),
        description: conv.description,
        member_count: conv.member_count,
        member,
    })
}

/// Joins the group a link leads to (a member already: nothing changes).
pub async fn join(state: &AppState, claims: &Claims, token: String) -> Result<ConversationInfo> {
    state.actions.joins.hit(&claims.user.to_string())?;
    // Groups have a size limit; channels have none.
    let channel = match state.store.invite(token.clone()).await? {
        Some(invite) => state
            .store
            .conversation(invite.conv)
            .await?
            .is_some_and(|c| c.kind == ConversationKind::Channel),
        None => false,
    };
    let max_members = if channel {
        u64::MAX
    } else {
        state.config.limits.max_group_members as u64
    };
    let joined = state
        .store
        .join_by_invite(InviteJoin {
            token,
            user: claims.user,
            now: now_ms(),
            max_members,
        })
        .await
        .map_err(|e| match e {
            StoreError::NotFound => invalid(),
            StoreError::Invalid(_) => DomainError::Invalid(format!(
                "a group has at most {} members",
                state.config.limits.max_group_members
            )),
            other => other.into(),
        })?;
    let conv = match joined {
        Joined::New(c) => match c.item.as_ref() {
            LogItem::Event(e) => e.conv,
            LogItem::Membership(m) => m.conv,
            _ => return Err(DomainError::internal("a join committed a receipt")),
        },
        Joined::Already(conv) => conv,
    };
    super::conversations::conversation(state, claims, conv).await
}
