//! Commands on messages: reply, edit, edits, hide, react, reactions,
//! forward, pin, pins and thread; and the mentions `send` finds in text.

use super::Session;
use super::chat::{own_names, resolve_conv};
use super::output;
use natter_proto::{
    ClientId, ConversationId, EditMessage, ForwardFrom, Mention, MentionAll, Role, SendMessage, Seq,
};
use std::process::ExitCode;

/// The mentions in `text`: every `@username` of a member (as a word), and
/// `@everyone` / `@here`.
pub(crate) async fn mentions_in(
    s: &Session,
    conv: ConversationId,
    text: &str,
) -> anyhow::Result<(Vec<Mention>, Option<MentionAll>)> {
    if !text.contains('@') {
        return Ok((Vec::new(), None));
    }
    let info = s.client.conversation(conv).await?;
    let members = if info.role == Role::Subscriber {
        Vec::new()
    } else {
        s.client.members(conv).await?
    };
    let mut mentions = Vec::new();
    let mut all = None;
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(off) = text[i..].find('@') {
        let start = i + off;
        let before_ok = start == 0 || !is_name_byte(bytes[start - 1]);
        let mut end = start + 1;
        while end < bytes.len() && is_name_byte(bytes[end]) {
            end += 1;
        }
        // A trailing dot ends a sentence, not a name.
        while end > start + 1 && bytes[end - 1] == b'.' {
            end -= 1;
        }
        let name = &text[start + 1..end];
        if before_ok && !name.is_empty() {
            match name {
                "everyone" => all = Some(MentionAll::Everyone),
                "here" => all = Some(MentionAll::Here),
                _ => {
                    if let Some(m) = members.iter().find(|m| m.username == name) {
                        mentions.push(Mention {
                            user: m.id,
                            start: start as u32,
                            end: end as u32,
                        });
                    }
                }
            }
        }
        i = end.max(start + 1);
    }
    Ok((mentions, all))
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')
}

/// `natter edit`: prints `seq  edited-at`.
pub(crate) async fn edit(
    s: &Session,
    conv: &str,
    seq: Seq,
    text: Vec<String>,
) -> anyhow::Result<ExitCode> {
    let conv = resolve_conv(s, conv).await?;
    let text = text.join(" ");
    let (mentions, mention_all) = mentions_in(s, conv, &text).await?;
    let edit = EditMessage {
        text,
        mentions,
        mention_all,
    };
    let message = s.client.edit_message(conv, seq, &edit).await?;
    let edited = match &message.body {
        natter_proto::EventBody::Message { meta, .. } => meta.edited_at.unwrap_or(message.ts),
        _ => message.ts,
    };
    outln!("{}\t{}", message.seq, output::format_time(edited));
    Ok(ExitCode::SUCCESS)
}

/// `natter edits`: every version, `time  text`, the original first.
pub(crate) async fn edits(s: &Session, conv: &str, seq: Seq) -> anyhow::Result<ExitCode> {
    let conv = resolve_conv(s, conv).await?;
    for v in s.client.message_edits(conv, seq).await?.versions {
        outln!(
            "{}\t{}",
            output::format_time(v.at),
            output::one_line(&v.text)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `natter delete --for-me`: prints `hidden  seq`.
pub(crate) async fn hide(s: &Session, conv: &str, seq: Seq) -> anyhow::Result<ExitCode> {
    let conv = resolve_conv(s, conv).await?;
    s.client.hide_message(conv, seq).await?;
    outln!("hidden\t{seq}");
    Ok(ExitCode::SUCCESS)
}

/// `natter react`: prints `emoji  count  mine|-`.
pub(crate) async fn react(
    s: &Session,
    conv: &str,
    seq: Seq,
    emoji: &str,
    remove: bool,
) -> anyhow::Result<ExitCode> {
    let conv = resolve_conv(s, conv).await?;
    let state = s.client.react(conv, seq, emoji, !remove).await?;
    outln!(
        "{}\t{}\t{}",
        state.emoji,
        state.count,
        if state.me { "mine" } else { "-" }
    );
    Ok(ExitCode::SUCCESS)
}

/// `natter reactions`: `emoji  count  mine|-` per emoji, or with an emoji
/// who reacted with it: `username  time`.
pub(crate) async fn reactions(
    s: &Session,
    conv: &str,
    seq: Seq,
    emoji: Option<String>,
) -> anyhow::Result<ExitCode> {
    let conv = resolve_conv(s, conv).await?;
    match emoji {
        None => {
            for r in s.client.reactions(conv, seq).await?.reactions {
                outln!(
                    "{}\t{}\t{}",
                    r.emoji,
                    r.count,
                    if r.me { "mine" } else { "-" }
                );
            }
        }
        Some(emoji) => {
            let mut after = None;
            loop {
                let page = s.client.reactors(conv, seq, &emoji, after, None).await?;
                for r in &page.users {
                    outln!("{}\t{}", r.username, output::format_time(r.at));
                }
                match (page.more, page.users.last()) {
                    (true, Some(last)) => after = Some(last.user),
                    _ => break,
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `natter forward`: prints `seq  message_id` of the copy.
pub(crate) async fn forward(
    s: &Session,
    from: &str,
    seq: Seq,
    to: &str,
) -> anyhow::Result<ExitCode> {
    let from = resolve_conv(s, from).await?;
    let to = resolve_conv(s, to).await?;
    let msg = SendMessage {
        forward: Some(ForwardFrom { conv: from, seq }),
        ..SendMessage::text(ClientId::random(), "")
    };
    let sent = s.client.send(to, &msg).await?;
    outln!("{}\t{}", sent.seq, sent.id);
    Ok(ExitCode::SUCCESS)
}

/// `natter pin`: prints `pinned|unpinned  seq`, or `unchanged  seq`.
pub(crate) async fn pin(
    s: &Session,
    conv: &str,
    seq: Seq,
    remove: bool,
) -> anyhow::Result<ExitCode> {
    let conv = resolve_conv(s, conv).await?;
    let what = match s.client.pin(conv, seq, !remove).await? {
        Some(_) if remove => "unpinned",
        Some(_) => "pinned",
        None => "unchanged",
    };
    outln!("{what}\t{seq}");
    Ok(ExitCode::SUCCESS)
}

/// `natter pins`: each pinned message as `history` prints it.
pub(crate) async fn pins(s: &Session, conv: &str) -> anyhow::Result<ExitCode> {
    let conv = resolve_conv(s, conv).await?;
    let mut names = own_names(s);
    for pin in s.client.pins(conv).await?.pins {
        outln!(
            "{}",
            output::event_line(&pin.message, &mut names, &s.client).await
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `natter thread`: the root and every reply as `history` prints them;
/// marks the thread read.
pub(crate) async fn thread(s: &Session, conv: &str, root: Seq) -> anyhow::Result<ExitCode> {
    let conv = resolve_conv(s, conv).await?;
    let mut names = own_names(s);
    let mut after = None;
    let mut last = None;
    loop {
        let page = s.client.thread(conv, root, after, Some(200)).await?;
        if after.is_none() {
            outln!(
                "{}",
                output::event_line(&page.root, &mut names, &s.client).await
            );
        }
        for event in &page.events {
            outln!("{}", output::event_line(event, &mut names, &s.client).await);
            last = Some(event.seq);
        }
        if !page.more {
            break;
        }
        after = last;
    }
    if let Some(seq) = last {
        s.client.read_thread(conv, root, seq).await?;
    }
    Ok(ExitCode::SUCCESS)
}
