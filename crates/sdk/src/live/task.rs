//! The background task behind [`super::Live`].
//!
//! Over 600 lines on purpose: one state machine (connect, hello, resume,
//! outbox, gap fill, reconnect) whose steps share the connection's state;
//! the pieces that stand alone already live beside it (backoff, outbox,
//! receipts, tracker, state file).

use super::backoff::Backoff;
use super::state::{self, SavedState};
use super::tracker::{Tracker, Verdict};
use super::{ConnectOptions, LiveEvent, Shared};
use crate::client::Client;
use crate::error::{Error, chain, is_retryable_code};
use futures_util::{FutureExt, SinkExt, StreamExt};
use natter_proto::{
    ClientFrame, ClientId, ConversationId, Cursor, ErrorBody, ErrorCode, Event, EventBody,
    HistoryQuery, Receipt, ReceiptKind, Seq, ServerFrame, UserId,
};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, sleep_until, timeout, timeout_at};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opening the TCP connection and the WebSocket handshake.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// From `hello` to `welcome`.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// Waiting for the server's answer to our close frame.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);
/// How often the processed cursor is written to the state file (outbox and
/// receipt changes are written at once).
const SAVE_EVERY: Duration = Duration::from_secs(1);
/// Page size when fetching events to fill a gap.
const FILL_PAGE: u32 = 200;
/// Most frames handled as one batch (frames that were already readable
/// together) before the receipts they caused are sent; a bound so that a
/// server sending without pause cannot postpone them forever.
const BATCH: usize = 256;

/// Why the task stops.
#[derive(Debug)]
enum Stop {
    /// The application closed or dropped the [`super::Live`] handle.
    Shutdown,
    /// The device session is gone.
    Gone,
}

/// How one connection ended; the task goes on after it.
#[derive(Debug)]
enum Ended {
    /// Network trouble, a server restart, a missed heartbeat: reconnect with
    /// backoff.
    Dropped(String),
    /// `hello` was refused because this access token expired or is unknown:
    /// refresh, then reconnect.
    TokenRejected(String),
    /// The server asked us to resync from `cursor`.
    Resync { cursor: Cursor, reason: String },
}

pub(super) struct Task {
    client: Client,
    shared: Arc<Shared>,
    events: mpsc::Sender<LiveEvent>,
    shutdown: watch::Receiver<bool>,
    tracker: Tracker,
    backoff: Backoff,
    fill_gaps: bool,
    /// Whether to send delivered receipts for others' messages by itself.
    auto_delivered: bool,
    /// Who I am: my own messages need no delivered receipt, and my own
    /// receipt entries tell which receipts the server already has.
    me: Option<UserId>,
    state_file: Option<PathBuf>,
    /// What the state file holds now (cursor, outbox version, receipts
    /// version), to skip writes that change nothing.
    saved: (Option<Cursor>, u64, u64),
    /// Whether the current connection got as far as `welcome`.
    connected: bool,
}

impl Task {
    pub(super) fn new(
        client: Client,
        shared: Arc<Shared>,
        events: mpsc::Sender<LiveEvent>,
        shutdown: watch::Receiver<bool>,
        cursor: Cursor,
        options: &ConnectOptions,
        saved_cursor: Option<Cursor>,
    ) -> Task {
        let me = client.user_id();
        Task {
            me,
            auto_delivered: options.auto_delivered,
            client,
            shared,
            events,
            shutdown,
            tracker: Tracker::new(cursor),
            backoff: Backoff::new(options.backoff_min, options.backoff_max),
            fill_gaps: options.fill_gaps,
            state_file: options.state_file.clone(),
            saved: (saved_cursor, 0, 0),
            connected: false,
        }
    }

    pub(super) async fn run(mut self) {
        // A Disconnected was reported for the current outage.
        let mut announced = false;
        // A rejected token may be refreshed and retried at once, once per
        // successful connection; after that, refreshes wait for the backoff.
        let mut quick_refresh = true;
        let stop = loop {
            self.connected = false;
            let ended = self.connection().await;
            // Typing is not worth keeping across an outage.
            self.shared.connected.store(false, Ordering::Release);
            self.shared.typing().clear();
            let ended = match ended {
                Ok(ended) => ended,
                Err(stop) => break stop,
            };
            self.shared.outbox().disconnected();
            if self.connected {
                announced = false;
                quick_refresh = true;
            }
            tracing::debug!(?ended, "live connection ended");
            let delay = match ended {
                Ended::Dropped(reason) => {
                    if !announced {
                        announced = true;
                        if let Err(stop) = self.emit(LiveEvent::Disconnected { reason }).await {
                            break stop;
                        }
                    }
                    self.backoff.next_delay()
                }
                Ended::Resync { cursor, reason } => {
                    self.tracker.reset(cursor);
                    if let Err(stop) = self.emit(LiveEvent::Resync { cursor, reason }).await {
                        break stop;
                    }
                    self.backoff.next_delay()
                }
                Ended::TokenRejected(token) => {
                    let refreshed =
                        unless_shutdown(&mut self.shutdown, self.client.refresh_after(&token))
                            .await;
                    match refreshed {
                        Err(stop) => break stop,
                        Ok(Ok(())) if quick_refresh => {
                            quick_refresh = false;
                            Duration::ZERO
                        }
                        Ok(Ok(())) => self.backoff.next_delay(),
                        Ok(Err(Error::SessionGone | Error::NotLoggedIn)) => break Stop::Gone,
                        Ok(Err(e)) => {
                            if !announced {
                                announced = true;
                                let reason = format!("cannot refresh the access token: {e}");
                                if let Err(stop) =
                                    self.emit(LiveEvent::Disconnected { reason }).await
                                {
                                    break stop;
                                }
                            }
                            self.backoff.next_delay()
                        }
                    }
                }
            };
            if let Err(stop) = self.pause(delay).await {
                break stop;
            }
        };
        tracing::debug!(?stop, "live task stopping");
        if let Stop::Gone = stop {
            // Best effort: the application may already be gone.
            let _ = self.emit(LiveEvent::SessionGone).await;
        }
        self.save_if_dirty().await;
    }

    /// One connection, from dialing to its end.
    async fn connection(&mut self) -> Result<Ended, Stop> {
        let token = self.client.access_token().ok_or(Stop::Gone)?;
        let connecting = timeout(
            CONNECT_TIMEOUT,
            tokio_tungstenite::connect_async(self.client.ws_url()),
        );
        let mut ws = match unless_shutdown(&mut self.shutdown, connecting).await? {
            Err(_) => return Ok(Ended::Dropped("connecting timed out".into())),
            Ok(Err(e)) => return handshake_failed(e, token),
            Ok(Ok((ws, _response))) => ws,
        };

        let hello = ClientFrame::Hello {
            token: token.clone(),
            cursor: Some(self.tracker.cursor()),
        };
        if let Err(reason) = send_frame(&mut ws, &hello).await {
            return Ok(Ended::Dropped(reason));
        }
        let (head, heartbeat_secs) = match self.await_welcome(&mut ws, token).await? {
            Ok(welcome) => welcome,
            Err(ended) => return Ok(ended),
        };

        self.connected = true;
        self.backoff.reset();
        // Typing asked for before this point is stale (or raced with the
        // end of the last connection).
        self.shared.typing().clear();
        self.shared.connected.store(true, Ordering::Release);
        self.emit(LiveEvent::Connected { head }).await?;
        // Anything sent on an earlier connection and not acknowledged goes
        // out again, with the same client id; receipts kept while offline
        // go out after it.
        self.shared.outbox().disconnected();
        if let Err(reason) = self.flush_outbox(&mut ws).await {
            return Ok(Ended::Dropped(reason));
        }
        if let Err(reason) = self.flush_signals(&mut ws).await {
            return Ok(Ended::Dropped(reason));
        }

        let idle = Duration::from_secs(heartbeat_secs.max(1)) * 2;
        let mut deadline = Instant::now() + idle;
        let mut save_tick = tokio::time::interval(SAVE_EVERY);
        save_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let retry_at = self.shared.outbox().next_retry().map(Instant::from_std);
            tokio::select! {
                _ = wait_shutdown(&mut self.shutdown) => {
                    // Receipts asked for just before closing go out rather
                    // than wait for the next run (best effort: if this
                    // fails they stay pending, and in the state file).
                    let _ = timeout(CLOSE_TIMEOUT, self.flush_signals(&mut ws)).await;
                    close_gracefully(&mut ws).await;
                    return Err(Stop::Shutdown);
                }
                msg = ws.next() => {
                    deadline = Instant::now() + idle;
                    if let Some(ended) = self.on_message(msg).await? {
                        return Ok(ended);
                    }
                    // The frames already readable form one batch with this
                    // one: the delivered receipts they cause go out once,
                    // after all of them.
                    for _ in 1..BATCH {
                        let Some(msg) = ws.next().now_or_never() else {
                            break;
                        };
                        if let Some(ended) = self.on_message(msg).await? {
                            return Ok(ended);
                        }
                    }
                    if let Err(reason) = self.flush_signals(&mut ws).await {
                        return Ok(Ended::Dropped(reason));
                    }
                }
                _ = self.shared.wake.notified() => {
                    if let Err(reason) = self.flush_outbox(&mut ws).await {
                        return Ok(Ended::Dropped(reason));
                    }
                    if let Err(reason) = self.flush_signals(&mut ws).await {
                        return Ok(Ended::Dropped(reason));
                    }
                    self.save_if_dirty().await;
                }
                _ = sleep_until(retry_at.unwrap_or(deadline)), if retry_at.is_some() => {
                    if let Err(reason) = self.flush_outbox(&mut ws).await {
                        return Ok(Ended::Dropped(reason));
                    }
                }
                _ = sleep_until(deadline) => {
                    return Ok(Ended::Dropped(format!("nothing heard from the server for {idle:?}")));
                }
                _ = save_tick.tick() => self.save_if_dirty().await,
            }
        }
    }

    /// Waits for the answer to `hello`: `Ok(Ok((head, heartbeat_secs)))` on
    /// welcome, `Ok(Err(ended))` when this connection is over.
    async fn await_welcome(
        &mut self,
        ws: &mut Socket,
        token: String,
    ) -> Result<Result<(Cursor, u64), Ended>, Stop> {
        let deadline = Instant::now() + HELLO_TIMEOUT;
        loop {
            let msg = unless_shutdown(&mut self.shutdown, timeout_at(deadline, ws.next())).await?;
            let text = match msg {
                Err(_) => return Ok(Err(Ended::Dropped("no welcome from the server".into()))),
                Ok(None) => return Ok(Err(Ended::Dropped("closed before welcome".into()))),
                Ok(Some(Err(e))) => return Ok(Err(Ended::Dropped(chain(&e)))),
                Ok(Some(Ok(Message::Close(frame)))) => {
                    return Ok(Err(Ended::Dropped(close_reason(frame))));
                }
                Ok(Some(Ok(Message::Text(text)))) => text,
                Ok(Some(Ok(_))) => continue,
            };
            let ended = match decode(&text) {
                None => continue,
                Some(ServerFrame::Welcome {
                    head,
                    heartbeat_secs,
                    ..
                }) => return Ok(Ok((head, heartbeat_secs))),
                Some(ServerFrame::Error { error, .. }) => match error.code {
                    ErrorCode::TokenExpired | ErrorCode::TokenInvalid => {
                        Ended::TokenRejected(token)
                    }
                    ErrorCode::SessionRevoked | ErrorCode::RefreshReused => return Err(Stop::Gone),
                    code => Ended::Dropped(format!("hello refused: {code}: {}", error.message)),
                },
                Some(ServerFrame::Resync { cursor, reason }) => Ended::Resync { cursor, reason },
                Some(other) => Ended::Dropped(format!(
                    "unexpected frame before welcome: {}",
                    frame_name(&other)
                )),
            };
            return Ok(Err(ended));
        }
    }

    /// Handles one message read from an established connection; `Some`
    /// ends it.
    async fn on_message(
        &mut self,
        msg: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    ) -> Result<Option<Ended>, Stop> {
        match msg {
            None => Ok(Some(Ended::Dropped("connection closed".into()))),
            Some(Err(e)) => Ok(Some(Ended::Dropped(chain(&e)))),
            Some(Ok(Message::Text(text))) => match decode(&text) {
                Some(frame) => self.on_frame(frame).await,
                None => Ok(None),
            },
            Some(Ok(Message::Close(frame))) => Ok(Some(Ended::Dropped(close_reason(frame)))),
            // Pings are answered by tungstenite; they only prove the
            // server is alive.
            Some(Ok(_)) => Ok(None),
        }
    }

    /// Handles one frame of an established connection; `Some` ends it.
    async fn on_frame(&mut self, frame: ServerFrame) -> Result<Option<Ended>, Stop> {
        match frame {
            ServerFrame::Event { cursor, event } => self.on_event(cursor, event).await,
            ServerFrame::Receipt { cursor, receipt } => {
                self.on_receipt(cursor, receipt).await?;
                Ok(None)
            }
            ServerFrame::Report { cursor, report } => {
                if self.tracker.check_receipt(cursor) == Verdict::Replay {
                    return Ok(None);
                }
                self.tracker.advance(cursor);
                self.emit(LiveEvent::Report { cursor, report }).await?;
                Ok(None)
            }
            ServerFrame::Personal { cursor, personal } => {
                if self.tracker.check_receipt(cursor) == Verdict::Replay {
                    return Ok(None);
                }
                self.tracker.advance(cursor);
                self.emit(LiveEvent::Personal { cursor, personal }).await?;
                Ok(None)
            }
            ServerFrame::Settings { cursor, settings } => {
                if self.tracker.check_receipt(cursor) == Verdict::Replay {
                    return Ok(None);
                }
                self.tracker.advance(cursor);
                self.emit(LiveEvent::Settings { cursor, settings }).await?;
                Ok(None)
            }
            ServerFrame::Membership { cursor, membership } => {
                if self.tracker.check_receipt(cursor) == Verdict::Replay {
                    return Ok(None);
                }
                self.tracker.membership(cursor, &membership);
                self.emit(LiveEvent::Membership { cursor, membership })
                    .await?;
                Ok(None)
            }
            ServerFrame::PresenceSnapshot { users } => {
                self.emit(LiveEvent::PresenceSnapshot(users)).await?;
                Ok(None)
            }
            ServerFrame::Presence(presence) => {
                self.emit(LiveEvent::Presence(presence)).await?;
                Ok(None)
            }
            ServerFrame::Typing {
                conv,
                user,
                active,
                expires_in_ms,
            } => {
                self.emit(LiveEvent::Typing {
                    conv,
                    user,
                    active,
                    expires_in_ms,
                })
                .await?;
                Ok(None)
            }
            ServerFrame::Synced { cursor } => {
                self.tracker.advance(cursor);
                self.emit(LiveEvent::Synced { cursor }).await?;
                Ok(None)
            }
            ServerFrame::Sent(sent) => {
                self.shared
                    .outbox()
                    .remove(Some(sent.conv), &sent.client_id);
                self.emit(LiveEvent::Sent(sent)).await?;
                self.save_if_dirty().await;
                Ok(None)
            }
            ServerFrame::Error {
                error,
                client_id: Some(client_id),
                conv,
            } => self.on_send_error(error, client_id, conv).await,
            ServerFrame::Error { error, .. }
                if matches!(
                    error.code,
                    ErrorCode::SessionRevoked | ErrorCode::RefreshReused
                ) =>
            {
                Err(Stop::Gone)
            }
            // A receipt or typing frame was refused: the error names the
            // conversation but no client id.
            ServerFrame::Error {
                error,
                conv: Some(conv),
                ..
            } => {
                tracing::debug!(%conv, code = %error.code, "a receipt or typing frame was refused");
                self.emit(LiveEvent::RequestFailed { conv, error }).await?;
                Ok(None)
            }
            ServerFrame::Error { error, .. } => {
                tracing::warn!(code = %error.code, message = %error.message, "live connection error");
                Ok(None)
            }
            ServerFrame::Resync { cursor, reason } => Ok(Some(Ended::Resync { cursor, reason })),
            // Welcome (again), pong, and frame types added later.
            _ => Ok(None),
        }
    }

    async fn on_event(&mut self, cursor: Cursor, event: Event) -> Result<Option<Ended>, Stop> {
        match self.tracker.check(cursor, &event) {
            Verdict::Replay => return Ok(None),
            Verdict::Known => {
                self.tracker.advance(cursor);
                return Ok(None);
            }
            Verdict::Deliver => {}
            Verdict::Gap { after } => {
                if self.fill_gaps
                    && let Some(ended) = self.fill_gap(event.conv, after, event.seq).await?
                {
                    return Ok(Some(ended));
                }
            }
        }
        self.tracker.commit(cursor, &event);
        self.emit_event(Some(cursor), event).await?;
        Ok(None)
    }

    /// A receipt entry of the log: deduplicated by cursor like events, but
    /// with no seq to check for gaps.
    async fn on_receipt(&mut self, cursor: Cursor, receipt: Receipt) -> Result<(), Stop> {
        if self.tracker.check_receipt(cursor) == Verdict::Replay {
            return Ok(());
        }
        self.tracker.advance(cursor);
        if Some(receipt.user) == self.me {
            self.shared.receipts().observe(&receipt);
        }
        self.emit(LiveEvent::Receipt { cursor, receipt }).await
    }

    /// Hands an event to the application and, for a message from someone
    /// else, asks for a delivered receipt (sent after the current batch).
    async fn emit_event(&mut self, cursor: Option<Cursor>, event: Event) -> Result<(), Stop> {
        let delivered = (self.auto_delivered
            && matches!(event.body, EventBody::Message { .. })
            && Some(event.sender) != self.me)
            .then_some((event.conv, event.seq));
        self.emit(LiveEvent::Event { cursor, event }).await?;
        if let Some((conv, seq)) = delivered {
            self.shared
                .receipts()
                .request(conv, ReceiptKind::Delivered, seq);
        }
        Ok(())
    }

    /// Fetches and emits the events of `conv` with seq in `after+1..upto`.
    /// A retryable failure ends the connection, so the triggering event is
    /// replayed after the reconnect and the fill tried again; any other
    /// failure is logged and the gap left.
    async fn fill_gap(
        &mut self,
        conv: ConversationId,
        after: Seq,
        upto: Seq,
    ) -> Result<Option<Ended>, Stop> {
        tracing::debug!(%conv, after, upto, "filling a gap");
        let mut from = after;
        loop {
            let query = HistoryQuery {
                after: Some(from),
                limit: Some(FILL_PAGE),
                ..HistoryQuery::default()
            };
            let page =
                unless_shutdown(&mut self.shutdown, self.client.history(conv, &query)).await?;
            let page = match page {
                Ok(page) => page,
                Err(Error::SessionGone) => return Err(Stop::Gone),
                Err(e) if e.is_retryable() => {
                    return Ok(Some(Ended::Dropped(format!("cannot fill a gap: {e}"))));
                }
                Err(e) => {
                    tracing::warn!(%conv, error = %e, "cannot fill a gap; leaving it");
                    return Ok(None);
                }
            };
            let last = page.events.last().map(|e| e.seq);
            for event in page.events {
                if event.seq >= upto {
                    return Ok(None);
                }
                if event.seq > from && self.tracker.commit_fill(&event) {
                    self.emit_event(None, event).await?;
                }
            }
            match last {
                Some(last) if page.more && last > from => from = last,
                _ => return Ok(None),
            }
        }
    }

    async fn on_send_error(
        &mut self,
        error: ErrorBody,
        client_id: ClientId,
        conv: Option<ConversationId>,
    ) -> Result<Option<Ended>, Stop> {
        if is_retryable_code(error.code) {
            let delay = error.retry_after.map(Duration::from_secs);
            let now = std::time::Instant::now();
            if self.shared.outbox().retry_later(&client_id, delay, now) {
                tracing::debug!(%client_id, code = %error.code, "send will be retried");
                return Ok(None);
            }
        }
        if matches!(
            error.code,
            ErrorCode::SessionRevoked | ErrorCode::RefreshReused
        ) {
            return Err(Stop::Gone);
        }
        let entry = self.shared.outbox().remove(conv, &client_id);
        match conv.or(entry.map(|e| e.conv)) {
            Some(conv) => {
                self.emit(LiveEvent::SendFailed {
                    conv,
                    client_id,
                    error,
                })
                .await?
            }
            None => {
                tracing::warn!(%client_id, code = %error.code, "send failed for an unknown message")
            }
        }
        self.save_if_dirty().await;
        Ok(None)
    }

    /// Sends the outbox entries that are due.
    async fn flush_outbox(&mut self, ws: &mut Socket) -> Result<(), String> {
        let ready = self.shared.outbox().take_ready(std::time::Instant::now());
        for entry in ready {
            let frame = ClientFrame::Send {
                conv: entry.conv,
                client_id: entry.client_id,
                text: entry.text,
                reply_to: None,
                thread: None,
                also_in_conversation: false,
                mentions: Vec::new(),
                mention_all: None,
                attachments: Vec::new(),
            };
            send_frame(ws, &frame).await?;
        }
        Ok(())
    }

    /// Sends pending typing changes and receipts. Receipts that could not
    /// be written are kept for the next connection.
    async fn flush_signals(&mut self, ws: &mut Socket) -> Result<(), String> {
        let typing: Vec<(ConversationId, bool)> = self.shared.typing().drain().collect();
        for (conv, active) in typing {
            send_frame(ws, &ClientFrame::Typing { conv, active }).await?;
        }
        let receipts = self.shared.receipts().take();
        for (i, r) in receipts.iter().enumerate() {
            let frame = ClientFrame::Receipt {
                conv: r.conv,
                kind: r.kind,
                seq: r.seq,
            };
            if let Err(reason) = send_frame(ws, &frame).await {
                self.shared
                    .receipts()
                    .restore(receipts[i..].iter().copied());
                return Err(reason);
            }
        }
        Ok(())
    }

    /// Hands an event to the application, waiting while its queue is full.
    async fn emit(&mut self, event: LiveEvent) -> Result<(), Stop> {
        tokio::select! {
            sent = self.events.send(event) => sent.map_err(|_| Stop::Shutdown),
            _ = wait_shutdown(&mut self.shutdown) => Err(Stop::Shutdown),
        }
    }

    /// Waits `delay` before reconnecting, saving outbox changes meanwhile.
    async fn pause(&mut self, delay: Duration) -> Result<(), Stop> {
        let until = Instant::now() + delay;
        loop {
            tokio::select! {
                _ = sleep_until(until) => return Ok(()),
                _ = wait_shutdown(&mut self.shutdown) => return Err(Stop::Shutdown),
                _ = self.shared.wake.notified() => self.save_if_dirty().await,
            }
        }
    }

    /// Writes the state file if the processed cursor, the outbox or the
    /// pending receipts changed since the last write. Failures are logged,
    /// not fatal: the connection is worth more than the file.
    async fn save_if_dirty(&mut self) {
        let Some(path) = &self.state_file else {
            return;
        };
        let cursor = Some(self.shared.delivered());
        let (outbox_version, outbox) = {
            let outbox = self.shared.outbox();
            (outbox.version(), outbox.entries())
        };
        let (receipts_version, receipts) = {
            let receipts = self.shared.receipts();
            (receipts.version(), receipts.entries())
        };
        let now = (cursor, outbox_version, receipts_version);
        if now == self.saved {
            return;
        }
        let state = SavedState {
            cursor,
            outbox,
            receipts,
        };
        match state::save(path, &state).await {
            Ok(()) => self.saved = now,
            Err(e) => tracing::warn!(error = %e, "cannot save the live state"),
        }
    }
}

/// Runs `fut` unless the task is told to stop first.
async fn unless_shutdown<T>(
    shutdown: &mut watch::Receiver<bool>,
    fut: impl Future<Output = T>,
) -> Result<T, Stop> {
    tokio::select! {
        out = fut => Ok(out),
        _ = wait_shutdown(shutdown) => Err(Stop::Shutdown),
    }
}

/// Resolves when shutdown is requested or the [`super::Live`] handle is
/// gone.
async fn wait_shutdown(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// A failed WebSocket handshake. The server refuses with an HTTP error
/// before `hello` only when it cannot take us at all (overload, shutdown),
/// but an auth error there is handled like one after `hello`.
fn handshake_failed(
    e: tokio_tungstenite::tungstenite::Error,
    token: String,
) -> Result<Ended, Stop> {
    if let tokio_tungstenite::tungstenite::Error::Http(resp) = &e {
        let body = resp.body().as_deref().unwrap_or_default();
        let err = Error::from_http(resp.status().as_u16(), body);
        return match err.code() {
            Some(ErrorCode::TokenExpired | ErrorCode::TokenInvalid) => {
                Ok(Ended::TokenRejected(token))
            }
            Some(ErrorCode::SessionRevoked | ErrorCode::RefreshReused) => Err(Stop::Gone),
            _ => Ok(Ended::Dropped(format!("handshake refused: {err}"))),
        };
    }
    Ok(Ended::Dropped(chain(&e)))
}

async fn send_frame(ws: &mut Socket, frame: &ClientFrame) -> Result<(), String> {
    let text = serde_json::to_string(frame).map_err(|e| format!("cannot encode a frame: {e}"))?;
    ws.send(Message::text(text)).await.map_err(|e| chain(&e))
}

/// Decodes a server frame. Frames that do not decode (types added by a newer
/// server, say) are skipped, as the protocol asks.
fn decode(text: &str) -> Option<ServerFrame> {
    match serde_json::from_str(text) {
        Ok(frame) => Some(frame),
        Err(e) => {
            tracing::debug!(error = %e, "skipping a frame that does not decode");
            None
        }
    }
}

/// Sends a close frame and waits briefly for the server's.
async fn close_gracefully(ws: &mut Socket) {
    if ws.close(None).await.is_err() {
        return;
    }
    let _ = timeout(CLOSE_TIMEOUT, async {
        while let Some(Ok(msg)) = ws.next().await {
            if msg.is_close() {
                break;
            }
        }
    })
    .await;
}

fn close_reason(frame: Option<CloseFrame>) -> String {
    match frame {
        Some(f) if !f.reason.is_empty() => {
            format!("closed by the server: {} ({})", f.reason, f.code)
        }
        Some(f) => format!("closed by the server ({})", f.code),
        None => "closed by the server".into(),
    }
}

/// The wire name of a frame, for messages.
fn frame_name(frame: &ServerFrame) -> String {
    serde_json::to_value(frame)
        .ok()
        .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}
