//! Blocking and message requests: who may reach whom, and whose presence a
//! stranger can see.

use crate::signals::{connect_snapshot, fast_server, presence_of};
use crate::*;
use natter_proto::{ErrorCode, Privacy, UserId, Visibility};
use natter_test_support::sdk::{Error, LiveEvent};

fn code<T: std::fmt::Debug>(r: Result<T, Error>) -> ErrorCode {
    r.expect_err("refused").code().expect("an API error")
}

const CONTACTS_ONLY: Privacy = Privacy {
    presence: Visibility::Contacts,
    read_receipts: true,
    group_adds: Visibility::Everyone,
    discoverable: true,
};

/// A stranger who opens a direct conversation with someone who shows
/// presence to contacts only does not see them, however much the stranger
/// writes; once they answer (or accept), the two are contacts and see each
/// other at once.
#[tokio::test]
async fn a_stranger_sees_contacts_only_presence_only_once_the_request_is_taken() {
    let server = fast_server().await;
    let alice = server.user("alice").await;
    let mallory = server.user("mallory").await;
    let (a_id, m_id) = (alice.user_id().unwrap(), mallory.user_id().unwrap());
    alice.set_privacy(CONTACTS_ONLY).await.unwrap();
    mallory.set_privacy(CONTACTS_ONLY).await.unwrap();
    let (mut a, _) = connect_snapshot(&alice).await;

    let dm = mallory.direct(a_id).await.unwrap();
    assert!(!dm.request, "the one who starts it has no request");
    for i in 0..3 {
        mallory
            .send_message(dm.id, &ClientId::random(), &format!("hi {i}"))
            .await
            .unwrap();
    }
    let (mut m, snapshot) = connect_snapshot(&mallory).await;
    assert!(snapshot.iter().all(|p| p.user != a_id), "{snapshot:?}");
    assert!(
        mallory
            .presence()
            .await
            .unwrap()
            .iter()
            .all(|p| p.user != a_id)
    );
    let listed = alice.conversation(dm.id).await.unwrap();
    assert!(listed.request, "alice sees a message request");
    assert_eq!(listed.unread, 3);
    assert!(
        alice
            .conversations()
            .await
            .unwrap()
            .iter()
            .any(|c| c.id == dm.id && c.request)
    );

    // Alice answers: a contact now, both ways, at once.
    alice
        .send_message(dm.id, &ClientId::random(), "who is this?")
        .await
        .unwrap();
    assert!(presence_of(&mut m, a_id).await.online);
    assert!(presence_of(&mut a, m_id).await.online);
    assert!(!alice.conversation(dm.id).await.unwrap().request);
    assert!(
        mallory
            .presence()
            .await
            .unwrap()
            .iter()
            .any(|p| p.user == a_id && p.online)
    );

    // Accepting without a word does the same.
    let carol = server.user("carol").await;
    carol.set_privacy(CONTACTS_ONLY).await.unwrap();
    let (mut c, _) = connect_snapshot(&carol).await;
    let cd = carol.direct(a_id).await.unwrap();
    assert!(alice.conversation(cd.id).await.unwrap().request);
    let accepted = alice.accept(cd.id).await.unwrap();
    assert!(!accepted.request);
    assert!(presence_of(&mut c, a_id).await.online);
    // Accepting again, or a group, changes nothing and is no error.
    assert!(!alice.accept(cd.id).await.unwrap().request);
    let g = carol.create_group("g", &[a_id]).await.unwrap();
    assert!(!alice.accept(g.id).await.unwrap().request);
    // Only members may.
    let dave = server.user("dave").await;
    assert_eq!(code(dave.accept(cd.id).await), ErrorCode::NotMember);
    for l in [a, m, c] {
        l.close().await;
    }
}

/// A block stops messages in the direct conversation both ways, new direct
/// conversations and adding either to a group, and hides presence both ways
/// (an unknown state once, then nothing); shared groups go on. Lifting it
/// restores everything.
#[tokio::test]
async fn a_block_stops_messages_groups_and_presence_both_ways_until_lifted() {
    let server = fast_server().await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let carol = server.user("carol").await;
    let (a_id, b_id, c_id) = (
        alice.user_id().unwrap(),
        bob.user_id().unwrap(),
        carol.user_id().unwrap(),
    );
    let dm = bob.direct(a_id).await.unwrap();
    alice.accept(dm.id).await.unwrap();
    let shared = carol.create_group("shared", &[a_id, b_id]).await.unwrap();
    let (a, _) = connect_snapshot(&alice).await;
    let (mut b, snapshot) = connect_snapshot(&bob).await;
    assert!(snapshot.iter().any(|p| p.user == a_id && p.online));

    let block = alice.block(b_id).await.unwrap();
    assert_eq!(block.user.id, b_id);
    assert_eq!(block.user.username, bob.me().await.unwrap().username);
    // Bob's view of alice turns unknown once.
    let gone = presence_of(&mut b, a_id).await;
    assert_eq!((gone.online, gone.last_seen), (false, None));
    assert!(bob.presence().await.unwrap().iter().all(|p| p.user != a_id));
    assert!(
        alice
            .presence()
            .await
            .unwrap()
            .iter()
            .all(|p| p.user != b_id)
    );
    // Blocking again is the same block.
    assert_eq!(alice.block(b_id).await.unwrap(), block);
    assert_eq!(alice.blocks().await.unwrap(), vec![block.clone()]);
    assert!(
        bob.blocks().await.unwrap().is_empty(),
        "a block is its owner's"
    );

    let before = alice.conversation(dm.id).await.unwrap().last_seq;
    assert_eq!(
        code(bob.send_message(dm.id, &ClientId::random(), "hello?").await),
        ErrorCode::Blocked
    );
    assert_eq!(
        code(alice.send_message(dm.id, &ClientId::random(), "bye").await),
        ErrorCode::Blocked,
        "the one who blocked must lift it to write"
    );
    assert_eq!(
        alice.conversation(dm.id).await.unwrap().last_seq,
        before,
        "nothing stored"
    );
    assert_eq!(
        code(bob.create_group("trap", &[a_id]).await),
        ErrorCode::Blocked
    );
    let bobs = bob.create_group("bob's", &[c_id]).await.unwrap();
    assert_eq!(
        code(bob.add_members(bobs.id, &[a_id]).await),
        ErrorCode::Blocked
    );
    assert_eq!(
        code(alice.create_group("mine", &[b_id]).await),
        ErrorCode::Blocked
    );
    let dave = server.user("dave").await;
    dave.block(b_id).await.unwrap();
    assert_eq!(
        code(bob.direct(dave.user_id().unwrap()).await),
        ErrorCode::Blocked
    );
    assert_eq!(code(dave.direct(b_id).await), ErrorCode::Blocked);
    // The group they share goes on.
    bob.send_message(shared.id, &ClientId::random(), "still here")
        .await
        .unwrap();

    // Bad input changes nothing.
    assert_eq!(code(alice.block(a_id).await), ErrorCode::BadRequest);
    assert_eq!(code(alice.block(UserId::new()).await), ErrorCode::NotFound);
    let raw = reqwest::Client::new()
        .put(format!("{}/v1/blocks/not-an-id", server.url()))
        .bearer_auth(alice.access_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status().as_u16(), 404);
    assert_eq!(alice.blocks().await.unwrap(), vec![block]);

    // Lifted: presence comes back at once, and messages flow.
    alice.unblock(b_id).await.unwrap();
    alice.unblock(b_id).await.unwrap(); // nothing to lift: no error
    assert!(alice.blocks().await.unwrap().is_empty());
    // (Frames from while it held can only say "unknown".)
    loop {
        let p = presence_of(&mut b, a_id).await;
        if p.online {
            break;
        }
        assert_eq!(p.last_seen, None, "nothing of alice leaked: {p:?}");
    }
    bob.send_message(dm.id, &ClientId::random(), "thanks")
        .await
        .unwrap();
    loop {
        match b.next_event(WAIT).await.expect("bob's own message arrives") {
            LiveEvent::Event { event, .. } if event.conv == dm.id => break,
            _ => {}
        }
    }
    a.close().await;
    b.close().await;
}
