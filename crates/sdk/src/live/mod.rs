//! The live connection: one WebSocket kept open by a background task, with
//! resume, dedup, gap filling, an outbox, and live signals (receipts,
//! presence, typing).
//!
//! The task owns the socket; the application talks to it through [`Live`]:
//! events come out of a bounded channel ([`Live::recv`]), messages go into
//! the outbox ([`Live::send`]), receipts and typing into small coalescing
//! tables ([`Live::mark_read`], [`Live::typing`]). A full channel makes the task wait (and stop
//! reading the socket) rather than drop anything, so the application must
//! keep reading events; if it falls far behind, the server tells it to
//! resync.

mod backoff;
mod outbox;
mod receipts;
mod state;
mod task;
mod tracker;

pub use backoff::Backoff;
pub use outbox::OutboxEntry;

use crate::client::Client;
use crate::error::Error;
use natter_proto::{
    ClientId, ConversationId, Cursor, ErrorBody, Event, MembershipChange, Presence, Receipt,
    ReceiptKind, Sent, Seq, UserId,
};
use outbox::Outbox;
use receipts::Receipts;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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
    /// A JSON file holding the processed cursor, the outbox and the receipts
    /// not yet sent, loaded at start and saved as they change, so a process
    /// can stop and resume.
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
    /// Whether to send `delivered` receipts by itself for messages from
    /// other people as they are handed to the application.
    pub auto_delivered: bool,
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
            auto_delivered: true,
        }
    }
}

impl ConnectOptions {
    /// The defaults: from the start of the log, no state file, a queue of
    /// 1024 events, reconnect backoff from 100 ms doubling to 10 s, gap
    /// filling on, automatic delivered receipts on.
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

    /// Turns automatic delivered receipts on (the default) or off. When on,
    /// each time the task hands the application message events from other
    /// people it sends one `delivered` receipt per conversation, up to the
    /// highest seq handed out, once per batch of frames read from the socket
    /// (so a backlog of a thousand messages costs one receipt per
    /// conversation, not a thousand). Turn it off for a client that wants to
    /// report delivery itself, or not at all.
    pub fn with_auto_delivered(mut self, on: bool) -> Self {
        self.auto_delivered = on;
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
    /// Someone's receipt watermarks moved in one of my conversations: an
    /// entry of the log, delivered once and in order like events. Mine (from
    /// any of my devices, this one included) arrive as well, which is how
    /// reading on one device clears unread on the others; others' arrive
    /// for conversations where I sent some of the messages covered, with
    /// `read` 0 when either of us does not share read receipts.
    Receipt {
        /// Position in the log.
        cursor: Cursor,
        /// The watermarks after the change.
        receipt: Receipt,
    },
    /// A message was reported in a conversation I moderate (or, as a server
    /// admin, anywhere): an entry of the log, delivered once and in order.
    Report {
        /// Position in the log.
        cursor: Cursor,
        /// The report.
        report: natter_proto::ReportInfo,
    },
    /// Something for my devices alone (a message I hid, my reaction in a
    /// channel, a thread I read): an entry of the log, delivered once and
    /// in order.
    Personal {
        /// Position in the log.
        cursor: Cursor,
        /// What changed.
        personal: natter_proto::PersonalChange,
    },
    /// My own settings for a conversation (mute, archive, pin, unread
    /// mark) changed, on this device or another of mine: an entry of the
    /// log, delivered once and in order.
    Settings {
        /// Position in the log.
        cursor: Cursor,
        /// The settings after the change.
        settings: natter_proto::SettingsChange,
    },
    /// My membership of a channel began or ended without an event in the
    /// channel (subscribers join and leave silently): an entry of the log,
    /// delivered once and in order. After `joined`, the channel's events
    /// follow from `membership.seq + 1`.
    Membership {
        /// Position in the log.
        cursor: Cursor,
        /// What changed.
        membership: MembershipChange,
    },
    /// Who is online among the people I may see; sent after each
    /// (re)connection, before the backlog. It replaces what the application
    /// knew: changes while disconnected are not replayed.
    PresenceSnapshot(Vec<Presence>),
    /// Someone's presence changed. Live only: never replayed.
    Presence(Presence),
    /// Someone started or stopped typing in a conversation. Live only. The
    /// server sends `active: false` itself when an indicator expires, but a
    /// careful application also clears one after `expires_in_ms`, in case
    /// the connection dropped meanwhile.
    Typing {
        /// The conversation.
        conv: ConversationId,
        /// Who.
        user: UserId,
        /// True while typing.
        active: bool,
        /// With `active`: how long the indicator stays valid without a
        /// refresh.
        expires_in_ms: Option<u64>,
    },
    /// A receipt or typing frame sent by [`Live::mark_read`],
    /// [`Live::mark_delivered`] or [`Live::typing`] (or an automatic
    /// delivered receipt) was refused: not a member, a seq beyond the
    /// conversation's newest, rate limited, … It is not retried.
    RequestFailed {
        /// The conversation the refused frame named.
        conv: ConversationId,
        /// Why.
        error: ErrorBody,
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

/// State shared between the [`Live`] handle and its task. The mutexes are
/// plain ones: none is ever held across an `.await`.
#[derive(Debug)]
struct Shared {
    /// Messages waiting for acknowledgement.
    outbox: Mutex<Outbox>,
    /// Receipts waiting to be sent, coalesced per conversation and kind.
    receipts: Mutex<Receipts>,
    /// Typing changes waiting to be sent: the latest state per
    /// conversation, so a burst of calls costs one frame. Bounded by the
    /// number of conversations.
    typing: Mutex<HashMap<ConversationId, bool>>,
    /// True while a connection is established (after `welcome`): typing is
    /// only worth sending then.
    connected: AtomicBool,
    /// Wakes the task when the application adds to the outbox, the receipts
    /// or the typing table.
    wake: Notify,
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

    fn receipts(&self) -> MutexGuard<'_, Receipts> {
        // As above: every update leaves the tables consistent.
        self.receipts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn typing(&self) -> MutexGuard<'_, HashMap<ConversationId, bool>> {
        self.typing.lock().unwrap_or_else(PoisonError::into_inner)
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
            receipts: Mutex::new(Receipts::from_entries(saved.receipts)),
            typing: Mutex::new(HashMap::new()),
            connected: AtomicBool::new(false),
            wake: Notify::new(),
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
        self.shared.wake.notify_one();
    }

    /// Marks every message of `conv` up to `seq` read (which implies
    /// delivered), over the socket. Receipts asked for while offline are
    /// kept (in the state file too), coalesced to the highest seq per
    /// conversation, and sent after reconnecting; one that the server's
    /// watermarks already cover is not sent at all. The result arrives
    /// through the log as a [`LiveEvent::Receipt`] for me, or as
    /// [`LiveEvent::RequestFailed`]. Use [`Client::mark_read`] to wait for
    /// the answer instead.
    pub fn mark_read(&self, conv: ConversationId, seq: Seq) {
        self.mark(conv, ReceiptKind::Read, seq);
    }

    /// Marks every message of `conv` up to `seq` delivered, like
    /// [`Live::mark_read`]. Only needed with automatic delivered receipts
    /// off ([`ConnectOptions::with_auto_delivered`]).
    pub fn mark_delivered(&self, conv: ConversationId, seq: Seq) {
        self.mark(conv, ReceiptKind::Delivered, seq);
    }

    fn mark(&self, conv: ConversationId, kind: ReceiptKind, seq: Seq) {
        if self.shared.receipts().request(conv, kind, seq) {
            self.shared.wake.notify_one();
        }
    }

    /// Starts (or refreshes) or stops my typing indicator in `conv`, over
    /// the socket. Only sent while connected: while offline it is dropped,
    /// since it would be stale by the time it arrived. Calls in quick
    /// succession are coalesced to the latest state, and the server
    /// throttles refreshes as well, so calling this on every keystroke is
    /// fine.
    pub fn typing(&self, conv: ConversationId, active: bool) {
        if !self.shared.connected.load(Ordering::Acquire) {
            return;
        }
        self.shared.typing().insert(conv, active);
        self.shared.wake.notify_one();
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

    /// Stops the task: writes pending receipts if connected, closes the
    /// socket with a close frame, saves the state file, and waits for all
    /// of it. Events not yet read are discarded. A receipt written just
    /// before the close is not confirmed (the server may drop requests still
    /// in progress when a socket closes): to be sure a final read is stored,
    /// use [`Client::mark_read`], which answers once it is.
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
            | LiveEvent::Receipt { cursor: c, .. }
            | LiveEvent::Membership { cursor: c, .. }
            | LiveEvent::Settings { cursor: c, .. }
            | LiveEvent::Personal { cursor: c, .. }
            | LiveEvent::Report { cursor: c, .. }
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
