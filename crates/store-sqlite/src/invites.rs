//! Invite links: stored by their random token; joining through one adds a
//! member and counts a use in the same commit, so a link's `max_uses`
//! holds however many people use it at once.

use crate::cache::Members;
use crate::commit::{Change, commit_event, commit_membership, last_seq_of, members_of};
use crate::conversations::{MemberRow, insert_member, visible_from};
use crate::db_err;
use crate::rows::{conv_id, user_id};
use crate::writer::Ctx;
use natter_proto::{
    ConversationId, ConversationKind, Event, EventBody, MembershipChange, MembershipChangeKind,
    Role,
};
use natter_store::{InviteJoin, InviteRecord, Joined, NewInvite, Result, StoreError};
use rusqlite::{Connection, OptionalExtension, params};
use std::sync::Arc;

const COLS: &str = "token, conv_id, created_by, created_at, expires_at, max_uses, uses, revoked_at";

fn record(r: &rusqlite::Row<'_>) -> rusqlite::Result<(InviteRow, Vec<u8>, Vec<u8>)> {
    Ok((
        InviteRow {
            token: r.get(0)?,
            created_at: r.get(3)?,
            expires_at: r.get(4)?,
            max_uses: r.get(5)?,
            uses: r.get(6)?,
            revoked_at: r.get(7)?,
        },
        r.get(1)?,
        r.get(2)?,
    ))
}

struct InviteRow {
    token: String,
    created_at: i64,
    expires_at: Option<i64>,
    max_uses: Option<i64>,
    uses: i64,
    revoked_at: Option<i64>,
}

fn into_record((row, conv, by): (InviteRow, Vec<u8>, Vec<u8>)) -> Result<InviteRecord> {
    Ok(InviteRecord {
        token: row.token,
        conv: conv_id(&conv)?,
        created_by: user_id(&by)?,
        created_at: row.created_at,
        expires_at: row.expires_at,
        max_uses: row.max_uses.map(|m| m as u32),
        uses: row.uses as u32,
        revoked_at: row.revoked_at,
    })
}

/// Stores a link.
pub(crate) fn create(ctx: &mut Ctx<'_>, i: &NewInvite) -> Result<InviteRecord> {
    if !members_of(ctx, &i.conv)?.contains(&i.by) {
        return Err(StoreError::NotMember);
    }
    ctx.conn
        .prepare_cached(
            "INSERT INTO invites (token, conv_id, created_by, created_at, expires_at, max_uses)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .and_then(|mut s| {
            s.execute(params![
                i.token,
                i.conv.as_bytes(),
                i.by.as_bytes(),
                i.now,
                i.expires_at,
                i.max_uses.map(i64::from)
            ])
        })
        .map_err(db_err)?;
    Ok(InviteRecord {
        token: i.token.clone(),
        conv: i.conv,
        created_by: i.by,
        created_at: i.now,
        expires_at: i.expires_at,
        max_uses: i.max_uses,
        uses: 0,
        revoked_at: None,
    })
}

/// The group's links not revoked, newest first.
pub(crate) fn list(c: &Connection, conv: &ConversationId) -> Result<Vec<InviteRecord>> {
    let mut stmt = c
        .prepare_cached(&format!(
            "SELECT {COLS} FROM invites WHERE conv_id = ?1 AND revoked_at IS NULL
             ORDER BY created_at DESC, token"
        ))
        .map_err(db_err)?;
    stmt.query_map([conv.as_bytes()], record)
        .map_err(db_err)?
        .map(|r| r.map_err(db_err).and_then(into_record))
        .collect()
}

/// A link by its token.
pub(crate) fn get(c: &Connection, token: &str) -> Result<Option<InviteRecord>> {
    c.prepare_cached(&format!("SELECT {COLS} FROM invites WHERE token = ?1"))
        .and_then(|mut s| s.query_row([token], record).optional())
        .map_err(db_err)?
        .map(into_record)
        .transpose()
}

/// Revokes one of the group's links.
pub(crate) fn revoke(
    ctx: &mut Ctx<'_>,
    conv: &ConversationId,
    token: &str,
    now: i64,
) -> Result<bool> {
    let n = ctx
        .conn
        .prepare_cached(
            "UPDATE invites SET revoked_at = ?3
             WHERE token = ?1 AND conv_id = ?2 AND revoked_at IS NULL",
        )
        .and_then(|mut s| s.execute(params![token, conv.as_bytes(), now]))
        .map_err(db_err)?;
    Ok(n > 0)
}

/// Joins through a link.
pub(crate) fn join(ctx: &mut Ctx<'_>, j: &InviteJoin) -> Result<Joined> {
    let invite = get(ctx.conn, &j.token)?.ok_or(StoreError::NotFound)?;
    let conv = invite.conv;
    let members = members_of(ctx, &conv)?;
    // A member following the link again is let through whatever its state.
    if members.contains(&j.user) {
        return Ok(Joined::Already(conv));
    }
    if !invite.usable(j.now) {
        return Err(StoreError::NotFound);
    }
    if members.is_direct() {
        return Err(StoreError::NotFound);
    }
    let kind = crate::conversations::conversation(ctx.conn, &conv)?
        .map(|c| c.kind)
        .ok_or(StoreError::NotFound)?;
    if !kind.is_multi() {
        return Err(StoreError::NotFound);
    }
    if crate::membership::is_banned(ctx.conn, &conv, &j.user)? {
        return Err(StoreError::Banned);
    }
    if members.len() as u64 + 1 > j.max_members {
        return Err(StoreError::Invalid("the group is full"));
    }
    let seq = last_seq_of(ctx, &conv)?.ok_or(StoreError::NotFound)? + 1;
    let visible = visible_from(ctx.conn, &conv, seq, j.now)?;
    let channel = kind == ConversationKind::Channel;
    let row = MemberRow {
        user: j.user,
        seq,
        now: j.now,
        accepted: true,
        role: if channel {
            Role::Subscriber
        } else {
            Role::Member
        },
        visible_seq: visible,
    };
    insert_member(ctx.conn, &conv, &row)?;
    ctx.conn
        .prepare_cached("UPDATE conversations SET member_count = member_count + 1 WHERE id = ?1")
        .and_then(|mut s| s.execute([conv.as_bytes()]))
        .map_err(db_err)?;
    ctx.conn
        .prepare_cached("UPDATE invites SET uses = uses + 1 WHERE token = ?1")
        .and_then(|mut s| s.execute([&j.token]))
        .map_err(db_err)?;
    if channel {
        // A subscriber joins silently: one row in their own log, and the
        // channel's next event is the first they get.
        drop(members);
        if let Some(cached) = ctx.cache.members.get_mut(&conv) {
            Members::push(cached, j.user);
        }
        let change = MembershipChange {
            conv,
            user: j.user,
            change: MembershipChangeKind::Joined,
            by: j.user,
            ts: j.now,
            seq: seq - 1,
        };
        return commit_membership(ctx, change).map(Joined::New);
    }
    let all = members.with(&[j.user], &[]);
    let recipients = all.order().clone();
    ctx.cache.members.insert(conv, Arc::new(all));
    let event = Event {
        conv,
        seq,
        ts: j.now,
        sender: j.user,
        body: EventBody::MemberJoined { user: j.user },
    };
    let change = Change {
        joined: vec![j.user],
        left: Vec::new(),
    };
    commit_event(ctx, event, recipients, change).map(Joined::New)
}
