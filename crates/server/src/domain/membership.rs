//! Who is in a group and with what role, once it exists: the paged member
//! list, leaving, removal and bans, roles and ownership. Every check goes
//! through `policy`; a member may act on another only when their role
//! outranks the other's.

use super::conversations::require_member;
use super::policy::{self, Action};
use crate::auth::{Claims, now_ms};
use crate::error::{DomainError, Result};
use crate::state::AppState;
use natter_proto::*;
use natter_store::*;

/// Page size of the member list when the client names none (a whole group
/// at the default group size).
pub const DEFAULT_MEMBER_LIMIT: u32 = 1000;
/// The largest page of the member list.
pub const MAX_MEMBER_LIMIT: u32 = 1000;

/// The caller's membership and the conversation's record.
async fn acting(
    state: &AppState,
    claims: &Claims,
    conv: ConversationId,
) -> Result<(ConversationRecord, Membership)> {
    let me = require_member(state, conv, claims.user).await?;
    let record = state
        .store
        .conversation(conv)
        .await?
        .ok_or(DomainError::NotMember)?;
    Ok((record, me))
}

/// The group, when the caller may change its name, description and
/// avatar.
pub(crate) async fn may_edit_info(
    state: &AppState,
    claims: &Claims,
    conv: ConversationId,
) -> Result<ConversationRecord> {
    let (record, me) = acting(state, claims, conv).await?;
    if !record.kind.is_multi() {
        return Err(DomainError::Invalid(
            "a direct conversation shows the other person's avatar".into(),
        ));
    }
    policy::check(record.kind, me.role, Action::EditInfo)?;
    Ok(record)
}

/// The target's membership, which the caller's role must outrank.
async fn outranked(
    state: &AppState,
    conv: ConversationId,
    me: &Membership,
    user: UserId,
) -> Result<Membership> {
    let target = state
        .store
        .membership(conv, user)
        .await?
        .ok_or(DomainError::NotFound("no such member"))?;
    if !me.role.outranks(target.role) {
        return Err(DomainError::Forbidden(
            "you may only act on members whose role is below yours",
        ));
    }
    Ok(target)
}

/// What a departure answers: its event, or a subscriber's silent item.
fn departure(c: Committed) -> Result<Departure> {
    match c.item.as_ref() {
        LogItem::Event(e) => Ok(Departure::Event(e.clone())),
        LogItem::Membership(m) => Ok(Departure::Membership(m.clone())),
        _ => Err(DomainError::internal("a departure committed a receipt")),
    }
}

fn committed_event(c: Committed) -> Result<Event> {
    c.event()
        .cloned()
        .ok_or_else(|| DomainError::internal("a membership change committed no event"))
}

fn not_yourself(claims: &Claims, user: UserId, what: &'static str) -> Result<()> {
    if claims.user == user {
        return Err(DomainError::Invalid(what.into()));
    }
    Ok(())
}

/// A member position on the wire: `<joined_seq>.<user id>`. Opaque to
/// clients.
fn format_position(m: &MemberRecord) -> String {
    format!("{}.{}", m.joined_seq, m.id)
}

fn parse_position(s: &str) -> Option<MemberPosition> {
    let (seq, user) = s.split_once('.')?;
    Some(MemberPosition {
        joined_seq: seq.parse().ok()?,
        user: user.parse().ok()?,
    })
}

/// A page of the members, for a member.
pub async fn members(
    state: &AppState,
    claims: &Claims,
    conv: ConversationId,
    query: MemberQuery,
) -> Result<MemberList> {
    let me = require_member(state, conv, claims.user).await?;
    if me.role == Role::Subscriber {
        // A channel's subscribers do not see who else reads it.
        return Err(DomainError::Forbidden(
            "a channel's subscribers cannot list its members",
        ));
    }
    let limit = match query.limit {
        None => DEFAULT_MEMBER_LIMIT,
        Some(n) if (1..=MAX_MEMBER_LIMIT).contains(&n) => n,
        Some(_) => {
            return Err(DomainError::Invalid(format!(
                "limit is 1 to {MAX_MEMBER_LIMIT}"
            )));
        }
    };
    let after = query
        .after
        .as_deref()
        .map(|a| {
            parse_position(a)
                .ok_or_else(|| DomainError::Invalid("after is not a member position".into()))
        })
        .transpose()?;
    let mut page = state.store.member_page(conv, after, limit + 1).await?;
    let more = page.len() > limit as usize;
    page.truncate(limit as usize);
    let next = if more {
        page.last().map(format_position)
    } else {
        None
    };
    Ok(MemberList {
        members: page
            .into_iter()
            .map(|m| MemberInfo {
                id: m.id,
                username: m.username,
                display_name: m.display_name,
                avatar: m.avatar,
                role: m.role,
                joined_seq: m.joined_seq,
                muted_until: m.muted_until,
            })
            .collect(),
        next,
    })
}

/// The caller leaves a group: a `member_left` event reaches every member
/// and the caller's own devices, and from it on the caller is no member.
/// A direct conversation cannot be left (block the other person instead),
/// and the owner cannot leave while others remain (they transfer
/// ownership first), so a group never lacks an owner.
pub async fn leave(state: &AppState, claims: &Claims, conv: ConversationId) -> Result<Departure> {
    let (record, me) = acting(state, claims, conv).await?;
    if record.kind == ConversationKind::Direct {
        return Err(DomainError::Forbidden(
            "a direct conversation cannot be left; block the user instead",
        ));
    }
    if me.role == Role::Owner && record.member_count > 1 {
        return Err(DomainError::Forbidden(
            "the group's owner cannot leave while others remain; transfer ownership first",
        ));
    }
    let committed = state
        .store
        .leave(conv, claims.user, now_ms())
        .await
        .map_err(|e| match e {
            StoreError::NotMember => DomainError::NotMember,
            other => other.into(),
        })?;
    departure(committed)
}

/// Removes a member whose role is below the caller's.
pub async fn remove(
    state: &AppState,
    claims: &Claims,
    conv: ConversationId,
    user: UserId,
) -> Result<Departure> {
    let (record, me) = acting(state, claims, conv).await?;
    policy::check(record.kind, me.role, Action::RemoveMembers)?;
    not_yourself(
        claims,
        user,
        "to leave, use POST /v1/conversations/{id}/leave",
    )?;
    outranked(state, conv, &me, user).await?;
    let committed = state
        .store
        .remove(Removal {
            conv,
            by: claims.user,
            user,
            ban: false,
            now: now_ms(),
        })
        .await?
        .ok_or_else(|| DomainError::internal("a removal committed nothing"))?;
    departure(committed)
}

/// Bans a user from a group (removing them if a member below the caller's
/// role); banning again answers the same ban.
pub async fn ban(
    state: &AppState,
    claims: &Claims,
    conv: ConversationId,
    user: UserId,
) -> Result<BanInfo> {
    let (record, me) = acting(state, claims, conv).await?;
    policy::check(record.kind, me.role, Action::RemoveMembers)?;
    not_yourself(claims, user, "you cannot ban yourself")?;
    if state.store.membership(conv, user).await?.is_some() {
        outranked(state, conv, &me, user).await?;
    }
    state
        .store
        .remove(Removal {
            conv,
            by: claims.user,
            user,
            ban: true,
            now: now_ms(),
        })
        .await
        .map_err(|e| match e {
            StoreError::NotFound => DomainError::no_user(),
            other => other.into(),
        })?;
    state
        .store
        .bans(conv)
        .await?
        .into_iter()
        .find(|b| b.user == user)
        .map(ban_info)
        .ok_or_else(|| DomainError::internal("a ban that was placed is not listed"))
}

fn ban_info(b: BanRecord) -> BanInfo {
    BanInfo {
        user: UserInfo::named(b.user, b.username),
        by: b.by,
        banned_at: b.banned_at,
    }
}

/// Lifts a ban (none to lift is not an error).
pub async fn unban(
    state: &AppState,
    claims: &Claims,
    conv: ConversationId,
    user: UserId,
) -> Result<()> {
    let (record, me) = acting(state, claims, conv).await?;
    policy::check(record.kind, me.role, Action::RemoveMembers)?;
    state.store.unban(conv, claims.user, user, now_ms()).await?;
    Ok(())
}

/// The users banned from a group, for those who may ban.
pub async fn bans(state: &AppState, claims: &Claims, conv: ConversationId) -> Result<BanList> {
    let (record, me) = acting(state, claims, conv).await?;
    policy::check(record.kind, me.role, Action::RemoveMembers)?;
    Ok(BanList {
        bans: state
            .store
            .bans(conv)
            .await?
            .into_iter()
            .map(ban_info)
            .collect(),
    })
}

/// Gives a member whose role is below the caller's a new role (admin,
/// moderator or member).
pub async fn set_role(
    state: &AppState,
    claims: &Claims,
    conv: ConversationId,
    user: UserId,
    role: Role,
) -> Result<Event> {
    let (record, me) = acting(state, claims, conv).await?;
    policy::check(record.kind, me.role, Action::ChangeRoles)?;
    match role {
        Role::Owner => {
            return Err(DomainError::Invalid(
                "to make someone the owner, transfer ownership".into(),
            ));
        }
        Role::Admin | Role::Moderator | Role::Member if record.kind == ConversationKind::Group => {}
        Role::Admin | Role::Moderator | Role::Subscriber
            if record.kind == ConversationKind::Channel => {}
        _ if record.kind == ConversationKind::Channel => {
            return Err(DomainError::Invalid(
                "a channel member's role is admin, moderator or subscriber".into(),
            ));
        }
        _ => {
            return Err(DomainError::Invalid(
                "a group member's role is admin, moderator or member".into(),
            ));
        }
    }
    not_yourself(claims, user, "you cannot change your own role")?;
    outranked(state, conv, &me, user).await?;
    let committed = state
        .store
        .set_role(RoleChange {
            conv,
            by: claims.user,
            user,
            role,
            now: now_ms(),
        })
        .await?;
    committed_event(committed)
}

/// The owner hands the group to another member and becomes an admin.
pub async fn transfer_ownership(
    state: &AppState,
    claims: &Claims,
    conv: ConversationId,
    user: UserId,
) -> Result<Event> {
    let (record, me) = acting(state, claims, conv).await?;
    policy::check(record.kind, me.role, Action::ChangeRoles)?;
    if me.role != Role::Owner {
        return Err(DomainError::Forbidden(
            "only the owner can transfer ownership",
        ));
    }
    not_yourself(claims, user, "you are the owner already")?;
    state
        .store
        .membership(conv, user)
        .await?
        .ok_or(DomainError::NotFound("no such member"))?;
    let committed = state
        .store
        .transfer_ownership(conv, claims.user, user, now_ms())
        .await?;
    committed_event(committed)
}

/// Longest slow mode, in seconds (a day).
pub const MAX_SLOW_MODE_SECS: u32 = 86_400;
/// Shortest and longest mute, in seconds.
pub const MUTE_SECS: std::ops::RangeInclusive<u64> = 60..=31_536_000;

/// Mutes a member whose role is below the caller's for `secs`, or lifts
/// their mute (`None`); answers the `member_muted` or `member_unmuted`
/// event.
pub async fn mute(
    state: &AppState,
    claims: &Claims,
    conv: ConversationId,
    user: UserId,
    secs: Option<u64>,
) -> Result<Event> {
    let (record, me) = acting(state, claims, conv).await?;
    policy::check(record.kind, me.role, Action::MuteMembers)?;
    not_yourself(claims, user, "you cannot mute yourself")?;
    if let Some(secs) = secs
        && !MUTE_SECS.contains(&secs)
    {
        return Err(DomainError::Invalid(format!(
            "a mute lasts {} to {} seconds",
            MUTE_SECS.start(),
            MUTE_SECS.end()
        )));
    }
    outranked(state, conv, &me, user).await?;
    let now = now_ms();
    let until = secs.map(|s| now + (s as i64) * 1000);
    let committed = state
        .store
        .set_muted(conv, claims.user, user, until, now)
        .await?;
    committed_event(committed)
}

/// Longest group description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 1024;
/// Longest history window a group may offer people who join, in days.
pub const MAX_HISTORY_DAYS: u32 = 3650;

/// A description as stored (trimmed; empty for none), or why it is refused.
pub fn check_description(d: &str) -> Result<String> {
    match super::text::check_description(d, MAX_DESCRIPTION_CHARS) {
        Some(d) => Ok(d),
        None => Err(DomainError::Invalid(format!(
            "a description has at most {MAX_DESCRIPTION_CHARS} characters and no control (but line breaks) or bidirectional-override characters"
        ))),
    }
}

/// Changes a group's name, description or history setting; answers the
/// group as the caller sees it after the change.
pub async fn update_group(
    state: &AppState,
    claims: &Claims,
    conv: ConversationId,
    req: UpdateGroup,
) -> Result<ConversationInfo> {
    let (record, me) = acting(state, claims, conv).await?;
    if req.name.is_none()
        && req.description.is_none()
        && req.history.is_none()
        && req.slow_mode_secs.is_none()
    {
        return Err(DomainError::Invalid(
            "give a name, a description, a history setting or a slow mode".into(),
        ));
    }
    if let Some(secs) = req.slow_mode_secs {
        if secs > MAX_SLOW_MODE_SECS {
            return Err(DomainError::Invalid(format!(
                "slow_mode_secs is 0 to {MAX_SLOW_MODE_SECS}"
            )));
        }
        policy::check(record.kind, me.role, Action::SetSlowMode)?;
    }
    if req.name.is_some() || req.description.is_some() {
        policy::check(record.kind, me.role, Action::EditInfo)?;
    }
    if req.history.is_some() {
        policy::check(record.kind, me.role, Action::SetHistoryVisibility)?;
    }
    let name = req
        .name
        .map(|n| {
            super::text::check_name(&n, 128).ok_or_else(|| {
                DomainError::Invalid(
                    "group names have 1 to 128 characters, something visible among them, and no control or bidirectional-override characters".into(),
                )
            })
        })
        .transpose()?;
    let description = req.description.map(|d| check_description(&d)).transpose()?;
    if let Some(HistoryVisibility::Days { days }) = req.history
        && !(1..=MAX_HISTORY_DAYS).contains(&days)
    {
        return Err(DomainError::Invalid(format!(
            "history days are 1 to {MAX_HISTORY_DAYS}"
        )));
    }
    state
        .store
        .update_group(GroupUpdate {
            conv,
            by: claims.user,
            name,
            description,
            history: req.history,
            slow_mode_secs: req.slow_mode_secs,
            avatar: None,
            now: now_ms(),
        })
        .await?;
    super::conversations::conversation(state, claims, conv).await
}
