//! The outbox: messages written by the application and not yet acknowledged
//! by the server.

use natter_proto::{ClientId, ConversationId};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// A message waiting for the server's acknowledgement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// The conversation.
    pub conv: ConversationId,
    /// The idempotency key: every (re)send of this entry uses it, so the
    /// server stores the message once however often it is sent.
    pub client_id: ClientId,
    /// The text.
    pub text: String,
}

/// One entry and its delivery state on the current connection.
#[derive(Clone, Debug)]
struct Slot {
    entry: OutboxEntry,
    /// Sent on the current connection, answer pending.
    in_flight: bool,
    /// After a retryable failure: not before this instant.
    not_before: Option<Instant>,
    /// Retryable failures so far, for the retry delay.
    failures: u32,
}

/// The outbox, in the order messages were written.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    slots: Vec<Slot>,
    /// Bumped on every change of the entries, so the task knows when the
    /// state file is out of date.
    version: u64,
}

impl Outbox {
    /// An outbox holding `entries` (loaded from a state file).
    pub(crate) fn from_entries(entries: Vec<OutboxEntry>) -> Outbox {
        Outbox {
            slots: entries
                .into_iter()
                .map(|entry| Slot {
                    entry,
                    in_flight: false,
                    not_before: None,
                    failures: 0,
                })
                .collect(),
            version: 0,
        }
    }

    /// Appends an entry. An entry with the same client id in the same
    /// conversation is replaced rather than duplicated.
    pub(crate) fn push(&mut self, entry: OutboxEntry) {
        self.slots
            .retain(|s| !(s.entry.client_id == entry.client_id && s.entry.conv == entry.conv));
        self.slots.push(Slot {
            entry,
            in_flight: false,
            not_before: None,
            failures: 0,
        });
        self.version += 1;
    }

    /// The entries, oldest first.
    pub(crate) fn entries(&self) -> Vec<OutboxEntry> {
        self.slots.iter().map(|s| s.entry.clone()).collect()
    }

    /// The change counter.
    pub(crate) fn version(&self) -> u64 {
        self.version
    }

    /// The entries to send now (not in flight, not waiting for a retry
    /// delay), marked in flight.
    pub(crate) fn take_ready(&mut self, now: Instant) -> Vec<OutboxEntry> {
        self.slots
            .iter_mut()
            .filter(|s| !s.in_flight && s.not_before.is_none_or(|t| t <= now))
            .map(|s| {
                s.in_flight = true;
                s.not_before = None;
                s.entry.clone()
            })
            .collect()
    }

    /// When the earliest delayed retry becomes due.
    pub(crate) fn next_retry(&self) -> Option<Instant> {
        self.slots
            .iter()
            .filter(|s| !s.in_flight)
            .filter_map(|s| s.not_before)
            .min()
    }

    /// Removes and returns the entry `client_id` in `conv` (acknowledged,
    /// or failed for good). `conv` may be unknown (an error frame without
    /// it).
    pub(crate) fn remove(
        &mut self,
        conv: Option<ConversationId>,
        client_id: &ClientId,
    ) -> Option<OutboxEntry> {
        let i = self.slots.iter().position(|s| {
            &s.entry.client_id == client_id && conv.is_none_or(|c| c == s.entry.conv)
        })?;
        self.version += 1;
        Some(self.slots.remove(i).entry)
    }

    /// A retryable failure: the entry goes back to waiting, for `delay` if
    /// given (the server's `retry_after`), else for a delay that doubles with
    /// each failure. Returns false if there is no such entry.
    pub(crate) fn retry_later(
        &mut self,
        client_id: &ClientId,
        delay: Option<Duration>,
        now: Instant,
    ) -> bool {
        let Some(slot) = self
            .slots
            .iter_mut()
            .find(|s| &s.entry.client_id == client_id)
        else {
            return false;
        };
        slot.failures = slot.failures.saturating_add(1);
        let doubling = Duration::from_millis(100) * 2u32.saturating_pow(slot.failures.min(7));
        let delay = delay.unwrap_or(doubling.min(Duration::from_secs(10)));
        slot.in_flight = false;
        slot.not_before = Some(now + delay);
        true
    }

    /// The connection dropped: whatever was in flight is sent again on the
    /// next one, with the same client id.
    pub(crate) fn disconnected(&mut self) {
        for s in &mut self.slots {
            s.in_flight = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(conv: ConversationId, text: &str) -> OutboxEntry {
        OutboxEntry {
            conv,
            client_id: ClientId::random(),
            text: text.into(),
        }
    }

    #[test]
    fn entries_go_out_once_per_connection_until_acknowledged() {
        let conv = ConversationId::new();
        let mut o = Outbox::default();
        let a = entry(conv, "a");
        let b = entry(conv, "b");
        o.push(a.clone());
        o.push(b.clone());
        let now = Instant::now();
        assert_eq!(o.take_ready(now), vec![a.clone(), b.clone()]);
        assert!(o.take_ready(now).is_empty());
        assert_eq!(o.remove(Some(conv), &a.client_id), Some(a));
        // A drop before the ack: b is sent again, same client id.
        o.disconnected();
        assert_eq!(o.take_ready(now), vec![b.clone()]);
        assert_eq!(o.remove(None, &b.client_id), Some(b));
        assert!(o.entries().is_empty());
    }

    #[test]
    fn retryable_failures_wait() {
        let conv = ConversationId::new();
        let mut o = Outbox::default();
        let a = entry(conv, "a");
        o.push(a.clone());
        let now = Instant::now();
        o.take_ready(now);
        assert!(o.retry_later(&a.client_id, Some(Duration::from_secs(2)), now));
        assert!(o.take_ready(now).is_empty());
        assert_eq!(o.next_retry(), Some(now + Duration::from_secs(2)));
        assert_eq!(o.take_ready(now + Duration::from_secs(2)), vec![a.clone()]);
        assert!(!o.retry_later(&ClientId::random(), None, now));
    }

    #[test]
    fn the_version_counts_changes() {
        let conv = ConversationId::new();
        let mut o = Outbox::from_entries(vec![entry(conv, "a")]);
        assert_eq!(o.version(), 0);
        let b = entry(conv, "b");
        o.push(b.clone());
        o.push(b.clone());
        assert_eq!(o.entries().len(), 2);
        o.take_ready(Instant::now());
        assert_eq!(o.version(), 2);
        o.remove(Some(conv), &b.client_id);
        assert_eq!(o.version(), 3);
    }
}
