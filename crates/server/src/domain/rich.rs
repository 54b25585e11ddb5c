//! Rich messages: replies, threads, mentions and forwards when sending;
//! edits, hiding, reactions (coalesced in channels), pins and thread read
//! marks afterwards. The store checks targets inside its transaction; this
//! layer checks permissions, windows and input.

use crate::auth::{Claims, now_ms};
use crate::error::{DomainError, Result};
use crate::state::AppState;
use natter_proto::*;
use natter_store::*;
use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use super::conversations::require_member;
use super::policy::{self, Action};

fn no_message() -> DomainError {
    DomainError::NotFound("no such message")
}

/// Maps the store's `NotFound` to "no such message".
fn on_message(e: StoreError) -> DomainError {
    match e {
        StoreError::NotFound => no_message(),
        other => other.into(),
    }
}

/// Checks mention ranges against the text: inside it, on character
/// boundaries, sorted and not overlapping, at most [`MAX_MENTIONS`].
pub fn validate_mentions(text: &str, mentions: &[Mention]) -> Result<()> {
    if mentions.len() > MAX_MENTIONS {
        return Err(DomainError::Invalid(format!(
            "at most {MAX_MENTIONS} mentions per message"
        )));
    }
    let mut end_before = 0usize;
    for m in mentions {
        let (start, end) = (m.start as usize, m.end as usize);
        if start >= end
            || end > text.len()
            || start < end_before
            || !text.is_char_boundary(start)
            || !text.is_char_boundary(end)
        {
            return Err(DomainError::Invalid(
                "a mention's range is outside the text, empty, overlapping, unsorted or not on character boundaries".into(),
            ));
        }
        end_before = end;
    }
    Ok(())
}

async fn kind_of(state: &AppState, conv: ConversationId) -> Result<ConversationKind> {
    Ok(state
        .store
        .conversation(conv)
        .await?
        .ok_or(DomainError::NotMember)?
        .kind)
}

/// Checks `@everyone` / `@here` against the sender's role.
async fn check_mention_all(
    state: &AppState,
    claims: &Claims,
    conv: ConversationId,
    all: Option<MentionAll>,
) -> Result<()> {
    if all.is_some() {
        let me = require_member(state, conv, claims.user).await?;
        policy::check(kind_of(state, conv).await?, me.role, Action::MentionAll)?;
    }
    Ok(())
}

/// The text and extras of a message to send: checks the options of
/// `req`, and for a forward reads the original (which the sender must be
/// able to read) and takes its text.
pub async fn extras(
    state: &AppState,
    claims: &Claims,
    conv: ConversationId,
    req: SendMessage,
) -> Result<(String, MessageExtras)> {
    if req.also_in_conversation && req.thread.is_none() {
        return Err(DomainError::Invalid(
            "also_in_conversation needs a thread".into(),
        ));
    }
    if let Some(from) = req.forward {
        if !req.text.is_empty()
            || req.reply_to.is_some()
            || req.thread.is_some()
            || !req.mentions.is_empty()
            || req.mention_all.is_some()
        {
            return Err(DomainError::Invalid(
                "a forward carries the original's text alone: no text, reply_to, thread or mentions".into(),
            ));
        }
        require_member(state, from.conv, claims.user).await?;
        let original = state
            .store
            .message(from.conv, from.seq, claims.user)
            .await?
            .ok_or_else(no_message)?;
        let EventBody::Message { text, meta, .. } = original.body else {
            return Err(no_message());
        };
        return Ok((
            text,
            MessageExtras {
                forwarded: true,
                // The copy carries the files too: whoever reads it may
                // fetch them.
                attachments: meta.attachments,
                ..MessageExtras::default()
            },
        ));
    }
    validate_mentions(&req.text, &req.mentions)?;
    check_mention_all(state, claims, conv, req.mention_all).await?;
    let attachments = attachments(state, claims, &req.attachments).await?;
    Ok((
        req.text,
        MessageExtras {
            reply_to: req.reply_to,
            thread: req.thread,
            also_in_conversation: req.also_in_conversation,
            forwarded: false,
            mentions: req.mentions,
            mention_all: req.mention_all,
            attachments,
        },
    ))
}

/// The caller's complete uploads, as a message carries them.
async fn attachments(
    state: &AppState,
    claims: &Claims,
    ids: &[UploadId],
) -> Result<Vec<Attachment>> {
    if ids.len() > MAX_ATTACHMENTS {
        return Err(DomainError::Invalid(format!(
            "at most {MAX_ATTACHMENTS} attachments per message"
        )));
    }
    for (i, id) in ids.iter().enumerate() {
        if ids[..i].contains(id) {
            return Err(DomainError::Invalid("an upload is attached twice".into()));
        }
        let rec = state
            .store
            .upload(*id)
            .await?
            .filter(|u| u.owner == claims.user)
            .ok_or(DomainError::NotFound("no such upload"))?;
        if rec.content.is_none() {
            return Err(DomainError::Invalid(
                "an upload is attached before all its bytes arrived".into(),
            ));
        }
    }
    // Pictures still in processing are waited for, so the message carries
    // their size and placeholder.
    super::pictures::settled(
        state,
        ids,
        std::time::Duration::from_millis(state.config.media.processing_wait_ms),
    )
    .await?;
    let mut out: Vec<Attachment> = Vec::with_capacity(ids.len());
    for id in ids {
        let rec = state
            .store
            .upload(*id)
            .await?
            .filter(|u| u.owner == claims.user)
            .ok_or(DomainError::NotFound("no such upload"))?;
        let attached = super::media::attachment(&rec).ok_or_else(|| {
            DomainError::Invalid("an upload is attached before all its bytes arrived".into())
        })?;
        out.push(attached);
    }
    Ok(out)
}

/// Edits my message within the edit window; answers the message as it now
/// is (also when nothing changed).
pub async fn edit(
    state: &AppState,
    claims: &Claims,
    conv: ConversationId,
    seq: Seq,
    req: EditMessage,
) -> Result<Event> {
    require_member(state, conv, claims.user).await?;
    if super::text::is_blank(&req.text) {
        return Err(DomainError::MessageEmpty);
    }
    let max = state.config.limits.max_message_bytes;
    if req.text.len() > max {
        return Err(DomainError::MessageTooLong {
            len: req.text.len(),
            max,
        });
    }
    validate_mentions(&req.text, &req.mentions)?;
    let message = state
        .store
        .message(conv, seq, claims.user)
        .await?
        .filter(|e| matches!(e.body, EventBody::Message { .. }))
        .ok_or_else(no_message)?;
    if message.sender != claims.user {
        return Err(DomainError::Forbidden("only its sender may edit a message"));
    }
    let window = state.config.limits.edit_window_secs as i64 * 1000;
    if now_ms().saturating_sub(message.ts) > window {
        return Err(DomainError::Forbidden(
            "too late to edit this message: the edit window has passed",
        ));
    }
    check_mention_all(state, claims, conv, req.mention_all).await?;
    state
        .store
        .edit_message(MessageEdit {
            conv,
            seq,
            by: claims.user,
            text: req.text,
            mentions: req.mentions,
            mention_all: req.mention_all,
            now: now_ms(),
        })
        .await
        .map_err(on_message)?;
    message_at(state, claims, conv, seq).await
}

/// The event at `seq` as history shows it to me.
pub async fn message_at(
    state: &AppState,
    claims: &Claims,
    conv: ConversationId,
    seq: Seq,
) -> Result<Event> {
    state
        .store
        .message(conv, seq, claims.user)
        .await?
        .ok_or_else(no_message)
}

/// Every version of a message I may read.
pub async fn edits(
    state: &AppState,
    claims: &Claims,
    conv: ConversationId,
    seq: Seq,
) -> Result<EditHistory> {
    let message = message_at(state, claims, conv, seq).await?;
    if !matches!(message.body, EventBody::Message { .. }) {
        return Err(no_message());
    }
    Ok(EditHistory {
        versions: state.store.message_edits(conv, seq).await?,
    })
}

/// Deletes a message for me alone (on all my devices).
pub async fn hide(
    state: &AppState,
    claims: &Claims,
    conv: ConversationId,
    seq: Seq,
) -> Result<PersonalChange> {
    require_member(state, conv, claims.user).await?;
    let (change, _) = state
        .store
        .hide_message(claims.user, conv, seq)
        .await
        .map_err(on_message)?;
    Ok(change)
}

/// Adds (`add`) or takes back my reaction.
pub async fn react(
    state: &AppState,
    claims: &Claims,
    conv: ConversationId,
    seq: Seq,
    emoji: String,
    add: bool,
) -> Result<ReactionState> {
    if !is_emoji(&emoji) {
        return Err(DomainError::Invalid(format!(
            "a reaction is one emoji of at most {MAX_EMOJI_BYTES} bytes"
        )));
    }
    require_member(state, conv, claims.user).await?;
    if add {
        state.actions.sends.hit(&claims.user.to_string())?;
    }
    let outcome = state
        .store
        .react(ReactionRequest {
            conv,
            seq,
            user: claims.user,
            emoji: emoji.clone(),
            add,
            now: now_ms(),
        })
        .await
        .map_err(on_message)?;
    if outcome.coalesce {
        state.reaction_backlog.mark(state, conv, seq);
    }
    Ok(ReactionState {
        seq,
        emoji,
        count: outcome.count,
        me: outcome.me,
    })
}

/// A message's reactions.
pub async fn reactions(
    state: &AppState,
    claims: &Claims,
    conv: ConversationId,
    seq: Seq,
) -> Result<ReactionList> {
    message_at(state, claims, conv, seq).await?;
    Ok(ReactionList {
        reactions: state.store.reactions(conv, seq, claims.user).await?,
    })
}

/// Who reacted with `emoji` (in a channel, only for those who may see its
/// members).
pub async fn reactors(
    state: &AppState,
    claims: &Claims,
    conv: ConversationId,
    seq: Seq,
    emoji: String,
    q: ReactorQuery,
) -> Result<ReactorList> {
    let me = require_member(state, conv, claims.user).await?;
    if kind_of(state, conv).await? == ConversationKind::Channel && !me.role.outranks(Role::Member) {
        return Err(DomainError::Forbidden(
            "in a channel only its owner, admins and moderators see who reacted",
        ));
    }
    message_at(state, claims, conv, seq).await?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=super::MAX_HISTORY_PAGE).contains(&limit) {
        return Err(DomainError::Invalid("limit must be 1 to 200".into()));
    }
    let mut users = state
        .store
        .reactors(conv, seq, emoji, q.after, limit + 1)
        .await?;
    let more = users.len() > limit as usize;
    users.truncate(limit as usize);
    Ok(ReactorList {
        users: users
            .into_iter()
            .map(|r| Reactor {
                user: r.user,
                username: r.username,
                display_name: r.display_name,
                at: r.at,
            })
            .collect(),
        more,
    })
}

/// Pins or unpins a message; `None` when it already was (or was not)
/// pinned.
pub async fn pin(
    state: &AppState,
    claims: &Claims,
    conv: ConversationId,
    seq: Seq,
    pinned: bool,
) -> Result<Option<Event>> {
    let me = require_member(state, conv, claims.user).await?;
    policy::check(kind_of(state, conv).await?, me.role, Action::Pin)?;
    if seq < me.visible_from {
        return Err(no_message());
    }
    let committed = state
        .store
        .set_pin(
            conv,
            seq,
            claims.user,
            pinned,
            state.config.limits.max_pins,
            now_ms(),
        )
        .await
        .map_err(on_message)?;
    Ok(committed.and_then(|c| c.event().cloned()))
}

/// The pinned messages.
pub async fn pins(state: &AppState, claims: &Claims, conv: ConversationId) -> Result<PinList> {
    require_member(state, conv, claims.user).await?;
    Ok(PinList {
        pins: state
            .store
            .pins(conv, claims.user)
            .await?
            .into_iter()
            .map(|p| PinInfo {
                message: p.message,
                by: p.by,
                at: p.at,
            })
            .collect(),
    })
}

/// A page of a thread.
pub async fn thread(
    state: &AppState,
    claims: &Claims,
    conv: ConversationId,
    root: Seq,
    q: ThreadQuery,
) -> Result<ThreadPage> {
    require_member(state, conv, claims.user).await?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=super::MAX_HISTORY_PAGE).contains(&limit) {
        return Err(DomainError::Invalid("limit must be 1 to 200".into()));
    }
    let slice = state
        .store
        .thread(conv, root, claims.user, q.after.unwrap_or(0), limit)
        .await
        .map_err(on_message)?;
    Ok(ThreadPage {
        root: slice.root,
        events: slice.events,
        more: slice.more,
    })
}

/// Marks a thread read up to `seq`.
pub async fn read_thread(
    state: &AppState,
    claims: &Claims,
    conv: ConversationId,
    root: Seq,
    seq: Seq,
) -> Result<PersonalChange> {
    require_member(state, conv, claims.user).await?;
    let (change, _) = state
        .store
        .read_thread(claims.user, conv, root, seq)
        .await
        .map_err(on_message)?;
    Ok(change)
}

/// Channel messages whose reactions changed since their channel's last
/// `reaction_counts` event. The first change in a channel starts a timer of
/// `limits.reaction_flush_ms`; when it fires, one event carries the counts
/// of every message marked meanwhile. So a channel costs at most one
/// fan-out per interval however many reactions arrive. Counts are in the
/// database from the moment of the reaction: an announcement lost to a
/// restart only delays what history already shows.
#[derive(Default)]
pub struct ReactionBacklog {
    pending: Mutex<HashMap<ConversationId, BTreeSet<Seq>>>,
}

impl ReactionBacklog {
    /// Marks a message of a channel as changed.
    pub fn mark(&self, state: &AppState, conv: ConversationId, seq: Seq) {
        let first = {
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            let entry = pending.entry(conv).or_default();
            let first = entry.is_empty();
            entry.insert(seq);
            first
        };
        if !first {
            return;
        }
        let state = state.clone();
        let wait = std::time::Duration::from_millis(state.config.limits.reaction_flush_ms.max(10));
        tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            let targets = state
                .reaction_backlog
                .pending
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&conv)
                .unwrap_or_default();
            if targets.is_empty() {
                return;
            }
            if let Err(e) = state
                .store
                .reaction_counts(conv, targets.into_iter().collect(), now_ms())
                .await
            {
                tracing::warn!(%conv, error = %e, "announcing reaction counts failed");
            }
        });
    }
}
