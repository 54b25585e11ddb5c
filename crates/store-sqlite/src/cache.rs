//! What the writer remembers between batches. The writer is the only one
//! that changes these values, so its copy is authoritative; it is cleared
//! whenever a job or a batch is rolled back.

use natter_proto::{ConversationId, UserId};
use std::collections::HashMap;
use std::sync::Arc;

/// Bounded so a long-running server does not grow without limit.
const MAX_ENTRIES: usize = 100_000;

#[derive(Default)]
pub(crate) struct WriterCache {
    /// The newest position handed out.
    pub head: Option<u64>,
    /// Newest event seq per conversation.
    pub last_seq: HashMap<ConversationId, u64>,
    /// Member list per conversation, in join order.
    pub members: HashMap<ConversationId, Arc<Vec<UserId>>>,
}

impl WriterCache {
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
