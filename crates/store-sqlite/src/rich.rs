//! Rich messages: what a message carries besides its text (checked and
//! recorded when it is appended), the operations on earlier messages
//! (edit, hide, react, pin, read a thread), and what history fills in when
//! it is read (reply snippets, reactions, thread summaries, pins, hidden
//! messages).

use crate::commit::{Change, commit_event, commit_user_item, last_seq_of, members_of};
use crate::conversations::membership;
use crate::db_err;
use crate::rows::{EVENT_COLS, EventRow, message_id, stored_meta, user_id};
use crate::writer::Ctx;
use natter_proto::{
    ConversationId, EditVersion, Event, EventBody, LogItem, MessageId, MessageMeta, PersonalChange,
    ReactionCount, ReplyTo, SNIPPET_CHARS, Seq, TargetReactions, ThreadSummary, UserId,
};
use natter_store::{
    Committed, Edited, MessageEdit, MessageExtras, NewMessage, PinRecord, ReactionOutcome,
    ReactionRequest, ReactorRecord, Result, StoreError, ThreadSlice,
};
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::HashMap;

/// The user id that stands for everyone in the `mentions` table.
const EVERYONE: [u8; 16] = [0; 16];
/// Most participants a thread summary names.
const THREAD_PARTICIPANTS: usize = 5;

/// A message row as the operations need it.
struct Target {
    kind: String,
    id: Option<MessageId>,
    sender: UserId,
    text: Option<String>,
    meta: MessageMeta,
    ts: i64,
}

fn target(c: &Connection, conv: &ConversationId, seq: Seq) -> Result<Option<Target>> {
    type Row = (
        String,
        Option<Vec<u8>>,
        Vec<u8>,
        Option<String>,
        Option<String>,
        i64,
    );
    let row: Option<Row> = c
        .prepare_cached(
            "SELECT kind, msg_id, sender, text, payload, ts FROM events
             WHERE conv_id = ?1 AND seq = ?2",
        )
        .and_then(|mut s| {
            s.query_row(params![conv.as_bytes(), seq as i64], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })
            .optional()
        })
        .map_err(db_err)?;
    let Some((kind, id, sender, text, payload, ts)) = row else {
        return Ok(None);
    };
    let meta = match (kind.as_str(), payload) {
        ("message", Some(json)) => serde_json::from_str(&json)
            .map_err(|e| StoreError::Internal(format!("decode message meta: {e}")))?,
        _ => MessageMeta::default(),
    };
    Ok(Some(Target {
        kind,
        id: id.as_deref().map(message_id).transpose()?,
        sender: user_id(&sender)?,
        text,
        meta,
        ts,
    }))
}

/// The message (not deleted) at `seq` that `user` may read: at or after
/// their `visible_from`. `NotFound` otherwise; `NotMember`.
fn readable_message(
    c: &Connection,
    conv: &ConversationId,
    user: &UserId,
    seq: Seq,
) -> Result<Target> {
    let me = membership(c, conv, user)?.ok_or(StoreError::NotMember)?;
    if seq < me.visible_from {
        return Err(StoreError::NotFound);
    }
    match target(c, conv, seq)? {
        Some(t) if t.kind == "message" => Ok(t),
        _ => Err(StoreError::NotFound),
    }
}

fn snippet(text: &str) -> String {
    text.chars().take(SNIPPET_CHARS).collect()
}

/// Checks what a new message carries against the conversation and builds
/// the meta it is stored with (the reply's snippet included, for the live
/// event).
pub(crate) fn prepare(ctx: &mut Ctx<'_>, msg: &NewMessage) -> Result<MessageMeta> {
    let x: &MessageExtras = &msg.extras;
    let mut meta = MessageMeta {
        forwarded: x.forwarded,
        mentions: x.mentions.clone(),
        mention_all: x.mention_all,
        attachments: x.attachments.clone(),
        ..MessageMeta::default()
    };
    if !x.mentions.is_empty() {
        let members = members_of(ctx, &msg.conv)?;
        if x.mentions.iter().any(|m| !members.contains(&m.user)) {
            return Err(StoreError::Invalid("a mentioned user is not a member"));
        }
    }
    if let Some(seq) = x.reply_to {
        let t = readable_message(ctx.conn, &msg.conv, &msg.sender, seq)?;
        meta.reply_to = Some(ReplyTo {
            seq,
            id: t.id.ok_or(StoreError::NotFound)?,
            sender: t.sender,
            snippet: t.text.as_deref().map(snippet),
            deleted: false,
        });
    }
    if let Some(root) = x.thread {
        let t = readable_message(ctx.conn, &msg.conv, &msg.sender, root)?;
        if t.meta.thread.is_some() {
            return Err(StoreError::Invalid("a thread reply cannot start a thread"));
        }
        meta.thread = Some(root);
        meta.also_in_conversation = x.also_in_conversation;
        let replies: Option<i64> = ctx
            .conn
            .prepare_cached("SELECT replies FROM threads WHERE conv_id = ?1 AND root = ?2")
            .and_then(|mut s| {
                s.query_row(params![msg.conv.as_bytes(), root as i64], |r| r.get(0))
                    .optional()
            })
            .map_err(db_err)?;
        meta.thread_replies = Some(replies.unwrap_or(0) as u64 + 1);
    }
    Ok(meta)
}

/// Records a new message's mentions and thread.
pub(crate) fn after_append(ctx: &mut Ctx<'_>, ev: &Event) -> Result<()> {
    let EventBody::Message { meta, .. } = &ev.body else {
        return Ok(());
    };
    if !meta.mentions.is_empty() || meta.mention_all.is_some() {
        insert_mentions(ctx.conn, ev.conv, ev.seq, ev.sender, meta)?;
    }
    for a in &meta.attachments {
        ctx.conn
            .prepare_cached(
                "INSERT OR IGNORE INTO message_uploads (upload_id, conv_id, seq) VALUES (?1, ?2, ?3)",
            )
            .and_then(|mut s| s.execute(params![a.upload.as_bytes(), ev.conv.as_bytes(), ev.seq as i64]))
            .map_err(db_err)?;
    }
    if let Some(root) = meta.thread {
        let conv = ev.conv.as_bytes();
        let old: Option<String> = ctx
            .conn
            .prepare_cached("SELECT participants FROM threads WHERE conv_id = ?1 AND root = ?2")
            .and_then(|mut s| {
                s.query_row(params![conv, root as i64], |r| r.get(0))
                    .optional()
            })
            .map_err(db_err)?;
        let mut people: Vec<UserId> = match old {
            Some(json) => serde_json::from_str(&json)
                .map_err(|e| StoreError::Internal(format!("decode participants: {e}")))?,
            None => Vec::new(),
        };
        people.retain(|u| *u != ev.sender);
        people.insert(0, ev.sender);
        people.truncate(THREAD_PARTICIPANTS);
        let people = serde_json::to_string(&people)
            .map_err(|e| StoreError::Internal(format!("encode participants: {e}")))?;
        ctx.conn
            .prepare_cached(
                "INSERT INTO threads (conv_id, root, replies, last_seq, last_at, participants)
                 VALUES (?1, ?2, 1, ?3, ?4, ?5)
                 ON CONFLICT (conv_id, root) DO UPDATE SET replies = replies + 1,
                     last_seq = ?3, last_at = ?4, participants = ?5",
            )
            .and_then(|mut s| s.execute(params![conv, root as i64, ev.seq as i64, ev.ts, people]))
            .map_err(db_err)?;
    }
    Ok(())
}

/// Records who a message mentions (a new message has no rows yet; an
/// edit deletes the old ones first).
fn insert_mentions(
    c: &Connection,
    conv: ConversationId,
    seq: Seq,
    sender: UserId,
    meta: &MessageMeta,
) -> Result<()> {
    let mut stmt = c
        .prepare_cached(
            "INSERT OR IGNORE INTO mentions (conv_id, user_id, seq, sender) VALUES (?1, ?2, ?3, ?4)",
        )
        .map_err(db_err)?;
    let everyone = meta.mention_all.map(|_| EVERYONE);
    for user in meta
        .mentions
        .iter()
        .map(|m| *m.user.as_bytes())
        .chain(everyone)
    {
        stmt.execute(params![
            conv.as_bytes(),
            user.as_slice(),
            seq as i64,
            sender.as_bytes()
        ])
        .map_err(db_err)?;
    }
    Ok(())
}

/// Edits a message's text (see [`natter_store::Store::edit_message`]).
pub(crate) fn edit_message(ctx: &mut Ctx<'_>, e: &MessageEdit) -> Result<Edited> {
    let members = members_of(ctx, &e.conv)?;
    if !members.contains(&e.by) {
        return Err(StoreError::NotMember);
    }
    if e.mentions.iter().any(|m| !members.contains(&m.user)) {
        return Err(StoreError::Invalid("a mentioned user is not a member"));
    }
    let t = match target(ctx.conn, &e.conv, e.seq)? {
        Some(t) if t.kind == "message" && t.sender == e.by => t,
        _ => return Err(StoreError::NotFound),
    };
    let old_text = t.text.clone().unwrap_or_default();
    if old_text == e.text && t.meta.mentions == e.mentions && t.meta.mention_all == e.mention_all {
        return Ok(Edited::Unchanged);
    }
    let conv = e.conv.as_bytes();
    ctx.conn
        .prepare_cached(
            "INSERT INTO message_edits (conv_id, seq, version, text, at)
             VALUES (?1, ?2, (SELECT COUNT(*) + 1 FROM message_edits WHERE conv_id = ?1 AND seq = ?2), ?3, ?4)",
        )
        .and_then(|mut s| {
            s.execute(params![
                conv,
                e.seq as i64,
                old_text,
                t.meta.edited_at.unwrap_or(t.ts)
            ])
        })
        .map_err(db_err)?;
    let meta = MessageMeta {
        mentions: e.mentions.clone(),
        mention_all: e.mention_all,
        edited_at: Some(e.now),
        ..t.meta
    };
    let payload = stored_meta(&meta)?;
    ctx.conn
        .prepare_cached("UPDATE events SET text = ?3, payload = ?4 WHERE conv_id = ?1 AND seq = ?2")
        .and_then(|mut s| s.execute(params![conv, e.seq as i64, e.text, payload]))
        .map_err(db_err)?;
    crate::search::reindex(ctx.conn, &e.conv, e.seq, &e.text)?;
    ctx.conn
        .prepare_cached("DELETE FROM mentions WHERE conv_id = ?1 AND seq = ?2")
        .and_then(|mut s| s.execute(params![conv, e.seq as i64]))
        .map_err(db_err)?;
    insert_mentions(ctx.conn, e.conv, e.seq, e.by, &meta)?;
    let seq = last_seq_of(ctx, &e.conv)?.ok_or(StoreError::NotMember)? + 1;
    let event = Event {
        conv: e.conv,
        seq,
        ts: e.now,
        sender: e.by,
        body: EventBody::MessageEdited {
            target: e.seq,
            id: t.id.ok_or(StoreError::NotFound)?,
            text: e.text.clone(),
            mentions: e.mentions.clone(),
            mention_all: e.mention_all,
            edited_at: e.now,
        },
    };
    commit_event(ctx, event, members.order().clone(), Change::default()).map(Edited::New)
}

/// Every version of a message's text, the original first.
pub(crate) fn message_edits(
    c: &Connection,
    conv: &ConversationId,
    seq: Seq,
) -> Result<Vec<EditVersion>> {
    let Some(t) = target(c, conv, seq)? else {
        return Ok(Vec::new());
    };
    if t.kind != "message" {
        return Ok(Vec::new());
    }
    let mut stmt = c
        .prepare_cached(
            "SELECT text, at FROM message_edits WHERE conv_id = ?1 AND seq = ?2 ORDER BY version",
        )
        .map_err(db_err)?;
    let mut versions = stmt
        .query_map(params![conv.as_bytes(), seq as i64], |r| {
            Ok(EditVersion {
                text: r.get(0)?,
                at: r.get(1)?,
            })
        })
        .map_err(db_err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db_err)?;
    versions.push(EditVersion {
        text: t.text.unwrap_or_default(),
        at: t.meta.edited_at.unwrap_or(t.ts),
    });
    Ok(versions)
}

/// Removes what belongs to a message deleted for everyone: its earlier
/// versions (and the text of its `message_edited` events), reactions, pin
/// and mentions.
pub(crate) fn forget_message(c: &Connection, conv: &ConversationId, seq: Seq) -> Result<()> {
    let conv = conv.as_bytes();
    for sql in [
        "DELETE FROM message_edits WHERE conv_id = ?1 AND seq = ?2",
        "DELETE FROM reactions WHERE conv_id = ?1 AND seq = ?2",
        "DELETE FROM pins WHERE conv_id = ?1 AND seq = ?2",
        "DELETE FROM mentions WHERE conv_id = ?1 AND seq = ?2",
        "DELETE FROM message_uploads WHERE conv_id = ?1 AND seq = ?2",
        "UPDATE events SET payload = json_set(payload, '$.text', '')
         WHERE conv_id = ?1 AND target = ?2 AND kind = 'message_edited'",
    ] {
        c.prepare_cached(sql)
            .and_then(|mut s| s.execute(params![conv, seq as i64]))
            .map_err(db_err)?;
    }
    Ok(())
}

/// Hides a message for one user.
pub(crate) fn hide_message(
    ctx: &mut Ctx<'_>,
    user: &UserId,
    conv: &ConversationId,
    seq: Seq,
) -> Result<(PersonalChange, Option<Committed>)> {
    let me = membership(ctx.conn, conv, user)?.ok_or(StoreError::NotMember)?;
    let t = target(ctx.conn, conv, seq)?.ok_or(StoreError::NotFound)?;
    if seq < me.visible_from || !matches!(t.kind.as_str(), "message" | "deleted") {
        return Err(StoreError::NotFound);
    }
    let id = t.id.ok_or(StoreError::NotFound)?;
    let change = PersonalChange::Hidden {
        conv: *conv,
        seq,
        id,
    };
    let added = ctx
        .conn
        .prepare_cached("INSERT OR IGNORE INTO hidden (user_id, conv_id, seq) VALUES (?1, ?2, ?3)")
        .and_then(|mut s| s.execute(params![user.as_bytes(), conv.as_bytes(), seq as i64]))
        .map_err(db_err)?;
    if added == 0 {
        return Ok((change, None));
    }
    let committed = commit_user_item(ctx, *user, *conv, LogItem::Personal(change.clone()))?;
    Ok((change, Some(committed)))
}

fn emoji_count(c: &Connection, conv: &ConversationId, seq: Seq, emoji: &str) -> Result<u64> {
    c.prepare_cached(
        "SELECT COUNT(*) FROM reactions WHERE conv_id = ?1 AND seq = ?2 AND emoji = ?3",
    )
    .and_then(|mut s| {
        s.query_row(params![conv.as_bytes(), seq as i64, emoji], |r| {
            r.get::<_, i64>(0)
        })
    })
    .map(|n| n as u64)
    .map_err(db_err)
}

/// Adds or takes back a reaction.
pub(crate) fn react(ctx: &mut Ctx<'_>, r: &ReactionRequest) -> Result<ReactionOutcome> {
    let t = readable_message(ctx.conn, &r.conv, &r.user, r.seq)?;
    let id = t.id.ok_or(StoreError::NotFound)?;
    let (conv, user) = (r.conv.as_bytes(), r.user.as_bytes());
    let changed = if r.add {
        let exists: bool = ctx
            .conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM reactions
                  WHERE conv_id = ?1 AND seq = ?2 AND emoji = ?3 AND user_id = ?4)",
            )
            .and_then(|mut s| s.query_row(params![conv, r.seq as i64, r.emoji, user], |x| x.get(0)))
            .map_err(db_err)?;
        if !exists {
            let mine: i64 = ctx
                .conn
                .prepare_cached(
                    "SELECT COUNT(*) FROM reactions WHERE conv_id = ?1 AND seq = ?2 AND user_id = ?3",
                )
                .and_then(|mut s| s.query_row(params![conv, r.seq as i64, user], |x| x.get(0)))
                .map_err(db_err)?;
            if mine as usize >= natter_proto::MAX_REACTIONS_PER_USER {
                return Err(StoreError::Invalid(
                    "too many different reactions on one message",
                ));
            }
            ctx.conn
                .prepare_cached(
                    "INSERT INTO reactions (conv_id, seq, emoji, user_id, at) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .and_then(|mut s| s.execute(params![conv, r.seq as i64, r.emoji, user, r.now]))
                .map_err(db_err)?;
        }
        !exists
    } else {
        ctx.conn
            .prepare_cached(
                "DELETE FROM reactions WHERE conv_id = ?1 AND seq = ?2 AND emoji = ?3 AND user_id = ?4",
            )
            .and_then(|mut s| s.execute(params![conv, r.seq as i64, r.emoji, user]))
            .map_err(db_err)?
            > 0
    };
    let count = emoji_count(ctx.conn, &r.conv, r.seq, &r.emoji)?;
    let channel = is_channel(ctx.conn, &r.conv)?;
    let committed = match (changed, channel) {
        (false, _) => None,
        (true, true) => Some(commit_user_item(
            ctx,
            r.user,
            r.conv,
            LogItem::Personal(PersonalChange::Reaction {
                conv: r.conv,
                seq: r.seq,
                emoji: r.emoji.clone(),
                added: r.add,
                count,
            }),
        )?),
        (true, false) => {
            let members = members_of(ctx, &r.conv)?;
            let seq = last_seq_of(ctx, &r.conv)?.ok_or(StoreError::NotMember)? + 1;
            let (target, emoji) = (r.seq, r.emoji.clone());
            let body = if r.add {
                EventBody::ReactionAdded {
                    target,
                    id,
                    emoji,
                    count,
                }
            } else {
                EventBody::ReactionRemoved {
                    target,
                    id,
                    emoji,
                    count,
                }
            };
            let event = Event {
                conv: r.conv,
                seq,
                ts: r.now,
                sender: r.user,
                body,
            };
            Some(commit_event(
                ctx,
                event,
                members.order().clone(),
                Change::default(),
            )?)
        }
    };
    Ok(ReactionOutcome {
        count,
        me: r.add,
        committed,
        coalesce: changed && channel,
    })
}

fn is_channel(c: &Connection, conv: &ConversationId) -> Result<bool> {
    c.prepare_cached("SELECT kind = 'channel' FROM conversations WHERE id = ?1")
        .and_then(|mut s| s.query_row([conv.as_bytes()], |r| r.get(0)).optional())
        .map(|k| k.unwrap_or(false))
        .map_err(db_err)
}

/// Commits a channel's coalesced `reaction_counts` event.
pub(crate) fn reaction_counts(
    ctx: &mut Ctx<'_>,
    conv: &ConversationId,
    targets: &[Seq],
    now: i64,
) -> Result<Option<Committed>> {
    let mut messages = Vec::new();
    let mut sorted = targets.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    for seq in sorted {
        if target(ctx.conn, conv, seq)?.is_some_and(|t| t.kind == "message") {
            messages.push(TargetReactions {
                target: seq,
                reactions: reactions(ctx.conn, conv, seq, None)?,
            });
        }
    }
    if messages.is_empty() {
        return Ok(None);
    }
    let creator: Vec<u8> = ctx
        .conn
        .prepare_cached("SELECT creator FROM conversations WHERE id = ?1")
        .and_then(|mut s| s.query_row([conv.as_bytes()], |r| r.get(0)))
        .map_err(db_err)?;
    let members = members_of(ctx, conv)?;
    let seq = last_seq_of(ctx, conv)?.ok_or(StoreError::NotFound)? + 1;
    let event = Event {
        conv: *conv,
        seq,
        ts: now,
        sender: user_id(&creator)?,
        body: EventBody::ReactionCounts { messages },
    };
    commit_event(ctx, event, members.order().clone(), Change::default()).map(Some)
}

/// A message's reactions, most used first (ties: first used first), with
/// whether `viewer` reacted.
pub(crate) fn reactions(
    c: &Connection,
    conv: &ConversationId,
    seq: Seq,
    viewer: Option<&UserId>,
) -> Result<Vec<ReactionCount>> {
    Ok(reactions_in(c, conv, seq, seq, viewer)?
        .remove(&seq)
        .unwrap_or_default())
}

fn reactions_in(
    c: &Connection,
    conv: &ConversationId,
    from: Seq,
    to: Seq,
    viewer: Option<&UserId>,
) -> Result<HashMap<Seq, Vec<ReactionCount>>> {
    let mut stmt = c
        .prepare_cached(
            "SELECT seq, emoji, COUNT(*), MAX(user_id = ?4) FROM reactions
             WHERE conv_id = ?1 AND seq >= ?2 AND seq <= ?3
             GROUP BY seq, emoji ORDER BY seq, COUNT(*) DESC, MIN(at), emoji",
        )
        .map_err(db_err)?;
    let viewer = viewer.map(|v| v.as_bytes().to_vec()).unwrap_or_default();
    let mut out: HashMap<Seq, Vec<ReactionCount>> = HashMap::new();
    let rows = stmt
        .query_map(
            params![
                conv.as_bytes(),
                from as i64,
                to.min(i64::MAX as u64) as i64,
                viewer
            ],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, bool>(3)?,
                ))
            },
        )
        .map_err(db_err)?;
    for row in rows {
        let (seq, emoji, count, me) = row.map_err(db_err)?;
        out.entry(seq as u64).or_default().push(ReactionCount {
            emoji,
            count: count as u64,
            me,
        });
    }
    Ok(out)
}

/// Who reacted with `emoji`, in the order they did.
pub(crate) fn reactors(
    c: &Connection,
    conv: &ConversationId,
    seq: Seq,
    emoji: &str,
    after: Option<&UserId>,
    limit: u32,
) -> Result<Vec<ReactorRecord>> {
    let after_at: Option<i64> = match after {
        Some(u) => c
            .prepare_cached(
                "SELECT at FROM reactions WHERE conv_id = ?1 AND seq = ?2 AND emoji = ?3 AND user_id = ?4",
            )
            .and_then(|mut s| {
                s.query_row(params![conv.as_bytes(), seq as i64, emoji, u.as_bytes()], |r| r.get(0))
                    .optional()
            })
            .map_err(db_err)?,
        None => None,
    };
    let (at, id) = match (after, after_at) {
        (Some(u), Some(at)) => (at, u.as_bytes().to_vec()),
        // An unknown `after` (their reaction was taken back): from the start.
        _ => (i64::MIN, Vec::new()),
    };
    let mut stmt = c
        .prepare_cached(
            "SELECT r.user_id, u.username, u.display_name, r.at FROM reactions r
             JOIN users u ON u.id = r.user_id
             WHERE r.conv_id = ?1 AND r.seq = ?2 AND r.emoji = ?3 AND (r.at, r.user_id) > (?4, ?5)
             ORDER BY r.at, r.user_id LIMIT ?6",
        )
        .map_err(db_err)?;
    stmt.query_map(
        params![conv.as_bytes(), seq as i64, emoji, at, id, i64::from(limit)],
        |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, i64>(3)?,
            ))
        },
    )
    .map_err(db_err)?
    .map(|r| {
        let (u, username, display_name, at) = r.map_err(db_err)?;
        Ok(ReactorRecord {
            user: user_id(&u)?,
            username,
            display_name,
            at,
        })
    })
    .collect()
}

/// Pins or unpins a message.
pub(crate) fn set_pin(
    ctx: &mut Ctx<'_>,
    conv: &ConversationId,
    seq: Seq,
    by: &UserId,
    pin: bool,
    max: u32,
    now: i64,
) -> Result<Option<Committed>> {
    let members = members_of(ctx, conv)?;
    if !members.contains(by) {
        return Err(StoreError::NotMember);
    }
    let t = match target(ctx.conn, conv, seq)? {
        Some(t) if t.kind == "message" => t,
        _ => return Err(StoreError::NotFound),
    };
    let c = conv.as_bytes();
    let changed = if pin {
        let pinned: i64 = ctx
            .conn
            .prepare_cached("SELECT COUNT(*) FROM pins WHERE conv_id = ?1")
            .and_then(|mut s| s.query_row([c], |r| r.get(0)))
            .map_err(db_err)?;
        let added = ctx
            .conn
            .prepare_cached(
                "INSERT OR IGNORE INTO pins (conv_id, seq, by_user, at) VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut s| s.execute(params![c, seq as i64, by.as_bytes(), now]))
            .map_err(db_err)?;
        if added > 0 && pinned >= i64::from(max) {
            return Err(StoreError::Invalid("too many pinned messages"));
        }
        added > 0
    } else {
        ctx.conn
            .prepare_cached("DELETE FROM pins WHERE conv_id = ?1 AND seq = ?2")
            .and_then(|mut s| s.execute(params![c, seq as i64]))
            .map_err(db_err)?
            > 0
    };
    if !changed {
        return Ok(None);
    }
    let id = t.id.ok_or(StoreError::NotFound)?;
    let next = last_seq_of(ctx, conv)?.ok_or(StoreError::NotMember)? + 1;
    let body = if pin {
        EventBody::MessagePinned { target: seq, id }
    } else {
        EventBody::MessageUnpinned { target: seq, id }
    };
    let event = Event {
        conv: *conv,
        seq: next,
        ts: now,
        sender: *by,
        body,
    };
    commit_event(ctx, event, members.order().clone(), Change::default()).map(Some)
}

/// The pinned messages as `viewer` sees them, most recently pinned first.
pub(crate) fn pins(
    c: &Connection,
    conv: &ConversationId,
    viewer: &UserId,
) -> Result<Vec<PinRecord>> {
    let me = membership(c, conv, viewer)?.ok_or(StoreError::NotMember)?;
    let mut stmt = c
        .prepare_cached(&format!(
            "SELECT p.by_user, p.at, {EVENT_COLS} FROM pins p
             JOIN events USING (conv_id, seq)
             WHERE p.conv_id = ?1 AND p.seq >= ?2 ORDER BY p.at DESC, p.seq DESC"
        ))
        .map_err(db_err)?;
    let rows = stmt
        .query_map(params![conv.as_bytes(), me.visible_from as i64], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, i64>(1)?,
                EventRow::from_row_at(r, 2)?,
            ))
        })
        .map_err(db_err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db_err)?;
    let mut out = Vec::new();
    for (by, at, ev) in rows {
        let ev = ev.ok_or_else(|| StoreError::Internal("pin without its event".into()))?;
        let mut events = [ev.into_event()?];
        fill_history(c, viewer, me.visible_from, &mut events)?;
        let [message] = events;
        out.push(PinRecord {
            message,
            by: user_id(&by)?,
            at,
        });
    }
    Ok(out)
}

/// A page of a thread.
pub(crate) fn thread(
    c: &Connection,
    conv: &ConversationId,
    root: Seq,
    viewer: &UserId,
    after: Seq,
    limit: u32,
) -> Result<ThreadSlice> {
    let t = readable_message(c, conv, viewer, root)?;
    if t.meta.thread.is_some() {
        return Err(StoreError::NotFound);
    }
    let floor = membership(c, conv, viewer)?
        .ok_or(StoreError::NotMember)?
        .visible_from;
    let mut roots = [one_event(c, conv, root)?.ok_or(StoreError::NotFound)?];
    fill_history(c, viewer, floor, &mut roots)?;
    let [root_event] = roots;
    let limit = i64::from(limit.max(1));
    let mut stmt = c
        .prepare_cached(&format!(
            "SELECT {EVENT_COLS} FROM events
             WHERE conv_id = ?1 AND target = ?2 AND kind IN ('message', 'deleted') AND seq > ?3
             ORDER BY seq LIMIT ?4"
        ))
        .map_err(db_err)?;
    let mut events = stmt
        .query_map(
            params![
                conv.as_bytes(),
                root as i64,
                after.min(i64::MAX as u64) as i64,
                limit + 1
            ],
            |r| EventRow::from_row_at(r, 0),
        )
        .map_err(db_err)?
        .filter_map(|r| r.transpose())
        .map(|r| r.map_err(db_err).and_then(EventRow::into_event))
        .collect::<Result<Vec<_>>>()?;
    let more = events.len() as i64 > limit;
    events.truncate(limit as usize);
    fill_history(c, viewer, floor, &mut events)?;
    Ok(ThreadSlice {
        root: root_event,
        events,
        more,
    })
}

/// Moves a user's read mark in a thread forward.
pub(crate) fn read_thread(
    ctx: &mut Ctx<'_>,
    user: &UserId,
    conv: &ConversationId,
    root: Seq,
    seq: Seq,
) -> Result<(PersonalChange, Option<Committed>)> {
    let t = readable_message(ctx.conn, conv, user, root)?;
    if t.meta.thread.is_some() {
        return Err(StoreError::NotFound);
    }
    let (c, u) = (conv.as_bytes(), user.as_bytes());
    let old: Option<i64> = ctx
        .conn
        .prepare_cached(
            "SELECT seq FROM thread_reads WHERE user_id = ?1 AND conv_id = ?2 AND root = ?3",
        )
        .and_then(|mut s| {
            s.query_row(params![u, c, root as i64], |r| r.get(0))
                .optional()
        })
        .map_err(db_err)?;
    let old = old.unwrap_or(0) as u64;
    let change = |seq| PersonalChange::ThreadRead {
        conv: *conv,
        root,
        seq,
    };
    if seq <= old {
        return Ok((change(old), None));
    }
    ctx.conn
        .prepare_cached(
            "INSERT INTO thread_reads (user_id, conv_id, root, seq) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (user_id, conv_id, root) DO UPDATE SET seq = ?4",
        )
        .and_then(|mut s| s.execute(params![u, c, root as i64, seq as i64]))
        .map_err(db_err)?;
    let committed = commit_user_item(ctx, *user, *conv, LogItem::Personal(change(seq)))?;
    Ok((change(seq), Some(committed)))
}

fn one_event(c: &Connection, conv: &ConversationId, seq: Seq) -> Result<Option<Event>> {
    c.prepare_cached(&format!(
        "SELECT {EVENT_COLS} FROM events WHERE conv_id = ?1 AND seq = ?2"
    ))
    .and_then(|mut s| {
        s.query_row(params![conv.as_bytes(), seq as i64], |r| {
            EventRow::from_row_at(r, 0)
        })
        .optional()
    })
    .map_err(db_err)?
    .flatten()
    .map(EventRow::into_event)
    .transpose()
}

/// One event as history shows it to `viewer`.
pub(crate) fn message(
    c: &Connection,
    conv: &ConversationId,
    seq: Seq,
    viewer: &UserId,
) -> Result<Option<Event>> {
    let me = membership(c, conv, viewer)?.ok_or(StoreError::NotMember)?;
    if seq < me.visible_from {
        return Ok(None);
    }
    let Some(ev) = one_event(c, conv, seq)? else {
        return Ok(None);
    };
    let mut events = [ev];
    fill_history(c, viewer, me.visible_from, &mut events)?;
    let [ev] = events;
    Ok(Some(ev))
}

/// Fills in a reply's snippet from the original as it is now: its current
/// text when the reader may see it (at or after `floor`), `deleted` once it
/// is a tombstone.
pub(crate) fn fill_reply(c: &Connection, floor: Seq, ev: &mut Event) -> Result<()> {
    let EventBody::Message { meta, .. } = &mut ev.body else {
        return Ok(());
    };
    let Some(reply) = meta.reply_to.as_mut() else {
        return Ok(());
    };
    reply.snippet = None;
    reply.deleted = false;
    if reply.seq < floor {
        return Ok(());
    }
    if let Some(t) = target(c, &ev.conv, reply.seq)? {
        match t.kind.as_str() {
            "message" => reply.snippet = t.text.as_deref().map(snippet),
            "deleted" => reply.deleted = true,
            _ => {}
        }
    }
    Ok(())
}

/// What history adds to a page of one conversation's events for `viewer`
/// (whose history starts at `floor`): reply snippets, the viewer's hidden
/// messages, reactions, thread summaries and pins.
pub(crate) fn fill_history(
    c: &Connection,
    viewer: &UserId,
    floor: Seq,
    events: &mut [Event],
) -> Result<()> {
    let Some(conv) = events.first().map(|e| e.conv) else {
        return Ok(());
    };
    let from = events.iter().map(|e| e.seq).min().unwrap_or(0);
    let to = events.iter().map(|e| e.seq).max().unwrap_or(0);
    let (cb, vb) = (conv.as_bytes(), viewer.as_bytes());
    let seqs_in = |sql: &str| -> Result<Vec<Seq>> {
        let mut stmt = c.prepare_cached(sql).map_err(db_err)?;
        stmt.query_map(params![cb, from as i64, to as i64, vb], |r| {
            r.get::<_, i64>(0)
        })
        .map_err(db_err)?
        .map(|r| r.map(|s| s as u64).map_err(db_err))
        .collect()
    };
    let hidden = seqs_in(
        "SELECT seq FROM hidden WHERE conv_id = ?1 AND seq >= ?2 AND seq <= ?3 AND user_id = ?4",
    )?;
    let pinned = seqs_in(
        "SELECT seq FROM pins WHERE conv_id = ?1 AND seq >= ?2 AND seq <= ?3 AND ?4 IS NOT NULL",
    )?;
    let mut reactions = reactions_in(c, &conv, from, to, Some(viewer))?;
    let mut stmt = c
        .prepare_cached(
            "SELECT t.root, t.replies, t.last_seq, t.last_at, t.participants,
                    (SELECT COUNT(*) FROM events x
                      WHERE x.conv_id = t.conv_id AND x.target = t.root
                        AND x.kind IN ('message', 'deleted') AND x.sender <> ?4
                        AND x.seq > COALESCE((SELECT r.seq FROM thread_reads r
                              WHERE r.user_id = ?4 AND r.conv_id = t.conv_id AND r.root = t.root), 0))
             FROM threads t WHERE t.conv_id = ?1 AND t.root >= ?2 AND t.root <= ?3",
        )
        .map_err(db_err)?;
    let mut threads: HashMap<Seq, ThreadSummary> = HashMap::new();
    let rows = stmt
        .query_map(params![cb, from as i64, to as i64, vb], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, i64>(5)?,
            ))
        })
        .map_err(db_err)?;
    for row in rows {
        let (root, replies, last_seq, last_at, people, unread) = row.map_err(db_err)?;
        threads.insert(
            root as u64,
            ThreadSummary {
                replies: replies as u64,
                last_seq: last_seq as u64,
                last_at,
                participants: serde_json::from_str(&people)
                    .map_err(|e| StoreError::Internal(format!("decode participants: {e}")))?,
                unread: unread as u64,
            },
        );
    }
    for ev in events.iter_mut() {
        if hidden.contains(&ev.seq)
            && let Some(id) = ev.message_id()
        {
            ev.body = EventBody::Hidden { id };
            continue;
        }
        fill_reply(c, floor, ev)?;
        if let EventBody::Message { meta, .. } = &mut ev.body {
            meta.reactions = reactions.remove(&ev.seq).unwrap_or_default();
            meta.thread_summary = threads.remove(&ev.seq);
            meta.pinned = pinned.contains(&ev.seq);
        }
    }
    Ok(())
}
