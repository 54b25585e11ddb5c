//! One device's stream of its user's log: the delivery logic shared by the
//! WebSocket, SSE and long-poll transports.
//!
//! A stream registers with the hub *before* reading the store, so nothing
//! committed in between can be missed; then it serves the backlog from the
//! store page by page, says "synced", and switches to live items from the
//! hub. Live items come in commit order; those at or below the cursor are
//! duplicates (already read from the store) and dropped. When the hub had to
//! drop items for this connection (a full queue) it says so, and the stream
//! reads what it missed from the store. Every path that can be
//! interrupted leaves the cursor where the client last got something, so a
//! cancelled step is simply redone. Live-only signals (presence, typing) are
//! passed through as they come.

use crate::auth::Claims;
use crate::error::{DomainError, Result};
use crate::fanout::hub::{Outbound, Registration};
use crate::state::AppState;
use natter_bus::SignalKind;
use natter_proto::{Cursor, DeviceId, LogItem, UserId};
use natter_store::{ConnectionRequest, LogPage, PresencePeer, UserRecord};
use std::sync::Arc;

/// One log entry ready to send: position, `event` or `receipt`, and JSON.
pub type Entry = (Cursor, &'static str, Arc<str>);

/// What a transport should do next.
pub enum Step {
    /// Send these entries, in order.
    Deliver(Vec<Entry>),
    /// The backlog is done: what follows is live.
    Synced(Cursor),
    /// Send this live-only frame.
    Signal(SignalKind, Arc<str>),
    /// The session was revoked: close.
    Revoked,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Backlog,
    Live,
}

/// What opening a live connection read besides the log.
pub struct Opened {
    /// The user.
    pub user: Option<UserRecord>,
    /// The user's presence peers.
    pub peers: Vec<PresencePeer>,
}

/// A device's position and its live queue.
pub struct LogStream {
    state: AppState,
    user: UserId,
    cursor: Cursor,
    reg: Registration,
    mode: Mode,
    synced_once: bool,
    /// The first backlog page, read while opening.
    prefetched: Option<Page>,
    head: Cursor,
    /// The last page read held everything up to its head: no need to read
    /// again until something says the stream fell behind.
    caught_up: bool,
    /// A signal that came behind a batch of entries, sent next.
    pending_signal: Option<(SignalKind, Arc<str>)>,
}

/// Serialises a log item's body (the object inside `event` / `receipt`).
pub fn item_json(item: &LogItem) -> Result<(&'static str, Arc<str>)> {
    let json = match item {
        LogItem::Event(e) => serde_json::to_string(e),
        LogItem::Receipt(r) => serde_json::to_string(r),
        LogItem::Membership(m) => serde_json::to_string(m),
        LogItem::Settings(s) => serde_json::to_string(s),
        LogItem::Report(r) => serde_json::to_string(r),
        LogItem::Personal(p) => serde_json::to_string(p),
        _ => return Err(DomainError::internal("unknown log item")),
    }
    .map_err(DomainError::internal)?;
    Ok((item.kind(), Arc::from(json)))
}

impl LogStream {
    /// Registers the device and checks that `cursor` can be served.
    /// `ResyncRequired` if it cannot.
    pub async fn open(
        state: &AppState,
        user: UserId,
        device: DeviceId,
        cursor: Cursor,
    ) -> Result<LogStream> {
        let reg = state.hub.register(user, device, state.config.gateway.queue);
        // Fails with CursorGone for a cursor past the head or below the
        // floor. The page read here is the first page of the backlog.
        let limit = state.config.gateway.sync_page;
        let page = state.store.log_after(user, cursor, limit).await?;
        LogStream::with_page(state, user, reg, cursor, page, limit)
    }

    /// [`LogStream::open`] for a live connection that also needs its session
    /// checked, its user and its presence peers: one store read for all.
    /// `session_revoked` or `resync_required` when they say so.
    pub async fn open_connection(
        state: &AppState,
        claims: &Claims,
        cursor: Cursor,
    ) -> Result<(LogStream, Opened)> {
        let reg = state
            .hub
            .register(claims.user, claims.device, state.config.gateway.queue);
        let limit = state.config.gateway.sync_page;
        let view = state
            .store
            .connection_view(ConnectionRequest {
                user: claims.user,
                device: claims.device,
                cursor,
                limit,
                max_group: state.config.presence.max_group_members,
            })
            .await?;
        match &view.session {
            Some(s) if s.revoked_at.is_none() && s.user == claims.user => {}
            _ => return Err(DomainError::SessionRevoked),
        }
        let page = view
            .log
            .map_err(|head| DomainError::ResyncRequired { head })?;
        let stream = LogStream::with_page(state, claims.user, reg, cursor, page, limit)?;
        Ok((
            stream,
            Opened {
                user: view.user,
                peers: view.peers,
            },
        ))
    }

    fn with_page(
        state: &AppState,
        user: UserId,
        reg: Registration,
        cursor: Cursor,
        page: LogPage,
        limit: u32,
    ) -> Result<LogStream> {
        // The hub learns where this user's items will come from, as of the
        // same snapshot as the page.
        reg.learn(&page.conversations, page.head);
        Ok(LogStream {
            state: state.clone(),
            user,
            cursor,
            reg,
            mode: Mode::Backlog,
            synced_once: false,
            head: page.head,
            prefetched: Some(Page::read(page, limit)?),
            caught_up: false,
            pending_signal: None,
        })
    }

    /// The newest log position the stream has read from the store.
    pub fn head(&self) -> Cursor {
        self.head
    }

    /// Marks a page as handed out: the cursor moves to its last entry, or
    /// to the head the page was read at when it held everything up to there
    /// (nothing of this user's lies between, and later reads start higher).
    fn hand_out(&mut self, page: Page) -> Vec<Entry> {
        if let Some((last, _, _)) = page.entries.last() {
            self.cursor = *last;
        }
        if page.complete {
            self.cursor = self.cursor.max(page.head);
        }
        self.caught_up = page.complete;
        page.entries
    }

    /// Live items may have been lost: the next step reads the store. A
    /// page read before the loss cannot stand in for that read (it may
    /// end below what was dropped), so it is forgotten; the cursor has not
    /// moved past it, so nothing is skipped.
    fn fall_behind(&mut self) {
        self.mode = Mode::Backlog;
        self.caught_up = false;
        self.prefetched = None;
    }

    /// The position the client has everything up to.
    pub fn cursor(&self) -> Cursor {
        self.cursor
    }

    /// The next thing to do. Cancel-safe: if dropped before it returns,
    /// nothing the client has not received is marked delivered.
    pub async fn next(&mut self) -> Result<Step> {
        loop {
            if self.reg.is_revoked() {
                return Ok(Step::Revoked);
            }
            if self.reg.take_lagged() {
                self.fall_behind();
            }
            // A signal waits for the entries before it, the store's
            // included: a typing stop must not overtake the message that
            // ended the typing.
            if self.mode == Mode::Live
                && let Some((kind, frame)) = self.pending_signal.take()
            {
                return Ok(Step::Signal(kind, frame));
            }
            match self.mode {
                Mode::Backlog => {
                    let page = match self.prefetched.take() {
                        Some(p) => self.hand_out(p),
                        None if self.caught_up => Vec::new(),
                        None => self.read_page(self.state.config.gateway.sync_page).await?,
                    };
                    if !page.is_empty() {
                        return Ok(Step::Deliver(page));
                    }
                    self.mode = Mode::Live;
                    if !self.synced_once {
                        self.synced_once = true;
                        return Ok(Step::Synced(self.cursor));
                    }
                }
                Mode::Live => {
                    let Some(first) = self.reg.rx.recv().await else {
                        return Err(DomainError::Unavailable("server is shutting down"));
                    };
                    let mut out = Vec::new();
                    let mut item = Some(first);
                    while let Some(it) = item.take() {
                        match it {
                            Outbound::Revoked => return Ok(Step::Revoked),
                            Outbound::Signal(kind, frame) => {
                                if self.reg.take_lagged() {
                                    // Entries before it were dropped: the
                                    // store serves them first.
                                    self.fall_behind();
                                    self.pending_signal = Some((kind, frame));
                                    break;
                                }
                                if out.is_empty() {
                                    return Ok(Step::Signal(kind, frame));
                                }
                                // Keep the order: the entries first.
                                self.pending_signal = Some((kind, frame));
                                break;
                            }
                            Outbound::CatchUp => {
                                // Something may have been lost before it
                                // reached this node's hub: read the store.
                                self.fall_behind();
                                break;
                            }
                            Outbound::Item { cursor, item } => {
                                // The hub raises the flag before queueing
                                // anything that came after a dropped item,
                                // so an item seen with the flag up may follow
                                // a hole: read from the store instead.
                                if self.reg.take_lagged() {
                                    self.fall_behind();
                                    break;
                                }
                                if cursor > self.cursor {
                                    self.cursor = cursor;
                                    out.push((cursor, item.0, item.1.clone()));
                                }
                                // Else already delivered (from the backlog).
                            }
                        }
                        if out.len() >= 256 {
                            break;
                        }
                        item = self.reg.rx.try_recv().ok();
                    }
                    if !out.is_empty() {
                        return Ok(Step::Deliver(out));
                    }
                }
            }
        }
    }

    /// Reads and serialises the next page after the cursor, advancing it.
    async fn read_page(&mut self, limit: u32) -> Result<Vec<Entry>> {
        let page = self
            .state
            .store
            .log_after(self.user, self.cursor, limit)
            .await?;
        self.head = self.head.max(page.head);
        let page = Page::read(page, limit)?;
        Ok(self.hand_out(page))
    }

    /// Waits for anything new on the live queue (for long-polling). Returns
    /// the signals seen while waiting, or `None` when the session was
    /// revoked or the server is stopping.
    pub async fn wait_live(&mut self) -> Option<Vec<Arc<str>>> {
        if self.reg.is_revoked() {
            return None;
        }
        let mut signals = Vec::new();
        let mut next = self.reg.rx.recv().await;
        loop {
            match next {
                Some(Outbound::Revoked) | None => return None,
                Some(Outbound::Item { .. } | Outbound::CatchUp) => {}
                Some(Outbound::Signal(_, frame)) => signals.push(frame),
            }
            next = match self.reg.rx.try_recv() {
                Ok(item) => Some(item),
                Err(_) => return Some(signals),
            };
        }
    }

    /// Reads one page after the cursor without waiting (for long-polling).
    pub async fn page(&mut self, limit: u32) -> Result<Vec<Entry>> {
        if let Some(mut p) = self.prefetched.take() {
            // Entries past the limit stay unread; the cursor does not pass them.
            if p.entries.len() > limit as usize {
                p.entries.truncate(limit as usize);
                p.complete = false;
            }
            if !p.entries.is_empty() || p.complete {
                return Ok(self.hand_out(p));
            }
        }
        self.read_page(limit).await
    }

    /// True when the session was revoked.
    pub fn revoked(&self) -> bool {
        self.reg.is_revoked()
    }
}

/// A page read from the store, serialised.
struct Page {
    entries: Vec<Entry>,
    /// The head when it was read.
    head: Cursor,
    /// It holds every entry of the user's up to `head` (it was not cut at
    /// the limit).
    complete: bool,
}

impl Page {
    fn read(page: LogPage, limit: u32) -> Result<Page> {
        let complete = page.entries.len() < limit as usize;
        let entries = page
            .entries
            .into_iter()
            .map(|(cursor, item)| item_json(&item).map(|(kind, json)| (cursor, kind, json)))
            .collect::<Result<_>>()?;
        Ok(Page {
            entries,
            head: page.head,
            complete,
        })
    }
}
