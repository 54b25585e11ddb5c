//! Puts each publisher's batches back in order and notices what was lost.
//!
//! Every node publishes its commits as batches numbered 1, 2, 3, … (its
//! [`SourceId`] and `seq`). A broker keeps one publisher's messages in order
//! on the way to one subscriber, but a cluster has several publishers, and a
//! broker may drop a message for a slow subscriber. So per source the
//! dispatcher releases batches in `seq` order; a batch that arrives early
//! waits in a small window for the missing one. When the window fills, or
//! the wait runs out, the missing batch is given up for lost: the hub sends
//! every connection to the store (which has everything committed), and the
//! waiting batches go out. A batch older than what was already released is
//! a duplicate or came too late: the store has served it, so it is dropped.
//!
//! Pure logic with the clock passed in, so tests need no waiting.

use natter_bus::{Batch, SourceId};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a step releases.
#[derive(Default)]
pub struct Released {
    /// Batches to deliver, in order.
    pub ready: Vec<Arc<Batch>>,
    /// Something was lost (or came too late): connections must read the
    /// store.
    pub lost: bool,
}

/// One publisher's progress.
struct Source {
    /// The next `seq` to release.
    next: u64,
    /// Batches that came early, by `seq`.
    held: BTreeMap<u64, Arc<Batch>>,
    /// When the oldest gap opened.
    since: Option<Instant>,
}

impl Source {
    /// Releases what is contiguous from `next` on.
    fn drain(&mut self, out: &mut Released) {
        while let Some(batch) = self.held.remove(&self.next) {
            out.ready.push(batch);
            self.next += 1;
        }
    }

    /// Gives up on the gap before the oldest held batch.
    fn skip_gap(&mut self, out: &mut Released, now: Instant) {
        if let Some((&first, _)) = self.held.first_key_value() {
            self.next = first;
            out.lost = true;
            self.drain(out);
        }
        self.since = (!self.held.is_empty()).then_some(now);
    }
}

/// The dispatcher's reorder state, per publisher.
pub struct Reorder {
    sources: HashMap<SourceId, Source>,
    window: usize,
    wait: Duration,
}

impl Reorder {
    /// Holds at most `window` early batches per source, for at most `wait`.
    pub fn new(window: usize, wait: Duration) -> Self {
        Reorder {
            sources: HashMap::new(),
            window: window.max(1),
            wait,
        }
    }

    /// Takes a batch from the bus.
    pub fn accept(&mut self, batch: Arc<Batch>, now: Instant) -> Released {
        let mut out = Released::default();
        let source = self.sources.entry(batch.source).or_insert_with(|| {
            // A publisher heard of for the first time: what it sent before
            // (if anything) never reached this node.
            if batch.seq != 1 {
                out.lost = true;
            }
            Source {
                next: batch.seq,
                held: BTreeMap::new(),
                since: None,
            }
        });
        if batch.seq < source.next {
            return out;
        }
        source.held.insert(batch.seq, batch);
        source.drain(&mut out);
        if source.held.is_empty() {
            source.since = None;
        } else if source.held.len() > self.window {
            source.skip_gap(&mut out, now);
        } else if source.since.is_none() {
            source.since = Some(now);
        }
        out
    }

    /// When the oldest open gap must be given up, if any is open.
    pub fn deadline(&self) -> Option<Instant> {
        self.sources
            .values()
            .filter_map(|s| s.since)
            .min()
            .map(|since| since + self.wait)
    }

    /// Gives up the gaps that have waited their time.
    pub fn expire(&mut self, now: Instant) -> Released {
        let mut out = Released::default();
        for source in self.sources.values_mut() {
            if source.since.is_some_and(|since| since + self.wait <= now) {
                source.skip_gap(&mut out, now);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(source: u64, seq: u64) -> Arc<Batch> {
        Arc::new(Batch {
            source: SourceId(source),
            seq,
            notices: Vec::new(),
            complete: true,
        })
    }

    fn seqs(r: &Released) -> Vec<(u64, u64)> {
        r.ready.iter().map(|b| (b.source.0, b.seq)).collect()
    }

    #[test]
    fn in_order_batches_pass_straight_through() {
        let mut o = Reorder::new(4, Duration::from_millis(100));
        let t = Instant::now();
        for seq in 1..=3 {
            let r = o.accept(b(1, seq), t);
            assert_eq!(seqs(&r), vec![(1, seq)]);
            assert!(!r.lost);
        }
        assert!(o.deadline().is_none());
    }

    #[test]
    fn an_early_batch_waits_for_the_missing_one() {
        let mut o = Reorder::new(4, Duration::from_millis(100));
        let t = Instant::now();
        o.accept(b(1, 1), t);
        let r = o.accept(b(1, 3), t);
        assert!(r.ready.is_empty() && !r.lost);
        assert_eq!(o.deadline(), Some(t + Duration::from_millis(100)));
        let r = o.accept(b(1, 2), t);
        assert_eq!(seqs(&r), vec![(1, 2), (1, 3)]);
        assert!(!r.lost && o.deadline().is_none());
    }

    #[test]
    fn a_gap_that_outlasts_the_wait_is_lost() {
        let mut o = Reorder::new(4, Duration::from_millis(100));
        let t = Instant::now();
        o.accept(b(1, 1), t);
        o.accept(b(1, 3), t);
        assert!(o.expire(t + Duration::from_millis(50)).ready.is_empty());
        let r = o.expire(t + Duration::from_millis(100));
        assert!(r.lost);
        assert_eq!(seqs(&r), vec![(1, 3)]);
        // The lost one turning up late is dropped: the store served it.
        let r = o.accept(b(1, 2), t);
        assert!(r.ready.is_empty() && !r.lost);
    }

    #[test]
    fn a_full_window_gives_up_at_once() {
        let mut o = Reorder::new(2, Duration::from_secs(60));
        let t = Instant::now();
        o.accept(b(1, 1), t);
        o.accept(b(1, 3), t);
        o.accept(b(1, 4), t);
        let r = o.accept(b(1, 5), t);
        assert!(r.lost);
        assert_eq!(seqs(&r), vec![(1, 3), (1, 4), (1, 5)]);
    }

    #[test]
    fn sources_are_ordered_apart() {
        let mut o = Reorder::new(4, Duration::from_millis(100));
        let t = Instant::now();
        o.accept(b(1, 1), t);
        o.accept(b(2, 1), t);
        assert!(o.accept(b(1, 3), t).ready.is_empty());
        assert_eq!(seqs(&o.accept(b(2, 2), t)), vec![(2, 2)], "not held up");
        assert!(!o.accept(b(1, 1), t).lost, "a duplicate is dropped");
    }

    #[test]
    fn a_source_first_heard_mid_stream_counts_as_a_loss() {
        let mut o = Reorder::new(4, Duration::from_millis(100));
        let r = o.accept(b(9, 7), Instant::now());
        assert!(r.lost);
        assert_eq!(seqs(&r), vec![(9, 7)]);
    }
}
