//! The fan-out contract of natter: how a node tells every node (itself
//! included) that something was committed.
//!
//! The bus only says "something new": the database stays the source of
//! truth. A node that misses a bus message loses nothing: messages carry
//! their position in commit order, and a connection that was dropped from
//! (a full queue) reads what it missed from the store. The in-process backend here serves the embedded deployment; a
//! cluster backend (NATS) implements the same trait.
//!
//! Depends on `natter-proto` only.

#![forbid(unsafe_code)]

use async_trait::async_trait;
use natter_proto::{Cursor, DeviceId, LogItem, UserId};
use std::sync::{Arc, Mutex};
use thiserror::Error;
use tokio::sync::mpsc;

/// One committed log item, serialised once for every socket that gets it.
#[derive(Clone, Debug)]
pub struct Notice {
    /// The item (an event or a receipt).
    pub item: Arc<LogItem>,
    /// The item as JSON, shared by every frame that carries it.
    pub json: Arc<str>,
    /// The item's position, the same in every recipient's log.
    pub cursor: Cursor,
    /// Each user whose log got the item.
    pub recipients: Arc<Vec<UserId>>,
    /// Recipients who see another version of the item (privacy masks), as
    /// JSON.
    pub variants: Vec<(UserId, Arc<str>)>,
}

impl Notice {
    /// The JSON `user` sees.
    pub fn json_for(&self, user: &UserId) -> &Arc<str> {
        self.variants
            .iter()
            .find(|(u, _)| u == user)
            .map(|(_, j)| j)
            .unwrap_or(&self.json)
    }
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

/// A live-only signal: not stored, not in any log, dropped for a
/// connection that is behind.
#[derive(Clone, Debug)]
pub struct Signal {
    /// What it is.
    pub kind: SignalKind,
    /// Who gets it (all their connections).
    pub recipients: Vec<UserId>,
    /// The complete server frame as JSON.
    pub frame: Arc<str>,
}

/// What travels on the bus.
#[derive(Clone, Debug)]
pub enum BusMessage {
    /// Events committed together, in commit order.
    Events(Arc<Vec<Notice>>),
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

    #[tokio::test]
    async fn local_bus_delivers_in_order_and_closes() {
        let bus = LocalBus::new(4);
        let mut rx = bus.subscribe().expect("first subscribe");
        assert!(bus.subscribe().is_none());
        for _ in 0..3 {
            bus.publish(BusMessage::SessionRevoked {
                user: UserId::new(),
                device: DeviceId::new(),
            })
            .await
            .unwrap();
        }
        for _ in 0..3 {
            assert!(matches!(
                rx.recv().await,
                Some(BusMessage::SessionRevoked { .. })
            ));
        }
        bus.close().await;
        assert!(matches!(
            bus.publish(BusMessage::SessionRevoked {
                user: UserId::new(),
                device: DeviceId::new()
            })
            .await,
            Err(BusError::Closed)
        ));
        assert!(rx.recv().await.is_none());
    }
}
