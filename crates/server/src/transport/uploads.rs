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
