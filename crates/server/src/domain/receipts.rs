//! Receipts: moving a member's delivered and read watermarks, and who has
//! a message.

use super::conversations::{require_member, viewer_shares_reads};
use crate::auth::{Claims, now_ms};
use crate::error::{DomainError, Result};
use crate::state::AppState;
use natter_proto::*;
use natter_store::*;

/// Who hears of a watermark move, and what each sees. The member's own
/// devices see the truth (read sync across devices). Each sender whose
/// messages the move covers hears of deliveries; of reads only when both
/// the member and the sender share read receipts (otherwise `read` shows 0).
/// A sender who would only hear of a hidden read hears nothing at all, so a
/// hidden read leaves no trace. Messages from before the member joined are
/// not the member's to acknowledge: the store leaves their senders out.
/// In a broadcast channel nobody else hears of it: senders see aggregate
/// views instead (`GET /v1/conversations/{id}/views`), so a post read by
/// 100,000 subscribers does not send its author 100,000 receipts.
pub fn audience(f: &ReceiptFacts) -> Vec<(UserId, Receipt)> {
    let mut out = vec![(f.receipt.user, f.receipt.clone())];
    if f.channel {
        return out;
    }
    for s in &f.senders {
        let visible_read = f.reader_shares_reads && s.shares_reads;
        let hears = s.delivered || (visible_read && s.read);
        if !hears {
            continue;
        }
        let read = if visible_read { f.receipt.read } else { 0 };
        out.push((
            s.user,
            Receipt {
                read,
                ..f.receipt.clone()
            },
        ));
    }
    out
}

/// Most messages one views request covers.
pub const MAX_VIEWS_RANGE: u64 = 500;

/// How many members have read each message of a channel in `from..=to`.
pub async fn views(
    state: &AppState,
    claims: &Claims,
    conv: ConversationId,
    from: Seq,
    to: Seq,
) -> Result<MessageViews> {
    let me = require_member(state, conv, claims.user).await?;
    if from == 0 || to < from || to - from >= MAX_VIEWS_RANGE {
        return Err(DomainError::Invalid(format!(
            "from and to are seqs, 1 <= from <= to, at most {MAX_VIEWS_RANGE} apart"
        )));
    }
    let from = from.max(me.visible_from);
    if to < from {
        return Ok(MessageViews { views: Vec::new() });
    }
    let views = state.store.message_views(conv, from, to).await?;
    Ok(MessageViews {
        views: views
            .into_iter()
            .map(|(seq, views)| SeqViews { seq, views })
            .collect(),
    })
}

/// Moves the caller's delivered or read watermark; returns the watermarks.
pub async fn receipt(
    state: &AppState,
    claims: &Claims,
    conv: ConversationId,
    kind: ReceiptKind,
    seq: Seq,
) -> Result<MemberReceipt> {
    let change = state
        .store
        .set_receipt(NewReceipt {
            conv,
            user: claims.user,
            kind,
            seq,
            now: now_ms(),
            audience,
        })
        .await?;
    let marks = match change {
        ReceiptChange::Moved(c) => match c.item.as_ref() {
            LogItem::Receipt(r) => Watermarks {
                delivered: r.delivered,
                read: r.read,
            },
            _ => {
                return Err(DomainError::internal(
                    "a receipt change committed something else",
                ));
            }
        },
        ReceiptChange::Unchanged(m) => m,
    };
    Ok(MemberReceipt {
        user: claims.user,
        delivered: marks.delivered,
        read: marks.read,
    })
}

/// Who has message `seq`: delivered to N of M, read by N of M, and each
/// member's watermarks.
pub async fn receipt_summary(
    state: &AppState,
    claims: &Claims,
    conv: ConversationId,
    seq: Seq,
) -> Result<ReceiptSummary> {
    let me = require_member(state, conv, claims.user).await?;
    let message = super::messages::message_at(state, claims, &me, conv, seq).await?;
    if me.role == Role::Subscriber
        || state
            .store
            .conversation(conv)
            .await?
            .is_some_and(|c| c.kind == ConversationKind::Channel)
    {
        // A channel shows how many read a post, never who.
        let views = state.store.message_views(conv, seq, seq).await?;
        let read = views.first().map_or(0, |v| v.1);
        return Ok(ReceiptSummary {
            seq,
            total: 0,
            delivered: 0,
            read,
            members: Vec::new(),
        });
    }
    let viewer_shares = viewer_shares_reads(state, claims.user).await?;
    let marks = state.store.watermarks(conv).await?;
    let mut summary = ReceiptSummary {
        seq,
        total: 0,
        delivered: 0,
        read: 0,
        members: Vec::new(),
    };
    for m in marks {
        if m.user == message.sender || m.joined_seq > seq {
            continue;
        }
        let read_visible = m.user == claims.user || (viewer_shares && m.shares_read);
        summary.total += 1;
        if m.marks.delivered >= seq {
            summary.delivered += 1;
        }
        if read_visible && m.marks.read >= seq {
            summary.read += 1;
        }
        summary.members.push(MemberReceipt {
            user: m.user,
            delivered: m.marks.delivered,
            read: if read_visible { m.marks.read } else { 0 },
        });
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(reader_shares_reads: bool, senders: Vec<CoveredSender>) -> ReceiptFacts {
        ReceiptFacts {
            receipt: Receipt {
                conv: ConversationId::new(),
                user: UserId::new(),
                delivered: 5,
                read: 4,
                ts: 1,
            },
            reader_shares_reads,
            channel: false,
            senders,
        }
    }

    fn sender(shares_reads: bool, delivered: bool, read: bool) -> CoveredSender {
        CoveredSender {
            user: UserId::new(),
            shares_reads,
            delivered,
            read,
        }
    }

    #[test]
    fn the_member_always_sees_the_truth() {
        let f = facts(false, Vec::new());
        assert_eq!(audience(&f), vec![(f.receipt.user, f.receipt.clone())]);
    }

    #[test]
    fn reads_show_only_when_both_share() {
        let both = sender(true, true, true);
        let hides = sender(false, true, true);
        let f = facts(true, vec![both, hides]);
        let out = audience(&f);
        assert_eq!(out.len(), 3);
        assert_eq!(out[1], (both.user, f.receipt.clone()));
        assert_eq!(out[2].0, hides.user);
        assert_eq!((out[2].1.delivered, out[2].1.read), (5, 0));
        let f = facts(false, vec![both]);
        assert_eq!(audience(&f)[1].1.read, 0, "a reader who hides reads");
    }

    #[test]
    fn in_a_channel_only_the_reader_hears() {
        let mut f = facts(true, vec![sender(true, true, true)]);
        f.channel = true;
        assert_eq!(audience(&f), vec![(f.receipt.user, f.receipt.clone())]);
    }

    #[test]
    fn a_hidden_read_alone_tells_nobody() {
        let only_read = sender(true, false, true);
        assert_eq!(audience(&facts(false, vec![only_read])).len(), 1);
        assert_eq!(audience(&facts(true, vec![only_read])).len(), 2);
    }
}
