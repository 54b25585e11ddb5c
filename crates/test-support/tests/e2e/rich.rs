//! Rich messages end to end: replies, threads, mentions, forwards, edits,
//! hiding, reactions (coalesced in channels) and pins, live and from
//! history; bad input refused with typed errors; and a replay test: an
//! offline device that applies its log ends where history is.

use crate::*;
use natter_proto::{
    CreateInvite, EditMessage, ErrorCode, ForwardFrom, LogItem, Mention, MentionAll, MessageMeta,
    PersonalChange, ReactionCount, SendMessage, Seq, UserId,
};
use natter_test_support::TestServer;
use natter_test_support::sdk::Error;
use std::collections::BTreeMap;

fn code<T: std::fmt::Debug>(r: Result<T, Error>) -> ErrorCode {
    r.expect_err("refused").code().expect("an API error")
}

fn meta(e: &Event) -> &MessageMeta {
    match &e.body {
        EventBody::Message { meta, .. } => meta,
        other => panic!("not a message: {other:?}"),
    }
}

async fn say(c: &Client, conv: ConversationId, text: &str) -> Seq {
    c.send_message(conv, &ClientId::random(), text)
        .await
        .unwrap()
        .seq
}

async fn send_with(c: &Client, conv: ConversationId, m: SendMessage) -> Result<Seq, Error> {
    c.send(conv, &m).await.map(|s| s.seq)
}

fn plain(text: &str) -> SendMessage {
    SendMessage::text(ClientId::random(), text)
}

/// Waits for the next event in `conv` that is not a message.
async fn operation_in(live: &mut Live, conv: ConversationId) -> Event {
    loop {
        let e = event_in(live, conv).await;
        if !matches!(e.body, EventBody::Message { .. }) {
            return e;
        }
    }
}

#[tokio::test]
async fn replies_edits_reactions_and_pins_reach_the_other_member_and_history() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let (a_id, b_id) = (alice.user_id().unwrap(), bob.user_id().unwrap());
    let g = alice.create_group("club", &[b_id]).await.unwrap().id;
    let mut b = connect(&bob).await;
    let first = say(&alice, g, "First book: Dune?").await;
    message_in(&mut b, g).await;

    // Bob answers, quoting it and mentioning alice.
    let text = "@alice yes";
    let reply = send_with(
        &bob,
        g,
        SendMessage {
            reply_to: Some(first),
            mentions: vec![Mention {
                user: a_id,
                start: 0,
                end: 6,
            }],
            ..plain(text)
        },
    )
    .await
    .unwrap();
    let seen = message_in(&mut b, g).await;
    let quote = meta(&seen).reply_to.clone().expect("a quote");
    assert_eq!(
        (quote.seq, quote.sender, quote.snippet.as_deref()),
        (first, a_id, Some("First book: Dune?"))
    );
    let list = alice.conversations().await.unwrap();
    assert_eq!(list[0].unread_mentions, 1, "alice was mentioned");

    // Alice edits her message: one event; history and the quote follow.
    let edited = alice
        .edit_message(
            g,
            first,
            &EditMessage {
                text: "First book: Dune? (paperback)".into(),
                mentions: vec![],
                mention_all: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(text_of(&edited), "First book: Dune? (paperback)");
    assert!(meta(&edited).edited_at.is_some());
    let ev = operation_in(&mut b, g).await;
    assert!(
        matches!(&ev.body, EventBody::MessageEdited { target, text, .. }
            if *target == first && text == "First book: Dune? (paperback)"),
        "{ev:?}"
    );
    let quoted = bob.message(g, reply).await.unwrap();
    assert_eq!(
        meta(&quoted).reply_to.as_ref().unwrap().snippet.as_deref(),
        Some("First book: Dune? (paperback)")
    );
    let versions = bob.message_edits(g, first).await.unwrap().versions;
    assert_eq!(
        versions.iter().map(|v| v.text.as_str()).collect::<Vec<_>>(),
        ["First book: Dune?", "First book: Dune? (paperback)"]
    );
    // The same edit again changes nothing.
    let last = alice.conversation(g).await.unwrap().last_seq;
    alice
        .edit_message(
            g,
            first,
            &EditMessage {
                text: "First book: Dune? (paperback)".into(),
                mentions: vec![],
                mention_all: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(alice.conversation(g).await.unwrap().last_seq, last);

    // Reactions: counts as events, `me` from history.
    let r = bob.react(g, first, "👍", true).await.unwrap();
    assert_eq!((r.count, r.me), (1, true));
    assert_eq!(bob.react(g, first, "👍", true).await.unwrap().count, 1);
    let ev = operation_in(&mut b, g).await;
    assert!(
        matches!(&ev.body, EventBody::ReactionAdded { target, emoji, count, .. }
            if *target == first && emoji == "👍" && *count == 1 && ev.sender == b_id),
        "{ev:?}"
    );
    alice.react(g, first, "👍", true).await.unwrap();
    alice.react(g, first, "🎉", true).await.unwrap();
    bob.react(g, first, "👍", false).await.unwrap();
    let history = bob.message(g, first).await.unwrap();
    assert_eq!(
        meta(&history).reactions,
        vec![
            ReactionCount {
                emoji: "👍".into(),
                count: 1,
                me: false
            },
            ReactionCount {
                emoji: "🎉".into(),
                count: 1,
                me: false
            },
        ]
    );
    let who = bob.reactors(g, first, "👍", None, None).await.unwrap();
    assert_eq!(who.users.iter().map(|u| u.user).collect::<Vec<_>>(), [a_id]);

    // Pins: members may not, the owner may; the list and history show it.
    assert_eq!(code(bob.pin(g, first, true).await), ErrorCode::Forbidden);
    assert!(alice.pin(g, first, true).await.unwrap().is_some());
    assert!(
        alice.pin(g, first, true).await.unwrap().is_none(),
        "pinned already"
    );
    let pins = bob.pins(g).await.unwrap().pins;
    assert_eq!(
        (pins.len(), pins[0].message.seq, pins[0].by),
        (1, first, a_id)
    );
    assert!(meta(&bob.message(g, first).await.unwrap()).pinned);

    // Reactions and edits do not move the conversation or count as unread.
    let info = bob.conversation(g).await.unwrap();
    assert_eq!(info.last_message.unwrap().seq, reply);
}

fn text_of(e: &Event) -> &str {
    text(e).expect("a message")
}

#[tokio::test]
async fn deleting_for_everyone_takes_edits_reactions_pins_and_quotes_with_it() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let g = alice
        .create_group("g", &[bob.user_id().unwrap()])
        .await
        .unwrap()
        .id;
    let m = say(&alice, g, "secret plan").await;
    alice
        .edit_message(
            g,
            m,
            &EditMessage {
                text: "secret plan v2".into(),
                mentions: vec![],
                mention_all: None,
            },
        )
        .await
        .unwrap();
    bob.react(g, m, "😮", true).await.unwrap();
    alice.pin(g, m, true).await.unwrap();
    let reply = send_with(
        &bob,
        g,
        SendMessage {
            reply_to: Some(m),
            ..plain("really?")
        },
    )
    .await
    .unwrap();
    alice.delete_message(g, m).await.unwrap();

    let quote = meta(&bob.message(g, reply).await.unwrap())
        .reply_to
        .clone()
        .unwrap();
    assert!(quote.deleted && quote.snippet.is_none(), "{quote:?}");
    assert!(bob.pins(g).await.unwrap().pins.is_empty());
    assert_eq!(code(bob.message_edits(g, m).await), ErrorCode::NotFound);
    assert_eq!(code(bob.react(g, m, "👍", true).await), ErrorCode::NotFound);
    assert_eq!(
        code(
            send_with(
                &bob,
                g,
                SendMessage {
                    reply_to: Some(m),
                    ..plain("x")
                }
            )
            .await
        ),
        ErrorCode::NotFound
    );
    // Neither version is anywhere in what a member can read.
    let page = bob.sync(None, None, Some(500)).await.unwrap();
    let all = serde_json::to_string(&page).unwrap();
    assert!(!all.contains("secret plan"), "{all}");
}

#[tokio::test]
async fn hiding_a_message_is_mine_alone_and_reaches_my_other_devices() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let g = alice
        .create_group("g", &[bob.user_id().unwrap()])
        .await
        .unwrap()
        .id;
    let m = say(&alice, g, "hide me").await;
    let bob2 = server.login(&bob).await;
    let mut other = connect(&bob2).await;
    let change = bob.hide_message(g, m).await.unwrap();
    assert!(matches!(change, PersonalChange::Hidden { seq, .. } if seq == m));
    loop {
        match other.next_event(WAIT).await {
            Some(LiveEvent::Personal { personal, .. }) => {
                assert_eq!(personal, change);
                break;
            }
            Some(_) => {}
            None => panic!("bob's other device heard nothing"),
        }
    }
    let mine = bob.message(g, m).await.unwrap();
    assert!(matches!(mine.body, EventBody::Hidden { .. }), "{mine:?}");
    let theirs = alice.message(g, m).await.unwrap();
    assert_eq!(text(&theirs), Some("hide me"));
    // Hiding again changes nothing; nobody else's message is touched.
    assert_eq!(bob.hide_message(g, m).await.unwrap(), change);
    // What alice hid for herself she can still delete for everyone.
    let own = say(&alice, g, "oops").await;
    alice.hide_message(g, own).await.unwrap();
    let gone = alice.delete_message(g, own).await.unwrap();
    assert!(matches!(gone.body, EventBody::MessageDeleted { target, .. } if target == own));
    assert_eq!(code(bob.hide_message(g, 99).await), ErrorCode::NotFound);
}

#[tokio::test]
async fn threads_count_replies_keep_them_out_of_the_timeline_and_track_unread() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let b_id = bob.user_id().unwrap();
    let g = alice.create_group("g", &[b_id]).await.unwrap().id;
    let root = say(&alice, g, "thread about chapter 1").await;
    bob.mark_read(g, root).await.unwrap();
    let mut a = connect(&alice).await;
    let r1 = send_with(
        &bob,
        g,
        SendMessage {
            thread: Some(root),
            ..plain("loved it")
        },
    )
    .await
    .unwrap();
    let live = message_in(&mut a, g).await;
    assert_eq!(
        (meta(&live).thread, meta(&live).thread_replies),
        (Some(root), Some(1))
    );
    let r2 = send_with(
        &bob,
        g,
        SendMessage {
            thread: Some(root),
            also_in_conversation: true,
            ..plain("everyone should read it")
        },
    )
    .await
    .unwrap();

    let info = alice.conversation(g).await.unwrap();
    assert_eq!(
        info.unread, 1,
        "only the reply also sent to the conversation"
    );
    assert_eq!(info.last_message.unwrap().seq, r2);
    let page = alice.thread(g, root, None, None).await.unwrap();
    assert_eq!(
        page.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [r1, r2]
    );
    let summary = meta(&page.root).thread_summary.clone().unwrap();
    assert_eq!(
        (
            summary.replies,
            summary.last_seq,
            summary.participants,
            summary.unread
        ),
        (2, r2, vec![b_id], 2)
    );
    alice.read_thread(g, root, r1).await.unwrap();
    let root_now = alice.message(g, root).await.unwrap();
    assert_eq!(meta(&root_now).thread_summary.as_ref().unwrap().unread, 1);
    // A thread inside a thread is refused; so is also_in_conversation alone.
    assert_eq!(
        code(
            send_with(
                &alice,
                g,
                SendMessage {
                    thread: Some(r1),
                    ..plain("deeper")
                }
            )
            .await
        ),
        ErrorCode::BadRequest
    );
    assert_eq!(
        code(
            send_with(
                &alice,
                g,
                SendMessage {
                    also_in_conversation: true,
                    ..plain("x")
                }
            )
            .await
        ),
        ErrorCode::BadRequest
    );
}

#[tokio::test]
async fn forwards_copy_the_text_without_naming_the_source() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let carol = server.user("carol").await;
    let (b_id, c_id) = (bob.user_id().unwrap(), carol.user_id().unwrap());
    let g = alice.create_group("secret-club", &[b_id]).await.unwrap().id;
    let m = say(&alice, g, "meet at noon").await;
    let dm = bob.direct(c_id).await.unwrap().id;
    let fwd = |conv, seq| SendMessage {
        forward: Some(ForwardFrom { conv, seq }),
        ..plain("")
    };
    let seq = send_with(&bob, dm, fwd(g, m)).await.unwrap();
    let copy = carol.message(dm, seq).await.unwrap();
    assert_eq!(text(&copy), Some("meet at noon"));
    assert!(meta(&copy).forwarded);
    let json = serde_json::to_string(&copy).unwrap();
    assert!(!json.contains(&g.to_string()), "{json}");
    // Carol cannot forward from a group she is not in, nor bob into a
    // conversation he is not in; a forward carries no text of its own.
    assert_eq!(
        code(send_with(&carol, dm, fwd(g, m)).await),
        ErrorCode::NotMember
    );
    let elsewhere = alice.direct(c_id).await.unwrap().id;
    assert_eq!(
        code(send_with(&bob, elsewhere, fwd(g, m)).await),
        ErrorCode::NotMember
    );
    let mut with_text = fwd(g, m);
    with_text.text = "look".into();
    assert_eq!(
        code(send_with(&bob, dm, with_text).await),
        ErrorCode::BadRequest
    );
}

#[tokio::test]
async fn bad_operations_are_refused_and_change_nothing() {
    let server = TestServer::start_with(|c| c.limits.edit_window_secs = 0).await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let mallory = server.user("mallory").await;
    let (a_id, b_id) = (alice.user_id().unwrap(), bob.user_id().unwrap());
    let g = alice.create_group("g", &[b_id]).await.unwrap().id;
    let other = alice.create_group("other", &[]).await.unwrap().id;
    let m = say(&alice, g, "original").await;
    let elsewhere = say(&alice, other, "elsewhere").await;
    let before = alice.conversation(g).await.unwrap().last_seq;
    let edit = |t: &str| EditMessage {
        text: t.into(),
        mentions: vec![],
        mention_all: None,
    };

    // Someone else's message; my own after the (zero) window.
    assert_eq!(
        code(bob.edit_message(g, m, &edit("mine now")).await),
        ErrorCode::Forbidden
    );
    assert_eq!(
        code(alice.edit_message(g, m, &edit("too late")).await),
        ErrorCode::Forbidden
    );
    assert_eq!(
        code(alice.edit_message(g, m, &edit(" ")).await),
        ErrorCode::MessageEmpty
    );
    // Emoji that are not one emoji.
    for bad in ["a", "👍👍", "<b>", "👍 ", &"😀".repeat(9)] {
        assert_eq!(
            code(bob.react(g, m, bad, true).await),
            ErrorCode::BadRequest,
            "{bad:?}"
        );
    }
    // A reply to a seq of another conversation, or to no message.
    for target in [elsewhere + 5, 1] {
        assert_eq!(
            code(
                send_with(
                    &bob,
                    g,
                    SendMessage {
                        reply_to: Some(target),
                        ..plain("re")
                    }
                )
                .await
            ),
            ErrorCode::NotFound,
            "reply to {target}"
        );
    }
    // Mentions of a non-member, out of range, and @everyone by a member.
    let mallory_id = mallory.user_id().unwrap();
    for mentions in [
        vec![Mention {
            user: mallory_id,
            start: 0,
            end: 2,
        }],
        vec![Mention {
            user: a_id,
            start: 0,
            end: 99,
        }],
    ] {
        assert_eq!(
            code(
                send_with(
                    &bob,
                    g,
                    SendMessage {
                        mentions,
                        ..plain("hi there")
                    }
                )
                .await
            ),
            ErrorCode::BadRequest
        );
    }
    assert_eq!(
        code(
            send_with(
                &bob,
                g,
                SendMessage {
                    mention_all: Some(MentionAll::Everyone),
                    ..plain("@everyone")
                }
            )
            .await
        ),
        ErrorCode::Forbidden
    );
    // Strangers can do nothing to a conversation's messages.
    assert_eq!(code(mallory.message(g, m).await), ErrorCode::NotMember);
    assert_eq!(
        code(mallory.react(g, m, "👍", true).await),
        ErrorCode::NotMember
    );
    assert_eq!(code(mallory.hide_message(g, m).await), ErrorCode::NotMember);
    assert_eq!(code(mallory.pins(g).await), ErrorCode::NotMember);
    assert_eq!(
        code(mallory.thread(g, m, None, None).await),
        ErrorCode::NotMember
    );
    // The same client id for different text.
    let id = ClientId::random();
    bob.send(g, &SendMessage::text(id.clone(), "one"))
        .await
        .unwrap();
    assert_eq!(
        code(bob.send(g, &SendMessage::text(id, "two")).await),
        ErrorCode::IdempotencyConflict
    );
    assert_eq!(
        alice.conversation(g).await.unwrap().last_seq,
        before + 1,
        "only bob's first message was stored"
    );
    let unchanged = alice.message(g, m).await.unwrap();
    assert_eq!(text(&unchanged), Some("original"));
    assert!(meta(&unchanged).reactions.is_empty());
}

#[tokio::test]
async fn channel_reactions_reach_subscribers_as_coalesced_counts() {
    let server = TestServer::start_with(|c| c.limits.reaction_flush_ms = 300).await;
    let owner = server.user("owner").await;
    let ch = owner.create_channel("news", None).await.unwrap().id;
    let link = owner
        .create_invite(ch, &CreateInvite::default())
        .await
        .unwrap();
    let mut subs = Vec::new();
    for i in 0..4 {
        let s = server.user(&format!("sub{i}")).await;
        s.join_invite(&link.token).await.unwrap();
        subs.push(s);
    }
    let post = say(&owner, ch, "big news").await;
    let mut watcher = connect(&subs[0]).await;
    for s in &subs {
        let r = s.react(ch, post, "🔥", true).await.unwrap();
        assert!(r.me);
    }
    // Subscriber 0 hears of its own reaction as a personal entry, and
    // everyone gets counts, never one event per reaction.
    let mut own = false;
    let mut counts_events = 0;
    loop {
        match watcher.next_event(WAIT).await {
            Some(LiveEvent::Personal {
                personal: PersonalChange::Reaction { seq, added, .. },
                ..
            }) => {
                assert!(seq == post && added);
                own = true;
            }
            Some(LiveEvent::Event { event, .. }) if event.conv == ch => match &event.body {
                EventBody::ReactionCounts { messages } => {
                    counts_events += 1;
                    let fire = messages
                        .iter()
                        .find(|m| m.target == post)
                        .expect("the post's counts");
                    if fire.reactions[0].count == 4 {
                        break;
                    }
                }
                other => panic!("a subscriber got {other:?}"),
            },
            Some(_) => {}
            None => panic!("no counts of 4 within {WAIT:?}"),
        }
    }
    assert!(own, "the reactor's own devices learn it is theirs");
    assert!(
        counts_events <= 4,
        "{counts_events} count events for 4 reactions"
    );
    // History has the counts and `me` for each reader; only staff see who.
    let h = subs[1].message(ch, post).await.unwrap();
    assert_eq!(
        meta(&h).reactions,
        vec![ReactionCount {
            emoji: "🔥".into(),
            count: 4,
            me: true
        }]
    );
    assert_eq!(
        code(subs[1].reactors(ch, post, "🔥", None, None).await),
        ErrorCode::Forbidden
    );
    assert_eq!(
        owner
            .reactors(ch, post, "🔥", None, Some(3))
            .await
            .unwrap()
            .users
            .len(),
        3
    );
}

/// The state of one message as a client keeps it.
#[derive(Clone, Debug, Default, PartialEq)]
struct Shown {
    text: Option<String>,
    deleted: bool,
    hidden: bool,
    edited: bool,
    reactions: BTreeMap<String, u64>,
    pinned: bool,
    thread_replies: u64,
    quote: Option<(Seq, Option<String>, bool)>,
}

/// Applies one log item the way docs/protocol.md tells a client to.
fn apply(model: &mut BTreeMap<Seq, Shown>, conv: ConversationId, item: &LogItem) {
    match item {
        LogItem::Personal(PersonalChange::Hidden { conv: c, seq, .. }) if *c == conv => {
            model.entry(*seq).or_default().hidden = true;
        }
        LogItem::Event(e) if e.conv == conv => match &e.body {
            EventBody::Message { text, meta, .. } => {
                let m = model.entry(e.seq).or_default();
                m.text = Some(text.clone());
                m.edited = meta.edited_at.is_some();
                m.quote = meta
                    .reply_to
                    .as_ref()
                    .map(|r| (r.seq, r.snippet.clone(), r.deleted));
                if let Some(root) = meta.thread {
                    let n = meta.thread_replies.unwrap_or(0);
                    let r = model.entry(root).or_default();
                    r.thread_replies = r.thread_replies.max(n);
                }
            }
            EventBody::MessageEdited { target, text, .. } => {
                let m = model.entry(*target).or_default();
                m.text = Some(text.clone());
                m.edited = true;
                for other in model.values_mut() {
                    if let Some(q) = other.quote.as_mut()
                        && q.0 == *target
                    {
                        q.1 = Some(text.chars().take(120).collect());
                    }
                }
            }
            EventBody::Deleted {
                thread: Some(root),
                thread_replies: Some(n),
                ..
            } => {
                let r = model.entry(*root).or_default();
                r.thread_replies = r.thread_replies.max(*n);
            }
            EventBody::MessageDeleted { target, .. } => {
                let hidden = model.get(target).is_some_and(|m| m.hidden);
                let replies = model.get(target).map_or(0, |m| m.thread_replies);
                model.insert(
                    *target,
                    Shown {
                        deleted: true,
                        hidden,
                        thread_replies: replies,
                        ..Shown::default()
                    },
                );
                for other in model.values_mut() {
                    if let Some(q) = other.quote.as_mut()
                        && q.0 == *target
                    {
                        *q = (q.0, None, true);
                    }
                }
            }
            EventBody::ReactionAdded {
                target,
                emoji,
                count,
                ..
            }
            | EventBody::ReactionRemoved {
                target,
                emoji,
                count,
                ..
            } => {
                let m = model.entry(*target).or_default();
                if *count == 0 {
                    m.reactions.remove(emoji);
                } else {
                    m.reactions.insert(emoji.clone(), *count);
                }
            }
            EventBody::MessagePinned { target, .. } => {
                model.entry(*target).or_default().pinned = true
            }
            EventBody::MessageUnpinned { target, .. } => {
                model.entry(*target).or_default().pinned = false
            }
            _ => {}
        },
        _ => {}
    }
}

/// The same state read from history.
fn from_history(e: &Event) -> Shown {
    match &e.body {
        EventBody::Message { text, meta, .. } => Shown {
            text: Some(text.clone()),
            edited: meta.edited_at.is_some(),
            reactions: meta
                .reactions
                .iter()
                .map(|r| (r.emoji.clone(), r.count))
                .collect(),
            pinned: meta.pinned,
            thread_replies: meta.thread_summary.as_ref().map_or(0, |t| t.replies),
            quote: meta
                .reply_to
                .as_ref()
                .map(|r| (r.seq, r.snippet.clone(), r.deleted)),
            ..Shown::default()
        },
        EventBody::Deleted { .. } => Shown {
            deleted: true,
            ..Shown::default()
        },
        EventBody::Hidden { .. } => Shown {
            hidden: true,
            ..Shown::default()
        },
        _ => Shown::default(),
    }
}

/// A small deterministic generator (no dependency for one test).
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

#[tokio::test]
async fn an_offline_device_that_replays_its_log_ends_where_history_is() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let b_id: UserId = bob.user_id().unwrap();
    let g = alice.create_group("g", &[b_id]).await.unwrap().id;
    let emoji = ["👍", "🎉", "❤️"];
    for round in 0..3u64 {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (round + 1));
        let mut messages: Vec<Seq> = Vec::new();
        for step in 0..80 {
            let who = if rng.below(2) == 0 { &alice } else { &bob };
            let pick = |rng: &mut Rng| messages[rng.below(messages.len())];
            let op = if messages.is_empty() { 0 } else { rng.below(9) };
            // Operations on deleted messages fail with not_found, which
            // changes nothing: that is part of what is checked.
            let _ = match op {
                0 => send_with(who, g, plain(&format!("m{round}-{step}")))
                    .await
                    .map(|s| messages.push(s)),
                1 => {
                    let to = pick(&mut rng);
                    send_with(
                        who,
                        g,
                        SendMessage {
                            reply_to: Some(to),
                            ..plain(&format!("re {to}"))
                        },
                    )
                    .await
                    .map(|s| messages.push(s))
                }
                2 => {
                    let root = pick(&mut rng);
                    send_with(
                        who,
                        g,
                        SendMessage {
                            thread: Some(root),
                            ..plain(&format!("in thread {root}"))
                        },
                    )
                    .await
                    .map(|_| ())
                }
                3 => {
                    let m = pick(&mut rng);
                    let edit = EditMessage {
                        text: format!("edit {step}"),
                        mentions: vec![],
                        mention_all: None,
                    };
                    who.edit_message(g, m, &edit).await.map(|_| ())
                }
                4 | 5 => {
                    let m = pick(&mut rng);
                    let e = emoji[rng.below(3)];
                    who.react(g, m, e, op == 4).await.map(|_| ())
                }
                6 => {
                    let m = pick(&mut rng);
                    alice.pin(g, m, rng.below(2) == 0).await.map(|_| ())
                }
                7 => {
                    let m = pick(&mut rng);
                    who.delete_message(g, m).await.map(|_| ())
                }
                _ => {
                    let m = pick(&mut rng);
                    bob.hide_message(g, m).await.map(|_| ())
                }
            };
        }
    }
    // Bob's offline device replays everything from the start.
    let mut model: BTreeMap<Seq, Shown> = BTreeMap::new();
    let mut cursor = None;
    loop {
        let page = bob.sync(cursor, None, Some(500)).await.unwrap();
        for d in &page.deliveries {
            apply(&mut model, g, &d.item);
        }
        cursor = Some(page.cursor);
        if !page.more {
            break;
        }
    }
    // History, page by page.
    let mut history: BTreeMap<Seq, Shown> = BTreeMap::new();
    let mut after = 0;
    loop {
        let page = bob
            .history(
                g,
                &natter_proto::HistoryQuery {
                    after: Some(after),
                    before: None,
                    limit: Some(200),
                },
            )
            .await
            .unwrap();
        for e in &page.events {
            if matches!(
                e.body,
                EventBody::Message { .. } | EventBody::Deleted { .. } | EventBody::Hidden { .. }
            ) {
                history.insert(e.seq, from_history(e));
            }
            after = e.seq;
        }
        if !page.more {
            break;
        }
    }
    assert!(history.len() > 40, "enough happened: {}", history.len());
    for (seq, h) in &history {
        let mut m = model.get(seq).cloned().unwrap_or_default();
        if m.hidden {
            // History shows a hidden message as hidden and nothing more.
            m = Shown {
                hidden: true,
                ..Shown::default()
            };
        } else if m.deleted {
            m.thread_replies = 0;
        }
        assert_eq!(&m, h, "seq {seq}");
    }
}
