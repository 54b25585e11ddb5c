//! The domain operations behind the HTTP API and the live transports:
//! validation, permissions, and the calls into the store. Handlers only
//! translate between the wire and these functions.

use crate::auth::{
    Claims, check_password, new_refresh_token, normalize_username, now_ms, token_hash,
};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use natter_bus::BusMessage;
use natter_proto::*;
use natter_store::*;
use std::net::IpAddr;

/// Registers an account and logs it in on a first device.
pub async fn register(
    state: &AppState,
    creds: Credentials,
    addr: IpAddr,
) -> ApiResult<AuthSession> {
    state.login_by_address.hit(&format!("addr:{addr}"))?;
    let username = normalize_username(&creds.username)?;
    check_password(&creds.password, &username)?;
    let device_name = device_name(creds.device_name.as_deref())?;
    if state.store.user_by_name(&username).await?.is_some() {
        return Err(ApiError::new(
            ErrorCode::UsernameTaken,
            "that username is taken",
        ));
    }
    let hash = state.passwords.hash(creds.password).await?;
    let user = state
        .store
        .create_user(NewUser {
            id: UserId::new(),
            username,
            password_hash: hash,
            now: now_ms(),
        })
        .await?;
    new_session(state, &user, device_name).await
}

/// Checks a password and opens a device session.
pub async fn login(state: &AppState, creds: Credentials, addr: IpAddr) -> ApiResult<AuthSession> {
    state.login_by_address.hit(&format!("addr:{addr}"))?;
    let device_name = device_name(creds.device_name.as_deref())?;
    let username = creds.username.trim().to_lowercase();
    if username.is_empty() || username.len() > 64 || creds.password.len() > 1024 {
        return Err(ApiError::new(
            ErrorCode::InvalidCredentials,
            "wrong username or password",
        ));
    }
    let account_key = format!("user:{username}");
    state.login_by_account.hit(&account_key)?;
    let user = state.store.user_by_name(&username).await?;
    let ok = state
        .passwords
        .verify(
            creds.password,
            user.as_ref().map(|u| u.password_hash.clone()),
        )
        .await?;
    match user {
        Some(user) if ok => {
            state.login_by_account.reset(&account_key);
            new_session(state, &user, device_name).await
        }
        _ => Err(ApiError::new(
            ErrorCode::InvalidCredentials,
            "wrong username or password",
        )),
    }
}

fn device_name(raw: Option<&str>) -> ApiResult<String> {
    let name = raw.unwrap_or("unnamed device").trim();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "device_name must be 1 to 64 printable characters",
        ));
    }
    Ok(name.to_owned())
}

async fn new_session(state: &AppState, user: &UserRecord, name: String) -> ApiResult<AuthSession> {
    let device = DeviceId::new();
    let refresh = new_refresh_token();
    let now = now_ms();
    state
        .store
        .create_session(NewSession {
            device,
            user: user.id,
            name,
            refresh_hash: token_hash(&refresh),
            refresh_expires_at: now + state.config.auth.refresh_ttl_secs as i64 * 1000,
            now,
        })
        .await?;
    Ok(session_answer(state, user, device, refresh))
}

fn session_answer(
    state: &AppState,
    user: &UserRecord,
    device: DeviceId,
    refresh: String,
) -> AuthSession {
    AuthSession {
        user: user.id,
        username: user.username.clone(),
        device,
        access_token: state.tokens.issue(user.id, device),
        access_expires_in: state.tokens.ttl().as_secs(),
        refresh_token: refresh,
    }
}

/// Exchanges a refresh token for a new pair.
pub async fn refresh(state: &AppState, token: &str) -> ApiResult<AuthSession> {
    if token.len() > 200 {
        return Err(ApiError::new(
            ErrorCode::TokenInvalid,
            "invalid refresh token",
        ));
    }
    let replacement = new_refresh_token();
    let now = now_ms();
    let outcome = state
        .store
        .rotate_refresh(RefreshRotation {
            presented: token_hash(token),
            replacement: token_hash(&replacement),
            replacement_expires_at: now + state.config.auth.refresh_ttl_secs as i64 * 1000,
            now,
        })
        .await?;
    match outcome {
        RefreshOutcome::Rotated(session) => {
            let user = state
                .store
                .user(session.user)
                .await?
                .ok_or_else(|| ApiError::internal("session without user"))?;
            Ok(session_answer(state, &user, session.device, replacement))
        }
        RefreshOutcome::Reused(session) => {
            announce_revoked(state, session.user, session.device).await;
            Err(ApiError::new(
                ErrorCode::RefreshReused,
                "this refresh token was already used; the session is revoked, log in again",
            ))
        }
        RefreshOutcome::Revoked(_) => Err(ApiError::new(
            ErrorCode::SessionRevoked,
            "session revoked; log in again",
        )),
        RefreshOutcome::Expired => Err(ApiError::new(
            ErrorCode::TokenExpired,
            "refresh token expired; log in again",
        )),
        RefreshOutcome::Unknown => Err(ApiError::new(
            ErrorCode::TokenInvalid,
            "invalid refresh token",
        )),
    }
}

/// Checks an access token and that its session is still live.
pub async fn authenticate(state: &AppState, token: &str) -> ApiResult<Claims> {
    let claims = state.tokens.verify(token)?;
    match state.store.session(claims.device).await? {
        Some(s) if s.revoked_at.is_none() && s.user == claims.user => Ok(claims),
        _ => Err(ApiError::new(
            ErrorCode::SessionRevoked,
            "session revoked; log in again",
        )),
    }
}

async fn announce_revoked(state: &AppState, user: UserId, device: DeviceId) {
    if let Err(e) = state
        .bus
        .publish(BusMessage::SessionRevoked { user, device })
        .await
    {
        tracing::warn!(error = %e, "could not announce a revoked session");
    }
}

/// Revokes one of the caller's sessions and closes its connections.
pub async fn revoke(state: &AppState, claims: &Claims, device: DeviceId) -> ApiResult<()> {
    state
        .store
        .revoke_session(claims.user, device, now_ms())
        .await?;
    announce_revoked(state, claims.user, device).await;
    Ok(())
}

/// The caller's sessions.
pub async fn sessions(state: &AppState, claims: &Claims) -> ApiResult<SessionList> {
    let sessions = state
        .store
        .sessions_of(claims.user)
        .await?
        .into_iter()
        .map(|s| SessionInfo {
            current: s.device == claims.device,
            device: s.device,
            name: s.name,
            created_at: s.created_at,
            last_active_at: s.last_active_at,
        })
        .collect();
    Ok(SessionList { sessions })
}

/// Largest history page.
pub const MAX_HISTORY_PAGE: u32 = 200;

/// What the server accepts, for `GET /v1/limits`.
pub fn limits(state: &AppState) -> ServerLimits {
    let l = &state.config.limits;
    ServerLimits {
        max_message_bytes: l.max_message_bytes as u64,
        max_frame_bytes: l.max_frame_bytes as u64,
        max_group_members: l.max_group_members as u64,
        username_chars: [
            crate::auth::USERNAME_CHARS.0 as u32,
            crate::auth::USERNAME_CHARS.1 as u32,
        ],
        password_chars: [
            crate::auth::PASSWORD_CHARS.0 as u32,
            crate::auth::PASSWORD_CHARS.1 as u32,
        ],
        max_history_page: MAX_HISTORY_PAGE,
        max_sync_page: crate::live::MAX_SYNC_PAGE,
    }
}

/// The caller.
pub async fn me(state: &AppState, claims: &Claims) -> ApiResult<Me> {
    let user = state
        .store
        .user(claims.user)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such user"))?;
    Ok(Me {
        id: user.id,
        username: user.username,
        device: claims.device,
        head: state.store.log_head(claims.user).await?,
    })
}

fn user_info(u: UserRecord) -> UserInfo {
    UserInfo {
        id: u.id,
        username: u.username,
    }
}

/// A user by id.
pub async fn user(state: &AppState, id: UserId) -> ApiResult<UserInfo> {
    state
        .store
        .user(id)
        .await?
        .map(user_info)
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such user"))
}

/// A user by username.
pub async fn user_by_name(state: &AppState, name: &str) -> ApiResult<UserInfo> {
    let name = name.trim().to_lowercase();
    if name.is_empty() || name.len() > 64 {
        return Err(ApiError::new(ErrorCode::NotFound, "no such user"));
    }
    state
        .store
        .user_by_name(&name)
        .await?
        .map(user_info)
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such user"))
}

async fn require_member(
    state: &AppState,
    conv: ConversationId,
    user: UserId,
) -> ApiResult<Membership> {
    state.store.membership(conv, user).await?.ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotMember,
            "you are not a member of this conversation",
        )
    })
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
        creator: s.conv.creator,
        created_at: s.conv.created_at,
        member_count: s.conv.member_count,
        peer: s.peer.map(user_info),
        last_seq: s.conv.last_seq,
        last_message: s.last_message,
        read_seq: s.mine.read,
        unread: s.unread,
        peer_receipt,
    }
}

async fn viewer_shares_reads(state: &AppState, user: UserId) -> ApiResult<bool> {
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
) -> ApiResult<ConversationInfo> {
    require_member(state, conv, claims.user).await?;
    let shares = viewer_shares_reads(state, claims.user).await?;
    state
        .store
        .conversations_of(claims.user)
        .await?
        .into_iter()
        .find(|s| s.conv.id == conv)
        .map(|s| summary_info(s, shares))
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such conversation"))
}

/// The caller's conversations, newest activity first, with unread counts.
pub async fn conversations(state: &AppState, claims: &Claims) -> ApiResult<ConversationList> {
    let shares = viewer_shares_reads(state, claims.user).await?;
    let conversations: Vec<ConversationInfo> = state
        .store
        .conversations_of(claims.user)
        .await?
        .into_iter()
        .map(|s| summary_info(s, shares))
        .collect();
    let unread_total = conversations.iter().map(|c| c.unread).sum();
    Ok(ConversationList {
        conversations,
        unread_total,
    })
}

/// Moves the caller's delivered or read watermark; returns the watermarks.
pub async fn receipt(
    state: &AppState,
    claims: &Claims,
    conv: ConversationId,
    kind: ReceiptKind,
    seq: Seq,
) -> ApiResult<MemberReceipt> {
    let change = state
        .store
        .set_receipt(NewReceipt {
            conv,
            user: claims.user,
            kind,
            seq,
            now: now_ms(),
        })
        .await?;
    let marks = match change {
        ReceiptChange::Moved(c) => match c.item.as_ref() {
            LogItem::Receipt(r) => Watermarks {
                delivered: r.delivered,
                read: r.read,
            },
            _ => {
                return Err(ApiError::internal(
                    "a receipt change committed something else",
                ));
            }
        },
        ReceiptChange::Unchanged(m) => m,
    };
    Ok(MemberReceipt {
        user: claims.user,
        delivered: marks.delivered,
        read: marks.read,
    })
}

/// Who has message `seq`: delivered to N of M, read by N of M, and each
/// member's watermarks.
pub async fn receipt_summary(
    state: &AppState,
    claims: &Claims,
    conv: ConversationId,
    seq: Seq,
) -> ApiResult<ReceiptSummary> {
    let me = require_member(state, conv, claims.user).await?;
    if seq < me.joined_seq {
        return Err(ApiError::new(ErrorCode::NotFound, "no such message"));
    }
    let page = state
        .store
        .history(HistoryRequest {
            conv,
            viewer: claims.user,
            range: HistoryRange::After(seq.saturating_sub(1)),
            limit: 1,
        })
        .await?;
    let message = page
        .events
        .into_iter()
        .find(|e| e.seq == seq && matches!(e.body, EventBody::Message { .. }))
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such message"))?;
    let viewer_shares = viewer_shares_reads(state, claims.user).await?;
    let marks = state.store.watermarks(conv).await?;
    let mut summary = ReceiptSummary {
        seq,
        total: 0,
        delivered: 0,
        read: 0,
        members: Vec::new(),
    };
    for m in marks {
        if m.user == message.sender || m.joined_seq > seq {
            continue;
        }
        let read_visible = m.user == claims.user || (viewer_shares && m.shares_read);
        summary.total += 1;
        if m.marks.delivered >= seq {
            summary.delivered += 1;
        }
        if read_visible && m.marks.read >= seq {
            summary.read += 1;
        }
        summary.members.push(MemberReceipt {
            user: m.user,
            delivered: m.marks.delivered,
            read: if read_visible { m.marks.read } else { 0 },
        });
    }
    Ok(summary)
}

/// The caller's privacy settings.
pub async fn privacy(state: &AppState, claims: &Claims) -> ApiResult<Privacy> {
    state
        .store
        .user(claims.user)
        .await?
        .map(|u| u.privacy)
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such user"))
}

/// Changes the caller's privacy; peers' view of their presence follows at
/// once.
pub async fn set_privacy(
    state: &AppState,
    claims: &Claims,
    privacy: Privacy,
) -> ApiResult<Privacy> {
    state.store.set_privacy(claims.user, privacy).await?;
    crate::presence::announce(state, claims.user, true).await?;
    Ok(privacy)
}

/// Creates a group, or finds or creates a direct conversation. The bool is
/// true when something new was created.
pub async fn create_conversation(
    state: &AppState,
    claims: &Claims,
    req: CreateConversation,
) -> ApiResult<(ConversationInfo, bool)> {
    let (kind, name, members) = match req {
        CreateConversation::Direct { user } => {
            if user == claims.user {
                return Err(ApiError::bad_request(
                    "a direct conversation needs another user",
                ));
            }
            (ConversationKind::Direct, None, vec![claims.user, user])
        }
        CreateConversation::Group { name, members } => {
            let name = name.trim().to_owned();
            if name.is_empty() || name.chars().count() > 128 || name.chars().any(char::is_control) {
                return Err(ApiError::bad_request(
                    "group names have 1 to 128 printable characters",
                ));
            }
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
    };
    let members_of_new = members.clone();
    let created = state
        .store
        .create_conversation(NewConversation {
            id: ConversationId::new(),
            kind,
            name,
            creator: claims.user,
            members,
            now: now_ms(),
        })
        .await
        .map_err(unknown_user)?;
    let (id, new) = match created {
        Created::New(c) => (
            c.event()
                .ok_or_else(|| ApiError::internal("creation committed no event"))?
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

/// Adds members to a group; only its creator may.
pub async fn add_members(
    state: &AppState,
    claims: &Claims,
    conv: ConversationId,
    users: Vec<UserId>,
) -> ApiResult<ConversationInfo> {
    require_member(state, conv, claims.user).await?;
    let record = state
        .store
        .conversation(conv)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such conversation"))?;
    if record.kind == ConversationKind::Direct {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "direct conversations cannot get more members",
        ));
    }
    if record.creator != claims.user {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "only the group's creator can add members",
        ));
    }
    if users.is_empty() {
        return Err(ApiError::bad_request("name 1 or more users to add"));
    }
    if users.len() > state.config.limits.max_group_members {
        return Err(too_many_members(state));
    }
    if record.member_count as usize + users.len() > state.config.limits.max_group_members {
        let current = state.store.members(conv).await?;
        let fresh = users
            .iter()
            .filter(|u| !current.iter().any(|m| m.id == **u))
            .count();
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
    if added.is_some() {
        let everyone: Vec<UserId> = state
            .store
            .members(conv)
            .await?
            .into_iter()
            .map(|m| m.id)
            .collect();
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
        if let Err(e) = crate::presence::announce(state, *m, false).await {
            tracing::warn!(code = %e.code, "cannot announce presence: {}", e.message);
        }
    }
}

/// In membership writes, `NotFound` means one of the named users does not
/// exist.
fn unknown_user(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => ApiError::new(ErrorCode::NotFound, "no such user"),
        other => other.into(),
    }
}

fn too_many_members(state: &AppState) -> ApiError {
    ApiError::bad_request(format!(
        "a group has at most {} members",
        state.config.limits.max_group_members
    ))
}

/// Members of a conversation, for a member.
pub async fn members(
    state: &AppState,
    claims: &Claims,
    conv: ConversationId,
) -> ApiResult<MemberList> {
    require_member(state, conv, claims.user).await?;
    Ok(MemberList {
        members: state
            .store
            .members(conv)
            .await?
            .into_iter()
            .map(user_info)
            .collect(),
    })
}

/// Checks a message before it goes to the store.
pub fn validate_message(state: &AppState, client_id: &ClientId, text: &str) -> ApiResult<()> {
    if !client_id.is_valid() {
        return Err(ApiError::bad_request(
            "client_id must be 1 to 64 printable ASCII characters",
        ));
    }
    if text.trim().is_empty() {
        return Err(ApiError::new(
            ErrorCode::MessageEmpty,
            "message text is empty",
        ));
    }
    let max = state.config.limits.max_message_bytes;
    if text.len() > max {
        return Err(ApiError::new(
            ErrorCode::MessageTooLong,
            format!("message text is {} bytes; the limit is {max}", text.len()),
        ));
    }
    Ok(())
}

/// Sends a message; answers once it is durable.
pub async fn send(
    state: &AppState,
    claims: &Claims,
    conv: ConversationId,
    client_id: ClientId,
    text: String,
) -> ApiResult<Sent> {
    validate_message(state, &client_id, &text)?;
    let appended = state
        .store
        .append_message(NewMessage {
            id: MessageId::new(),
            conv,
            sender: claims.user,
            device: claims.device,
            client_id: client_id.clone(),
            text,
            now: now_ms(),
        })
        .await?;
    let (event, duplicate) = match appended {
        Appended::New(c) => (
            c.event()
                .ok_or_else(|| ApiError::internal("append committed no event"))?
                .clone(),
            false,
        ),
        Appended::Duplicate(e) => (e, true),
    };
    let id = event
        .message_id()
        .ok_or_else(|| ApiError::internal("appended event is not a message"))?;
    if !duplicate {
        crate::typing::message_sent(state, conv, claims.user).await;
    }
    Ok(Sent {
        conv,
        client_id,
        id,
        seq: event.seq,
        ts: event.ts,
        duplicate,
    })
}

/// A page of history for a member.
pub async fn history(
    state: &AppState,
    claims: &Claims,
    conv: ConversationId,
    q: HistoryQuery,
) -> ApiResult<HistoryPage> {
    let range = match (q.before, q.after) {
        (Some(_), Some(_)) => return Err(ApiError::bad_request("give before or after, not both")),
        (Some(b), None) => HistoryRange::Before(b),
        (None, Some(a)) => HistoryRange::After(a),
        (None, None) => HistoryRange::Latest,
    };
    let limit = q.limit.unwrap_or(50);
    if !(1..=MAX_HISTORY_PAGE).contains(&limit) {
        return Err(ApiError::bad_request("limit must be 1 to 200"));
    }
    let slice = state
        .store
        .history(HistoryRequest {
            conv,
            viewer: claims.user,
            range,
            limit,
        })
        .await?;
    Ok(HistoryPage {
        events: slice.events,
        more: slice.more,
    })
}

/// Logs the caller's session out.
pub async fn logout(state: &AppState, claims: &Claims) -> ApiResult<()> {
    revoke(state, claims, claims.device).await
}
