//! Conversations and messages through the SDK: the paths a user takes.

use crate::*;
use natter_proto::{ClientId, ConversationKind, Cursor, ErrorCode, HistoryQuery};
use natter_test_support::TestServer;
use natter_test_support::sdk::{ConnectOptions, LiveEvent};
use std::collections::HashSet;

#[tokio::test]
async fn one_to_one_chat_reaches_both_sides_and_the_sender_gets_an_ack() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let bob_id = bob.user_id().unwrap();
    let conv = alice.direct(bob_id).await.unwrap();
    assert_eq!(conv.kind, ConversationKind::Direct);
    assert_eq!(conv.peer.as_ref().map(|p| p.id), Some(bob_id));
    // The same pair gets the same conversation from either side.
    assert_eq!(
        bob.direct(alice.user_id().unwrap()).await.unwrap().id,
        conv.id
    );

    let mut a = connect(&alice).await;
    let mut b = connect(&bob).await;
    let cid = a.send(conv.id, "hi bob");
    let got = message_in(&mut b, conv.id).await;
    assert_eq!(text(&got), Some("hi bob"));
    assert_eq!(got.sender, alice.user_id().unwrap());
    // The sender hears the durable ack and sees its own message in its log.
    let mut acked = false;
    let mut echoed = false;
    while !(acked && echoed) {
        match a.next_event(WAIT).await.expect("ack and echo") {
            LiveEvent::Sent(s) => {
                assert_eq!(s.client_id, cid);
                assert_eq!(s.seq, got.seq);
                acked = true;
            }
            LiveEvent::Event { event, .. } if text(&event) == Some("hi bob") => echoed = true,
            _ => {}
        }
    }
    b.send(conv.id, "hi alice");
    assert_eq!(text(&message_in(&mut a, conv.id).await), Some("hi alice"));

    let list = bob.conversations().await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(
        list[0].last_message.as_ref().and_then(text),
        Some("hi alice")
    );
    a.close().await;
    b.close().await;
}

#[tokio::test]
async fn a_group_of_three_all_see_every_message_in_order() {
    let server = TestServer::start().await;
    let a = server.user("ann").await;
    let b = server.user("ben").await;
    let c = server.user("cat").await;
    let group = a
        .create_group("trio", &[b.user_id().unwrap()])
        .await
        .unwrap();
    assert_eq!(group.member_count, 2);
    let group = a
        .add_members(group.id, &[c.user_id().unwrap()])
        .await
        .unwrap();
    assert_eq!(group.member_count, 3);
    // Only the creator adds members.
    let err = b
        .add_members(group.id, &[c.user_id().unwrap()])
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Forbidden));

    let mut lives = vec![connect(&a).await, connect(&b).await, connect(&c).await];
    for (i, live) in lives.iter().enumerate() {
        live.send(group.id, format!("from {i}"));
    }
    for live in lives.iter_mut() {
        let got = messages(live, 3).await;
        let seqs: Vec<_> = got.iter().map(|e| e.seq).collect();
        let mut sorted = seqs.clone();
        sorted.sort_unstable();
        assert_eq!(seqs, sorted, "delivered in seq order");
        let texts: HashSet<_> = got.iter().filter_map(text).collect();
        assert_eq!(texts, HashSet::from(["from 0", "from 1", "from 2"]));
    }
    let members = c.members(group.id).await.unwrap();
    assert_eq!(members.len(), 3);
    for live in lives {
        live.close().await;
    }
}

#[tokio::test]
async fn an_offline_device_catches_up_in_order_from_its_cursor() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let conv = alice.direct(bob.user_id().unwrap()).await.unwrap();
    let b = connect(&bob).await;
    let cursor = b.cursor();
    b.close().await;
    for i in 0..450 {
        alice
            .send_message(conv.id, &ClientId::random(), &format!("m{i}"))
            .await
            .unwrap();
    }
    // More than two server pages of backlog, delivered in order.
    let mut b = bob
        .connect(ConnectOptions::new().with_cursor(cursor))
        .await
        .unwrap();
    let got = messages(&mut b, 450).await;
    let texts: Vec<_> = got.iter().filter_map(text).map(str::to_owned).collect();
    let expected: Vec<_> = (0..450).map(|i| format!("m{i}")).collect();
    assert_eq!(texts, expected);
    // Each once: no page boundary is served twice.
    assert_no_message_pending(&mut b, &alice, conv.id).await;
    b.close().await;
}

#[tokio::test]
async fn every_device_of_a_user_gets_every_message_including_its_own() {
    let server = TestServer::start().await;
    let alice1 = server.user("alice").await;
    let name = alice1.session().unwrap().username;
    let alice2 = natter_test_support::sdk::Client::login(
        &server.url(),
        &name,
        natter_test_support::PASSWORD,
        Some("phone"),
    )
    .await
    .unwrap();
    assert_ne!(
        alice1.session().unwrap().device,
        alice2.session().unwrap().device
    );
    let bob = server.user("bob").await;
    let conv = bob.direct(alice1.user_id().unwrap()).await.unwrap();
    let mut d1 = connect(&alice1).await;
    let mut d2 = connect(&alice2).await;
    let mut b = connect(&bob).await;
    b.send(conv.id, "to both devices");
    assert_eq!(
        text(&message_in(&mut d1, conv.id).await),
        Some("to both devices")
    );
    assert_eq!(
        text(&message_in(&mut d2, conv.id).await),
        Some("to both devices")
    );
    // The sender's own device gets it too.
    assert_eq!(
        text(&message_in(&mut b, conv.id).await),
        Some("to both devices")
    );
    d1.send(conv.id, "from laptop");
    assert_eq!(
        text(&message_in(&mut d2, conv.id).await),
        Some("from laptop")
    );
    assert_eq!(
        text(&message_in(&mut d1, conv.id).await),
        Some("from laptop")
    );
    assert_eq!(
        text(&message_in(&mut b, conv.id).await),
        Some("from laptop")
    );
    let sessions = alice1.sessions().await.unwrap();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions.iter().filter(|s| s.current).count(), 1);
    for l in [d1, d2, b] {
        l.close().await;
    }
}

#[tokio::test]
async fn retrying_a_send_with_the_same_client_id_never_duplicates() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let conv = alice.direct(bob.user_id().unwrap()).await.unwrap();
    let cid = ClientId::random();
    let first = alice.send_message(conv.id, &cid, "once").await.unwrap();
    assert!(!first.duplicate);
    let again = alice.send_message(conv.id, &cid, "once").await.unwrap();
    assert!(again.duplicate);
    assert_eq!((again.id, again.seq), (first.id, first.seq));
    // The same id over the WebSocket is the same message too.
    let mut a = connect(&alice).await;
    a.send_with_id(conv.id, cid.clone(), "once");
    loop {
        match a.next_event(WAIT).await.expect("ack") {
            LiveEvent::Sent(s) => {
                assert!(s.duplicate);
                assert_eq!(s.id, first.id);
                break;
            }
            LiveEvent::SendFailed { error, .. } => panic!("retry refused: {error:?}"),
            _ => {}
        }
    }
    let err = alice
        .send_message(conv.id, &cid, "changed")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::IdempotencyConflict));
    let page = bob
        .history(conv.id, &HistoryQuery::default())
        .await
        .unwrap();
    assert_eq!(
        page.events.iter().filter_map(text).collect::<Vec<_>>(),
        vec!["once"]
    );
    // Neither the retry nor the refused change reached a device as a new
    // message.
    assert_no_message_pending(&mut a, &bob, conv.id).await;
    a.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_concurrent_senders_get_dense_sequence_numbers() {
    let server = TestServer::start().await;
    let mut users = Vec::new();
    for _ in 0..8 {
        users.push(server.user("sender").await);
    }
    let ids: Vec<_> = users[1..].iter().map(|u| u.user_id().unwrap()).collect();
    let group = users[0].create_group("busy", &ids).await.unwrap();
    let mut watcher = connect(&users[0]).await;
    let mut tasks = Vec::new();
    for (i, u) in users.iter().enumerate() {
        let u = u.clone();
        tasks.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for j in 0..25 {
                let s = u
                    .send_message(group.id, &ClientId::random(), &format!("{i}:{j}"))
                    .await
                    .expect("send");
                seqs.push(s.seq);
            }
            seqs
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_unstable();
    assert_eq!(
        all,
        (2..2 + 200).collect::<Vec<u64>>(),
        "dense, no gaps, no repeats"
    );
    let got = messages(&mut watcher, 200).await;
    let seqs: Vec<_> = got.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        (2..2 + 200).collect::<Vec<u64>>(),
        "live delivery in seq order"
    );
    watcher.close().await;
}

#[tokio::test]
async fn a_restart_loses_nothing_and_clients_resume_from_their_cursor() {
    let mut server = TestServer::start().await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let conv = alice.direct(bob.user_id().unwrap()).await.unwrap();
    let mut b = connect(&bob).await;
    let mut acks = Vec::new();
    for i in 0..20 {
        acks.push(
            alice
                .send_message(conv.id, &ClientId::random(), &format!("before {i}"))
                .await
                .unwrap(),
        );
    }
    assert_eq!(messages(&mut b, 20).await.len(), 20);

    server.restart().await;
    // Everything acknowledged before the restart is still there.
    let page = bob
        .history(
            conv.id,
            &HistoryQuery {
                limit: Some(200),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let stored: Vec<_> = page.events.iter().filter_map(|e| e.message_id()).collect();
    assert_eq!(stored, acks.iter().map(|a| a.id).collect::<Vec<_>>());
    // Bob's live connection comes back by itself and gets exactly what he
    // missed, once.
    for i in 0..5 {
        alice
            .send_message(conv.id, &ClientId::random(), &format!("after {i}"))
            .await
            .unwrap();
    }
    let got = messages(&mut b, 5).await;
    assert_eq!(
        got.iter().filter_map(text).collect::<Vec<_>>(),
        vec!["after 0", "after 1", "after 2", "after 3", "after 4"]
    );
    assert_no_message_pending(&mut b, &alice, conv.id).await;
    b.close().await;
}

#[tokio::test]
async fn messages_written_offline_wait_in_the_outbox_and_arrive_once() {
    let mut server = TestServer::start().await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let conv = alice.direct(bob.user_id().unwrap()).await.unwrap();
    let mut a = connect_with(
        &alice,
        ConnectOptions::new().with_backoff(Duration::from_millis(20), Duration::from_millis(200)),
    )
    .await;
    server.stop().await;
    loop {
        if let LiveEvent::Disconnected { .. } =
            a.next_event(WAIT).await.expect("disconnect noticed")
        {
            break;
        }
    }
    let c1 = a.send(conv.id, "written offline 1");
    let c2 = a.send(conv.id, "written offline 2");
    assert_eq!(a.pending().len(), 2);
    server.restart().await;
    // Each is acknowledged once, and comes back to the writing device once,
    // in the order written.
    let mut acked = Vec::new();
    let mut echoed = Vec::new();
    while acked.len() < 2 || echoed.len() < 2 {
        match a.next_event(WAIT).await.expect("acks and echoes") {
            LiveEvent::Sent(s) => acked.push(s.client_id),
            LiveEvent::SendFailed { error, .. } => panic!("offline message refused: {error:?}"),
            LiveEvent::Event { event, .. } if text(&event).is_some() => echoed.push(event),
            _ => {}
        }
    }
    assert_eq!(
        acked.into_iter().collect::<HashSet<_>>(),
        HashSet::from([c1, c2])
    );
    assert_eq!(
        echoed.iter().filter_map(text).collect::<Vec<_>>(),
        vec!["written offline 1", "written offline 2"]
    );
    assert!(a.pending().is_empty());
    let page = bob
        .history(conv.id, &HistoryQuery::default())
        .await
        .unwrap();
    assert_eq!(
        page.events.iter().filter_map(text).collect::<Vec<_>>(),
        vec!["written offline 1", "written offline 2"]
    );
    assert_no_message_pending(&mut a, &bob, conv.id).await;
    a.close().await;
}

#[tokio::test]
async fn history_pages_backwards_and_forwards() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let conv = alice.direct(bob.user_id().unwrap()).await.unwrap();
    for i in 0..30 {
        alice
            .send_message(conv.id, &ClientId::random(), &format!("m{i}"))
            .await
            .unwrap();
    }
    let newest = bob
        .history(
            conv.id,
            &HistoryQuery {
                limit: Some(10),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(newest.more);
    assert_eq!(text(newest.events.last().unwrap()), Some("m29"));
    let older = bob
        .history(
            conv.id,
            &HistoryQuery {
                before: Some(newest.events[0].seq),
                limit: Some(10),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(text(older.events.last().unwrap()), Some("m19"));
    let newer = bob
        .history(
            conv.id,
            &HistoryQuery {
                after: Some(older.events[0].seq),
                limit: Some(5),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(newer.events.len(), 5);
    assert_eq!(newer.events[0].seq, older.events[0].seq + 1);
    let _ = Cursor::START;
}

#[tokio::test]
async fn people_already_connected_hear_of_new_groups_and_new_members_at_once() {
    let server = TestServer::start().await;
    let ann = server.user("ann").await;
    let ben = server.user("ben").await;
    let cat = server.user("cat").await;
    // Everyone is online before any conversation exists: no connection
    // could have learnt of the group when it opened.
    let mut a = connect(&ann).await;
    let mut b = connect(&ben).await;
    let mut c = connect(&cat).await;
    let mut poll_cursor = cat.sync(None, None, None).await.unwrap().cursor;

    let group = ann
        .create_group("late joiners", &[ben.user_id().unwrap()])
        .await
        .unwrap();
    let created = event_in(&mut b, group.id).await;
    assert!(matches!(created.body, EventBody::Created { .. }));
    a.send(group.id, "before cat");
    assert_eq!(
        text(&message_in(&mut b, group.id).await),
        Some("before cat")
    );
    assert_eq!(
        text(&message_in(&mut a, group.id).await),
        Some("before cat")
    );

    ann.add_members(group.id, &[cat.user_id().unwrap()])
        .await
        .unwrap();
    // Cat's open socket gets the event that added her, and nothing of the
    // group from before it.
    let added = event_in(&mut c, group.id).await;
    assert!(
        matches!(&added.body, EventBody::MembersAdded { users, count: 1 } if users == &vec![cat.user_id().unwrap()]),
        "{added:?}"
    );
    b.send(group.id, "welcome cat");
    let got = message_in(&mut c, group.id).await;
    assert_eq!(text(&got), Some("welcome cat"));
    assert_eq!(got.seq, added.seq + 1);
    // A long-poll opened after the change sees the same, from where cat
    // left off.
    let page = cat.sync(Some(poll_cursor), Some(5), None).await.unwrap();
    let seen: Vec<_> = page
        .deliveries
        .iter()
        .filter_map(|d| match &d.item {
            natter_proto::LogItem::Event(e) if e.conv == group.id => Some(e.seq),
            _ => None,
        })
        .collect();
    assert_eq!(seen, vec![added.seq, got.seq]);
    poll_cursor = page.cursor;

    // Typing reaches the other members connected now, cat included, and
    // not the typist.
    c.typing(group.id, true);
    loop {
        match b.next_event(WAIT).await.expect("ben hears cat typing") {
            LiveEvent::Typing {
                conv, user, active, ..
            } if conv == group.id => {
                assert_eq!((user, active), (cat.user_id().unwrap(), true));
                break;
            }
            _ => {}
        }
    }
    assert_no_message_pending(&mut c, &ann, group.id).await;
    // Caught up (the marker included), a waiting long-poll wakes for the
    // next message in the group.
    let page = cat.sync(Some(poll_cursor), None, Some(500)).await.unwrap();
    assert!(!page.more);
    poll_cursor = page.cursor;
    // A waiting long-poll wakes for the message (other entries, such as
    // receipts cat's live device sends, may wake it first: poll again).
    let waiting = {
        let cat = cat.clone();
        tokio::spawn(async move {
            let mut cursor = poll_cursor;
            loop {
                let page = cat.sync(Some(cursor), Some(20), None).await.unwrap();
                cursor = page.cursor;
                for d in page.deliveries {
                    if let natter_proto::LogItem::Event(e) = d.item
                        && text(&e) == Some("wake up")
                    {
                        return e;
                    }
                }
            }
        })
    };
    let marker = ann
        .send_message(group.id, &ClientId::random(), "wake up")
        .await
        .unwrap();
    let woke = tokio::time::timeout(WAIT, waiting)
        .await
        .expect("the long-poll answers with the message")
        .unwrap();
    assert_eq!(woke.message_id(), Some(marker.id));
    for live in [a, b, c] {
        live.close().await;
    }
}
