//! Uploads: the records of files users send, whose bytes live in the blob
//! store.

use crate::db_err;
use crate::rows::user_id;
use crate::rows::{EVENT_COL_COUNT, EVENT_COLS_E, EventRow};
use crate::writer::Ctx;
use natter_proto::UploadId;
use natter_store::{
    AvatarRecord, MediaMessage, NewUpload, Result, StoreError, UploadContent, UploadRecord,
};
use rusqlite::{Connection, OptionalExtension, Row, params};

const COLS: &str = "id, owner, length, name, claimed_type, created_at, blob, kind, mime, \
     completed_at, voice, keep_location, declared_ms, meta, thumb_blob";

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
            voice: r.get(10)?,
            keep_location: r.get(11)?,
            declared_ms: r.get(12)?,
            meta: r.get(13)?,
            thumb: r.get(14)?,
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
    voice: bool,
    keep_location: bool,
    declared_ms: Option<i64>,
    meta: Option<String>,
    thumb: Option<String>,
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
            meta: p.meta,
            thumb: p.thumb,
        }),
        _ => None,
    };
    Ok(UploadRecord {
        id: UploadId::from_bytes(id),
        owner: user_id(&owner)?,
        length: p.length as u64,
        name: p.name,
        claimed_type: p.claimed_type,
        voice: p.voice,
        keep_location: p.keep_location,
        declared_ms: p.declared_ms.map(|ms| ms as u64),
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
            "INSERT INTO uploads (id, owner, length, name, claimed_type, created_at,
                                  voice, keep_location, declared_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )
        .and_then(|mut s| {
            s.execute(params![
                u.id.as_bytes(),
                u.owner.as_bytes(),
                u.length as i64,
                u.name,
                u.claimed_type,
                u.now,
                u.voice,
                u.keep_location,
                u.declared_ms.map(|ms| ms as i64)
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
            "UPDATE uploads SET blob = ?2, kind = ?3, mime = ?4, completed_at = ?5, meta = ?6,
                                thumb_blob = ?7
             WHERE id = ?1 AND blob IS NULL",
        )
        .and_then(|mut s| {
            s.execute(params![
                id.as_bytes(),
                content.blob,
                content.kind,
                content.mime,
                content.completed_at,
                content.meta,
                content.thumb
            ])
        })
        .map_err(db_err)?;
    upload(ctx.conn, id)?.ok_or(StoreError::NotFound)
}

pub(crate) fn set_meta(
    ctx: &mut Ctx<'_>,
    id: &UploadId,
    kind: &str,
    mime: &str,
    meta: &str,
    thumb: Option<&str>,
) -> Result<Option<UploadRecord>> {
    ctx.conn
        .prepare_cached(
            "UPDATE uploads SET kind = ?2, mime = ?3, meta = ?4, thumb_blob = ?5
             WHERE id = ?1 AND blob IS NOT NULL",
        )
        .and_then(|mut s| s.execute(params![id.as_bytes(), kind, mime, meta, thumb]))
        .map_err(db_err)?;
    upload(ctx.conn, id)
}

/// Whether anything holds the blob `key`: an upload, a thumbnail or an
/// avatar.
pub(crate) fn blob_in_use(c: &Connection, key: &str) -> Result<bool> {
    c.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM uploads WHERE blob = ?1)
             OR EXISTS (SELECT 1 FROM uploads WHERE thumb_blob = ?1)
             OR EXISTS (SELECT 1 FROM avatars WHERE id = ?1)
             OR EXISTS (SELECT 1 FROM avatars WHERE small = ?1)",
    )
    .and_then(|mut s| s.query_row([key], |r| r.get(0)))
    .map_err(db_err)
}

/// Of `keys`, those nothing holds any more.
pub(crate) fn orphans(c: &Connection, keys: Vec<String>) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for k in keys {
        if !out.contains(&k) && !blob_in_use(c, &k)? {
            out.push(k);
        }
    }
    Ok(out)
}

pub(crate) fn delete_upload(ctx: &mut Ctx<'_>, id: &UploadId) -> Result<Option<Vec<String>>> {
    let Some(rec) = upload(ctx.conn, id)? else {
        return Ok(None);
    };
    ctx.conn
        .prepare_cached("DELETE FROM uploads WHERE id = ?1")
        .and_then(|mut s| s.execute([id.as_bytes()]))
        .map_err(db_err)?;
    let held = rec
        .content
        .map(|c| std::iter::once(c.blob).chain(c.thumb).collect())
        .unwrap_or_default();
    orphans(ctx.conn, held).map(Some)
}

/// Complete uploads still waiting for processing.
pub(crate) fn unprocessed(c: &Connection, limit: u32) -> Result<Vec<UploadRecord>> {
    let mut stmt = c
        .prepare_cached(&format!(
            "SELECT {COLS} FROM uploads WHERE blob IS NOT NULL AND meta IS NULL
             ORDER BY completed_at LIMIT ?1"
        ))
        .map_err(db_err)?;
    stmt.query_map([i64::from(limit)], record)
        .map_err(db_err)?
        .map(|r| {
            let (id, owner, p) = r.map_err(db_err)?;
            into_record(id, owner, p)
        })
        .collect()
}

/// A page of a conversation's messages with attachments, as `viewer` may
/// see them.
pub(crate) fn media_messages(
    c: &Connection,
    conv: &natter_proto::ConversationId,
    viewer: &natter_proto::UserId,
    kind: Option<&str>,
    before: Option<u64>,
    limit: u32,
) -> Result<Vec<MediaMessage>> {
    let visible: Option<i64> = c
        .prepare_cached("SELECT visible_seq FROM members WHERE conv_id = ?1 AND user_id = ?2")
        .and_then(|mut s| {
            s.query_row(params![conv.as_bytes(), viewer.as_bytes()], |r| r.get(0))
                .optional()
        })
        .map_err(db_err)?;
    let visible = visible.ok_or(StoreError::NotMember)?;
    let before = before.map_or(i64::MAX, |b| b as i64);
    let mut stmt = c
        .prepare_cached(&format!(
            "SELECT e.seq, {EVENT_COLS_E}, (SELECT group_concat(hex(mu2.upload_id))
                       FROM message_uploads mu2 JOIN uploads u2 ON u2.id = mu2.upload_id
                      WHERE mu2.conv_id = e.conv_id AND mu2.seq = e.seq
                        AND (?3 IS NULL OR u2.kind = ?3))
             FROM events e
             WHERE e.conv_id = ?1 AND e.seq >= ?2 AND e.seq < ?4 AND e.kind = 'message'
               AND EXISTS (SELECT 1 FROM message_uploads mu JOIN uploads u ON u.id = mu.upload_id
                            WHERE mu.conv_id = e.conv_id AND mu.seq = e.seq
                              AND (?3 IS NULL OR u.kind = ?3))
               AND NOT EXISTS (SELECT 1 FROM hidden h
                                WHERE h.conv_id = e.conv_id AND h.seq = e.seq AND h.user_id = ?5)
             ORDER BY e.seq DESC LIMIT ?6"
        ))
        .map_err(db_err)?;
    let rows = stmt
        .query_map(
            params![
                conv.as_bytes(),
                visible,
                kind,
                before,
                viewer.as_bytes(),
                i64::from(limit)
            ],
            |r| {
                Ok((
                    EventRow::from_row_at(r, 1)?,
                    r.get::<_, Option<String>>(1 + EVENT_COL_COUNT)?,
                ))
            },
        )
        .map_err(db_err)?;
    let mut out = Vec::new();
    for row in rows {
        let (event, ids) = row.map_err(db_err)?;
        let Some(event) = event else { continue };
        let uploads = ids
            .unwrap_or_default()
            .split(',')
            .filter_map(|h| {
                let bytes: Vec<u8> = (0..h.len())
                    .step_by(2)
                    .filter_map(|i| u8::from_str_radix(h.get(i..i + 2)?, 16).ok())
                    .collect();
                Some(UploadId::from_bytes(bytes.try_into().ok()?))
            })
            .collect();
        out.push(MediaMessage {
            event: event.into_event()?,
            uploads,
        });
    }
    Ok(out)
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

pub(crate) fn put_avatar(ctx: &mut Ctx<'_>, a: &AvatarRecord) -> Result<()> {
    ctx.conn
        .prepare_cached("INSERT OR IGNORE INTO avatars (id, small, large) VALUES (?1, ?2, ?3)")
        .and_then(|mut s| s.execute(params![a.id, a.small, a.large]))
        .map_err(db_err)?;
    Ok(())
}

pub(crate) fn avatar(c: &Connection, id: &str) -> Result<Option<AvatarRecord>> {
    c.prepare_cached("SELECT id, small, large FROM avatars WHERE id = ?1")
        .and_then(|mut s| {
            s.query_row([id], |r| {
                Ok(AvatarRecord {
                    id: r.get(0)?,
                    small: r.get(1)?,
                    large: r.get(2)?,
                })
            })
            .optional()
        })
        .map_err(db_err)
}

pub(crate) fn set_user_avatar(
    ctx: &mut Ctx<'_>,
    user: &natter_proto::UserId,
    avatar: Option<&str>,
) -> Result<Option<String>> {
    let old: Option<Option<String>> = ctx
        .conn
        .prepare_cached("SELECT avatar FROM users WHERE id = ?1")
        .and_then(|mut s| s.query_row([user.as_bytes()], |r| r.get(0)).optional())
        .map_err(db_err)?;
    let old = old.ok_or(StoreError::NotFound)?;
    ctx.conn
        .prepare_cached("UPDATE users SET avatar = ?2 WHERE id = ?1")
        .and_then(|mut s| s.execute(params![user.as_bytes(), avatar]))
        .map_err(db_err)?;
    Ok(old)
}

pub(crate) fn release_avatar(ctx: &mut Ctx<'_>, id: &str) -> Result<Vec<String>> {
    let used: bool = ctx
        .conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM users WHERE avatar = ?1)
                 OR EXISTS (SELECT 1 FROM conversations WHERE avatar = ?1)",
        )
        .and_then(|mut s| s.query_row([id], |r| r.get(0)))
        .map_err(db_err)?;
    if used {
        return Ok(Vec::new());
    }
    let Some(a) = avatar(ctx.conn, id)? else {
        return Ok(Vec::new());
    };
    ctx.conn
        .prepare_cached("DELETE FROM avatars WHERE id = ?1")
        .and_then(|mut s| s.execute([id]))
        .map_err(db_err)?;
    orphans(ctx.conn, vec![a.large, a.small])
}
