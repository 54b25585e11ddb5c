//! Conversation commands: conversations, dm, group, members, send, history.

use super::output::{self, Names};
use super::{Session, UsageError};
use anyhow::Context;
use natter_proto::{
    ClientId, ConversationId, ConversationKind, CreateInvite, EventBody, HistoryQuery,
    HistoryVisibility, Role, Seq, UpdateGroup, UserId,
};
use std::io::Read;
use std::process::ExitCode;
use std::time::Duration;

/// `natter delete`: prints the seq of the `message_deleted` event.
pub(crate) async fn delete(s: &Session, conv: &str, seq: Seq) -> anyhow::Result<ExitCode> {
    let conv = resolve_conv(s, conv).await?;
    outln!("{}", s.client.delete_message(conv, seq).await?.seq);
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `natter settings`.
#[derive(clap::Args, Debug, Clone)]
pub struct SettingsArgs {
    /// Conversation id, @username or #group.
    pub conv: String,
    /// Mute notifications.
    #[arg(long, value_parser = ["on", "off"])]
    pub mute: Option<String>,
    /// While muted, leave it out of the unread badge too.
    #[arg(long, value_parser = ["on", "off"])]
    pub hide_badge: Option<String>,
    /// Archive it.
    #[arg(long, value_parser = ["on", "off"])]
    pub archive: Option<String>,
    /// Pin it to the top.
    #[arg(long, value_parser = ["on", "off"])]
    pub pin: Option<String>,
    /// Mark it unread (or clear the mark).
    #[arg(long, value_parser = ["on", "off"])]
    pub unread: Option<String>,
}

/// `natter settings`: changes what is given, then prints `muted`,
/// `hide_badge`, `archived`, `pinned` and `marked_unread` lines (`on`/`off`).
pub(crate) async fn settings(s: &Session, args: SettingsArgs) -> anyhow::Result<ExitCode> {
    let conv = resolve_conv(s, &args.conv).await?;
    let on = |v: &Option<String>| v.as_deref().map(|v| v == "on");
    let change = natter_proto::UpdateSettings {
        muted: on(&args.mute),
        hide_badge: on(&args.hide_badge),
        archived: on(&args.archive),
        pinned: on(&args.pin),
        marked_unread: on(&args.unread),
    };
    let settings = if change == natter_proto::UpdateSettings::default() {
        s.client.conversation(conv).await?.settings
    } else {
        s.client.set_settings(conv, &change).await?.settings
    };
    let flag = |b: bool| if b { "on" } else { "off" };
    outln!("muted\t{}", flag(settings.muted));
    outln!("hide_badge\t{}", flag(settings.hide_badge));
    outln!("archived\t{}", flag(settings.archived));
    outln!("pinned\t{}", flag(settings.pinned_at.is_some()));
    outln!("marked_unread\t{}", flag(settings.marked_unread));
    Ok(ExitCode::SUCCESS)
}

/// `natter channel …`.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum ChannelCommand {
    /// Create a broadcast channel (I am its owner) and print its id.
    /// Subscribers join with an invite link (`group invite`, `group join`);
    /// `group` commands manage it like a group.
    Create {
        /// The channel's name (1 to 128 characters).
        name: String,
        /// What the channel is about.
        #[arg(long)]
        description: Option<String>,
    },
    /// Print `seq  views` for the channel's latest messages: how many
    /// members have read each.
    Views {
        /// Conversation id or #channel.
        conv: String,
        /// How many of the newest seqs to cover (1 to 500).
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=500))]
        last: u64,
    },
}

/// `natter channel …`.
pub(crate) async fn channel(s: &Session, cmd: ChannelCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ChannelCommand::Create { name, description } => {
            let conv = s
                .client
                .create_channel(&name, description.as_deref())
                .await?;
            outln!("{}", conv.id);
        }
        ChannelCommand::Views { conv, last } => {
            let conv = resolve_conv(s, &conv).await?;
            let info = s.client.conversation(conv).await?;
            let to = info.last_seq.max(1);
            let from = to.saturating_sub(last - 1).max(1);
            for v in s.client.views(conv, from, to).await?.views {
                outln!("{}\t{}", v.seq, v.views);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `natter group …`.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum GroupCommand {
    /// Create a group with me and the given users in it, and print its id.
    Create {
        /// The group's name (1 to 128 characters).
        name: String,
        /// Other initial members.
        usernames: Vec<String>,
    },
    /// Add users to a group I created; prints the group id and member count.
    Add {
        /// Conversation id or #group.
        conv: String,
        /// The users to add.
        #[arg(required = true)]
        usernames: Vec<String>,
    },
    /// Leave a group (or decline an invitation to one); prints the group id
    /// and the seq of my `member_left` event. The owner cannot leave while
    /// others remain (`group transfer` first).
    Leave {
        /// Conversation id or #group.
        conv: String,
    },
    /// Show a group: `name`, `kind`, `members`, `my_role` lines, then one
    /// `member  username  role` line per member in join order.
    Info {
        /// Conversation id or #group.
        conv: String,
    },
    /// Remove a member whose role is below mine; prints the seq of the
    /// `member_removed` event.
    Remove {
        /// Conversation id or #group.
        conv: String,
        /// Their username.
        username: String,
    },
    /// Ban a user from the group (removing them if a member): they cannot
    /// be added again until unbanned. Prints username and banned-at time.
    Ban {
        /// Conversation id or #group.
        conv: String,
        /// Their username.
        username: String,
    },
    /// Lift a ban (nothing happens if there is none).
    Unban {
        /// Conversation id or #group.
        conv: String,
        /// Their username.
        username: String,
    },
    /// List who is banned: username, banned at (UTC), most recent first.
    Bans {
        /// Conversation id or #group.
        conv: String,
    },
    /// Give a member a role (owner only): admin, moderator or member.
    /// Prints the seq of the `role_changed` event.
    Role {
        /// Conversation id or #group.
        conv: String,
        /// Their username.
        username: String,
        /// The new role.
        /// The new role (`subscriber` in channels, `member` in groups).
        #[arg(value_parser = ["admin", "moderator", "member", "subscriber"])]
        role: String,
    },
    /// Rename a group (owner and admins); prints the new name.
    Rename {
        /// Conversation id or #group.
        conv: String,
        /// The new name.
        name: String,
    },
    /// Set a group's description (owner and admins); an empty one removes
    /// it.
    Describe {
        /// Conversation id or #group.
        conv: String,
        /// The description.
        description: String,
    },
    /// Set what people who join from now on may read: `joined` (from when
    /// they join), `all`, or a number of days before they join (owner and
    /// admins).
    History {
        /// Conversation id or #group.
        conv: String,
        /// `joined`, `all` or a number of days (1 to 3650).
        visible: String,
    },
    /// Make an invite link (owner and admins); prints its token, which
    /// `natter join` takes.
    Invite {
        /// Conversation id or #group.
        conv: String,
        /// The link stops working after this many seconds (60 to a year).
        #[arg(long)]
        expires_in: Option<u64>,
        /// The link stops working after this many joins.
        #[arg(long)]
        max_uses: Option<u32>,
    },
    /// List the group's invite links: token, uses, max uses (or -),
    /// expires at (UTC, or -).
    Invites {
        /// Conversation id or #group.
        conv: String,
    },
    /// Revoke an invite link.
    Revoke {
        /// Conversation id or #group.
        conv: String,
        /// The link's token.
        #[arg(allow_hyphen_values = true)]
        token: String,
    },
    /// Mute a member below my role for some seconds (moderators and up).
    Mute {
        /// Conversation id or #group.
        conv: String,
        /// Their username.
        username: String,
        /// For how long, in seconds (60 to a year).
        secs: u64,
    },
    /// Lift a member's mute.
    Unmute {
        /// Conversation id or #group.
        conv: String,
        /// Their username.
        username: String,
    },
    /// Set slow mode: the fewest seconds between two messages of one
    /// member (0 turns it off; moderators and up are exempt).
    Slowmode {
        /// Conversation id or #group.
        conv: String,
        /// Seconds, 0 to 86400.
        secs: u32,
    },
    /// Hand the group to another member (owner only); I become an admin.
    /// Prints the seq of the `ownership_transferred` event.
    Transfer {
        /// Conversation id or #group.
        conv: String,
        /// The new owner's username.
        username: String,
    },
}

/// Arguments of `natter send`.
#[derive(clap::Args, Debug, Clone)]
pub struct SendArgs {
    /// Conversation id, @username (the direct conversation, created if
    /// needed) or #group (by exact name among my conversations).
    pub conv: String,
    /// Idempotency key (1 to 64 printable ASCII characters); sending again
    /// with the same key never stores a second message. Random by default.
    #[arg(long)]
    pub client_id: Option<String>,
    /// How many times to try when the server cannot be reached or asks to
    /// retry.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub attempts: u32,
    /// Reply to the message at this seq (quoting it).
    #[arg(long)]
    pub reply: Option<Seq>,
    /// Reply in the thread rooted at this seq.
    #[arg(long)]
    pub thread: Option<Seq>,
    /// With --thread: show the reply in the conversation too.
    #[arg(long, requires = "thread")]
    pub also: bool,
    /// Attach a file (repeat for several); the text is then an optional
    /// caption. An interrupted upload resumes when the same file is sent
    /// again.
    #[arg(long = "file", value_name = "PATH")]
    pub files: Vec<std::path::PathBuf>,
    /// The text (words are joined with spaces); `-` reads it from stdin.
    /// `@username` of a member mentions them; `@everyone` and `@here`
    /// mention all (moderators and above). Options must come before it.
    #[arg(
        required_unless_present = "files",
        num_args = 0..,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub text: Vec<String>,
}

/// Arguments of `natter history`.
#[derive(clap::Args, Debug, Clone)]
pub struct HistoryArgs {
    /// Conversation id, @username (our direct conversation, which must
    /// exist: only `send` and `dm` start one) or #group.
    pub conv: String,
    /// How many events to print (1 to 200).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=200))]
    pub limit: u32,
    /// Only events with a seq below this (page backwards).
    #[arg(long, conflicts_with = "after")]
    pub before: Option<Seq>,
    /// Only events with a seq above this (page forwards).
    #[arg(long)]
    pub after: Option<Seq>,
}

/// `natter conversations`: `id  kind  #name|@peer  unread  last message`.
pub(crate) async fn conversations(s: &Session) -> anyhow::Result<ExitCode> {
    let convs = s.client.conversations().await?;
    let mut names = own_names(s);
    for conv in &convs {
        names.learn(conv);
    }
    for conv in &convs {
        let preview = match &conv.last_message {
            Some(event) => {
                output::truncate(&output::event_text(event, &mut names, &s.client).await, 60)
            }
            None => String::new(),
        };
        outln!(
            "{}\t{}\t{}\t{}\t{}",
            conv.id,
            match (conv.request, conv.kind) {
                (true, ConversationKind::Group) => "invitation",
                (true, _) => "request",
                (false, kind) => kind.as_str(),
            },
            output::conv_label(conv),
            conv.unread,
            preview
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `natter join <token>`: joins a group through an invite link and prints
/// the group's id and #name.
pub(crate) async fn join(s: &Session, token: &str) -> anyhow::Result<ExitCode> {
    // A whole link works as well as its token.
    let token = token.rsplit('/').next().unwrap_or(token);
    let info = s.client.join_invite(token).await?;
    outln!("{}\t{}", info.id, output::conv_label(&info));
    Ok(ExitCode::SUCCESS)
}

/// `natter dm <username>`: prints the conversation id.
pub(crate) async fn dm(s: &Session, username: &str) -> anyhow::Result<ExitCode> {
    let user = user_id(s, username).await?;
    let conv = s.client.direct(user).await?;
    outln!("{}", conv.id);
    Ok(ExitCode::SUCCESS)
}

/// `natter group …`.
pub(crate) async fn group(s: &Session, cmd: GroupCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        GroupCommand::Create { name, usernames } => {
            let users = user_ids(s, &usernames).await?;
            let conv = s.client.create_group(&name, &users).await?;
            outln!("{}", conv.id);
        }
        GroupCommand::Add { conv, usernames } => {
            let conv = resolve_conv(s, &conv).await?;
            let users = user_ids(s, &usernames).await?;
            let info = s.client.add_members(conv, &users).await?;
            outln!("{}\t{}", info.id, info.member_count);
        }
        GroupCommand::Leave { conv } => {
            let conv = resolve_conv(s, &conv).await?;
            let left = s.client.leave(conv).await?;
            outln!("{}\t{}", conv, left.seq());
        }
        GroupCommand::Info { conv } => {
            let conv = resolve_conv(s, &conv).await?;
            let info = s.client.conversation(conv).await?;
            outln!("name\t{}", info.name.as_deref().unwrap_or_default());
            outln!("kind\t{}", info.kind.as_str());
            outln!(
                "description\t{}",
                output::one_line(info.description.as_deref().unwrap_or_default())
            );
            outln!(
                "history\t{}",
                match info.history {
                    Some(HistoryVisibility::All) => "all".to_owned(),
                    Some(HistoryVisibility::Days { days }) => days.to_string(),
                    _ => "joined".to_owned(),
                }
            );
            outln!("members\t{}", info.member_count);
            outln!("my_role\t{}", info.role.as_str());
            if info.role != Role::Subscriber {
                for m in s.client.members(conv).await? {
                    outln!("member\t{}\t{}", m.username, m.role.as_str());
                }
            }
        }
        GroupCommand::Remove { conv, username } => {
            let conv = resolve_conv(s, &conv).await?;
            let user = user_id(s, &username).await?;
            outln!("{}", s.client.remove_member(conv, user).await?.seq());
        }
        GroupCommand::Ban { conv, username } => {
            let conv = resolve_conv(s, &conv).await?;
            let user = user_id(s, &username).await?;
            let ban = s.client.ban(conv, user).await?;
            outln!(
                "{}\t{}",
                ban.user.username,
                output::format_time(ban.banned_at)
            );
        }
        GroupCommand::Unban { conv, username } => {
            let conv = resolve_conv(s, &conv).await?;
            let user = user_id(s, &username).await?;
            s.client.unban(conv, user).await?;
        }
        GroupCommand::Bans { conv } => {
            let conv = resolve_conv(s, &conv).await?;
            for ban in s.client.bans(conv).await? {
                outln!(
                    "{}\t{}",
                    ban.user.username,
                    output::format_time(ban.banned_at)
                );
            }
        }
        GroupCommand::Role {
            conv,
            username,
            role,
        } => {
            let conv = resolve_conv(s, &conv).await?;
            let user = user_id(s, &username).await?;
            // clap only lets the four names through.
            let role = Role::parse(&role).unwrap_or(Role::Member);
            outln!("{}", s.client.set_role(conv, user, role).await?.seq);
        }
        GroupCommand::Transfer { conv, username } => {
            let conv = resolve_conv(s, &conv).await?;
            let user = user_id(s, &username).await?;
            outln!("{}", s.client.transfer_ownership(conv, user).await?.seq);
        }
        GroupCommand::Invite {
            conv,
            expires_in,
            max_uses,
        } => {
            let conv = resolve_conv(s, &conv).await?;
            let req = CreateInvite {
                expires_in_secs: expires_in,
                max_uses,
            };
            outln!("{}", s.client.create_invite(conv, &req).await?.token);
        }
        GroupCommand::Invites { conv } => {
            let conv = resolve_conv(s, &conv).await?;
            for i in s.client.invites(conv).await? {
                outln!(
                    "{}\t{}\t{}\t{}",
                    i.token,
                    i.uses,
                    i.max_uses.map_or("-".to_owned(), |m| m.to_string()),
                    i.expires_at.map_or("-".to_owned(), output::format_time)
                );
            }
        }
        GroupCommand::Revoke { conv, token } => {
            let conv = resolve_conv(s, &conv).await?;
            s.client.revoke_invite(conv, &token).await?;
        }
        GroupCommand::Mute {
            conv,
            username,
            secs,
        } => {
            let conv = resolve_conv(s, &conv).await?;
            let user = user_id(s, &username).await?;
            outln!("{}", s.client.mute(conv, user, secs).await?.seq);
        }
        GroupCommand::Unmute { conv, username } => {
            let conv = resolve_conv(s, &conv).await?;
            let user = user_id(s, &username).await?;
            outln!("{}", s.client.unmute(conv, user).await?.seq);
        }
        GroupCommand::Slowmode { conv, secs } => {
            let conv = resolve_conv(s, &conv).await?;
            let update = UpdateGroup {
                slow_mode_secs: Some(secs),
                ..UpdateGroup::default()
            };
            s.client.update_group(conv, &update).await?;
        }
        GroupCommand::Rename { conv, name } => {
            let conv = resolve_conv(s, &conv).await?;
            let update = UpdateGroup {
                name: Some(name),
                ..UpdateGroup::default()
            };
            let info = s.client.update_group(conv, &update).await?;
            outln!("{}", info.name.unwrap_or_default());
        }
        GroupCommand::Describe { conv, description } => {
            let conv = resolve_conv(s, &conv).await?;
            let update = UpdateGroup {
                description: Some(description),
                ..UpdateGroup::default()
            };
            s.client.update_group(conv, &update).await?;
        }
        GroupCommand::History { conv, visible } => {
            let history = match visible.as_str() {
                "joined" => HistoryVisibility::Joined,
                "all" => HistoryVisibility::All,
                days => match days.parse() {
                    Ok(days) => HistoryVisibility::Days { days },
                    Err(_) => {
                        return Err(UsageError(
                            "history is `joined`, `all` or a number of days".into(),
                        )
                        .into());
                    }
                },
            };
            let conv = resolve_conv(s, &conv).await?;
            let update = UpdateGroup {
                history: Some(history),
                ..UpdateGroup::default()
            };
            s.client.update_group(conv, &update).await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `natter members <conv>`: `user_id  username`.
pub(crate) async fn members(s: &Session, conv: &str) -> anyhow::Result<ExitCode> {
    let conv = resolve_conv(s, conv).await?;
    for member in s.client.members(conv).await? {
        outln!("{}\t{}", member.id, member.username);
    }
    Ok(ExitCode::SUCCESS)
}

/// `natter send`: prints `seq  message_id`.
pub(crate) async fn send(s: &Session, args: SendArgs) -> anyhow::Result<ExitCode> {
    let client_id = match args.client_id {
        Some(id) => ClientId(id),
        None => ClientId::random(),
    };
    if !client_id.is_valid() {
        return Err(UsageError(
            "bad_request: a client id is 1 to 64 printable ASCII characters".into(),
        )
        .into());
    }
    let text = if args.text == ["-"] {
        let text = tokio::task::spawn_blocking(|| {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).map(|_| text)
        })
        .await?
        .context("cannot read the message from stdin")?;
        // The newline that ends the last line is not part of the message.
        let trimmed = text.strip_suffix('\n').unwrap_or(&text);
        trimmed.strip_suffix('\r').unwrap_or(trimmed).to_owned()
    } else {
        args.text.join(" ")
    };
    if text.is_empty() && args.files.is_empty() {
        return Err(UsageError("give the text, or --file with an optional caption".into()).into());
    }
    let conv = resolve_conv_or_create(s, &args.conv).await?;
    let mut attachments = Vec::new();
    for path in &args.files {
        attachments.push(super::media::upload(s, path).await?);
    }
    let (mentions, mention_all) = super::rich::mentions_in(s, conv, &text).await?;
    let message = natter_proto::SendMessage {
        attachments,
        reply_to: args.reply,
        thread: args.thread,
        also_in_conversation: args.also,
        mentions,
        mention_all,
        ..natter_proto::SendMessage::text(client_id, text)
    };
    let mut delay = Duration::from_millis(200);
    let mut attempt = 1;
    loop {
        match s.client.send(conv, &message).await {
            Ok(sent) => {
                outln!("{}\t{}", sent.seq, sent.id);
                return Ok(ExitCode::SUCCESS);
            }
            Err(e) if e.is_retryable() && attempt < args.attempts => {
                let wait = e
                    .retry_after()
                    .unwrap_or(delay)
                    .min(Duration::from_secs(30));
                tracing::info!(error = %e, ?wait, attempt, "send failed; retrying with the same client id");
                tokio::time::sleep(wait).await;
                delay = (delay * 2).min(Duration::from_secs(5));
                attempt += 1;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// `natter history`: `seq  time  username: text`, and in a direct
/// conversation ticks after my own messages.
pub(crate) async fn history(s: &Session, args: HistoryArgs) -> anyhow::Result<ExitCode> {
    let conv = resolve_conv(s, &args.conv).await?;
    let mut names = own_names(s);
    let info = s.client.conversation(conv).await?;
    // A channel's subscribers may not list its members; names are then
    // looked up as they appear.
    if info.role != Role::Subscriber {
        for member in s.client.members(conv).await? {
            names.insert(member.id, &member.username);
        }
    }
    // Ticks only make sense with one other person: in a group, "delivered"
    // would mean someone's phone, not everyone's (see `natter receipts`).
    let peer_receipt = match info.kind {
        ConversationKind::Direct => info.peer_receipt,
        _ => None,
    };
    let me = s.client.user_id();
    let query = HistoryQuery {
        before: args.before,
        after: args.after,
        limit: Some(args.limit),
    };
    let page = s.client.history(conv, &query).await?;
    for event in &page.events {
        let line = output::event_line(event, &mut names, &s.client).await;
        match &peer_receipt {
            Some(peer)
                if Some(event.sender) == me && matches!(event.body, EventBody::Message { .. }) =>
            {
                outln!("{line}\t{}", output::ticks(event.seq, peer));
            }
            _ => outln!("{line}"),
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Like [`resolve_conv`], but `@username` is the direct conversation with
/// them created if needed: only `send` (and `dm`) start conversations.
async fn resolve_conv_or_create(s: &Session, arg: &str) -> anyhow::Result<ConversationId> {
    if let Some(username) = arg.strip_prefix('@') {
        let user = user_id(s, username).await?;
        return Ok(s.client.direct(user).await?.id);
    }
    resolve_conv(s, arg).await
}

/// Turns a conversation argument into an id without creating anything: a
/// conversation id as is, `@username` as my existing direct conversation
/// with them, `#name` as the group of that exact name among my
/// conversations.
pub(crate) async fn resolve_conv(s: &Session, arg: &str) -> anyhow::Result<ConversationId> {
    if let Some(username) = arg.strip_prefix('@') {
        let found = s.client.conversations().await?.into_iter().find(|c| {
            c.kind == ConversationKind::Direct
                && c.peer.as_ref().is_some_and(|p| p.username == username)
        });
        return match found {
            Some(conv) => Ok(conv.id),
            None => anyhow::bail!("not_found: no conversation with @{username}"),
        };
    }
    if let Some(name) = arg.strip_prefix('#') {
        let matches: Vec<ConversationId> = s
            .client
            .conversations()
            .await?
            .into_iter()
            .filter(|c| c.kind.is_multi() && c.name.as_deref() == Some(name))
            .map(|c| c.id)
            .collect();
        return match matches.as_slice() {
            [id] => Ok(*id),
            [] => anyhow::bail!("not_found: none of your groups is named '{name}'"),
            ids => {
                let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
                anyhow::bail!(
                    "bad_request: several of your groups are named '{name}'; use an id: {}",
                    ids.join(", ")
                )
            }
        };
    }
    arg.parse().map_err(|_| {
        UsageError(format!(
            "bad_request: '{arg}' is not a conversation id, @username or #group"
        ))
        .into()
    })
}

/// Looks a username up (a leading `@` is allowed).
pub(crate) async fn user_id(s: &Session, username: &str) -> anyhow::Result<UserId> {
    let username = username.strip_prefix('@').unwrap_or(username);
    match s.client.user_by_name(username).await {
        Ok(user) => Ok(user.id),
        Err(e) if e.code() == Some(natter_proto::ErrorCode::NotFound) => {
            anyhow::bail!("not_found: no user named '{username}'")
        }
        Err(e) => Err(e.into()),
    }
}

async fn user_ids(s: &Session, usernames: &[String]) -> anyhow::Result<Vec<UserId>> {
    let mut ids = Vec::with_capacity(usernames.len());
    for name in usernames {
        ids.push(user_id(s, name).await?);
    }
    Ok(ids)
}

/// A name cache that already knows me.
pub(crate) fn own_names(s: &Session) -> Names {
    let mut names = Names::default();
    if let Some(me) = s.client.session() {
        names.insert(me.user, &me.username);
    }
    names
}

/// What `natter search` was given.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct SearchArgs {
    /// The words (the last one also as a prefix).
    #[arg(required = true, num_args = 1..)]
    pub(crate) words: Vec<String>,
    /// Only in this conversation (id, @username or #group).
    #[arg(long = "in")]
    pub(crate) conv: Option<String>,
    /// Only from this user.
    #[arg(long)]
    pub(crate) from: Option<String>,
    /// Only on or after this day (YYYY-MM-DD, UTC) or ms.
    #[arg(long)]
    pub(crate) after: Option<String>,
    /// Only before this day (YYYY-MM-DD, UTC) or ms.
    #[arg(long)]
    pub(crate) before: Option<String>,
    /// Only messages with `file` or `link`.
    #[arg(long)]
    pub(crate) has: Option<String>,
    /// Only messages that mention me.
    #[arg(long)]
    pub(crate) mentions_me: bool,
    /// Only thread replies.
    #[arg(long)]
    pub(crate) thread: bool,
    /// Most results.
    #[arg(long, default_value_t = 20)]
    pub(crate) limit: u32,
}

/// `natter search`: one line per hit, `conv seq time sender: snippet`
/// with the matches in brackets, best first.
pub(crate) async fn search(s: &Session, a: SearchArgs) -> anyhow::Result<ExitCode> {
    let day = |v: &Option<String>| -> anyhow::Result<Option<i64>> {
        v.as_deref()
            .map(|d| {
                super::output::parse_day(d)
                    .with_context(|| format!("bad_request: {d} is not YYYY-MM-DD or ms"))
            })
            .transpose()
    };
    let conv = match &a.conv {
        Some(c) => Some(resolve_conv(s, c).await?),
        None => None,
    };
    let from = match &a.from {
        Some(u) => Some(user_id(s, u).await?),
        None => None,
    };
    let query = natter_proto::SearchQuery {
        q: a.words.join(" "),
        conv,
        from,
        after: day(&a.after)?,
        before: day(&a.before)?,
        has: a.has.clone(),
        mentions_me: a.mentions_me,
        in_thread: a.thread,
        limit: Some(a.limit.clamp(1, 50)),
        cursor: None,
    };
    let page = s.client.search(&query).await?;
    let mut names = super::output::Names::default();
    for hit in page.results {
        let mut text = String::new();
        let mut at = 0usize;
        for [start, end] in &hit.highlights {
            let (start, end) = (*start as usize, *end as usize);
            text.push_str(&hit.snippet[at..start]);
            text.push('[');
            text.push_str(&hit.snippet[start..end]);
            text.push(']');
            at = end;
        }
        text.push_str(&hit.snippet[at..]);
        let sender = names.get(&s.client, hit.sender).await;
        outln!(
            "{}\t{}\t{}\t{sender}: {}",
            hit.conv,
            hit.seq,
            super::output::format_time(hit.ts),
            text.replace(['\n', '\t'], " ")
        );
    }
    Ok(ExitCode::SUCCESS)
}
