//! `natter tail`: follow messages, receipts, typing and presence over the
//! SDK's live connection.

use super::Session;
use super::chat::{own_names, resolve_conv};
use super::output::{self, Names};
use natter_proto::{
    ConversationId, ConversationKind, Cursor, Event, EventBody, MembershipChangeKind, Presence,
    Receipt, Seq, ServerFrame, UserId,
};
use natter_sdk::{Client, ConnectOptions, LiveEvent};
use std::collections::{HashMap, HashSet};
use std::process::ExitCode;

/// Arguments of `natter tail`.
#[derive(clap::Args, Debug, Clone)]
pub struct TailArgs {
    /// Only this conversation (id, @username of an existing direct
    /// conversation, or #group); all of mine by default.
    pub conv: Option<String>,
    /// Print every item as one JSON object per line, with a `type` field to
    /// filter on: `event` (`{"type":"event","cursor":…,"event":{…}}`, the
    /// cursor null for an event fetched to fill a gap), `receipt`
    /// (`{"type":"receipt","cursor":…,"receipt":{…}}`, mine included),
    /// `membership` (my channel subscriptions beginning and ending),
    /// `report` (reports for me to handle),
    /// `typing` (starts and stops), `presence` and `presence_snapshot` (as
    /// the server sends them, after each connection).
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
    /// Mark messages read as they are printed (the others see `✓✓ read`
    /// when we both share read receipts).
    #[arg(long)]
    pub mark_read: bool,
}

/// `natter tail`. Without a start option it begins at the current head of
/// my log: only what happens from now on is printed. Says on stderr when
/// it is caught up (`tail: following from cursor N`).
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

    let mut view = View {
        client: s.client.clone(),
        me: s.client.user_id(),
        json: args.json,
        only,
        members: None,
        names: own_names(s),
        labels: Labels::default(),
        presence: None,
        typing: HashSet::new(),
        receipts: HashMap::new(),
    };
    if let Some(conv) = only {
        let members = s.client.members(conv).await?;
        for m in &members {
            view.names.insert(m.id, &m.username);
        }
        view.members = Some(members.into_iter().map(|m| m.id).collect());
    } else if !args.json {
        view.labels.load(&s.client, &mut view.names).await?;
    }
    let mut live = s.client.connect(options).await?;
    let mut sessions = s.client.watch_session();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut reads = ReadMarks::default();
    let mut printed = 0u64;
    let mut offline = false;
    // Whether the readiness line was printed: once, on the first sync.
    let mut announced = false;

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
        let event = match event {
            None => break Err(anyhow::anyhow!("unavailable: the live connection stopped")),
            Some(event) => event,
        };
        match event {
            LiveEvent::Event { cursor, event } => {
                if view.only.is_some_and(|c| c != event.conv) {
                    continue;
                }
                if let Err(e) = view.event(cursor, &event).await {
                    break Err(e);
                }
                if let EventBody::Message { .. } = event.body {
                    if args.mark_read {
                        live.mark_read(event.conv, event.seq);
                        reads.want(event.conv, event.seq);
                    }
                    printed += 1;
                    if args.count.is_some_and(|n| printed >= n) {
                        break Ok(());
                    }
                }
            }
            LiveEvent::Receipt { cursor, receipt } => {
                if Some(receipt.user) == view.me {
                    reads.confirm(receipt.conv, receipt.read);
                }
                if let Err(e) = view.receipt(cursor, receipt).await {
                    break Err(e);
                }
            }
            LiveEvent::Report { cursor, report } => {
                if let Err(e) = view.report(cursor, report).await {
                    break Err(e);
                }
            }
            LiveEvent::Membership { cursor, membership } => {
                if let Err(e) = view.membership(cursor, membership).await {
                    break Err(e);
                }
            }
            LiveEvent::PresenceSnapshot(users) => {
                if let Err(e) = view.snapshot(users).await {
                    break Err(e);
                }
            }
            LiveEvent::Presence(presence) => {
                if let Err(e) = view.presence(presence).await {
                    break Err(e);
                }
            }
            LiveEvent::Typing {
                conv,
                user,
                active,
                expires_in_ms,
            } => {
                if let Err(e) = view.typing(conv, user, active, expires_in_ms).await {
                    break Err(e);
                }
            }
            LiveEvent::RequestFailed { conv, error } => {
                let label = view.labels.get(&s.client, &mut view.names, conv).await.0;
                eprintln!(
                    "tail: a receipt or typing request in {label} was refused: {}: {}",
                    error.code, error.message
                );
            }
            LiveEvent::Synced { cursor } if !announced => {
                // On stderr, so stdout stays data. The server registers for
                // live items before reading the backlog, so whatever is
                // committed after this line is delivered: a script waits
                // for it before sending.
                announced = true;
                eprintln!("tail: following from cursor {cursor}");
            }
            LiveEvent::Connected { .. } if offline => {
                offline = false;
                eprintln!("tail: reconnected");
            }
            LiveEvent::Disconnected { reason } => {
                offline = true;
                eprintln!("tail: disconnected ({reason}); reconnecting");
            }
            LiveEvent::Resync { reason, .. } => {
                eprintln!("tail: resync ({reason}); some events were skipped");
                view.labels = Labels::default();
            }
            LiveEvent::SessionGone => break Err(natter_sdk::Error::SessionGone.into()),
            _ => {}
        }
    };
    live.close().await;
    if args.mark_read {
        reads.settle(&s.client).await;
    }
    result.map(|()| ExitCode::SUCCESS)
}

/// What has been printed so far, to print only changes, and how to print.
struct View {
    client: Client,
    me: Option<UserId>,
    json: bool,
    /// The one conversation followed, if any.
    only: Option<ConversationId>,
    /// Its members, when following one conversation: only their presence
    /// is shown.
    members: Option<HashSet<UserId>>,
    names: Names,
    labels: Labels,
    /// The presence last shown per user, once a snapshot arrived.
    presence: Option<HashMap<UserId, Presence>>,
    /// Who is typing where, so a refreshed indicator is printed once.
    typing: HashSet<(ConversationId, UserId)>,
    /// Each member's watermarks as last shown.
    receipts: HashMap<(ConversationId, UserId), (Seq, Seq)>,
}

impl View {
    async fn event(&mut self, cursor: Option<Cursor>, event: &Event) -> anyhow::Result<()> {
        match &event.body {
            // A long list is cut short in the event: the set is not known
            // any more, so every receipt counts.
            EventBody::MembersAdded { users, count } if *count as usize > users.len() => {
                self.members = None;
            }
            EventBody::MembersAdded { users, .. } => {
                if let Some(members) = &mut self.members {
                    members.extend(users.iter().copied());
                }
            }
            EventBody::MemberLeft { user }
            | EventBody::MemberRemoved { user }
            | EventBody::MemberBanned { user } => {
                if let Some(members) = &mut self.members {
                    members.remove(user);
                }
            }
            _ => {}
        }
        if let EventBody::Message { .. } = event.body {
            // The server stops the indicator too; do not wait for it.
            self.typing.remove(&(event.conv, event.sender));
        }
        if self.json {
            return print_json(&JsonEvent {
                r#type: "event",
                cursor,
                event,
            });
        }
        let line = output::event_line(event, &mut self.names, &self.client).await;
        self.print_in(event.conv, &line).await
    }

    async fn receipt(&mut self, cursor: Cursor, receipt: Receipt) -> anyhow::Result<()> {
        if self.only.is_some_and(|c| c != receipt.conv) {
            return Ok(());
        }
        if self.json {
            return print_json(&ServerFrame::Receipt { cursor, receipt });
        }
        if Some(receipt.user) == self.me {
            return Ok(());
        }
        let key = (receipt.conv, receipt.user);
        let before = self.receipts.insert(key, (receipt.delivered, receipt.read));
        let Some(change) = receipt_change(before.unwrap_or_default(), &receipt) else {
            return Ok(());
        };
        let (_, kind) = self
            .labels
            .get(&self.client, &mut self.names, receipt.conv)
            .await;
        // In a direct conversation the label already names the reader.
        let text = match kind {
            Some(ConversationKind::Direct) => change,
            _ => {
                let name = self.names.get(&self.client, receipt.user).await;
                format!("{name} {change}")
            }
        };
        self.print_in(receipt.conv, &text).await
    }

    /// A report for me to handle.
    async fn report(
        &mut self,
        cursor: Cursor,
        report: natter_proto::ReportInfo,
    ) -> anyhow::Result<()> {
        if self.only.is_some_and(|c| c != report.conv) {
            return Ok(());
        }
        if self.json {
            return print_json(&ServerFrame::Report { cursor, report });
        }
        let reporter = self.names.get(&self.client, report.reporter).await;
        let text = format!(
            "* {reporter} reported message {} ({}): report {}",
            report.seq,
            report.reason.as_str(),
            report.id
        );
        self.print_in(report.conv, &text).await
    }

    /// My channel subscription began or ended.
    async fn membership(
        &mut self,
        cursor: Cursor,
        membership: natter_proto::MembershipChange,
    ) -> anyhow::Result<()> {
        if self.only.is_some_and(|c| c != membership.conv) {
            return Ok(());
        }
        if self.json {
            return print_json(&ServerFrame::Membership { cursor, membership });
        }
        let text = match membership.change {
            MembershipChangeKind::Joined => "* you subscribed".to_owned(),
            MembershipChangeKind::Left => "* you left".to_owned(),
            MembershipChangeKind::Removed | MembershipChangeKind::Banned => {
                let by = self.names.get(&self.client, membership.by).await;
                let what = if membership.change == MembershipChangeKind::Banned {
                    "banned"
                } else {
                    "removed"
                };
                format!("* {by} {what} you")
            }
        };
        self.print_in(membership.conv, &text).await
    }

    async fn snapshot(&mut self, users: Vec<Presence>) -> anyhow::Result<()> {
        let users: Vec<Presence> = users.into_iter().filter(|p| self.shows(p.user)).collect();
        if self.json {
            return print_json(&ServerFrame::PresenceSnapshot { users });
        }
        // The first snapshot is the starting point; later ones (after a
        // reconnect) may hold changes missed meanwhile.
        let before = self.presence.replace(HashMap::new());
        for p in users {
            if before.as_ref().is_some_and(|b| b.get(&p.user) != Some(&p)) {
                self.print_presence(&p).await?;
            }
            self.presence
                .get_or_insert_default()
                .insert(p.user, p.clone());
        }
        Ok(())
    }

    async fn presence(&mut self, p: Presence) -> anyhow::Result<()> {
        if !self.shows(p.user) {
            return Ok(());
        }
        if self.json {
            return print_json(&ServerFrame::Presence(p));
        }
        let known = self.presence.get_or_insert_default();
        if known.get(&p.user) == Some(&p) {
            return Ok(());
        }
        known.insert(p.user, p.clone());
        self.print_presence(&p).await
    }

    async fn print_presence(&mut self, p: &Presence) -> anyhow::Result<()> {
        let name = self.names.get(&self.client, p.user).await;
        let text = match (p.online, p.last_seen) {
            (true, _) => format!("{name} is online"),
            (false, Some(ts)) => format!("{name} was last seen {}", output::format_time(ts)),
            (false, None) => format!("{name} is offline"),
        };
        print_line(&text)
    }

    async fn typing(
        &mut self,
        conv: ConversationId,
        user: UserId,
        active: bool,
        expires_in_ms: Option<u64>,
    ) -> anyhow::Result<()> {
        if self.only.is_some_and(|c| c != conv) {
            return Ok(());
        }
        if self.json {
            return print_json(&ServerFrame::Typing {
                conv,
                user,
                active,
                expires_in_ms,
            });
        }
        if !active {
            self.typing.remove(&(conv, user));
            return Ok(());
        }
        if !self.typing.insert((conv, user)) {
            return Ok(());
        }
        let name = self.names.get(&self.client, user).await;
        self.print_in(conv, &format!("{name} is typing…")).await
    }

    /// Whether `user`'s presence concerns what is followed.
    fn shows(&self, user: UserId) -> bool {
        self.members.as_ref().is_none_or(|m| m.contains(&user))
    }

    /// Prints a line about `conv`, prefixed with its label when following
    /// every conversation.
    async fn print_in(&mut self, conv: ConversationId, text: &str) -> anyhow::Result<()> {
        match self.only {
            Some(_) => print_line(text),
            None => {
                let (label, _) = self.labels.get(&self.client, &mut self.names, conv).await;
                print_line(&format!("{label}\t{text}"))
            }
        }
    }
}

/// What moved between two sightings of a member's watermarks, as shown:
/// `✓✓ read up to R`, `✓✓ delivered up to D`, or both; `None` when nothing
/// did.
fn receipt_change(before: (Seq, Seq), now: &Receipt) -> Option<String> {
    let read = now.read > before.1;
    // Delivered up to what is read says nothing new.
    let delivered = now.delivered > before.0 && now.delivered > now.read;
    match (read, delivered) {
        (true, true) => Some(format!(
            "✓✓ read up to {}, delivered up to {}",
            now.read, now.delivered
        )),
        (true, false) => Some(format!("✓✓ read up to {}", now.read)),
        (false, true) => Some(format!("✓✓ delivered up to {}", now.delivered)),
        (false, false) => None,
    }
}

fn print_line(text: &str) -> anyhow::Result<()> {
    output::write_line(format_args!("{text}"))?;
    Ok(())
}

fn print_json(item: &impl serde::Serialize) -> anyhow::Result<()> {
    print_line(&serde_json::to_string(item)?)
}

/// A `--json` event line: a Delivery with a `type`, whose cursor may be
/// null (gap fills). Serialized from a struct, not a `Value`, to keep the
/// field order of the wire.
#[derive(serde::Serialize)]
struct JsonEvent<'a> {
    r#type: &'static str,
    cursor: Option<Cursor>,
    event: &'a Event,
}

/// With --mark-read: what was asked to be read, and what the server
/// confirmed (my own receipts come back through the log).
#[derive(Debug, Default)]
struct ReadMarks {
    wanted: HashMap<ConversationId, Seq>,
    confirmed: HashMap<ConversationId, Seq>,
}

impl ReadMarks {
    fn want(&mut self, conv: ConversationId, seq: Seq) {
        let w = self.wanted.entry(conv).or_default();
        *w = (*w).max(seq);
    }

    fn confirm(&mut self, conv: ConversationId, read: Seq) {
        let c = self.confirmed.entry(conv).or_default();
        *c = (*c).max(read);
    }

    /// The reads not confirmed yet: those asked for just before exiting,
    /// which the closing socket may not have carried to the end.
    fn unconfirmed(&self) -> Vec<(ConversationId, Seq)> {
        let mut out: Vec<_> = self
            .wanted
            .iter()
            .filter(|(conv, seq)| self.confirmed.get(conv).is_none_or(|c| c < seq))
            .map(|(conv, seq)| (*conv, *seq))
            .collect();
        out.sort();
        out
    }

    /// Marks the unconfirmed reads over HTTP, which answers only once they
    /// are stored. Failures are reported, not fatal: the messages were
    /// printed.
    async fn settle(&self, client: &Client) {
        for (conv, seq) in self.unconfirmed() {
            if let Err(e) = client.mark_read(conv, seq).await {
                eprintln!("tail: cannot mark {conv} read up to {seq}: {e}");
            }
        }
    }
}

/// `#group` / `@peer` labels of conversations, and their kinds, fetched as
/// needed.
#[derive(Default)]
struct Labels {
    known: HashMap<ConversationId, (String, Option<ConversationKind>)>,
}

impl Labels {
    async fn load(&mut self, client: &Client, names: &mut Names) -> anyhow::Result<()> {
        for conv in client.conversations().await? {
            names.learn(&conv);
            self.known
                .insert(conv.id, (output::conv_label(&conv), Some(conv.kind)));
        }
        Ok(())
    }

    /// The label and kind of `id`; the id and no kind if the server cannot
    /// say.
    async fn get(
        &mut self,
        client: &Client,
        names: &mut Names,
        id: ConversationId,
    ) -> (String, Option<ConversationKind>) {
        if let Some(known) = self.known.get(&id) {
            return known.clone();
        }
        let known = match client.conversation(id).await {
            Ok(conv) => {
                names.learn(&conv);
                (output::conv_label(&conv), Some(conv.kind))
            }
            Err(_) => (id.to_string(), None),
        };
        self.known.insert(id, known.clone());
        known
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receipt(delivered: Seq, read: Seq) -> Receipt {
        Receipt {
            conv: ConversationId::new(),
            user: UserId::new(),
            delivered,
            read,
            ts: 0,
        }
    }

    #[test]
    fn only_watermarks_that_moved_are_shown() {
        assert_eq!(
            receipt_change((0, 0), &receipt(12, 12)).as_deref(),
            Some("✓✓ read up to 12")
        );
        assert_eq!(
            receipt_change((12, 12), &receipt(14, 12)).as_deref(),
            Some("✓✓ delivered up to 14")
        );
        assert_eq!(
            receipt_change((3, 1), &receipt(9, 5)).as_deref(),
            Some("✓✓ read up to 5, delivered up to 9")
        );
        assert_eq!(receipt_change((9, 5), &receipt(9, 5)), None);
        // Hidden reads (0) show only delivery.
        assert_eq!(
            receipt_change((0, 0), &receipt(4, 0)).as_deref(),
            Some("✓✓ delivered up to 4")
        );
    }

    #[test]
    fn reads_not_confirmed_are_settled_at_exit() {
        let (a, b) = (ConversationId::new(), ConversationId::new());
        let mut r = ReadMarks::default();
        r.want(a, 3);
        r.want(a, 5);
        r.want(b, 2);
        r.confirm(a, 5);
        assert_eq!(r.unconfirmed(), vec![(b, 2)]);
        r.confirm(b, 7);
        assert!(r.unconfirmed().is_empty());
    }

    #[test]
    fn json_lines_carry_a_type() {
        let conv = ConversationId::new();
        let user = UserId::new();
        let typing = serde_json::to_value(ServerFrame::Typing {
            conv,
            user,
            active: true,
            expires_in_ms: Some(5),
        })
        .unwrap();
        assert_eq!(typing["type"], "typing");
        let presence = serde_json::to_value(ServerFrame::Presence(Presence {
            user,
            online: true,
            last_seen: None,
        }))
        .unwrap();
        assert_eq!(presence["type"], "presence");
        assert_eq!(presence["user"], user.to_string());
        let r = receipt(2, 1);
        let line = serde_json::to_value(ServerFrame::Receipt {
            cursor: Cursor(4),
            receipt: r,
        })
        .unwrap();
        assert_eq!(
            (line["type"].as_str(), line["cursor"].as_str()),
            (Some("receipt"), Some("4"))
        );
        assert_eq!(line["receipt"]["read"], 1);
    }
}
