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
    /// Groups known to have neither slow mode nor a muted member: their
    /// messages skip the posting checks (a read per message otherwise).
    /// A change of either drops the group from here.
    pub unrestricted: HashSet<ConversationId>,
}

impl WriterCache {
    /// Forgets everything (after a rollback, or when over the bound).
    pub(crate) fn clear(&mut self) {
        self.head = None;
        self.last_seq.clear();
        self.members.clear();
        self.unrestricted.clear();
    }

    /// Drops everything when it has grown past its bound.
    pub(crate) fn trim(&mut self) {
        if self.last_seq.len() > MAX_ENTRIES
            || self.members.len() > MAX_ENTRIES
            || self.unrestricted.len() > MAX_ENTRIES
        {
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
    /// Group members with an invitation they have not accepted: their
    /// first message accepts it.
    pending: HashSet<UserId>,
}

impl Members {
    /// Members in join order (`order` holds no duplicates); `pending` are
    /// those of a group with an open invitation.
    pub(crate) fn new(order: Vec<UserId>, direct: bool, pending: HashSet<UserId>) -> Self {
        let set = order.iter().copied().collect();
        Self {
            order: Arc::new(order),
            set,
            direct,
            pending,
        }
    }

    /// Whether `user` has a group invitation they have not accepted.
    pub(crate) fn is_pending(&self, user: &UserId) -> bool {
        self.pending.contains(user)
    }

    /// The same members, with `user`'s invitation accepted.
    pub(crate) fn accepting(&self, user: &UserId) -> Self {
        let mut pending = self.pending.clone();
        pending.remove(user);
        Self {
            order: self.order.clone(),
            set: self.set.clone(),
            direct: self.direct,
            pending,
        }
    }

    /// The same members without `user`.
    pub(crate) fn without(&self, user: &UserId) -> Self {
        let order: Vec<UserId> = self.order.iter().filter(|m| *m != user).copied().collect();
        let mut pending = self.pending.clone();
        pending.remove(user);
        Self::new(order, self.direct, pending)
    }

    /// Adds `user` (not a member yet) to the cached members: in place when
    /// nothing else holds them, so a subscriber joining a large channel
    /// copies nothing; otherwise by copy.
    pub(crate) fn push(members: &mut Arc<Members>, user: UserId) {
        if let Some(m) = Arc::get_mut(members)
            && let Some(order) = Arc::get_mut(&mut m.order)
        {
            order.push(user);
            m.set.insert(user);
            return;
        }
        *members = Arc::new(members.with(&[user], &[]));
    }

    /// Takes `user` out of the cached members, in place when nothing else
    /// holds them; otherwise by copy.
    pub(crate) fn remove(members: &mut Arc<Members>, user: &UserId) {
        if let Some(m) = Arc::get_mut(members)
            && let Some(order) = Arc::get_mut(&mut m.order)
        {
            if let Some(i) = order.iter().position(|u| u == user) {
                order.remove(i);
            }
            m.set.remove(user);
            m.pending.remove(user);
            return;
        }
        *members = Arc::new(members.without(user));
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

    /// These members followed by `fresh` (who must not be members yet),
    /// the `invited` among them with an open invitation.
    pub(crate) fn with(&self, fresh: &[UserId], invited: &[UserId]) -> Self {
        let mut order = Vec::with_capacity(self.order.len() + fresh.len());
        order.extend_from_slice(&self.order);
        order.extend_from_slice(fresh);
        let mut set = self.set.clone();
        set.extend(fresh.iter().copied());
        let mut pending = self.pending.clone();
        pending.extend(invited.iter().copied());
        Self {
            order: Arc::new(order),
            set,
            direct: self.direct,
            pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_keep_join_order_and_answer_membership() {
        let (a, b, c, d) = (UserId::new(), UserId::new(), UserId::new(), UserId::new());
        let first = Members::new(vec![b, a], false, HashSet::new());
        assert!(first.contains(&a) && first.contains(&b) && !first.contains(&c));
        let more = first.with(&[d, c], &[c]);
        assert_eq!(more.order().as_slice(), &[b, a, d, c]);
        assert_eq!(more.len(), 4);
        assert!(more.contains(&c) && more.contains(&d));
        assert!(more.is_pending(&c) && !more.is_pending(&d));
        // The earlier value is untouched: jobs may still hold it.
        assert_eq!(first.len(), 2);
        assert!(!first.contains(&c));
    }

    #[test]
    fn pushing_and_removing_work_in_place_and_leave_shared_values_alone() {
        let (a, b, c) = (UserId::new(), UserId::new(), UserId::new());
        let mut own = Arc::new(Members::new(vec![a], false, HashSet::new()));
        Members::push(&mut own, b);
        assert_eq!(own.order().as_slice(), &[a, b]);
        let held = own.order().clone();
        Members::push(&mut own, c);
        assert_eq!(own.order().as_slice(), &[a, b, c]);
        assert!(own.contains(&c));
        assert_eq!(
            held.as_slice(),
            &[a, b],
            "a recipient list handed out stays as it was"
        );
        Members::remove(&mut own, &b);
        assert_eq!(own.order().as_slice(), &[a, c]);
        assert!(!own.contains(&b));
    }

    #[test]
    fn leaving_and_accepting_change_only_that_member() {
        let (a, b, c) = (UserId::new(), UserId::new(), UserId::new());
        let all = Members::new(vec![a, b, c], false, [b, c].into_iter().collect());
        let accepted = all.accepting(&b);
        assert!(!accepted.is_pending(&b) && accepted.is_pending(&c));
        assert_eq!(accepted.order().as_slice(), &[a, b, c]);
        let left = accepted.without(&c);
        assert_eq!(left.order().as_slice(), &[a, b]);
        assert!(!left.contains(&c) && !left.is_pending(&c));
        assert!(all.is_pending(&b), "the earlier value is untouched");
    }
}
