//! The live connection: one WebSocket kept open by a background task, with
//! resume, dedup, gap filling and an outbox.
//!
//! The task owns the socket; the application talks to it through [`Live`]:
//! events come out of a bounded channel ([`Live::recv`]), messages go into
//! the outbox ([`Live::send`]). A full channel makes the task wait (and stop
//! reading the socket) rather than drop anything, so the application must
//! keep reading events; if it falls far behind, the server tells it to
//! resync.

mod backoff;
mod outbox;
mod state;
mod task;
mod tracker;

pub use backoff::Backoff;
pub use outbox::OutboxEntry;

use crate::client::Client;
use crate::error::Error;
use natter_proto::{ClientId, ConversationId, Cursor, ErrorBody, Event, Sent};
use outbox::Outbox;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;

/// How to run the live connection. Build it with [`ConnectOptions::new`] and
/// the `with_*` methods.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ConnectOptions {
    /// Where to start: events after this cursor are delivered. Overrides the
    /// cursor saved in the state file. With neither, delivery starts at the
    /// beginning of the log.
    pub cursor: Option<Cursor>,
    /// A JSON file holding the processed cursor and the outbox, loaded at
    /// start and saved as they change, so a process can stop and resume.
    pub state_file: Option<PathBuf>,
    /// Capacity of the event channel.
    pub queue: usize,
    /// First reconnect delay.
    pub backoff_min: Duration,
    /// Longest reconnect delay.
    pub backoff_max: Duration,
    /// Whether to fetch events missing from a conversation (a seq gap) over
    /// HTTP.
    pub fill_gaps: bool,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            cursor: None,
            state_file: None,
            queue: 1024,
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(10),
            fill_gaps: true,
        }
    }
}

impl ConnectOptions {
    /// The defaults: from the start of the log, no state file, a queue of
    /// 1024 events, reconnect backoff from 100 ms doubling to 10 s, gap
    /// filling on.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts after `cursor`.
    pub fn with_cursor(mut self, cursor: Cursor) -> Self {
        self.cursor = Some(cursor);
        self
    }

    /// Loads and saves state in `path`.
    pub fn with_state_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.state_file = Some(path.into());
        self
    }

    /// Sets the event channel's capacity (at least 1).
    pub fn with_queue(mut self, capacity: usize) -> Self {
        self.queue = capacity.max(1);
        self
    }

    /// Sets the reconnect backoff.
    pub fn with_backoff(mut self, min: Duration, max: Duration) -> Self {
        self.backoff_min = min;
        self.backoff_max = max;
        self
    }

    /// Turns gap filling on or off.
    pub fn with_fill_gaps(mut self, on: bool) -> Self {
        self.fill_gaps = on;
        self
    }
}

/// What the live connection reports, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LiveEvent {
    /// The socket is open and authenticated; the backlog follows.
    Connected {
        /// The newest position in the log when the server accepted us.
        head: Cursor,
    },
    /// An event, never one already delivered. `cursor` is its log position;
    /// it is `None` for an event fetched over HTTP to fill a gap in its
    /// conversation's seqs, which is delivered just before the event that
    /// revealed the gap. Process events in the order received.
    Event {
        /// Position in the log; `None` for a gap fill.
        cursor: Option<Cursor>,
        /// The event.
        event: Event,
    },
    /// The backlog has been delivered up to `cursor`; live events follow.
    Synced {
        /// The cursor after the backlog.
        cursor: Cursor,
    },
    /// An outbox message was committed (and left the outbox).
    Sent(Sent),
    /// An outbox message was refused for good (not retryable: empty, too
    /// long, not a member, idempotency conflict, …) and left the outbox.
    /// Retryable failures are retried silently with the same client id.
    SendFailed {
        /// The conversation.
        conv: ConversationId,
        /// The message's client id.
        client_id: ClientId,
        /// Why.
        error: ErrorBody,
    },
    /// Local state is stale: reload conversations over HTTP. The log between
    /// the last event delivered and `cursor` is skipped; the task reconnects
    /// from `cursor` by itself.
    Resync {
        /// Where delivery continues.
        cursor: Cursor,
        /// The server's reason.
        reason: String,
    },
    /// The connection is down (or could not be made); the task keeps trying
    /// with backoff. Reported once per outage.
    Disconnected {
        /// What happened.
        reason: String,
    },
    /// The device session is gone (revoked, logged out, refresh token
    /// reused). The task has stopped; log in again.
    SessionGone,
}

/// State shared between the [`Live`] handle and its task.
#[derive(Debug)]
struct Shared {
    /// Messages waiting for acknowledgement. A plain mutex: it is never held
    /// across an `.await`.
    outbox: Mutex<Outbox>,
    /// Wakes the task when the application adds to the outbox.
    outbox_changed: Notify,
    /// The last cursor the application has received: what the state file
    /// saves, so a restart resumes after what was really processed.
    delivered: AtomicU64,
}

impl Shared {
    fn outbox(&self) -> MutexGuard<'_, Outbox> {
        // A panic while holding the lock leaves a consistent Vec behind, so
        // poisoning is ignored.
        self.outbox.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn delivered(&self) -> Cursor {
        Cursor(self.delivered.load(Ordering::Acquire))
    }
}

/// A running live connection. Read events with [`Live::recv`] (or
/// [`Live::next_event`]); send with [`Live::send`]; stop with
/// [`Live::close`]. Dropping it stops the task too, without waiting.
#[derive(Debug)]
pub struct Live {
    shared: Arc<Shared>,
    events: mpsc::Receiver<LiveEvent>,
    /// Set to true to stop the task; dropping it stops the task as well.
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Live {
    pub(crate) async fn start(client: Client, options: ConnectOptions) -> Result<Live, Error> {
        let saved = match &options.state_file {
            Some(path) => state::load(path).await?,
            None => state::SavedState::default(),
        };
        let cursor = options.cursor.or(saved.cursor).unwrap_or(Cursor::START);
        let shared = Arc::new(Shared {
            outbox: Mutex::new(Outbox::from_entries(saved.outbox)),
            outbox_changed: Notify::new(),
            delivered: AtomicU64::new(cursor.0),
        });
        let (events_tx, events) = mpsc::channel(options.queue.max(1));
        let (shutdown, shutdown_rx) = watch::channel(false);
        let task = task::Task::new(
            client,
            shared.clone(),
            events_tx,
            shutdown_rx,
            cursor,
            &options,
            saved.cursor,
        );
        let task = tokio::spawn(task.run());
        Ok(Live {
            shared,
            events,
            shutdown,
            task,
        })
    }

    /// Queues a text message for `conv` under a fresh client id, and returns
    /// the id. It is sent when connected, and resent with the same id after
    /// reconnects until acknowledged ([`LiveEvent::Sent`]) or refused
    /// ([`LiveEvent::SendFailed`]).
    pub fn send(&self, conv: ConversationId, text: impl Into<String>) -> ClientId {
        let client_id = ClientId::random();
        self.send_with_id(conv, client_id.clone(), text);
        client_id
    }

    /// Queues a message under a client id of the caller's choosing (replacing
    /// a queued entry with the same id in the same conversation).
    pub fn send_with_id(&self, conv: ConversationId, client_id: ClientId, text: impl Into<String>) {
        self.shared.outbox().push(OutboxEntry {
            conv,
            client_id,
            text: text.into(),
        });
        self.shared.outbox_changed.notify_one();
    }

    /// The messages not yet acknowledged, oldest first.
    pub fn pending(&self) -> Vec<OutboxEntry> {
        self.shared.outbox().entries()
    }

    /// The last cursor handed to the application by [`Live::recv`]: persist
    /// it to resume later (the state file does this by itself).
    pub fn cursor(&self) -> Cursor {
        self.shared.delivered()
    }

    /// The next event; `None` once the task has stopped (after
    /// [`LiveEvent::SessionGone`], or when closed) and every event was read.
    pub async fn recv(&mut self) -> Option<LiveEvent> {
        let event = self.events.recv().await?;
        self.note(&event);
        Some(event)
    }

    /// The next event if one arrives within `timeout`.
    pub async fn next_event(&mut self, timeout: Duration) -> Option<LiveEvent> {
        tokio::time::timeout(timeout, self.recv())
            .await
            .ok()
            .flatten()
    }

    /// An event if one is ready now.
    pub fn try_recv(&mut self) -> Option<LiveEvent> {
        let event = self.events.try_recv().ok()?;
        self.note(&event);
        Some(event)
    }

    /// True once the task has stopped.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Stops the task: closes the socket with a close frame, saves the state
    /// file, and waits for all of it. Events not yet read are discarded.
    pub async fn close(self) {
        self.shutdown.send_replace(true);
        if let Err(e) = self.task.await {
            tracing::warn!(error = %e, "live task failed");
        }
    }

    fn note(&self, event: &LiveEvent) {
        match event {
            LiveEvent::Event {
                cursor: Some(c), ..
            }
            | LiveEvent::Synced { cursor: c } => {
                self.shared.delivered.fetch_max(c.0, Ordering::AcqRel);
            }
            LiveEvent::Resync { cursor, .. } => {
                self.shared.delivered.store(cursor.0, Ordering::Release);
            }
            _ => {}
        }
    }
}
