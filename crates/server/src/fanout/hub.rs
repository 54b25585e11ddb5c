//! This node's registry of live connections and the local half of fan-out.
//!
//! Every live connection (WebSocket, SSE stream, waiting long-poll) registers
//! under its user. When the bus says events were committed, the hub hands
//! each recipient's connections a pointer to the event's JSON, serialised
//! once for everyone. Queues are bounded: when a connection's queue is full
//! the hub drops the item and marks the connection `lagged`, and the
//! connection catches up from the store by itself. Nothing is lost that
//! way, and memory stays bounded however slow a client is.

use natter_bus::{BusMessage, SignalKind};
use natter_proto::{Cursor, DeviceId, UserId};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use tokio::sync::mpsc;

/// What a connection receives from the hub. Kept small: every connection's
/// queue allocates room for a block of these up front.
#[derive(Clone, Debug)]
pub enum Outbound {
    /// A log item at `cursor` (its position in every recipient's log).
    Item {
        /// Log position.
        cursor: Cursor,
        /// `event` or `receipt`, and the item's JSON.
        item: Arc<(&'static str, Arc<str>)>,
    },
    /// Items may have been lost before they reached the hub: read the store.
    CatchUp,
    /// A live-only signal (a complete frame).
    Signal(SignalKind, Arc<str>),
    /// The session was revoked; close.
    Revoked,
}

/// The hub's side of one connection.
struct Slot {
    id: u64,
    device: DeviceId,
    tx: mpsc::Sender<Outbound>,
    lagged: Arc<AtomicBool>,
    revoked: Arc<AtomicBool>,
}

/// The registry. Cheap to share behind an `Arc`.
#[derive(Default)]
pub struct Hub {
    users: RwLock<HashMap<UserId, Vec<Slot>>>,
    next_id: AtomicU64,
    /// The position of the last item dispatched. Positions are handed out
    /// densely in commit order, so a jump means something committed never
    /// arrived here.
    last_position: AtomicU64,
}

/// A connection's end: its queue and flags. Unregisters when dropped.
pub struct Registration {
    hub: Arc<Hub>,
    user: UserId,
    id: u64,
    /// Live items, in the order the hub saw them.
    pub rx: mpsc::Receiver<Outbound>,
    lagged: Arc<AtomicBool>,
    revoked: Arc<AtomicBool>,
}

impl Registration {
    /// True (once) when items were dropped because the queue was full.
    pub fn take_lagged(&self) -> bool {
        self.lagged.swap(false, Ordering::AcqRel)
    }

    /// True when the session was revoked.
    pub fn is_revoked(&self) -> bool {
        self.revoked.load(Ordering::Acquire)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.hub.unregister(self.user, self.id);
    }
}

impl Hub {
    /// Registers a connection of `user` on `device` with a queue of
    /// `capacity` items.
    pub fn register(
        self: &Arc<Self>,
        user: UserId,
        device: DeviceId,
        capacity: usize,
    ) -> Registration {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let lagged = Arc::new(AtomicBool::new(false));
        let revoked = Arc::new(AtomicBool::new(false));
        let slot = Slot {
            id,
            device,
            tx,
            lagged: lagged.clone(),
            revoked: revoked.clone(),
        };
        if let Ok(mut users) = self.users.write() {
            users.entry(user).or_default().push(slot);
        }
        Registration {
            hub: self.clone(),
            user,
            id,
            rx,
            lagged,
            revoked,
        }
    }

    fn unregister(&self, user: UserId, id: u64) {
        if let Ok(mut users) = self.users.write()
            && let Some(slots) = users.get_mut(&user)
        {
            slots.retain(|s| s.id != id);
            if slots.is_empty() {
                users.remove(&user);
            }
        }
    }

    /// Delivers a bus message to the local connections it concerns.
    pub fn dispatch(&self, msg: &BusMessage) {
        let Ok(users) = self.users.read() else { return };
        match msg {
            BusMessage::Events(notices) => {
                for notice in notices.iter() {
                    let last = self.last_position.swap(notice.cursor.0, Ordering::Relaxed);
                    if last != 0 && notice.cursor.0 > last + 1 {
                        tracing::warn!(
                            after = last,
                            next = notice.cursor.0,
                            "committed items never reached the hub; every connection reads the store"
                        );
                        for slot in users.values().flatten() {
                            slot.lagged.store(true, Ordering::Release);
                            let _ = slot.tx.try_send(Outbound::CatchUp);
                        }
                    }
                    let kind = notice.item.kind();
                    let shared = Arc::new((kind, notice.json.clone()));
                    for user in notice.recipients.iter() {
                        let Some(slots) = users.get(user) else {
                            continue;
                        };
                        let payload = if notice.variants.is_empty() {
                            shared.clone()
                        } else {
                            Arc::new((kind, notice.json_for(user).clone()))
                        };
                        for slot in slots {
                            let item = Outbound::Item {
                                cursor: notice.cursor,
                                item: payload.clone(),
                            };
                            if let Err(mpsc::error::TrySendError::Full(_)) = slot.tx.try_send(item)
                            {
                                slot.lagged.store(true, Ordering::Release);
                            }
                        }
                    }
                }
            }
            BusMessage::Signal(signal) => {
                for user in &signal.recipients {
                    let Some(slots) = users.get(user) else {
                        continue;
                    };
                    for slot in slots {
                        // Signals are live only: a connection that is behind
                        // loses them rather than queueing without bound.
                        let _ = slot
                            .tx
                            .try_send(Outbound::Signal(signal.kind, signal.frame.clone()));
                    }
                }
            }
            BusMessage::SessionRevoked { user, device } => {
                if let Some(slots) = users.get(user) {
                    for slot in slots.iter().filter(|s| s.device == *device) {
                        slot.revoked.store(true, Ordering::Release);
                        // If the queue is full the connection wakes up for
                        // the queued items and sees the flag then.
                        let _ = slot.tx.try_send(Outbound::Revoked);
                    }
                }
            }
        }
    }
}
