//! The SDK's error type.

use natter_proto::{Cursor, ErrorBody, ErrorCode, ErrorResponse};

/// Everything an SDK call can fail with.
///
/// Branch on the variant, and for [`Error::Api`] on the stable `code`; the
/// messages are for people.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with an error.
    #[error("{code}: {message}")]
    Api {
        /// HTTP status of the response (for errors that arrived as a
        /// WebSocket frame: the status that goes with the code).
        status: u16,
        /// The stable error code.
        code: ErrorCode,
        /// The server's human-readable explanation.
        message: String,
        /// With `rate_limited`: seconds to wait before retrying.
        retry_after: Option<u64>,
        /// With `resync_required`: the cursor to continue from after
        /// reloading state.
        cursor: Option<Cursor>,
    },
    /// The server could not be reached, or the connection broke or timed
    /// out before an answer arrived. Safe to retry; for sends, retry with the
    /// same client id.
    #[error("transport: {0}")]
    Transport(String),
    /// The server sent something this SDK does not understand: a body that
    /// does not decode, or a frame that is not allowed at that point.
    #[error("protocol: {0}")]
    Protocol(String),
    /// The device session is gone (revoked, logged out, or its refresh token
    /// was reused): log in again.
    #[error("session_revoked: the session is gone; log in again")]
    SessionGone,
    /// The call needs a session, and this client has none.
    #[error("unauthorized: not logged in")]
    NotLoggedIn,
    /// The base URL is not an `http://` or `https://` URL.
    #[error("invalid server URL: {0}")]
    InvalidUrl(String),
    /// The live connection's state file could not be read or written.
    #[error("state file {path}: {message}")]
    State {
        /// The state file.
        path: String,
        /// What went wrong.
        message: String,
    },
}

impl Error {
    /// The server's error code, for [`Error::Api`].
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Error::Api { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// True when the same request may succeed if tried again later: transport
    /// failures and the `internal`, `unavailable` and `rate_limited` codes.
    /// Sends must be retried with the same client id.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport(_) => true,
            Error::Api { code, .. } => is_retryable_code(*code),
            _ => false,
        }
    }

    /// How long the server asked to wait before retrying (`rate_limited`).
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Error::Api {
                retry_after: Some(secs),
                ..
            } => Some(std::time::Duration::from_secs(*secs)),
            _ => None,
        }
    }

    /// Builds an [`Error::Api`] from an error object received in a frame.
    pub fn from_body(body: ErrorBody) -> Error {
        Error::Api {
            status: body.code.http_status(),
            code: body.code,
            message: body.message,
            retry_after: body.retry_after,
            cursor: body.cursor,
        }
    }

    /// Builds the error for a non-2xx HTTP response. A body that is not an
    /// [`ErrorResponse`] (a proxy's error page, say) is mapped to the code
    /// that best fits the status, so retry decisions still work.
    pub(crate) fn from_http(status: u16, body: &[u8]) -> Error {
        if let Ok(resp) = serde_json::from_slice::<ErrorResponse>(body) {
            return Error::Api {
                status,
                code: resp.error.code,
                message: resp.error.message,
                retry_after: resp.error.retry_after,
                cursor: resp.error.cursor,
            };
        }
        let code = match status {
            401 => ErrorCode::Unauthorized,
            403 => ErrorCode::Forbidden,
            404 => ErrorCode::NotFound,
            413 => ErrorCode::FrameTooLarge,
            429 => ErrorCode::RateLimited,
            500 => ErrorCode::Internal,
            s if s >= 500 => ErrorCode::Unavailable,
            _ => ErrorCode::BadRequest,
        };
        let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
        Error::Api {
            status,
            code,
            message: format!("HTTP {status} without an error body: {text}"),
            retry_after: None,
            cursor: None,
        }
    }

    /// Maps the codes that mean "this device session is over" to
    /// [`Error::SessionGone`]; leaves everything else alone.
    pub(crate) fn gone_if_revoked(self) -> Error {
        match self {
            Error::Api {
                code: ErrorCode::SessionRevoked | ErrorCode::RefreshReused,
                ..
            } => Error::SessionGone,
            other => other,
        }
    }
}

/// The codes after which the same request may succeed later.
pub(crate) fn is_retryable_code(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::Internal
            | ErrorCode::Unavailable
            | ErrorCode::RateLimited
            | ErrorCode::StorageFull
            | ErrorCode::RequestTimeout
    )
}

/// Renders an error with its whole `source()` chain, because transport
/// libraries put the useful part ("connection refused") deep in the chain.
pub(crate) fn chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut next = err.source();
    while let Some(e) = next {
        let s = e.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        next = e.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_errors_decode_the_error_body() {
        let body = br#"{"error":{"code":"rate_limited","message":"slow down","retry_after":3}}"#;
        let e = Error::from_http(429, body);
        assert_eq!(e.code(), Some(ErrorCode::RateLimited));
        assert!(e.is_retryable());
        assert_eq!(e.retry_after(), Some(std::time::Duration::from_secs(3)));
        assert_eq!(e.to_string(), "rate_limited: slow down");
    }

    #[test]
    fn http_errors_without_a_body_map_by_status() {
        assert_eq!(
            Error::from_http(502, b"<html>").code(),
            Some(ErrorCode::Unavailable)
        );
        assert_eq!(Error::from_http(404, b"").code(), Some(ErrorCode::NotFound));
        assert!(!Error::from_http(400, b"").is_retryable());
    }

    #[test]
    fn revoked_sessions_become_session_gone() {
        let e = Error::from_http(401, br#"{"error":{"code":"refresh_reused","message":"x"}}"#);
        assert!(matches!(e.gone_if_revoked(), Error::SessionGone));
        let e = Error::from_http(401, br#"{"error":{"code":"token_expired","message":"x"}}"#);
        assert!(matches!(e.gone_if_revoked(), Error::Api { .. }));
    }
}
