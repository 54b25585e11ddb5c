//! Broadcast channels: the owner and admins post, subscribers read; a
//! subscriber's coming and going is a `membership` item in their own log,
//! never an event the channel's other readers get.

use crate::*;
use natter_proto::{
    ConversationKind, CreateInvite, Departure, ErrorCode, LogItem, MembershipChangeKind, Role,
};
use natter_test_support::TestServer;
use natter_test_support::sdk::Error;

fn code<T: std::fmt::Debug>(r: Result<T, Error>) -> ErrorCode {
    r.expect_err("refused").code().expect("an API error")
}

/// Waits for the next membership item on `live`, skipping everything else.
async fn membership_in(live: &mut Live) -> natter_proto::MembershipChange {
    loop {
        match live.next_event(WAIT).await {
            Some(LiveEvent::Membership { membership, .. }) => return membership,
            Some(_) => {}
            None => panic!("no membership item within {WAIT:?}"),
        }
    }
}

#[tokio::test]
async fn subscribers_join_read_and_leave_without_anyone_else_hearing() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let carol = server.user("carol").await;
    let (a_id, b_id) = (alice.user_id().unwrap(), bob.user_id().unwrap());
    let ch = alice
        .create_channel("news", Some("what happens"))
        .await
        .unwrap();
    assert_eq!(ch.kind, ConversationKind::Channel);
    assert_eq!(ch.role, Role::Owner);
    let link = alice
        .create_invite(ch.id, &CreateInvite::default())
        .await
        .unwrap();
    let joined = carol.join_invite(&link.token).await.unwrap();
    assert_eq!((joined.role, joined.member_count), (Role::Subscriber, 2));
    let mut c = connect(&carol).await;
    let mut b = connect(&bob).await;

    // Bob subscribes: his socket hears it; carol's hears nothing of it.
    let info = bob.join_invite(&link.token).await.unwrap();
    assert_eq!((info.role, info.member_count), (Role::Subscriber, 3));
    let m = membership_in(&mut b).await;
    assert_eq!(
        (m.conv, m.user, m.change, m.seq),
        (ch.id, b_id, MembershipChangeKind::Joined, 1)
    );
    let post = alice
        .send_message(ch.id, &ClientId::random(), "first post")
        .await
        .unwrap();
    assert_eq!(post.seq, 2, "joining took no seq");
    let seen = message_in(&mut c, ch.id).await;
    assert_eq!(
        seen.seq, 2,
        "carol's next event is the post, not bob's join"
    );
    assert_eq!(text(&message_in(&mut b, ch.id).await), Some("first post"));

    // Subscribers read; they do not post, list the members or type.
    assert_eq!(
        code(bob.send_message(ch.id, &ClientId::random(), "me too").await),
        ErrorCode::Forbidden
    );
    assert_eq!(code(bob.members(ch.id).await), ErrorCode::Forbidden);
    let staff_view = alice.members(ch.id).await.unwrap();
    assert_eq!(
        staff_view.iter().map(|m| m.role).collect::<Vec<_>>(),
        vec![Role::Owner, Role::Subscriber, Role::Subscriber]
    );

    // Views count read watermarks; the author learns counts, not names.
    let before = alice.views(ch.id, 2, 2).await.unwrap().views[0].views;
    bob.mark_read(ch.id, 2).await.unwrap();
    carol.mark_read(ch.id, 2).await.unwrap();
    let after = alice.views(ch.id, 1, 2).await.unwrap();
    assert_eq!(after.views.len(), 1, "the created event has no views");
    assert_eq!((after.views[0].seq, after.views[0].views), (2, before + 2));
    let summary = alice.receipts(ch.id, 2).await.unwrap();
    assert!(
        summary.members.is_empty(),
        "a channel never lists its readers"
    );
    assert_eq!(summary.read, before + 2);

    // Bob leaves: a membership item for him alone, and nothing later.
    let Departure::Membership(left) = bob.leave(ch.id).await.unwrap() else {
        panic!("a subscriber leaves silently")
    };
    assert_eq!((left.change, left.seq), (MembershipChangeKind::Left, 2));
    assert_eq!(
        membership_in(&mut b).await.change,
        MembershipChangeKind::Left
    );
    alice
        .send_message(ch.id, &ClientId::random(), "second post")
        .await
        .unwrap();
    assert_eq!(text(&message_in(&mut c, ch.id).await), Some("second post"));
    let dm = alice.direct(b_id).await.unwrap();
    assert_no_message_pending(&mut b, &alice, dm.id).await;
    assert_eq!(code(bob.conversation(ch.id).await), ErrorCode::NotMember);
    assert_eq!(
        alice.conversation(ch.id).await.unwrap().member_count,
        2,
        "the count follows"
    );

    // Long-polling carries the items too, as `membership` deliveries.
    let page = bob.sync(None, Some(0), Some(100)).await.unwrap();
    let changes: Vec<_> = page
        .deliveries
        .iter()
        .filter_map(|d| match &d.item {
            LogItem::Membership(m) => Some(m.change),
            _ => None,
        })
        .collect();
    assert_eq!(
        changes,
        vec![MembershipChangeKind::Joined, MembershipChangeKind::Left]
    );
    let _ = a_id;
}

/// Roles in a channel are owner, admin, moderator and subscriber; an admin
/// posts; adding a subscriber to a channel has no group size limit.
#[tokio::test]
async fn channel_roles_let_admins_post_and_only_channel_roles_are_given() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let b_id = bob.user_id().unwrap();
    let ch = alice.create_channel("news", None).await.unwrap();
    let link = alice
        .create_invite(ch.id, &CreateInvite::default())
        .await
        .unwrap();
    bob.join_invite(&link.token).await.unwrap();
    assert_eq!(
        code(alice.set_role(ch.id, b_id, Role::Member).await),
        ErrorCode::BadRequest
    );
    alice.set_role(ch.id, b_id, Role::Admin).await.unwrap();
    let sent = bob
        .send_message(ch.id, &ClientId::random(), "from an admin")
        .await
        .unwrap();
    assert_eq!(
        sent.seq, 3,
        "the role change was an event; the post follows"
    );
    alice.set_role(ch.id, b_id, Role::Subscriber).await.unwrap();
    assert_eq!(
        code(bob.send_message(ch.id, &ClientId::random(), "again").await),
        ErrorCode::Forbidden
    );
}
