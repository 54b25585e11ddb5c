//! What the writer remembers between batches. The writer is the only one
//! that changes these values, so its copy is authoritative; it is cleared
//! whenever a job or a batch is rolled back.

use natter_proto::{ConversationId, UserId};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Bounded so a long-running server does not grow without limit.
const MAX_ENTRIES: usize = 100_000;

/// The values the writer would otherwise read at every job.
#[derive(Default)]
pub(crate) struct WriterCache {
    /// The newest position handed out.
    pub head: Option<u64>,
    /// Newest event seq per conversation.
    pub last_seq: HashMap<ConversationId, u64>,
    /// Members per conversation.
    pub members: HashMap<ConversationId, Arc<Members>>,
}

impl WriterCache {
    /// Forgets everything (after a rollback, or when over the bound).
    pub(crate) fn clear(&mut self) {
        self.head = None;
        self.last_seq.clear();
        self.members.clear();
    }

    /// Drops everything when it has grown past its bound.
    pub(crate) fn trim(&mut self) {
        if self.last_seq.len() > MAX_ENTRIES || self.members.len() > MAX_ENTRIES {
            self.clear();
        }
    }
}

/// A conversation's members as the writer keeps them: every append checks
/// that the sender is among them, so the check must not cost a walk through
/// a large group's list.
pub(crate) struct Members {
    /// In join order; handed out as the recipients of the conversation's
    /// events without a copy.
    order: Arc<Vec<UserId>>,
    /// The same users, for membership checks in constant time.
    set: HashSet<UserId>,
    /// A direct conversation: appends check blocks and requests.
    direct: bool,
}

impl Members {
    /// Members in join order (`order` holds no duplicates).
    pub(crate) fn new(order: Vec<UserId>, direct: bool) -> Self {
        let set = order.iter().copied().collect();
        Self {
            order: Arc::new(order),
            set,
            direct,
        }
    }

    /// Whether the conversation is a direct one.
    pub(crate) fn is_direct(&self) -> bool {
        self.direct
    }

    /// Whether `user` is a member.
    pub(crate) fn contains(&self, user: &UserId) -> bool {
        self.set.contains(user)
    }

    /// How many members there are.
    pub(crate) fn len(&self) -> usize {
        self.order.len()
    }

    /// The members in join order.
    pub(crate) fn order(&self) -> &Arc<Vec<UserId>> {
        &self.order
    }

    /// These members followed by `fresh` (who must not be members yet).
    pub(crate) fn with(&self, fresh: &[UserId]) -> Self {
        let mut order = Vec::with_capacity(self.order.len() + fresh.len());
        order.extend_from_slice(&self.order);
        order.extend_from_slice(fresh);
        let mut set = self.set.clone();
        set.extend(fresh.iter().copied());
        Self {
            order: Arc::new(order),
            set,
            direct: self.direct,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_keep_join_order_and_answer_membership() {
        let (a, b, c, d) = (UserId::new(), UserId::new(), UserId::new(), UserId::new());
        let first = Members::new(vec![b, a], false);
        assert!(first.contains(&a) && first.contains(&b) && !first.contains(&c));
        let more = first.with(&[d, c]);
        assert_eq!(more.order().as_slice(), &[b, a, d, c]);
        assert_eq!(more.len(), 4);
        assert!(more.contains(&c) && more.contains(&d));
        // The earlier value is untouched: jobs may still hold it.
        assert_eq!(first.len(), 2);
        assert!(!first.contains(&c));
    }
}
