//! Content-addressed blob storage for natter's media.
//!
//! A blob is named by the SHA-256 of its bytes: identical content is kept
//! once. [`BlobStore`] is what the server needs; [`ObjectBlobStore`]
//! implements it on any [`object_store::ObjectStore`]: the local file
//! system under the data folder (the default, nothing to set up) or an
//! S3-compatible service ([`BlobConfig`]).
//!
//! # Invariants
//! - A blob appears under its final name only once all its bytes are
//!   written: bytes stream into a staging object, and only a complete
//!   upload is renamed to `blobs/…/<sha256>`. A crash or an error leaves at
//!   most a staging object, which [`BlobStore::sweep_staging`] removes.
//! - Nothing is ever held whole in memory: uploads stream through in parts
//!   of at most [`PART_SIZE`], downloads stream as they are read.
//! - A write that passes its size limit stops there and keeps nothing.
//!
//! Content addressing is global (one copy per content, whoever uploaded
//! it). A client can never learn that content exists already: every upload
//! sends all its bytes, and the answer is the same either way. Which
//! uploads (and so which users) reference a blob is the database's
//! business; a blob is deleted when none does.

#![forbid(unsafe_code)]

#[cfg(test)]
mod tests;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::stream::{BoxStream, StreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};
use sha2::{Digest, Sha256};
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// Largest part an upload buffers before sending it on (S3's multipart
/// uploads need parts of at least 5 MiB).
pub const PART_SIZE: usize = 5 * 1024 * 1024;

/// Why a blob operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The content passed the limit of the write; nothing was kept.
    #[error("the content is larger than {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// The body being written failed (a dropped upload).
    #[error("the upload broke off: {0}")]
    Body(std::io::Error),
    /// No blob has that key.
    #[error("no such blob")]
    NotFound,
    /// A range outside the blob.
    #[error("the range is outside the blob")]
    BadRange,
    /// The storage did not answer or refused (a stopped S3 server, a full
    /// disk): nothing was kept.
    #[error("the blob storage is unavailable: {0}")]
    Unavailable(String),
}

/// Result alias of this crate.
pub type Result<T, E = BlobError> = std::result::Result<T, E>;

/// A blob's name: the SHA-256 of its content, 64 lowercase hex digits.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobKey(String);

impl BlobKey {
    /// The key of these bytes.
    pub fn of(bytes: &[u8]) -> BlobKey {
        BlobKey::from_digest(Sha256::digest(bytes).into())
    }

    /// The key of a SHA-256 digest.
    pub fn from_digest(digest: [u8; 32]) -> BlobKey {
        use std::fmt::Write as _;
        let mut s = String::with_capacity(64);
        for b in digest {
            let _ = write!(s, "{b:02x}");
        }
        BlobKey(s)
    }

    /// Parses 64 lowercase hex digits.
    pub fn parse(s: &str) -> Option<BlobKey> {
        (s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| BlobKey(s.to_owned()))
    }

    /// The hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Where the blob lives: `blobs/ab/cd/<key>` (two levels of fan-out so
    /// no directory of the local backend grows past 65,536 entries' worth).
    fn path(&self) -> Path {
        Path::from(format!(
            "blobs/{}/{}/{}",
            &self.0[..2],
            &self.0[2..4],
            self.0
        ))
    }
}

impl fmt::Display for BlobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for BlobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlobKey({})", self.0)
    }
}

/// What a write stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    /// The content's key.
    pub key: BlobKey,
    /// Its size in bytes.
    pub size: u64,
}

/// A body to store: chunks of bytes, or the error that broke the upload.
pub type Body<'a> = BoxStream<'a, std::io::Result<Bytes>>;

/// What the server needs from blob storage.
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Streams `body` in, naming it by its SHA-256. More than `limit` bytes
    /// is [`BlobError::TooLarge`]; a failing body is [`BlobError::Body`];
    /// either way nothing is kept. Storing content that is there already
    /// answers the same and keeps one copy.
    async fn put(&self, body: Body<'_>, limit: u64) -> Result<Stored>;

    /// Streams `body`, whose SHA-256 the caller already knows, in under
    /// its final name `key` (no staging object, no rename: on S3 a rename
    /// is a copy). The bytes are hashed on the way and the write is
    /// abandoned, leaving nothing, when they do not match `key`
    /// ([`BlobError::Body`]) or are not `size` bytes. Content that is
    /// there already is not sent again.
    async fn put_known(&self, key: &BlobKey, body: Body<'_>, size: u64) -> Result<Stored>;

    /// Stores the file at `path`, whose SHA-256 is `key` and which nobody
    /// writes any more, taking it over: the local backend renames it into
    /// place (no copy; `path` must be on the same file system, else it is
    /// copied), others stream it in with [`BlobStore::put_known`]. Once
    /// stored, the file is gone; after an error it is still there.
    async fn adopt(&self, key: &BlobKey, path: &std::path::Path, size: u64) -> Result<Stored>;

    /// The blob's size, or `None` when there is none with that key.
    async fn size(&self, key: &BlobKey) -> Result<Option<u64>>;

    /// Streams the blob's bytes, all of them or `range`.
    /// [`BlobError::NotFound`], [`BlobError::BadRange`].
    async fn get(
        &self,
        key: &BlobKey,
        range: Option<Range<u64>>,
    ) -> Result<BoxStream<'static, Result<Bytes>>>;

    /// Deletes a blob; false when there was none.
    async fn delete(&self, key: &BlobKey) -> Result<bool>;

    /// Every blob's key (for the garbage collector).
    async fn keys(&self) -> Result<Vec<BlobKey>>;

    /// Removes staging objects older than `older_than_secs` (left by a
    /// crash mid-upload); returns how many.
    async fn sweep_staging(&self, older_than_secs: u64) -> Result<usize>;
}

/// Where blobs are kept.
#[derive(Clone, Debug)]
pub enum BlobConfig {
    /// A folder on the local disk.
    Local {
        /// The folder (created if missing).
        root: std::path::PathBuf,
    },
    /// An S3-compatible service.
    S3 {
        /// Its endpoint, e.g. `http://127.0.0.1:9000` (path-style requests).
        endpoint: String,
        /// The bucket (which must exist).
        bucket: String,
        /// The region (any value for most S3-compatible servers).
        region: String,
        /// The access key id.
        access_key: String,
        /// The secret access key.
        secret_key: String,
    },
}

/// A [`BlobStore`] on an [`ObjectStore`].
pub struct ObjectBlobStore {
    inner: Arc<dyn ObjectStore>,
    /// The local backend's folder: files are adopted by renaming them into
    /// place and read in large chunks, without the object store between.
    local: Option<std::path::PathBuf>,
}

/// Bytes per read when serving a local blob.
const READ_CHUNK: usize = 256 * 1024;

impl ObjectBlobStore {
    /// Opens the storage a configuration names.
    pub fn open(config: &BlobConfig) -> Result<ObjectBlobStore> {
        let local = match config {
            BlobConfig::Local { root } => Some(root.clone()),
            BlobConfig::S3 { .. } => None,
        };
        let inner: Arc<dyn ObjectStore> = match config {
            BlobConfig::Local { root } => {
                std::fs::create_dir_all(root).map_err(|e| {
                    BlobError::Unavailable(format!("cannot create {}: {e}", root.display()))
                })?;
                Arc::new(
                    object_store::local::LocalFileSystem::new_with_prefix(root)
                        .map_err(unavailable)?
                        .with_automatic_cleanup(true),
                )
            }
            BlobConfig::S3 {
                endpoint,
                bucket,
                region,
                access_key,
                secret_key,
            } => Arc::new(
                object_store::aws::AmazonS3Builder::new()
                    .with_endpoint(endpoint)
                    .with_virtual_hosted_style_request(false)
                    .with_bucket_name(bucket)
                    .with_region(region)
                    .with_access_key_id(access_key)
                    .with_secret_access_key(secret_key)
                    // Fail fast when the service is down: a send waiting
                    // for an attachment must get a clear error, not hang.
                    .with_retry(object_store::RetryConfig {
                        backoff: object_store::BackoffConfig {
                            init_backoff: std::time::Duration::from_millis(100),
                            max_backoff: std::time::Duration::from_secs(1),
                            base: 2.0,
                        },
                        max_retries: 2,
                        retry_timeout: std::time::Duration::from_secs(10),
                    })
                    .with_client_options(
                        object_store::ClientOptions::new()
                            .with_allow_http(endpoint.starts_with("http://"))
                            .with_connect_timeout(std::time::Duration::from_secs(3))
                            .with_timeout(std::time::Duration::from_secs(60)),
                    )
                    .build()
                    .map_err(unavailable)?,
            ),
        };
        Ok(ObjectBlobStore { inner, local })
    }

    /// Wraps any object store.
    pub fn new(inner: Arc<dyn ObjectStore>) -> ObjectBlobStore {
        ObjectBlobStore { inner, local: None }
    }

    /// Where a blob's file is, on the local backend.
    fn file(&self, key: &BlobKey) -> Option<std::path::PathBuf> {
        let root = self.local.as_ref()?;
        Some(root.join(key.path().as_ref()))
    }
}

fn unavailable(e: object_store::Error) -> BlobError {
    match e {
        object_store::Error::NotFound { .. } => BlobError::NotFound,
        other => BlobError::Unavailable(other.to_string()),
    }
}

#[async_trait]
impl BlobStore for ObjectBlobStore {
    async fn put(&self, mut body: Body<'_>, limit: u64) -> Result<Stored> {
        let staging = Path::from(format!("staging/{}", uuid::Uuid::now_v7()));
        let upload = self
            .inner
            .put_multipart(&staging)
            .await
            .map_err(unavailable)?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let failed = loop {
            let chunk = match body.next().await {
                None => break None,
                Some(Err(e)) => break Some(BlobError::Body(e)),
                Some(Ok(chunk)) => chunk,
            };
            size += chunk.len() as u64;
            if size > limit {
                break Some(BlobError::TooLarge { limit });
            }
            hasher.update(&chunk);
            // At most two parts in flight: memory stays flat.
            if let Err(e) = writer.wait_for_capacity(2).await {
                break Some(unavailable(e));
            }
            writer.write(&chunk);
        };
        if let Some(e) = failed {
            if let Err(abort) = writer.abort().await {
                tracing::warn!(error = %abort, "aborting a broken upload failed");
            }
            return Err(e);
        }
        writer.finish().await.map_err(unavailable)?;
        let key = BlobKey::from_digest(hasher.finalize().into());
        // The content is complete: give it its name. Renaming over an
        // existing blob replaces identical bytes with identical bytes.
        if let Err(e) = self.inner.rename(&staging, &key.path()).await {
            let _ = self.inner.delete(&staging).await;
            return Err(unavailable(e));
        }
        Ok(Stored { key, size })
    }

    async fn put_known(&self, key: &BlobKey, mut body: Body<'_>, size: u64) -> Result<Stored> {
        if self.size(key).await? == Some(size) {
            return Ok(Stored {
                key: key.clone(),
                size,
            });
        }
        // A multipart write becomes visible only when finished (S3
        // completes it, the local store renames its temporary file).
        let upload = self
            .inner
            .put_multipart(&key.path())
            .await
            .map_err(unavailable)?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let mut hasher = Sha256::new();
        let mut got = 0u64;
        let failed = loop {
            let chunk = match body.next().await {
                None => break None,
                Some(Err(e)) => break Some(BlobError::Body(e)),
                Some(Ok(chunk)) => chunk,
            };
            got += chunk.len() as u64;
            if got > size {
                break Some(BlobError::TooLarge { limit: size });
            }
            hasher.update(&chunk);
            if let Err(e) = writer.wait_for_capacity(2).await {
                break Some(unavailable(e));
            }
            writer.write(&chunk);
        };
        let failed = failed.or_else(|| {
            let digest: [u8; 32] = hasher.finalize().into();
            (got != size || BlobKey::from_digest(digest) != *key).then(|| {
                BlobError::Body(std::io::Error::other(
                    "the bytes are not the content their name says",
                ))
            })
        });
        if let Some(e) = failed {
            if let Err(abort) = writer.abort().await {
                tracing::warn!(error = %abort, "aborting a broken upload failed");
            }
            return Err(e);
        }
        writer.finish().await.map_err(unavailable)?;
        Ok(Stored {
            key: key.clone(),
            size,
        })
    }

    async fn adopt(&self, key: &BlobKey, path: &std::path::Path, size: u64) -> Result<Stored> {
        let stored = Stored {
            key: key.clone(),
            size,
        };
        let Some(dest) = self.file(key) else {
            let file = tokio::fs::File::open(path).await.map_err(BlobError::Body)?;
            let stored = self.put_known(key, file_stream(file), size).await?;
            // Kept when the store failed: the caller may try again.
            let _ = tokio::fs::remove_file(path).await;
            return Ok(stored);
        };
        let (path, dest) = (path.to_owned(), dest.clone());
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            let dir = dest
                .parent()
                .ok_or_else(|| std::io::Error::other("no folder"))?;
            std::fs::create_dir_all(dir)?;
            std::fs::File::open(&path)?.sync_all()?;
            // Atomic: the name appears with every byte behind it. Identical
            // content already there is replaced by identical content.
            if std::fs::rename(&path, &dest).is_err() {
                // Another file system: copy under a temporary name first.
                let tmp = dest.with_extension(format!("{}.part", uuid::Uuid::now_v7()));
                std::fs::copy(&path, &tmp)?;
                std::fs::File::open(&tmp)?.sync_all()?;
                std::fs::rename(&tmp, &dest)?;
                std::fs::remove_file(&path)?;
            }
            std::fs::File::open(dir)?.sync_all()
        })
        .await
        .map_err(|_| BlobError::Unavailable("storing a file panicked".into()))?
        .map_err(|e| BlobError::Unavailable(format!("storing a file: {e}")))?;
        Ok(stored)
    }

    async fn size(&self, key: &BlobKey) -> Result<Option<u64>> {
        match self.inner.head(&key.path()).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn get(
        &self,
        key: &BlobKey,
        range: Option<Range<u64>>,
    ) -> Result<BoxStream<'static, Result<Bytes>>> {
        if let Some(r) = &range {
            let size = self.size(key).await?.ok_or(BlobError::NotFound)?;
            if r.start >= r.end || r.end > size {
                return Err(BlobError::BadRange);
            }
        }
        if let Some(file) = self.file(key) {
            return local_read(&file, range).await;
        }
        let options = object_store::GetOptions {
            range: range.map(Into::into),
            ..Default::default()
        };
        let result = self
            .inner
            .get_opts(&key.path(), options)
            .await
            .map_err(unavailable)?;
        Ok(result.into_stream().map(|r| r.map_err(unavailable)).boxed())
    }

    async fn delete(&self, key: &BlobKey) -> Result<bool> {
        if self.size(key).await?.is_none() {
            return Ok(false);
        }
        match self.inner.delete(&key.path()).await {
            Ok(()) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn keys(&self) -> Result<Vec<BlobKey>> {
        let mut out = Vec::new();
        let mut list = self.inner.list(Some(&Path::from("blobs")));
        while let Some(meta) = list.next().await {
            let meta = meta.map_err(unavailable)?;
            if let Some(key) = meta.location.filename().and_then(BlobKey::parse) {
                out.push(key);
            }
        }
        out.sort();
        Ok(out)
    }

    async fn sweep_staging(&self, older_than_secs: u64) -> Result<usize> {
        let cutoff = std::time::SystemTime::now() - std::time::Duration::from_secs(older_than_secs);
        let mut swept = 0;
        let mut list = self.inner.list(Some(&Path::from("staging")));
        let mut old = Vec::new();
        while let Some(meta) = list.next().await {
            let meta = meta.map_err(unavailable)?;
            if std::time::SystemTime::from(meta.last_modified) <= cutoff {
                old.push(meta.location);
            }
        }
        for path in old {
            self.inner.delete(&path).await.map_err(unavailable)?;
            swept += 1;
        }
        Ok(swept)
    }
}

/// A local blob's bytes, `range` or all, in [`READ_CHUNK`]s.
async fn local_read(
    path: &std::path::Path,
    range: Option<Range<u64>>,
) -> Result<BoxStream<'static, Result<Bytes>>> {
    use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _};
    let mut file = match tokio::fs::File::open(path).await {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(BlobError::NotFound),
        Err(e) => return Err(BlobError::Unavailable(e.to_string())),
    };
    let len = file
        .metadata()
        .await
        .map_err(|e| BlobError::Unavailable(e.to_string()))?
        .len();
    let range = range.unwrap_or(0..len);
    file.seek(std::io::SeekFrom::Start(range.start))
        .await
        .map_err(|e| BlobError::Unavailable(e.to_string()))?;
    let left = range.end - range.start;
    Ok(
        futures_util::stream::unfold((file, left), |(mut f, left)| async move {
            if left == 0 {
                return None;
            }
            let mut buf = vec![0u8; READ_CHUNK.min(left as usize)];
            match f.read(&mut buf).await {
                Ok(0) => Some((
                    Err(BlobError::Unavailable("the blob ended early".into())),
                    (f, 0),
                )),
                Ok(n) => {
                    buf.truncate(n);
                    Some((Ok(Bytes::from(buf)), (f, left - n as u64)))
                }
                Err(e) => Some((Err(BlobError::Unavailable(e.to_string())), (f, 0))),
            }
        })
        .boxed(),
    )
}

/// A file as a body, [`READ_CHUNK`] at a time.
fn file_stream(file: tokio::fs::File) -> Body<'static> {
    use tokio::io::AsyncReadExt as _;
    futures_util::stream::unfold(file, |mut f| async move {
        let mut buf = vec![0u8; READ_CHUNK];
        match f.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(Bytes::from(buf)), f))
            }
            Err(e) => Some((Err(e), f)),
        }
    })
    .boxed()
}

/// A body from bytes in memory (tests, small files).
pub fn body_of(bytes: impl Into<Bytes>) -> Body<'static> {
    let bytes: Bytes = bytes.into();
    futures_util::stream::iter(
        bytes
            .chunks(64 * 1024)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect::<Vec<_>>(),
    )
    .boxed()
}

/// Reads a whole blob (tests, small files).
pub async fn read_all(store: &dyn BlobStore, key: &BlobKey) -> Result<Vec<u8>> {
    let mut stream = store.get(key, None).await?;
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk?);
    }
    Ok(out)
}
