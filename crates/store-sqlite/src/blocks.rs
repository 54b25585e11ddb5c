//! Blocks between users and the message requests of direct conversations.

use crate::cache::Members;
use crate::db_err;
use crate::rows::user_id;
use crate::writer::Ctx;
use natter_proto::{ConversationId, UserId};
use natter_store::{BlockRecord, Result, StoreError};
use rusqlite::{Connection, OptionalExtension, params};

/// Whether either of `a` and `b` has blocked the other.
pub(crate) fn blocked_between(c: &Connection, a: &UserId, b: &UserId) -> Result<bool> {
    c.prepare_cached(
        "SELECT 1 FROM blocks WHERE (user_id = ?1 AND blocked_id = ?2)
                                 OR (user_id = ?2 AND blocked_id = ?1)",
    )
    .and_then(|mut s| s.exists(params![a.as_bytes(), b.as_bytes()]))
    .map_err(db_err)
}

/// [`StoreError::Blocked`] when `user` and any of `others` block one
/// another.
pub(crate) fn refuse_blocked(c: &Connection, user: &UserId, others: &[UserId]) -> Result<()> {
    for o in others {
        if o != user && blocked_between(c, user, o)? {
            return Err(StoreError::Blocked);
        }
    }
    Ok(())
}

/// `user` blocks `target`; a second block keeps the first one's time.
pub(crate) fn block(
    ctx: &mut Ctx<'_>,
    user: &UserId,
    target: &UserId,
    now: i64,
) -> Result<BlockRecord> {
    let username: Option<String> = ctx
        .conn
        .prepare_cached("SELECT username FROM users WHERE id = ?1")
        .and_then(|mut s| s.query_row([target.as_bytes()], |r| r.get(0)).optional())
        .map_err(db_err)?;
    let username = username.ok_or(StoreError::NotFound)?;
    ctx.conn
        .prepare_cached(
            "INSERT INTO blocks (user_id, blocked_id, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (user_id, blocked_id) DO NOTHING",
        )
        .and_then(|mut s| s.execute(params![user.as_bytes(), target.as_bytes(), now]))
        .map_err(db_err)?;
    let blocked_at: i64 = ctx
        .conn
        .prepare_cached("SELECT created_at FROM blocks WHERE user_id = ?1 AND blocked_id = ?2")
        .and_then(|mut s| s.query_row(params![user.as_bytes(), target.as_bytes()], |r| r.get(0)))
        .map_err(db_err)?;
    Ok(BlockRecord {
        user: *target,
        username,
        blocked_at,
    })
}

/// Lifts `user`'s block of `target`; true when there was one.
pub(crate) fn unblock(ctx: &mut Ctx<'_>, user: &UserId, target: &UserId) -> Result<bool> {
    let n = ctx
        .conn
        .prepare_cached("DELETE FROM blocks WHERE user_id = ?1 AND blocked_id = ?2")
        .and_then(|mut s| s.execute(params![user.as_bytes(), target.as_bytes()]))
        .map_err(db_err)?;
    Ok(n > 0)
}

/// Who `user` has blocked, most recent first.
pub(crate) fn blocks_of(c: &Connection, user: &UserId) -> Result<Vec<BlockRecord>> {
    let mut stmt = c
        .prepare_cached(
            "SELECT b.blocked_id, u.username, b.created_at FROM blocks b
             JOIN users u ON u.id = b.blocked_id
             WHERE b.user_id = ?1 ORDER BY b.created_at DESC, u.username",
        )
        .map_err(db_err)?;
    stmt.query_map([user.as_bytes()], |r| {
        Ok((
            r.get::<_, Vec<u8>>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })
    .map_err(db_err)?
    .map(|r| {
        let (id, username, blocked_at) = r.map_err(db_err)?;
        Ok(BlockRecord {
            user: user_id(&id)?,
            username,
            blocked_at,
        })
    })
    .collect()
}

/// Marks `user` as having taken part in the direct conversation `conv`;
/// true when that changed something.
pub(crate) fn accept(c: &Connection, conv: &ConversationId, user: &UserId) -> Result<bool> {
    let n = c
        .prepare_cached(
            "UPDATE members SET accepted = 1 WHERE conv_id = ?1 AND user_id = ?2 AND accepted = 0",
        )
        .and_then(|mut s| s.execute(params![conv.as_bytes(), user.as_bytes()]))
        .map_err(db_err)?;
    Ok(n > 0)
}

/// Accepts a request or invitation explicitly: [`StoreError::NotMember`]
/// for a non-member.
pub(crate) fn accept_request(
    ctx: &mut Ctx<'_>,
    conv: &ConversationId,
    user: &UserId,
) -> Result<bool> {
    if crate::conversations::membership(ctx.conn, conv, user)?.is_none() {
        return Err(StoreError::NotMember);
    }
    let changed = accept(ctx.conn, conv, user)?;
    if changed && let Some(members) = ctx.cache.members.get(conv).cloned() {
        ctx.cache
            .members
            .insert(*conv, std::sync::Arc::new(members.accepting(user)));
    }
    Ok(changed)
}

/// Whether `a` and `b` are contacts: both have taken part in their direct
/// conversation.
pub(crate) fn contacts(c: &Connection, a: &UserId, b: &UserId) -> Result<bool> {
    c.prepare_cached(
        "SELECT 1 FROM conversations c
           JOIN members x ON x.conv_id = c.id AND x.user_id = ?2 AND x.accepted
           JOIN members y ON y.conv_id = c.id AND y.user_id = ?3 AND y.accepted
          WHERE c.direct_key = ?1",
    )
    .and_then(|mut s| {
        s.exists(params![
            crate::conversations::direct_key(a, b),
            a.as_bytes(),
            b.as_bytes()
        ])
    })
    .map_err(db_err)
}

/// Before `sender` appends to a direct conversation: refuses it when the two
/// block one another, and accepts the request if this is the sender's
/// first part in it (true then).
pub(crate) fn before_direct_send(
    c: &Connection,
    conv: &ConversationId,
    members: &Members,
    sender: &UserId,
) -> Result<bool> {
    if let Some(peer) = members.order().iter().find(|m| *m != sender)
        && blocked_between(c, sender, peer)?
    {
        return Err(StoreError::Blocked);
    }
    accept(c, conv, sender)
}
