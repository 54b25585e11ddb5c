//! The tus 1.0 endpoints (core, creation, termination) under
//! `/v1/uploads`, and the JSON view of an upload.

use super::error::{ApiError, ApiResult};
use super::extract::{Auth, Id, Json};
use crate::domain::{self, media::Metadata};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use natter_proto::{ErrorCode, UploadId, UploadInfo};

const TUS_VERSION: &str = "1.0.0";

fn tus_headers(extra: &[(&'static str, String)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("tus-resumable", HeaderValue::from_static(TUS_VERSION));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for (name, value) in extra {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(HeaderName::from_static(name), v);
        }
    }
    h
}

fn number(headers: &HeaderMap, name: &str) -> Result<u64, ApiError> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::BadRequest,
                format!("the {name} header must be a whole number"),
            )
        })
}

/// `OPTIONS /v1/uploads`: what this tus server supports.
pub async fn options(State(state): State<AppState>) -> Response {
    let max = state.config.media.max_file_bytes.to_string();
    let mut h = tus_headers(&[
        ("tus-version", TUS_VERSION.into()),
        ("tus-extension", "creation,termination".into()),
        ("tus-max-size", max),
    ]);
    h.remove("tus-resumable");
    (StatusCode::NO_CONTENT, h).into_response()
}

/// `POST /v1/uploads` (tus creation): `Upload-Length` and optionally
/// `Upload-Metadata` (`filename`, `filetype`).
pub async fn create(
    State(state): State<AppState>,
    Auth(c): Auth,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let length = number(&headers, "upload-length")?;
    let meta: Metadata = domain::media::parse_metadata(
        headers.get("upload-metadata").and_then(|v| v.to_str().ok()),
    )?;
    let info = domain::media::create(&state, &c, length, meta).await?;
    let h = tus_headers(&[
        ("location", format!("/v1/uploads/{}", info.id)),
        ("upload-offset", info.offset.to_string()),
    ]);
    Ok((StatusCode::CREATED, h, Json(info)).into_response())
}

/// `HEAD /v1/uploads/{id}`: where the upload stands.
pub async fn head(
    State(state): State<AppState>,
    Auth(c): Auth,
    Id(id): Id<UploadId>,
) -> ApiResult<Response> {
    let info = domain::media::info(&state, &c, id).await?;
    Ok((StatusCode::OK, offsets(&info)).into_response())
}

fn offsets(info: &UploadInfo) -> HeaderMap {
    tus_headers(&[
        ("upload-offset", info.offset.to_string()),
        ("upload-length", info.length.to_string()),
    ])
}

/// `GET /v1/uploads/{id}`: the upload as JSON.
pub async fn get(
    State(state): State<AppState>,
    Auth(c): Auth,
    Id(id): Id<UploadId>,
) -> ApiResult<Json<UploadInfo>> {
    Ok(Json(domain::media::info(&state, &c, id).await?))
}

/// `PATCH /v1/uploads/{id}`: bytes at `Upload-Offset`
/// (`Content-Type: application/offset+octet-stream`).
pub async fn patch(
    State(state): State<AppState>,
    Auth(c): Auth,
    Id(id): Id<UploadId>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.eq_ignore_ascii_case("application/offset+octet-stream") {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMedia,
            "a PATCH carries Content-Type: application/offset+octet-stream",
        ));
    }
    let offset = number(&headers, "upload-offset")?;
    let info = domain::media::append(&state, &c, id, offset, body.into_data_stream()).await?;
    Ok((StatusCode::NO_CONTENT, offsets(&info)).into_response())
}

/// `DELETE /v1/uploads/{id}` (tus termination).
pub async fn delete(
    State(state): State<AppState>,
    Auth(c): Auth,
    Id(id): Id<UploadId>,
) -> ApiResult<Response> {
    domain::media::terminate(&state, &c, id).await?;
    Ok((StatusCode::NO_CONTENT, tus_headers(&[])).into_response())
}

/// `GET /v1/uploads/{id}/url`: a signed download URL.
pub async fn url(
    State(state): State<AppState>,
    Auth(c): Auth,
    Id(id): Id<UploadId>,
) -> ApiResult<Json<natter_proto::MediaUrl>> {
    Ok(Json(domain::media::url(&state, &c, id).await?))
}

/// Types a browser may show inline; everything else is offered as a
/// download (SVG and HTML never render from here).
fn inline(mime: &str) -> bool {
    matches!(
        mime,
        "image/png" | "image/jpeg" | "image/gif" | "image/webp"
    ) || mime.starts_with("audio/")
        || mime.starts_with("video/")
}

/// Parses `Range: bytes=a-b`, `bytes=a-` or `bytes=-n` (one range).
fn range(headers: &HeaderMap, size: u64) -> Option<Result<std::ops::Range<u64>, ()>> {
    let v = headers.get(header::RANGE)?.to_str().ok()?;
    let spec = v.strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let r = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().ok()?;
            size.saturating_sub(n)..size
        }
        (a, "") => a.parse().ok()?..size,
        (a, b) => {
            let (a, b): (u64, u64) = (a.parse().ok()?, b.parse().ok()?);
            a..b.saturating_add(1).min(size)
        }
    };
    Some(if r.start < r.end && r.end <= size {
        Ok(r)
    } else {
        Err(())
    })
}

/// `GET /v1/media/{id}?exp=…&sig=…`: the bytes, for anyone holding a valid
/// signed URL (no token: a CDN can cache it), with ranges.
pub async fn media(
    State(state): State<AppState>,
    Id(id): Id<UploadId>,
    super::extract::Q(q): super::extract::Q<domain::media::Link>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let d = domain::media::download(&state, id, &q, false).await?;
    let max_age = ((q.exp - crate::auth::now_ms()) / 1000).max(0);
    serve(&state, &headers, d, format!("private, max-age={max_age}")).await
}

/// `GET /v1/media/{id}/thumbnail?exp=…&sig=…`: the thumbnail, with the same
/// signature as the file.
pub async fn thumbnail(
    State(state): State<AppState>,
    Id(id): Id<UploadId>,
    super::extract::Q(q): super::extract::Q<domain::media::Link>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let d = domain::media::download(&state, id, &q, true).await?;
    let max_age = ((q.exp - crate::auth::now_ms()) / 1000).max(0);
    serve(&state, &headers, d, format!("private, max-age={max_age}")).await
}

/// The query of `GET /v1/avatars/{avatar}`.
#[derive(serde::Deserialize)]
pub struct AvatarQuery {
    /// `small` or `large` (the default).
    #[serde(default)]
    size: Option<String>,
}

/// `GET /v1/avatars/{avatar}?size=small|large`: an avatar, for anyone (its
/// id is its content's hash: it never changes, caches keep it).
pub async fn avatar(
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
    super::extract::Q(q): super::extract::Q<AvatarQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    use domain::pictures::AvatarSize;
    let size = match q.size.as_deref() {
        None | Some("large") => AvatarSize::Large,
        Some("small") => AvatarSize::Small,
        Some(_) => {
            return Err(ApiError::new(
                ErrorCode::BadRequest,
                "size is small or large",
            ));
        }
    };
    let (key, len) = domain::pictures::avatar_image(&state, &id, size).await?;
    let d = domain::media::Download {
        key,
        size: len,
        mime: "image/jpeg".into(),
        name: None,
    };
    serve(
        &state,
        &headers,
        d,
        "public, max-age=31536000, immutable".into(),
    )
    .await
}

/// Serves a blob with ranges, validators and safe headers.
async fn serve(
    state: &AppState,
    headers: &HeaderMap,
    d: domain::media::Download,
    cache_control: String,
) -> ApiResult<Response> {
    let etag = format!("\"{}\"", d.key);
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == etag)
    {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    let wanted = range(headers, d.size);
    let (status, r) = match wanted {
        None => (StatusCode::OK, None),
        Some(Ok(r)) => (StatusCode::PARTIAL_CONTENT, Some(r)),
        Some(Err(())) => {
            return Ok((
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{}", d.size))],
            )
                .into_response());
        }
    };
    let stream = state
        .blobs
        .get(&d.key, r.clone())
        .await
        .map_err(|e| match e {
            natter_blob::BlobError::NotFound => ApiError::new(ErrorCode::NotFound, "no such media"),
            other => ApiError::new(ErrorCode::Unavailable, format!("media storage: {other}")),
        })?;
    let length = r.as_ref().map_or(d.size, |r| r.end - r.start);
    let disposition = if inline(&d.mime) {
        "inline".to_owned()
    } else {
        let name: String = d
            .name
            .as_deref()
            .unwrap_or("file")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ' ') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!("attachment; filename=\"{name}\"")
    };
    let mut h = HeaderMap::new();
    let mut put = |name: header::HeaderName, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    };
    put(
        header::CONTENT_TYPE,
        if inline(&d.mime) {
            d.mime.clone()
        } else {
            "application/octet-stream".into()
        },
    );
    put(header::CONTENT_LENGTH, length.to_string());
    put(header::CONTENT_DISPOSITION, disposition);
    put(header::ETAG, etag);
    put(header::ACCEPT_RANGES, "bytes".into());
    put(header::CACHE_CONTROL, cache_control);
    put(header::X_CONTENT_TYPE_OPTIONS, "nosniff".into());
    if let Some(r) = &r {
        put(
            header::CONTENT_RANGE,
            format!("bytes {}-{}/{}", r.start, r.end - 1, d.size),
        );
    }
    let body = Body::from_stream(stream.map(|c| c.map_err(std::io::Error::other)));
    Ok((status, h, body).into_response())
}

/// `PUT /v1/me/avatar`: one of my pictures becomes my avatar.
pub async fn set_my_avatar(
    State(state): State<AppState>,
    Auth(c): Auth,
    Json(req): Json<natter_proto::SetAvatar>,
) -> ApiResult<Json<natter_proto::AvatarInfo>> {
    domain::pictures::set_my_avatar(&state, &c, Some(req.upload))
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::new(ErrorCode::Internal, "the avatar was not made"))
}

/// `DELETE /v1/me/avatar`.
pub async fn remove_my_avatar(
    State(state): State<AppState>,
    Auth(c): Auth,
) -> ApiResult<StatusCode> {
    domain::pictures::set_my_avatar(&state, &c, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /v1/conversations/{id}/avatar`: a group's avatar.
pub async fn set_group_avatar(
    State(state): State<AppState>,
    Auth(c): Auth,
    Id(id): Id<natter_proto::ConversationId>,
    Json(req): Json<natter_proto::SetAvatar>,
) -> ApiResult<Json<natter_proto::AvatarInfo>> {
    domain::pictures::set_group_avatar(&state, &c, id, Some(req.upload))
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::new(ErrorCode::Internal, "the avatar was not made"))
}

/// `DELETE /v1/conversations/{id}/avatar`.
pub async fn remove_group_avatar(
    State(state): State<AppState>,
    Auth(c): Auth,
    Id(id): Id<natter_proto::ConversationId>,
) -> ApiResult<StatusCode> {
    domain::pictures::set_group_avatar(&state, &c, id, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/conversations/{id}/media`: the conversation's attachments,
/// newest first.
pub async fn gallery(
    State(state): State<AppState>,
    Auth(c): Auth,
    Id(id): Id<natter_proto::ConversationId>,
    super::extract::Q(q): super::extract::Q<natter_proto::MediaQuery>,
) -> ApiResult<Json<natter_proto::MediaPage>> {
    Ok(Json(domain::media::gallery(&state, &c, id, q).await?))
}
