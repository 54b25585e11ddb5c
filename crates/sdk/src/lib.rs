//! The natter Rust SDK: a typed client for a natter server, used by the CLI,
//! the end-to-end tests and the load generator.
//!
//! - [`Client`] wraps the HTTP API (`/v1/...`): one async method per
//!   endpoint, with the access token refreshed transparently.
//! - [`Live`] (from [`Client::connect`]) keeps a WebSocket open in a
//!   background task: it reconnects with backoff, resumes from the last
//!   cursor, never delivers an event twice, fills seq gaps over HTTP, and
//!   sends an outbox of messages with stable client ids so retries never
//!   duplicate. It also carries live signals: receipt entries of the log
//!   (deduplicated like events), presence and typing (live only), sends
//!   read/delivered receipts and typing as frames, and by default reports
//!   delivery of others' messages by itself.
//!
//! This crate depends on the wire contract (`natter-proto`, re-exported as
//! [`proto`]) and runtime crates only; it must never depend on the server or
//! its storage.

mod client;
mod error;
mod live;
mod media;

pub use client::Client;
pub use error::Error;
pub use live::{Backoff, ConnectOptions, Live, LiveEvent, OutboxEntry};
pub use media::{CHUNK, UploadOptions};
pub use natter_proto as proto;
