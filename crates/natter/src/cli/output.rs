//! Rendering for the terminal: times, usernames, event lines.

use natter_proto::{
    ConversationInfo, ConversationKind, Event, EventBody, MemberReceipt, Seq, UserId,
};
use natter_sdk::Client;
use std::collections::HashMap;

/// Writes one line to stdout. Errors (a closed pipe) are returned rather
/// than panicking as `println!` would.
pub(crate) fn write_line(args: std::fmt::Arguments<'_>) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_fmt(args)?;
    out.write_all(b"\n")
}

/// Usernames by id, fetched once per process.
#[derive(Debug, Default)]
pub(crate) struct Names {
    known: HashMap<UserId, String>,
}

impl Names {
    /// Remembers a name learned elsewhere (a member list, the session).
    pub(crate) fn insert(&mut self, id: UserId, name: &str) {
        self.known.insert(id, name.to_owned());
    }

    /// The username of `id`, asking the server on a miss; the id itself if
    /// the server cannot say.
    pub(crate) async fn get(&mut self, client: &Client, id: UserId) -> String {
        if let Some(name) = self.known.get(&id) {
            return name.clone();
        }
        let name = match client.user(id).await {
            Ok(user) => user.username,
            Err(e) => {
                tracing::debug!(%id, error = %e, "cannot resolve a username");
                id.to_string()
            }
        };
        self.known.insert(id, name.clone());
        name
    }

    /// Learns the names a conversation listing carries (direct peers).
    pub(crate) fn learn(&mut self, conv: &ConversationInfo) {
        if let Some(peer) = &conv.peer {
            self.insert(peer.id, &peer.username);
        }
    }
}

/// `#name` for a group, `@peer` for a direct conversation.
pub(crate) fn conv_label(conv: &ConversationInfo) -> String {
    match (conv.kind, &conv.name, &conv.peer) {
        (ConversationKind::Group | ConversationKind::Channel, Some(name), _) => format!("#{name}"),
        (ConversationKind::Direct, _, Some(peer)) => format!("@{}", peer.username),
        _ => conv.id.to_string(),
    }
}

/// The text of an event as one line: `alice: hi` for a message,
/// `* alice created #team` for the rest.
pub(crate) async fn event_text(event: &Event, names: &mut Names, client: &Client) -> String {
    let sender = names.get(client, event.sender).await;
    match &event.body {
        EventBody::Message { text, meta, .. } => {
            let mut line = String::new();
            if let Some(root) = meta.thread {
                line.push_str(&format!("[thread {root}] "));
            }
            if let Some(r) = &meta.reply_to {
                let quoted = match (&r.snippet, r.deleted) {
                    (_, true) => "(message deleted)".to_owned(),
                    (Some(s), _) => one_line(s),
                    (None, _) => "…".to_owned(),
                };
                line.push_str(&format!("[reply to {}: {quoted}] ", r.seq));
            }
            if meta.forwarded {
                line.push_str("[forwarded] ");
            }
            line.push_str(&format!("{sender}: {}", one_line(text)));
            for a in &meta.attachments {
                line.push_str(&format!(
                    " [{} {} {} B]",
                    a.kind.as_str(),
                    one_line(a.name.as_deref().unwrap_or("file")),
                    a.size
                ));
            }
            if meta.edited_at.is_some() {
                line.push_str(" (edited)");
            }
            for r in &meta.reactions {
                line.push_str(&format!(" [{} {}]", r.emoji, r.count));
            }
            if let Some(t) = &meta.thread_summary {
                let replies = if t.replies == 1 { "reply" } else { "replies" };
                line.push_str(&format!(" [{} {replies}]", t.replies));
            }
            if meta.pinned {
                line.push_str(" [pinned]");
            }
            line
        }
        EventBody::Hidden { .. } => "(deleted for me)".to_owned(),
        EventBody::MessageEdited { target, text, .. } => {
            format!("* {sender} edited message {target}: {}", one_line(text))
        }
        EventBody::ReactionAdded { target, emoji, .. } => {
            format!("* {sender} reacted {emoji} to message {target}")
        }
        EventBody::ReactionRemoved { target, emoji, .. } => {
            format!("* {sender} took back {emoji} on message {target}")
        }
        EventBody::ReactionCounts { messages } => format!(
            "* reactions changed on {}",
            messages
                .iter()
                .map(|m| m.target.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        EventBody::MessagePinned { target, .. } => format!("* {sender} pinned message {target}"),
        EventBody::MessageUnpinned { target, .. } => {
            format!("* {sender} unpinned message {target}")
        }
        EventBody::Created {
            conv_kind: ConversationKind::Group,
            name,
            ..
        } => format!(
            "* {sender} created #{}",
            name.as_deref().unwrap_or_default()
        ),
        EventBody::Created {
            conv_kind: ConversationKind::Channel,
            name,
            ..
        } => format!(
            "* {sender} created the channel #{}",
            name.as_deref().unwrap_or_default()
        ),
        EventBody::Created { .. } => format!("* {sender} started the conversation"),
        EventBody::MembersAdded { users, count } => {
            let mut added = Vec::new();
            for user in users {
                added.push(names.get(client, *user).await);
            }
            let more = (*count as usize).saturating_sub(users.len());
            if more > 0 {
                added.push(format!("{more} more"));
            }
            format!("* {sender} added {}", added.join(", "))
        }
        EventBody::MemberLeft { .. } => format!("* {sender} left"),
        EventBody::MemberJoined { .. } => format!("* {sender} joined with a link"),
        EventBody::MemberMuted { user, until } => format!(
            "* {sender} muted {} until {}",
            names.get(client, *user).await,
            format_time(*until)
        ),
        EventBody::MemberUnmuted { user } => {
            format!("* {sender} unmuted {}", names.get(client, *user).await)
        }
        EventBody::MemberRemoved { user } => {
            format!("* {sender} removed {}", names.get(client, *user).await)
        }
        EventBody::MemberBanned { user } => {
            format!("* {sender} banned {}", names.get(client, *user).await)
        }
        EventBody::MemberUnbanned { user } => {
            format!("* {sender} unbanned {}", names.get(client, *user).await)
        }
        EventBody::RoleChanged { user, role } => format!(
            "* {sender} made {} {}",
            names.get(client, *user).await,
            role.as_str()
        ),
        EventBody::GroupUpdated {
            name: Some(name), ..
        } => format!("* {sender} renamed the group #{name}"),
        EventBody::GroupUpdated {
            description: Some(_),
            ..
        } => format!("* {sender} changed the description"),
        EventBody::GroupUpdated {
            slow_mode_secs: Some(0),
            ..
        } => format!("* {sender} turned slow mode off"),
        EventBody::GroupUpdated {
            slow_mode_secs: Some(secs),
            ..
        } => format!("* {sender} set slow mode to {secs} s"),
        EventBody::GroupUpdated {
            avatar: Some(a), ..
        } if a.is_empty() => format!("* {sender} removed the group's picture"),
        EventBody::GroupUpdated {
            avatar: Some(_), ..
        } => format!("* {sender} changed the group's picture"),
        EventBody::GroupUpdated { .. } => format!("* {sender} changed what new members can read"),
        EventBody::OwnershipTransferred { to, .. } => {
            format!("* {sender} made {} the owner", names.get(client, *to).await)
        }
        EventBody::Deleted { .. } => "(message deleted)".to_owned(),
        EventBody::MessageDeleted { target, .. } => {
            format!("* {sender} deleted message {target}")
        }
        _ => format!("* {sender}: (an event this client does not know)"),
    }
}

/// `seq  time  text`, tab-separated.
pub(crate) async fn event_line(event: &Event, names: &mut Names, client: &Client) -> String {
    format!(
        "{}\t{}\t{}",
        event.seq,
        format_time(event.ts),
        event_text(event, names, client).await
    )
}

/// The ticks of my message `seq` given the other person's watermarks: `✓`
/// sent (stored on the server), `✓✓` delivered to one of their devices,
/// `✓✓ read` read.
pub(crate) fn ticks(seq: Seq, peer: &MemberReceipt) -> &'static str {
    if peer.read >= seq {
        "✓✓ read"
    } else if peer.delivered >= seq {
        "✓✓"
    } else {
        "✓"
    }
}

/// Newlines and tabs become spaces, so one item stays one line and the
/// columns stay apart.
pub(crate) fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// At most `max` characters, with `…` when cut.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Milliseconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (UTC).
pub(crate) fn format_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// `YYYY-MM-DD` (midnight UTC) or milliseconds since the epoch, as ms.
pub(crate) fn parse_day(s: &str) -> Option<i64> {
    if let Ok(ms) = s.parse::<i64>() {
        return Some(ms);
    }
    let mut parts = s.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, d) = (parts.next()??, parts.next()??, parts.next()??);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    (civil_from_days(days) == (if m <= 2 { y + 1 } else { y }, m, d)).then_some(days * 86_400_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_parse_to_midnight_utc() {
        assert_eq!(parse_day("1970-01-01"), Some(0));
        assert_eq!(
            parse_day("2026-12-08").map(format_time).as_deref(),
            Some("2026-12-08T00:00:00Z")
        );
        assert_eq!(
            parse_day("2024-02-29").map(format_time).as_deref(),
            Some("2024-02-29T00:00:00Z")
        );
        assert_eq!(parse_day("2023-02-29"), None);
        assert_eq!(parse_day("12345"), Some(12345));
        assert_eq!(parse_day("yesterday"), None);
    }

    #[test]
    fn times_are_utc_rfc3339() {
        assert_eq!(format_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_time(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(format_time(1_735_689_599_999), "2024-12-31T23:59:59Z");
        assert_eq!(format_time(-1000), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn ticks_follow_the_watermarks() {
        let peer = MemberReceipt {
            user: UserId::new(),
            delivered: 5,
            read: 3,
        };
        assert_eq!(ticks(3, &peer), "✓✓ read");
        assert_eq!(ticks(4, &peer), "✓✓");
        assert_eq!(ticks(5, &peer), "✓✓");
        assert_eq!(ticks(6, &peer), "✓");
    }

    #[test]
    fn text_is_flattened_and_cut() {
        assert_eq!(one_line("a\nb\tc"), "a b c");
        assert_eq!(truncate("hello", 5), "hello");
        assert_eq!(truncate("hello world", 6), "hello…");
    }
}
