//! Accounts and device sessions: register, log in, refresh, log out,
//! revoke; who the caller is; user lookups; privacy settings.

use crate::auth::{
    Claims, check_password, new_refresh_token, normalize_username, now_ms, token_hash,
};
use crate::error::{DomainError, Result};
use crate::state::AppState;
use natter_bus::BusMessage;
use natter_proto::*;
use natter_store::*;
use std::net::IpAddr;

/// Registers an account and logs it in on a first device.
pub async fn register(state: &AppState, creds: Credentials, addr: IpAddr) -> Result<AuthSession> {
    state.login_by_address.hit(&format!("addr:{addr}"))?;
    let username = normalize_username(&creds.username)?;
    check_password(&creds.password, &username)?;
    let device_name = device_name(creds.device_name.as_deref())?;
    if state.store.user_by_name(&username).await?.is_some() {
        return Err(DomainError::UsernameTaken);
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
        .await
        .map_err(|e| match e {
            // The only unique key a new user can break.
            StoreError::Conflict(_) => DomainError::UsernameTaken,
            other => other.into(),
        })?;
    new_session(state, &user, device_name).await
}

/// Checks a password and opens a device session.
pub async fn login(state: &AppState, creds: Credentials, addr: IpAddr) -> Result<AuthSession> {
    state.login_by_address.hit(&format!("addr:{addr}"))?;
    let device_name = device_name(creds.device_name.as_deref())?;
    let username = creds.username.trim().to_lowercase();
    if username.is_empty() || username.len() > 64 || creds.password.len() > 1024 {
        return Err(DomainError::InvalidCredentials);
    }
    // Failures lock out only the address they come from: anyone can learn
    // a username, so a count per account alone would let a stranger lock
    // its owner out. From all addresses together, an account past its
    // limit is slowed, never refused.
    let account_key = format!("user:{username}|{addr}");
    state.login_by_account.hit(&account_key)?;
    if state
        .login_slowdown
        .hit(&format!("user:{username}"))
        .is_err()
    {
        let wait = std::time::Duration::from_millis(state.config.auth.login_slowdown_ms);
        tokio::time::sleep(wait).await;
    }
    let user = state.store.user_by_name(&username).await?;
    let ok = state
        .passwords
        .verify(
            creds.password,
            user.as_ref().map(|u| u.password_hash.clone()),
        )
        .await?;
    match user {
        // Said only to whoever knows the password.
        Some(user) if ok && user.suspended_at.is_some() => Err(DomainError::AccountSuspended),
        Some(user) if ok => {
            state.login_by_account.reset(&account_key);
            new_session(state, &user, device_name).await
        }
        _ => Err(DomainError::InvalidCredentials),
    }
}

fn device_name(raw: Option<&str>) -> Result<String> {
    super::text::check_name(raw.unwrap_or("unnamed device"), 64).ok_or_else(|| {
        DomainError::Invalid(
            "device_name must be 1 to 64 characters, something visible among them, and no control or bidirectional-override characters".into(),
        )
    })
}

async fn new_session(state: &AppState, user: &UserRecord, name: String) -> Result<AuthSession> {
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
pub async fn refresh(state: &AppState, token: &str) -> Result<AuthSession> {
    if token.len() > 200 {
        return Err(DomainError::TokenInvalid("invalid refresh token"));
    }
    let replacement = state.tokens.refresh_successor(token);
    let now = now_ms();
    let outcome = state
        .store
        .rotate_refresh(RefreshRotation {
            presented: token_hash(token),
            replacement: token_hash(&replacement),
            replacement_expires_at: now + state.config.auth.refresh_ttl_secs as i64 * 1000,
            now,
            retry_grace_ms: state.config.auth.refresh_retry_grace_secs as i64 * 1000,
        })
        .await?;
    match outcome {
        RefreshOutcome::Rotated(session) => {
            let user = state
                .store
                .user(session.user)
                .await?
                .ok_or_else(|| DomainError::internal("session without user"))?;
            Ok(session_answer(state, &user, session.device, replacement))
        }
        RefreshOutcome::Reused(session) => {
            announce_revoked(state, session.user, session.device).await;
            Err(DomainError::RefreshReused)
        }
        RefreshOutcome::Revoked(_) => Err(DomainError::SessionRevoked),
        RefreshOutcome::Expired => Err(DomainError::TokenExpired(
            "refresh token expired; log in again",
        )),
        RefreshOutcome::Unknown => Err(DomainError::TokenInvalid("invalid refresh token")),
    }
}

/// Checks an access token and that its session is still live.
pub async fn authenticate(state: &AppState, token: &str) -> Result<Claims> {
    let claims = state.tokens.verify(token)?;
    match state.store.session(claims.device).await? {
        Some(s) if s.revoked_at.is_none() && s.user == claims.user => Ok(claims),
        _ => Err(DomainError::SessionRevoked),
    }
}

pub(super) async fn announce_revoked(state: &AppState, user: UserId, device: DeviceId) {
    if let Err(e) = state
        .bus
        .publish(BusMessage::SessionRevoked { user, device })
        .await
    {
        tracing::warn!(error = %e, "could not announce a revoked session");
    }
}

/// Revokes one of the caller's sessions and closes its connections.
pub async fn revoke(state: &AppState, claims: &Claims, device: DeviceId) -> Result<()> {
    state
        .store
        .revoke_session(claims.user, device, now_ms())
        .await?;
    announce_revoked(state, claims.user, device).await;
    Ok(())
}

/// The caller's sessions.
pub async fn sessions(state: &AppState, claims: &Claims) -> Result<SessionList> {
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

/// The caller.
pub async fn me(state: &AppState, claims: &Claims) -> Result<Me> {
    let user = state
        .store
        .user(claims.user)
        .await?
        .ok_or_else(DomainError::no_user)?;
    Ok(Me {
        id: user.id,
        username: user.username,
        device: claims.device,
        head: state.store.log_head(claims.user).await?,
        admin: user.admin,
        display_name: user.display_name,
        about: user.about,
        avatar: user.avatar,
    })
}

pub(super) fn user_info(u: UserRecord) -> UserInfo {
    UserInfo {
        id: u.id,
        username: u.username,
        display_name: u.display_name,
        about: u.about,
        avatar: u.avatar,
    }
}

/// Longest display name, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 64;
/// Longest "about" text, in characters.
pub const MAX_ABOUT_CHARS: usize = 280;
/// Most users one directory search answers.
pub const MAX_SEARCH_RESULTS: u32 = 50;

/// Changes my display name or "about" text; answers `me`.
pub async fn update_profile(state: &AppState, claims: &Claims, req: UpdateProfile) -> Result<Me> {
    if req.display_name.is_none() && req.about.is_none() {
        return Err(DomainError::Invalid(
            "give a display_name, an about text, or both".into(),
        ));
    }
    let current = state
        .store
        .user(claims.user)
        .await?
        .ok_or_else(DomainError::no_user)?;
    let display_name = match req.display_name {
        None => current.display_name,
        Some(n) if super::text::is_blank(&n) => None,
        Some(n) => Some(super::text::check_name(&n, MAX_DISPLAY_NAME_CHARS).ok_or_else(|| {
            DomainError::Invalid(format!(
                "a display name has 1 to {MAX_DISPLAY_NAME_CHARS} characters, something visible among them, and no control or bidirectional-override characters"
            ))
        })?),
    };
    let about = match req.about {
        None => current.about,
        Some(a) => {
            let a = super::text::check_description(&a, MAX_ABOUT_CHARS).ok_or_else(|| {
                DomainError::Invalid(format!(
                    "an about text has at most {MAX_ABOUT_CHARS} characters and no control (but line breaks) or bidirectional-override characters"
                ))
            })?;
            (!a.is_empty()).then_some(a)
        }
    };
    state
        .store
        .set_profile(claims.user, display_name, about)
        .await?;
    me(state, claims).await
}

/// The user directory: discoverable users whose username or display name
/// starts with `q` (case does not matter), by username.
pub async fn search(
    state: &AppState,
    claims: &Claims,
    q: &str,
    limit: Option<u32>,
) -> Result<UserList> {
    let prefix = q.trim().to_lowercase();
    if prefix.is_empty() || prefix.chars().count() > MAX_DISPLAY_NAME_CHARS {
        return Err(DomainError::Invalid(format!(
            "q is 1 to {MAX_DISPLAY_NAME_CHARS} characters"
        )));
    }
    let limit = match limit {
        None => 20,
        Some(n) if (1..=MAX_SEARCH_RESULTS).contains(&n) => n,
        Some(_) => {
            return Err(DomainError::Invalid(format!(
                "limit is 1 to {MAX_SEARCH_RESULTS}"
            )));
        }
    };
    let users = state
        .store
        .search_users(claims.user, prefix, limit)
        .await?
        .into_iter()
        .filter(|u| u.suspended_at.is_none())
        .map(user_info)
        .collect();
    Ok(UserList { users })
}

/// A user by id.
pub async fn user(state: &AppState, id: UserId) -> Result<UserInfo> {
    state
        .store
        .user(id)
        .await?
        .map(user_info)
        .ok_or_else(DomainError::no_user)
}

/// A user by username.
pub async fn user_by_name(state: &AppState, name: &str) -> Result<UserInfo> {
    let name = name.trim().to_lowercase();
    if name.is_empty() || name.len() > 64 {
        return Err(DomainError::no_user());
    }
    state
        .store
        .user_by_name(&name)
        .await?
        .map(user_info)
        .ok_or_else(DomainError::no_user)
}

/// The caller's privacy settings.
pub async fn privacy(state: &AppState, claims: &Claims) -> Result<Privacy> {
    state
        .store
        .user(claims.user)
        .await?
        .map(|u| u.privacy)
        .ok_or_else(DomainError::no_user)
}

/// Changes the caller's privacy; peers' view of their presence follows at
/// once.
pub async fn set_privacy(
    state: &AppState,
    claims: &Claims,
    update: PrivacyUpdate,
) -> Result<Privacy> {
    let privacy = update.apply(privacy(state, claims).await?);
    state.store.set_privacy(claims.user, privacy).await?;
    super::presence::announce(state, claims.user, true).await?;
    Ok(privacy)
}

/// Logs the caller's session out.
pub async fn logout(state: &AppState, claims: &Claims) -> Result<()> {
    revoke(state, claims, claims.device).await
}
