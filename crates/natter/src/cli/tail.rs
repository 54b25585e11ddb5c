//! `natter tail`: follow messages over the SDK's live connection.

use super::Session;
use super::chat::{own_names, resolve_conv};
use super::output::{self, Names};
use natter_proto::{ConversationId, Cursor, EventBody};
use natter_sdk::{Client, ConnectOptions, LiveEvent};
use std::collections::HashMap;
use std::process::ExitCode;

/// Arguments of `natter tail`.
#[derive(clap::Args, Debug, Clone)]
pub struct TailArgs {
    /// Only this conversation (id, @username or #group); all of mine by
    /// default.
    pub conv: Option<String>,
    /// Print one JSON object per event, `{"cursor": "…", "event": {…}}` (a
    /// Delivery; the cursor is null for an event fetched to fill a gap).
    #[arg(long)]
    pub json: bool,
    /// Exit after printing this many messages.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// Start from the beginning of my log (prints everything I can see).
    #[arg(long, conflicts_with_all = ["resume", "from"])]
    pub from_start: bool,
    /// Continue after the last event an earlier `tail` of this profile
    /// received (falls back to now).
    #[arg(long, conflicts_with = "from")]
    pub resume: bool,
    /// Start after this cursor (as printed by --json).
    #[arg(long)]
    pub from: Option<Cursor>,
}

/// `natter tail`. Without a start option it begins at the current head of
/// my log: only what happens from now on is printed.
pub(crate) async fn tail(s: &Session, args: TailArgs) -> anyhow::Result<ExitCode> {
    let only = match &args.conv {
        Some(conv) => Some(resolve_conv(s, conv).await?),
        None => None,
    };
    let state_file = s.store.live_state_path();
    let mut options = ConnectOptions::new().with_state_file(&state_file);
    let start = if args.from_start {
        Some(Cursor::START)
    } else if let Some(cursor) = args.from {
        Some(cursor)
    } else if args.resume && state_file.exists() {
        // The SDK takes the saved cursor from the state file.
        None
    } else {
        Some(s.client.me().await?.head)
    };
    if let Some(cursor) = start {
        options = options.with_cursor(cursor);
    }

    let mut names = own_names(s);
    let mut labels = Labels::default();
    if only.is_none() && !args.json {
        labels.load(&s.client, &mut names).await?;
    }
    let mut live = s.client.connect(options).await?;
    let mut sessions = s.client.watch_session();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut printed = 0u64;
    let mut offline = false;

    let result = loop {
        let event = tokio::select! {
            event = live.recv() => event,
            _ = &mut ctrl_c => break Ok(()),
            Ok(()) = sessions.changed() => {
                if let Err(e) = s.save_if_rotated() {
                    break Err(e);
                }
                continue;
            }
        };
        match event {
            None => break Err(anyhow::anyhow!("unavailable: the live connection stopped")),
            Some(LiveEvent::Event { cursor, event }) => {
                if only.is_some_and(|c| c != event.conv) {
                    continue;
                }
                let line = if args.json {
                    serde_json::to_string(&JsonLine {
                        cursor,
                        event: &event,
                    })?
                } else {
                    let line = output::event_line(&event, &mut names, &s.client).await;
                    match only {
                        Some(_) => line,
                        None => {
                            let label = labels.get(&s.client, &mut names, event.conv).await;
                            format!("{label}\t{line}")
                        }
                    }
                };
                if let Err(e) = output::write_line(format_args!("{line}")) {
                    break Err(e.into());
                }
                if matches!(event.body, EventBody::Message { .. }) {
                    printed += 1;
                    if args.count.is_some_and(|n| printed >= n) {
                        break Ok(());
                    }
                }
            }
            Some(LiveEvent::Connected { .. }) if offline => {
                offline = false;
                eprintln!("tail: reconnected");
            }
            Some(LiveEvent::Disconnected { reason }) => {
                offline = true;
                eprintln!("tail: disconnected ({reason}); reconnecting");
            }
            Some(LiveEvent::Resync { reason, .. }) => {
                eprintln!("tail: resync ({reason}); some events were skipped");
                labels = Labels::default();
            }
            Some(LiveEvent::SessionGone) => break Err(natter_sdk::Error::SessionGone.into()),
            Some(_) => {}
        }
    };
    live.close().await;
    result.map(|()| ExitCode::SUCCESS)
}

/// A `--json` line: a Delivery whose cursor may be null (gap fills). Serialized
/// from a struct, not a `Value`, to keep the field order of the wire.
#[derive(serde::Serialize)]
struct JsonLine<'a> {
    cursor: Option<Cursor>,
    event: &'a natter_proto::Event,
}

/// `#group` / `@peer` labels of conversations, fetched as needed.
#[derive(Default)]
struct Labels {
    known: HashMap<ConversationId, String>,
}

impl Labels {
    async fn load(&mut self, client: &Client, names: &mut Names) -> anyhow::Result<()> {
        for conv in client.conversations().await? {
            names.learn(&conv);
            self.known.insert(conv.id, output::conv_label(&conv));
        }
        Ok(())
    }

    async fn get(&mut self, client: &Client, names: &mut Names, id: ConversationId) -> String {
        if let Some(label) = self.known.get(&id) {
            return label.clone();
        }
        let label = match client.conversation(id).await {
            Ok(conv) => {
                names.learn(&conv);
                output::conv_label(&conv)
            }
            Err(_) => id.to_string(),
        };
        self.known.insert(id, label.clone());
        label
    }
}
