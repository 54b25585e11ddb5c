//! The domain layer: every rule about accounts, conversations, messages,
//! receipts, presence and typing, called by all transports so HTTP,
//! WebSocket, SSE and long-polling behave the same. Functions here take the
//! shared state and typed inputs and return [`DomainError`] causes; the
//! transports turn those into wire errors at their edge.
//!
//! One module per area; permission checks go through [`policy`].

pub mod accounts;
pub mod admin;
pub mod blocks;
pub mod conversations;
pub mod invites;
pub mod media;
pub mod membership;
pub mod messages;
pub mod pictures;
pub mod policy;
pub mod presence;
pub mod receipts;
pub mod reports;
pub mod rich;
pub mod search;
pub mod text;
pub mod typing;

pub use crate::error::DomainError;

use crate::state::AppState;
use natter_proto::ServerLimits;

/// Largest history page.
pub const MAX_HISTORY_PAGE: u32 = 200;

/// Largest long-poll page.
pub const MAX_SYNC_PAGE: u32 = 500;

/// What the server accepts, for `GET /v1/limits`.
pub fn limits(state: &AppState) -> ServerLimits {
    let l = &state.config.limits;
    ServerLimits {
        max_message_bytes: l.max_message_bytes as u64,
        max_frame_bytes: l.max_frame_bytes as u64,
        max_group_members: l.max_group_members as u64,
        username_chars: [
            crate::auth::USERNAME_CHARS.0 as u32,
            crate::auth::USERNAME_CHARS.1 as u32,
        ],
        password_chars: [
            crate::auth::PASSWORD_CHARS.0 as u32,
            crate::auth::PASSWORD_CHARS.1 as u32,
        ],
        max_history_page: MAX_HISTORY_PAGE,
        max_sync_page: MAX_SYNC_PAGE,
        edit_window_secs: l.edit_window_secs,
        delete_window_secs: l.delete_window_secs,
    }
}
