//! The API error: a stable code, a safe message, and the HTTP status that
//! goes with the code. Internal causes are logged here and never sent.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use natter_proto::{Cursor, ErrorBody, ErrorCode, ErrorResponse};
use natter_store::StoreError;

/// An error as a client sees it.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// Stable code.
    pub code: ErrorCode,
    /// Safe explanation.
    pub message: String,
    /// With `rate_limited`: seconds to wait.
    pub retry_after: Option<u64>,
    /// With `resync_required`: where to continue after reloading.
    pub resync: Option<Cursor>,
}

impl ApiError {
    /// An error with a code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after: None,
            resync: None,
        }
    }

    /// `bad_request` with a message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }

    /// `rate_limited` after `secs`.
    pub fn rate_limited(secs: u64) -> Self {
        Self {
            code: ErrorCode::RateLimited,
            message: format!("too many attempts; retry in {secs} s"),
            retry_after: Some(secs),
            resync: None,
        }
    }

    /// `internal`, logging the cause.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(ErrorCode::Internal, "internal error; retry later")
    }

    /// The wire form.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            code: self.code,
            message: self.message.clone(),
            retry_after: self.retry_after,
            cursor: self.resync,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::new(ErrorCode::NotFound, "not found"),
            StoreError::Conflict("username") => {
                ApiError::new(ErrorCode::UsernameTaken, "that username is taken")
            }
            StoreError::Conflict(what) => {
                ApiError::new(ErrorCode::BadRequest, format!("{what} already exists"))
            }
            StoreError::NotMember => ApiError::new(
                ErrorCode::NotMember,
                "you are not a member of this conversation",
            ),
            StoreError::IdempotencyConflict => ApiError::new(
                ErrorCode::IdempotencyConflict,
                "this client_id was already used for a different message",
            ),
            StoreError::CursorGone { head } => ApiError {
                resync: Some(head),
                ..ApiError::new(
                    ErrorCode::ResyncRequired,
                    "cursor cannot be served; reload state and continue from the given cursor",
                )
            },
            StoreError::Invalid(what) => ApiError::bad_request(what),
            StoreError::Unavailable => {
                ApiError::new(ErrorCode::Unavailable, "server is shutting down; retry")
            }
            other => ApiError::internal(other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retry = self.retry_after;
        let mut resp = (status, axum::Json(ErrorResponse { error: self.body() })).into_response();
        if let Some(secs) = retry
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}

/// Result alias for handlers.
pub type ApiResult<T> = Result<T, ApiError>;
