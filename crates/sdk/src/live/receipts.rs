//! Receipts waiting to go out over the live connection, as a pure struct so
//! the coalescing can be tested without a server.

use natter_proto::{ConversationId, Receipt, ReceiptKind, Seq};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A receipt to send: move my `kind` watermark in `conv` up to `seq`. Also
/// what the state file keeps of receipts not yet sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PendingReceipt {
    /// The conversation.
    pub(crate) conv: ConversationId,
    /// Which watermark.
    pub(crate) kind: ReceiptKind,
    /// Up to which seq.
    pub(crate) seq: Seq,
}

/// The receipts asked for and not yet written to a socket, coalesced.
///
/// Watermarks are cumulative and only move forward, so for each
/// conversation and kind only the highest seq asked for matters, and a read
/// receipt makes a delivered one up to the same seq redundant (read implies
/// delivered). That keeps this bounded by the number of conversations, however
/// often the application marks messages, and however long it stays offline.
#[derive(Debug, Default)]
pub(crate) struct Receipts {
    /// Highest seq asked for, per conversation and kind.
    pending: HashMap<(ConversationId, ReceiptKind), Seq>,
    /// My watermarks as the server last reported them (my own receipt
    /// entries in the log): a request at or below them would change
    /// nothing, so it is not sent. Never lowered, as the server's are not.
    /// Only the server's word counts here, not what was written: a receipt
    /// the server refuses (a seq beyond the newest message) must not hide
    /// later, valid ones.
    known: HashMap<ConversationId, Marks>,
    /// Bumped on every change of `pending`, so the task knows when the state
    /// file is out of date.
    version: u64,
}

/// Delivered and read watermarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Marks {
    delivered: Seq,
    read: Seq,
}

impl Marks {
    fn covers(self, kind: ReceiptKind, seq: Seq) -> bool {
        match kind {
            ReceiptKind::Delivered => seq <= self.delivered.max(self.read),
            ReceiptKind::Read => seq <= self.read,
        }
    }
}

impl Receipts {
    /// Receipts loaded from a state file.
    pub(crate) fn from_entries(entries: Vec<PendingReceipt>) -> Receipts {
        let mut receipts = Receipts::default();
        for r in entries {
            receipts.request(r.conv, r.kind, r.seq);
        }
        receipts.version = 0;
        receipts
    }

    /// Asks for my `kind` watermark in `conv` to reach `seq`. Returns true
    /// when this added to what will be sent.
    pub(crate) fn request(&mut self, conv: ConversationId, kind: ReceiptKind, seq: Seq) -> bool {
        if seq == 0 || self.known(conv).covers(kind, seq) {
            return false;
        }
        let slot = self.pending.entry((conv, kind)).or_insert(0);
        if *slot >= seq {
            return false;
        }
        *slot = seq;
        self.version += 1;
        true
    }

    /// Notes my own receipt entry from the log: the server's watermarks.
    /// Pending receipts that it covers are dropped.
    pub(crate) fn observe(&mut self, receipt: &Receipt) {
        let marks = self.known.entry(receipt.conv).or_default();
        marks.delivered = marks.delivered.max(receipt.delivered);
        marks.read = marks.read.max(receipt.read);
        let marks = *marks;
        let before = self.pending.len();
        self.pending
            .retain(|&(conv, kind), seq| conv != receipt.conv || !marks.covers(kind, *seq));
        if self.pending.len() != before {
            self.version += 1;
        }
    }

    /// Takes everything to send now: one receipt per conversation and kind,
    /// none that the server's watermarks or a pending read receipt already
    /// cover. In a stable order (by conversation, read before delivered).
    pub(crate) fn take(&mut self) -> Vec<PendingReceipt> {
        if self.pending.is_empty() {
            return Vec::new();
        }
        self.version += 1;
        let pending = std::mem::take(&mut self.pending);
        let mut out: Vec<PendingReceipt> = pending
            .iter()
            .filter(|&(&(conv, kind), &seq)| {
                if self.known(conv).covers(kind, seq) {
                    return false;
                }
                // A read receipt up to the same seq or beyond implies this
                // delivered one.
                kind != ReceiptKind::Delivered
                    || pending
                        .get(&(conv, ReceiptKind::Read))
                        .is_none_or(|&read| read < seq)
            })
            .map(|(&(conv, kind), &seq)| PendingReceipt { conv, kind, seq })
            .collect();
        out.sort_by_key(|r| (r.conv, r.kind == ReceiptKind::Delivered));
        out
    }

    /// Puts back receipts that could not be written (the connection broke).
    pub(crate) fn restore(&mut self, receipts: impl IntoIterator<Item = PendingReceipt>) {
        for r in receipts {
            self.request(r.conv, r.kind, r.seq);
        }
    }

    /// What is pending, for the state file.
    pub(crate) fn entries(&self) -> Vec<PendingReceipt> {
        let mut out: Vec<PendingReceipt> = self
            .pending
            .iter()
            .map(|(&(conv, kind), &seq)| PendingReceipt { conv, kind, seq })
            .collect();
        out.sort_by_key(|r| (r.conv, r.kind == ReceiptKind::Delivered));
        out
    }

    /// The change counter.
    pub(crate) fn version(&self) -> u64 {
        self.version
    }

    fn known(&self, conv: ConversationId) -> Marks {
        self.known.get(&conv).copied().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use natter_proto::UserId;

    fn pending(conv: ConversationId, kind: ReceiptKind, seq: Seq) -> PendingReceipt {
        PendingReceipt { conv, kind, seq }
    }

    fn mine(conv: ConversationId, delivered: Seq, read: Seq) -> Receipt {
        Receipt {
            conv,
            user: UserId::new(),
            delivered,
            read,
            ts: 0,
        }
    }

    #[test]
    fn requests_coalesce_to_the_highest_seq_per_conversation_and_kind() {
        let (a, b) = (ConversationId::new(), ConversationId::new());
        let mut r = Receipts::default();
        assert!(r.request(a, ReceiptKind::Delivered, 3));
        assert!(r.request(a, ReceiptKind::Delivered, 7));
        assert!(
            !r.request(a, ReceiptKind::Delivered, 5),
            "lower adds nothing"
        );
        assert!(r.request(b, ReceiptKind::Read, 2));
        assert!(!r.request(b, ReceiptKind::Read, 0), "seq 0 is never sent");
        let mut expected = vec![
            pending(a, ReceiptKind::Delivered, 7),
            pending(b, ReceiptKind::Read, 2),
        ];
        expected.sort_by_key(|r| r.conv);
        assert_eq!(r.take(), expected);
        assert!(r.take().is_empty(), "taken once");
    }

    #[test]
    fn a_read_receipt_covers_delivered_up_to_the_same_seq() {
        let conv = ConversationId::new();
        let mut r = Receipts::default();
        r.request(conv, ReceiptKind::Delivered, 4);
        r.request(conv, ReceiptKind::Read, 4);
        assert_eq!(r.take(), vec![pending(conv, ReceiptKind::Read, 4)]);
        // Delivered beyond what is read still goes out, read first.
        r.request(conv, ReceiptKind::Delivered, 9);
        r.request(conv, ReceiptKind::Read, 5);
        assert_eq!(
            r.take(),
            vec![
                pending(conv, ReceiptKind::Read, 5),
                pending(conv, ReceiptKind::Delivered, 9)
            ]
        );
    }

    #[test]
    fn the_servers_watermarks_suppress_what_would_change_nothing() {
        let conv = ConversationId::new();
        let mut r = Receipts::default();
        r.request(conv, ReceiptKind::Delivered, 6);
        r.request(conv, ReceiptKind::Read, 8);
        // Another device of mine read up to 8 meanwhile.
        r.observe(&mine(conv, 8, 8));
        assert!(r.take().is_empty());
        assert!(!r.request(conv, ReceiptKind::Read, 8));
        assert!(
            !r.request(conv, ReceiptKind::Delivered, 8),
            "read implies delivered"
        );
        assert!(r.request(conv, ReceiptKind::Delivered, 9));
        // An older receipt entry does not lower what is known.
        r.observe(&mine(conv, 2, 1));
        assert!(!r.request(conv, ReceiptKind::Read, 8));
        assert_eq!(r.take(), vec![pending(conv, ReceiptKind::Delivered, 9)]);
        // Other conversations are not affected.
        let other = ConversationId::new();
        assert!(r.request(other, ReceiptKind::Read, 1));
    }

    #[test]
    fn unwritten_receipts_are_restored_and_the_version_tracks_changes() {
        let conv = ConversationId::new();
        let mut r = Receipts::from_entries(vec![pending(conv, ReceiptKind::Read, 3)]);
        assert_eq!(r.version(), 0);
        assert_eq!(r.entries(), vec![pending(conv, ReceiptKind::Read, 3)]);
        let taken = r.take();
        assert_eq!(r.version(), 1);
        assert!(r.entries().is_empty());
        // Asked again meanwhile; the restore keeps the higher one.
        r.request(conv, ReceiptKind::Read, 5);
        r.restore(taken);
        assert_eq!(r.entries(), vec![pending(conv, ReceiptKind::Read, 5)]);
        let v = r.version();
        r.observe(&mine(conv, 5, 5));
        assert!(r.entries().is_empty());
        assert!(r.version() > v, "dropping a covered receipt is a change");
    }
}
