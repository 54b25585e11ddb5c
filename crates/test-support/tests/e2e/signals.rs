//! Live signals: presence, last seen, typing, receipts as watermarks,
//! unread counts and read sync across devices, through the SDK.

use crate::*;
use futures_util::{SinkExt, StreamExt};
use natter_proto::{
    ClientId, ConversationId, ErrorCode, Presence, Privacy, Receipt, UserId, Visibility,
};
use natter_test_support::TestServer;
use natter_test_support::sdk::{Client, ConnectOptions, Live, LiveEvent};

/// A server with short presence and typing timeouts, so tests need no long
/// waits.
pub(crate) async fn fast_server() -> TestServer {
    TestServer::start_with(|c| {
        c.gateway.heartbeat_secs = 1;
        c.presence.timeout_ms = 1_500;
        c.presence.offline_grace_ms = 100;
        c.presence.max_group_members = 3;
        c.typing.ttl_ms = 400;
        c.typing.min_interval_ms = 200;
    })
    .await
}

/// Waits for the next presence change of `user`.
pub(crate) async fn presence_of(live: &mut Live, user: UserId) -> Presence {
    loop {
        match live.next_event(WAIT).await {
            Some(LiveEvent::Presence(p)) if p.user == user => return p,
            Some(_) => {}
            None => panic!("no presence change of {user} within {WAIT:?}"),
        }
    }
}

/// Waits for the next receipt about `user` in `conv`.
async fn receipt_from(live: &mut Live, conv: ConversationId, user: UserId) -> Receipt {
    loop {
        match live.next_event(WAIT).await {
            Some(LiveEvent::Receipt { receipt, .. })
                if receipt.conv == conv && receipt.user == user =>
            {
                return receipt;
            }
            Some(_) => {}
            None => panic!("no receipt from {user} within {WAIT:?}"),
        }
    }
}

/// The time now, ms since the epoch (the unit of `last_seen`).
fn now_ms() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970");
    i64::try_from(since.as_millis()).expect("ms fit in i64")
}

/// Connects and returns the presence snapshot with the live connection.
pub(crate) async fn connect_snapshot(client: &Client) -> (Live, Vec<Presence>) {
    let mut live = client
        .connect(ConnectOptions::new())
        .await
        .expect("connect");
    let mut snapshot = None;
    loop {
        match live.next_event(WAIT).await {
            Some(LiveEvent::PresenceSnapshot(s)) => snapshot = Some(s),
            Some(LiveEvent::Synced { .. }) if snapshot.is_some() => break,
            Some(_) => {}
            None => panic!("no snapshot and synced within {WAIT:?}"),
        }
    }
    (live, snapshot.unwrap_or_default())
}

#[tokio::test]
async fn presence_goes_online_and_offline_with_last_seen() {
    let server = fast_server().await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let (a_id, b_id) = (alice.user_id().unwrap(), bob.user_id().unwrap());
    alice.direct(b_id).await.unwrap();

    let (mut b, snapshot) = connect_snapshot(&bob).await;
    let seen = snapshot
        .iter()
        .find(|p| p.user == a_id)
        .expect("alice is in bob's snapshot");
    assert!(!seen.online);
    assert_eq!(seen.last_seen, None, "never seen yet");

    let before = now_ms();
    let (a, a_snapshot) = connect_snapshot(&alice).await;
    assert!(
        a_snapshot.iter().any(|p| p.user == b_id && p.online),
        "alice sees bob online"
    );
    assert!(presence_of(&mut b, a_id).await.online);

    a.close().await;
    let gone = presence_of(&mut b, a_id).await;
    assert!(!gone.online);
    let last_seen = gone.last_seen.expect("last seen is shown when offline");
    assert!(
        (before..=now_ms()).contains(&last_seen),
        "last seen {last_seen} is while alice was connected, after {before}"
    );
    let listed = bob.presence().await.unwrap();
    let listed = listed.iter().find(|p| p.user == a_id).unwrap();
    assert_eq!((listed.online, listed.last_seen), (false, Some(last_seen)));
    b.close().await;
}

#[tokio::test]
async fn a_silent_connection_goes_offline_after_the_timeout() {
    let server = fast_server().await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let a_id = alice.user_id().unwrap();
    alice.direct(bob.user_id().unwrap()).await.unwrap();
    let (mut b, _) = connect_snapshot(&bob).await;

    // Alice's socket authenticates, then stops reading: no pongs, nothing.
    let before = now_ms();
    let (mut ws, _) = tokio_tungstenite::connect_async(server.ws_url())
        .await
        .unwrap();
    let hello = serde_json::json!({"type": "hello", "token": alice.access_token().unwrap()});
    ws.send(tokio_tungstenite::tungstenite::Message::text(
        hello.to_string(),
    ))
    .await
    .unwrap();
    let _welcome = ws.next().await;
    assert!(presence_of(&mut b, a_id).await.online);
    let offline = presence_of(&mut b, a_id).await;
    assert!(
        !offline.online,
        "silent for longer than the timeout means offline"
    );
    let last_seen = offline.last_seen.expect("last seen is shown when offline");
    assert!(
        (before..=now_ms()).contains(&last_seen),
        "last seen {last_seen} is while the socket was open, after {before}"
    );
    drop(ws);
    b.close().await;
}

#[tokio::test]
async fn presence_privacy_is_respected_in_every_path() {
    let server = fast_server().await;
    let bob = server.user("bob").await;
    let carol = server.user("carol").await;
    let dave = server.user("dave").await;
    let (b_id, c_id, d_id) = (
        bob.user_id().unwrap(),
        carol.user_id().unwrap(),
        dave.user_id().unwrap(),
    );
    let cb = carol.direct(b_id).await.unwrap();
    bob.accept(cb.id).await.unwrap(); // carol and bob are contacts
    dave.create_group("pair", &[b_id]).await.unwrap(); // dave and bob share a small group only
    carol
        .set_privacy(Privacy {
            presence: Visibility::Nobody,
            read_receipts: true,
            group_adds: Visibility::Everyone,
            discoverable: true,
        })
        .await
        .unwrap();
    dave.set_privacy(Privacy {
        presence: Visibility::Contacts,
        read_receipts: true,
        group_adds: Visibility::Everyone,
        discoverable: true,
    })
    .await
    .unwrap();
    assert_eq!(carol.privacy().await.unwrap().presence, Visibility::Nobody);

    let (mut b, snapshot) = connect_snapshot(&bob).await;
    assert!(
        snapshot.iter().all(|p| p.user != c_id && p.user != d_id),
        "hidden in the snapshot: {snapshot:?}"
    );
    let (c, _) = connect_snapshot(&carol).await;
    let (d, _) = connect_snapshot(&dave).await;
    // Neither change reaches bob; a visible one afterwards proves the
    // signals were not just slow.
    let eve = server.user("eve").await;
    let e_id = eve.user_id().unwrap();
    eve.direct(b_id).await.unwrap();
    let (e, _) = connect_snapshot(&eve).await;
    loop {
        match b.next_event(WAIT).await.expect("eve's presence arrives") {
            LiveEvent::Presence(p) if p.user == e_id => break,
            LiveEvent::Presence(p) => panic!("hidden presence leaked: {p:?}"),
            _ => {}
        }
    }
    let listed = bob.presence().await.unwrap();
    assert!(listed.iter().all(|p| p.user != c_id && p.user != d_id));
    assert!(listed.iter().any(|p| p.user == e_id && p.online));

    // Dave shows contacts: once bob is a contact (he accepts the direct
    // conversation dave starts), bob sees him.
    let dm = dave.direct(b_id).await.unwrap();
    bob.accept(dm.id).await.unwrap();
    dave.set_privacy(Privacy {
        presence: Visibility::Contacts,
        read_receipts: true,
        group_adds: Visibility::Everyone,
        discoverable: true,
    })
    .await
    .unwrap();
    assert!(presence_of(&mut b, d_id).await.online);
    // Eve hides herself while online: bob's view of her turns unknown.
    eve.set_privacy(Privacy {
        presence: Visibility::Nobody,
        read_receipts: true,
        group_adds: Visibility::Everyone,
        discoverable: true,
    })
    .await
    .unwrap();
    let hidden = presence_of(&mut b, e_id).await;
    assert_eq!((hidden.online, hidden.last_seen), (false, None));
    for l in [b, c, d, e] {
        l.close().await;
    }
}

#[tokio::test]
async fn presence_is_not_broadcast_to_large_groups() {
    let server = fast_server().await; // groups of at most 3 share presence
    let ann = server.user("ann").await;
    let mut others = Vec::new();
    for _ in 0..3 {
        others.push(server.user("member").await);
    }
    let ids: Vec<_> = others.iter().map(|c| c.user_id().unwrap()).collect();
    ann.create_group("four people", &ids).await.unwrap();
    let (mut watcher, snapshot) = connect_snapshot(&others[0]).await;
    assert!(
        snapshot.is_empty(),
        "nobody shares a small conversation: {snapshot:?}"
    );
    let (a, _) = connect_snapshot(&ann).await;
    // A direct contact's change arrives; ann's never does.
    let friend = server.user("friend").await;
    friend.direct(ids[0]).await.unwrap();
    let (f, _) = connect_snapshot(&friend).await;
    loop {
        match watcher
            .next_event(WAIT)
            .await
            .expect("the friend's presence arrives")
        {
            LiveEvent::Presence(p) if p.user == friend.user_id().unwrap() => break,
            LiveEvent::Presence(p) => panic!("presence leaked into a large group: {p:?}"),
            _ => {}
        }
    }
    for l in [watcher, a, f] {
        l.close().await;
    }
}

#[tokio::test]
async fn typing_reaches_the_others_and_expires_by_itself() {
    let server = fast_server().await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let eve = server.user("eve").await;
    let a_id = alice.user_id().unwrap();
    let conv = alice.direct(bob.user_id().unwrap()).await.unwrap().id;
    let (mut a, _) = connect_snapshot(&alice).await;
    let (mut b, _) = connect_snapshot(&bob).await;
    // A flood of refreshes is absorbed, not an error.
    for _ in 0..50 {
        a.typing(conv, true);
    }
    let mut starts = 0;
    loop {
        match b
            .next_event(WAIT)
            .await
            .expect("typing start, then its expiry")
        {
            LiveEvent::Typing {
                conv: c,
                user,
                active: true,
                expires_in_ms,
            } => {
                assert_eq!((c, user), (conv, a_id));
                assert_eq!(expires_in_ms, Some(400));
                starts += 1;
            }
            LiveEvent::Typing {
                active: false,
                user,
                ..
            } => {
                assert_eq!(user, a_id);
                break;
            }
            _ => {}
        }
    }
    assert!(
        (1..=3).contains(&starts),
        "50 refreshes were throttled to {starts}"
    );
    // Sending a message stops the indicator at once.
    alice.typing(conv, true).await.unwrap();
    let done = a.send(conv, "done typing");
    loop {
        if let LiveEvent::Typing { active: false, .. } =
            b.next_event(WAIT).await.expect("stop after the message")
        {
            break;
        }
    }
    // The sender's connection is fine and got no error for the flood: the
    // flood's frames were answered before bob saw the indicator start, and
    // the message's ack, which comes back over the same socket after them,
    // follows no refusal.
    loop {
        match a.next_event(WAIT).await.expect("the message's ack") {
            LiveEvent::Sent(s) if s.client_id == done => break,
            ev @ (LiveEvent::RequestFailed { .. } | LiveEvent::SendFailed { .. }) => {
                panic!("the flood was refused: {ev:?}")
            }
            _ => {}
        }
    }
    // Typing where you are not a member is refused.
    let err = eve.typing(conv, true).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::NotMember));
    a.close().await;
    b.close().await;
}

#[tokio::test]
async fn direct_receipts_tick_from_sent_to_delivered_to_read() {
    let server = fast_server().await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let b_id = bob.user_id().unwrap();
    let conv = alice.direct(b_id).await.unwrap().id;
    let (mut a, _) = connect_snapshot(&alice).await;
    let mut seqs = Vec::new();
    for i in 0..3 {
        seqs.push(
            alice
                .send_message(conv, &ClientId::random(), &format!("m{i}"))
                .await
                .unwrap()
                .seq,
        );
    }
    let last = *seqs.last().unwrap();
    // Bob's SDK reports delivery by itself when it hands him the messages.
    let (b, _) = connect_snapshot(&bob).await;
    let mut delivered = 0;
    while delivered < last {
        delivered = receipt_from(&mut a, conv, b_id).await.delivered;
    }
    b.mark_read(conv, last);
    let mut read = receipt_from(&mut a, conv, b_id).await;
    while read.read < last {
        read = receipt_from(&mut a, conv, b_id).await;
    }
    assert_eq!((read.delivered, read.read), (last, last));
    let info = alice.conversation(conv).await.unwrap();
    let peer = info
        .peer_receipt
        .expect("direct conversations show the peer's receipt");
    assert_eq!((peer.delivered, peer.read), (last, last));

    // Watermarks only move forward; bad values are typed errors.
    let now = bob.mark_read(conv, seqs[0]).await.unwrap();
    assert_eq!(now.read, last, "a lower value changes nothing");
    let err = bob.mark_read(conv, last + 10).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::BadRequest));
    let eve = server.user("eve").await;
    assert_eq!(
        eve.mark_read(conv, 1).await.unwrap_err().code(),
        Some(ErrorCode::NotMember)
    );
    let outsider = eve.mark_read(ConversationId::new(), 1).await.unwrap_err();
    assert_eq!(outsider.code(), Some(ErrorCode::NotMember));
    a.close().await;
    b.close().await;
}

#[tokio::test]
async fn group_receipts_count_members_from_watermarks() {
    let server = fast_server().await;
    let ann = server.user("ann").await;
    let members: Vec<Client> = vec![
        server.user("member").await,
        server.user("member").await,
        server.user("member").await,
    ];
    let ids: Vec<_> = members.iter().map(|m| m.user_id().unwrap()).collect();
    let group = ann.create_group("readers", &ids).await.unwrap().id;
    let seq = ann
        .send_message(group, &ClientId::random(), "did you read this?")
        .await
        .unwrap()
        .seq;
    members[0].mark_read(group, seq).await.unwrap();
    members[1].mark_read(group, seq).await.unwrap();
    members[2].mark_delivered(group, seq).await.unwrap();
    let summary = ann.receipts(group, seq).await.unwrap();
    assert_eq!((summary.total, summary.delivered, summary.read), (3, 3, 2));
    let readers: Vec<_> = summary
        .members
        .iter()
        .filter(|m| m.read >= seq)
        .map(|m| m.user)
        .collect();
    assert_eq!(readers, vec![ids[0], ids[1]]);

    // A member who hides read receipts is not counted, and sees no reads.
    members[1]
        .set_privacy(Privacy {
            presence: Visibility::Everyone,
            read_receipts: false,
            group_adds: Visibility::Everyone,
            discoverable: true,
        })
        .await
        .unwrap();
    let summary = ann.receipts(group, seq).await.unwrap();
    assert_eq!(summary.read, 1);
    let their_view = members[1].receipts(group, seq).await.unwrap();
    assert_eq!(their_view.read, 1, "they see their own read only");
    assert!(
        their_view
            .members
            .iter()
            .all(|m| m.read == 0 || m.user == ids[1]),
        "{their_view:?}"
    );
}

#[tokio::test]
async fn reading_on_one_device_clears_unread_on_the_others() {
    let server = fast_server().await;
    let alice = server.user("alice").await;
    let phone = server.user("bob").await;
    let b_id = phone.user_id().unwrap();
    let laptop = Client::login(
        &server.url(),
        &phone.session().unwrap().username,
        natter_test_support::PASSWORD,
        Some("laptop"),
    )
    .await
    .unwrap();
    let conv = alice.direct(b_id).await.unwrap().id;
    let mut last = 0;
    for i in 0..3 {
        last = alice
            .send_message(conv, &ClientId::random(), &format!("m{i}"))
            .await
            .unwrap()
            .seq;
    }
    let list = phone.conversations().await.unwrap();
    assert_eq!(list[0].unread, 3);
    let (p, _) = connect_snapshot(&phone).await;
    let (mut l, _) = connect_snapshot(&laptop).await;
    p.mark_read(conv, last);
    let mine = receipt_from(&mut l, conv, b_id).await;
    let mut read = mine.read;
    while read < last {
        read = receipt_from(&mut l, conv, b_id).await.read;
    }
    let list = laptop.conversations().await.unwrap();
    assert_eq!((list[0].unread, list[0].read_seq), (0, last));
    p.close().await;
    l.close().await;
}

#[tokio::test]
async fn receipts_reach_an_offline_device_and_survive_a_restart() {
    let mut server = fast_server().await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let b_id = bob.user_id().unwrap();
    let conv = alice.direct(b_id).await.unwrap().id;
    let (a, _) = connect_snapshot(&alice).await;
    let cursor = a.cursor();
    a.close().await;
    let seq = alice
        .send_message(conv, &ClientId::random(), "read me")
        .await
        .unwrap()
        .seq;
    bob.mark_read(conv, seq).await.unwrap();
    server.restart().await;
    let mut a = alice
        .connect(ConnectOptions::new().with_cursor(cursor))
        .await
        .unwrap();
    let r = receipt_from(&mut a, conv, b_id).await;
    assert_eq!(r.read, seq, "the receipt waited in alice's log");
    let peer = alice
        .conversation(conv)
        .await
        .unwrap()
        .peer_receipt
        .unwrap();
    assert_eq!(peer.read, seq);
    a.close().await;
}

#[tokio::test]
async fn receipt_bodies_naming_someone_else_are_refused() {
    let server = fast_server().await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let conv = alice.direct(bob.user_id().unwrap()).await.unwrap().id;
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/conversations/{conv}/receipts", server.url()))
        .bearer_auth(alice.access_token().unwrap())
        .json(&serde_json::json!({"kind": "read", "seq": 1, "user": bob.user_id().unwrap()}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "bad_request");
    let theirs = bob.conversation(conv).await.unwrap();
    assert_eq!(theirs.read_seq, 0, "nothing changed");
}

#[tokio::test]
async fn a_new_contact_learns_presence_at_once() {
    let server = fast_server().await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let a_id = alice.user_id().unwrap();
    let (a, _) = connect_snapshot(&alice).await;
    let (mut b, snapshot) = connect_snapshot(&bob).await;
    assert!(snapshot.is_empty(), "strangers see nothing");
    // Starting a conversation makes them contacts: bob hears alice is online.
    bob.direct(a_id).await.unwrap();
    assert!(presence_of(&mut b, a_id).await.online);
    a.close().await;
    b.close().await;
}

/// One rule for group summaries: the counts are the member rows as the
/// caller sees them. Your own row is always true (so your own read counts,
/// even when you hide read receipts); others' reads show as 0, and do not
/// count, when either of you hides them.
#[tokio::test]
async fn a_summary_counts_exactly_the_rows_the_caller_sees() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let carol = server.user("carol").await;
    let (b_id, c_id) = (bob.user_id().unwrap(), carol.user_id().unwrap());
    let group = alice.create_group("club", &[b_id, c_id]).await.unwrap();
    let sent = alice
        .send_message(group.id, &ClientId::random(), "hi")
        .await
        .unwrap();
    bob.set_privacy(Privacy {
        read_receipts: false,
        group_adds: Visibility::Everyone,
        ..bob.privacy().await.unwrap()
    })
    .await
    .unwrap();
    bob.mark_read(group.id, sent.seq).await.unwrap();
    carol.mark_read(group.id, sent.seq).await.unwrap();

    let counted = |s: &natter_proto::ReceiptSummary| {
        s.members.iter().filter(|m| m.read >= sent.seq).count() as u64
    };
    // Bob hides reads: he sees his own, not Carol's.
    let seen_by_bob = bob.receipts(group.id, sent.seq).await.unwrap();
    let row =
        |s: &natter_proto::ReceiptSummary, u| s.members.iter().find(|m| m.user == u).unwrap().read;
    assert_eq!(row(&seen_by_bob, b_id), sent.seq, "his own row is true");
    assert_eq!(
        row(&seen_by_bob, c_id),
        0,
        "others' reads are hidden from him"
    );
    assert_eq!(seen_by_bob.read, 1);
    assert_eq!(seen_by_bob.read, counted(&seen_by_bob));
    // Alice sees Carol's read, not Bob's.
    let seen_by_alice = alice.receipts(group.id, sent.seq).await.unwrap();
    assert_eq!(row(&seen_by_alice, b_id), 0);
    assert_eq!(row(&seen_by_alice, c_id), sent.seq);
    assert_eq!(seen_by_alice.read, 1);
    assert_eq!(seen_by_alice.read, counted(&seen_by_alice));
    assert_eq!((seen_by_alice.total, seen_by_alice.delivered), (2, 2));
}
