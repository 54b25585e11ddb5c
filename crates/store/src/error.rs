use thiserror::Error;

/// Why a store operation failed. The server maps each kind to a wire error
/// code; driver messages stay in `Internal` and are logged, never sent.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The referenced record does not exist.
    #[error("not found")]
    NotFound,
    /// A unique key is taken (for example a username).
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// The user is not a member of the conversation.
    #[error("not a member of the conversation")]
    NotMember,
    /// One of the users involved has blocked the other (a direct message,
    /// or adding someone to a group).
    #[error("blocked")]
    Blocked,
    /// A user to add is banned from the group.
    #[error("banned from the group")]
    Banned,
    /// The sender is muted in the group for this many more seconds.
    #[error("muted for {0} s")]
    Muted(u64),
    /// The sender is a channel's subscriber: subscribers read, they do
    /// not post.
    #[error("subscribers do not post")]
    ReadOnly,
    /// Slow mode: the sender may post again in this many seconds.
    #[error("slow mode: wait {0} s")]
    SlowMode(u64),
    /// The owner's uploads would pass their storage quota.
    #[error("storage quota exceeded")]
    Quota,
    /// A client id was reused with different content.
    #[error("client id reused with different content")]
    IdempotencyConflict,
    /// The cursor is outside what the log can serve.
    #[error("cursor cannot be served; head is {head}")]
    CursorGone {
        /// The newest position, to resume from after a reload.
        head: natter_proto::Cursor,
    },
    /// A value is out of range (the text says which, safe to show).
    #[error("invalid: {0}")]
    Invalid(&'static str),
    /// The store is closed or overloaded.
    #[error("store unavailable")]
    Unavailable,
    /// The database's storage is full (the disk, or a configured size
    /// limit); the write was not made. Clears by itself once there is room.
    #[error("storage is full")]
    StorageFull,
    /// A database failure. The text is for logs only.
    #[error("database error: {0}")]
    Internal(String),
}
