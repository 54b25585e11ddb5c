//! One device's view of its user's log: the delivery logic shared by the
//! WebSocket, SSE and long-poll transports.
//!
//! A feed registers with the hub *before* reading the store, so nothing
//! committed in between can be missed; then it serves the backlog from the
//! store page by page, says "synced", and switches to live items from the
//! hub. Live items at or below the cursor are duplicates and dropped; an item
//! beyond `cursor + 1` means something was missed (another node, a full
//! queue) and the feed reads the gap from the store. Every path that can be
//! interrupted leaves the cursor where the client last got something, so a
//! cancelled step is simply redone.

use crate::error::{ApiError, ApiResult};
use crate::hub::{Outbound, Registration};
use crate::state::AppState;
use natter_proto::{Cursor, DeviceId, UserId};
use std::sync::Arc;

/// What a transport should do next.
pub enum Step {
    /// Send these entries, in order.
    Deliver(Vec<(Cursor, Arc<str>)>),
    /// The backlog is done: what follows is live.
    Synced(Cursor),
    /// The session was revoked: close.
    Revoked,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Backlog,
    Live,
}

/// A device's position and its live queue.
pub struct Feed {
    state: AppState,
    user: UserId,
    cursor: Cursor,
    reg: Registration,
    mode: Mode,
    synced_once: bool,
    /// The first backlog page, read while opening.
    prefetched: Option<Vec<(Cursor, Arc<str>)>>,
    head: Cursor,
}

impl Feed {
    /// Registers the device and checks that `cursor` can be served.
    /// `resync_required` if it cannot.
    pub async fn open(
        state: &AppState,
        user: UserId,
        device: DeviceId,
        cursor: Cursor,
    ) -> ApiResult<Feed> {
        let reg = state.hub.register(user, device, state.config.gateway.queue);
        // Fails with CursorGone for a cursor past the head or below the
        // floor. The page read here is the first page of the backlog.
        let page = state
            .store
            .log_after(user, cursor, state.config.gateway.sync_page)
            .await?;
        let mut feed = Feed {
            state: state.clone(),
            user,
            cursor,
            reg,
            mode: Mode::Backlog,
            synced_once: false,
            prefetched: None,
            head: page.head,
        };
        feed.prefetched = Some(feed.serialize(page.entries)?);
        Ok(feed)
    }

    /// The newest log position the feed has read from the store.
    pub fn head(&self) -> Cursor {
        self.head
    }

    fn serialize(
        &self,
        entries: Vec<(Cursor, natter_proto::Event)>,
    ) -> ApiResult<Vec<(Cursor, Arc<str>)>> {
        let mut out = Vec::with_capacity(entries.len());
        for (cursor, event) in entries {
            let json = serde_json::to_string(&event).map_err(ApiError::internal)?;
            out.push((cursor, Arc::from(json)));
        }
        Ok(out)
    }

    /// Marks a page as handed out: the cursor moves to its last entry.
    fn hand_out(&mut self, page: Vec<(Cursor, Arc<str>)>) -> Vec<(Cursor, Arc<str>)> {
        if let Some((last, _)) = page.last() {
            self.cursor = *last;
        }
        page
    }

    /// The position of the last entry handed out.
    pub fn cursor(&self) -> Cursor {
        self.cursor
    }

    /// The next thing to do. Cancel-safe: if dropped before it returns,
    /// nothing the client has not received is marked delivered.
    pub async fn next(&mut self) -> ApiResult<Step> {
        loop {
            if self.reg.is_revoked() {
                return Ok(Step::Revoked);
            }
            if self.reg.take_lagged() {
                self.mode = Mode::Backlog;
            }
            match self.mode {
                Mode::Backlog => {
                    let page = match self.prefetched.take() {
                        Some(p) => self.hand_out(p),
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
                        return Err(ApiError::new(
                            natter_proto::ErrorCode::Unavailable,
                            "server is shutting down",
                        ));
                    };
                    let mut out = Vec::new();
                    let mut item = Some(first);
                    while let Some(it) = item.take() {
                        match it {
                            Outbound::Revoked => return Ok(Step::Revoked),
                            Outbound::Event { cursor, json } => {
                                if cursor <= self.cursor {
                                    // Already delivered (from the backlog).
                                } else if cursor == self.cursor.next() {
                                    self.cursor = cursor;
                                    out.push((cursor, json));
                                } else {
                                    // A gap: read it from the store. The
                                    // store read includes this item too.
                                    self.mode = Mode::Backlog;
                                    break;
                                }
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
    async fn read_page(&mut self, limit: u32) -> ApiResult<Vec<(Cursor, Arc<str>)>> {
        let page = self
            .state
            .store
            .log_after(self.user, self.cursor, limit)
            .await?;
        let mut out = Vec::with_capacity(page.entries.len());
        for (cursor, event) in page.entries {
            let json = serde_json::to_string(&event).map_err(ApiError::internal)?;
            out.push((cursor, Arc::from(json)));
        }
        if let Some((last, _)) = out.last() {
            self.cursor = *last;
        }
        Ok(out)
    }

    /// Waits for anything new on the live queue (for long-polling), without
    /// consuming it from the log's point of view.
    pub async fn wait_live(&mut self) -> bool {
        if self.reg.is_revoked() {
            return false;
        }
        match self.reg.rx.recv().await {
            Some(Outbound::Revoked) | None => false,
            Some(Outbound::Event { .. }) => true,
        }
    }

    /// Reads one page after the cursor without waiting (for long-polling).
    pub async fn page(&mut self, limit: u32) -> ApiResult<Vec<(Cursor, Arc<str>)>> {
        if let Some(mut p) = self.prefetched.take() {
            // Entries past the limit stay unread; the cursor does not pass them.
            p.truncate(limit as usize);
            if !p.is_empty() {
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
