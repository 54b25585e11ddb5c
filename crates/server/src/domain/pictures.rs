//! Pictures after their upload: the thumbnail, the BlurHash placeholder
//! and the size of each image upload, made off the request path by at most
//! `media.processing_workers` jobs at a time; and avatars, the centred
//! square of a picture in two sizes, for users and groups.
//!
//! An image upload is complete (and may be attached) as soon as its bytes
//! are checked; its processing follows. A send with pictures still in
//! processing waits for them (at most `media.processing_wait_ms`), so the
//! message carries what clients need to lay it out before any pixel
//! arrives. A picture that cannot be decoded becomes a file. Uploads whose
//! processing was cut short (a restart, the blob store down) are picked up
//! again by the garbage collector's rounds.

use super::media::{blob_err, meta_json};
use crate::auth::{Claims, now_ms};
use crate::error::{DomainError, Result};
use crate::state::AppState;
use bytes::Bytes;
use futures_util::StreamExt;
use natter_blob::BlobKey;
use natter_media::MediaError;
use natter_proto::{AvatarInfo, ConversationId, MediaKind, UploadId};
use natter_store::{AvatarRecord, GroupUpdate, UploadRecord};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};

/// The processing jobs of one server.
pub struct Jobs {
    /// One permit per worker.
    workers: Arc<Semaphore>,
    /// Uploads being processed now (so one is never processed twice at once).
    running: Mutex<HashSet<UploadId>>,
    /// Woken whenever a job ends.
    finished: Notify,
}

impl Jobs {
    /// Room for `workers` jobs at once (at least one).
    pub fn new(workers: u32) -> Self {
        Jobs {
            workers: Arc::new(Semaphore::new(workers.max(1) as usize)),
            running: Mutex::default(),
            finished: Notify::new(),
        }
    }
}

/// Starts processing an image upload in the background.
pub fn enqueue(state: &AppState, id: UploadId) {
    {
        let mut running = state
            .pictures
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if !running.insert(id) {
            return;
        }
    }
    let state = state.clone();
    tokio::spawn(async move {
        if let Err(e) = process(&state, id).await {
            tracing::warn!(%id, error = %e, "picture processing failed; it will be retried");
        }
        state
            .pictures
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
        state.pictures.finished.notify_waiters();
    });
}

/// Processes every complete upload still waiting (after a restart or a
/// blob store outage).
pub async fn resume(state: &AppState) -> Result<usize> {
    let waiting = state.store.unprocessed_uploads(1000).await?;
    let n = waiting.len();
    for rec in waiting {
        enqueue(state, rec.id);
    }
    Ok(n)
}

/// Reads a whole blob (pictures are at most `media.max_image_bytes`).
async fn read_blob(state: &AppState, key: &BlobKey) -> Result<Vec<u8>> {
    let mut stream = state.blobs.get(key, None).await.map_err(blob_err)?;
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk.map_err(blob_err)?);
    }
    Ok(out)
}

/// Stores bytes made here (a thumbnail, an avatar square).
async fn put_bytes(state: &AppState, bytes: Vec<u8>) -> Result<BlobKey> {
    let len = bytes.len() as u64;
    let body = futures_util::stream::once(async move { Ok(Bytes::from(bytes)) }).boxed();
    Ok(state.blobs.put(body, len).await.map_err(blob_err)?.key)
}

fn key_of(rec: &UploadRecord) -> Result<BlobKey> {
    rec.content
        .as_ref()
        .and_then(|c| BlobKey::parse(&c.blob))
        .ok_or_else(|| DomainError::internal("an upload names a malformed blob"))
}

async fn process(state: &AppState, id: UploadId) -> Result<()> {
    let _permit = state
        .pictures
        .workers
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| DomainError::internal("the picture workers are gone"))?;
    // Under the upload's lock: a deletion waits for the job, and then takes
    // the thumbnail with it.
    let _lock = state
        .uploads_writing
        .lock(id, Duration::from_secs(60))
        .await?;
    let done = process_locked(state, id).await;
    state.uploads_writing.forget(id);
    done
}

async fn process_locked(state: &AppState, id: UploadId) -> Result<()> {
    let Some(rec) = state.store.upload(id).await? else {
        return Ok(());
    };
    let Some(content) = rec.content.clone() else {
        return Ok(());
    };
    if content.meta.is_some() {
        return Ok(());
    }
    let bytes = read_blob(state, &key_of(&rec)?).await?;
    let max = state.config.media.max_image_pixels;
    let made = tokio::task::spawn_blocking(move || natter_media::process(&bytes, max))
        .await
        .map_err(|_| DomainError::internal("picture processing panicked"))?;
    match made {
        Ok(p) => {
            let thumb = put_bytes(state, p.thumbnail).await?;
            let details = natter_proto::MediaDetails {
                width: Some(p.width),
                height: Some(p.height),
                blurhash: Some(p.blurhash),
                animated: p.animated,
                ..Default::default()
            };
            state
                .store
                .set_upload_meta(
                    id,
                    content.kind,
                    content.mime,
                    meta_json(&details),
                    Some(thumb.to_string()),
                )
                .await?;
        }
        Err(e) => {
            tracing::info!(%id, error = %e, "a picture that cannot be decoded becomes a file");
            state
                .store
                .set_upload_meta(
                    id,
                    MediaKind::File.as_str().to_owned(),
                    "application/octet-stream".to_owned(),
                    meta_json(&Default::default()),
                    None,
                )
                .await?;
        }
    }
    Ok(())
}

/// Waits until none of `ids` is waiting for processing, or `wait` passed.
pub async fn settled(state: &AppState, ids: &[UploadId], wait: Duration) -> Result<()> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let finished = state.pictures.finished.notified();
        tokio::pin!(finished);
        finished.as_mut().enable();
        let mut pending = false;
        for id in ids {
            if let Some(rec) = state.store.upload(*id).await?
                && rec.content.as_ref().is_some_and(|c| c.meta.is_none())
            {
                pending = true;
                enqueue(state, *id);
            }
        }
        if !pending || tokio::time::timeout_at(deadline, finished).await.is_err() {
            return Ok(());
        }
    }
}

// ---- avatars -------------------------------------------------------------------

/// Makes the caller's complete image upload into an avatar; answers its id.
async fn make_avatar(state: &AppState, claims: &Claims, upload: UploadId) -> Result<String> {
    let rec = state
        .store
        .upload(upload)
        .await?
        .filter(|u| u.owner == claims.user)
        .ok_or(DomainError::NotFound("no such upload"))?;
    let content = rec
        .content
        .as_ref()
        .ok_or_else(|| DomainError::Invalid("the upload is not complete".into()))?;
    if MediaKind::parse(&content.kind) != Some(MediaKind::Image) {
        return Err(DomainError::UnsupportedMedia(
            "an avatar is a PNG, JPEG, GIF or WebP picture",
        ));
    }
    let bytes = read_blob(state, &key_of(&rec)?).await?;
    let max = state.config.media.max_image_pixels;
    let made = {
        let _permit = state
            .pictures
            .workers
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| DomainError::internal("the picture workers are gone"))?;
        tokio::task::spawn_blocking(move || natter_media::avatar(&bytes, max))
            .await
            .map_err(|_| DomainError::internal("avatar processing panicked"))?
    };
    let squares = made.map_err(|e| match e {
        MediaError::TooManyPixels { .. } => {
            DomainError::UnsupportedMedia("the picture has too many pixels")
        }
        MediaError::Unreadable(_) => DomainError::UnsupportedMedia("the picture cannot be read"),
    })?;
    let small = put_bytes(state, squares.small).await?;
    let large = put_bytes(state, squares.large).await?;
    let id = large.to_string();
    state
        .store
        .put_avatar(AvatarRecord {
            id: id.clone(),
            small: small.to_string(),
            large: id.clone(),
        })
        .await?;
    Ok(id)
}

/// Forgets an avatar nobody shows any more, with its bytes.
async fn release(state: &AppState, old: Option<String>) -> Result<()> {
    let Some(old) = old else { return Ok(()) };
    for key in state.store.release_avatar(old).await? {
        if let Some(key) = BlobKey::parse(&key) {
            state.blobs.delete(&key).await.map_err(blob_err)?;
        }
    }
    Ok(())
}

/// Sets or (with `None`) removes my avatar.
pub async fn set_my_avatar(
    state: &AppState,
    claims: &Claims,
    upload: Option<UploadId>,
) -> Result<Option<AvatarInfo>> {
    let id = match upload {
        Some(u) => Some(make_avatar(state, claims, u).await?),
        None => None,
    };
    let old = state.store.set_user_avatar(claims.user, id.clone()).await?;
    if old != id {
        release(state, old).await?;
    }
    Ok(id.map(|avatar| AvatarInfo { avatar }))
}

/// Sets or (with `None`) removes a group's avatar: for those who may
/// change its name. Members see a `group_updated` event.
pub async fn set_group_avatar(
    state: &AppState,
    claims: &Claims,
    conv: ConversationId,
    upload: Option<UploadId>,
) -> Result<Option<AvatarInfo>> {
    let record = super::membership::may_edit_info(state, claims, conv).await?;
    let id = match upload {
        Some(u) => Some(make_avatar(state, claims, u).await?),
        None => None,
    };
    state
        .store
        .update_group(GroupUpdate {
            conv,
            by: claims.user,
            name: None,
            description: None,
            history: None,
            slow_mode_secs: None,
            avatar: Some(id.clone().unwrap_or_default()),
            now: now_ms(),
        })
        .await?;
    if record.avatar != id {
        release(state, record.avatar).await?;
    }
    Ok(id.map(|avatar| AvatarInfo { avatar }))
}

/// Which square of an avatar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AvatarSize {
    /// 64 pixels.
    Small,
    /// 256 pixels.
    Large,
}

/// The blob and size of an avatar's square.
pub async fn avatar_image(state: &AppState, id: &str, size: AvatarSize) -> Result<(BlobKey, u64)> {
    let not_found = || DomainError::NotFound("no such avatar");
    let rec = state
        .store
        .avatar(id.to_owned())
        .await?
        .ok_or_else(not_found)?;
    let key = match size {
        AvatarSize::Small => rec.small,
        AvatarSize::Large => rec.large,
    };
    let key = BlobKey::parse(&key).ok_or_else(not_found)?;
    let len = state
        .blobs
        .size(&key)
        .await
        .map_err(blob_err)?
        .ok_or_else(not_found)?;
    Ok((key, len))
}
