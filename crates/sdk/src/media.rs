//! Uploads (tus 1.0, resumable) and downloads (signed URLs, resumable with
//! ranges), streamed: a file never sits whole in memory, only one chunk.

use crate::client::Client;
use crate::error::{Error, chain};
use futures_util::StreamExt;
use natter_proto::{ErrorCode, MediaUrl, UploadId, UploadInfo};
use reqwest::{Method, StatusCode, header};
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWrite, AsyncWriteExt};

/// Bytes sent per `PATCH`.
pub const CHUNK: usize = 4 * 1024 * 1024;
/// How many times an upload or download picks up again after a broken
/// connection before giving up.
const RESUMES: u32 = 8;

/// What an upload says about itself when it is created.
#[derive(Clone, Debug, Default)]
pub struct UploadOptions {
    /// The file name to show.
    pub name: Option<String>,
    /// The media type claimed (the server decides from the content, and
    /// refuses a claim of another picture, video or audio type).
    pub mime: Option<String>,
    /// A voice note.
    pub voice: bool,
    /// Its duration in milliseconds, for recordings whose container does
    /// not say (a browser's WebM).
    pub duration_ms: Option<u64>,
    /// Keep a photo's location metadata (removed by default).
    pub keep_location: bool,
}

impl Client {
    /// Sends a request with the access token (refreshing it once when it
    /// expired) and returns the response, whatever its status.
    async fn raw(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, String)],
        body: Option<Vec<u8>>,
    ) -> Result<reqwest::Response, Error> {
        let mut refreshed = false;
        loop {
            let token = self.access_token().ok_or(Error::NotLoggedIn)?;
            let mut req = self
                .http()
                .request(method.clone(), self.url(path, &[])?)
                .timeout(Duration::from_secs(120))
                .bearer_auth(&token)
                .header("Tus-Resumable", "1.0.0");
            for (k, v) in headers {
                req = req.header(*k, v);
            }
            if let Some(b) = body.clone() {
                req = req.body(b);
            }
            let resp = req.send().await.map_err(|e| Error::Transport(chain(&e)))?;
            if resp.status() == StatusCode::UNAUTHORIZED && !refreshed {
                refreshed = true;
                self.refresh_after(&token).await?;
                continue;
            }
            return Ok(resp);
        }
    }

    /// Turns an error response into its [`Error`].
    async fn failed(resp: reqwest::Response) -> Error {
        let status = resp.status().as_u16();
        let body = resp.bytes().await.unwrap_or_default();
        Error::from_http(status, &body)
    }

    /// `POST /v1/uploads` (tus creation): a new upload of `length` bytes.
    pub async fn create_upload(
        &self,
        length: u64,
        name: Option<&str>,
        mime: Option<&str>,
    ) -> Result<UploadInfo, Error> {
        let options = UploadOptions {
            name: name.map(str::to_owned),
            mime: mime.map(str::to_owned),
            ..UploadOptions::default()
        };
        self.create_upload_with(length, &options).await
    }

    /// `POST /v1/uploads` with every option.
    pub async fn create_upload_with(
        &self,
        length: u64,
        options: &UploadOptions,
    ) -> Result<UploadInfo, Error> {
        use base64::Engine as _;
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let mut meta = Vec::new();
        if let Some(n) = &options.name {
            meta.push(format!("filename {}", b64(n)));
        }
        if let Some(m) = &options.mime {
            meta.push(format!("filetype {}", b64(m)));
        }
        if options.voice {
            meta.push(format!("voice {}", b64("1")));
        }
        if options.keep_location {
            meta.push(format!("keep_location {}", b64("1")));
        }
        if let Some(ms) = options.duration_ms {
            meta.push(format!("duration {}", b64(&ms.to_string())));
        }
        let headers = [
            ("Upload-Length", length.to_string()),
            ("Upload-Metadata", meta.join(",")),
        ];
        let resp = self
            .raw(Method::POST, "/v1/uploads", &headers, None)
            .await?;
        if !resp.status().is_success() {
            return Err(Self::failed(resp).await);
        }
        resp.json()
            .await
            .map_err(|e| Error::Protocol(format!("cannot decode the upload: {e}")))
    }

    /// `HEAD /v1/uploads/{id}`: how many bytes the server has.
    pub async fn upload_offset(&self, id: UploadId) -> Result<u64, Error> {
        let resp = self
            .raw(Method::HEAD, &format!("/v1/uploads/{id}"), &[], None)
            .await?;
        if !resp.status().is_success() {
            return Err(Error::from_http(resp.status().as_u16(), b""));
        }
        resp.headers()
            .get("upload-offset")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| Error::Protocol("HEAD answered no Upload-Offset".into()))
    }

    /// `PATCH /v1/uploads/{id}`: `bytes` at `offset`; answers the new
    /// offset.
    pub async fn upload_chunk(
        &self,
        id: UploadId,
        offset: u64,
        bytes: Vec<u8>,
    ) -> Result<u64, Error> {
        let headers = [
            (
                header::CONTENT_TYPE.as_str(),
                "application/offset+octet-stream".to_owned(),
            ),
            ("Upload-Offset", offset.to_string()),
        ];
        let resp = self
            .raw(
                Method::PATCH,
                &format!("/v1/uploads/{id}"),
                &headers,
                Some(bytes),
            )
            .await?;
        if !resp.status().is_success() {
            return Err(Self::failed(resp).await);
        }
        resp.headers()
            .get("upload-offset")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| Error::Protocol("PATCH answered no Upload-Offset".into()))
    }

    /// `GET /v1/uploads/{id}`.
    pub async fn upload_info(&self, id: UploadId) -> Result<UploadInfo, Error> {
        self.get(&format!("/v1/uploads/{id}"), &[]).await
    }

    /// `DELETE /v1/uploads/{id}` (tus termination).
    pub async fn delete_upload(&self, id: UploadId) -> Result<(), Error> {
        let resp = self
            .raw(Method::DELETE, &format!("/v1/uploads/{id}"), &[], None)
            .await?;
        if !resp.status().is_success() {
            return Err(Self::failed(resp).await);
        }
        Ok(())
    }

    /// Uploads a file, or resumes `resume` (an upload of the same file
    /// begun earlier) from where the server is. Reads one chunk at a time;
    /// after a broken connection asks the server for its offset and goes
    /// on from there. `progress` hears `(bytes the server has, length)`.
    pub async fn upload_file(
        &self,
        path: &Path,
        mime: Option<&str>,
        resume: Option<UploadId>,
        progress: impl FnMut(u64, u64),
    ) -> Result<UploadInfo, Error> {
        let options = UploadOptions {
            mime: mime.map(str::to_owned),
            ..UploadOptions::default()
        };
        self.upload_file_with(path, &options, resume, progress)
            .await
    }

    /// [`Client::upload_file`] with every option (the name defaults to the
    /// file's).
    pub async fn upload_file_with(
        &self,
        path: &Path,
        options: &UploadOptions,
        resume: Option<UploadId>,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<UploadInfo, Error> {
        let io = |e: std::io::Error| Error::Protocol(format!("{}: {e}", path.display()));
        let mut file = tokio::fs::File::open(path).await.map_err(io)?;
        let length = file.metadata().await.map_err(io)?.len();
        let id = match resume {
            Some(id) => id,
            None => {
                let mut options = options.clone();
                if options.name.is_none() {
                    options.name = path.file_name().and_then(|n| n.to_str()).map(str::to_owned);
                }
                self.create_upload_with(length, &options).await?.id
            }
        };
        let mut offset = self.upload_offset(id).await?;
        let mut broken = 0;
        let mut buf = vec![0u8; CHUNK];
        while offset < length {
            progress(offset, length);
            file.seek(std::io::SeekFrom::Start(offset))
                .await
                .map_err(io)?;
            let want = CHUNK.min((length - offset) as usize);
            file.read_exact(&mut buf[..want]).await.map_err(io)?;
            match self.upload_chunk(id, offset, buf[..want].to_vec()).await {
                Ok(next) => offset = next,
                Err(e) if resumable(&e) && broken < RESUMES => {
                    broken += 1;
                    tokio::time::sleep(Duration::from_millis(200 << broken.min(5))).await;
                    offset = self.upload_offset(id).await?;
                }
                Err(e) => return Err(e),
            }
        }
        progress(length, length);
        self.upload_info(id).await
    }

    /// An upload's thumbnail (a JPEG at most 320 pixels on its longer
    /// side), when it has one.
    pub async fn thumbnail(&self, id: UploadId) -> Result<Option<Vec<u8>>, Error> {
        let Some(path) = self.media_url(id).await?.thumbnail_url else {
            return Ok(None);
        };
        self.fetch_public(&path).await.map(Some)
    }

    /// An avatar's square: 64 pixels (`small`) or 256, as JPEG.
    pub async fn avatar_image(&self, avatar: &str, small: bool) -> Result<Vec<u8>, Error> {
        let size = if small { "small" } else { "large" };
        self.fetch_public(&format!("/v1/avatars/{avatar}?size={size}"))
            .await
    }

    /// GETs a path that needs no token (a signed URL, an avatar).
    async fn fetch_public(&self, path: &str) -> Result<Vec<u8>, Error> {
        let url = self.url(path, &[])?;
        let resp = self
            .http()
            .get(url)
            .send()
            .await
            .map_err(|e| Error::Transport(chain(&e)))?;
        if !resp.status().is_success() {
            return Err(Self::failed(resp).await);
        }
        resp.bytes()
            .await
            .map(|b| b.to_vec())
            .map_err(|e| Error::Transport(chain(&e)))
    }

    /// `GET /v1/uploads/{id}/url`: a signed download URL.
    pub async fn media_url(&self, id: UploadId) -> Result<MediaUrl, Error> {
        self.get(&format!("/v1/uploads/{id}/url"), &[]).await
    }

    /// Downloads an upload into `out`, from byte `from` on (so a broken
    /// download resumes where it stopped); answers how many bytes were
    /// written. `progress` hears the bytes so far.
    pub async fn download<W: AsyncWrite + Unpin>(
        &self,
        id: UploadId,
        from: u64,
        out: &mut W,
        mut progress: impl FnMut(u64),
    ) -> Result<u64, Error> {
        let url = self.media_url(id).await?;
        let full = self.url(&url.url, &[])?;
        let mut at = from;
        let mut broken = 0;
        loop {
            let mut req = self.http().get(full.clone());
            if at > 0 {
                req = req.header(header::RANGE, format!("bytes={at}-"));
            }
            let resp = req.send().await.map_err(|e| Error::Transport(chain(&e)))?;
            if resp.status() == StatusCode::RANGE_NOT_SATISFIABLE {
                return Ok(at - from);
            }
            if !resp.status().is_success() {
                return Err(Self::failed(resp).await);
            }
            let mut stream = resp.bytes_stream();
            let mut failed = false;
            while let Some(chunk) = stream.next().await {
                match chunk {
                    Ok(bytes) => {
                        out.write_all(&bytes)
                            .await
                            .map_err(|e| Error::Protocol(format!("writing the download: {e}")))?;
                        at += bytes.len() as u64;
                        progress(at);
                    }
                    Err(_) => {
                        failed = true;
                        break;
                    }
                }
            }
            if !failed {
                out.flush()
                    .await
                    .map_err(|e| Error::Protocol(format!("writing the download: {e}")))?;
                return Ok(at - from);
            }
            broken += 1;
            if broken > RESUMES {
                return Err(Error::Transport("the download kept breaking".into()));
            }
        }
    }
}

/// Whether an upload can go on after this error: a broken connection, an
/// offset the server moved past, or a server asking to retry.
fn resumable(e: &Error) -> bool {
    match e {
        Error::Transport(_) => true,
        Error::Api { code, .. } => matches!(
            code,
            ErrorCode::OffsetMismatch | ErrorCode::Unavailable | ErrorCode::Internal
        ),
        _ => false,
    }
}
