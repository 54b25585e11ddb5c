//! Conformance tests for rich messages: edits with their versions,
//! replies, threads, mentions, reactions (per event in groups, for the
//! reactor alone in channels), pins, hidden messages, and what deleting a
//! message for everyone takes with it.

use super::{channel, group, message, send, subscribe, text_of, user};
use crate::*;
use natter_proto::{EventBody, LogItem, Mention, MentionAll, PersonalChange, ReactionCount};

fn edit(conv: ConversationId, seq: Seq, by: UserId, text: &str, now: i64) -> MessageEdit {
    MessageEdit {
        conv,
        seq,
        by,
        text: text.into(),
        mentions: Vec::new(),
        mention_all: None,
        now,
    }
}

async fn append(store: &Arc<dyn Store>, msg: NewMessage) -> Result<Committed> {
    match store.append_message(msg).await? {
        Appended::New(c) | Appended::Accepted(c) => Ok(c),
        Appended::Duplicate(_) => panic!("a fresh client id reported as a duplicate"),
    }
}

fn with(conv: ConversationId, sender: UserId, text: &str, extras: MessageExtras) -> NewMessage {
    NewMessage {
        extras,
        ..message(conv, sender, &natter_proto::ClientId::random().0, text)
    }
}

fn meta(e: &natter_proto::Event) -> &natter_proto::MessageMeta {
    match &e.body {
        EventBody::Message { meta, .. } => meta,
        other => panic!("not a message: {other:?}"),
    }
}

async fn one(
    store: &Arc<dyn Store>,
    conv: ConversationId,
    seq: Seq,
    viewer: UserId,
) -> natter_proto::Event {
    store
        .message(conv, seq, viewer)
        .await
        .unwrap()
        .expect("an event at seq")
}

/// An edit changes the text everyone reads (with `edited_at`), keeps the
/// earlier version, commits one `message_edited` event, and changes nothing
/// when the text is what it was. Only the sender's message can be edited.
pub async fn edits_keep_versions_and_change_the_text_everyone_reads(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let g = group(&store, alice, &[bob]).await;
    let m = send(&store, g, alice, "draft").await.event().unwrap().seq;
    let Edited::New(c) = store
        .edit_message(edit(g, m, alice, "final", 5000))
        .await
        .unwrap()
    else {
        panic!("the text changed")
    };
    let ev = c.event().unwrap();
    assert!(
        matches!(&ev.body, EventBody::MessageEdited { target, text, edited_at: 5000, .. }
            if *target == m && text == "final"),
        "{ev:?}"
    );
    assert_eq!(ev.seq, m + 1);
    assert!(c.recipients.contains(&bob));
    let now = one(&store, g, m, bob).await;
    assert_eq!((text_of(&now), meta(&now).edited_at), ("final", Some(5000)));
    let versions = store.message_edits(g, m).await.unwrap();
    assert_eq!(
        versions
            .iter()
            .map(|v| (v.text.as_str(), v.at))
            .collect::<Vec<_>>()[1],
        ("final", 5000)
    );
    assert_eq!(versions[0].text, "draft");
    assert!(matches!(
        store
            .edit_message(edit(g, m, alice, "final", 6000))
            .await
            .unwrap(),
        Edited::Unchanged
    ));
    assert!(matches!(
        store.edit_message(edit(g, m, bob, "mine", 6000)).await,
        Err(StoreError::NotFound)
    ));
    let mallory = user(&store, "mallory").await;
    let mut bad = edit(g, m, alice, "hi @mallory", 7000);
    bad.mentions = vec![Mention {
        user: mallory,
        start: 3,
        end: 11,
    }];
    assert!(matches!(
        store.edit_message(bad).await,
        Err(StoreError::Invalid(_))
    ));
    // An edit is not activity: the list's last message and unread stay.
    let summary = store.conversation_of(bob, g).await.unwrap().unwrap();
    assert_eq!(summary.last_message.unwrap().seq, m);
    assert_eq!(summary.unread, 1);
}

/// Replies quote their original as it is now, threads count their replies
/// and keep thread-only replies out of the timeline, mentions count as
/// unread mentions; bad targets are refused and store nothing.
pub async fn replies_threads_and_mentions_are_checked_and_recorded(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let outsider = user(&store, "outsider").await;
    let g = group(&store, alice, &[bob]).await;
    let root = send(&store, g, alice, "root text")
        .await
        .event()
        .unwrap()
        .seq;
    let reply = append(
        &store,
        with(
            g,
            bob,
            "@alice agreed",
            MessageExtras {
                reply_to: Some(root),
                mentions: vec![Mention {
                    user: alice,
                    start: 0,
                    end: 6,
                }],
                ..Default::default()
            },
        ),
    )
    .await
    .unwrap();
    let live = reply.event().unwrap();
    let quote = meta(live).reply_to.clone().unwrap();
    assert_eq!(
        (quote.seq, quote.snippet.as_deref()),
        (root, Some("root text"))
    );
    let summary = store.conversation_of(alice, g).await.unwrap().unwrap();
    assert_eq!(summary.unread_mentions, 1);
    let everyone = append(
        &store,
        with(
            g,
            bob,
            "@everyone",
            MessageExtras {
                mention_all: Some(MentionAll::Everyone),
                ..Default::default()
            },
        ),
    )
    .await
    .unwrap();
    assert!(everyone.event().is_some());
    assert_eq!(
        store
            .conversation_of(alice, g)
            .await
            .unwrap()
            .unwrap()
            .unread_mentions,
        2
    );

    // Threads.
    let before = store.conversation_of(alice, g).await.unwrap().unwrap();
    let t1 = append(
        &store,
        with(
            g,
            bob,
            "in thread",
            MessageExtras {
                thread: Some(root),
                ..Default::default()
            },
        ),
    )
    .await
    .unwrap();
    assert_eq!(meta(t1.event().unwrap()).thread_replies, Some(1));
    let t2 = append(
        &store,
        with(
            g,
            alice,
            "me too",
            MessageExtras {
                thread: Some(root),
                also_in_conversation: true,
                ..Default::default()
            },
        ),
    )
    .await
    .unwrap();
    let (t1, t2) = (t1.event().unwrap().seq, t2.event().unwrap().seq);
    let after = store.conversation_of(alice, g).await.unwrap().unwrap();
    assert_eq!(
        after.unread, before.unread,
        "a thread-only reply is not unread"
    );
    assert_eq!(after.last_message.unwrap().seq, t2);
    let page = store.thread(g, root, bob, 0, 10).await.unwrap();
    assert_eq!(
        page.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [t1, t2]
    );
    let s = meta(&page.root).thread_summary.clone().unwrap();
    assert_eq!(
        (s.replies, s.last_seq, s.participants, s.unread),
        (2, t2, vec![alice, bob], 1)
    );
    let (change, committed) = store.read_thread(bob, g, root, t2).await.unwrap();
    assert_eq!(
        change,
        PersonalChange::ThreadRead {
            conv: g,
            root,
            seq: t2
        }
    );
    assert_eq!(*committed.unwrap().recipients, vec![bob]);
    assert!(
        store
            .read_thread(bob, g, root, t1)
            .await
            .unwrap()
            .1
            .is_none(),
        "never backwards"
    );
    let root_now = one(&store, g, root, bob).await;
    assert_eq!(meta(&root_now).thread_summary.as_ref().unwrap().unread, 0);

    // Refused: a thread in a thread, a reply to nothing, a stranger mentioned.
    let last = store.conversation(g).await.unwrap().unwrap().last_seq;
    let refused = [
        (
            MessageExtras {
                thread: Some(t1),
                ..Default::default()
            },
            "thread in thread",
        ),
        (
            MessageExtras {
                reply_to: Some(last + 10),
                ..Default::default()
            },
            "reply to nothing",
        ),
        (
            MessageExtras {
                reply_to: Some(1),
                ..Default::default()
            },
            "reply to an event",
        ),
        (
            MessageExtras {
                mentions: vec![Mention {
                    user: outsider,
                    start: 0,
                    end: 1,
                }],
                ..Default::default()
            },
            "a stranger mentioned",
        ),
    ];
    for (extras, what) in refused {
        let err = append(&store, with(g, bob, "x", extras)).await.unwrap_err();
        assert!(
            matches!(err, StoreError::Invalid(_) | StoreError::NotFound),
            "{what}: {err:?}"
        );
    }
    assert_eq!(store.conversation(g).await.unwrap().unwrap().last_seq, last);
}

/// A reaction counts once per user and emoji; in a group each change is an
/// event for every member, in a channel an entry for the reactor alone
/// until `reaction_counts` announces the counts.
pub async fn reactions_count_once_per_user_and_channels_tell_only_the_reactor(
    store: Arc<dyn Store>,
) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let g = group(&store, alice, &[bob]).await;
    let m = send(&store, g, alice, "react to me")
        .await
        .event()
        .unwrap()
        .seq;
    let react = |user, emoji: &str, add| ReactionRequest {
        conv: g,
        seq: m,
        user,
        emoji: emoji.into(),
        add,
        now: 1000,
    };
    let first = store.react(react(bob, "👍", true)).await.unwrap();
    assert_eq!((first.count, first.me, first.coalesce), (1, true, false));
    let ev = first.committed.unwrap();
    assert!(matches!(
        &ev.event().unwrap().body,
        EventBody::ReactionAdded { count: 1, .. }
    ));
    assert!(ev.recipients.contains(&alice));
    let again = store.react(react(bob, "👍", true)).await.unwrap();
    assert!(again.committed.is_none() && again.count == 1);
    store.react(react(alice, "👍", true)).await.unwrap();
    store.react(react(alice, "🎉", true)).await.unwrap();
    assert_eq!(
        store.reactions(g, m, bob).await.unwrap(),
        vec![
            ReactionCount {
                emoji: "👍".into(),
                count: 2,
                me: true
            },
            ReactionCount {
                emoji: "🎉".into(),
                count: 1,
                me: false
            },
        ]
    );
    let who = store.reactors(g, m, "👍".into(), None, 1).await.unwrap();
    let rest = store
        .reactors(g, m, "👍".into(), Some(who[0].user), 10)
        .await
        .unwrap();
    assert_eq!(who.len() + rest.len(), 2);
    assert_ne!(who[0].user, rest[0].user);
    let removed = store.react(react(bob, "👍", false)).await.unwrap();
    assert_eq!((removed.count, removed.me), (1, false));
    assert!(matches!(
        &removed.committed.unwrap().event().unwrap().body,
        EventBody::ReactionRemoved { count: 1, .. }
    ));
    for i in 0..natter_proto::MAX_REACTIONS_PER_USER {
        let emoji = char::from_u32(0x1F600 + i as u32).unwrap().to_string();
        store.react(react(bob, &emoji, true)).await.unwrap();
    }
    assert!(matches!(
        store.react(react(bob, "🚀", true)).await,
        Err(StoreError::Invalid(_))
    ));

    // A channel.
    let owner = user(&store, "owner").await;
    let sub = user(&store, "sub").await;
    let ch = channel(&store, owner).await;
    subscribe(&store, ch, owner, sub).await;
    let post = send(&store, ch, owner, "news").await.event().unwrap().seq;
    let last = store.conversation(ch).await.unwrap().unwrap().last_seq;
    let r = store
        .react(ReactionRequest {
            conv: ch,
            seq: post,
            user: sub,
            emoji: "🔥".into(),
            add: true,
            now: 2000,
        })
        .await
        .unwrap();
    assert!(r.coalesce);
    let c = r.committed.unwrap();
    assert_eq!(*c.recipients, vec![sub]);
    assert!(matches!(
        c.item.as_ref(),
        LogItem::Personal(PersonalChange::Reaction {
            count: 1,
            added: true,
            ..
        })
    ));
    assert_eq!(
        store.conversation(ch).await.unwrap().unwrap().last_seq,
        last,
        "no event"
    );
    let counts = store
        .reaction_counts(ch, vec![post, post], 3000)
        .await
        .unwrap()
        .unwrap();
    let EventBody::ReactionCounts { messages } = &counts.event().unwrap().body else {
        panic!("a reaction_counts event")
    };
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].reactions[0].count, 1);
    assert!(counts.recipients.contains(&sub));
}

/// Pins are listed newest first and announced once; a hidden message is
/// hidden for its user alone.
pub async fn pins_and_hidden_messages_are_kept_per_conversation_and_user(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let g = group(&store, alice, &[bob]).await;
    let m1 = send(&store, g, alice, "one").await.event().unwrap().seq;
    let m2 = send(&store, g, alice, "two").await.event().unwrap().seq;
    let pinned = store
        .set_pin(g, m1, alice, true, 2, 100)
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(pinned.event().unwrap().body, EventBody::MessagePinned { target, .. } if target == m1)
    );
    assert!(
        store
            .set_pin(g, m1, alice, true, 2, 100)
            .await
            .unwrap()
            .is_none()
    );
    store.set_pin(g, m2, alice, true, 2, 200).await.unwrap();
    let m3 = send(&store, g, alice, "three").await.event().unwrap().seq;
    assert!(matches!(
        store.set_pin(g, m3, alice, true, 2, 300).await,
        Err(StoreError::Invalid(_))
    ));
    let pins = store.pins(g, bob).await.unwrap();
    assert_eq!(
        pins.iter().map(|p| p.message.seq).collect::<Vec<_>>(),
        [m2, m1]
    );
    assert!(meta(&pins[0].message).pinned);
    assert!(
        store
            .set_pin(g, m2, alice, false, 2, 400)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(store.pins(g, bob).await.unwrap().len(), 1);
    assert!(matches!(
        store.set_pin(g, 1, alice, true, 2, 500).await,
        Err(StoreError::NotFound)
    ));

    let (change, c) = store.hide_message(bob, g, m1).await.unwrap();
    assert!(matches!(change, PersonalChange::Hidden { seq, .. } if seq == m1));
    assert_eq!(*c.unwrap().recipients, vec![bob]);
    assert!(store.hide_message(bob, g, m1).await.unwrap().1.is_none());
    assert!(matches!(
        one(&store, g, m1, bob).await.body,
        EventBody::Hidden { .. }
    ));
    assert_eq!(text_of(&one(&store, g, m1, alice).await), "one");
    assert!(matches!(
        store.hide_message(bob, g, 999).await,
        Err(StoreError::NotFound)
    ));
}

/// Deleting a message for everyone takes its versions, the text of its
/// edit events, its reactions, pin and mentions with it; quotes of it say
/// it was deleted.
pub async fn deleting_for_everyone_takes_edits_reactions_pins_and_mentions(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let g = group(&store, alice, &[bob]).await;
    let m = append(
        &store,
        with(
            g,
            alice,
            "@bob secret",
            MessageExtras {
                mentions: vec![Mention {
                    user: bob,
                    start: 0,
                    end: 4,
                }],
                ..Default::default()
            },
        ),
    )
    .await
    .unwrap()
    .event()
    .unwrap()
    .seq;
    store
        .edit_message(MessageEdit {
            mentions: vec![Mention {
                user: bob,
                start: 0,
                end: 4,
            }],
            ..edit(g, m, alice, "@bob secret two", 10)
        })
        .await
        .unwrap();
    store
        .react(ReactionRequest {
            conv: g,
            seq: m,
            user: bob,
            emoji: "👀".into(),
            add: true,
            now: 20,
        })
        .await
        .unwrap();
    store.set_pin(g, m, alice, true, 50, 30).await.unwrap();
    let reply = append(
        &store,
        with(
            g,
            bob,
            "what?",
            MessageExtras {
                reply_to: Some(m),
                ..Default::default()
            },
        ),
    )
    .await
    .unwrap()
    .event()
    .unwrap()
    .seq;
    assert_eq!(
        store
            .conversation_of(bob, g)
            .await
            .unwrap()
            .unwrap()
            .unread_mentions,
        1
    );
    store
        .delete_message(MessageDeletion {
            conv: g,
            seq: m,
            by: alice,
            now: 40,
        })
        .await
        .unwrap();
    assert!(store.message_edits(g, m).await.unwrap().is_empty());
    assert!(store.reactions(g, m, bob).await.unwrap().is_empty());
    assert!(store.pins(g, bob).await.unwrap().is_empty());
    assert_eq!(
        store
            .conversation_of(bob, g)
            .await
            .unwrap()
            .unwrap()
            .unread_mentions,
        0
    );
    let quote = meta(&one(&store, g, reply, bob).await)
        .reply_to
        .clone()
        .unwrap();
    assert!(quote.deleted && quote.snippet.is_none());
    let page = store.log_after(bob, Cursor::START, 100).await.unwrap();
    for (_, item) in &page.entries {
        let json = format!("{item:?}");
        assert!(!json.contains("secret"), "{json}");
    }
}
