//! Reports of messages, for moderators and server admins.

use crate::commit::next_position;
use crate::db_err;
use crate::rows::{conv_id, user_id};
use crate::writer::Ctx;
use natter_proto::{ConversationId, Cursor, LogItem, MessageId, ReportReason, UserId};
use natter_store::{Committed, NewReport, ReportRecord, Result, StoreError};
use rusqlite::{Connection, OptionalExtension, params};
use std::sync::Arc;

const COLS: &str = "id, conv_id, seq, sender, text, reporter, reason, note, created_at, resolved_by, resolved_at, resolution";

type Row = (
    Vec<u8>,
    Vec<u8>,
    i64,
    Vec<u8>,
    String,
    Vec<u8>,
    String,
    Option<String>,
    i64,
    Option<Vec<u8>>,
    Option<i64>,
    Option<String>,
);

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
        r.get(11)?,
    ))
}

fn into_record(r: Row) -> Result<ReportRecord> {
    let (id, conv, seq, sender, text, reporter, reason, note, created_at, by, at, resolution) = r;
    let id: [u8; 16] = id
        .as_slice()
        .try_into()
        .map_err(|_| StoreError::Internal("report id is not 16 bytes".into()))?;
    Ok(ReportRecord {
        id: MessageId::from_bytes(id),
        conv: conv_id(&conv)?,
        seq: seq as u64,
        sender: user_id(&sender)?,
        text,
        reporter: user_id(&reporter)?,
        reason: ReportReason::parse(&reason)
            .ok_or_else(|| StoreError::Internal(format!("unknown report reason {reason:?}")))?,
        note,
        created_at,
        resolved_by: by.map(|b| user_id(&b)).transpose()?,
        resolved_at: at,
        resolution,
    })
}

fn by_key(
    c: &Connection,
    conv: &ConversationId,
    seq: u64,
    reporter: &UserId,
) -> Result<Option<ReportRecord>> {
    c.prepare_cached(&format!(
        "SELECT {COLS} FROM reports WHERE conv_id = ?1 AND seq = ?2 AND reporter = ?3"
    ))
    .and_then(|mut s| {
        s.query_row(
            params![conv.as_bytes(), seq as i64, reporter.as_bytes()],
            row,
        )
        .optional()
    })
    .map_err(db_err)?
    .map(into_record)
    .transpose()
}

/// Stores a report, or answers the reporter's earlier one of the message.
pub(crate) fn create(ctx: &mut Ctx<'_>, r: &NewReport) -> Result<(ReportRecord, bool)> {
    if let Some(earlier) = by_key(ctx.conn, &r.conv, r.seq, &r.reporter)? {
        return Ok((earlier, false));
    }
    ctx.conn
        .prepare_cached(
            "INSERT INTO reports (id, conv_id, seq, sender, text, reporter, reason, note, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )
        .and_then(|mut s| {
            s.execute(params![
                r.id.as_bytes(),
                r.conv.as_bytes(),
                r.seq as i64,
                r.sender.as_bytes(),
                r.text,
                r.reporter.as_bytes(),
                r.reason.as_str(),
                r.note,
                r.now
            ])
        })
        .map_err(db_err)?;
    let created = by_key(ctx.conn, &r.conv, r.seq, &r.reporter)?
        .ok_or_else(|| StoreError::Internal("a stored report is not found".into()))?;
    notify(ctx, r, &created)?;
    Ok((created, true))
}

/// Puts the new report in the log of everyone who handles it: the
/// conversation's members with one of `r.notify`'s roles and the server's
/// admins, but not the reporter; one position shared by all.
fn notify(ctx: &mut Ctx<'_>, r: &NewReport, created: &ReportRecord) -> Result<()> {
    let roles: Vec<&str> = r.notify.iter().map(|role| role.as_str()).collect();
    let roles = serde_json::to_string(&roles)
        .map_err(|e| StoreError::Internal(format!("encode roles: {e}")))?;
    let users: Vec<UserId> = ctx
        .conn
        .prepare_cached(
            "SELECT user_id FROM members
              WHERE conv_id = ?1 AND role IN (SELECT value FROM json_each(?2))
             UNION
             SELECT id FROM users WHERE admin AND suspended_at IS NULL",
        )
        .and_then(|mut s| {
            s.query_map(params![r.conv.as_bytes(), roles], |row| {
                row.get::<_, Vec<u8>>(0)
            })?
            .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(db_err)?
        .into_iter()
        .map(|b| user_id(&b))
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .filter(|u| *u != r.reporter)
        .collect();
    if users.is_empty() {
        return Ok(());
    }
    let report = natter_proto::ReportInfo {
        id: created.id,
        conv: created.conv,
        seq: created.seq,
        sender: created.sender,
        text: created.text.clone(),
        reporter: created.reporter,
        reason: created.reason,
        note: created.note.clone(),
        created_at: created.created_at,
        resolved_by: None,
        resolved_at: None,
        resolution: None,
    };
    let json = serde_json::to_string(&report)
        .map_err(|e| StoreError::Internal(format!("encode report: {e}")))?;
    let pos = next_position(ctx)?;
    for u in &users {
        ctx.conn
            .prepare_cached(
                "INSERT INTO user_items (user_id, pos, conv_id, receipt, kind)
                 VALUES (?1, ?2, ?3, ?4, 'report')",
            )
            .and_then(|mut s| s.execute(params![u.as_bytes(), pos as i64, r.conv.as_bytes(), json]))
            .map_err(db_err)?;
    }
    ctx.committed.push(Committed {
        item: Arc::new(LogItem::Report(report)),
        position: Cursor(pos),
        recipients: Arc::new(users),
        variants: Vec::new(),
        joined: Vec::new(),
        left: Vec::new(),
    });
    Ok(())
}

/// Reports, newest first.
pub(crate) fn list(
    c: &Connection,
    conv: Option<&ConversationId>,
    all: bool,
) -> Result<Vec<ReportRecord>> {
    let mut filters = Vec::new();
    if conv.is_some() {
        filters.push("conv_id = ?1");
    }
    if !all {
        filters.push("resolved_at IS NULL");
    }
    let filter = if filters.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", filters.join(" AND "))
    };
    let mut stmt = c
        .prepare_cached(&format!(
            "SELECT {COLS} FROM reports {filter} ORDER BY created_at DESC, id LIMIT 1000"
        ))
        .map_err(db_err)?;
    let rows = match conv {
        Some(conv) => stmt.query_map([conv.as_bytes()], row),
        None => stmt.query_map([], row),
    };
    rows.map_err(db_err)?
        .map(|r| r.map_err(db_err).and_then(into_record))
        .collect()
}

/// One report.
pub(crate) fn get(c: &Connection, id: &MessageId) -> Result<Option<ReportRecord>> {
    c.prepare_cached(&format!("SELECT {COLS} FROM reports WHERE id = ?1"))
        .and_then(|mut s| s.query_row([id.as_bytes()], row).optional())
        .map_err(db_err)?
        .map(into_record)
        .transpose()
}

/// Resolves an open report.
pub(crate) fn resolve(
    ctx: &mut Ctx<'_>,
    id: &MessageId,
    by: &UserId,
    note: Option<&str>,
    now: i64,
) -> Result<Option<ReportRecord>> {
    ctx.conn
        .prepare_cached(
            "UPDATE reports SET resolved_by = ?2, resolved_at = ?3, resolution = ?4
             WHERE id = ?1 AND resolved_at IS NULL",
        )
        .and_then(|mut s| s.execute(params![id.as_bytes(), by.as_bytes(), now, note]))
        .map_err(db_err)?;
    get(ctx.conn, id)
}
