//! The natter wire contract, shared by the server and every client.
//!
//! This crate holds typed ids, the frames exchanged over WebSocket, Server-Sent
//! Events and long-polling, the events that make up a conversation, the HTTP
//! request and response bodies, and the stable error codes. It has no runtime
//! and must not depend on any I/O crate: clients (the SDK, the CLI, the load
//! generator) depend on it alone.
//!
//! `docs/protocol.md` is the prose companion of this crate.

#![forbid(unsafe_code)]

mod cursor;
mod error;
mod event;
mod frame;
mod http;
mod ids;
mod media;
mod rich;
mod role;
mod signals;

pub use cursor::{Cursor, CursorParseError};
pub use error::{ErrorBody, ErrorCode, ErrorResponse};
pub use event::{ConversationKind, Event, EventBody, MAX_EVENT_USERS, Seq};
pub use frame::{
    ClientFrame, Delivery, FrameError, LogItem, MembershipChange, MembershipChangeKind, Sent,
    ServerFrame,
};
pub use http::*;
pub use ids::{ClientId, ConversationId, DeviceId, MessageId, UploadId, UserId};
pub use media::*;
pub use rich::*;
pub use role::Role;
pub use signals::*;

/// The protocol revision this crate speaks; the server states it in `welcome`.
pub const PROTOCOL_VERSION: u32 = 1;
