//! Delivered and read watermarks: moving them, telling the senders, and
//! reading them back.

use crate::commit::{last_seq_of, next_position};
use crate::db_err;
use crate::rows::user_id;
use crate::writer::Ctx;
use natter_proto::{ConversationId, Cursor, LogItem, Receipt, ReceiptKind, UserId};
use natter_store::{
    Committed, CoveredSender, MemberWatermarks, NewReceipt, ReceiptChange, ReceiptFacts, Result,
    StoreError, Watermarks,
};
use rusqlite::{Connection, OptionalExtension, params};
use std::sync::Arc;

/// Moves a member's watermark forward and puts the receipt in the logs the
/// domain's audience rule names (the member's and those of the senders it
/// covers, as each may see it).
pub(crate) fn set_receipt(ctx: &mut Ctx<'_>, r: &NewReceipt) -> Result<ReceiptChange> {
    let row: Option<(i64, i64, i64)> = ctx
        .conn
        .prepare_cached(
            "SELECT delivered_seq, read_seq, joined_seq FROM members WHERE conv_id = ?1 AND user_id = ?2",
        )
        .and_then(|mut s| {
            s.query_row([r.conv.as_bytes(), r.user.as_bytes()], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })
            .optional()
        })
        .map_err(db_err)?;
    let (old_d, old_r, joined) = row.ok_or(StoreError::NotMember)?;
    let (old_d, old_r) = (old_d as u64, old_r as u64);
    // Messages from before the member joined are not theirs to
    // acknowledge: their senders hear nothing about them.
    let visible_from = (joined as u64).saturating_sub(1);
    let last = last_seq_of(ctx, &r.conv)?.ok_or(StoreError::NotMember)?;
    if r.seq > last {
        return Err(StoreError::Invalid(
            "seq is beyond the conversation's newest event",
        ));
    }
    let (mut d, mut rd) = (old_d, old_r);
    match r.kind {
        ReceiptKind::Delivered => d = d.max(r.seq),
        ReceiptKind::Read => {
            rd = rd.max(r.seq);
            d = d.max(rd);
        }
    }
    if (d, rd) == (old_d, old_r) {
        return Ok(ReceiptChange::Unchanged(Watermarks {
            delivered: d,
            read: rd,
        }));
    }
    ctx.conn
        .prepare_cached(
            "UPDATE members SET delivered_seq = ?3, read_seq = ?4 WHERE conv_id = ?1 AND user_id = ?2",
        )
        .and_then(|mut s| {
            s.execute(params![
                r.conv.as_bytes(),
                r.user.as_bytes(),
                d as i64,
                rd as i64
            ])
        })
        .map_err(db_err)?;
    let senders = |lo: u64, hi: u64| -> Result<Vec<UserId>> {
        if hi <= lo {
            return Ok(Vec::new());
        }
        let mut stmt = ctx
            .conn
            .prepare_cached(
                "SELECT DISTINCT sender FROM events
                 WHERE conv_id = ?1 AND kind = 'message' AND seq > ?2 AND seq <= ?3 AND sender <> ?4",
            )
            .map_err(db_err)?;
        stmt.query_map(
            params![r.conv.as_bytes(), lo as i64, hi as i64, r.user.as_bytes()],
            |row| row.get::<_, Vec<u8>>(0),
        )
        .map_err(db_err)?
        .map(|b| b.map_err(db_err).and_then(|b| user_id(&b)))
        .collect()
    };
    let delivered_to = senders(old_d.max(visible_from), d)?;
    let read_by = senders(old_r.max(visible_from), rd)?;
    let shares = |u: &UserId| -> Result<bool> {
        ctx.conn
            .prepare_cached("SELECT read_receipts FROM users WHERE id = ?1")
            .and_then(|mut s| s.query_row([u.as_bytes()], |row| row.get::<_, bool>(0)))
            .map_err(db_err)
    };
    let full = Receipt {
        conv: r.conv,
        user: r.user,
        delivered: d,
        read: rd,
        ts: r.now,
    };
    let mut covered: Vec<CoveredSender> = Vec::new();
    for u in delivered_to.iter().chain(&read_by) {
        if covered.iter().any(|c| c.user == *u) {
            continue;
        }
        covered.push(CoveredSender {
            user: *u,
            shares_reads: shares(u)?,
            delivered: delivered_to.contains(u),
            read: read_by.contains(u),
        });
    }
    let facts = ReceiptFacts {
        receipt: full.clone(),
        reader_shares_reads: shares(&r.user)?,
        channel: ctx
            .conn
            .prepare_cached("SELECT kind = 'channel' FROM conversations WHERE id = ?1")
            .and_then(|mut s| s.query_row([r.conv.as_bytes()], |row| row.get::<_, bool>(0)))
            .map_err(db_err)?,
        senders: covered,
    };
    let audience = (r.audience)(&facts);
    let pos = next_position(ctx)?;
    let mut recipients = Vec::with_capacity(audience.len());
    let mut variants = Vec::new();
    for (u, receipt) in audience {
        let json = serde_json::to_string(&receipt)
            .map_err(|e| StoreError::Internal(format!("encode receipt: {e}")))?;
        ctx.conn
            .prepare_cached(
                "INSERT INTO user_items (user_id, pos, conv_id, receipt) VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut s| s.execute(params![u.as_bytes(), pos as i64, r.conv.as_bytes(), json]))
            .map_err(db_err)?;
        recipients.push(u);
        if receipt != full {
            variants.push((u, Arc::new(LogItem::Receipt(receipt))));
        }
    }
    let committed = Committed {
        item: Arc::new(LogItem::Receipt(full)),
        position: Cursor(pos),
        recipients: Arc::new(recipients),
        variants,
        joined: Vec::new(),
        left: Vec::new(),
    };
    ctx.committed.push(committed.clone());
    Ok(ReceiptChange::Moved(committed))
}

/// Every member's watermarks, in join order.
pub(crate) fn watermarks(c: &Connection, conv: &ConversationId) -> Result<Vec<MemberWatermarks>> {
    let mut stmt = c
        .prepare_cached(
            "SELECT m.user_id, m.delivered_seq, m.read_seq, u.read_receipts, m.joined_seq
             FROM members m JOIN users u ON u.id = m.user_id
             WHERE m.conv_id = ?1 ORDER BY m.joined_seq, m.joined_at",
        )
        .map_err(db_err)?;
    stmt.query_map([conv.as_bytes()], |r| {
        Ok((
            r.get::<_, Vec<u8>>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, bool>(3)?,
            r.get::<_, i64>(4)?,
        ))
    })
    .map_err(db_err)?
    .map(|r| {
        let (u, d, rd, shares, joined) = r.map_err(db_err)?;
        Ok(MemberWatermarks {
            user: user_id(&u)?,
            marks: Watermarks {
                delivered: d as u64,
                read: rd as u64,
            },
            shares_read: shares,
            joined_seq: joined as u64,
        })
    })
    .collect()
}

/// How many members of `conv` have read each message in `from..=to`, in
/// one read snapshot: the messages' seqs, then the members whose read
/// watermark reaches the first of them (through `members_by_read`, grouped
/// by watermark), summed from the top down.
pub(crate) fn message_views(
    c: &Connection,
    conv: &ConversationId,
    from: u64,
    to: u64,
) -> Result<Vec<(u64, u64)>> {
    let tx = c.unchecked_transaction().map_err(db_err)?;
    let seqs: Vec<u64> = tx
        .prepare_cached(
            "SELECT seq FROM events WHERE conv_id = ?1 AND seq >= ?2 AND seq <= ?3
                 AND kind = 'message' ORDER BY seq",
        )
        .and_then(|mut s| {
            s.query_map(params![conv.as_bytes(), from as i64, to as i64], |r| {
                r.get::<_, i64>(0)
            })?
            .map(|r| r.map(|s| s as u64))
            .collect()
        })
        .map_err(db_err)?;
    let Some(first) = seqs.first() else {
        return Ok(Vec::new());
    };
    // (watermark, readers at it), highest first.
    let marks: Vec<(u64, u64)> = tx
        .prepare_cached(
            "SELECT read_seq, COUNT(*) FROM members INDEXED BY members_by_read
             WHERE conv_id = ?1 AND read_seq >= ?2 GROUP BY read_seq ORDER BY read_seq DESC",
        )
        .and_then(|mut s| {
            s.query_map(params![conv.as_bytes(), *first as i64], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64))
            })?
            .collect()
        })
        .map_err(db_err)?;
    let mut out = Vec::with_capacity(seqs.len());
    let (mut i, mut sum) = (0, 0);
    for seq in seqs.into_iter().rev() {
        while i < marks.len() && marks[i].0 >= seq {
            sum += marks[i].1;
            i += 1;
        }
        out.push((seq, sum));
    }
    out.reverse();
    Ok(out)
}
