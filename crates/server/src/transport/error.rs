//! The wire error: a stable code, a safe message, and the HTTP status that
//! goes with the code. Domain causes become wire errors here, at the edge;
//! internal causes are logged here and never sent.

use crate::error::DomainError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use natter_proto::{Cursor, ErrorBody, ErrorCode, ErrorResponse};

/// How long a client is asked to wait after `storage_full`: long enough for
/// an operator to free space, short enough that an outbox drains soon after.
pub const STORAGE_FULL_RETRY_SECS: u64 = 30;

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

    /// `internal`, logging the cause.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(ErrorCode::Internal, "internal error; retry later")
    }

    /// With `resync_required`: the cursor to continue from.
    pub fn resync_cursor(&self) -> Cursor {
        self.resync.unwrap_or(Cursor::START)
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

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        let code = match &e {
            DomainError::Invalid(_) => ErrorCode::BadRequest,
            DomainError::InvalidUsername => ErrorCode::InvalidUsername,
            DomainError::WeakPassword(_) => ErrorCode::WeakPassword,
            DomainError::UsernameTaken => ErrorCode::UsernameTaken,
            DomainError::InvalidCredentials => ErrorCode::InvalidCredentials,
            DomainError::TokenInvalid(_) => ErrorCode::TokenInvalid,
            DomainError::TokenExpired(_) => ErrorCode::TokenExpired,
            DomainError::SessionRevoked => ErrorCode::SessionRevoked,
            DomainError::RefreshReused => ErrorCode::RefreshReused,
            DomainError::MessageEmpty => ErrorCode::MessageEmpty,
            DomainError::MessageTooLong { .. } => ErrorCode::MessageTooLong,
            DomainError::Forbidden(_) => ErrorCode::Forbidden,
            DomainError::NotMember => ErrorCode::NotMember,
            DomainError::Blocked => ErrorCode::Blocked,
            DomainError::Banned => ErrorCode::Banned,
            DomainError::AccountSuspended => ErrorCode::AccountSuspended,
            DomainError::Muted(_) => ErrorCode::Muted,
            DomainError::NotFound(_) => ErrorCode::NotFound,
            DomainError::IdempotencyConflict => ErrorCode::IdempotencyConflict,
            DomainError::ResyncRequired { .. } => ErrorCode::ResyncRequired,
            DomainError::RateLimited(_) => ErrorCode::RateLimited,
            DomainError::Unavailable(_) | DomainError::Overloaded { .. } => ErrorCode::Unavailable,
            DomainError::StorageFull => ErrorCode::StorageFull,
            DomainError::QuotaExceeded => ErrorCode::QuotaExceeded,
            DomainError::FileTooLarge { .. } => ErrorCode::FileTooLarge,
            DomainError::OffsetMismatch { .. } => ErrorCode::OffsetMismatch,
            DomainError::UnsupportedMedia(_) => ErrorCode::UnsupportedMedia,
            DomainError::Internal(cause) => return ApiError::internal(cause),
        };
        ApiError {
            code,
            message: e.to_string(),
            retry_after: match e {
                DomainError::RateLimited(secs) | DomainError::Muted(secs) => Some(secs),
                DomainError::Overloaded { retry_after, .. } => Some(retry_after),
                DomainError::StorageFull => Some(STORAGE_FULL_RETRY_SECS),
                _ => None,
            },
            resync: match e {
                DomainError::ResyncRequired { head } => Some(head),
                _ => None,
            },
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_causes_keep_their_codes_and_details() {
        let e = ApiError::from(DomainError::RateLimited(7));
        assert_eq!((e.code, e.retry_after), (ErrorCode::RateLimited, Some(7)));
        assert_eq!(e.message, "too many attempts; retry in 7 s");
        let e = ApiError::from(DomainError::ResyncRequired { head: Cursor(9) });
        assert_eq!(
            (e.code, e.resync_cursor()),
            (ErrorCode::ResyncRequired, Cursor(9))
        );
        let e = ApiError::from(DomainError::Internal("disk on fire".into()));
        assert_eq!(e.code, ErrorCode::Internal);
        assert!(!e.message.contains("disk"), "causes are never sent");
        let e = ApiError::from(DomainError::Forbidden(
            "only the group's creator can add members",
        ));
        assert_eq!(e.code.http_status(), 403);
    }
}
