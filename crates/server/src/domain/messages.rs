//! Messages: validation, sending (answered once durable) and history
//! pages.

use crate::auth::{Claims, now_ms};
use crate::error::{DomainError, Result};
use crate::state::AppState;
use natter_proto::*;
use natter_store::*;

use super::MAX_HISTORY_PAGE;

/// Checks a message before it goes to the store.
pub fn validate_message(state: &AppState, client_id: &ClientId, text: &str) -> Result<()> {
    if !client_id.is_valid() {
        return Err(DomainError::Invalid(
            "client_id must be 1 to 64 printable ASCII characters".into(),
        ));
    }
    if super::text::is_blank(text) {
        return Err(DomainError::MessageEmpty);
    }
    let max = state.config.limits.max_message_bytes;
    if text.len() > max {
        return Err(DomainError::MessageTooLong {
            len: text.len(),
            max,
        });
    }
    Ok(())
}

/// Sends a message (a reply, a thread reply, with mentions, or a forward:
/// see [`super::rich::extras`]); answers once it is durable.
pub async fn send(
    state: &AppState,
    claims: &Claims,
    conv: ConversationId,
    req: SendMessage,
) -> Result<Sent> {
    let client_id = req.client_id.clone();
    if !client_id.is_valid() {
        return Err(DomainError::Invalid(
            "client_id must be 1 to 64 printable ASCII characters".into(),
        ));
    }
    let (text, extras) = super::rich::extras(state, claims, conv, req).await?;
    if extras.attachments.is_empty() || !text.is_empty() {
        // A message with files may go without a caption.
        validate_message(state, &client_id, &text)?;
    }
    state.actions.sends.hit(&claims.user.to_string())?;
    let appended = state
        .store
        .append_message(NewMessage {
            id: MessageId::new(),
            conv,
            sender: claims.user,
            device: claims.device,
            client_id: client_id.clone(),
            text,
            now: now_ms(),
            extras,
        })
        .await?;
    let accepted = matches!(appended, Appended::Accepted(_));
    let (event, position) = match appended {
        Appended::New(c) | Appended::Accepted(c) => (
            c.event()
                .ok_or_else(|| DomainError::internal("append committed no event"))?
                .clone(),
            Some(c.position),
        ),
        Appended::Duplicate(e) => (e, None),
    };
    let duplicate = position.is_none();
    let id = event
        .message_id()
        .ok_or_else(|| DomainError::internal("appended event is not a message"))?;
    if let Some(position) = position {
        super::typing::message_sent(state, conv, claims.user, position);
    }
    if accepted {
        super::blocks::became_contacts(state, conv).await;
    }
    Ok(Sent {
        conv,
        client_id,
        id,
        seq: event.seq,
        ts: event.ts,
        duplicate,
    })
}

/// A page of history for a member.
pub async fn history(
    state: &AppState,
    claims: &Claims,
    conv: ConversationId,
    q: HistoryQuery,
) -> Result<HistoryPage> {
    let range = match (q.before, q.after) {
        (Some(_), Some(_)) => {
            return Err(DomainError::Invalid(
                "give before or after, not both".into(),
            ));
        }
        (Some(b), None) => HistoryRange::Before(b),
        (None, Some(a)) => HistoryRange::After(a),
        (None, None) => HistoryRange::Latest,
    };
    let limit = q.limit.unwrap_or(50);
    if !(1..=MAX_HISTORY_PAGE).contains(&limit) {
        return Err(DomainError::Invalid("limit must be 1 to 200".into()));
    }
    let slice = state
        .store
        .history(HistoryRequest {
            conv,
            viewer: claims.user,
            range,
            limit,
        })
        .await?;
    Ok(HistoryPage {
        events: slice.events,
        more: slice.more,
    })
}

/// Deletes a message for everyone: its sender within
/// `limits.delete_window_secs` of sending, or a member whose role may delete
/// others' messages (moderators and above) and outranks the sender while
/// the sender is still a member. Answers the `message_deleted` event.
pub async fn delete(
    state: &AppState,
    claims: &Claims,
    conv: ConversationId,
    seq: Seq,
) -> Result<Event> {
    let me = super::conversations::require_member(state, conv, claims.user).await?;
    let none = || DomainError::NotFound("no such message");
    let message = message_at(state, claims, &me, conv, seq).await?;
    let kind = state
        .store
        .conversation(conv)
        .await?
        .ok_or(DomainError::NotMember)?
        .kind;
    let now = now_ms();
    let moderator =
        super::policy::allows(kind, me.role, super::policy::Action::DeleteOthersMessages);
    if message.sender == claims.user {
        let window = state.config.limits.delete_window_secs as i64 * 1000;
        if !moderator && now.saturating_sub(message.ts) > window {
            return Err(DomainError::Forbidden(
                "too late to delete this message: the delete window has passed",
            ));
        }
    } else {
        super::policy::check(kind, me.role, super::policy::Action::DeleteOthersMessages)?;
        if let Some(sender) = state.store.membership(conv, message.sender).await?
            && !me.role.outranks(sender.role)
        {
            return Err(DomainError::Forbidden(
                "you may only delete messages of members whose role is below yours",
            ));
        }
    }
    let committed = state
        .store
        .delete_message(MessageDeletion {
            conv,
            seq,
            by: claims.user,
            now,
        })
        .await
        .map_err(|e| match e {
            StoreError::NotFound => none(),
            other => other.into(),
        })?;
    committed
        .event()
        .cloned()
        .ok_or_else(|| DomainError::internal("a deletion committed no event"))
}

/// The message at `seq` as the caller may read it (at or after their
/// `visible_from`); `not_found` for anything else there, or nothing.
pub(super) async fn message_at(
    state: &AppState,
    claims: &Claims,
    me: &Membership,
    conv: ConversationId,
    seq: Seq,
) -> Result<Event> {
    let none = || DomainError::NotFound("no such message");
    if seq < me.visible_from {
        return Err(none());
    }
    state
        .store
        .history(HistoryRequest {
            conv,
            viewer: claims.user,
            range: HistoryRange::After(seq.saturating_sub(1)),
            limit: 1,
        })
        .await?
        .events
        .into_iter()
        // A message the caller hid for themselves is still there for others.
        .find(|e| {
            e.seq == seq && matches!(e.body, EventBody::Message { .. } | EventBody::Hidden { .. })
        })
        .ok_or_else(none)
}
