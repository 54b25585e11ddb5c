//! Uploads, resumable with the tus 1.0 protocol (core, creation,
//! termination): an upload is created with its length, its bytes arrive
//! in `PATCH`es at the offset the server reports, and once the last byte is
//! in, the content is checked (its kind comes from its first bytes, never
//! from the client's claim) and moved into the blob store.
//!
//! Bytes in flight are staged on the local disk under
//! `<data_dir>/uploads/<id>`, whatever the blob backend: the offset is the
//! staged file's length, each `PATCH` ends with an fsync, so a dropped
//! connection or a restart resumes from the last byte that reached the
//! disk. Nothing is held in memory beyond one chunk.

use crate::auth::{Claims, now_ms};
use crate::error::{DomainError, Result};
use crate::state::AppState;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use natter_proto::{MediaDetails, MediaKind, UploadId, UploadInfo};
use natter_store::{NewUpload, StoreError, UploadContent, UploadRecord};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Longest file name kept, in bytes.
const MAX_NAME_BYTES: usize = 255;

/// One lock per upload: a `PATCH` writes under it, and `HEAD` waits for
/// it, so an offset is never read while a request (perhaps one whose
/// client is already gone) is still writing.
#[derive(Default)]
pub struct Writing(Mutex<HashMap<UploadId, Arc<tokio::sync::Mutex<()>>>>);

impl Writing {
    /// Waits (at most `wait`) for the upload's lock.
    pub(crate) async fn lock(
        &self,
        id: UploadId,
        wait: Duration,
    ) -> Result<tokio::sync::OwnedMutexGuard<()>> {
        let lock = self
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(id)
            .or_default()
            .clone();
        tokio::time::timeout(wait, lock.lock_owned())
            .await
            .map_err(|_| DomainError::Invalid("another request is writing this upload".into()))
    }

    /// Forgets an upload that is complete or gone.
    pub(crate) fn forget(&self, id: UploadId) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
    }
}

fn staging_dir(state: &AppState) -> PathBuf {
    state.config.data_dir.join("uploads")
}

fn staged(state: &AppState, id: UploadId) -> PathBuf {
    staging_dir(state).join(id.to_string())
}

fn io(e: std::io::Error) -> DomainError {
    if e.raw_os_error() == Some(28) {
        DomainError::StorageFull
    } else {
        DomainError::internal(format!("upload staging: {e}"))
    }
}

pub(crate) fn blob_err(e: natter_blob::BlobError) -> DomainError {
    match e {
        natter_blob::BlobError::Unavailable(why) => {
            tracing::warn!(%why, "blob storage unavailable");
            DomainError::Unavailable("media storage is unavailable; retry")
        }
        other => DomainError::internal(other),
    }
}

fn not_found() -> DomainError {
    DomainError::NotFound("no such upload")
}

/// The caller's upload (anyone else's answers `not_found`, as an unknown
/// one does).
async fn own(state: &AppState, claims: &Claims, id: UploadId) -> Result<UploadRecord> {
    state
        .store
        .upload(id)
        .await?
        .filter(|u| u.owner == claims.user)
        .ok_or_else(not_found)
}

/// What the tus `Upload-Metadata` header carries that natter keeps.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Metadata {
    /// `filename`.
    pub name: Option<String>,
    /// `filetype`.
    pub claimed_type: Option<String>,
    /// `voice` (any value): a voice note.
    pub voice: bool,
    /// `keep_location` (any value): keep a photo's location metadata.
    pub keep_location: bool,
    /// `duration`: milliseconds, as the uploader measured them.
    pub duration_ms: Option<u64>,
}

/// The longest duration an uploader may declare: a day.
const MAX_DECLARED_MS: u64 = 24 * 3600 * 1000;

/// What the server read from a content, as stored with its upload
/// (`uploads.meta`): the protocol's details, of which `thumbnail` and
/// `voice` are left out and derived from the record when read.
pub fn meta_json(d: &MediaDetails) -> String {
    serde_json::to_string(d).unwrap_or_else(|_| "{}".into())
}

/// An upload as a message carries it: what processing stored, the
/// uploader's declarations, and whether a thumbnail exists.
pub fn attachment(rec: &UploadRecord) -> Option<natter_proto::Attachment> {
    let content = rec.content.as_ref()?;
    let kind = MediaKind::parse(&content.kind).unwrap_or(MediaKind::File);
    let recording = matches!(kind, MediaKind::Audio | MediaKind::Video);
    let mut details: MediaDetails = content
        .meta
        .as_deref()
        .and_then(|m| serde_json::from_str(m).ok())
        .unwrap_or_default();
    if recording && details.duration_ms.is_none() {
        details.duration_ms = rec.declared_ms;
    }
    details.thumbnail = content.thumb.is_some();
    details.voice = rec.voice && recording;
    Some(natter_proto::Attachment {
        upload: rec.id,
        kind,
        mime: content.mime.clone(),
        size: rec.length,
        name: rec.name.clone(),
        details,
    })
}

/// Parses `Upload-Metadata`: comma-separated `key base64value` pairs.
pub fn parse_metadata(header: Option<&str>) -> Result<Metadata> {
    use base64::Engine as _;
    let mut out = Metadata::default();
    let Some(header) = header else {
        return Ok(out);
    };
    for pair in header.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once(' ').unwrap_or((pair, ""));
        let value = base64::engine::general_purpose::STANDARD
            .decode(value.trim())
            .ok()
            .and_then(|v| String::from_utf8(v).ok())
            .ok_or_else(|| {
                DomainError::Invalid(format!("Upload-Metadata: {key} is not base64 of UTF-8"))
            })?;
        match key {
            "filename" | "name" => {
                let clean: String = value
                    .chars()
                    .filter(|c| !c.is_control() && !matches!(c, '/' | '\\'))
                    .collect();
                let mut end = clean.len().min(MAX_NAME_BYTES);
                while !clean.is_char_boundary(end) {
                    end -= 1;
                }
                out.name = Some(clean[..end].to_owned()).filter(|n| !n.is_empty());
            }
            "filetype" | "type" => out.claimed_type = Some(value).filter(|t| !t.is_empty()),
            "voice" => out.voice = true,
            "keep_location" => out.keep_location = true,
            "duration" => {
                let ms = value
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|ms| (1..=MAX_DECLARED_MS).contains(ms))
                    .ok_or_else(|| {
                        DomainError::Invalid(format!(
                            "Upload-Metadata: duration is whole milliseconds, 1 to {MAX_DECLARED_MS}"
                        ))
                    })?;
                out.duration_ms = Some(ms);
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Creates an upload of `length` bytes.
pub async fn create(
    state: &AppState,
    claims: &Claims,
    length: u64,
    meta: Metadata,
) -> Result<UploadInfo> {
    let max = state.config.media.max_file_bytes;
    if length > max {
        return Err(DomainError::FileTooLarge { max });
    }
    if length == 0 {
        return Err(DomainError::Invalid(
            "an upload has at least one byte".into(),
        ));
    }
    tokio::fs::create_dir_all(staging_dir(state))
        .await
        .map_err(io)?;
    let rec = state
        .store
        .create_upload(
            NewUpload {
                id: UploadId::new(),
                owner: claims.user,
                length,
                name: meta.name,
                claimed_type: meta.claimed_type,
                voice: meta.voice,
                keep_location: meta.keep_location,
                declared_ms: meta.duration_ms,
                now: now_ms(),
            },
            state.config.media.quota_bytes,
        )
        .await
        .map_err(|e| match e {
            StoreError::Quota => DomainError::QuotaExceeded,
            other => other.into(),
        })?;
    tokio::fs::File::create(staged(state, rec.id))
        .await
        .map_err(io)?;
    info_of(state, rec).await
}

async fn info_of(state: &AppState, rec: UploadRecord) -> Result<UploadInfo> {
    let offset = match &rec.content {
        Some(_) => rec.length,
        None => tokio::fs::metadata(staged(state, rec.id))
            .await
            .map(|m| m.len())
            .unwrap_or(0),
    };
    let attached = attachment(&rec);
    Ok(UploadInfo {
        id: rec.id,
        length: rec.length,
        offset,
        name: rec.name,
        complete: rec.content.is_some(),
        kind: attached.as_ref().map(|a| a.kind),
        mime: attached.as_ref().map(|a| a.mime.clone()),
        details: attached.map(|a| a.details).unwrap_or_default(),
        created_at: rec.created_at,
    })
}

/// The caller's upload as it stands, once no request is writing it.
pub async fn info(state: &AppState, claims: &Claims, id: UploadId) -> Result<UploadInfo> {
    own(state, claims, id).await?;
    let _lock = state.uploads_writing.lock(id, write_wait(state)).await?;
    let rec = own(state, claims, id).await?;
    info_of(state, rec).await
}

/// How long a request waits for another one writing the same upload.
fn write_wait(state: &AppState) -> Duration {
    Duration::from_secs(state.config.http.body_timeout_secs)
}

/// Appends `body` at `offset` (which must be where the upload stands) and
/// answers the new offset. The last byte completes the upload: its content
/// is checked and stored, or refused (and the upload is gone).
pub async fn append<S>(
    state: &AppState,
    claims: &Claims,
    id: UploadId,
    offset: u64,
    mut body: S,
) -> Result<UploadInfo>
where
    S: Stream<Item = std::result::Result<Bytes, axum::Error>> + Unpin,
{
    own(state, claims, id).await?;
    let _lock = state.uploads_writing.lock(id, write_wait(state)).await?;
    let rec = own(state, claims, id).await?;
    if rec.content.is_some() {
        return Err(DomainError::OffsetMismatch { offset: rec.length });
    }
    let path = staged(state, id);
    let mut file = tokio::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .await
        .map_err(|_| not_found())?;
    let mut at = file.metadata().await.map_err(io)?.len();
    if at != offset {
        return Err(DomainError::OffsetMismatch { offset: at });
    }
    let idle = Duration::from_secs(state.config.http.body_timeout_secs);
    let broke = loop {
        let chunk = match tokio::time::timeout(idle, body.next()).await {
            Err(_) => break Some("no bytes arrived in time"),
            Ok(None) => break None,
            Ok(Some(Err(_))) => break Some("the connection broke"),
            Ok(Some(Ok(c))) => c,
        };
        if at + chunk.len() as u64 > rec.length {
            // Keep what fits the announced length: the rest is an error.
            file.sync_all().await.map_err(io)?;
            return Err(DomainError::Invalid(format!(
                "more bytes than Upload-Length ({})",
                rec.length
            )));
        }
        file.write_all(&chunk).await.map_err(io)?;
        at += chunk.len() as u64;
    };
    // What arrived is kept, so the client resumes from here.
    file.sync_all().await.map_err(io)?;
    drop(file);
    if let Some(why) = broke {
        tracing::debug!(%id, at, why, "upload interrupted");
    }
    if at < rec.length {
        return info_of(state, rec).await;
    }
    finish(state, rec).await
}

/// The last byte is in: decide the kind, check the limits, store the
/// content and record it. A refused upload is deleted.
async fn finish(state: &AppState, rec: UploadRecord) -> Result<UploadInfo> {
    let path = staged(state, rec.id);
    let mut head = vec![0u8; 512];
    let n = {
        let mut f = tokio::fs::File::open(&path).await.map_err(io)?;
        let mut n = 0;
        while n < head.len() {
            let got = f.read(&mut head[n..]).await.map_err(io)?;
            if got == 0 {
                break;
            }
            n += got;
        }
        n
    };
    head.truncate(n);
    let checked = sniff(&head)
        .ok_or(DomainError::UnsupportedMedia(
            "executable files are not accepted",
        ))
        .and_then(|(kind, mime)| {
            if claim_contradicts(rec.claimed_type.as_deref(), kind, mime) {
                return Err(DomainError::UnsupportedMedia(
                    "the content is not of the type the upload claimed",
                ));
            }
            let (kind, mime) = sound_only(kind, mime, rec.claimed_type.as_deref(), rec.voice);
            let m = &state.config.media;
            let max = match kind {
                MediaKind::Image => m.max_image_bytes,
                MediaKind::Video => m.max_video_bytes,
                MediaKind::Audio => m.max_audio_bytes,
                MediaKind::File => m.max_file_bytes,
            };
            if rec.length > max {
                return Err(DomainError::FileTooLarge { max });
            }
            Ok((kind, mime))
        });
    let checked = match checked {
        Ok((kind, mime)) => read_content(state, &rec, &path, kind, mime)
            .await
            .map(|meta| (kind, mime, meta)),
        Err(e) => Err(e),
    };
    let (kind, mime, meta) = match checked {
        Ok(k) => k,
        Err(e) => {
            let _ = tokio::fs::remove_file(&path).await;
            state.store.delete_upload(rec.id).await?;
            return Err(e);
        }
    };
    // Hash the staged file first, so the content goes straight to its
    // final name (on S3 a rename would copy every byte once more).
    let key = {
        let path = path.clone();
        tokio::task::spawn_blocking(move || -> std::io::Result<natter_blob::BlobKey> {
            use sha2::Digest as _;
            let mut hasher = sha2::Sha256::new();
            std::io::copy(&mut std::fs::File::open(path)?, &mut hasher)?;
            Ok(natter_blob::BlobKey::from_digest(hasher.finalize().into()))
        })
        .await
        .map_err(|_| DomainError::internal("hashing an upload panicked"))?
        .map_err(io)?
    };
    // The staged file becomes the blob (renamed into place on the local
    // backend, streamed to S3).
    let stored = state
        .blobs
        .adopt(&key, &path, rec.length)
        .await
        .map_err(blob_err)?;
    let done = state
        .store
        .complete_upload(
            rec.id,
            UploadContent {
                blob: stored.key.to_string(),
                kind: kind.as_str().to_owned(),
                mime: mime.to_owned(),
                completed_at: now_ms(),
                meta,
                thumb: None,
            },
        )
        .await?;
    let _ = tokio::fs::remove_file(&path).await;
    state.uploads_writing.forget(done.id);
    if kind == MediaKind::Image {
        super::pictures::enqueue(state, done.id);
    }
    info_of(state, done).await
}

/// What is read from a complete file before it is stored: a picture's
/// header (refusing a pixel flood or an unreadable picture) and its
/// location metadata scrubbed unless the uploader asked to keep it; a
/// recording's duration. Answers the stored details, `None` for a picture
/// (its processing follows).
async fn read_content(
    state: &AppState,
    rec: &UploadRecord,
    path: &std::path::Path,
    kind: MediaKind,
    mime: &'static str,
) -> Result<Option<String>> {
    let path = path.to_owned();
    let max_pixels = state.config.media.max_image_pixels;
    let scrub = !rec.keep_location;
    let work = move || -> Result<Option<String>> {
        match kind {
            MediaKind::Image => {
                let file = std::fs::File::open(&path).map_err(io)?;
                natter_media::probe(std::io::BufReader::new(file), max_pixels).map_err(
                    |e| match e {
                        natter_media::MediaError::TooManyPixels { .. } => {
                            DomainError::UnsupportedMedia(
                                "the picture has more pixels than media.max_image_pixels",
                            )
                        }
                        natter_media::MediaError::Unreadable(_) => {
                            DomainError::UnsupportedMedia("the picture cannot be read")
                        }
                    },
                )?;
                if scrub {
                    let mut file = std::fs::OpenOptions::new()
                        .read(true)
                        .write(true)
                        .open(&path)
                        .map_err(io)?;
                    if natter_media::scrub::scrub_location(&mut file, mime).map_err(io)? {
                        file.sync_all().map_err(io)?;
                    }
                }
                Ok(None)
            }
            MediaKind::Audio | MediaKind::Video => {
                let mut file = std::fs::File::open(&path).map_err(io)?;
                let details = MediaDetails {
                    duration_ms: natter_media::duration::duration_ms(&mut file, mime),
                    ..MediaDetails::default()
                };
                Ok(Some(meta_json(&details)))
            }
            MediaKind::File => Ok(Some(meta_json(&MediaDetails::default()))),
        }
    };
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| DomainError::internal("reading an upload panicked"))?
}

/// Removes blobs nothing holds any more.
async fn drop_blobs(state: &AppState, keys: Vec<String>) -> Result<usize> {
    let mut n = 0;
    for key in keys {
        if let Some(key) = natter_blob::BlobKey::parse(&key)
            && state.blobs.delete(&key).await.map_err(blob_err)?
        {
            n += 1;
        }
    }
    Ok(n)
}

/// Ends an upload (tus termination): its staged bytes, its record and,
/// when nothing else references it, its blob.
pub async fn terminate(state: &AppState, claims: &Claims, id: UploadId) -> Result<()> {
    own(state, claims, id).await?;
    let _lock = state.uploads_writing.lock(id, write_wait(state)).await?;
    own(state, claims, id).await?;
    let _ = tokio::fs::remove_file(staged(state, id)).await;
    state.uploads_writing.forget(id);
    if let Some(orphans) = state.store.delete_upload(id).await? {
        drop_blobs(state, orphans).await?;
    }
    Ok(())
}

/// MP4 and WebM hold sound alone as well as pictures: a file of those
/// claimed as `audio/…`, or sent as a voice note, is audio.
fn sound_only(
    kind: MediaKind,
    mime: &'static str,
    claim: Option<&str>,
    voice: bool,
) -> (MediaKind, &'static str) {
    let audio_claim = claim.is_some_and(|c| c.trim().to_ascii_lowercase().starts_with("audio/"));
    match mime {
        "video/webm" if voice || audio_claim => (MediaKind::Audio, "audio/webm"),
        "video/mp4" if voice || audio_claim => (MediaKind::Audio, "audio/mp4"),
        _ => (kind, mime),
    }
}

/// Whether the client's claimed type contradicts what the content is: a
/// claim of an image, video or audio type that the content is not (other
/// claims are not trusted, and not held against the file).
fn claim_contradicts(claim: Option<&str>, kind: MediaKind, mime: &str) -> bool {
    let Some(claim) = claim.map(|c| c.trim().to_ascii_lowercase()) else {
        return false;
    };
    let major = claim.split('/').next().unwrap_or("");
    match major {
        "image" | "video" | "audio" => {
            let claimed_kind = MediaKind::parse(major).unwrap_or(MediaKind::File);
            // MP4 and WebM containers hold either; trust the major type.
            let container = matches!(mime, "video/mp4" | "video/webm" | "audio/mp4" | "audio/ogg")
                && matches!(claimed_kind, MediaKind::Video | MediaKind::Audio);
            claimed_kind != kind && !container
        }
        _ => false,
    }
}

/// The kind and media type of content from its first bytes; `None` for
/// what is refused (executables).
pub fn sniff(head: &[u8]) -> Option<(MediaKind, &'static str)> {
    let starts = |m: &[u8]| head.starts_with(m);
    let at = |i: usize, m: &[u8]| head.get(i..i + m.len()) == Some(m);
    use MediaKind::*;
    Some(if starts(b"\x89PNG\r\n\x1a\n") {
        (Image, "image/png")
    } else if starts(b"\xff\xd8\xff") {
        (Image, "image/jpeg")
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        (Image, "image/gif")
    } else if starts(b"RIFF") && at(8, b"WEBP") {
        (Image, "image/webp")
    } else if starts(b"RIFF") && at(8, b"WAVE") {
        (Audio, "audio/wav")
    } else if at(4, b"ftyp") {
        if at(8, b"M4A ") || at(8, b"M4B ") {
            (Audio, "audio/mp4")
        } else if at(8, b"qt  ") {
            (Video, "video/quicktime")
        } else {
            (Video, "video/mp4")
        }
    } else if starts(b"\x1a\x45\xdf\xa3") {
        (Video, "video/webm")
    } else if starts(b"OggS") {
        (Audio, "audio/ogg")
    } else if starts(b"fLaC") {
        (Audio, "audio/flac")
    } else if starts(b"ID3") || (head.len() > 1 && head[0] == 0xff && head[1] & 0xe0 == 0xe0) {
        (Audio, "audio/mpeg")
    } else if starts(b"\x7fELF")
        || starts(b"MZ")
        || starts(b"\xfe\xed\xfa\xce")
        || starts(b"\xfe\xed\xfa\xcf")
        || starts(b"\xcf\xfa\xed\xfe")
        || starts(b"\xce\xfa\xed\xfe")
        || starts(b"\xca\xfe\xba\xbe")
        || starts(b"#!")
    {
        return None;
    } else if starts(b"%PDF-") {
        (File, "application/pdf")
    } else if starts(b"PK\x03\x04") {
        (File, "application/zip")
    } else if let Ok(text) = std::str::from_utf8(trim_utf8_tail(head)) {
        let lower = text
            .trim_start_matches('\u{feff}')
            .trim_start()
            .to_ascii_lowercase();
        if lower.starts_with("<svg") || (lower.starts_with("<?xml") && lower.contains("<svg")) {
            (File, "image/svg+xml")
        } else if lower.starts_with("<!doctype html") || lower.starts_with("<html") {
            (File, "text/html")
        } else {
            (File, "text/plain")
        }
    } else {
        (File, "application/octet-stream")
    })
}

/// The head cut before a UTF-8 sequence the 512-byte window split.
fn trim_utf8_tail(head: &[u8]) -> &[u8] {
    match std::str::from_utf8(head) {
        Ok(_) => head,
        Err(e) if e.error_len().is_none() => &head[..e.valid_up_to()],
        Err(_) => head,
    }
}

/// What one run of the garbage collector removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Collected {
    /// Upload records (with their staged bytes).
    pub uploads: usize,
    /// Blobs nothing held any more.
    pub blobs: usize,
}

/// Removes uploads no message has held for `media.unattached_grace_secs`
/// (never attached, abandoned half-way, or whose messages were deleted
/// for everyone), the bytes nothing else holds, and staging left by
/// crashes. `now` is injected so tests need not wait.
pub async fn collect_garbage(state: &AppState, now: i64) -> Result<Collected> {
    let grace = state.config.media.unattached_grace_secs as i64 * 1000;
    let mut done = Collected::default();
    loop {
        let batch = state
            .store
            .collectable_uploads(now.saturating_sub(grace), 256)
            .await?;
        if batch.is_empty() {
            break;
        }
        for rec in batch {
            let _lock = state
                .uploads_writing
                .lock(rec.id, write_wait(state))
                .await?;
            let _ = tokio::fs::remove_file(staged(state, rec.id)).await;
            let deleted = state.store.delete_upload(rec.id).await?;
            state.uploads_writing.forget(rec.id);
            if let Some(orphans) = deleted {
                done.uploads += 1;
                done.blobs += drop_blobs(state, orphans).await?;
            }
        }
    }
    state
        .blobs
        .sweep_staging(state.config.media.unattached_grace_secs)
        .await
        .map_err(blob_err)?;
    Ok(done)
}

/// Runs the garbage collector every `media.gc_interval_secs` until
/// shutdown.
pub async fn collector(state: AppState) {
    let every = Duration::from_secs(state.config.media.gc_interval_secs.max(1));
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    let mut shutdown = state.shutdown.clone();
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
        if let Err(e) = super::pictures::resume(&state).await {
            tracing::warn!(error = %e, "resuming picture processing failed");
        }
        match collect_garbage(&state, now_ms()).await {
            Ok(c) if c.uploads > 0 => {
                tracing::info!(
                    uploads = c.uploads,
                    blobs = c.blobs,
                    "media garbage collected"
                )
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "media garbage collection failed"),
        }
    }
}

/// How long a signed media URL works.
pub const MEDIA_URL_SECS: i64 = 3600;

/// A signed URL for an upload the caller may fetch: their own, or one
/// attached to a message they may read.
pub async fn url(
    state: &AppState,
    claims: &Claims,
    id: UploadId,
) -> Result<natter_proto::MediaUrl> {
    let rec = state.store.upload(id).await?;
    let complete = rec.as_ref().is_some_and(|u| u.content.is_some());
    let thumb = rec
        .as_ref()
        .and_then(|u| u.content.as_ref())
        .is_some_and(|c| c.thumb.is_some());
    if !complete || !state.store.may_fetch_upload(claims.user, id).await? {
        return Err(not_found());
    }
    let expires_at = now_ms() + MEDIA_URL_SECS * 1000;
    let user = claims.user;
    let sig = state.tokens.sign_media(&id, &user, expires_at);
    let query = format!("u={user}&exp={expires_at}&sig={sig}");
    Ok(natter_proto::MediaUrl {
        url: format!("/v1/media/{id}?{query}"),
        expires_at,
        thumbnail_url: thumb.then(|| format!("/v1/media/{id}/thumbnail?{query}")),
    })
}

/// A page of a conversation's attachments, newest first, as the caller
/// may see them.
pub async fn gallery(
    state: &AppState,
    claims: &Claims,
    conv: natter_proto::ConversationId,
    q: natter_proto::MediaQuery,
) -> Result<natter_proto::MediaPage> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(DomainError::Invalid("limit is 1 to 100".into()));
    }
    let messages = state
        .store
        .media_messages(
            conv,
            claims.user,
            q.kind.map(|k| k.as_str().to_owned()),
            q.before,
            limit,
        )
        .await?;
    let next = if messages.len() == limit as usize {
        messages.last().map(|m| m.event.seq)
    } else {
        None
    };
    let mut items = Vec::new();
    for m in messages {
        let natter_proto::EventBody::Message { meta, .. } = &m.event.body else {
            continue;
        };
        for a in &meta.attachments {
            if m.uploads.contains(&a.upload) {
                items.push(natter_proto::MediaItem {
                    seq: m.event.seq,
                    sender: m.event.sender,
                    ts: m.event.ts,
                    attachment: a.clone(),
                });
            }
        }
    }
    Ok(natter_proto::MediaPage { items, next })
}

/// What a signed media URL carries besides the upload.
#[derive(Debug, serde::Deserialize)]
pub struct Link {
    /// Whom it was issued to.
    #[serde(rename = "u")]
    pub user: natter_proto::UserId,
    /// Until when it works, ms since the epoch.
    pub exp: i64,
    /// The signature.
    pub sig: String,
}

/// What a signed download serves.
pub struct Download {
    /// The blob.
    pub key: natter_blob::BlobKey,
    /// Its size.
    pub size: u64,
    /// Its media type.
    pub mime: String,
    /// The file name to offer.
    pub name: Option<String>,
}

/// Checks a signed URL and says what it serves. A forged or expired
/// signature is `forbidden`; an upload deleted since, or one the user it
/// was issued to may not fetch any more (removed from the conversation,
/// the message deleted), is `not_found`.
pub async fn download(
    state: &AppState,
    id: UploadId,
    link: &Link,
    thumbnail: bool,
) -> Result<Download> {
    if !state
        .tokens
        .verify_media(&id, &link.user, link.exp, &link.sig)
    {
        return Err(DomainError::Forbidden("this media link is not valid"));
    }
    if link.exp < now_ms() {
        return Err(DomainError::Forbidden("this media link has expired"));
    }
    // The link was issued to someone who may have left since.
    if !state.store.may_fetch_upload(link.user, id).await? {
        return Err(not_found());
    }
    let rec = state.store.upload(id).await?.ok_or_else(not_found)?;
    let content = rec.content.ok_or_else(not_found)?;
    if thumbnail {
        let key = content
            .thumb
            .as_deref()
            .and_then(natter_blob::BlobKey::parse)
            .ok_or_else(not_found)?;
        let size = state
            .blobs
            .size(&key)
            .await
            .map_err(blob_err)?
            .ok_or_else(not_found)?;
        return Ok(Download {
            key,
            size,
            mime: "image/jpeg".into(),
            name: None,
        });
    }
    let key = natter_blob::BlobKey::parse(&content.blob)
        .ok_or_else(|| DomainError::internal("an upload names a malformed blob"))?;
    Ok(Download {
        key,
        size: rec.length,
        mime: content.mime,
        name: rec.name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    type Case = (&'static [u8], Option<(MediaKind, &'static str)>);

    #[test]
    fn kinds_come_from_the_content() {
        let cases: [Case; 12] = [
            (
                b"\x89PNG\r\n\x1a\n....",
                Some((MediaKind::Image, "image/png")),
            ),
            (
                b"\xff\xd8\xff\xe0..JFIF",
                Some((MediaKind::Image, "image/jpeg")),
            ),
            (b"GIF89a..", Some((MediaKind::Image, "image/gif"))),
            (b"RIFF....WEBPVP8 ", Some((MediaKind::Image, "image/webp"))),
            (
                b"\x00\x00\x00\x18ftypmp42",
                Some((MediaKind::Video, "video/mp4")),
            ),
            (
                b"\x00\x00\x00\x18ftypM4A ",
                Some((MediaKind::Audio, "audio/mp4")),
            ),
            (b"OggS\x00\x02", Some((MediaKind::Audio, "audio/ogg"))),
            (b"%PDF-1.7", Some((MediaKind::File, "application/pdf"))),
            (b"<svg xmlns=", Some((MediaKind::File, "image/svg+xml"))),
            (b"<!DOCTYPE html><p>", Some((MediaKind::File, "text/html"))),
            (b"\x7fELF\x02\x01", None),
            (b"MZ\x90\x00", None),
        ];
        for (head, want) in cases {
            assert_eq!(sniff(head), want, "{:?}", String::from_utf8_lossy(head));
        }
    }

    #[test]
    fn a_claim_of_another_media_kind_is_a_lie() {
        assert!(claim_contradicts(
            Some("image/png"),
            MediaKind::File,
            "application/pdf"
        ));
        assert!(claim_contradicts(
            Some("image/jpeg"),
            MediaKind::Video,
            "video/mp4"
        ));
        assert!(!claim_contradicts(
            Some("image/png"),
            MediaKind::Image,
            "image/jpeg"
        ));
        assert!(!claim_contradicts(
            Some("audio/mp4"),
            MediaKind::Video,
            "video/mp4"
        ));
        assert!(!claim_contradicts(
            Some("application/octet-stream"),
            MediaKind::Image,
            "image/png"
        ));
        assert!(!claim_contradicts(None, MediaKind::File, "text/plain"));
    }

    #[test]
    fn metadata_is_base64_pairs_and_names_are_cleaned() {
        let m = parse_metadata(Some(
            "filename cGhvdG8vLi4vYS5qcGc=,filetype aW1hZ2UvanBlZw==,x",
        ))
        .unwrap();
        assert_eq!(m.name.as_deref(), Some("photo..a.jpg"));
        assert_eq!(m.claimed_type.as_deref(), Some("image/jpeg"));
        assert!(parse_metadata(Some("filename !!!")).is_err());
        assert_eq!(parse_metadata(None).unwrap(), Metadata::default());
    }
}
