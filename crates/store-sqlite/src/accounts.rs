//! Users, device sessions and refresh tokens, and the per-user settings
//! (privacy, last seen).

use crate::rows::{SESSION_COLS, SessionRow, USER_COLS, UserRow, device_id};
use crate::{db_err, is_unique_violation};
use natter_proto::{DeviceId, Privacy, UserId};
use natter_store::{
    NewSession, NewUser, RefreshOutcome, RefreshRotation, Result, SessionRecord, StoreError,
    UserRecord,
};
use rusqlite::{Connection, OptionalExtension, params};

/// Inserts a user; [`StoreError::Conflict`] when the username is taken.
pub(crate) fn create_user(c: &Connection, user: &NewUser) -> Result<UserRecord> {
    c.prepare_cached(
        "INSERT INTO users (id, username, password_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
    )
    .and_then(|mut s| {
        s.execute(params![
            user.id.as_bytes(),
            user.username,
            user.password_hash,
            user.now
        ])
    })
    .map_err(|e| {
        if is_unique_violation(&e) {
            StoreError::Conflict("username")
        } else {
            db_err(e)
        }
    })?;
    Ok(UserRecord {
        id: user.id,
        username: user.username.clone(),
        password_hash: user.password_hash.clone(),
        created_at: user.now,
        privacy: Privacy::default(),
        last_seen: None,
        admin: false,
        suspended_at: None,
        display_name: None,
        about: None,
        avatar: None,
    })
}

/// Sets a user's display name and "about" text (`None` removes either).
pub(crate) fn set_profile(
    c: &Connection,
    user: &UserId,
    display_name: Option<&str>,
    about: Option<&str>,
) -> Result<()> {
    let key = display_name.map(str::to_lowercase);
    let n = c
        .prepare_cached(
            "UPDATE users SET display_name = ?2, about = ?3, name_key = ?4 WHERE id = ?1",
        )
        .and_then(|mut s| s.execute(params![user.as_bytes(), display_name, about, key]))
        .map_err(db_err)?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Discoverable users whose username or lowercased display name starts
/// with `prefix` (already lowercased), by username, leaving out those who
/// blocked `searcher`. Two index range scans.
pub(crate) fn search_users(
    c: &Connection,
    searcher: &UserId,
    prefix: &str,
    limit: u32,
) -> Result<Vec<UserRecord>> {
    // Every string with the prefix sorts at or after it and before it
    // followed by the highest character.
    let upper = format!("{prefix}\u{10FFFF}");
    let mut stmt = c
        .prepare_cached(&format!(
            "SELECT {USER_COLS} FROM users WHERE id IN (
                 SELECT id FROM users WHERE username >= ?1 AND username < ?2
                 UNION
                 SELECT id FROM users WHERE name_key >= ?1 AND name_key < ?2)
               AND discoverable
               AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.user_id = users.id AND b.blocked_id = ?3)
             ORDER BY username LIMIT ?4"
        ))
        .map_err(db_err)?;
    stmt.query_map(
        params![prefix, upper, searcher.as_bytes(), i64::from(limit)],
        UserRow::from_row,
    )
    .map_err(db_err)?
    .map(|r| r.map_err(db_err).and_then(UserRow::into_record))
    .collect()
}

/// A user by exact username.
pub(crate) fn user_by_name(c: &Connection, username: &str) -> Result<Option<UserRecord>> {
    c.prepare_cached(&format!(
        "SELECT {USER_COLS} FROM users WHERE username = ?1"
    ))
    .and_then(|mut s| s.query_row([username], UserRow::from_row).optional())
    .map_err(db_err)?
    .map(UserRow::into_record)
    .transpose()
}

/// A user by id.
pub(crate) fn user_by_id(c: &Connection, id: &UserId) -> Result<Option<UserRecord>> {
    c.prepare_cached(&format!("SELECT {USER_COLS} FROM users WHERE id = ?1"))
        .and_then(|mut s| s.query_row([id.as_bytes()], UserRow::from_row).optional())
        .map_err(db_err)?
        .map(UserRow::into_record)
        .transpose()
}

/// Inserts a device session and its first refresh token.
pub(crate) fn create_session(c: &Connection, session: &NewSession) -> Result<SessionRecord> {
    c.prepare_cached(
        "INSERT INTO sessions (device_id, user_id, name, created_at, last_active_at)
         VALUES (?1, ?2, ?3, ?4, ?4)",
    )
    .and_then(|mut s| {
        s.execute(params![
            session.device.as_bytes(),
            session.user.as_bytes(),
            session.name,
            session.now
        ])
    })
    .map_err(db_err)?;
    insert_refresh_token(
        c,
        &session.refresh_hash,
        &session.device,
        session.refresh_expires_at,
    )?;
    Ok(SessionRecord {
        device: session.device,
        user: session.user,
        name: session.name.clone(),
        created_at: session.now,
        last_active_at: session.now,
        revoked_at: None,
    })
}

/// A device session by id, revoked or not.
pub(crate) fn session_by_id(c: &Connection, device: &DeviceId) -> Result<Option<SessionRecord>> {
    c.prepare_cached(&format!(
        "SELECT {SESSION_COLS} FROM sessions WHERE device_id = ?1"
    ))
    .and_then(|mut s| {
        s.query_row([device.as_bytes()], SessionRow::from_row)
            .optional()
    })
    .map_err(db_err)?
    .map(SessionRow::into_record)
    .transpose()
}

/// Exchanges a refresh token for its replacement; a token presented a
/// second time revokes its session.
pub(crate) fn rotate_refresh(c: &Connection, rot: &RefreshRotation) -> Result<RefreshOutcome> {
    type Found = (Vec<u8>, bool, i64, Option<i64>, Option<Vec<u8>>);
    let found: Option<Found> = c
        .prepare_cached(
            "SELECT device_id, superseded, expires_at, superseded_at, successor
             FROM refresh_tokens WHERE hash = ?1",
        )
        .and_then(|mut s| {
            s.query_row([rot.presented.as_slice()], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .optional()
        })
        .map_err(db_err)?;
    let Some((device, superseded, expires_at, superseded_at, successor)) = found else {
        return Ok(RefreshOutcome::Unknown);
    };
    let device = device_id(&device)?;
    let Some(mut session) = session_by_id(c, &device)? else {
        return Ok(RefreshOutcome::Unknown);
    };
    if session.revoked_at.is_some() {
        return Ok(RefreshOutcome::Revoked(session));
    }
    if superseded {
        let in_grace = rot.retry_grace_ms > 0
            && superseded_at.is_some_and(|at| rot.now - at <= rot.retry_grace_ms)
            && successor.as_deref() == Some(rot.replacement.as_slice())
            && !is_superseded(c, &rot.replacement)?;
        if in_grace {
            touch_session(c, &device, rot.now)?;
            session.last_active_at = rot.now;
            return Ok(RefreshOutcome::Rotated(session));
        }
        c.prepare_cached("UPDATE sessions SET revoked_at = ?2 WHERE device_id = ?1")
            .and_then(|mut s| s.execute(params![device.as_bytes(), rot.now]))
            .map_err(db_err)?;
        session.revoked_at = Some(rot.now);
        return Ok(RefreshOutcome::Reused(session));
    }
    if expires_at <= rot.now {
        return Ok(RefreshOutcome::Expired);
    }
    c.prepare_cached(
        "UPDATE refresh_tokens SET superseded = 1, superseded_at = ?2, successor = ?3 WHERE hash = ?1",
    )
    .and_then(|mut s| {
        s.execute(params![
            rot.presented.as_slice(),
            rot.now,
            rot.replacement.as_slice()
        ])
    })
    .map_err(db_err)?;
    insert_refresh_token(c, &rot.replacement, &device, rot.replacement_expires_at)?;
    touch_session(c, &device, rot.now)?;
    session.last_active_at = rot.now;
    Ok(RefreshOutcome::Rotated(session))
}

/// True when the refresh token with this hash was already exchanged.
fn is_superseded(c: &Connection, hash: &[u8; 32]) -> Result<bool> {
    c.prepare_cached("SELECT superseded FROM refresh_tokens WHERE hash = ?1")
        .and_then(|mut s| {
            s.query_row([hash.as_slice()], |r| r.get::<_, bool>(0))
                .optional()
        })
        .map(|v| v.unwrap_or(false))
        .map_err(db_err)
}

fn touch_session(c: &Connection, device: &DeviceId, now: i64) -> Result<()> {
    c.prepare_cached("UPDATE sessions SET last_active_at = ?2 WHERE device_id = ?1")
        .and_then(|mut s| s.execute(params![device.as_bytes(), now]))
        .map_err(db_err)?;
    Ok(())
}

/// Stores a refresh token (by hash) for a device session. Every token ever
/// issued stays, so a reused one is recognised.
fn insert_refresh_token(
    c: &Connection,
    hash: &[u8; 32],
    device: &DeviceId,
    expires_at: i64,
) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO refresh_tokens (hash, device_id, expires_at) VALUES (?1, ?2, ?3)",
    )
    .and_then(|mut s| s.execute(params![hash.as_slice(), device.as_bytes(), expires_at]))
    .map_err(db_err)?;
    Ok(())
}

/// The user's sessions that are not revoked, newest first.
pub(crate) fn sessions_of(c: &Connection, user: &UserId) -> Result<Vec<SessionRecord>> {
    let mut stmt = c
        .prepare_cached(&format!(
            "SELECT {SESSION_COLS} FROM sessions WHERE user_id = ?1 AND revoked_at IS NULL
             ORDER BY created_at DESC"
        ))
        .map_err(db_err)?;
    stmt.query_map([user.as_bytes()], SessionRow::from_row)
        .map_err(db_err)?
        .map(|r| r.map_err(db_err).and_then(SessionRow::into_record))
        .collect()
}

/// Revokes one of the user's live sessions; [`StoreError::NotFound`] when
/// there is none by that id.
pub(crate) fn revoke_session(
    c: &Connection,
    user: &UserId,
    device: &DeviceId,
    now: i64,
) -> Result<()> {
    let n = c
        .prepare_cached(
            "UPDATE sessions SET revoked_at = ?3
             WHERE device_id = ?1 AND user_id = ?2 AND revoked_at IS NULL",
        )
        .and_then(|mut s| s.execute(params![device.as_bytes(), user.as_bytes(), now]))
        .map_err(db_err)?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Makes a user a server admin or not.
pub(crate) fn set_admin(c: &Connection, user: &UserId, admin: bool) -> Result<()> {
    let n = c
        .prepare_cached("UPDATE users SET admin = ?2 WHERE id = ?1")
        .and_then(|mut s| s.execute(params![user.as_bytes(), admin]))
        .map_err(db_err)?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Suspends an account and revokes its live sessions, or lifts the
/// suspension; returns the revoked devices.
pub(crate) fn set_suspended(
    c: &Connection,
    user: &UserId,
    at: Option<i64>,
) -> Result<Vec<DeviceId>> {
    let n = c
        .prepare_cached("UPDATE users SET suspended_at = ?2 WHERE id = ?1")
        .and_then(|mut s| s.execute(params![user.as_bytes(), at]))
        .map_err(db_err)?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    let Some(now) = at else {
        return Ok(Vec::new());
    };
    let devices: Vec<DeviceId> = c
        .prepare_cached("SELECT device_id FROM sessions WHERE user_id = ?1 AND revoked_at IS NULL")
        .and_then(|mut s| {
            s.query_map([user.as_bytes()], |r| r.get::<_, Vec<u8>>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(db_err)?
        .iter()
        .map(|b| crate::rows::device_id(b))
        .collect::<Result<_>>()?;
    c.prepare_cached(
        "UPDATE sessions SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL",
    )
    .and_then(|mut s| s.execute(params![user.as_bytes(), now]))
    .map_err(db_err)?;
    Ok(devices)
}

/// Sets a user's privacy; [`StoreError::NotFound`] for an unknown user.
pub(crate) fn set_privacy(c: &Connection, user: &UserId, privacy: &Privacy) -> Result<()> {
    let n = c
        .prepare_cached(
            "UPDATE users SET presence_visibility = ?2, read_receipts = ?3, group_adds = ?4,
                 discoverable = ?5
             WHERE id = ?1",
        )
        .and_then(|mut s| {
            s.execute(params![
                user.as_bytes(),
                privacy.presence.as_str(),
                privacy.read_receipts,
                privacy.group_adds.as_str(),
                privacy.discoverable
            ])
        })
        .map_err(db_err)?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Moves a user's last-seen time forward (never back).
pub(crate) fn set_last_seen(c: &Connection, user: &UserId, at: i64) -> Result<()> {
    c.prepare_cached(
        "UPDATE users SET last_seen_at = MAX(COALESCE(last_seen_at, 0), ?2) WHERE id = ?1",
    )
    .and_then(|mut s| s.execute(params![user.as_bytes(), at]))
    .map_err(db_err)?;
    Ok(())
}
