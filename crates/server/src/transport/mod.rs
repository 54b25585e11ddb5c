//! The transport edge: HTTP (JSON API), WebSocket, Server-Sent Events and
//! long-polling, and the web client's files. Transports decode requests,
//! call the domain layer, and encode answers with [`encode`], the one
//! encoder of server frames; domain errors become wire errors here
//! ([`error`]) and nowhere else.

pub mod accept;
pub mod encode;
pub mod error;
pub mod extract;
pub mod http;
pub mod longpoll;
pub mod sse;
pub mod stream;
pub mod uploads;
pub mod web;
pub mod ws;

pub use http::router;
