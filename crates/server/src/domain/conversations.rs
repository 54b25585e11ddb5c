//! Conversations and membership: create, look up, list, add members,
//! member lists. Permission checks go through `policy`.

use super::accounts::user_info;
use super::policy::{self, Action};
use crate::auth::{Claims, now_ms};
use crate::error::{DomainError, Result};
use crate::state::AppState;
use natter_proto::*;
use natter_store::*;

pub(crate) async fn require_member(
    state: &AppState,
    conv: ConversationId,
    user: UserId,
) -> Result<Membership> {
    state
        .store
        .membership(conv, user)
        .await?
        .ok_or(DomainError::NotMember)
}

/// A summary as its member sees it: peer read hidden unless both share read
/// receipts.
fn summary_info(s: ConversationSummary, viewer_shares: bool) -> ConversationInfo {
    let peer_receipt = match (&s.peer, s.peer_watermarks) {
        (Some(peer), Some(marks)) => Some(MemberReceipt {
            user: peer.id,
            delivered: marks.delivered,
            read: if viewer_shares && peer.privacy.read_receipts {
                marks.read
            } else {
                0
            },
        }),
        _ => None,
    };
    ConversationInfo {
        id: s.conv.id,
        kind: s.conv.kind,
        name: s.conv.name,
        description: s.conv.description,
        avatar: s.conv.avatar,
        history: s.conv.kind.is_multi().then_some(s.conv.history),
        visible_from: s.visible_from,
        slow_mode_secs: s.conv.slow_mode_secs,
        muted_until: s.muted_until,
        creator: s.conv.creator,
        created_at: s.conv.created_at,
        member_count: s.conv.member_count,
        peer: s.peer.map(user_info),
        last_seq: s.conv.last_seq,
        last_message: s.last_message,
        read_seq: s.mine.read,
        unread: s.unread,
        unread_mentions: s.unread_mentions,
        peer_receipt,
        request: s.request,
        settings: s.settings,
        role: s.role,
    }
}

/// Changes my own settings for a conversation; every device of mine gets
/// the result as a `settings` entry of my log.
pub async fn set_settings(
    state: &AppState,
    claims: &Claims,
    conv: ConversationId,
    change: UpdateSettings,
) -> Result<SettingsChange> {
    if change == UpdateSettings::default() {
        return Err(DomainError::Invalid(
            "give at least one of muted, hide_badge, archived, pinned, marked_unread".into(),
        ));
    }
    let committed = state
        .store
        .set_settings(SettingsUpdate {
            conv,
            user: claims.user,
            change,
            now: now_ms(),
        })
        .await?;
    match committed.item.as_ref() {
        LogItem::Settings(s) => Ok(s.clone()),
        _ => Err(DomainError::internal(
            "a settings change committed something else",
        )),
    }
}

pub(super) async fn viewer_shares_reads(state: &AppState, user: UserId) -> Result<bool> {
    Ok(state
        .store
        .user(user)
        .await?
        .map(|u| u.privacy.read_receipts)
        .unwrap_or(true))
}

/// One conversation, for a member.
pub async fn conversation(
    state: &AppState,
    claims: &Claims,
    conv: ConversationId,
) -> Result<ConversationInfo> {
    // Not a member and no such conversation answer alike.
    let summary = state
        .store
        .conversation_of(claims.user, conv)
        .await?
        .ok_or(DomainError::NotMember)?;
    let shares = viewer_shares_reads(state, claims.user).await?;
    Ok(summary_info(summary, shares))
}

/// Page size of the conversation list when the client names none.
pub const DEFAULT_LIST_LIMIT: u32 = 100;
/// The largest page of the conversation list.
pub const MAX_LIST_LIMIT: u32 = 500;

/// A page of the caller's conversations, newest activity first, with unread
/// counts, and the unread total over all of them.
pub async fn conversations(
    state: &AppState,
    claims: &Claims,
    query: ConversationQuery,
) -> Result<ConversationList> {
    let limit = match query.limit {
        None => DEFAULT_LIST_LIMIT,
        Some(n) if (1..=MAX_LIST_LIMIT).contains(&n) => n,
        Some(_) => {
            return Err(DomainError::Invalid(format!(
                "limit is 1 to {MAX_LIST_LIMIT}"
            )));
        }
    };
    let after = query
        .before
        .as_deref()
        .map(|b| {
            parse_list_position(b)
                .ok_or_else(|| DomainError::Invalid("before is not a list position".into()))
        })
        .transpose()?;
    let shares = viewer_shares_reads(state, claims.user).await?;
    // One more than the page shows whether there is a next one.
    let mut page = state
        .store
        .conversation_page(
            claims.user,
            ListQuery {
                limit: limit + 1,
                after,
                request: query.request,
                archived: query.archived,
                pinned: query.pinned,
            },
        )
        .await?;
    let more = page.len() > limit as usize;
    page.truncate(limit as usize);
    let next = if more {
        page.last()
            .map(|s| format_list_position(s.activity, s.conv.id))
    } else {
        None
    };
    let conversations: Vec<ConversationInfo> =
        page.into_iter().map(|s| summary_info(s, shares)).collect();
    let unread_total = state.store.unread_total(claims.user).await?;
    Ok(ConversationList {
        conversations,
        unread_total,
        next,
    })
}

/// A list position on the wire: `<activity ms>.<conversation id>`. Clients
/// treat it as opaque.
fn format_list_position(activity: i64, conv: ConversationId) -> String {
    format!("{activity}.{conv}")
}

fn parse_list_position(s: &str) -> Option<ListPosition> {
    let (activity, conv) = s.split_once('.')?;
    Some(ListPosition {
        activity: activity.parse().ok()?,
        conv: conv.parse().ok()?,
    })
}

/// Creates a group, or finds or creates a direct conversation. The bool is
/// true when something new was created.
pub async fn create_conversation(
    state: &AppState,
    claims: &Claims,
    req: CreateConversation,
) -> Result<(ConversationInfo, bool)> {
    let mut described = None;
    let (kind, name, members) = match req {
        CreateConversation::Direct { user } => {
            if user == claims.user {
                return Err(DomainError::Invalid(
                    "a direct conversation needs another user".into(),
                ));
            }
            (ConversationKind::Direct, None, vec![claims.user, user])
        }
        CreateConversation::Group { name, members } => {
            state.actions.group_creates.hit(&claims.user.to_string())?;
            let name = super::text::check_name(&name, 128).ok_or_else(|| {
                DomainError::Invalid(
                    "group names have 1 to 128 characters, something visible among them, and no control or bidirectional-override characters".into(),
                )
            })?;
            let mut all = vec![claims.user];
            for m in members {
                if !all.contains(&m) {
                    all.push(m);
                }
            }
            if all.len() > state.config.limits.max_group_members {
                return Err(too_many_members(state));
            }
            (ConversationKind::Group, Some(name), all)
        }
        CreateConversation::Channel { name, description } => {
            state.actions.group_creates.hit(&claims.user.to_string())?;
            let name = super::text::check_name(&name, 128).ok_or_else(|| {
                DomainError::Invalid(
                    "channel names have 1 to 128 characters, something visible among them, and no control or bidirectional-override characters".into(),
                )
            })?;
            described = description
                .map(|d| super::membership::check_description(&d))
                .transpose()?
                .filter(|d| !d.is_empty());
            (ConversationKind::Channel, Some(name), vec![claims.user])
        }
    };
    let members_of_new = members.clone();
    let created = state
        .store
        .create_conversation(NewConversation {
            id: ConversationId::new(),
            kind,
            name,
            description: described,
            creator: claims.user,
            members,
            now: now_ms(),
        })
        .await
        .map_err(unknown_user)?;
    let (id, new) = match created {
        Created::New(c) => (
            c.event()
                .ok_or_else(|| DomainError::internal("creation committed no event"))?
                .conv,
            true,
        ),
        Created::Existing(id) => (id, false),
    };
    if new {
        introduce(state, &members_of_new).await;
    }
    Ok((conversation(state, claims, id).await?, new))
}

/// Adds members to a group; the policy says who may.
pub async fn add_members(
    state: &AppState,
    claims: &Claims,
    conv: ConversationId,
    users: Vec<UserId>,
) -> Result<ConversationInfo> {
    let me = require_member(state, conv, claims.user).await?;
    let record = state
        .store
        .conversation(conv)
        .await?
        .ok_or(DomainError::NotFound("no such conversation"))?;
    policy::check(record.kind, me.role, Action::AddMembers)?;
    state.actions.invites.hit(&claims.user.to_string())?;
    if users.is_empty() {
        return Err(DomainError::Invalid("name 1 or more users to add".into()));
    }
    if users.len() > state.config.limits.max_group_members {
        return Err(too_many_members(state));
    }
    if record.kind == ConversationKind::Group
        && record.member_count as usize + users.len() > state.config.limits.max_group_members
    {
        let current: std::collections::HashSet<UserId> =
            state.store.member_ids(conv).await?.into_iter().collect();
        let fresh = users.iter().filter(|u| !current.contains(u)).count();
        if current.len() + fresh > state.config.limits.max_group_members {
            return Err(too_many_members(state));
        }
    }
    let added = state
        .store
        .add_members(NewMembers {
            conv,
            by: claims.user,
            users,
            now: now_ms(),
        })
        .await
        .map_err(unknown_user)?;
    if added.is_some() && record.kind == ConversationKind::Group {
        let everyone = state.store.member_ids(conv).await?;
        introduce(state, &everyone).await;
    }
    conversation(state, claims, conv).await
}

/// People who just came to share a small conversation learn each other's
/// presence at once, instead of at their next snapshot.
async fn introduce(state: &AppState, members: &[UserId]) {
    if members.len() as u64 > state.config.presence.max_group_members {
        return;
    }
    for m in members {
        if let Err(e) = super::presence::announce(state, *m, false).await {
            tracing::warn!(error = %e, "cannot announce presence");
        }
    }
}

/// In membership writes, `NotFound` means one of the named users does not
/// exist.
fn unknown_user(e: StoreError) -> DomainError {
    match e {
        StoreError::NotFound => DomainError::no_user(),
        other => other.into(),
    }
}

fn too_many_members(state: &AppState) -> DomainError {
    DomainError::Invalid(format!(
        "a group has at most {} members",
        state.config.limits.max_group_members
    ))
}
