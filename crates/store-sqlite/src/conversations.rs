//! Conversations and their members: creating them, adding members, and the
//! reads of one conversation, its members and a user's list.

use crate::blocks::refuse_blocked;
use crate::cache::Members;
use crate::commit::{commit_event, last_seq_of, members_of};
use crate::db_err;
use crate::rows::{
    CONV_COL_COUNT, CONV_COLS, CONV_COLS_C, ConvRow, EVENT_COL_COUNT, EVENT_COLS_E, EventRow,
    USER_COL_COUNT, USER_COLS_P, UserRow, conv_id, user_id,
};
use crate::writer::Ctx;
use natter_proto::{ConversationId, ConversationKind, Event, EventBody, UserId};
use natter_store::{
    Committed, ConversationRecord, ConversationSummary, Created, MemberRecord, Membership,
    NewConversation, NewMembers, Result, StoreError, Watermarks,
};
use rusqlite::types::ToSql;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::HashSet;
use std::sync::Arc;

/// The order members are listed in: the order they joined.
const JOIN_ORDER: &str = "m.joined_seq, m.joined_at";

/// Creates a conversation and its `created` event, or finds the direct
/// conversation the pair already has.
pub(crate) fn create_conversation(ctx: &mut Ctx<'_>, conv: &NewConversation) -> Result<Created> {
    let key = match conv.kind {
        ConversationKind::Direct => {
            let [a, b] = conv.members.as_slice() else {
                return Err(StoreError::Internal(
                    "a direct conversation has exactly two members".into(),
                ));
            };
            let key = direct_key(a, b);
            let existing: Option<Vec<u8>> = ctx
                .conn
                .prepare_cached("SELECT id FROM conversations WHERE direct_key = ?1")
                .and_then(|mut s| s.query_row([&key], |r| r.get(0)).optional())
                .map_err(db_err)?;
            if let Some(id) = existing {
                return Ok(Created::Existing(conv_id(&id)?));
            }
            Some(key)
        }
        ConversationKind::Group => None,
    };
    for m in &conv.members {
        if !user_exists(ctx.conn, m)? {
            return Err(StoreError::NotFound);
        }
    }
    refuse_blocked(ctx.conn, &conv.creator, &conv.members)?;
    ctx.conn
        .prepare_cached(
            "INSERT INTO conversations
             (id, kind, name, creator, created_at, direct_key, last_seq, last_ts, member_count)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?5, ?7)",
        )
        .and_then(|mut s| {
            s.execute(params![
                conv.id.as_bytes(),
                conv.kind.as_str(),
                conv.name,
                conv.creator.as_bytes(),
                conv.now,
                key,
                conv.members.len() as i64
            ])
        })
        .map_err(db_err)?;
    for m in &conv.members {
        // The second member of a direct conversation gets it as a request.
        let accepted = conv.kind == ConversationKind::Group || *m == conv.creator;
        insert_member(ctx.conn, &conv.id, m, 1, conv.now, accepted)?;
    }
    let members = Members::new(conv.members.clone(), conv.kind == ConversationKind::Direct);
    let recipients = members.order().clone();
    ctx.cache.members.insert(conv.id, Arc::new(members));
    let event = Event {
        conv: conv.id,
        seq: 1,
        ts: conv.now,
        sender: conv.creator,
        body: EventBody::Created {
            conv_kind: conv.kind,
            name: conv.name.clone(),
            members: conv.members.clone(),
        },
    };
    let committed = commit_event(ctx, event, recipients, conv.members.clone())?;
    Ok(Created::New(committed))
}

/// Adds the users who are not members yet, with one `members_added` event.
pub(crate) fn add_members(ctx: &mut Ctx<'_>, add: &NewMembers) -> Result<Option<Committed>> {
    let members = members_of(ctx, &add.conv)?;
    if !members.contains(&add.by) {
        return Err(StoreError::NotMember);
    }
    let mut fresh = Vec::new();
    let mut seen = HashSet::new();
    for u in &add.users {
        if members.contains(u) || !seen.insert(*u) {
            continue;
        }
        if !user_exists(ctx.conn, u)? {
            return Err(StoreError::NotFound);
        }
        fresh.push(*u);
    }
    if fresh.is_empty() {
        return Ok(None);
    }
    refuse_blocked(ctx.conn, &add.by, &fresh)?;
    let last = last_seq_of(ctx, &add.conv)?.ok_or(StoreError::NotFound)?;
    let seq = last + 1;
    let count = (members.len() + fresh.len()) as i64;
    ctx.conn
        .prepare_cached("UPDATE conversations SET member_count = ?2 WHERE id = ?1")
        .and_then(|mut s| s.execute(params![add.conv.as_bytes(), count]))
        .map_err(db_err)?;
    for u in &fresh {
        insert_member(ctx.conn, &add.conv, u, seq, add.now, true)?;
    }
    let all = members.with(&fresh);
    let recipients = all.order().clone();
    ctx.cache.members.insert(add.conv, Arc::new(all));
    let event = Event {
        conv: add.conv,
        seq,
        ts: add.now,
        sender: add.by,
        body: EventBody::MembersAdded {
            users: fresh.clone(),
        },
    };
    Ok(Some(commit_event(ctx, event, recipients, fresh)?))
}

fn user_exists(conn: &Connection, user: &UserId) -> Result<bool> {
    conn.prepare_cached("SELECT 1 FROM users WHERE id = ?1")
        .and_then(|mut s| s.exists([user.as_bytes()]))
        .map_err(db_err)
}

/// The sorted pair of ids that makes a direct conversation unique per pair.
fn direct_key(a: &UserId, b: &UserId) -> Vec<u8> {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let mut key = Vec::with_capacity(32);
    key.extend_from_slice(lo.as_bytes());
    key.extend_from_slice(hi.as_bytes());
    key
}

fn insert_member(
    c: &Connection,
    conv: &ConversationId,
    user: &UserId,
    seq: u64,
    now: i64,
    accepted: bool,
) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO members (conv_id, user_id, joined_seq, joined_at, accepted) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut s| {
        s.execute(params![
            conv.as_bytes(),
            user.as_bytes(),
            seq as i64,
            now,
            accepted
        ])
    })
    .map_err(db_err)?;
    Ok(())
}

/// A conversation's record.
pub(crate) fn conversation(
    c: &Connection,
    conv: &ConversationId,
) -> Result<Option<ConversationRecord>> {
    c.prepare_cached(&format!(
        "SELECT {CONV_COLS} FROM conversations WHERE id = ?1"
    ))
    .and_then(|mut s| s.query_row([conv.as_bytes()], ConvRow::from_row).optional())
    .map_err(db_err)?
    .map(ConvRow::into_record)
    .transpose()
}

/// A user's membership in a conversation.
pub(crate) fn membership(
    c: &Connection,
    conv: &ConversationId,
    user: &UserId,
) -> Result<Option<Membership>> {
    let seq: Option<i64> = c
        .prepare_cached("SELECT joined_seq FROM members WHERE conv_id = ?1 AND user_id = ?2")
        .and_then(|mut s| {
            s.query_row([conv.as_bytes(), user.as_bytes()], |r| r.get(0))
                .optional()
        })
        .map_err(db_err)?;
    Ok(seq.map(|s| Membership {
        joined_seq: s as u64,
    }))
}

/// All members with their usernames and when they joined, in join order.
pub(crate) fn member_list(c: &Connection, conv: &ConversationId) -> Result<Vec<MemberRecord>> {
    let mut stmt = c
        .prepare_cached(&format!(
            "SELECT m.user_id, u.username, m.joined_seq, m.joined_at
             FROM members m JOIN users u ON u.id = m.user_id
             WHERE m.conv_id = ?1 ORDER BY {JOIN_ORDER}"
        ))
        .map_err(db_err)?;
    stmt.query_map([conv.as_bytes()], |r| {
        Ok((
            r.get::<_, Vec<u8>>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, i64>(3)?,
        ))
    })
    .map_err(db_err)?
    .map(|r| {
        let (id, username, joined_seq, joined_at) = r.map_err(db_err)?;
        Ok(MemberRecord {
            id: user_id(&id)?,
            username,
            joined_seq: joined_seq as u64,
            joined_at,
        })
    })
    .collect()
}

/// All members' ids, in join order. The writer loads its member cache with
/// this too.
pub(crate) fn member_ids(c: &Connection, conv: &ConversationId) -> Result<Vec<UserId>> {
    let mut stmt = c
        .prepare_cached(&format!(
            "SELECT m.user_id FROM members m WHERE m.conv_id = ?1 ORDER BY {JOIN_ORDER}"
        ))
        .map_err(db_err)?;
    stmt.query_map([conv.as_bytes()], |r| r.get::<_, Vec<u8>>(0))
        .map_err(db_err)?
        .map(|r| r.map_err(db_err).and_then(|b| user_id(&b)))
        .collect()
}

/// The user's conversations, newest activity first.
pub(crate) fn conversations_of(c: &Connection, user: &UserId) -> Result<Vec<ConversationSummary>> {
    summaries(c, user, None)
}

/// One of the user's conversations as [`conversations_of`] lists it; `None`
/// when the user is not a member.
pub(crate) fn conversation_of(
    c: &Connection,
    user: &UserId,
    conv: &ConversationId,
) -> Result<Option<ConversationSummary>> {
    Ok(summaries(c, user, Some(conv))?.into_iter().next())
}

/// The user's conversation summaries, all of them or only `only`. Both use
/// one query so the single conversation answers exactly as the list does;
/// with `only` it is read through the `members` key instead of the user's
/// whole list.
fn summaries(
    c: &Connection,
    user: &UserId,
    only: Option<&ConversationId>,
) -> Result<Vec<ConversationSummary>> {
    let filter = if only.is_some() {
        "AND m.conv_id = ?2"
    } else {
        ""
    };
    let mut stmt = c
        .prepare_cached(&format!(
            "SELECT {CONV_COLS_C}, {EVENT_COLS_E}, {USER_COLS_P},
                    m.delivered_seq, m.read_seq, pm.delivered_seq, pm.read_seq,
                    (SELECT COUNT(*) FROM events x
                      WHERE x.conv_id = c.id AND x.kind = 'message' AND x.sender <> m.user_id
                        AND x.seq > MAX(m.read_seq, m.joined_seq - 1)) AS unread,
                    m.accepted = 0
             FROM members m
             JOIN conversations c ON c.id = m.conv_id
             LEFT JOIN events e ON e.conv_id = c.id AND e.seq = c.last_msg_seq
                  AND c.last_msg_seq >= m.joined_seq
             LEFT JOIN members pm ON c.kind = 'direct' AND pm.conv_id = c.id AND pm.user_id <> m.user_id
             LEFT JOIN users p ON p.id = pm.user_id
             WHERE m.user_id = ?1 {filter}
             ORDER BY c.last_ts DESC"
        ))
        .map_err(db_err)?;
    let user = user.as_bytes();
    let conv = only.map(|c| c.as_bytes());
    let mut bound: Vec<&dyn ToSql> = vec![&user];
    if let Some(conv) = &conv {
        bound.push(conv);
    }
    let at = CONV_COL_COUNT + EVENT_COL_COUNT + USER_COL_COUNT;
    stmt.query_map(bound.as_slice(), |r| {
        let mine = Watermarks {
            delivered: r.get::<_, i64>(at)? as u64,
            read: r.get::<_, i64>(at + 1)? as u64,
        };
        let peer_marks = match (
            r.get::<_, Option<i64>>(at + 2)?,
            r.get::<_, Option<i64>>(at + 3)?,
        ) {
            (Some(d), Some(rd)) => Some(Watermarks {
                delivered: d as u64,
                read: rd as u64,
            }),
            _ => None,
        };
        Ok((
            ConvRow::from_row(r)?,
            EventRow::from_row_at(r, CONV_COL_COUNT)?,
            UserRow::from_row_at(r, CONV_COL_COUNT + EVENT_COL_COUNT)?,
            mine,
            peer_marks,
            r.get::<_, i64>(at + 4)? as u64,
            r.get::<_, bool>(at + 5)?,
        ))
    })
    .map_err(db_err)?
    .map(|r| {
        let (conv, ev, peer, mine, peer_watermarks, unread, request) = r.map_err(db_err)?;
        Ok(ConversationSummary {
            conv: conv.into_record()?,
            last_message: ev.map(EventRow::into_event).transpose()?,
            peer: peer.map(UserRow::into_record).transpose()?,
            peer_watermarks,
            mine,
            unread,
            request,
        })
    })
    .collect()
}
