//! Changes to who is in a group and with what role once it exists: leaving,
//! removal and bans, roles and ownership, and the paged member list.
//!
//! A membership that ends moves from `members` to `former_members`, which
//! only the leaver's log reads (see `log`): every other read of `members`
//! stays free of filters.

use crate::cache::Members;
use crate::commit::{Change, commit_event, commit_membership, last_seq_of, members_of};
use crate::conversations::user_exists;
use crate::db_err;
use crate::rows::{parse_role, user_id};
use crate::writer::Ctx;
use natter_proto::{
    ConversationId, Event, EventBody, MembershipChange, MembershipChangeKind, Role, UserId,
};
use natter_store::{
    BanRecord, Committed, MemberPosition, MemberRecord, Removal, Result, RoleChange, StoreError,
};
use rusqlite::{Connection, params};
use std::sync::Arc;

/// The next seq of `conv`, which must exist.
fn next_seq(ctx: &mut Ctx<'_>, conv: &ConversationId) -> Result<u64> {
    Ok(last_seq_of(ctx, conv)?.ok_or(StoreError::NotMember)? + 1)
}

/// Ends `user`'s membership of `conv` with `body` (a `member_left`,
/// `member_removed` or `member_banned` event at the next seq) that still
/// reaches them; their row moves to `former_members`, which keeps the part
/// of the conversation their log carries.
fn end_membership(
    ctx: &mut Ctx<'_>,
    conv: &ConversationId,
    user: &UserId,
    sender: &UserId,
    body: EventBody,
    now: i64,
) -> Result<Committed> {
    let members = members_of(ctx, conv)?;
    if !members.contains(user) {
        return Err(StoreError::NotMember);
    }
    if is_subscriber(ctx.conn, conv, user)? {
        drop(members);
        return end_subscription(ctx, conv, user, sender, &body, now);
    }
    let seq = next_seq(ctx, conv)?;
    move_to_former(ctx.conn, conv, user, seq)?;
    // The one who goes is among the recipients of their own departure.
    let recipients = members.order().clone();
    ctx.cache
        .members
        .insert(*conv, Arc::new(members.without(user)));
    let event = Event {
        conv: *conv,
        seq,
        ts: now,
        sender: *sender,
        body,
    };
    let change = Change {
        joined: Vec::new(),
        left: vec![*user],
    };
    commit_event(ctx, event, recipients, change)
}

/// Whether `user` is a subscriber of a channel: their comings and goings
/// are silent (a `membership` item in their own log, no channel event).
fn is_subscriber(c: &Connection, conv: &ConversationId, user: &UserId) -> Result<bool> {
    c.prepare_cached(
        "SELECT 1 FROM members m JOIN conversations c ON c.id = m.conv_id
         WHERE m.conv_id = ?1 AND m.user_id = ?2 AND c.kind = 'channel' AND m.role = 'subscriber'",
    )
    .and_then(|mut s| s.exists(params![conv.as_bytes(), user.as_bytes()]))
    .map_err(db_err)
}

/// Ends a channel subscription silently: the row moves to `former_members`
/// ending at the channel's newest seq (the subscriber's log carries nothing
/// later), and one `membership` item reaches the subscriber alone.
fn end_subscription(
    ctx: &mut Ctx<'_>,
    conv: &ConversationId,
    user: &UserId,
    by: &UserId,
    body: &EventBody,
    now: i64,
) -> Result<Committed> {
    let change = match body {
        EventBody::MemberLeft { .. } => MembershipChangeKind::Left,
        EventBody::MemberRemoved { .. } => MembershipChangeKind::Removed,
        _ => MembershipChangeKind::Banned,
    };
    let last = last_seq_of(ctx, conv)?.ok_or(StoreError::NotMember)?;
    move_to_former(ctx.conn, conv, user, last)?;
    if let Some(cached) = ctx.cache.members.get_mut(conv) {
        Members::remove(cached, user);
    }
    commit_membership(
        ctx,
        MembershipChange {
            conv: *conv,
            user: *user,
            change,
            by: *by,
            ts: now,
            seq: last,
        },
    )
}

/// Moves `user`'s membership of `conv` to `former_members`, ending at
/// `left_seq`, and counts one member less.
fn move_to_former(
    c: &Connection,
    conv: &ConversationId,
    user: &UserId,
    left_seq: u64,
) -> Result<()> {
    let moved = c
        .prepare_cached(
            "INSERT INTO former_members (user_id, conv_id, joined_seq, left_seq)
             SELECT user_id, conv_id, joined_seq, ?3 FROM members
              WHERE conv_id = ?1 AND user_id = ?2
             ON CONFLICT (user_id, conv_id, joined_seq) DO UPDATE SET left_seq = excluded.left_seq",
        )
        .and_then(|mut s| s.execute(params![conv.as_bytes(), user.as_bytes(), left_seq as i64]))
        .map_err(db_err)?;
    if moved != 1 {
        return Err(StoreError::Internal("cached member has no row".into()));
    }
    c.prepare_cached("DELETE FROM members WHERE conv_id = ?1 AND user_id = ?2")
        .and_then(|mut s| s.execute(params![conv.as_bytes(), user.as_bytes()]))
        .map_err(db_err)?;
    c.prepare_cached("UPDATE conversations SET member_count = member_count - 1 WHERE id = ?1")
        .and_then(|mut s| s.execute([conv.as_bytes()]))
        .map_err(db_err)?;
    Ok(())
}

/// Commits an event every current member gets, membership unchanged.
fn announce(
    ctx: &mut Ctx<'_>,
    conv: &ConversationId,
    sender: &UserId,
    body: EventBody,
    now: i64,
) -> Result<Committed> {
    let members = members_of(ctx, conv)?;
    let seq = next_seq(ctx, conv)?;
    let event = Event {
        conv: *conv,
        seq,
        ts: now,
        sender: *sender,
        body,
    };
    commit_event(ctx, event, members.order().clone(), Change::default())
}

/// `user` leaves `conv` with a `member_left` event.
pub(crate) fn leave(
    ctx: &mut Ctx<'_>,
    conv: &ConversationId,
    user: &UserId,
    now: i64,
) -> Result<Committed> {
    end_membership(
        ctx,
        conv,
        user,
        user,
        EventBody::MemberLeft { user: *user },
        now,
    )
}

/// Whether `user` is banned from `conv`.
pub(crate) fn is_banned(c: &Connection, conv: &ConversationId, user: &UserId) -> Result<bool> {
    c.prepare_cached("SELECT 1 FROM bans WHERE conv_id = ?1 AND user_id = ?2")
        .and_then(|mut s| s.exists(params![conv.as_bytes(), user.as_bytes()]))
        .map_err(db_err)
}

/// Removes a member, or bans a user (removing them too if a member).
pub(crate) fn remove(ctx: &mut Ctx<'_>, r: &Removal) -> Result<Option<Committed>> {
    let members = members_of(ctx, &r.conv)?;
    if !members.contains(&r.by) {
        return Err(StoreError::NotMember);
    }
    let is_member = members.contains(&r.user);
    if !r.ban {
        return end_membership(
            ctx,
            &r.conv,
            &r.user,
            &r.by,
            EventBody::MemberRemoved { user: r.user },
            r.now,
        )
        .map(Some);
    }
    if is_banned(ctx.conn, &r.conv, &r.user)? {
        return Ok(None);
    }
    if !user_exists(ctx.conn, &r.user)? {
        return Err(StoreError::NotFound);
    }
    ctx.conn
        .prepare_cached(
            "INSERT INTO bans (conv_id, user_id, by_id, created_at) VALUES (?1, ?2, ?3, ?4)",
        )
        .and_then(|mut s| {
            s.execute(params![
                r.conv.as_bytes(),
                r.user.as_bytes(),
                r.by.as_bytes(),
                r.now
            ])
        })
        .map_err(db_err)?;
    let body = EventBody::MemberBanned { user: r.user };
    if is_member {
        end_membership(ctx, &r.conv, &r.user, &r.by, body, r.now).map(Some)
    } else {
        announce(ctx, &r.conv, &r.by, body, r.now).map(Some)
    }
}

/// Lifts a ban; `None` when there was none.
pub(crate) fn unban(
    ctx: &mut Ctx<'_>,
    conv: &ConversationId,
    by: &UserId,
    user: &UserId,
    now: i64,
) -> Result<Option<Committed>> {
    if !members_of(ctx, conv)?.contains(by) {
        return Err(StoreError::NotMember);
    }
    let n = ctx
        .conn
        .prepare_cached("DELETE FROM bans WHERE conv_id = ?1 AND user_id = ?2")
        .and_then(|mut s| s.execute(params![conv.as_bytes(), user.as_bytes()]))
        .map_err(db_err)?;
    if n == 0 {
        return Ok(None);
    }
    announce(
        ctx,
        conv,
        by,
        EventBody::MemberUnbanned { user: *user },
        now,
    )
    .map(Some)
}

/// The users banned from `conv`, most recent first.
pub(crate) fn bans(c: &Connection, conv: &ConversationId) -> Result<Vec<BanRecord>> {
    let mut stmt = c
        .prepare_cached(
            "SELECT b.user_id, u.username, b.by_id, b.created_at FROM bans b
             JOIN users u ON u.id = b.user_id
             WHERE b.conv_id = ?1 ORDER BY b.created_at DESC, u.username",
        )
        .map_err(db_err)?;
    stmt.query_map([conv.as_bytes()], |r| {
        Ok((
            r.get::<_, Vec<u8>>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Vec<u8>>(2)?,
            r.get::<_, i64>(3)?,
        ))
    })
    .map_err(db_err)?
    .map(|r| {
        let (user, username, by, banned_at) = r.map_err(db_err)?;
        Ok(BanRecord {
            user: user_id(&user)?,
            username,
            by: user_id(&by)?,
            banned_at,
        })
    })
    .collect()
}

fn write_role(c: &Connection, conv: &ConversationId, user: &UserId, role: Role) -> Result<()> {
    c.prepare_cached("UPDATE members SET role = ?3 WHERE conv_id = ?1 AND user_id = ?2")
        .and_then(|mut s| s.execute(params![conv.as_bytes(), user.as_bytes(), role.as_str()]))
        .map_err(db_err)?;
    Ok(())
}

/// Gives a member a new role with a `role_changed` event.
pub(crate) fn set_role(ctx: &mut Ctx<'_>, change: &RoleChange) -> Result<Committed> {
    let members = members_of(ctx, &change.conv)?;
    if !members.contains(&change.by) || !members.contains(&change.user) {
        return Err(StoreError::NotMember);
    }
    if change.role == Role::Owner {
        return Err(StoreError::Invalid("ownership moves by transfer"));
    }
    write_role(ctx.conn, &change.conv, &change.user, change.role)?;
    announce(
        ctx,
        &change.conv,
        &change.by,
        EventBody::RoleChanged {
            user: change.user,
            role: change.role,
        },
        change.now,
    )
}

/// Hands the group from its owner `from` to `to`; `from` becomes an admin.
pub(crate) fn transfer_ownership(
    ctx: &mut Ctx<'_>,
    conv: &ConversationId,
    from: &UserId,
    to: &UserId,
    now: i64,
) -> Result<Committed> {
    let members = members_of(ctx, conv)?;
    if !members.contains(from) || !members.contains(to) {
        return Err(StoreError::NotMember);
    }
    write_role(ctx.conn, conv, from, Role::Admin)?;
    write_role(ctx.conn, conv, to, Role::Owner)?;
    announce(
        ctx,
        conv,
        from,
        EventBody::OwnershipTransferred {
            from: *from,
            to: *to,
        },
        now,
    )
}

/// A page of `conv`'s members in join order, after `after`.
pub(crate) fn member_page(
    c: &Connection,
    conv: &ConversationId,
    after: Option<MemberPosition>,
    limit: u32,
) -> Result<Vec<MemberRecord>> {
    let (seq, user) = after.map_or((0, Vec::new()), |a| {
        (a.joined_seq as i64, a.user.as_bytes().to_vec())
    });
    let mut stmt = c
        .prepare_cached(
            "SELECT m.user_id, u.username, m.joined_seq, m.joined_at, m.role, m.muted_until,
                    u.display_name, u.avatar
             FROM members m JOIN users u ON u.id = m.user_id
             WHERE m.conv_id = ?1 AND (m.joined_seq, m.user_id) > (?2, ?3)
             ORDER BY m.joined_seq, m.user_id LIMIT ?4",
        )
        .map_err(db_err)?;
    stmt.query_map(
        params![conv.as_bytes(), seq, user, i64::from(limit)],
        member_row,
    )
    .map_err(db_err)?
    .map(|r| r.map_err(db_err).and_then(into_member))
    .collect()
}

/// The columns `user_id, username, joined_seq, joined_at, role,
/// muted_until, display_name, avatar`.
pub(crate) type MemberRow = (
    Vec<u8>,
    String,
    i64,
    i64,
    String,
    Option<i64>,
    Option<String>,
    Option<String>,
);

pub(crate) fn member_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<MemberRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
    ))
}

pub(crate) fn into_member(row: MemberRow) -> Result<MemberRecord> {
    let (id, username, joined_seq, joined_at, role, muted_until, display_name, avatar) = row;
    Ok(MemberRecord {
        id: user_id(&id)?,
        username,
        display_name,
        avatar,
        joined_seq: joined_seq as u64,
        joined_at,
        role: parse_role(&role)?,
        muted_until,
    })
}

/// Mutes a member until `until`, or lifts the mute.
pub(crate) fn set_muted(
    ctx: &mut Ctx<'_>,
    conv: &ConversationId,
    by: &UserId,
    user: &UserId,
    until: Option<i64>,
    now: i64,
) -> Result<Committed> {
    let members = members_of(ctx, conv)?;
    if !members.contains(by) || !members.contains(user) {
        return Err(StoreError::NotMember);
    }
    ctx.conn
        .prepare_cached("UPDATE members SET muted_until = ?3 WHERE conv_id = ?1 AND user_id = ?2")
        .and_then(|mut s| s.execute(params![conv.as_bytes(), user.as_bytes(), until]))
        .map_err(db_err)?;
    ctx.cache.unrestricted.remove(conv);
    let body = match until {
        Some(until) => EventBody::MemberMuted { user: *user, until },
        None => EventBody::MemberUnmuted { user: *user },
    };
    announce(ctx, conv, by, body, now)
}
