//! Why a domain operation was refused: one variant per cause, each with the
//! safe message a client may see. The transport edge turns these into wire
//! errors (`transport::error`); nothing in the domain knows of HTTP.

use natter_proto::Cursor;
use natter_store::StoreError;

/// A refused or failed domain operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DomainError {
    /// A field is missing or out of range; the text says which.
    #[error("{0}")]
    Invalid(String),
    /// A username breaks the rules.
    #[error(
        "usernames have 3 to 32 characters: a-z, 0-9, '_', '.', '-', starting with a letter or digit"
    )]
    InvalidUsername,
    /// A password breaks the rules; the text says which.
    #[error("{0}")]
    WeakPassword(&'static str),
    /// The username is taken.
    #[error("that username is taken")]
    UsernameTaken,
    /// Wrong username or password (never says which).
    #[error("wrong username or password")]
    InvalidCredentials,
    /// A token this server did not issue; the text says which kind.
    #[error("{0}")]
    TokenInvalid(&'static str),
    /// A token that has expired; the text says what to do.
    #[error("{0}")]
    TokenExpired(&'static str),
    /// The device session was revoked.
    #[error("session revoked; log in again")]
    SessionRevoked,
    /// A refresh token was presented twice; its session is now revoked.
    #[error("this refresh token was already used; the session is revoked, log in again")]
    RefreshReused,
    /// A message body is empty.
    #[error("message text is empty")]
    MessageEmpty,
    /// A message body is over the limit.
    #[error("message text is {len} bytes; the limit is {max}")]
    MessageTooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The permission policy refuses the action; the text says why.
    #[error("{0}")]
    Forbidden(&'static str),
    /// The caller is not a member of the conversation (or it does not exist).
    #[error("you are not a member of this conversation")]
    NotMember,
    /// One of the two users has blocked the other.
    #[error("one of you has blocked the other")]
    Blocked,
    /// A user to add is banned from the group.
    #[error("a user you named is banned from this group")]
    Banned,
    /// The account is suspended.
    #[error("this account is suspended by the server's admins")]
    AccountSuspended,
    /// The sender is muted in this group for this many more seconds.
    #[error("you are muted in this group; try again in {0} s")]
    Muted(u64),
    /// The thing named does not exist (or the caller may not see it).
    #[error("{0}")]
    NotFound(&'static str),
    /// A client id was reused for different content.
    #[error("this client_id was already used for a different message")]
    IdempotencyConflict,
    /// A cursor cannot be served; the client reloads and continues at `head`.
    #[error("cursor cannot be served; reload state and continue from the given cursor")]
    ResyncRequired {
        /// Where to continue after reloading.
        head: Cursor,
    },
    /// Too many attempts; retry after this many seconds.
    #[error("too many attempts; retry in {0} s")]
    RateLimited(u64),
    /// The server is stopping or cannot take the work now; the text says
    /// which.
    #[error("{0}")]
    Unavailable(&'static str),
    /// Too much work is queued for this kind of request; retry after
    /// `retry_after` seconds.
    #[error("{what}")]
    Overloaded {
        /// What is overloaded, as a client may read it.
        what: &'static str,
        /// Seconds to wait.
        retry_after: u64,
    },
    /// The server's storage is full; nothing was stored.
    #[error("the server's storage is full; nothing was stored, retry later")]
    StorageFull,
    /// An upload would pass the user's storage quota.
    #[error("this upload would pass your storage quota")]
    QuotaExceeded,
    /// A file is larger than the server accepts (for its kind).
    #[error("the file is larger than {max} bytes")]
    FileTooLarge {
        /// The limit, in bytes.
        max: u64,
    },
    /// A resumed upload's offset is not where the upload stands.
    #[error("the upload is at offset {offset}")]
    OffsetMismatch {
        /// Where it stands.
        offset: u64,
    },
    /// The content is refused, or not what the upload claimed.
    #[error("{0}")]
    UnsupportedMedia(&'static str),
    /// Something failed inside the server. The cause is for logs only.
    #[error("internal error; retry later")]
    Internal(String),
}

impl DomainError {
    /// An internal failure with its cause (logged where it is reported,
    /// never sent).
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        DomainError::Internal(cause.to_string())
    }

    /// "no such user".
    pub fn no_user() -> Self {
        DomainError::NotFound("no such user")
    }
}

impl From<StoreError> for DomainError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => DomainError::NotFound("not found"),
            StoreError::Conflict(what) => DomainError::Invalid(format!("{what} already exists")),
            StoreError::NotMember => DomainError::NotMember,
            StoreError::Blocked => DomainError::Blocked,
            StoreError::Banned => DomainError::Banned,
            StoreError::Muted(secs) => DomainError::Muted(secs),
            StoreError::ReadOnly => {
                DomainError::Forbidden("a channel's subscribers read; its owner and admins post")
            }
            StoreError::SlowMode(secs) => DomainError::RateLimited(secs),
            StoreError::IdempotencyConflict => DomainError::IdempotencyConflict,
            StoreError::CursorGone { head } => DomainError::ResyncRequired { head },
            StoreError::Invalid(what) => DomainError::Invalid(what.to_owned()),
            StoreError::Unavailable => DomainError::Unavailable("server is shutting down; retry"),
            StoreError::StorageFull => DomainError::StorageFull,
            other => DomainError::internal(other),
        }
    }
}

/// Result alias of the domain layer.
pub type Result<T, E = DomainError> = std::result::Result<T, E>;
