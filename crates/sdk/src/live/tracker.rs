//! Dedup and gap bookkeeping for the live connection, as a pure struct so it
//! can be tested without a server.

use natter_proto::{ConversationId, Cursor, Event, Seq};
use std::collections::HashMap;

/// Remembers the last log cursor handed to the application and the last seq
/// seen in each conversation.
///
/// Two facts drive it. Log cursors only grow, so an entry whose cursor is not
/// above the last one emitted is a replay (after a reconnect) and is dropped.
/// Conversation seqs are dense, so an event whose seq skips past the last one
/// seen means events in between were missed; those are fetched over HTTP.
///
/// The log holds receipt entries too. They have a cursor like events (and
/// are deduplicated by it) but no seq of their own: a receipt's `delivered`
/// and `read` name seqs of *other* entries, so they never take part in gap
/// detection.
#[derive(Clone, Debug, Default)]
pub(crate) struct Tracker {
    /// The last cursor emitted; also where a reconnect resumes.
    cursor: Cursor,
    /// The last seq emitted per conversation. A conversation is absent until
    /// its first event, which sets the baseline.
    seqs: HashMap<ConversationId, Seq>,
}

/// What to do with an event from the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Its cursor was already emitted: drop it.
    Replay,
    /// New cursor, but the event itself was already emitted (fetched to fill
    /// a gap): drop it and [`Tracker::advance`] the cursor.
    Known,
    /// Emit it, then [`Tracker::commit`] it.
    Deliver,
    /// Events with seq `after + 1 .. event.seq` are missing: fetch and emit
    /// them ([`Tracker::commit_fill`]) before this one.
    Gap {
        /// The last seq seen in the conversation.
        after: Seq,
    },
}

impl Tracker {
    /// A tracker that treats everything up to `cursor` as already emitted.
    pub(crate) fn new(cursor: Cursor) -> Tracker {
        Tracker {
            cursor,
            seqs: HashMap::new(),
        }
    }

    /// The last cursor emitted.
    pub(crate) fn cursor(&self) -> Cursor {
        self.cursor
    }

    /// Classifies a log event without changing anything, so that a failed gap
    /// fill leaves the tracker as it was.
    pub(crate) fn check(&self, cursor: Cursor, event: &Event) -> Verdict {
        if cursor <= self.cursor {
            return Verdict::Replay;
        }
        match self.seqs.get(&event.conv) {
            Some(&last) if event.seq <= last => Verdict::Known,
            Some(&last) if event.seq > last + 1 => Verdict::Gap { after: last },
            _ => Verdict::Deliver,
        }
    }

    /// A membership item (a channel subscription began or ended): a join
    /// sets the channel's baseline to the seq it names, so its next event
    /// is no gap; an end forgets the channel. Call after
    /// [`Tracker::check_receipt`] said [`Verdict::Deliver`].
    pub(crate) fn membership(&mut self, cursor: Cursor, m: &natter_proto::MembershipChange) {
        if m.change == natter_proto::MembershipChangeKind::Joined {
            self.seqs.insert(m.conv, m.seq);
        } else {
            self.seqs.remove(&m.conv);
        }
        self.advance(cursor);
    }

    /// Classifies a receipt entry of the log: [`Verdict::Replay`] or
    /// [`Verdict::Deliver`] (then [`Tracker::advance`] past it).
    pub(crate) fn check_receipt(&self, cursor: Cursor) -> Verdict {
        if cursor <= self.cursor {
            Verdict::Replay
        } else {
            Verdict::Deliver
        }
    }

    /// Records that the log event at `cursor` was emitted.
    pub(crate) fn commit(&mut self, cursor: Cursor, event: &Event) {
        self.advance(cursor);
        self.note_seq(event);
    }

    /// Records an event fetched to fill a gap. Returns false when it was
    /// already emitted (then it must not be emitted again).
    pub(crate) fn commit_fill(&mut self, event: &Event) -> bool {
        match self.seqs.get(&event.conv) {
            Some(&last) if event.seq <= last => false,
            _ => {
                self.note_seq(event);
                true
            }
        }
    }

    /// Moves the cursor forward (never back): after a `synced` frame, or
    /// past an event that needs no emitting.
    pub(crate) fn advance(&mut self, cursor: Cursor) {
        self.cursor = self.cursor.max(cursor);
    }

    /// Starts over from `cursor` after a resync: the log between the old and
    /// the new cursor is skipped, so per-conversation baselines are void.
    pub(crate) fn reset(&mut self, cursor: Cursor) {
        self.cursor = cursor;
        self.seqs.clear();
    }

    fn note_seq(&mut self, event: &Event) {
        let last = self.seqs.entry(event.conv).or_insert(event.seq);
        *last = (*last).max(event.seq);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use natter_proto::{ClientId, DeviceId, EventBody, MessageId, UserId};

    fn msg(conv: ConversationId, seq: Seq) -> Event {
        Event {
            conv,
            seq,
            ts: 0,
            sender: UserId::new(),
            body: EventBody::Message {
                id: MessageId::new(),
                client_id: ClientId::random(),
                device: DeviceId::new(),
                text: format!("m{seq}"),
                meta: Default::default(),
            },
        }
    }

    #[test]
    fn replays_are_dropped_by_cursor() {
        let conv = ConversationId::new();
        let mut t = Tracker::new(Cursor(5));
        assert_eq!(t.check(Cursor(5), &msg(conv, 1)), Verdict::Replay);
        assert_eq!(t.check(Cursor(3), &msg(conv, 1)), Verdict::Replay);
        assert_eq!(t.check(Cursor(6), &msg(conv, 1)), Verdict::Deliver);
        t.commit(Cursor(6), &msg(conv, 1));
        assert_eq!(t.cursor(), Cursor(6));
        assert_eq!(t.check(Cursor(6), &msg(conv, 1)), Verdict::Replay);
    }

    #[test]
    fn the_first_event_of_a_conversation_sets_the_baseline() {
        let conv = ConversationId::new();
        let mut t = Tracker::new(Cursor::START);
        // Joining late: seq 40 is the first seen, no gap.
        assert_eq!(t.check(Cursor(1), &msg(conv, 40)), Verdict::Deliver);
        t.commit(Cursor(1), &msg(conv, 40));
        assert_eq!(t.check(Cursor(2), &msg(conv, 41)), Verdict::Deliver);
        t.commit(Cursor(2), &msg(conv, 41));
        // Conversations are tracked separately.
        let other = ConversationId::new();
        assert_eq!(t.check(Cursor(3), &msg(other, 7)), Verdict::Deliver);
    }

    #[test]
    fn gaps_are_reported_and_filled_once() {
        let conv = ConversationId::new();
        let mut t = Tracker::new(Cursor::START);
        t.commit(Cursor(1), &msg(conv, 1));
        let trigger = msg(conv, 4);
        assert_eq!(t.check(Cursor(2), &trigger), Verdict::Gap { after: 1 });
        // Checking does not change anything.
        assert_eq!(t.cursor(), Cursor(1));
        assert!(t.commit_fill(&msg(conv, 2)));
        assert!(t.commit_fill(&msg(conv, 3)));
        assert!(!t.commit_fill(&msg(conv, 3)));
        assert_eq!(t.check(Cursor(2), &trigger), Verdict::Deliver);
        t.commit(Cursor(2), &trigger);
        // The filled events arriving later through the log are not emitted
        // twice, but their cursors still count.
        let mut late = Tracker::new(Cursor::START);
        late.commit(Cursor(1), &msg(conv, 1));
        late.commit_fill(&msg(conv, 2));
        assert_eq!(late.check(Cursor(2), &msg(conv, 2)), Verdict::Known);
        late.advance(Cursor(2));
        assert_eq!(late.cursor(), Cursor(2));
    }

    #[test]
    fn receipts_count_for_dedup_but_not_for_gaps() {
        let conv = ConversationId::new();
        let mut t = Tracker::new(Cursor::START);
        t.commit(Cursor(1), &msg(conv, 1));
        // A receipt entry between two events of the conversation.
        assert_eq!(t.check_receipt(Cursor(2)), Verdict::Deliver);
        t.advance(Cursor(2));
        // The next event follows seq 1 at cursor 3: no gap, though the
        // cursor jumped by two.
        assert_eq!(t.check(Cursor(3), &msg(conv, 2)), Verdict::Deliver);
        t.commit(Cursor(3), &msg(conv, 2));
        // Replayed after a reconnect, the receipt and the events are dropped.
        assert_eq!(t.check_receipt(Cursor(2)), Verdict::Replay);
        assert_eq!(t.check(Cursor(1), &msg(conv, 1)), Verdict::Replay);
        // Receipts do not hide a real gap either.
        t.advance(Cursor(4));
        assert_eq!(t.check_receipt(Cursor(5)), Verdict::Deliver);
        t.advance(Cursor(5));
        assert_eq!(t.check(Cursor(6), &msg(conv, 5)), Verdict::Gap { after: 2 });
        assert_eq!(t.cursor(), Cursor(5));
    }

    #[test]
    fn advance_never_moves_back_but_reset_does() {
        let conv = ConversationId::new();
        let mut t = Tracker::new(Cursor(10));
        t.advance(Cursor(4));
        assert_eq!(t.cursor(), Cursor(10));
        t.commit(Cursor(11), &msg(conv, 5));
        t.reset(Cursor(3));
        assert_eq!(t.cursor(), Cursor(3));
        // Baselines are gone: seq 9 is not a gap any more.
        assert_eq!(t.check(Cursor(4), &msg(conv, 9)), Verdict::Deliver);
    }
}
