//! Conversations and their members: creating them, adding members, and the
//! reads of one conversation, its members and a user's list.

use crate::blocks::{contacts, refuse_blocked};
use crate::cache::Members;
use crate::commit::{Change, commit_event, last_seq_of, members_of};
use crate::db_err;
use crate::membership::{into_member, member_row};
use crate::rows::parse_role;
use crate::rows::{
    CONV_COL_COUNT, CONV_COLS, CONV_COLS_C, ConvRow, EVENT_COL_COUNT, EVENT_COLS_E, EventRow,
    USER_COL_COUNT, USER_COLS_P, UserRow, conv_id, user_id,
};
use crate::writer::Ctx;
use natter_proto::{
    ConversationId, ConversationKind, ConversationSettings, Event, EventBody, HistoryVisibility,
    LogItem, MAX_EVENT_USERS, Role, SettingsChange, UserId,
};
use natter_store::{
    Committed, ConversationRecord, ConversationSummary, Created, GroupUpdate, ListQuery,
    MemberRecord, Membership, NewConversation, NewMembers, Result, SettingsUpdate, StoreError,
    Watermarks, admits_group_add,
};
use rusqlite::types::ToSql;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::HashSet;
use std::sync::Arc;

/// The order members are listed in: the order they joined (those who
/// joined with one event by id, which is their order of registration).
const JOIN_ORDER: &str = "m.joined_seq, m.user_id";

/// Creates a conversation and its `created` event, or finds the direct
/// conversation the pair already has.
pub(crate) fn create_conversation(ctx: &mut Ctx<'_>, conv: &NewConversation) -> Result<Created> {
    let key = match conv.kind {
        ConversationKind::Direct => {
            let [a, b] = conv.members.as_slice() else {
                return Err(StoreError::Internal(
                    "a direct conversation has exactly two members".into(),
                ));
            };
            let key = direct_key(a, b);
            let existing: Option<Vec<u8>> = ctx
                .conn
                .prepare_cached("SELECT id FROM conversations WHERE direct_key = ?1")
                .and_then(|mut s| s.query_row([&key], |r| r.get(0)).optional())
                .map_err(db_err)?;
            if let Some(id) = existing {
                return Ok(Created::Existing(conv_id(&id)?));
            }
            Some(key)
        }
        ConversationKind::Group | ConversationKind::Channel => None,
    };
    for m in &conv.members {
        if !user_exists(ctx.conn, m)? {
            return Err(StoreError::NotFound);
        }
    }
    refuse_blocked(ctx.conn, &conv.creator, &conv.members)?;
    ctx.conn
        .prepare_cached(
            "INSERT INTO conversations
             (id, kind, name, creator, created_at, direct_key, last_seq, last_ts, member_count,
              description, history)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?5, ?7, ?8, ?9)",
        )
        .and_then(|mut s| {
            s.execute(params![
                conv.id.as_bytes(),
                conv.kind.as_str(),
                conv.name,
                conv.creator.as_bytes(),
                conv.now,
                key,
                conv.members.len() as i64,
                conv.description,
                // A channel's subscribers read it from the start.
                if conv.kind == ConversationKind::Channel {
                    "all"
                } else {
                    "joined"
                }
            ])
        })
        .map_err(db_err)?;
    let mut invited = HashSet::new();
    for m in &conv.members {
        // The second member of a direct conversation gets it as a request;
        // a group member, an invitation unless their setting admits the
        // creator.
        let accepted =
            *m == conv.creator || (conv.kind.is_multi() && admits(ctx.conn, m, &conv.creator)?);
        if !accepted && conv.kind.is_multi() {
            invited.insert(*m);
        }
        let role = match conv.kind {
            ConversationKind::Direct => Role::Member,
            _ if *m == conv.creator => Role::Owner,
            ConversationKind::Channel => Role::Subscriber,
            ConversationKind::Group => Role::Member,
        };
        let row = MemberRow {
            user: *m,
            seq: 1,
            now: conv.now,
            accepted,
            role,
            visible_seq: 1,
        };
        insert_member(ctx.conn, &conv.id, &row)?;
    }
    let members = Members::new(
        conv.members.clone(),
        conv.kind == ConversationKind::Direct,
        invited,
    );
    let recipients = members.order().clone();
    ctx.cache.members.insert(conv.id, Arc::new(members));
    let event = Event {
        conv: conv.id,
        seq: 1,
        ts: conv.now,
        sender: conv.creator,
        body: EventBody::Created {
            conv_kind: conv.kind,
            name: conv.name.clone(),
            members: conv.members.iter().take(MAX_EVENT_USERS).copied().collect(),
            member_count: conv.members.len() as u64,
        },
    };
    let change = Change {
        joined: conv.members.clone(),
        left: Vec::new(),
    };
    let committed = commit_event(ctx, event, recipients, change)?;
    Ok(Created::New(committed))
}

/// Adds the users who are not members yet, with one `members_added` event.
pub(crate) fn add_members(ctx: &mut Ctx<'_>, add: &NewMembers) -> Result<Option<Committed>> {
    let members = members_of(ctx, &add.conv)?;
    if !members.contains(&add.by) {
        return Err(StoreError::NotMember);
    }
    let mut fresh = Vec::new();
    let mut seen = HashSet::new();
    for u in &add.users {
        if members.contains(u) || !seen.insert(*u) {
            continue;
        }
        if !user_exists(ctx.conn, u)? {
            return Err(StoreError::NotFound);
        }
        fresh.push(*u);
    }
    for u in &fresh {
        if crate::membership::is_banned(ctx.conn, &add.conv, u)? {
            return Err(StoreError::Banned);
        }
    }
    if fresh.is_empty() {
        return Ok(None);
    }
    refuse_blocked(ctx.conn, &add.by, &fresh)?;
    let last = last_seq_of(ctx, &add.conv)?.ok_or(StoreError::NotFound)?;
    let seq = last + 1;
    let count = (members.len() + fresh.len()) as i64;
    ctx.conn
        .prepare_cached("UPDATE conversations SET member_count = ?2 WHERE id = ?1")
        .and_then(|mut s| s.execute(params![add.conv.as_bytes(), count]))
        .map_err(db_err)?;
    let visible = visible_from(ctx.conn, &add.conv, seq, add.now)?;
    let channel =
        conversation(ctx.conn, &add.conv)?.is_some_and(|c| c.kind == ConversationKind::Channel);
    let mut invited = Vec::new();
    for u in &fresh {
        let accepted = admits(ctx.conn, u, &add.by)?;
        if !accepted {
            invited.push(*u);
        }
        let row = MemberRow {
            user: *u,
            seq,
            now: add.now,
            accepted,
            role: if channel {
                Role::Subscriber
            } else {
                Role::Member
            },
            visible_seq: visible,
        };
        insert_member(ctx.conn, &add.conv, &row)?;
    }
    let all = members.with(&fresh, &invited);
    let recipients = all.order().clone();
    ctx.cache.members.insert(add.conv, Arc::new(all));
    let event = Event {
        conv: add.conv,
        seq,
        ts: add.now,
        sender: add.by,
        body: EventBody::MembersAdded {
            users: fresh.iter().take(MAX_EVENT_USERS).copied().collect(),
            count: fresh.len() as u64,
        },
    };
    let change = Change {
        joined: fresh,
        left: Vec::new(),
    };
    Ok(Some(commit_event(ctx, event, recipients, change)?))
}

/// The first seq someone who joins `conv` at `seq` may read, by the
/// group's history setting: `seq` itself, 1 (everything), or the first
/// event of the last N days before `now`.
pub(crate) fn visible_from(
    c: &Connection,
    conv: &ConversationId,
    seq: u64,
    now: i64,
) -> Result<u64> {
    let (history, days): (String, Option<i64>) = c
        .prepare_cached("SELECT history, history_days FROM conversations WHERE id = ?1")
        .and_then(|mut s| s.query_row([conv.as_bytes()], |r| Ok((r.get(0)?, r.get(1)?))))
        .map_err(db_err)?;
    Ok(match crate::rows::parse_history(&history, days)? {
        HistoryVisibility::All => 1,
        HistoryVisibility::Days { days } => {
            let cutoff = now.saturating_sub(i64::from(days) * 86_400_000);
            // Read backwards from the newest event: only the window's
            // events are walked, however long the history before it.
            let older: Option<i64> = c
                .prepare_cached(
                    "SELECT seq FROM events WHERE conv_id = ?1 AND ts < ?2
                     ORDER BY seq DESC LIMIT 1",
                )
                .and_then(|mut s| {
                    s.query_row(params![conv.as_bytes(), cutoff], |r| r.get(0))
                        .optional()
                })
                .map_err(db_err)?;
            older.map_or(1, |s| s as u64 + 1).min(seq)
        }
        HistoryVisibility::Joined => seq,
    })
}

/// Changes a group's settings with a `group_updated` event naming what
/// changed; `None` when nothing would.
pub(crate) fn update_group(ctx: &mut Ctx<'_>, u: &GroupUpdate) -> Result<Option<Committed>> {
    let members = members_of(ctx, &u.conv)?;
    if !members.contains(&u.by) {
        return Err(StoreError::NotMember);
    }
    let current = conversation(ctx.conn, &u.conv)?.ok_or(StoreError::NotMember)?;
    let name = u.name.clone().filter(|n| Some(n) != current.name.as_ref());
    let description = u
        .description
        .clone()
        .filter(|d| *d != current.description.clone().unwrap_or_default());
    let history = u.history.filter(|h| *h != current.history);
    let slow_mode_secs = u.slow_mode_secs.filter(|s| *s != current.slow_mode_secs);
    let avatar = u
        .avatar
        .clone()
        .filter(|a| *a != current.avatar.clone().unwrap_or_default());
    if name.is_none()
        && description.is_none()
        && history.is_none()
        && slow_mode_secs.is_none()
        && avatar.is_none()
    {
        return Ok(None);
    }
    if let Some(a) = &avatar {
        let stored = Some(a.as_str()).filter(|a| !a.is_empty());
        ctx.conn
            .prepare_cached("UPDATE conversations SET avatar = ?2 WHERE id = ?1")
            .and_then(|mut s| s.execute(params![u.conv.as_bytes(), stored]))
            .map_err(db_err)?;
    }
    if let Some(secs) = slow_mode_secs {
        ctx.cache.unrestricted.remove(&u.conv);
        ctx.conn
            .prepare_cached("UPDATE conversations SET slow_mode_secs = ?2 WHERE id = ?1")
            .and_then(|mut s| s.execute(params![u.conv.as_bytes(), i64::from(secs)]))
            .map_err(db_err)?;
    }
    if let Some(n) = &name {
        ctx.conn
            .prepare_cached("UPDATE conversations SET name = ?2 WHERE id = ?1")
            .and_then(|mut s| s.execute(params![u.conv.as_bytes(), n]))
            .map_err(db_err)?;
    }
    if let Some(d) = &description {
        let stored = Some(d.as_str()).filter(|d| !d.is_empty());
        ctx.conn
            .prepare_cached("UPDATE conversations SET description = ?2 WHERE id = ?1")
            .and_then(|mut s| s.execute(params![u.conv.as_bytes(), stored]))
            .map_err(db_err)?;
    }
    if let Some(h) = history {
        let (kind, days) = crate::rows::history_columns(h);
        ctx.conn
            .prepare_cached(
                "UPDATE conversations SET history = ?2, history_days = ?3 WHERE id = ?1",
            )
            .and_then(|mut s| s.execute(params![u.conv.as_bytes(), kind, days]))
            .map_err(db_err)?;
    }
    let seq = last_seq_of(ctx, &u.conv)?.ok_or(StoreError::NotMember)? + 1;
    let event = Event {
        conv: u.conv,
        seq,
        ts: u.now,
        sender: u.by,
        body: EventBody::GroupUpdated {
            name,
            description,
            history,
            slow_mode_secs,
            avatar,
        },
    };
    commit_event(ctx, event, members.order().clone(), Change::default()).map(Some)
}

/// Whether `user`'s `group_adds` setting lets `by` add them at once.
fn admits(c: &Connection, user: &UserId, by: &UserId) -> Result<bool> {
    let setting: String = c
        .prepare_cached("SELECT group_adds FROM users WHERE id = ?1")
        .and_then(|mut s| s.query_row([user.as_bytes()], |r| r.get(0)))
        .map_err(db_err)?;
    let setting = crate::rows::parse_visibility(&setting)?;
    // Only "contacts" needs to know whether they are.
    let contact = setting == natter_proto::Visibility::Contacts && contacts(c, user, by)?;
    Ok(admits_group_add(setting, contact))
}

pub(crate) fn user_exists(conn: &Connection, user: &UserId) -> Result<bool> {
    conn.prepare_cached("SELECT 1 FROM users WHERE id = ?1")
        .and_then(|mut s| s.exists([user.as_bytes()]))
        .map_err(db_err)
}

/// The sorted pair of ids that makes a direct conversation unique per pair.
pub(crate) fn direct_key(a: &UserId, b: &UserId) -> Vec<u8> {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let mut key = Vec::with_capacity(32);
    key.extend_from_slice(lo.as_bytes());
    key.extend_from_slice(hi.as_bytes());
    key
}

/// A membership to insert.
pub(crate) struct MemberRow {
    pub user: UserId,
    /// The seq of the event that makes them a member.
    pub seq: u64,
    pub now: i64,
    /// False for a message request or a group invitation.
    pub accepted: bool,
    pub role: Role,
    /// The first seq they may read in history.
    pub visible_seq: u64,
}

pub(crate) fn insert_member(c: &Connection, conv: &ConversationId, m: &MemberRow) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO members (conv_id, user_id, joined_seq, joined_at, accepted, role, visible_seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut s| {
        s.execute(params![
            conv.as_bytes(),
            m.user.as_bytes(),
            m.seq as i64,
            m.now,
            m.accepted,
            m.role.as_str(),
            m.visible_seq as i64
        ])
    })
    .map_err(db_err)?;
    Ok(())
}

/// A conversation's record.
pub(crate) fn conversation(
    c: &Connection,
    conv: &ConversationId,
) -> Result<Option<ConversationRecord>> {
    c.prepare_cached(&format!(
        "SELECT {CONV_COLS} FROM conversations WHERE id = ?1"
    ))
    .and_then(|mut s| s.query_row([conv.as_bytes()], ConvRow::from_row).optional())
    .map_err(db_err)?
    .map(ConvRow::into_record)
    .transpose()
}

/// A user's membership in a conversation.
pub(crate) fn membership(
    c: &Connection,
    conv: &ConversationId,
    user: &UserId,
) -> Result<Option<Membership>> {
    type Row = (i64, String, i64, Option<i64>);
    let row: Option<Row> = c
        .prepare_cached(
            "SELECT joined_seq, role, visible_seq, muted_until FROM members
             WHERE conv_id = ?1 AND user_id = ?2",
        )
        .and_then(|mut s| {
            s.query_row([conv.as_bytes(), user.as_bytes()], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()
        })
        .map_err(db_err)?;
    row.map(|(s, role, visible, muted_until)| {
        Ok(Membership {
            joined_seq: s as u64,
            visible_from: visible as u64,
            role: parse_role(&role)?,
            muted_until,
        })
    })
    .transpose()
}

/// All members with their usernames and when they joined, in join order.
pub(crate) fn member_list(c: &Connection, conv: &ConversationId) -> Result<Vec<MemberRecord>> {
    let mut stmt = c
        .prepare_cached(&format!(
            "SELECT m.user_id, u.username, m.joined_seq, m.joined_at, m.role, m.muted_until,
                    u.display_name, u.avatar
             FROM members m JOIN users u ON u.id = m.user_id
             WHERE m.conv_id = ?1 ORDER BY {JOIN_ORDER}"
        ))
        .map_err(db_err)?;
    stmt.query_map([conv.as_bytes()], member_row)
        .map_err(db_err)?
        .map(|r| r.map_err(db_err).and_then(into_member))
        .collect()
}

/// All members' ids, in join order.
pub(crate) fn member_ids(c: &Connection, conv: &ConversationId) -> Result<Vec<UserId>> {
    Ok(member_states(c, conv)?
        .into_iter()
        .map(|(u, _)| u)
        .collect())
}

/// All members' ids in join order, each with whether they have accepted
/// (false: an open request or invitation). The writer loads its member
/// cache with this.
pub(crate) fn member_states(c: &Connection, conv: &ConversationId) -> Result<Vec<(UserId, bool)>> {
    let mut stmt = c
        .prepare_cached(&format!(
            "SELECT m.user_id, m.accepted FROM members m WHERE m.conv_id = ?1 ORDER BY {JOIN_ORDER}"
        ))
        .map_err(db_err)?;
    stmt.query_map([conv.as_bytes()], |r| {
        Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, bool>(1)?))
    })
    .map_err(db_err)?
    .map(|r| {
        let (id, accepted) = r.map_err(db_err)?;
        Ok((user_id(&id)?, accepted))
    })
    .collect()
}

/// A page of the user's conversations, newest activity first.
pub(crate) fn conversation_page(
    c: &Connection,
    user: &UserId,
    query: &ListQuery,
) -> Result<Vec<ConversationSummary>> {
    summaries(c, user, Which::Page(query))
}

/// The unread messages over all the user's conversations, counted as
/// [`ConversationSummary::unread`] is.
pub(crate) fn unread_total(c: &Connection, user: &UserId) -> Result<u64> {
    c.prepare_cached(&format!(
        "SELECT COALESCE(SUM(CASE WHEN m.muted AND m.hide_badge THEN 0
                                  ELSE MAX({UNREAD}, m.marked_unread) END), 0)
         FROM members m WHERE m.user_id = ?1"
    ))
    .and_then(|mut s| s.query_row([user.as_bytes()], |r| r.get::<_, i64>(0)))
    .map(|n| n as u64)
    .map_err(db_err)
}

/// One of the user's conversations as [`conversations_of`] lists it; `None`
/// when the user is not a member.
pub(crate) fn conversation_of(
    c: &Connection,
    user: &UserId,
    conv: &ConversationId,
) -> Result<Option<ConversationSummary>> {
    Ok(summaries(c, user, Which::One(conv))?.into_iter().next())
}

/// Messages from others after member `m`'s read watermark and after they
/// joined: a conversation's unread count.
const UNREAD: &str = "(SELECT COUNT(*) FROM events x
      WHERE x.conv_id = m.conv_id AND x.kind = 'message' AND x.sender <> m.user_id
        AND x.in_thread = 0 AND x.seq > MAX(m.read_seq, m.joined_seq - 1))";

/// Messages from others after member `m`'s read watermark that mention
/// them or everyone.
const UNREAD_MENTIONS: &str = "(SELECT COUNT(*) FROM mentions n
      WHERE n.conv_id = m.conv_id AND n.user_id IN (m.user_id, zeroblob(16))
        AND n.sender <> m.user_id AND n.seq > MAX(m.read_seq, m.joined_seq - 1))";

/// Which of a user's summaries to read.
enum Which<'a> {
    One(&'a ConversationId),
    Page(&'a ListQuery),
}

/// The user's conversation summaries: a page of the list, or one. Both use
/// one query so the single conversation answers exactly as the list does;
/// one is read through the `members` key instead of the user's whole list.
fn summaries(c: &Connection, user: &UserId, which: Which<'_>) -> Result<Vec<ConversationSummary>> {
    // A page is chosen from the user's memberships and the conversations'
    // activity alone; the expensive columns are computed for it only.
    let filter = match which {
        Which::One(_) => "AND m.conv_id = ?2".to_owned(),
        Which::Page(q) => format!(
            "AND m.conv_id IN (
                SELECT lm.conv_id FROM members lm JOIN conversations lc ON lc.id = lm.conv_id
                 WHERE lm.user_id = ?1 {} {}
                 ORDER BY lc.last_ts DESC, lc.id DESC LIMIT ?2)",
            if q.after.is_some() {
                "AND (lc.last_ts, lc.id) < (?3, ?4)"
            } else {
                ""
            },
            [
                match q.request {
                    Some(true) => "AND lm.accepted = 0",
                    Some(false) => "AND lm.accepted = 1",
                    None => "",
                },
                match q.archived {
                    Some(true) => "AND lm.archived = 1",
                    Some(false) => "AND lm.archived = 0",
                    None => "",
                },
                match q.pinned {
                    Some(true) => "AND lm.pinned_at IS NOT NULL",
                    Some(false) => "AND lm.pinned_at IS NULL",
                    None => "",
                },
            ]
            .join(" ")
        ),
    };
    let mut stmt = c
        .prepare_cached(&format!(
            "SELECT {CONV_COLS_C}, {EVENT_COLS_E}, {USER_COLS_P},
                    m.delivered_seq, m.read_seq, pm.delivered_seq, pm.read_seq,
                    {UNREAD} AS unread, m.accepted = 0, c.last_ts, m.role, m.visible_seq,
                    m.muted_until, m.muted, m.hide_badge, m.archived, m.pinned_at, m.marked_unread,
                    {UNREAD_MENTIONS}
             FROM members m
             JOIN conversations c ON c.id = m.conv_id
             LEFT JOIN events e ON e.conv_id = c.id AND e.seq = c.last_msg_seq
                  AND c.last_msg_seq >= m.visible_seq
             LEFT JOIN members pm ON c.kind = 'direct' AND pm.conv_id = c.id AND pm.user_id <> m.user_id
             LEFT JOIN users p ON p.id = pm.user_id
             WHERE m.user_id = ?1 {filter}
             ORDER BY c.last_ts DESC, c.id DESC"
        ))
        .map_err(db_err)?;
    let user = user.as_bytes();
    let (conv, limit, after_ts, after_id) = match which {
        Which::One(conv) => (Some(conv.as_bytes()), 0, 0, None),
        Which::Page(q) => (
            None,
            i64::from(q.limit),
            q.after.map_or(0, |a| a.activity),
            q.after.map(|a| a.conv),
        ),
    };
    let after_id = after_id.as_ref().map(|c| c.as_bytes());
    let mut bound: Vec<&dyn ToSql> = vec![&user];
    if let Some(conv) = &conv {
        bound.push(conv);
    } else {
        bound.push(&limit);
        if let Some(id) = &after_id {
            bound.push(&after_ts);
            bound.push(id);
        }
    }
    let at = CONV_COL_COUNT + EVENT_COL_COUNT + USER_COL_COUNT;
    stmt.query_map(bound.as_slice(), |r| {
        let mine = Watermarks {
            delivered: r.get::<_, i64>(at)? as u64,
            read: r.get::<_, i64>(at + 1)? as u64,
        };
        let peer_marks = match (
            r.get::<_, Option<i64>>(at + 2)?,
            r.get::<_, Option<i64>>(at + 3)?,
        ) {
            (Some(d), Some(rd)) => Some(Watermarks {
                delivered: d as u64,
                read: rd as u64,
            }),
            _ => None,
        };
        Ok((
            ConvRow::from_row(r)?,
            EventRow::from_row_at(r, CONV_COL_COUNT)?,
            UserRow::from_row_at(r, CONV_COL_COUNT + EVENT_COL_COUNT)?,
            mine,
            peer_marks,
            r.get::<_, i64>(at + 4)? as u64,
            r.get::<_, bool>(at + 5)?,
            r.get::<_, i64>(at + 6)?,
            r.get::<_, String>(at + 7)?,
            r.get::<_, i64>(at + 8)?,
            r.get::<_, Option<i64>>(at + 9)?,
            ConversationSettings {
                muted: r.get(at + 10)?,
                hide_badge: r.get(at + 11)?,
                archived: r.get(at + 12)?,
                pinned_at: r.get(at + 13)?,
                marked_unread: r.get(at + 14)?,
            },
            r.get::<_, i64>(at + 15)? as u64,
        ))
    })
    .map_err(db_err)?
    .map(|r| {
        let (
            conv,
            ev,
            peer,
            mine,
            peer_watermarks,
            unread,
            request,
            activity,
            role,
            visible,
            muted_until,
            settings,
            unread_mentions,
        ) = r.map_err(db_err)?;
        Ok(ConversationSummary {
            conv: conv.into_record()?,
            last_message: ev.map(EventRow::into_event).transpose()?,
            peer: peer.map(UserRow::into_record).transpose()?,
            peer_watermarks,
            mine,
            unread,
            request,
            activity,
            role: parse_role(&role)?,
            visible_from: visible as u64,
            muted_until,
            settings,
            unread_mentions,
        })
    })
    .collect()
}

/// Changes a member's own settings for a conversation and commits the
/// result as a `settings` item in their log alone.
pub(crate) fn set_settings(ctx: &mut Ctx<'_>, u: &SettingsUpdate) -> Result<Committed> {
    let c = u.change;
    let pinned_at = c.pinned.map(|p| p.then_some(u.now));
    let n = ctx
        .conn
        .prepare_cached(
            "UPDATE members SET
                 muted = COALESCE(?3, muted),
                 hide_badge = COALESCE(?4, hide_badge),
                 archived = COALESCE(?5, archived),
                 pinned_at = CASE WHEN ?6 THEN ?7 ELSE pinned_at END,
                 marked_unread = COALESCE(?8, marked_unread)
             WHERE conv_id = ?1 AND user_id = ?2",
        )
        .and_then(|mut s| {
            s.execute(params![
                u.conv.as_bytes(),
                u.user.as_bytes(),
                c.muted,
                c.hide_badge,
                c.archived,
                pinned_at.is_some(),
                pinned_at.flatten(),
                c.marked_unread
            ])
        })
        .map_err(db_err)?;
    if n == 0 {
        return Err(StoreError::NotMember);
    }
    let settings = ctx
        .conn
        .prepare_cached(
            "SELECT muted, hide_badge, archived, pinned_at, marked_unread FROM members
             WHERE conv_id = ?1 AND user_id = ?2",
        )
        .and_then(|mut s| {
            s.query_row(params![u.conv.as_bytes(), u.user.as_bytes()], |r| {
                Ok(ConversationSettings {
                    muted: r.get(0)?,
                    hide_badge: r.get(1)?,
                    archived: r.get(2)?,
                    pinned_at: r.get(3)?,
                    marked_unread: r.get(4)?,
                })
            })
        })
        .map_err(db_err)?;
    crate::commit::commit_user_item(
        ctx,
        u.user,
        u.conv,
        LogItem::Settings(SettingsChange {
            conv: u.conv,
            settings,
            ts: u.now,
        }),
    )
}
