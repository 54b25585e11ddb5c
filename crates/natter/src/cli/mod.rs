//! The command-line client: every `natter` subcommand except `serve`.
//!
//! It talks to the server only through the SDK (`natter-sdk`), keeps one
//! saved device session per profile (`<home>/<profile>.json`), and prints
//! plain text, one item per line, fields separated by tabs, so scripts can
//! `cut` it. Errors go to stderr as `error: <code>: <message>` with exit
//! code 1; usage errors exit with 2.

/// `println!` that returns an error (a closed pipe) instead of panicking.
macro_rules! outln {
    ($($arg:tt)*) => {
        crate::cli::output::write_line(format_args!($($arg)*))?
    };
}

mod account;
mod admin;
mod chat;
mod contacts;
mod media;
mod output;
mod profile;
mod rich;
mod signals;
mod tail;

use anyhow::Context;
use natter_sdk::Client;
use profile::{Profile, ProfileStore};
use std::path::PathBuf;
use std::process::ExitCode;

/// The server URL used when none is given.
const DEFAULT_SERVER: &str = "http://127.0.0.1:7878";

/// Options shared by every client command.
#[derive(clap::Args, Debug, Clone)]
pub struct ClientGlobals {
    /// Server URL. Commands that use a saved session talk to the server the
    /// profile logged in to, unless a URL is given here or in NATTER_URL
    /// (even the default one) [default: http://127.0.0.1:7878].
    // No clap default: a default would hide whether the URL was given, and
    // an explicit http://127.0.0.1:7878 must still override the profile's.
    #[arg(long, env = "NATTER_URL", global = true)]
    pub server: Option<String>,
    /// Directory holding saved sessions [default: $XDG_CONFIG_HOME/natter or
    /// $HOME/.config/natter].
    #[arg(long, env = "NATTER_HOME", global = true)]
    pub home: Option<PathBuf>,
    /// Profile name (lets one machine hold several accounts).
    #[arg(long, env = "NATTER_PROFILE", default_value = "default", global = true)]
    pub profile: String,
}

impl ClientGlobals {
    /// The server to log in to: the one given, else the default.
    pub(crate) fn server_or_default(&self) -> &str {
        self.server.as_deref().unwrap_or(DEFAULT_SERVER)
    }
}

/// The client commands.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum ClientCommand {
    /// Create an account and log in as it (saves the session in the
    /// profile).
    ///
    /// The password comes from stdin with --password-stdin, or from the
    /// NATTER_PASSWORD environment variable.
    Register(account::AuthArgs),
    /// Log in (saves the session in the profile).
    ///
    /// The password comes from stdin with --password-stdin, or from the
    /// NATTER_PASSWORD environment variable.
    Login(account::AuthArgs),
    /// Log out: revoke this device session and forget it.
    Logout,
    /// Print who the profile is logged in as: username, user id, device id,
    /// log head.
    Whoami,
    /// Show my profile, or set my display name (shown instead of my
    /// username) and "about" text: prints `username`, `display_name` and
    /// `about` lines. An empty value removes one.
    Profile {
        /// 1 to 64 characters; "" removes it.
        #[arg(long)]
        name: Option<String>,
        /// At most 280 characters; "" removes it.
        #[arg(long)]
        about: Option<String>,
    },
    /// Search the user directory by username or display-name prefix:
    /// username, display name (`-` if none), user id. People who turned
    /// `privacy --discoverable off` are not listed.
    Users {
        /// The beginning of a username or display name.
        prefix: String,
    },
    /// List this account's device sessions: device id, name, created, last
    /// active, and `current` for this one.
    Sessions,
    /// Revoke one of this account's device sessions.
    Revoke {
        /// The device id (from `natter sessions`).
        device_id: String,
    },
    /// List my conversations, newest activity first.
    ///
    /// Columns: id, kind (direct, group, request: a direct conversation
    /// someone who is not yet my contact started, until I accept it or
    /// answer, or invitation: a group someone my `group_adds` setting does
    /// not admit added me to, until I accept it or write in it), #name or
    /// @peer, unread (messages from others after my read watermark), last
    /// message.
    #[command(visible_alias = "ls")]
    Conversations,
    /// Open the direct conversation with a user (created if needed) and
    /// print its id.
    Dm {
        /// The other person's username.
        username: String,
    },
    /// Server administration: promote admins (against the data folder) and
    /// suspend accounts (as an admin).
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Report a message to the group's moderators and the server's admins;
    /// prints the report's id.
    Report {
        /// Conversation id, @username or #group.
        conv: String,
        /// The message's seq (as `history` shows it).
        seq: u64,
        /// Why.
        #[arg(value_parser = ["spam", "abuse", "other"])]
        reason: String,
        /// More words (at most 500 characters).
        #[arg(long)]
        note: Option<String>,
    },
    /// List reports, newest first: a group's (as one of its moderators), or
    /// without a conversation every report (as a server admin). Columns: id,
    /// conversation id, seq, sender, reason, reporter, open|resolved, text.
    Reports {
        /// Conversation id or #group; none for every report.
        conv: Option<String>,
        /// Resolved reports too.
        #[arg(long)]
        all: bool,
    },
    /// Resolve a report (as a moderator of its group or a server admin).
    Resolve {
        /// The report's id.
        id: String,
        /// What was done.
        #[arg(long)]
        note: Option<String>,
    },
    /// Join a group through an invite link (its token, or the whole link);
    /// prints the group's id and #name.
    Join {
        /// The token `natter group invite` printed, or a link ending in it.
        #[arg(allow_hyphen_values = true)]
        token: String,
    },
    /// Accept a message request (see `conversations`): the sender becomes
    /// a contact. Answering does the same. Prints the id and @peer.
    Accept {
        /// Conversation id or @username.
        conv: String,
    },
    /// Block a user: they cannot message me directly, add me to groups or
    /// see my presence, and I stop seeing theirs. Prints username, user id,
    /// blocked at (UTC). Blocking again keeps the first time.
    Block {
        /// Their username.
        username: String,
    },
    /// Lift a block (nothing happens if there is none).
    Unblock {
        /// Their username.
        username: String,
    },
    /// List the users I have blocked, most recent first: username, user id,
    /// blocked at (UTC).
    Blocks,
    /// Create groups and add members.
    #[command(subcommand)]
    Group(chat::GroupCommand),
    /// Delete a message for everyone (mine within the server's window, or
    /// anyone's as a moderator); prints the seq of the `message_deleted`
    /// event. With --for-me, hide it for me alone on all my devices;
    /// prints `hidden  SEQ`.
    Delete {
        /// Conversation id, @username or #group.
        conv: String,
        /// The message's seq (as `history` shows it).
        seq: natter_proto::Seq,
        /// Delete it for me only.
        #[arg(long)]
        for_me: bool,
    },
    /// Reply to a message (quoting it); `@username` of a member in the text
    /// mentions them. Prints `seq  message_id`.
    Reply {
        /// Conversation id, @username or #group.
        conv: String,
        /// The seq of the message to answer.
        seq: natter_proto::Seq,
        /// The text (words are joined with spaces).
        #[arg(required = true, num_args = 1.., trailing_var_arg = true, allow_hyphen_values = true)]
        text: Vec<String>,
    },
    /// Download the files attached to a message into a folder (the
    /// current one by default); prints each file's path. A download that
    /// was cut off continues where it stopped.
    Download {
        /// Conversation id, @username or #group.
        conv: String,
        /// The message's seq.
        seq: natter_proto::Seq,
        /// Where to put the files.
        #[arg(long, default_value = ".")]
        out: std::path::PathBuf,
    },
    /// Set my avatar (or a group's, with --group) from a picture, or
    /// remove it with --remove; prints the avatar id.
    Avatar {
        /// The picture (PNG, JPEG, GIF or WebP; its centred square is used).
        #[arg(required_unless_present = "remove")]
        path: Option<std::path::PathBuf>,
        /// A group's avatar instead of mine (#group or conversation id).
        #[arg(long)]
        group: Option<String>,
        /// Remove the avatar.
        #[arg(long, conflicts_with = "path")]
        remove: bool,
    },
    /// Find messages I may read: `conv seq time sender: snippet`, the
    /// matches in [brackets], best first.
    Search(chat::SearchArgs),
    /// A conversation's pictures, videos, recordings and files, newest
    /// first: `seq sender kind name size` and the picture's size or the
    /// recording's length.
    Media {
        /// Conversation id, @username or #group.
        conv: String,
        /// Only this kind: image, video, audio or file.
        #[arg(long)]
        kind: Option<String>,
        /// Most messages to list.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Edit my message (within the server's edit window); prints `seq
    /// edited-at`.
    Edit {
        /// Conversation id, @username or #group.
        conv: String,
        /// The message's seq.
        seq: natter_proto::Seq,
        /// The new text.
        #[arg(required = true, num_args = 1.., trailing_var_arg = true, allow_hyphen_values = true)]
        text: Vec<String>,
    },
    /// Every version of an edited message, the original first: `time  text`.
    Edits {
        /// Conversation id, @username or #group.
        conv: String,
        /// The message's seq.
        seq: natter_proto::Seq,
    },
    /// React to a message with one emoji (or take it back with --remove);
    /// prints `emoji  count  mine|-`.
    React {
        /// Conversation id, @username or #group.
        conv: String,
        /// The message's seq.
        seq: natter_proto::Seq,
        /// One emoji, e.g. 👍.
        emoji: String,
        /// Take my reaction back.
        #[arg(long)]
        remove: bool,
    },
    /// A message's reactions (`emoji  count  mine|-`), or with an emoji who
    /// reacted with it (`username  time`).
    Reactions {
        /// Conversation id, @username or #group.
        conv: String,
        /// The message's seq.
        seq: natter_proto::Seq,
        /// List who reacted with this emoji.
        emoji: Option<String>,
    },
    /// Forward a message into another of my conversations (marked as
    /// forwarded, without naming where it came from); prints `seq
    /// message_id` of the copy.
    Forward {
        /// The conversation the message is in.
        from: String,
        /// Its seq.
        seq: natter_proto::Seq,
        /// Where to forward it: conversation id, @username or #group.
        to: String,
    },
    /// Pin a message (or unpin it with --remove); prints `pinned|unpinned|unchanged  seq`.
    Pin {
        /// Conversation id, @username or #group.
        conv: String,
        /// The message's seq.
        seq: natter_proto::Seq,
        /// Unpin it.
        #[arg(long)]
        remove: bool,
    },
    /// The pinned messages, most recently pinned first, as `history` prints them.
    Pins {
        /// Conversation id, @username or #group.
        conv: String,
    },
    /// A thread: its root and replies as `history` prints them (and mark it
    /// read). Reply in it with `send --thread ROOT`.
    Thread {
        /// Conversation id, @username or #group.
        conv: String,
        /// The root message's seq.
        root: natter_proto::Seq,
    },
    /// Show or change my own settings for a conversation (synced to all my
    /// devices; nobody else sees them): mute, hide its badge, archive, pin,
    /// mark unread. Prints each setting as `name  on|off`.
    Settings(chat::SettingsArgs),
    /// Create broadcast channels and see their views.
    #[command(subcommand)]
    Channel(chat::ChannelCommand),
    /// List a conversation's members: user id, username.
    Members {
        /// Conversation id, @username (our direct conversation, which must
        /// exist: only `send` and `dm` start one) or #group.
        conv: String,
    },
    /// Send a message and print its seq and message id.
    ///
    /// Safe to retry: transport errors are retried with the same client id,
    /// so the server stores the message once.
    Send(chat::SendArgs),
    /// Print a conversation's history: seq, time, `username: text`.
    ///
    /// In a direct conversation my own messages get a fourth column with
    /// ticks from the other person's receipts: `✓` sent, `✓✓` delivered to
    /// one of their devices, `✓✓ read` read (shown only when both of us
    /// share read receipts).
    History(chat::HistoryArgs),
    /// Mark a conversation read up to a message, and print my watermarks:
    /// delivered, read.
    Read(signals::ReadArgs),
    /// Who has a message: `delivered  N/M` and `read  N/M` (M: members other
    /// than its sender), then one line per member: username, delivered up
    /// to, read up to (0 when hidden).
    Receipts(signals::ReceiptsArgs),
    /// Show my privacy settings, changing them first if options are given:
    /// `presence  everyone|contacts|nobody`, `read_receipts  on|off` and
    /// `group_adds  everyone|contacts|nobody`.
    Privacy(signals::PrivacyArgs),
    /// Who is online among the people I may see: username, online or
    /// offline, last seen (UTC) or `-` when unknown or hidden.
    Presence,
    /// Follow new messages live, in one conversation or all of them, until
    /// Ctrl-C.
    ///
    /// Starts at the current head of my log (only what happens from now
    /// on) unless --from-start, --from or --resume says otherwise. Reconnects
    /// by itself.
    ///
    /// Once connected and caught up it prints `tail: following from cursor
    /// N` on stderr, once; anything sent after that line is printed. A
    /// script that starts `tail` in the background and then sends should
    /// wait for that line first, or pass `--from CURSOR` with the head
    /// printed by `natter whoami` before sending.
    ///
    /// Lines on stdout, prefixed with #group or @peer when following all
    /// conversations:
    ///
    /// - messages and other events: `seq  time  username: text`;
    ///
    /// - others' receipts: `✓✓ delivered up to N` or `✓✓ read up to N`
    ///   (with the username first in groups);
    ///
    /// - typing: `username is typing…` (stops are not printed);
    ///
    /// - presence changes, never prefixed: `username is online`, `username
    ///   was last seen TIME`, or `username is offline` when unknown.
    ///
    /// When following one conversation, receipts, typing and presence
    /// concern only it and its members. My own receipts (from my other
    /// devices, or from this one) are not printed. --json prints every item
    /// instead; see there.
    Tail(tail::TailArgs),
}

/// A mistake in how the command was called: exit code 2, like clap's.
#[derive(Debug)]
pub(crate) struct UsageError(pub(crate) String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Runs one client command. Errors are printed here (`error: <code>:
/// <message>` on stderr) and turned into the exit code.
pub async fn run(cmd: ClientCommand, global: &ClientGlobals) -> anyhow::Result<ExitCode> {
    match dispatch(cmd, global).await {
        Ok(code) => Ok(code),
        Err(e) if is_broken_pipe(&e) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            eprintln!("error: {}", render_error(&e));
            if e.downcast_ref::<UsageError>().is_some() {
                Ok(ExitCode::from(2))
            } else {
                Ok(ExitCode::FAILURE)
            }
        }
    }
}

async fn dispatch(cmd: ClientCommand, global: &ClientGlobals) -> anyhow::Result<ExitCode> {
    let store = ProfileStore::new(global.home.as_deref(), &global.profile)?;
    let open = || Session::open(global, &store);
    match cmd {
        ClientCommand::Register(args) => account::register(global, &store, args).await,
        ClientCommand::Login(args) => account::login(global, &store, args).await,
        ClientCommand::Logout => account::logout(&open()?).await,
        ClientCommand::Whoami => {
            let s = open()?;
            s.finish(account::whoami(&s).await)
        }
        ClientCommand::Profile { name, about } => {
            let s = open()?;
            s.finish(account::profile(&s, name, about).await)
        }
        ClientCommand::Users { prefix } => {
            let s = open()?;
            s.finish(account::users(&s, &prefix).await)
        }
        ClientCommand::Sessions => {
            let s = open()?;
            s.finish(account::sessions(&s).await)
        }
        ClientCommand::Revoke { device_id } => {
            let s = open()?;
            s.finish(account::revoke(&s, &device_id).await)
        }
        ClientCommand::Conversations => {
            let s = open()?;
            s.finish(chat::conversations(&s).await)
        }
        ClientCommand::Dm { username } => {
            let s = open()?;
            s.finish(chat::dm(&s, &username).await)
        }
        ClientCommand::Admin(cmd) => match cmd {
            admin::AdminCommand::Promote { username, data_dir } => {
                admin::set_admin(&username, &data_dir, true).await
            }
            admin::AdminCommand::Demote { username, data_dir } => {
                admin::set_admin(&username, &data_dir, false).await
            }
            admin::AdminCommand::Suspend { username } => {
                let s = open()?;
                s.finish(admin::suspend(&s, &username).await)
            }
            admin::AdminCommand::Unsuspend { username } => {
                let s = open()?;
                s.finish(admin::unsuspend(&s, &username).await)
            }
        },
        ClientCommand::Report {
            conv,
            seq,
            reason,
            note,
        } => {
            let s = open()?;
            s.finish(admin::report(&s, &conv, seq, &reason, note).await)
        }
        ClientCommand::Reports { conv, all } => {
            let s = open()?;
            s.finish(admin::reports(&s, conv.as_deref(), all).await)
        }
        ClientCommand::Resolve { id, note } => {
            let s = open()?;
            s.finish(admin::resolve(&s, &id, note).await)
        }
        ClientCommand::Join { token } => {
            let s = open()?;
            s.finish(chat::join(&s, &token).await)
        }
        ClientCommand::Accept { conv } => {
            let s = open()?;
            s.finish(contacts::accept(&s, &conv).await)
        }
        ClientCommand::Block { username } => {
            let s = open()?;
            s.finish(contacts::block(&s, &username).await)
        }
        ClientCommand::Unblock { username } => {
            let s = open()?;
            s.finish(contacts::unblock(&s, &username).await)
        }
        ClientCommand::Blocks => {
            let s = open()?;
            s.finish(contacts::blocks(&s).await)
        }
        ClientCommand::Group(cmd) => {
            let s = open()?;
            s.finish(chat::group(&s, cmd).await)
        }
        ClientCommand::Delete { conv, seq, for_me } => {
            let s = open()?;
            if for_me {
                s.finish(rich::hide(&s, &conv, seq).await)
            } else {
                s.finish(chat::delete(&s, &conv, seq).await)
            }
        }
        ClientCommand::Reply { conv, seq, text } => {
            let s = open()?;
            let args = chat::SendArgs {
                conv,
                client_id: None,
                attempts: 5,
                reply: Some(seq),
                thread: None,
                also: false,
                files: Vec::new(),
                text,
            };
            s.finish(chat::send(&s, args).await)
        }
        ClientCommand::Download { conv, seq, out } => {
            let s = open()?;
            s.finish(media::download(&s, &conv, seq, &out).await)
        }
        ClientCommand::Avatar {
            path,
            group,
            remove,
        } => {
            let s = open()?;
            s.finish(media::avatar(&s, path.as_deref(), group.as_deref(), remove).await)
        }
        ClientCommand::Search(args) => {
            let s = open()?;
            s.finish(chat::search(&s, args).await)
        }
        ClientCommand::Media { conv, kind, limit } => {
            let s = open()?;
            s.finish(media::gallery(&s, &conv, kind.as_deref(), limit).await)
        }
        ClientCommand::Edit { conv, seq, text } => {
            let s = open()?;
            s.finish(rich::edit(&s, &conv, seq, text).await)
        }
        ClientCommand::Edits { conv, seq } => {
            let s = open()?;
            s.finish(rich::edits(&s, &conv, seq).await)
        }
        ClientCommand::React {
            conv,
            seq,
            emoji,
            remove,
        } => {
            let s = open()?;
            s.finish(rich::react(&s, &conv, seq, &emoji, remove).await)
        }
        ClientCommand::Reactions { conv, seq, emoji } => {
            let s = open()?;
            s.finish(rich::reactions(&s, &conv, seq, emoji).await)
        }
        ClientCommand::Forward { from, seq, to } => {
            let s = open()?;
            s.finish(rich::forward(&s, &from, seq, &to).await)
        }
        ClientCommand::Pin { conv, seq, remove } => {
            let s = open()?;
            s.finish(rich::pin(&s, &conv, seq, remove).await)
        }
        ClientCommand::Pins { conv } => {
            let s = open()?;
            s.finish(rich::pins(&s, &conv).await)
        }
        ClientCommand::Thread { conv, root } => {
            let s = open()?;
            s.finish(rich::thread(&s, &conv, root).await)
        }
        ClientCommand::Settings(args) => {
            let s = open()?;
            s.finish(chat::settings(&s, args).await)
        }
        ClientCommand::Channel(cmd) => {
            let s = open()?;
            s.finish(chat::channel(&s, cmd).await)
        }
        ClientCommand::Members { conv } => {
            let s = open()?;
            s.finish(chat::members(&s, &conv).await)
        }
        ClientCommand::Send(args) => {
            let s = open()?;
            s.finish(chat::send(&s, args).await)
        }
        ClientCommand::History(args) => {
            let s = open()?;
            s.finish(chat::history(&s, args).await)
        }
        ClientCommand::Read(args) => {
            let s = open()?;
            s.finish(signals::read(&s, args).await)
        }
        ClientCommand::Receipts(args) => {
            let s = open()?;
            s.finish(signals::receipts(&s, args).await)
        }
        ClientCommand::Privacy(args) => {
            let s = open()?;
            s.finish(signals::privacy(&s, args).await)
        }
        ClientCommand::Presence => {
            let s = open()?;
            s.finish(signals::presence(&s).await)
        }
        ClientCommand::Tail(args) => {
            let s = open()?;
            s.finish(tail::tail(&s, args).await)
        }
    }
}

/// A logged-in profile: the client and where to save rotated tokens.
pub(crate) struct Session {
    pub(crate) client: Client,
    pub(crate) store: ProfileStore,
    /// The server URL the profile is saved with.
    server: String,
    /// The refresh token on disk, to tell when the SDK rotated it.
    saved_refresh: std::sync::Mutex<String>,
}

impl Session {
    fn open(global: &ClientGlobals, store: &ProfileStore) -> anyhow::Result<Session> {
        let profile = store.load()?.with_context(|| {
            format!(
                "unauthorized: profile '{}' is not logged in; run `natter login <username>` or `natter register <username>`",
                store.name
            )
        })?;
        let server = effective_server(global, &profile);
        let client = Client::with_session(&server, profile.session.clone())?;
        Ok(Session {
            client,
            store: store.clone(),
            server,
            saved_refresh: std::sync::Mutex::new(profile.session.refresh_token),
        })
    }

    /// Saves the session if the SDK refreshed its tokens. Refresh tokens are
    /// single-use: losing a rotated one would make the next run reuse the
    /// old one, which revokes the session.
    pub(crate) fn save_if_rotated(&self) -> anyhow::Result<()> {
        let Some(session) = self.client.session() else {
            return Ok(());
        };
        let mut saved = self
            .saved_refresh
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *saved == session.refresh_token {
            return Ok(());
        }
        let refresh = session.refresh_token.clone();
        self.store.save(&Profile {
            server: self.server.clone(),
            session,
        })?;
        *saved = refresh;
        Ok(())
    }

    /// After a command: keep rotated tokens, or forget a session the server
    /// says is gone. Passes the command's result on.
    fn finish(&self, result: anyhow::Result<ExitCode>) -> anyhow::Result<ExitCode> {
        let gone = result.as_ref().is_err_and(|e| {
            matches!(
                e.downcast_ref::<natter_sdk::Error>(),
                Some(natter_sdk::Error::SessionGone)
            )
        });
        let cleanup = if gone {
            self.store.remove()
        } else {
            self.save_if_rotated()
        };
        // The command's own error matters more than a failed save.
        let code = result?;
        cleanup?;
        Ok(code)
    }
}

/// The URL to use with a saved profile: the one given with --server or
/// NATTER_URL (even the default's), else the profile's.
fn effective_server(global: &ClientGlobals, profile: &Profile) -> String {
    global
        .server
        .clone()
        .unwrap_or_else(|| profile.server.clone())
}

/// Whether stdout was closed under us (`natter history | head -1`), which
/// is how a reader says it has seen enough: not an error.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// `code: message` for SDK errors (their display already is), the context
/// chain for the rest.
fn render_error(e: &anyhow::Error) -> String {
    match e.downcast_ref::<natter_sdk::Error>() {
        Some(natter_sdk::Error::SessionGone) => {
            "session_revoked: this session is no longer valid; log in again".into()
        }
        Some(sdk) if e.chain().count() == 1 => sdk.to_string(),
        _ => format!("{e:#}"),
    }
}
