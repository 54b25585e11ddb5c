//! Live-signal commands: read, receipts, privacy, presence.

use super::Session;
use super::chat::{own_names, resolve_conv};
use super::output;
use natter_proto::{Privacy, Seq, Visibility};
use std::process::ExitCode;

/// Arguments of `natter read`.
#[derive(clap::Args, Debug, Clone)]
pub struct ReadArgs {
    /// Conversation id, @username (our direct conversation, which must
    /// exist: only `send` and `dm` start one) or #group.
    pub conv: String,
    /// Read up to this seq [default: the conversation's newest]. Watermarks
    /// only move forward: a lower seq changes nothing.
    #[arg(long)]
    pub seq: Option<Seq>,
}

/// Arguments of `natter receipts`.
#[derive(clap::Args, Debug, Clone)]
pub struct ReceiptsArgs {
    /// Conversation id, @username (our direct conversation, which must
    /// exist: only `send` and `dm` start one) or #group.
    pub conv: String,
    /// The message's seq (as printed by `send` and `history`).
    pub seq: Seq,
}

/// Arguments of `natter privacy`.
#[derive(clap::Args, Debug, Clone)]
pub struct PrivacyArgs {
    /// Who may see when I am online and when I was last seen.
    #[arg(long, value_parser = ["everyone", "contacts", "nobody"])]
    pub presence: Option<String>,
    /// Whether others see when I read their messages; off also hides
    /// theirs from me.
    #[arg(long, value_parser = ["on", "off"])]
    pub read_receipts: Option<String>,
    /// Who may add me to groups at once; anyone else's add is an
    /// invitation I accept (`natter accept`) or decline (`natter group
    /// leave`).
    #[arg(long, value_parser = ["everyone", "contacts", "nobody"])]
    pub group_adds: Option<String>,
    /// Whether others find me in the user directory (`natter users`).
    #[arg(long, value_parser = ["on", "off"])]
    pub discoverable: Option<String>,
}

/// `natter read`: prints `delivered  read`, my watermarks after the call.
pub(crate) async fn read(s: &Session, args: ReadArgs) -> anyhow::Result<ExitCode> {
    let conv = resolve_conv(s, &args.conv).await?;
    let seq = match args.seq {
        Some(seq) => seq,
        None => s.client.conversation(conv).await?.last_seq,
    };
    let marks = s.client.mark_read(conv, seq).await?;
    outln!("{}\t{}", marks.delivered, marks.read);
    Ok(ExitCode::SUCCESS)
}

/// `natter receipts`: `delivered  N/M`, `read  N/M`, then `username
/// delivered read` per member.
pub(crate) async fn receipts(s: &Session, args: ReceiptsArgs) -> anyhow::Result<ExitCode> {
    let conv = resolve_conv(s, &args.conv).await?;
    let summary = s.client.receipts(conv, args.seq).await?;
    let mut names = own_names(s);
    for member in s.client.members(conv).await? {
        names.insert(member.id, &member.username);
    }
    outln!("delivered\t{}/{}", summary.delivered, summary.total);
    outln!("read\t{}/{}", summary.read, summary.total);
    for m in &summary.members {
        let name = names.get(&s.client, m.user).await;
        outln!("{name}\t{}\t{}", m.delivered, m.read);
    }
    Ok(ExitCode::SUCCESS)
}

/// `natter privacy`: `presence  VISIBILITY`, `read_receipts  on|off`,
/// `group_adds  VISIBILITY` and `discoverable  on|off`.
pub(crate) async fn privacy(s: &Session, args: PrivacyArgs) -> anyhow::Result<ExitCode> {
    let mut privacy = s.client.privacy().await?;
    if args.presence.is_some()
        || args.read_receipts.is_some()
        || args.group_adds.is_some()
        || args.discoverable.is_some()
    {
        if let Some(d) = &args.discoverable {
            privacy.discoverable = d == "on";
        }
        if let Some(p) = &args.presence {
            // clap only lets the three names through.
            privacy.presence = Visibility::parse(p).unwrap_or(privacy.presence);
        }
        if let Some(r) = &args.read_receipts {
            privacy.read_receipts = r == "on";
        }
        if let Some(g) = &args.group_adds {
            privacy.group_adds = Visibility::parse(g).unwrap_or(privacy.group_adds);
        }
        privacy = s.client.set_privacy(privacy).await?;
    }
    print_privacy(&privacy)
}

fn print_privacy(p: &Privacy) -> anyhow::Result<ExitCode> {
    outln!("presence\t{}", p.presence.as_str());
    outln!(
        "read_receipts\t{}",
        if p.read_receipts { "on" } else { "off" }
    );
    outln!("group_adds\t{}", p.group_adds.as_str());
    outln!(
        "discoverable\t{}",
        if p.discoverable { "on" } else { "off" }
    );
    Ok(ExitCode::SUCCESS)
}

/// `natter presence`: `username  online|offline  last-seen|-`, by username.
pub(crate) async fn presence(s: &Session) -> anyhow::Result<ExitCode> {
    let users = s.client.presence().await?;
    let mut names = own_names(s);
    // Direct peers are most of whom I may see: one listing names them all.
    if !users.is_empty() {
        for conv in s.client.conversations().await? {
            names.learn(&conv);
        }
    }
    let mut rows = Vec::with_capacity(users.len());
    for p in users {
        let name = names.get(&s.client, p.user).await;
        rows.push((name, p));
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, p) in rows {
        let last_seen = p
            .last_seen
            .map(output::format_time)
            .unwrap_or_else(|| "-".into());
        let state = if p.online { "online" } else { "offline" };
        outln!("{name}\t{state}\t{last_seen}");
    }
    Ok(ExitCode::SUCCESS)
}
