//! This node's registry of live connections and the local half of fan-out.
//!
//! Every live connection (WebSocket, SSE stream, waiting long-poll) registers
//! under its user. A notice from the bus names a conversation, not its
//! members, so the hub keeps, for the users connected here, which
//! conversations they are in: learnt from the store read that opens each
//! connection ([`Registration::learn`]) and kept current from the `joined`
//! and `left` lists notices carry. It hands each recipient's connections a pointer to
//! the item's JSON, serialised once for everyone. Queues are bounded: when a
//! connection's queue is full the hub drops the item and marks the
//! connection `lagged`, and the connection catches up from the store by
//! itself. Nothing is lost that way, and memory stays bounded however slow
//! a client is.

use natter_bus::{Audience, Batch, BusMessage, Notice, SignalAudience, SignalKind};
use natter_proto::{ConversationId, Cursor, DeviceId, UserId};
use std::collections::{HashMap, HashSet};
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

impl Slot {
    /// Queues an item, or marks the connection behind when its queue is
    /// full.
    fn offer(&self, item: Outbound) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.tx.try_send(item) {
            self.lagged.store(true, Ordering::Release);
        }
    }
}

/// A user with connections on this node.
#[derive(Default)]
struct Local {
    slots: Vec<Slot>,
    /// The conversations the user is in, as far as this node knows.
    convs: HashSet<ConversationId>,
    /// A connection has told the hub the user's conversations (until then
    /// notices to them may pass this user by).
    learnt: bool,
    /// Conversations the user left while connected here, with the position
    /// of their departure: a connection whose store read predates it must
    /// not put the user back in.
    departed: HashMap<ConversationId, u64>,
}

/// Who is connected here and in which conversations.
#[derive(Default)]
struct Registry {
    users: HashMap<UserId, Local>,
    /// The local users in each conversation: how a notice addressed to a
    /// conversation finds its recipients on this node.
    members: HashMap<ConversationId, HashSet<UserId>>,
}

impl Registry {
    fn join(&mut self, user: UserId, conv: ConversationId) {
        if let Some(local) = self.users.get_mut(&user) {
            local.departed.remove(&conv);
            if local.convs.insert(conv) {
                self.members.entry(conv).or_default().insert(user);
            }
        }
    }

    fn leave(&mut self, user: UserId, conv: ConversationId, position: u64) {
        if let Some(local) = self.users.get_mut(&user) {
            local.convs.remove(&conv);
            local.departed.insert(conv, position);
        }
        if let Some(members) = self.members.get_mut(&conv) {
            members.remove(&user);
            if members.is_empty() {
                self.members.remove(&conv);
            }
        }
    }

    /// Every connection: items may have been lost, read the store.
    fn catch_up_all(&self) {
        for slot in self.users.values().flat_map(|l| &l.slots) {
            slot.lagged.store(true, Ordering::Release);
            let _ = slot.tx.try_send(Outbound::CatchUp);
        }
    }
}

/// The registry. Cheap to share behind an `Arc`.
#[derive(Default)]
pub struct Hub {
    registry: RwLock<Registry>,
    next_id: AtomicU64,
    /// The highest position dispatched so far. A connection whose user's
    /// conversations were not known here yet may have missed notices above
    /// the head of the store read that taught the hub where to look.
    max_position: AtomicU64,
    /// Woken after each batch is handed to the connections, for
    /// [`Hub::dispatched`].
    batch_done: tokio::sync::Notify,
}

/// A connection's end: its queue and flags. Unregisters when dropped.
pub struct Registration {
    hub: Arc<Hub>,
    user: UserId,
    id: u64,
    /// The user's conversations were not known here when this connection
    /// registered.
    fresh: bool,
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

    /// Tells the hub the user's conversations, as a store read at `head`
    /// saw them. If the hub had not known them and has since dispatched
    /// anything above `head`, this connection may have been passed by: it
    /// is marked behind and reads the store again.
    pub fn learn(&self, conversations: &[ConversationId], head: Cursor) {
        self.hub.learn(self, conversations, head);
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
        let mut fresh = true;
        if let Ok(mut reg) = self.registry.write() {
            let local = reg.users.entry(user).or_default();
            fresh = !local.learnt;
            local.slots.push(slot);
        }
        Registration {
            hub: self.clone(),
            user,
            id,
            fresh,
            rx,
            lagged,
            revoked,
        }
    }

    fn learn(&self, r: &Registration, conversations: &[ConversationId], head: Cursor) {
        let Ok(mut reg) = self.registry.write() else {
            return;
        };
        for conv in conversations {
            // A departure dispatched after the read stands.
            let departed_since = reg
                .users
                .get(&r.user)
                .and_then(|l| l.departed.get(conv))
                .is_some_and(|at| *at > head.0);
            if !departed_since {
                reg.join(r.user, *conv);
            }
        }
        if let Some(local) = reg.users.get_mut(&r.user) {
            local.learnt = true;
        }
        // Under the write lock no dispatch runs: everything dispatched so
        // far is counted, everything later finds the user.
        if r.fresh && self.max_position.load(Ordering::Acquire) > head.0 {
            r.lagged.store(true, Ordering::Release);
        }
    }

    fn unregister(&self, user: UserId, id: u64) {
        let Ok(mut reg) = self.registry.write() else {
            return;
        };
        let Some(local) = reg.users.get_mut(&user) else {
            return;
        };
        local.slots.retain(|s| s.id != id);
        if !local.slots.is_empty() {
            return;
        }
        let convs = std::mem::take(&mut local.convs);
        reg.users.remove(&user);
        for conv in convs {
            if let Some(members) = reg.members.get_mut(&conv) {
                members.remove(&user);
                if members.is_empty() {
                    reg.members.remove(&conv);
                }
            }
        }
    }

    /// Sends every connection to the store: something committed may never
    /// have reached this node.
    pub fn catch_up_all(&self) {
        if let Ok(reg) = self.registry.read() {
            reg.catch_up_all();
        }
    }

    /// Delivers a batch of committed items, in order, to the local
    /// connections they concern.
    pub fn dispatch_batch(&self, batch: &Batch) {
        for notice in &batch.notices {
            self.dispatch_notice(notice);
        }
        if !batch.complete {
            self.catch_up_all();
        }
        self.batch_done.notify_waiters();
    }

    /// Waits (at most `limit`) until everything up to `position` has been
    /// handed to this node's connections; true when it has. Something sent
    /// after that (a signal) reaches each connection after those items.
    pub async fn dispatched(&self, position: Cursor, limit: std::time::Duration) -> bool {
        let wait = async {
            loop {
                let done = self.batch_done.notified();
                if self.max_position.load(Ordering::Acquire) >= position.0 {
                    return;
                }
                done.await;
            }
        };
        tokio::time::timeout(limit, wait).await.is_ok()
    }

    fn dispatch_notice(&self, notice: &Notice) {
        let (conv, joined, left): (_, &[UserId], &[UserId]) = match &notice.to {
            Audience::Conversation {
                conv, joined, left, ..
            } => (Some(conv), joined, left),
            Audience::Member {
                conv, user, joins, ..
            } => {
                let one = std::slice::from_ref(user);
                if *joins {
                    (Some(conv), one, &[])
                } else {
                    (Some(conv), &[], one)
                }
            }
            Audience::Users(_) => (None, &[], &[]),
        };
        if let Some(conv) = conv
            && !joined.is_empty()
            && let Ok(mut reg) = self.registry.write()
        {
            // Before delivering: the new members get this item too (and
            // nothing of the conversation from before it).
            for user in joined {
                reg.join(*user, *conv);
            }
        }
        self.deliver(notice);
        if let Some(conv) = conv
            && !left.is_empty()
            && let Ok(mut reg) = self.registry.write()
        {
            // After delivering: those who left got their own departure,
            // and nothing of the conversation after it.
            for user in left {
                reg.leave(*user, *conv, notice.position.0);
            }
        }
    }

    fn deliver(&self, notice: &Notice) {
        let Ok(reg) = self.registry.read() else {
            return;
        };
        self.max_position
            .fetch_max(notice.position.0, Ordering::AcqRel);
        let kind = notice.kind.as_str();
        match &notice.to {
            Audience::Conversation { conv, json, .. } => {
                let Some(members) = reg.members.get(conv) else {
                    return;
                };
                let shared = Arc::new((kind, json.clone()));
                for user in members {
                    for slot in reg.users.get(user).map_or(&[][..], |l| &l.slots) {
                        slot.offer(Outbound::Item {
                            cursor: notice.position,
                            item: shared.clone(),
                        });
                    }
                }
            }
            Audience::Member { user, json, .. } => {
                let item = Arc::new((kind, json.clone()));
                for slot in reg.users.get(user).map_or(&[][..], |l| &l.slots) {
                    slot.offer(Outbound::Item {
                        cursor: notice.position,
                        item: item.clone(),
                    });
                }
            }
            Audience::Users(list) => {
                for (user, json) in list {
                    let Some(local) = reg.users.get(user) else {
                        continue;
                    };
                    let item = Arc::new((kind, json.clone()));
                    for slot in &local.slots {
                        slot.offer(Outbound::Item {
                            cursor: notice.position,
                            item: item.clone(),
                        });
                    }
                }
            }
        }
    }

    /// Delivers a live-only signal or a revocation.
    pub fn dispatch(&self, msg: &BusMessage) {
        let Ok(reg) = self.registry.read() else {
            return;
        };
        match msg {
            BusMessage::Events(batch) => {
                drop(reg);
                self.dispatch_batch(batch);
            }
            BusMessage::Signal(signal) => {
                let send = |user: &UserId| {
                    for slot in reg.users.get(user).map_or(&[][..], |l| &l.slots) {
                        // Signals are live only: a connection that is
                        // behind loses them rather than queueing without
                        // bound.
                        let _ = slot
                            .tx
                            .try_send(Outbound::Signal(signal.kind, signal.frame.clone()));
                    }
                };
                match &signal.to {
                    SignalAudience::Users(users) => users.iter().for_each(send),
                    SignalAudience::Conversation { conv, except } => {
                        if let Some(members) = reg.members.get(conv) {
                            members.iter().filter(|u| *u != except).for_each(send);
                        }
                    }
                }
            }
            BusMessage::SessionRevoked { user, device } => {
                if let Some(local) = reg.users.get(user) {
                    for slot in local.slots.iter().filter(|s| s.device == *device) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use natter_bus::{ItemKind, SourceId};

    fn event(position: u64, conv: ConversationId, joined: Vec<UserId>) -> Notice {
        Notice {
            position: Cursor(position),
            kind: ItemKind::Event,
            to: Audience::Conversation {
                conv,
                json: Arc::from(format!(r#"{{"p":{position}}}"#)),
                joined,
                left: Vec::new(),
            },
        }
    }

    fn departure(position: u64, conv: ConversationId, left: UserId) -> Notice {
        let mut notice = event(position, conv, Vec::new());
        if let Audience::Conversation { left: l, .. } = &mut notice.to {
            l.push(left);
        }
        notice
    }

    fn membership(position: u64, conv: ConversationId, user: UserId, joins: bool) -> Notice {
        Notice {
            position: Cursor(position),
            kind: ItemKind::Membership,
            to: Audience::Member {
                conv,
                user,
                json: Arc::from(format!(r#"{{"p":{position}}}"#)),
                joins,
            },
        }
    }

    #[test]
    fn a_silent_subscription_reaches_only_the_subscriber_and_frames_their_events() {
        let hub = Arc::new(Hub::default());
        let (owner, sub) = (UserId::new(), UserId::new());
        let conv = ConversationId::new();
        let mut o = hub.register(owner, DeviceId::new(), 8);
        let mut s = hub.register(sub, DeviceId::new(), 8);
        o.learn(&[conv], Cursor(0));
        s.learn(&[], Cursor(0));
        hub.dispatch_batch(&batch(vec![
            event(1, conv, vec![]),
            membership(2, conv, sub, true),
            event(3, conv, vec![]),
            membership(4, conv, sub, false),
            event(5, conv, vec![]),
        ]));
        assert_eq!(
            positions(&mut o),
            vec![1, 3, 5],
            "the owner hears no membership"
        );
        assert_eq!(
            positions(&mut s),
            vec![2, 3, 4],
            "the subscriber: their join, the channel while subscribed, their departure"
        );
    }

    #[test]
    fn leavers_get_their_departure_and_nothing_after_it() {
        let hub = Arc::new(Hub::default());
        let (alice, bob) = (UserId::new(), UserId::new());
        let conv = ConversationId::new();
        let mut a = hub.register(alice, DeviceId::new(), 8);
        let mut b = hub.register(bob, DeviceId::new(), 8);
        a.learn(&[conv], Cursor(0));
        b.learn(&[conv], Cursor(0));
        hub.dispatch_batch(&batch(vec![
            event(1, conv, vec![]),
            departure(2, conv, bob),
            event(3, conv, vec![]),
        ]));
        assert_eq!(positions(&mut a), vec![1, 2, 3]);
        assert_eq!(
            positions(&mut b),
            vec![1, 2],
            "bob's departure, then nothing"
        );

        // A second connection of bob's whose store read predates the
        // departure does not put him back in.
        let mut late = hub.register(bob, DeviceId::new(), 8);
        late.learn(&[conv], Cursor(1));
        hub.dispatch_batch(&batch(vec![event(4, conv, vec![])]));
        assert!(positions(&mut late).is_empty());
        assert!(positions(&mut b).is_empty());
        // Added again, he hears the conversation from then on.
        hub.dispatch_batch(&batch(vec![
            event(5, conv, vec![bob]),
            event(6, conv, vec![]),
        ]));
        assert_eq!(positions(&mut b), vec![5, 6]);
        assert_eq!(positions(&mut late), vec![5, 6]);
    }

    fn batch(notices: Vec<Notice>) -> Batch {
        Batch {
            source: SourceId(1),
            seq: 1,
            notices,
            complete: true,
        }
    }

    fn positions(reg: &mut Registration) -> Vec<u64> {
        let mut out = Vec::new();
        while let Ok(item) = reg.rx.try_recv() {
            if let Outbound::Item { cursor, .. } = item {
                out.push(cursor.0);
            }
        }
        out
    }

    #[test]
    fn notices_reach_the_local_members_of_their_conversation_only() {
        let hub = Arc::new(Hub::default());
        let (alice, bob, carol) = (UserId::new(), UserId::new(), UserId::new());
        let (ab, other) = (ConversationId::new(), ConversationId::new());
        let mut a = hub.register(alice, DeviceId::new(), 8);
        let mut b = hub.register(bob, DeviceId::new(), 8);
        let mut c = hub.register(carol, DeviceId::new(), 8);
        a.learn(&[ab], Cursor(0));
        b.learn(&[ab, other], Cursor(0));
        c.learn(&[], Cursor(0));
        hub.dispatch_batch(&batch(vec![event(1, ab, vec![]), event(2, other, vec![])]));
        assert_eq!(positions(&mut a), vec![1]);
        assert_eq!(positions(&mut b), vec![1, 2]);
        assert!(positions(&mut c).is_empty());
    }

    #[test]
    fn joiners_get_the_joining_item_and_what_follows_but_nothing_before() {
        let hub = Arc::new(Hub::default());
        let (alice, bob) = (UserId::new(), UserId::new());
        let conv = ConversationId::new();
        let mut a = hub.register(alice, DeviceId::new(), 8);
        let mut b = hub.register(bob, DeviceId::new(), 8);
        a.learn(&[conv], Cursor(0));
        b.learn(&[], Cursor(0));
        hub.dispatch_batch(&batch(vec![
            event(1, conv, vec![]),
            event(2, conv, vec![bob]),
            event(3, conv, vec![]),
        ]));
        assert_eq!(positions(&mut a), vec![1, 2, 3]);
        assert_eq!(positions(&mut b), vec![2, 3]);
    }

    #[test]
    fn a_connection_that_learns_late_reads_the_store_again() {
        let hub = Arc::new(Hub::default());
        let alice = UserId::new();
        let conv = ConversationId::new();
        let a = hub.register(alice, DeviceId::new(), 8);
        // Dispatched after the connection registered but before it knew
        // where to look: its store read (head 4) ends below it.
        hub.dispatch_batch(&batch(vec![event(5, conv, vec![])]));
        a.learn(&[conv], Cursor(4));
        assert!(a.take_lagged());
        // A second device of a user already known here misses nothing.
        let second = hub.register(alice, DeviceId::new(), 8);
        second.learn(&[conv], Cursor(4));
        assert!(!second.take_lagged());
    }

    #[test]
    fn the_last_connection_leaving_forgets_the_user() {
        let hub = Arc::new(Hub::default());
        let alice = UserId::new();
        let conv = ConversationId::new();
        let a = hub.register(alice, DeviceId::new(), 8);
        a.learn(&[conv], Cursor(0));
        drop(a);
        let reg = hub.registry.read().unwrap();
        assert!(reg.users.is_empty() && reg.members.is_empty());
    }

    #[test]
    fn full_queues_mark_the_connection_behind_and_incomplete_batches_everyone() {
        let hub = Arc::new(Hub::default());
        let alice = UserId::new();
        let conv = ConversationId::new();
        let a = hub.register(alice, DeviceId::new(), 1);
        a.learn(&[conv], Cursor(0));
        hub.dispatch_batch(&batch(vec![event(1, conv, vec![]), event(2, conv, vec![])]));
        assert!(a.take_lagged(), "the second item did not fit");
        let mut lost = batch(vec![]);
        lost.complete = false;
        hub.dispatch_batch(&lost);
        assert!(a.take_lagged());
    }

    #[test]
    fn typing_reaches_the_conversation_but_not_the_typist() {
        let hub = Arc::new(Hub::default());
        let (alice, bob) = (UserId::new(), UserId::new());
        let conv = ConversationId::new();
        let mut a = hub.register(alice, DeviceId::new(), 8);
        let mut b = hub.register(bob, DeviceId::new(), 8);
        a.learn(&[conv], Cursor(0));
        b.learn(&[conv], Cursor(0));
        hub.dispatch(&BusMessage::Signal(Arc::new(natter_bus::Signal {
            kind: SignalKind::Typing,
            to: SignalAudience::Conversation {
                conv,
                except: alice,
            },
            frame: Arc::from("{}"),
        })));
        assert!(a.rx.try_recv().is_err());
        assert!(matches!(
            b.rx.try_recv(),
            Ok(Outbound::Signal(SignalKind::Typing, _))
        ));
    }
}
