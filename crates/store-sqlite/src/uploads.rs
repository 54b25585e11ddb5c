//! Uploads: the records of files users send, whose bytes live in the blob
//! store.

use crate::db_err;
use crate::rows::user_id;
use crate::writer::Ctx;
use natter_proto::UploadId;
use natter_store::{NewUpload, Result, StoreError, UploadContent, UploadRecord};
use rusqlite::{Connection, OptionalExtension, Row, params};

const COLS: &str =
    "id, owner, length, name, claimed_type, created_at, blob, kind, mime, completed_at";

fn record(r: &Row<'_>) -> rusqlite::Result<(Vec<u8>, Vec<u8>, UploadRecordParts)> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        UploadRecordParts {
            length: r.get(2)?,
            name: r.get(3)?,
            claimed_type: r.get(4)?,
            created_at: r.get(5)?,
            blob: r.get(6)?,
            kind: r.get(7)?,
            mime: r.get(8)?,
            completed_at: r.get(9)?,
        },
    ))
}

struct UploadRecordParts {
    length: i64,
    name: Option<String>,
    claimed_type: Option<String>,
    created_at: i64,
    blob: Option<String>,
    kind: Option<String>,
    mime: Option<String>,
    completed_at: Option<i64>,
}

fn into_record(id: Vec<u8>, owner: Vec<u8>, p: UploadRecordParts) -> Result<UploadRecord> {
    let id: [u8; 16] = id
        .try_into()
        .map_err(|_| StoreError::Internal("upload id is not 16 bytes".into()))?;
    let content = match (p.blob, p.kind, p.mime, p.completed_at) {
        (Some(blob), Some(kind), Some(mime), Some(completed_at)) => Some(UploadContent {
            blob,
            kind,
            mime,
            completed_at,
        }),
        _ => None,
    };
    Ok(UploadRecord {
        id: UploadId::from_bytes(id),
        owner: user_id(&owner)?,
        length: p.length as u64,
        name: p.name,
        claimed_type: p.claimed_type,
        created_at: p.created_at,
        content,
    })
}

pub(crate) fn upload(c: &Connection, id: &UploadId) -> Result<Option<UploadRecord>> {
    c.prepare_cached(&format!("SELECT {COLS} FROM uploads WHERE id = ?1"))
        .and_then(|mut s| s.query_row([id.as_bytes()], record).optional())
        .map_err(db_err)?
        .map(|(id, owner, p)| into_record(id, owner, p))
        .transpose()
}

pub(crate) fn usage(c: &Connection, owner: &natter_proto::UserId) -> Result<u64> {
    c.prepare_cached("SELECT COALESCE(SUM(length), 0) FROM uploads WHERE owner = ?1")
        .and_then(|mut s| s.query_row([owner.as_bytes()], |r| r.get::<_, i64>(0)))
        .map(|n| n as u64)
        .map_err(db_err)
}

pub(crate) fn create_upload(ctx: &mut Ctx<'_>, u: &NewUpload, quota: u64) -> Result<UploadRecord> {
    if usage(ctx.conn, &u.owner)?.saturating_add(u.length) > quota {
        return Err(StoreError::Quota);
    }
    ctx.conn
        .prepare_cached(
            "INSERT INTO uploads (id, owner, length, name, claimed_type, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .and_then(|mut s| {
            s.execute(params![
                u.id.as_bytes(),
                u.owner.as_bytes(),
                u.length as i64,
                u.name,
                u.claimed_type,
                u.now
            ])
        })
        .map_err(db_err)?;
    upload(ctx.conn, &u.id)?.ok_or_else(|| StoreError::Internal("upload vanished".into()))
}

pub(crate) fn complete_upload(
    ctx: &mut Ctx<'_>,
    id: &UploadId,
    content: &UploadContent,
) -> Result<UploadRecord> {
    ctx.conn
        .prepare_cached(
            "UPDATE uploads SET blob = ?2, kind = ?3, mime = ?4, completed_at = ?5
             WHERE id = ?1 AND blob IS NULL",
        )
        .and_then(|mut s| {
            s.execute(params![
                id.as_bytes(),
                content.blob,
                content.kind,
                content.mime,
                content.completed_at
            ])
        })
        .map_err(db_err)?;
    upload(ctx.conn, id)?.ok_or(StoreError::NotFound)
}

pub(crate) fn delete_upload(ctx: &mut Ctx<'_>, id: &UploadId) -> Result<(bool, bool)> {
    let Some(rec) = upload(ctx.conn, id)? else {
        return Ok((false, false));
    };
    ctx.conn
        .prepare_cached("DELETE FROM uploads WHERE id = ?1")
        .and_then(|mut s| s.execute([id.as_bytes()]))
        .map_err(db_err)?;
    let shared = match rec.content {
        Some(c) => ctx
            .conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM uploads WHERE blob = ?1)")
            .and_then(|mut s| s.query_row([c.blob], |r| r.get(0)))
            .map_err(db_err)?,
        None => false,
    };
    Ok((true, shared))
}

/// Whether `user` may fetch the upload (see
/// [`natter_store::Store::may_fetch_upload`]).
pub(crate) fn may_fetch(
    c: &Connection,
    user: &natter_proto::UserId,
    id: &UploadId,
) -> Result<bool> {
    c.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM uploads WHERE id = ?1 AND owner = ?2)
             OR EXISTS (SELECT 1 FROM message_uploads mu
                          JOIN members m ON m.conv_id = mu.conv_id AND m.user_id = ?2
                          JOIN events e ON e.conv_id = mu.conv_id AND e.seq = mu.seq
                         WHERE mu.upload_id = ?1 AND mu.seq >= m.visible_seq
                           AND e.kind = 'message')",
    )
    .and_then(|mut s| s.query_row(params![id.as_bytes(), user.as_bytes()], |r| r.get(0)))
    .map_err(db_err)
}

/// Uploads older than `before` that no message holds.
pub(crate) fn collectable(c: &Connection, before: i64, limit: u32) -> Result<Vec<UploadRecord>> {
    let mut stmt = c
        .prepare_cached(&format!(
            "SELECT {COLS} FROM uploads u
             WHERE u.created_at < ?1
               AND NOT EXISTS (SELECT 1 FROM message_uploads mu WHERE mu.upload_id = u.id)
             ORDER BY u.created_at LIMIT ?2"
        ))
        .map_err(db_err)?;
    stmt.query_map(params![before, i64::from(limit)], record)
        .map_err(db_err)?
        .map(|r| {
            let (id, owner, p) = r.map_err(db_err)?;
            into_record(id, owner, p)
        })
        .collect()
}
