//! Receipts: moving a member's delivered and read watermarks, and who has
//! a message.

use super::conversations::{require_member, viewer_shares_reads};
use crate::auth::{Claims, now_ms};
use crate::error::{DomainError, Result};
use crate::state::AppState;
use natter_proto::*;
use natter_store::*;

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
    if seq < me.joined_seq {
        return Err(DomainError::NotFound("no such message"));
    }
    let page = state
        .store
        .history(HistoryRequest {
            conv,
            viewer: claims.user,
            range: HistoryRange::After(seq.saturating_sub(1)),
            limit: 1,
        })
        .await?;
    let message = page
        .events
        .into_iter()
        .find(|e| e.seq == seq && matches!(e.body, EventBody::Message { .. }))
        .ok_or(DomainError::NotFound("no such message"))?;
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
