//! What every write that puts items in the log shares: the next position of
//! the database-wide sequence, the conversation's newest seq and members
//! (kept warm in the writer cache), and the insertion of an event.
//!
//! Everything here runs on the writer thread, inside the batch transaction.

use crate::cache::Members;
use crate::conversations::member_states;
use crate::log::log_head;
use crate::rows::EventRow;
use crate::{db_err, writer::Ctx};
use natter_proto::{ConversationId, Cursor, Event, EventBody, LogItem, MembershipChange, UserId};
use natter_store::{Committed, Result};
use rusqlite::{Connection, OptionalExtension, params};
use std::sync::Arc;

/// The conversation's members, from the cache or the database. Empty for a
/// conversation that does not exist.
pub(crate) fn members_of(ctx: &mut Ctx<'_>, conv: &ConversationId) -> Result<Arc<Members>> {
    if let Some(m) = ctx.cache.members.get(conv) {
        return Ok(m.clone());
    }
    let direct: Option<bool> = ctx
        .conn
        .prepare_cached("SELECT kind = 'direct' FROM conversations WHERE id = ?1")
        .and_then(|mut s| s.query_row([conv.as_bytes()], |r| r.get(0)).optional())
        .map_err(db_err)?;
    let states = member_states(ctx.conn, conv)?;
    let pending = states.iter().filter(|(_, a)| !a).map(|(u, _)| *u).collect();
    let members = Arc::new(Members::new(
        states.into_iter().map(|(u, _)| u).collect(),
        direct.unwrap_or(false),
        pending,
    ));
    ctx.cache.trim();
    ctx.cache.members.insert(*conv, members.clone());
    Ok(members)
}

/// The conversation's newest seq, from the cache or the database; `None`
/// when the conversation does not exist.
pub(crate) fn last_seq_of(ctx: &mut Ctx<'_>, conv: &ConversationId) -> Result<Option<u64>> {
    if let Some(s) = ctx.cache.last_seq.get(conv) {
        return Ok(Some(*s));
    }
    let seq: Option<i64> = ctx
        .conn
        .prepare_cached("SELECT last_seq FROM conversations WHERE id = ?1")
        .and_then(|mut s| s.query_row([conv.as_bytes()], |r| r.get(0)).optional())
        .map_err(db_err)?;
    if let Some(s) = seq {
        ctx.cache.last_seq.insert(*conv, s as u64);
    }
    Ok(seq.map(|s| s as u64))
}

/// Takes the next position of the database-wide sequence.
pub(crate) fn next_position(ctx: &mut Ctx<'_>) -> Result<u64> {
    let head = match ctx.cache.head {
        Some(h) => h,
        None => log_head(ctx.conn)?,
    };
    let next = head + 1;
    ctx.conn
        .prepare_cached("UPDATE log_head SET pos = ?1 WHERE id = 0")
        .and_then(|mut s| s.execute([next as i64]))
        .map_err(db_err)?;
    ctx.cache.head = Some(next);
    Ok(next)
}

/// How an event changes who is in its conversation (see
/// [`Committed::joined`] and [`Committed::left`]).
#[derive(Default)]
pub(crate) struct Change {
    pub joined: Vec<UserId>,
    pub left: Vec<UserId>,
}

/// Inserts an event at the next position; it reaches `recipients` (the
/// conversation's members) without a row per member.
pub(crate) fn commit_event(
    ctx: &mut Ctx<'_>,
    event: Event,
    recipients: Arc<Vec<UserId>>,
    change: Change,
) -> Result<Committed> {
    let pos = next_position(ctx)?;
    insert_event(ctx.conn, &event, pos)?;
    // A message in the main timeline becomes the list's last message; an
    // operation on an earlier message (an edit, a reaction, a pin) does
    // not move the conversation up the list.
    let is_message = matches!(event.body, EventBody::Message { .. }) && !in_thread_only(&event);
    let is_activity = !event.body.is_message_operation();
    ctx.conn
        .prepare_cached(
            "UPDATE conversations SET last_seq = ?2, last_pos = ?3,
                 last_ts = CASE WHEN ?6 THEN ?4 ELSE last_ts END,
                 last_msg_seq = CASE WHEN ?5 THEN ?2 ELSE last_msg_seq END
             WHERE id = ?1",
        )
        .and_then(|mut s| {
            s.execute(params![
                event.conv.as_bytes(),
                event.seq as i64,
                pos as i64,
                event.ts,
                is_message,
                is_activity
            ])
        })
        .map_err(db_err)?;
    ctx.cache.last_seq.insert(event.conv, event.seq);
    let committed = Committed {
        item: Arc::new(LogItem::Event(event)),
        position: Cursor(pos),
        recipients,
        variants: Vec::new(),
        joined: change.joined,
        left: change.left,
    };
    ctx.committed.push(committed.clone());
    Ok(committed)
}

/// A thread reply that is not also shown in the main timeline.
pub(crate) fn in_thread_only(ev: &Event) -> bool {
    matches!(&ev.body, EventBody::Message { meta, .. }
        if meta.thread.is_some() && !meta.also_in_conversation)
}

fn insert_event(c: &Connection, ev: &Event, pos: u64) -> Result<()> {
    let row = EventRow::from_event(ev)?;
    let target = match &ev.body {
        EventBody::Message { meta, .. } => meta.thread,
        body => body.target(),
    };
    c.prepare_cached(
        "INSERT INTO events (conv_id, seq, ts, sender, kind, msg_id, client_id, device_id, text, payload, pos, target, in_thread)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )
    .and_then(|mut s| {
        s.execute(params![
            row.conv,
            row.seq,
            row.ts,
            row.sender,
            row.kind,
            row.msg_id,
            row.client_id,
            row.device_id,
            row.text,
            row.payload,
            pos as i64,
            target.map(|t| t as i64),
            in_thread_only(ev)
        ])
    })
    .map_err(db_err)?;
    if let EventBody::Message { text, .. } = &ev.body {
        crate::search::index(c, &ev.conv, ev.seq, text)?;
    }
    Ok(())
}

/// Commits an item addressed to `user` alone (a change of their own
/// settings) at the next position, as a `user_items` row of its kind.
pub(crate) fn commit_user_item(
    ctx: &mut Ctx<'_>,
    user: UserId,
    conv: ConversationId,
    item: LogItem,
) -> Result<Committed> {
    let pos = next_position(ctx)?;
    let json = match &item {
        LogItem::Settings(s) => serde_json::to_string(s),
        LogItem::Membership(m) => serde_json::to_string(m),
        LogItem::Receipt(r) => serde_json::to_string(r),
        LogItem::Personal(p) => serde_json::to_string(p),
        _ => return Err(natter_store::StoreError::Internal("not a user item".into())),
    }
    .map_err(|e| natter_store::StoreError::Internal(format!("encode item: {e}")))?;
    ctx.conn
        .prepare_cached(
            "INSERT INTO user_items (user_id, pos, conv_id, receipt, kind)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .and_then(|mut s| {
            s.execute(params![
                user.as_bytes(),
                pos as i64,
                conv.as_bytes(),
                json,
                item.kind()
            ])
        })
        .map_err(db_err)?;
    let committed = Committed {
        item: Arc::new(item),
        position: Cursor(pos),
        recipients: Arc::new(vec![user]),
        variants: Vec::new(),
        joined: Vec::new(),
        left: Vec::new(),
    };
    ctx.committed.push(committed.clone());
    Ok(committed)
}

/// Commits a silent membership change (a channel's subscriber joining or
/// leaving): one `user_items` row in that user's log alone, at the next
/// position, and no event in the conversation, so it costs the same
/// whatever the channel's size.
pub(crate) fn commit_membership(ctx: &mut Ctx<'_>, change: MembershipChange) -> Result<Committed> {
    let pos = next_position(ctx)?;
    let json = serde_json::to_string(&change)
        .map_err(|e| natter_store::StoreError::Internal(format!("encode membership: {e}")))?;
    ctx.conn
        .prepare_cached(
            "INSERT INTO user_items (user_id, pos, conv_id, receipt, kind)
             VALUES (?1, ?2, ?3, ?4, 'membership')",
        )
        .and_then(|mut s| {
            s.execute(params![
                change.user.as_bytes(),
                pos as i64,
                change.conv.as_bytes(),
                json
            ])
        })
        .map_err(db_err)?;
    let user = change.user;
    let joins = matches!(change.change, natter_proto::MembershipChangeKind::Joined);
    let committed = Committed {
        item: Arc::new(LogItem::Membership(change)),
        position: Cursor(pos),
        recipients: Arc::new(vec![user]),
        variants: Vec::new(),
        joined: if joins { vec![user] } else { Vec::new() },
        left: if joins { Vec::new() } else { vec![user] },
    };
    ctx.committed.push(committed.clone());
    Ok(committed)
}
