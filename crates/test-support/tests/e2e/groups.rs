//! Managing one's groups: leaving, invitations from people one's
//! `group_adds` setting does not admit, and the conversation list in pages.

use crate::*;
use natter_proto::{
    ConversationQuery, Departure, ErrorCode, EventBody, HistoryQuery, Privacy, Visibility,
};
use natter_test_support::TestServer;
use natter_test_support::sdk::Error;

fn code<T: std::fmt::Debug>(r: Result<T, Error>) -> ErrorCode {
    r.expect_err("refused").code().expect("an API error")
}

/// A member who leaves gets their own `member_left` on their open socket
/// and then nothing more of the group; the others see them go; afterwards
/// the group is gone from their list and every read or write of it is
/// `not_member`. A direct conversation cannot be left, nor a group by its
/// creator while others remain.
#[tokio::test]
async fn leaving_a_group_stops_everything_at_once_even_on_an_open_socket() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let carol = server.user("carol").await;
    let (b_id, c_id) = (bob.user_id().unwrap(), carol.user_id().unwrap());
    let g = alice.create_group("club", &[b_id, c_id]).await.unwrap();
    let dm = alice.direct(b_id).await.unwrap();
    let mut b = connect(&bob).await;
    let mut c = connect(&carol).await;

    let Departure::Event(left) = bob.leave(g.id).await.unwrap() else {
        panic!("leaving a group writes an event")
    };
    assert!(matches!(left.body, EventBody::MemberLeft { user } if user == b_id));
    assert_eq!((left.conv, left.sender, left.seq), (g.id, b_id, 2));
    assert_eq!(event_in(&mut b, g.id).await, left, "bob's socket hears it");
    assert_eq!(event_in(&mut c, g.id).await, left, "and so does carol's");

    // Alice writes in the group, then in her direct conversation with bob:
    // bob's next event is the direct message, never the group's.
    alice
        .send_message(g.id, &ClientId::random(), "bob is gone")
        .await
        .unwrap();
    assert_eq!(text(&message_in(&mut c, g.id).await), Some("bob is gone"));
    assert_no_message_pending(&mut b, &alice, dm.id).await;

    assert!(
        bob.conversations()
            .await
            .unwrap()
            .iter()
            .all(|x| x.id != g.id)
    );
    assert_eq!(code(bob.conversation(g.id).await), ErrorCode::NotMember);
    assert_eq!(
        code(bob.history(g.id, &HistoryQuery::default()).await),
        ErrorCode::NotMember
    );
    assert_eq!(
        code(bob.send_message(g.id, &ClientId::random(), "hi?").await),
        ErrorCode::NotMember
    );
    assert_eq!(code(bob.leave(g.id).await), ErrorCode::NotMember);
    let info = alice.conversation(g.id).await.unwrap();
    assert_eq!(info.member_count, 2);
    let members: Vec<_> = alice
        .members(g.id)
        .await
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    assert!(!members.contains(&b_id));

    assert_eq!(code(bob.leave(dm.id).await), ErrorCode::Forbidden);
    assert_eq!(code(alice.leave(g.id).await), ErrorCode::Forbidden);
    carol.leave(g.id).await.unwrap();
    let last = alice.leave(g.id).await.unwrap();
    assert_eq!(last.seq(), 5, "the creator may leave last");
    assert_eq!(code(carol.leave(g.id).await), ErrorCode::NotMember);

    // A device that was offline catches up to the departure, no further.
    let dave = server.user("dave").await;
    let d_id = dave.user_id().unwrap();
    let g2 = alice.create_group("two", &[d_id]).await.unwrap();
    dave.leave(g2.id).await.unwrap();
    alice
        .send_message(g2.id, &ClientId::random(), "after dave")
        .await
        .unwrap();
    // Over long-poll, from the beginning of dave's log.
    let page = dave.sync(None, None, None).await.unwrap();
    let kinds: Vec<_> = page
        .deliveries
        .iter()
        .filter_map(|d| d.item.event())
        .filter(|e| e.conv == g2.id)
        .map(|e| (e.seq, text(e).is_some()))
        .collect();
    assert_eq!(kinds, [(1, false), (2, false)], "created, member_left");
    for l in [b, c] {
        l.close().await;
    }
}

/// Someone whose `group_adds` setting does not admit the adder joins with
/// an invitation (`request: true`), listed under `request=true`; accepting
/// takes it. The setting is kept when a client updates privacy without it.
#[tokio::test]
async fn group_adds_turn_unwanted_adds_into_invitations() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let b_id = bob.user_id().unwrap();
    assert_eq!(
        bob.privacy().await.unwrap().group_adds,
        Visibility::Everyone
    );
    let set = bob
        .set_privacy(Privacy {
            presence: Visibility::Everyone,
            read_receipts: true,
            group_adds: Visibility::Contacts,
            discoverable: true,
        })
        .await
        .unwrap();
    assert_eq!(set.group_adds, Visibility::Contacts);
    // A client that predates group_adds sends only the other two fields.
    let raw = reqwest::Client::new()
        .put(format!("{}/v1/me/privacy", server.url()))
        .bearer_auth(bob.access_token().unwrap())
        .json(&serde_json::json!({"presence": "everyone", "read_receipts": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 200);
    let kept: Privacy = raw.json().await.unwrap();
    assert_eq!(kept.group_adds, Visibility::Contacts);
    assert!(!kept.read_receipts);

    let g = alice.create_group("spam", &[b_id]).await.unwrap();
    let invited = bob.conversation(g.id).await.unwrap();
    assert!(invited.request, "a stranger's add is an invitation");
    let page = |request| ConversationQuery {
        request: Some(request),
        ..ConversationQuery::default()
    };
    let only = bob.conversation_page(&page(true)).await.unwrap();
    assert_eq!(
        only.conversations.iter().map(|c| c.id).collect::<Vec<_>>(),
        [g.id]
    );
    assert!(
        bob.conversation_page(&page(false))
            .await
            .unwrap()
            .conversations
            .is_empty()
    );
    assert!(!bob.accept(g.id).await.unwrap().request);
    assert_eq!(
        bob.conversation_page(&page(false))
            .await
            .unwrap()
            .conversations
            .len(),
        1
    );

    // Once contacts, alice's adds are no invitations.
    let dm = alice.direct(b_id).await.unwrap();
    bob.accept(dm.id).await.unwrap();
    let g2 = alice.create_group("friends", &[b_id]).await.unwrap();
    assert!(!bob.conversation(g2.id).await.unwrap().request);
}

/// The list comes in pages of `limit`, newest activity first, each
/// conversation once, `next` pointing at the rest; `unread_total` counts
/// every page. Bad paging parameters are `bad_request`.
#[tokio::test]
async fn the_conversation_list_comes_in_pages() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let a_id = alice.user_id().unwrap();
    let mut made = Vec::new();
    for i in 0..7 {
        let g = bob.create_group(&format!("g{i}"), &[a_id]).await.unwrap();
        bob.send_message(g.id, &ClientId::random(), "hi")
            .await
            .unwrap();
        made.push(g.id);
    }
    made.reverse();
    let mut query = ConversationQuery {
        limit: Some(3),
        ..ConversationQuery::default()
    };
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let page = alice.conversation_page(&query).await.unwrap();
        pages += 1;
        assert!(page.conversations.len() <= 3);
        assert_eq!(page.unread_total, 7);
        seen.extend(page.conversations.iter().map(|c| c.id));
        match page.next {
            Some(next) => query.before = Some(next),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, made, "newest first, each once");
    assert_eq!(
        alice
            .conversations()
            .await
            .unwrap()
            .iter()
            .map(|c| c.id)
            .collect::<Vec<_>>(),
        made
    );
    let default = alice
        .conversation_page(&ConversationQuery::default())
        .await
        .unwrap();
    assert_eq!(default.conversations.len(), 7);
    assert!(default.next.is_none());

    for bad in [
        "limit=0",
        "limit=501",
        "limit=x",
        "before=nonsense",
        "request=maybe",
    ] {
        let r = reqwest::Client::new()
            .get(format!("{}/v1/conversations?{bad}", server.url()))
            .bearer_auth(alice.access_token().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{bad}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "bad_request", "{bad}");
    }
}
