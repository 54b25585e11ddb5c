//! Appending messages and reading a conversation's history.

use crate::commit::{Change, commit_event, last_seq_of, members_of};
use crate::conversations::membership;
use crate::db_err;
use crate::rows::{EVENT_COLS, EventRow};
use crate::writer::Ctx;
use natter_proto::{Event, EventBody};
use natter_store::{
    Appended, Committed, HistoryRange, HistoryRequest, HistorySlice, MessageDeletion, NewMessage,
    Result, StoreError,
};
use rusqlite::{Connection, OptionalExtension, params};
use std::sync::Arc;

/// Appends a message, or returns the one stored earlier under the same
/// `(conversation, sender, client id)`.
pub(crate) fn append_message(ctx: &mut Ctx<'_>, msg: &NewMessage) -> Result<Appended> {
    let earlier = ctx
        .conn
        .prepare_cached(&format!(
            "SELECT {EVENT_COLS} FROM events WHERE conv_id = ?1 AND sender = ?2 AND client_id = ?3"
        ))
        .and_then(|mut s| {
            s.query_row(
                params![msg.conv.as_bytes(), msg.sender.as_bytes(), msg.client_id.0],
                |r| EventRow::from_row_at(r, 0),
            )
            .optional()
        })
        .map_err(db_err)?
        .flatten();
    if let Some(row) = earlier {
        let event = row.into_event()?;
        return match &event.body {
            EventBody::Message { text, .. } if *text == msg.text => Ok(Appended::Duplicate(event)),
            // Deleted since: the retry is answered, nothing comes back.
            EventBody::Deleted { .. } => Ok(Appended::Duplicate(event)),
            _ => Err(StoreError::IdempotencyConflict),
        };
    }
    let members = members_of(ctx, &msg.conv)?;
    if !members.contains(&msg.sender) {
        return Err(StoreError::NotMember);
    }
    if !members.is_direct() && !ctx.cache.unrestricted.contains(&msg.conv) {
        if unrestricted(ctx.conn, &msg.conv)? {
            ctx.cache.unrestricted.insert(msg.conv);
        } else {
            check_posting(ctx.conn, msg)?;
        }
    }
    let accepted = if members.is_direct() {
        crate::blocks::before_direct_send(ctx.conn, &msg.conv, &members, &msg.sender)?
    } else if members.is_pending(&msg.sender) {
        // Writing in a group one was invited to accepts the invitation.
        crate::blocks::accept(ctx.conn, &msg.conv, &msg.sender)?;
        ctx.cache
            .members
            .insert(msg.conv, Arc::new(members.accepting(&msg.sender)));
        true
    } else {
        false
    };
    let meta = crate::rich::prepare(ctx, msg)?;
    let last = last_seq_of(ctx, &msg.conv)?.ok_or(StoreError::NotMember)?;
    let seq = last + 1;
    let event = Event {
        conv: msg.conv,
        seq,
        ts: msg.now,
        sender: msg.sender,
        body: EventBody::Message {
            id: msg.id,
            client_id: msg.client_id.clone(),
            device: msg.device,
            text: msg.text.clone(),
            meta: Box::new(meta),
        },
    };
    crate::rich::after_append(ctx, &event)?;
    let committed = commit_event(ctx, event, members.order().clone(), Change::default())?;
    Ok(if accepted {
        Appended::Accepted(committed)
    } else {
        Appended::New(committed)
    })
}

/// Whether a group has neither slow mode nor a muted member (an expired
/// mute counts until it is lifted). Never a channel: its subscribers'
/// messages are refused (`ReadOnly`), which needs the sender's role, so
/// each post reads the sender's row instead; the member scan is skipped
/// for channels, whose posts would otherwise walk every subscriber.
fn unrestricted(c: &Connection, conv: &natter_proto::ConversationId) -> Result<bool> {
    c.prepare_cached(
        "SELECT CASE WHEN c.kind = 'channel' OR c.slow_mode_secs <> 0 THEN 0
                ELSE NOT EXISTS (SELECT 1 FROM members m
                                  WHERE m.conv_id = c.id AND m.muted_until IS NOT NULL)
                END
         FROM conversations c WHERE c.id = ?1",
    )
    .and_then(|mut s| s.query_row([conv.as_bytes()], |r| r.get(0)))
    .map_err(db_err)
}

/// Refuses a message from a channel's subscriber, a group message from a
/// muted member, or one sooner than slow
/// mode allows after their last (moderators and above are exempt); under
/// slow mode, records the post. In the writer, so pipelined sends keep
/// their order and a retry of a stored message is answered as a duplicate
/// before this runs.
fn check_posting(c: &Connection, msg: &NewMessage) -> Result<()> {
    let (muted_until, role, slow, last): (Option<i64>, String, i64, Option<i64>) = c
        .prepare_cached(
            "SELECT m.muted_until, m.role, c.slow_mode_secs, m.last_post_at
             FROM members m JOIN conversations c ON c.id = m.conv_id
             WHERE m.conv_id = ?1 AND m.user_id = ?2",
        )
        .and_then(|mut s| {
            s.query_row(params![msg.conv.as_bytes(), msg.sender.as_bytes()], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
        })
        .map_err(db_err)?;
    let role = crate::rows::parse_role(&role)?;
    if role == natter_proto::Role::Subscriber {
        return Err(StoreError::ReadOnly);
    }
    let secs_until = |at: i64| ((at - msg.now).max(0) as u64).div_ceil(1000).max(1);
    if let Some(until) = muted_until
        && until > msg.now
    {
        return Err(StoreError::Muted(secs_until(until)));
    }
    let exempt = role.outranks(natter_proto::Role::Member);
    if slow > 0 && !exempt {
        if let Some(last) = last {
            let ready = last.saturating_add(slow * 1000);
            if msg.now < ready {
                return Err(StoreError::SlowMode(secs_until(ready)));
            }
        }
        c.prepare_cached(
            "UPDATE members SET last_post_at = ?3 WHERE conv_id = ?1 AND user_id = ?2",
        )
        .and_then(|mut s| s.execute(params![msg.conv.as_bytes(), msg.sender.as_bytes(), msg.now]))
        .map_err(db_err)?;
    }
    Ok(())
}

/// A page of the conversation's events the viewer may see (from their
/// `visible_from` on).
pub(crate) fn history(c: &Connection, q: &HistoryRequest) -> Result<HistorySlice> {
    let visible_from = membership(c, &q.conv, &q.viewer)?
        .ok_or(StoreError::NotMember)?
        .visible_from;
    let floor = visible_from as i64;
    let limit = q.limit.max(1) as i64;
    let (sql, bound, descending) = match q.range {
        HistoryRange::Latest => (
            format!(
                "SELECT {EVENT_COLS} FROM events WHERE conv_id = ?1 AND seq >= ?2 AND seq <= ?3 ORDER BY seq DESC LIMIT ?4"
            ),
            i64::MAX,
            true,
        ),
        HistoryRange::Before(b) => (
            format!(
                "SELECT {EVENT_COLS} FROM events WHERE conv_id = ?1 AND seq >= ?2 AND seq < ?3 ORDER BY seq DESC LIMIT ?4"
            ),
            b.min(i64::MAX as u64) as i64,
            true,
        ),
        HistoryRange::After(a) => (
            format!(
                "SELECT {EVENT_COLS} FROM events WHERE conv_id = ?1 AND seq >= ?2 AND seq > ?3 ORDER BY seq ASC LIMIT ?4"
            ),
            a.min(i64::MAX as u64) as i64,
            false,
        ),
    };
    let mut stmt = c.prepare_cached(&sql).map_err(db_err)?;
    let mut events = stmt
        .query_map(params![q.conv.as_bytes(), floor, bound, limit + 1], |r| {
            EventRow::from_row_at(r, 0)
        })
        .map_err(db_err)?
        .filter_map(|r| r.transpose())
        .map(|r| r.map_err(db_err).and_then(EventRow::into_event))
        .collect::<Result<Vec<_>>>()?;
    let more = events.len() as i64 > limit;
    events.truncate(limit as usize);
    if descending {
        events.reverse();
    }
    crate::rich::fill_history(c, &q.viewer, visible_from, &mut events)?;
    Ok(HistorySlice { events, more })
}

/// Deletes a message for everyone: its row keeps its seq and id but becomes
/// a `deleted` tombstone with the text gone (and the text copied into
/// reports of it too), and a `message_deleted` event tells every member.
pub(crate) fn delete_message(ctx: &mut Ctx<'_>, d: &MessageDeletion) -> Result<Committed> {
    let members = members_of(ctx, &d.conv)?;
    if !members.contains(&d.by) {
        return Err(StoreError::NotMember);
    }
    type Row = (String, Option<Vec<u8>>, Option<String>);
    let row: Option<Row> = ctx
        .conn
        .prepare_cached("SELECT kind, msg_id, payload FROM events WHERE conv_id = ?1 AND seq = ?2")
        .and_then(|mut s| {
            s.query_row(params![d.conv.as_bytes(), d.seq as i64], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()
        })
        .map_err(db_err)?;
    let (id, meta) = match row {
        Some((kind, Some(id), payload)) if kind == "message" => (
            crate::rows::message_id(&id)?,
            match payload {
                Some(json) => serde_json::from_str::<natter_proto::MessageMeta>(&json)
                    .map_err(|e| StoreError::Internal(format!("decode message meta: {e}")))?,
                None => Default::default(),
            },
        ),
        _ => return Err(StoreError::NotFound),
    };
    // A thread reply's tombstone stays in its thread.
    let tombstone = serde_json::to_string(&EventBody::Deleted {
        id,
        by: d.by,
        at: d.now,
        thread: meta.thread,
        also_in_conversation: meta.also_in_conversation,
        thread_replies: meta.thread_replies,
    })
    .map_err(|e| StoreError::Internal(format!("encode tombstone: {e}")))?;
    ctx.conn
        .prepare_cached(
            "UPDATE events SET kind = 'deleted', text = NULL, payload = ?3
             WHERE conv_id = ?1 AND seq = ?2",
        )
        .and_then(|mut s| s.execute(params![d.conv.as_bytes(), d.seq as i64, tombstone]))
        .map_err(db_err)?;
    ctx.conn
        .prepare_cached("UPDATE reports SET text = '' WHERE conv_id = ?1 AND seq = ?2")
        .and_then(|mut s| s.execute(params![d.conv.as_bytes(), d.seq as i64]))
        .map_err(db_err)?;
    crate::rich::forget_message(ctx.conn, &d.conv, d.seq)?;
    crate::search::unindex(ctx.conn, &d.conv, d.seq)?;
    // The copies in moderators' logs too.
    ctx.conn
        .prepare_cached(
            "UPDATE user_items SET receipt = json_set(receipt, '$.text', '')
             WHERE conv_id = ?1 AND kind = 'report' AND json_extract(receipt, '$.seq') = ?2",
        )
        .and_then(|mut s| s.execute(params![d.conv.as_bytes(), d.seq as i64]))
        .map_err(db_err)?;
    let seq = last_seq_of(ctx, &d.conv)?.ok_or(StoreError::NotMember)? + 1;
    let event = Event {
        conv: d.conv,
        seq,
        ts: d.now,
        sender: d.by,
        body: EventBody::MessageDeleted { target: d.seq, id },
    };
    commit_event(ctx, event, members.order().clone(), Change::default())
}
