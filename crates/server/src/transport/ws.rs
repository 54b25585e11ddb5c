//! The WebSocket gateway, the primary transport.
//!
//! One task per socket runs a select loop over: frames from the client,
//! sends in flight (bounded, so a client cannot queue unbounded work), the
//! device's feed, the heartbeat, and shutdown. The socket's buffers are kept
//! small so that idle connections are cheap.

use super::encode;
use super::error::ApiError;
use super::stream::{Entry, LogStream, Step};
use crate::auth::Claims;
use crate::domain::{self, presence::PresenceGuard};
use crate::error::DomainError;
use crate::state::AppState;
use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use futures_util::stream::FuturesUnordered;
use futures_util::{SinkExt, StreamExt};
use natter_proto::{ClientFrame, Cursor, ErrorCode, FrameError, PROTOCOL_VERSION, ServerFrame};
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

/// Bytes read from the socket at a time. Small, because each idle socket
/// holds one such buffer: 1 KiB keeps an idle socket under 10 KB of server
/// memory (docs/benchmarks.md), and a frame larger than this is still read
/// whole (the buffer grows for it and is split off as the message).
const READ_BUFFER: usize = 1024;
/// Frames written without a flush collect up to this many bytes and go out
/// in one system call: a run of deliveries, or the handshake's frames. Kept
/// small: the socket's write buffer keeps the capacity it once needed.
const WRITE_BATCH: usize = 4 * 1024;

/// WebSocket close codes used by the server.
mod close {
    pub const NORMAL: u16 = 1000;
    pub const GOING_AWAY: u16 = 1001;
    pub const INVALID_PAYLOAD: u16 = 1007;
    pub const POLICY: u16 = 1008;
    pub const TOO_BIG: u16 = 1009;
    pub const TRY_AGAIN: u16 = 1013;
}

/// `GET /v1/ws`: upgrades to a WebSocket. The first frame must be `hello`.
pub async fn upgrade(
    State(state): State<AppState>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let ws = match ws {
        Ok(ws) => ws,
        Err(r) => {
            return ApiError::bad_request(format!(
                "this endpoint speaks WebSocket only: {}",
                r.body_text()
            ))
            .into_response();
        }
    };
    let Ok(slot) = state.connection_slots.clone().try_acquire_owned() else {
        return ApiError::new(ErrorCode::Unavailable, "too many connections; retry later")
            .into_response();
    };
    let max = state.config.limits.max_frame_bytes;
    let guard = state.tasks.enter();
    ws.read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BATCH)
        .max_write_buffer_size(max.saturating_mul(4).max(WRITE_BATCH + max + 1))
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| async move {
            let _slot = slot;
            let _guard = guard;
            Conn::new(state, socket).run().await;
        })
}

/// A request being served; `Some` is the frame to answer with.
type InFlight = Pin<Box<dyn Future<Output = Option<ServerFrame>> + Send>>;

struct Conn {
    state: AppState,
    socket: WebSocket,
    write_timeout: Duration,
}

/// Why a connection ended; decides the close frame.
struct Closing {
    code: u16,
    reason: &'static str,
}

impl Conn {
    fn new(state: AppState, socket: WebSocket) -> Self {
        let write_timeout = Duration::from_secs(state.config.gateway.write_timeout_secs);
        Self {
            state,
            socket,
            write_timeout,
        }
    }

    async fn run(mut self) {
        let closing = self.serve().await;
        if let Some(c) = closing {
            let frame = CloseFrame {
                code: c.code,
                reason: Utf8Bytes::from_static(c.reason),
            };
            // A client that stopped reading gets its close frame only if
            // there is room for it now: waiting another write timeout would
            // hold the stuck socket twice as long as documented.
            let limit = if c.code == close::TRY_AGAIN && c.reason == TOO_SLOW {
                Duration::from_millis(100)
            } else {
                self.write_timeout
            };
            let _ =
                tokio::time::timeout(limit, self.socket.send(Message::Close(Some(frame)))).await;
        }
    }

    async fn write(&mut self, text: String) -> Result<(), Closing> {
        bounded(
            self.write_timeout,
            self.socket.send(Message::Text(text.into())),
        )
        .await
    }

    /// Queues a frame without flushing: it leaves with the next write that
    /// flushes (every other write does).
    async fn queue_frame(&mut self, frame: &ServerFrame) -> Result<(), Closing> {
        let Some(text) = encode::frame(frame) else {
            return Ok(());
        };
        bounded(
            self.write_timeout,
            self.socket.feed(Message::Text(text.into())),
        )
        .await
    }

    async fn write_frame(&mut self, frame: &ServerFrame) -> Result<(), Closing> {
        match encode::frame(frame) {
            Some(text) => self.write(text).await,
            None => Ok(()),
        }
    }

    async fn write_error(&mut self, e: &ApiError) -> Result<(), Closing> {
        self.write_frame(&ServerFrame::Error {
            error: e.body(),
            client_id: None,
            conv: None,
        })
        .await
    }

    /// Sends an error frame, then asks for a close with `code`.
    async fn refuse(&mut self, e: &ApiError, code: u16, reason: &'static str) -> Option<Closing> {
        self.write_error(e)
            .await
            .err()
            .or(Some(Closing { code, reason }))
    }

    /// The peer sent a close frame: the protocol layer queued the reply;
    /// flush it so the peer sees a clean close.
    async fn reply_close(&mut self) {
        let _ = tokio::time::timeout(self.write_timeout, self.socket.flush()).await;
    }

    /// Runs the connection; `Some` means a close frame should be sent.
    async fn serve(&mut self) -> Option<Closing> {
        // The handshake runs boxed: its state (store reads, the snapshot)
        // then lives on the heap only while it runs, and the long-lived
        // loop's future stays small, which is what an idle socket costs.
        let mut ready = None;
        if let Some(closing) = Box::pin(self.handshake(&mut ready)).await {
            return Some(closing);
        }
        let (claims, feed, present) = ready?;
        self.run_loop(claims, feed, present).await
    }

    /// Hello, authentication, the feed, `welcome` and the presence
    /// snapshot. On success fills `ready` and returns `None`.
    async fn handshake(
        &mut self,
        ready: &mut Option<(Claims, LogStream, PresenceGuard)>,
    ) -> Option<Closing> {
        let gw = self.state.config.gateway.clone();
        // 1. hello
        let deadline = tokio::time::Instant::now() + Duration::from_secs(gw.hello_timeout_secs);
        let (token, cursor) = loop {
            let first = tokio::time::timeout_at(deadline, self.socket.recv()).await;
            let msg = match first {
                Err(_) => {
                    let e =
                        ApiError::new(ErrorCode::HelloRequired, "send hello within the timeout");
                    return self.refuse(&e, close::POLICY, "no hello").await;
                }
                Ok(None) => return None,
                Ok(Some(Err(e))) => return self.read_failed(e).await,
                Ok(Some(Ok(msg))) => msg,
            };
            match parse(msg) {
                Parsed::Frame(ClientFrame::Hello { token, cursor }) => {
                    break (token, cursor.unwrap_or(Cursor::START));
                }
                // WebSocket pings may come first; they are answered by the
                // protocol layer.
                Parsed::Control => continue,
                Parsed::Frame(_) => {
                    let e =
                        ApiError::new(ErrorCode::HelloRequired, "the first frame must be hello");
                    return self.refuse(&e, close::POLICY, "hello required").await;
                }
                Parsed::Error(e) => return self.refuse(&e, close::POLICY, "hello required").await,
                Parsed::Close => {
                    self.reply_close().await;
                    return None;
                }
            }
        };
        // The token is checked here; its session, with everything else the
        // connection needs, in one store read.
        let opened = match self.state.tokens.verify(&token) {
            Ok(claims) => LogStream::open_connection(&self.state, &claims, cursor)
                .await
                .map(|(feed, opened)| (claims, feed, opened)),
            Err(e) => Err(e),
        };
        let (claims, feed, opened) = match opened {
            Ok(o) => o,
            Err(DomainError::ResyncRequired { head }) => {
                let frame = ServerFrame::Resync {
                    cursor: head,
                    reason: "cursor cannot be served".into(),
                };
                return self.write_frame(&frame).await.err().or(Some(Closing {
                    code: close::NORMAL,
                    reason: "resync",
                }));
            }
            Err(
                e @ (DomainError::Unavailable(_)
                | DomainError::Overloaded { .. }
                | DomainError::StorageFull
                | DomainError::Internal(_)),
            ) => {
                return self.write_error(&e.into()).await.err().or(Some(Closing {
                    code: close::TRY_AGAIN,
                    reason: "try again",
                }));
            }
            Err(e) => {
                return self.write_error(&e.into()).await.err().or(Some(Closing {
                    code: close::POLICY,
                    reason: "authentication failed",
                }));
            }
        };
        let head = feed.head();
        let welcome = ServerFrame::Welcome {
            version: PROTOCOL_VERSION,
            user: claims.user,
            device: claims.device,
            head,
            heartbeat_secs: gw.heartbeat_secs,
        };
        // Welcome and the presence snapshot go out together with the first
        // backlog page or `synced`, which follows at once.
        if let Err(c) = self.queue_frame(&welcome).await {
            return Some(c);
        }
        let present = domain::presence::connected_with(
            &self.state,
            opened.user.as_ref(),
            claims.user,
            &opened.peers,
        )
        .await;
        let list = domain::presence::snapshot_from(&self.state, &opened.peers);
        let frame = ServerFrame::PresenceSnapshot { users: list.users };
        if let Err(c) = self.queue_frame(&frame).await {
            return Some(c);
        }
        *ready = Some((claims, feed, present));
        None
    }

    /// The connection's life after the handshake.
    async fn run_loop(
        &mut self,
        claims: Claims,
        mut feed: LogStream,
        _present: PresenceGuard,
    ) -> Option<Closing> {
        let gw = self.state.config.gateway.clone();
        let mut last_reported = Instant::now();
        // Tell the presence tracker we heard from the client, but not for
        // every frame.
        let report_every = Duration::from_millis(self.state.config.presence.timeout_ms / 4)
            .min(Duration::from_secs(1));

        // 2. the loop
        let mut inflight: FuturesUnordered<InFlight> = FuturesUnordered::new();
        let heartbeat = Duration::from_secs(gw.heartbeat_secs);
        let mut ticker =
            tokio::time::interval_at(tokio::time::Instant::now() + heartbeat, heartbeat);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_heard = Instant::now();
        let mut shutdown = self.state.shutdown.clone();
        if *shutdown.borrow() {
            return Some(Closing {
                code: close::GOING_AWAY,
                reason: "server shutting down",
            });
        }
        loop {
            tokio::select! {
                _ = shutdown.changed() => {
                    return Some(Closing { code: close::GOING_AWAY, reason: "server shutting down" });
                }
                msg = self.socket.recv(), if inflight.len() < gw.max_inflight_sends => {
                    last_heard = Instant::now();
                    if last_heard.duration_since(last_reported) >= report_every {
                        last_reported = last_heard;
                        domain::presence::heard(&self.state, claims.user).await;
                    }
                    let msg = match msg {
                        None => {
                            finish(inflight).await;
                            return None;
                        }
                        Some(Ok(m)) => m,
                        Some(Err(e)) => {
                            finish(inflight).await;
                            return self.read_failed(e).await;
                        }
                    };
                    match parse(msg) {
                        Parsed::Close => {
                            finish(inflight).await;
                            self.reply_close().await;
                            return None;
                        }
                        Parsed::Control => {}
                        Parsed::Error(e) => {
                            if let Err(c) = self.write_error(&e).await { return Some(c); }
                        }
                        Parsed::Frame(ClientFrame::Ping) => {
                            if let Err(c) = self.write_frame(&ServerFrame::Pong).await { return Some(c); }
                        }
                        Parsed::Frame(ClientFrame::Hello { .. }) => {
                            let e = ApiError::bad_request("this socket is already authenticated");
                            if let Err(c) = self.write_error(&e).await { return Some(c); }
                        }
                        Parsed::Frame(ClientFrame::Send { conv, client_id, text, reply_to, thread, also_in_conversation, mentions, mention_all, attachments }) => {
                            let state = self.state.clone();
                            let req = natter_proto::SendMessage { reply_to, thread, also_in_conversation, mentions, mention_all, attachments, ..natter_proto::SendMessage::text(client_id.clone(), text) };
                            inflight.push(Box::pin(async move {
                                Some(match domain::messages::send(&state, &claims, conv, req).await {
                                    Ok(sent) => ServerFrame::Sent(sent),
                                    Err(e) => ServerFrame::Error { error: ApiError::from(e).body(), client_id: Some(client_id), conv: Some(conv) },
                                })
                            }));
                        }
                        Parsed::Frame(ClientFrame::Receipt { conv, kind, seq }) => {
                            // The new watermarks come back through the log.
                            let state = self.state.clone();
                            inflight.push(Box::pin(async move {
                                domain::receipts::receipt(&state, &claims, conv, kind, seq).await.err().map(|e| {
                                    ServerFrame::Error { error: ApiError::from(e).body(), client_id: None, conv: Some(conv) }
                                })
                            }));
                        }
                        Parsed::Frame(ClientFrame::Typing { conv, active }) => {
                            let state = self.state.clone();
                            inflight.push(Box::pin(async move {
                                domain::typing::set(&state, &claims, conv, active).await.err().map(|e| {
                                    ServerFrame::Error { error: ApiError::from(e).body(), client_id: None, conv: Some(conv) }
                                })
                            }));
                        }
                    }
                }
                Some(frame) = inflight.next(), if !inflight.is_empty() => {
                    if let Some(frame) = frame
                        && let Err(c) = self.write_frame(&frame).await
                    {
                        return Some(c);
                    }
                }
                step = feed.next() => {
                    match step {
                        Ok(Step::Deliver(items)) => {
                            if let Err(c) = self.deliver(items).await { return Some(c); }
                        }
                        Ok(Step::Signal(_, frame)) => {
                            if let Err(c) = self.write(frame.to_string()).await { return Some(c); }
                        }
                        Ok(Step::Synced(cursor)) => {
                            if let Err(c) = self.write_frame(&ServerFrame::Synced { cursor }).await { return Some(c); }
                        }
                        Ok(Step::Revoked) => {
                            let e = ApiError::from(DomainError::SessionRevoked);
                            return self.write_error(&e).await.err().or(Some(Closing { code: close::POLICY, reason: "session revoked" }));
                        }
                        Err(DomainError::ResyncRequired { head }) => {
                            let frame = ServerFrame::Resync { cursor: head, reason: "cursor cannot be served".into() };
                            return self.write_frame(&frame).await.err().or(Some(Closing { code: close::NORMAL, reason: "resync" }));
                        }
                        Err(e) => {
                            return self.write_error(&e.into()).await.err().or(Some(Closing { code: close::TRY_AGAIN, reason: "try again" }));
                        }
                    }
                }
                _ = ticker.tick() => {
                    if last_heard.elapsed() > heartbeat * 2 {
                        return Some(Closing { code: close::GOING_AWAY, reason: "heartbeat timeout" });
                    }
                    let ping = tokio::time::timeout(self.write_timeout, self.socket.send(Message::Ping(Default::default()))).await;
                    if !matches!(ping, Ok(Ok(()))) {
                        return None;
                    }
                }
            }
        }
    }

    /// Writes a run of events with one flush.
    async fn deliver(&mut self, items: Vec<Entry>) -> Result<(), Closing> {
        let timeout = self.write_timeout;
        let socket = &mut self.socket;
        let work = async move {
            for entry in &items {
                socket
                    .feed(Message::Text(encode::entry_frame(entry).into()))
                    .await?;
            }
            socket.flush().await
        };
        bounded(timeout, work).await
    }

    /// A read failed: tell the client why when the protocol allows it.
    async fn read_failed(&mut self, e: axum::Error) -> Option<Closing> {
        let inner = e.into_inner();
        let te = inner.downcast_ref::<tungstenite::Error>()?;
        let (err, code, reason) = match te {
            tungstenite::Error::Capacity(_) => (
                ApiError::new(ErrorCode::FrameTooLarge, "frame exceeds the size limit"),
                close::TOO_BIG,
                "frame too large",
            ),
            tungstenite::Error::Utf8(_) => (
                ApiError::new(ErrorCode::MalformedFrame, "text frame is not valid UTF-8"),
                close::INVALID_PAYLOAD,
                "invalid utf-8",
            ),
            tungstenite::Error::Protocol(_) => (
                ApiError::new(ErrorCode::MalformedFrame, "WebSocket protocol error"),
                close::POLICY,
                "protocol error",
            ),
            _ => return None,
        };
        self.write_error(&err)
            .await
            .err()
            .or(Some(Closing { code, reason }))
    }
}

/// Lets requests the client already sent (messages, receipts) reach the
/// store even though the socket is closing; their answers have nowhere to
/// go. Bounded, so a stuck store cannot hold the task forever.
async fn finish(mut inflight: FuturesUnordered<InFlight>) {
    let drain = async { while inflight.next().await.is_some() {} };
    let _ = tokio::time::timeout(Duration::from_secs(10), drain).await;
}

enum Parsed {
    Frame(ClientFrame),
    Error(ApiError),
    Control,
    Close,
}

/// Decodes one client message into a frame or a typed error.
fn parse(msg: Message) -> Parsed {
    let text = match &msg {
        Message::Text(t) => t.as_str(),
        Message::Binary(b) => match std::str::from_utf8(b) {
            Ok(s) => s,
            Err(_) => {
                return Parsed::Error(ApiError::new(
                    ErrorCode::MalformedFrame,
                    "frame is not valid UTF-8",
                ));
            }
        },
        Message::Ping(_) | Message::Pong(_) => return Parsed::Control,
        Message::Close(_) => return Parsed::Close,
    };
    match ClientFrame::decode(text) {
        Ok(f) => Parsed::Frame(f),
        Err(FrameError::Malformed) => Parsed::Error(ApiError::new(
            ErrorCode::MalformedFrame,
            "frame is not valid JSON",
        )),
        Err(FrameError::UnknownType) => {
            Parsed::Error(ApiError::new(ErrorCode::UnknownFrame, "unknown frame type"))
        }
        Err(FrameError::Invalid(why)) => {
            Parsed::Error(ApiError::bad_request(format!("invalid frame: {why}")))
        }
    }
}

/// The close reason for a client that stopped reading.
const TOO_SLOW: &str = "client too slow";

/// Bounds a socket write by `limit` and says how the connection ends when
/// it fails.
async fn bounded<E>(
    limit: Duration,
    write: impl Future<Output = Result<(), E>>,
) -> Result<(), Closing> {
    match tokio::time::timeout(limit, write).await {
        Ok(Ok(())) => Ok(()),
        // The peer is gone; no close frame can reach it.
        Ok(Err(_)) => Err(Closing {
            code: close::NORMAL,
            reason: "",
        }),
        Err(_) => Err(Closing {
            code: close::TRY_AGAIN,
            reason: TOO_SLOW,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_classified() {
        let code = |s: &str| match parse(Message::Text(s.to_owned().into())) {
            Parsed::Error(e) => Some(e.code),
            _ => None,
        };
        assert_eq!(code("{"), Some(ErrorCode::MalformedFrame));
        assert_eq!(code(r#"{"type":"dance"}"#), Some(ErrorCode::UnknownFrame));
        assert_eq!(
            code(r#"{"type":"send","text":"x"}"#),
            Some(ErrorCode::BadRequest)
        );
        assert_eq!(code(r#"{"type":"ping"}"#), None);
        assert!(matches!(
            parse(Message::Binary(vec![0xff, 0xfe].into())),
            Parsed::Error(e) if e.code == ErrorCode::MalformedFrame
        ));
    }
}
