//! Reading a user's log: the pages after a cursor, the head and floor, the
//! single read a live connection opens with, and the presence peers it
//! needs.
//!
//! A user's log is not stored as such: it is the events of their
//! conversations (from where they joined) and the receipts addressed to
//! them (`user_items`), merged by position.

use crate::accounts::{session_by_id, user_by_id};
use crate::commit::next_position;
use crate::db_err;
use crate::rows::{EVENT_COLS, EventRow, conv_id, parse_visibility, user_id};
use crate::writer::Ctx;
use natter_proto::{
    ConversationId, Cursor, LogItem, MembershipChange, Receipt, SettingsChange, UserId,
};
use natter_store::{ConnectionRequest, ConnectionView, LogPage, PresencePeer, Result, StoreError};
use rusqlite::{Connection, OptionalExtension, params};

/// The newest position handed out.
pub(crate) fn log_head(conn: &Connection) -> Result<u64> {
    conn.prepare_cached("SELECT pos FROM log_head WHERE id = 0")
        .and_then(|mut s| s.query_row([], |r| r.get::<_, i64>(0)))
        .map(|h| h as u64)
        .map_err(db_err)
}

/// The newest position and the user's floor (cursors below it were pruned).
pub(crate) fn head_and_floor(c: &Connection, user: &UserId) -> Result<(u64, u64)> {
    let floor: Option<i64> = c
        .prepare_cached("SELECT log_floor FROM users WHERE id = ?1")
        .and_then(|mut s| s.query_row([user.as_bytes()], |r| r.get(0)).optional())
        .map_err(db_err)?;
    let floor = floor.ok_or(StoreError::NotFound)? as u64;
    Ok((log_head(c)?.max(floor), floor))
}

/// Raises `user`'s floor to a position of its own, above every cursor
/// handed out so far (see [`natter_store::Store::raise_log_floor`]).
pub(crate) fn raise_log_floor(ctx: &mut Ctx<'_>, user: &UserId) -> Result<u64> {
    head_and_floor(ctx.conn, user)?;
    let floor = next_position(ctx)?;
    ctx.conn
        .prepare_cached("UPDATE users SET log_floor = ?2 WHERE id = ?1")
        .and_then(|mut s| s.execute(params![user.as_bytes(), floor as i64]))
        .map_err(db_err)?;
    Ok(floor)
}

/// A page of `user`'s log after `after`, read in one snapshot.
pub(crate) fn log_after(
    c: &Connection,
    user: &UserId,
    after: Cursor,
    limit: u32,
) -> Result<LogPage> {
    // One snapshot for every statement: a commit landing between two of
    // them could otherwise put a position in one conversation's answer and
    // hide a lower one in another's.
    let tx = c.unchecked_transaction().map_err(db_err)?;
    log_page(&tx, user, after, limit)
}

/// The session, user, first log page and presence peers a live connection
/// opens with, read in one snapshot.
pub(crate) fn connection_view(c: &Connection, req: &ConnectionRequest) -> Result<ConnectionView> {
    let tx = c.unchecked_transaction().map_err(db_err)?;
    let log = match log_page(&tx, &req.user, req.cursor, req.limit) {
        Ok(page) => Ok(page),
        Err(StoreError::CursorGone { head }) => Err(head),
        Err(e) => return Err(e),
    };
    Ok(ConnectionView {
        session: session_by_id(&tx, &req.device)?,
        user: user_by_id(&tx, &req.user)?,
        log,
        peers: presence_peers(&tx, &req.user, req.max_group)?,
    })
}

/// A page of `user`'s log after `after`. Run it inside one read transaction.
fn log_page(c: &Connection, user: &UserId, after: Cursor, limit: u32) -> Result<LogPage> {
    let (head, floor) = head_and_floor(c, user)?;
    if after.0 < floor || after.0 > head {
        return Err(StoreError::CursorGone { head: Cursor(head) });
    }
    let conversations = conversation_ids(c, user)?;
    if after.0 == head {
        return Ok(LogPage {
            entries: Vec::new(),
            head: Cursor(head),
            conversations,
        });
    }
    let limit = limit.max(1) as usize;
    let after_pos = after.0 as i64;
    let mut entries: Vec<(u64, LogItem)> = Vec::new();
    // Receipts addressed to the user.
    let mut stmt = c
        .prepare_cached(
            "SELECT pos, receipt, kind FROM user_items WHERE user_id = ?1 AND pos > ?2
             ORDER BY pos LIMIT ?3",
        )
        .map_err(db_err)?;
    let rows = stmt
        .query_map(params![user.as_bytes(), after_pos, limit as i64], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .map_err(db_err)?;
    for row in rows {
        let (pos, json, kind) = row.map_err(db_err)?;
        let item = match kind.as_str() {
            "membership" => {
                serde_json::from_str::<MembershipChange>(&json).map(LogItem::Membership)
            }
            "settings" => serde_json::from_str::<SettingsChange>(&json).map(LogItem::Settings),
            "personal" => {
                serde_json::from_str::<natter_proto::PersonalChange>(&json).map(LogItem::Personal)
            }
            "report" => {
                serde_json::from_str::<natter_proto::ReportInfo>(&json).map(LogItem::Report)
            }
            _ => serde_json::from_str::<Receipt>(&json).map(LogItem::Receipt),
        }
        .map_err(|e| StoreError::Internal(format!("decode {kind}: {e}")))?;
        entries.push((pos as u64, item));
    }
    // The user's conversations that moved past the cursor, each read
    // through its (conversation, position) index from where the user
    // joined. Once `limit` entries are known, later reads stop below
    // the highest one kept.
    // The position where the user joined bounds the read from below too:
    // inside a conversation positions grow with seq, so nothing before it
    // is theirs (a member added to a long conversation, resuming from an
    // older cursor, would otherwise walk its whole history past the cursor).
    // A membership that ended (the user left) still contributes the part
    // of the conversation up to their own `member_left` event.
    let mut stmt = c
        .prepare_cached(
            "SELECT m.conv_id, m.joined_seq, COALESCE(j.pos, 0), NULL FROM members m
             JOIN conversations c ON c.id = m.conv_id
             LEFT JOIN events j ON j.conv_id = m.conv_id AND j.seq = m.joined_seq
             WHERE m.user_id = ?1 AND c.last_pos > ?2
             UNION ALL
             SELECT f.conv_id, f.joined_seq, COALESCE(j.pos, 0), f.left_seq FROM former_members f
             JOIN events l ON l.conv_id = f.conv_id AND l.seq = f.left_seq
             LEFT JOIN events j ON j.conv_id = f.conv_id AND j.seq = f.joined_seq
             WHERE f.user_id = ?1 AND l.pos > ?2",
        )
        .map_err(db_err)?;
    let convs = stmt
        .query_map(params![user.as_bytes(), after_pos], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Option<i64>>(3)?.unwrap_or(i64::MAX),
            ))
        })
        .map_err(db_err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db_err)?;
    let mut stmt = c
        .prepare_cached(&format!(
            "SELECT pos, {EVENT_COLS} FROM events
             WHERE conv_id = ?1 AND pos > ?2 AND pos < ?3 AND seq >= ?4 AND seq <= ?6
             ORDER BY pos LIMIT ?5"
        ))
        .map_err(db_err)?;
    for (conv, joined, joined_pos, left) in convs {
        let mut floor = None;
        let from = after_pos.max(joined_pos - 1);
        let below = if entries.len() >= limit {
            entries.sort_unstable_by_key(|e| e.0);
            entries.truncate(limit);
            entries.last().map_or(i64::MAX, |e| e.0 as i64)
        } else {
            i64::MAX
        };
        let rows = stmt
            .query_map(
                params![conv, from, below, joined, limit as i64, left],
                |r| Ok((r.get::<_, i64>(0)?, EventRow::from_row_at(r, 1)?)),
            )
            .map_err(db_err)?;
        for row in rows {
            let (pos, ev) = row.map_err(db_err)?;
            let ev = ev.ok_or_else(|| StoreError::Internal("event row without id".into()))?;
            let mut ev = ev.into_event()?;
            if matches!(&ev.body, natter_proto::EventBody::Message { meta, .. } if meta.reply_to.is_some())
            {
                // Quotes follow the original as it is now, within what the
                // reader may see.
                let floor = match floor {
                    Some(f) => f,
                    None => {
                        let f = crate::conversations::membership(c, &ev.conv, user)?
                            .map_or(joined as u64, |m| m.visible_from);
                        *floor.insert(f)
                    }
                };
                crate::rich::fill_reply(c, floor, &mut ev)?;
            }
            entries.push((pos as u64, LogItem::Event(ev)));
        }
    }
    entries.sort_unstable_by_key(|e| e.0);
    entries.truncate(limit);
    Ok(LogPage {
        entries: entries.into_iter().map(|(p, i)| (Cursor(p), i)).collect(),
        head: Cursor(head),
        conversations,
    })
}

/// The ids of every conversation `user` is a member of, ordered by id. Reads
/// only the `members_by_user` index.
fn conversation_ids(c: &Connection, user: &UserId) -> Result<Vec<ConversationId>> {
    let mut stmt = c
        .prepare_cached("SELECT conv_id FROM members WHERE user_id = ?1 ORDER BY conv_id")
        .map_err(db_err)?;
    stmt.query_map([user.as_bytes()], |r| r.get::<_, Vec<u8>>(0))
        .map_err(db_err)?
        .map(|r| r.map_err(db_err).and_then(|b| conv_id(&b)))
        .collect()
}

/// Everyone who shares a direct conversation, or a group of at most
/// `max_group` members, with `user` (never a channel: its readers do not
/// see each other).
pub(crate) fn presence_peers(
    c: &Connection,
    user: &UserId,
    max_group: u64,
) -> Result<Vec<PresencePeer>> {
    let mut stmt = c
        .prepare_cached(
            "SELECT u.id, MAX(c.kind = 'direct' AND me.accepted AND o.accepted),
                    u.presence_visibility, u.last_seen_at,
                    EXISTS (SELECT 1 FROM blocks b
                             WHERE (b.user_id = ?1 AND b.blocked_id = u.id)
                                OR (b.user_id = u.id AND b.blocked_id = ?1))
             FROM members me
             JOIN conversations c ON c.id = me.conv_id
                  AND (c.kind = 'direct' OR (c.kind = 'group' AND c.member_count <= ?2))
             JOIN members o ON o.conv_id = c.id AND o.user_id <> me.user_id
             JOIN users u ON u.id = o.user_id
             WHERE me.user_id = ?1
             GROUP BY u.id",
        )
        .map_err(db_err)?;
    stmt.query_map(
        params![user.as_bytes(), max_group.min(i64::MAX as u64) as i64],
        |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, bool>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<i64>>(3)?,
                r.get::<_, bool>(4)?,
            ))
        },
    )
    .map_err(db_err)?
    .map(|r| {
        let (u, contact, vis, last_seen, blocked) = r.map_err(db_err)?;
        Ok(PresencePeer {
            user: user_id(&u)?,
            contact,
            blocked,
            visibility: parse_visibility(&vis)?,
            last_seen,
        })
    })
    .collect()
}
