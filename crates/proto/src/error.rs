//! Stable error codes. Clients branch on the code, never on the message; the
//! message is a safe, human-readable sentence and may change.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Every error the server reports, over HTTP and over the live transports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// The request is well-formed JSON but a field is missing or invalid.
    BadRequest,
    /// A frame or body is not valid JSON, or not valid UTF-8.
    MalformedFrame,
    /// A frame's `type` is not one the server knows.
    UnknownFrame,
    /// A frame or body exceeds the configured size limit.
    FrameTooLarge,
    /// A message body is empty (or only whitespace).
    MessageEmpty,
    /// A message body exceeds the configured length limit.
    MessageTooLong,
    /// No credentials were given where they are required.
    Unauthorized,
    /// The access token has expired: refresh it.
    TokenExpired,
    /// The token is not one this server issued.
    TokenInvalid,
    /// The device session was revoked (logged out, or revoked from another
    /// device): log in again.
    SessionRevoked,
    /// A refresh token was used twice; the whole session is now revoked.
    RefreshReused,
    /// Username or password is wrong.
    InvalidCredentials,
    /// The username does not meet the rules.
    InvalidUsername,
    /// The password does not meet the rules.
    WeakPassword,
    /// The username is taken.
    UsernameTaken,
    /// You may not do this (for example add members to a group you did not
    /// create).
    Forbidden,
    /// You are not a member of this conversation.
    NotMember,
    /// One of you has blocked the other: no direct messages, no adding to
    /// groups, until the block is lifted.
    Blocked,
    /// The user is banned from this group: they cannot be added again
    /// until unbanned.
    Banned,
    /// The account is suspended by a server admin: no login until lifted.
    AccountSuspended,
    /// You are muted in this group: no sending until `retry_after` seconds
    /// have passed.
    Muted,
    /// No such user, conversation or session (or not one you may see).
    NotFound,
    /// The endpoint exists but not with this HTTP method.
    MethodNotAllowed,
    /// A client id was reused with different content.
    IdempotencyConflict,
    /// Too many requests; retry after the number of seconds given.
    RateLimited,
    /// The cursor can no longer be served: reload state and continue from
    /// the cursor in the response.
    ResyncRequired,
    /// The first frame on a WebSocket must be `hello`.
    HelloRequired,
    /// The server is shutting down or overloaded; retry after the number of
    /// seconds given (`retry_after`), or with backoff when there is none.
    Unavailable,
    /// The server's storage is full: nothing was stored. Retry after the
    /// number of seconds given; the same client id is safe to reuse.
    StorageFull,
    /// The request body did not arrive in time; the connection is closed.
    RequestTimeout,
    /// An upload would pass the user's storage quota.
    QuotaExceeded,
    /// A file is larger than the server accepts for its kind.
    FileTooLarge,
    /// A resumed upload's `Upload-Offset` is not where the server is: ask
    /// with `HEAD` and continue from there.
    OffsetMismatch,
    /// The content is of a type the server refuses, or not the type the
    /// client said.
    UnsupportedMedia,
    /// Something failed inside the server. Safe to retry with the same
    /// client id.
    Internal,
}

impl ErrorCode {
    /// The HTTP status that goes with this code.
    pub fn http_status(self) -> u16 {
        use ErrorCode::*;
        match self {
            BadRequest | MalformedFrame | UnknownFrame | MessageEmpty | MessageTooLong
            | InvalidUsername | WeakPassword | HelloRequired => 400,
            Unauthorized | TokenExpired | TokenInvalid | SessionRevoked | RefreshReused
            | InvalidCredentials => 401,
            Forbidden | NotMember | Blocked | Banned | AccountSuspended | Muted => 403,
            NotFound => 404,
            MethodNotAllowed => 405,
            UsernameTaken | IdempotencyConflict => 409,
            ResyncRequired => 410,
            FrameTooLarge | QuotaExceeded | FileTooLarge => 413,
            OffsetMismatch => 409,
            UnsupportedMedia => 415,
            RateLimited => 429,
            Unavailable => 503,
            StorageFull => 507,
            RequestTimeout => 408,
            Internal => 500,
        }
    }

    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        use ErrorCode::*;
        match self {
            BadRequest => "bad_request",
            MalformedFrame => "malformed_frame",
            UnknownFrame => "unknown_frame",
            FrameTooLarge => "frame_too_large",
            MessageEmpty => "message_empty",
            MessageTooLong => "message_too_long",
            Unauthorized => "unauthorized",
            TokenExpired => "token_expired",
            TokenInvalid => "token_invalid",
            SessionRevoked => "session_revoked",
            RefreshReused => "refresh_reused",
            InvalidCredentials => "invalid_credentials",
            InvalidUsername => "invalid_username",
            WeakPassword => "weak_password",
            UsernameTaken => "username_taken",
            Forbidden => "forbidden",
            NotMember => "not_member",
            Blocked => "blocked",
            Banned => "banned",
            AccountSuspended => "account_suspended",
            Muted => "muted",
            NotFound => "not_found",
            MethodNotAllowed => "method_not_allowed",
            IdempotencyConflict => "idempotency_conflict",
            RateLimited => "rate_limited",
            ResyncRequired => "resync_required",
            HelloRequired => "hello_required",
            Unavailable => "unavailable",
            StorageFull => "storage_full",
            RequestTimeout => "request_timeout",
            QuotaExceeded => "quota_exceeded",
            FileTooLarge => "file_too_large",
            OffsetMismatch => "offset_mismatch",
            UnsupportedMedia => "unsupported_media",
            Internal => "internal",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error object, on HTTP inside [`ErrorResponse`] and on live transports
/// inside the `error` frame.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable code to branch on.
    pub code: ErrorCode,
    /// Safe human-readable explanation.
    pub message: String,
    /// With `rate_limited`, `unavailable` and `storage_full`: seconds to
    /// wait before retrying.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// With `resync_required`: the cursor to continue from after reloading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<crate::Cursor>,
}

/// The body of every non-2xx HTTP response: `{"error": {...}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorResponse {
    /// The error.
    pub error: ErrorBody,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialize_as_their_wire_names() {
        for code in [
            ErrorCode::BadRequest,
            ErrorCode::NotMember,
            ErrorCode::Blocked,
            ErrorCode::Banned,
            ErrorCode::IdempotencyConflict,
            ErrorCode::ResyncRequired,
            ErrorCode::Internal,
        ] {
            assert_eq!(
                serde_json::to_string(&code).unwrap(),
                format!("\"{}\"", code.as_str())
            );
        }
    }
}
