//! The fan-out contract of natter: how a node tells every node (itself
//! included) that something was committed.
//!
//! The bus only says "something new": the database stays the source of
//! truth. A node that misses a bus message loses nothing: batches are
//! numbered per publisher, so a gap is seen, and connections read what
//! they missed from the store. Notices name a conversation, not its
//! members, so a message to 100,000 people is one small bus message. The
//! in-process backend here serves the embedded deployment; a cluster
//! backend (NATS) implements the same trait and passes the same
//! [`conformance`] suite.
//!
//! Depends on `natter-proto` only.

#![forbid(unsafe_code)]

pub mod conformance;

use async_trait::async_trait;
use natter_proto::{ConversationId, Cursor, DeviceId, UserId};
use std::sync::{Arc, Mutex};
use thiserror::Error;
use tokio::sync::mpsc;

/// Which kind of log item a notice carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemKind {
    /// A conversation event.
    Event,
    /// A receipt.
    Receipt,
    /// A silent membership change (a channel subscriber's).
    Membership,
    /// A change of one user's own conversation settings.
    Settings,
    /// A new report, for those who handle it.
    Report,
    /// A change for one user's own devices (a hidden message, a channel
    /// reaction, a thread read mark).
    Personal,
}

impl ItemKind {
    /// The wire name: the frame type and the SSE event name.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Event => "event",
            ItemKind::Receipt => "receipt",
            ItemKind::Membership => "membership",
            ItemKind::Settings => "settings",
            ItemKind::Report => "report",
            ItemKind::Personal => "personal",
        }
    }
}

/// Who a committed item is for. A notice never carries a conversation's
/// member list: each node knows which of its own users are in which
/// conversation, and keeps that current from `joined` and `left`.
#[derive(Clone, Debug)]
pub enum Audience {
    /// Every member of the conversation, all seeing the same JSON.
    Conversation {
        /// The conversation.
        conv: ConversationId,
        /// The item as JSON, shared by every frame that carries it.
        json: Arc<str>,
        /// The users who became members with this item (a conversation
        /// created, members added); they get it too.
        joined: Vec<UserId>,
        /// The users whose membership ended with this item (they left):
        /// they get it, and nothing later of the conversation.
        left: Vec<UserId>,
    },
    /// These users only (receipts), each with the JSON they see.
    Users(Vec<(UserId, Arc<str>)>),
    /// One user whose membership of `conv` begins (`joins`) or ends with
    /// this item, which nobody else gets: a channel subscriber's.
    Member {
        /// The conversation.
        conv: ConversationId,
        /// The member.
        user: UserId,
        /// The item as JSON.
        json: Arc<str>,
        /// True when the membership begins, false when it ends.
        joins: bool,
    },
}

/// One committed log item, serialised once.
#[derive(Clone, Debug)]
pub struct Notice {
    /// The item's position, the same in every recipient's log.
    pub position: Cursor,
    /// Event or receipt.
    pub kind: ItemKind,
    /// Who gets it.
    pub to: Audience,
}

/// Identifies one publisher (one node's commit feed) for as long as it
/// runs. Random, so a restarted node is a new source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SourceId(pub u64);

impl SourceId {
    /// A new random id.
    pub fn random() -> Self {
        // The last 8 bytes of a v7 id are random (62 bits of them).
        let id = UserId::new();
        let tail = id.as_bytes().last_chunk::<8>().copied().unwrap_or_default();
        SourceId(u64::from_le_bytes(tail))
    }
}

/// Items committed together, in commit order, as one publisher numbered
/// them: `seq` is 1, 2, 3, … per source with no gap, so a subscriber that
/// sees a gap knows something was lost (or is late) and can wait briefly,
/// then send its connections to the store.
#[derive(Clone, Debug)]
pub struct Batch {
    /// Who published it.
    pub source: SourceId,
    /// Its number in the source's sequence, from 1.
    pub seq: u64,
    /// The items.
    pub notices: Vec<Notice>,
    /// False when the publisher could not carry every item of the commit
    /// (one failed to serialise): subscribers send their connections to
    /// the store, which has it.
    pub complete: bool,
}

/// Which live-only signal a frame is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignalKind {
    /// A presence change.
    Presence,
    /// A typing indicator.
    Typing,
}

impl SignalKind {
    /// The frame type and SSE event name.
    pub fn as_str(self) -> &'static str {
        match self {
            SignalKind::Presence => "presence",
            SignalKind::Typing => "typing",
        }
    }
}

/// Who gets a live-only signal (all their connections).
#[derive(Clone, Debug)]
pub enum SignalAudience {
    /// These users.
    Users(Vec<UserId>),
    /// The members of a conversation, but one.
    Conversation {
        /// The conversation.
        conv: ConversationId,
        /// Who does not get it (the typist).
        except: UserId,
    },
}

/// A live-only signal: not stored, not in any log, dropped for a
/// connection that is behind.
#[derive(Clone, Debug)]
pub struct Signal {
    /// What it is.
    pub kind: SignalKind,
    /// Who gets it.
    pub to: SignalAudience,
    /// The complete server frame as JSON.
    pub frame: Arc<str>,
}

/// What travels on the bus.
#[derive(Clone, Debug)]
pub enum BusMessage {
    /// Items committed together, in commit order.
    Events(Arc<Batch>),
    /// Presence or typing, to be delivered live.
    Signal(Arc<Signal>),
    /// A device session was revoked: its live connections must close.
    SessionRevoked {
        /// The session's user.
        user: UserId,
        /// The revoked session.
        device: DeviceId,
    },
}

/// Why a bus operation failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum BusError {
    /// The bus was closed.
    #[error("bus closed")]
    Closed,
    /// The broker failed; the text is for logs.
    #[error("broker error: {0}")]
    Broker(String),
}

/// A fan-out backend. `publish` reaches every subscriber of every node once.
#[async_trait]
pub trait Bus: Send + Sync + 'static {
    /// Sends a message to all nodes. Waits (bounded) when subscribers are
    /// behind, so memory stays bounded.
    async fn publish(&self, msg: BusMessage) -> Result<(), BusError>;

    /// This node's stream of bus messages. Can be taken once.
    fn subscribe(&self) -> Option<mpsc::Receiver<BusMessage>>;

    /// Stops delivering; later publishes fail with [`BusError::Closed`].
    async fn close(&self);
}

/// The embedded backend: a bounded in-process queue to this node's one
/// subscriber.
pub struct LocalBus {
    tx: Mutex<Option<mpsc::Sender<BusMessage>>>,
    rx: Mutex<Option<mpsc::Receiver<BusMessage>>>,
}

impl LocalBus {
    /// A bus whose queue holds `capacity` messages.
    pub fn new(capacity: usize) -> Self {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        Self {
            tx: Mutex::new(Some(tx)),
            rx: Mutex::new(Some(rx)),
        }
    }
}

#[async_trait]
impl Bus for LocalBus {
    async fn publish(&self, msg: BusMessage) -> Result<(), BusError> {
        let tx = self
            .tx
            .lock()
            .map_err(|_| BusError::Closed)?
            .clone()
            .ok_or(BusError::Closed)?;
        tx.send(msg).await.map_err(|_| BusError::Closed)
    }

    fn subscribe(&self) -> Option<mpsc::Receiver<BusMessage>> {
        self.rx.lock().ok()?.take()
    }

    async fn close(&self) {
        if let Ok(mut tx) = self.tx.lock() {
            tx.take();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn open() -> ((), Arc<dyn Bus>) {
        ((), Arc::new(LocalBus::new(4)))
    }

    crate::bus_conformance_suite!(open);

    /// The in-process queue is bounded: a publisher waits for a slow
    /// subscriber instead of growing memory, and nothing is dropped.
    #[tokio::test]
    async fn a_full_queue_makes_publishers_wait_and_loses_nothing() {
        let bus = Arc::new(LocalBus::new(2));
        let mut rx = bus.subscribe().unwrap();
        let user = UserId::new();
        let devices: Vec<DeviceId> = (0..10).map(|_| DeviceId::new()).collect();
        let publisher = {
            let bus = bus.clone();
            let devices = devices.clone();
            tokio::spawn(async move {
                for device in devices {
                    bus.publish(BusMessage::SessionRevoked { user, device })
                        .await
                        .unwrap();
                }
            })
        };
        for expected in devices {
            match rx.recv().await {
                Some(BusMessage::SessionRevoked { device, .. }) => assert_eq!(device, expected),
                _ => panic!("expected the next revocation"),
            }
        }
        publisher.await.unwrap();
    }
}
