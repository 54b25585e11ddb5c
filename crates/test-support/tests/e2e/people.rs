//! People and their conversation list: profiles and the user directory.

use crate::*;
use natter_proto::{ConversationQuery, ErrorCode, Privacy, UpdateProfile, UpdateSettings};
use natter_test_support::sdk::{Client, Error};
use natter_test_support::{PASSWORD, TestServer};

fn code<T: std::fmt::Debug>(r: Result<T, Error>) -> ErrorCode {
    r.expect_err("refused").code().expect("an API error")
}

fn profile(name: Option<&str>, about: Option<&str>) -> UpdateProfile {
    UpdateProfile {
        display_name: name.map(str::to_owned),
        about: about.map(str::to_owned),
    }
}

/// A display name and "about" text show wherever others see the user; bad
/// ones are refused and change nothing; an empty value removes one.
#[tokio::test]
async fn a_profile_is_set_shown_to_others_and_cleared() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let (a_id, b_id) = (alice.user_id().unwrap(), bob.user_id().unwrap());

    let me = alice
        .update_profile(&profile(Some("  Alice Liddell "), Some("down the hole")))
        .await
        .unwrap();
    assert_eq!(me.display_name.as_deref(), Some("Alice Liddell"), "trimmed");
    assert_eq!(me.about.as_deref(), Some("down the hole"));

    let seen = bob.user(a_id).await.unwrap();
    assert_eq!(seen.shown_name(), "Alice Liddell");
    assert_eq!(seen.about.as_deref(), Some("down the hole"));
    let dm = bob.direct(a_id).await.unwrap();
    assert_eq!(
        dm.peer.unwrap().display_name.as_deref(),
        Some("Alice Liddell")
    );
    let g = bob.create_group("tea", &[a_id]).await.unwrap();
    let members = bob.members(g.id).await.unwrap();
    let listed = members.iter().find(|m| m.id == a_id).unwrap();
    assert_eq!(listed.display_name.as_deref(), Some("Alice Liddell"));

    for bad in [
        profile(Some(&"x".repeat(65)), None),
        profile(Some("evil\u{202e}name"), None),
        profile(None, Some(&"y".repeat(281))),
        profile(None, None),
    ] {
        assert_eq!(
            code(alice.update_profile(&bad).await),
            ErrorCode::BadRequest
        );
    }
    assert_eq!(
        alice.me().await.unwrap().display_name.as_deref(),
        Some("Alice Liddell"),
        "a refused change changes nothing"
    );
    let me = alice
        .update_profile(&profile(Some(""), None))
        .await
        .unwrap();
    assert_eq!(me.display_name, None);
    assert_eq!(me.about.as_deref(), Some("down the hole"), "kept");
    let seen = bob.user(a_id).await.unwrap();
    assert_eq!(seen.shown_name(), seen.username, "the username again");
    let _ = b_id;
}

/// The directory finds people by username or display-name prefix, in any
/// case, and leaves out those who are not discoverable or blocked the
/// searcher; an exact username still finds anyone.
#[tokio::test]
async fn the_directory_finds_people_who_let_themselves_be_found() {
    let server = TestServer::start().await;
    let searcher = server.user("searcher").await;
    let marta = server.user("marta").await;
    let marek = server.user("marek").await;
    let zed = server.user("zed").await;
    zed.update_profile(&profile(Some("Mark Zed"), None))
        .await
        .unwrap();
    // The test server numbers usernames; compare what was asked for.
    let names = |users: Vec<natter_proto::UserInfo>| {
        users
            .into_iter()
            .map(|u| {
                u.username
                    .trim_end_matches(|c: char| c.is_ascii_digit())
                    .to_owned()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(searcher.search_users("MAR", None).await.unwrap()),
        ["marek", "marta", "zed"]
    );
    marek
        .set_privacy(Privacy {
            discoverable: false,
            ..Privacy::default()
        })
        .await
        .unwrap();
    marta.block(searcher.user_id().unwrap()).await.unwrap();
    assert_eq!(
        names(searcher.search_users("mar", None).await.unwrap()),
        ["zed"]
    );
    let marek_name = marek.me().await.unwrap().username;
    assert_eq!(
        searcher.user_by_name(&marek_name).await.unwrap().username,
        marek_name,
        "an exact username finds anyone"
    );
    assert_eq!(
        code(searcher.search_users("", None).await),
        ErrorCode::BadRequest
    );
    assert_eq!(
        code(searcher.search_users("m", Some(51)).await),
        ErrorCode::BadRequest
    );
}

/// My own settings for a conversation (mute with or without the badge,
/// archive, pin, unread mark) reach my other devices at once through the
/// log, show in the conversation and the list, shape the badge and filter
/// the list; other members see nothing of them.
#[tokio::test]
async fn my_conversation_settings_follow_me_to_every_device() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let b_id = bob.user_id().unwrap();
    let bob_name = bob.me().await.unwrap().username;
    let phone = Client::login(&server.url(), &bob_name, PASSWORD, Some("phone"))
        .await
        .unwrap();
    let mut on_phone = connect(&phone).await;
    let g = alice.create_group("club", &[b_id]).await.unwrap();
    let dm = alice.direct(b_id).await.unwrap();
    alice
        .send_message(g.id, &ClientId::random(), "news")
        .await
        .unwrap();
    alice
        .send_message(dm.id, &ClientId::random(), "hi")
        .await
        .unwrap();
    assert_eq!(
        bob.conversation_page(&ConversationQuery::default())
            .await
            .unwrap()
            .unread_total,
        2
    );

    let change = bob
        .set_settings(
            g.id,
            &UpdateSettings {
                muted: Some(true),
                hide_badge: Some(true),
                pinned: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(change.settings.muted && change.settings.pinned_at.is_some());
    let heard = loop {
        match on_phone.next_event(WAIT).await {
            Some(LiveEvent::Settings { settings, .. }) => break settings,
            Some(_) => {}
            None => panic!("the phone heard nothing"),
        }
    };
    assert_eq!(heard, change, "the other device gets the same settings");
    assert_eq!(
        phone.conversation(g.id).await.unwrap().settings,
        change.settings
    );
    assert_eq!(
        alice.conversation(g.id).await.unwrap().settings,
        Default::default(),
        "alice's view of the group is untouched"
    );
    let list = bob
        .conversation_page(&ConversationQuery::default())
        .await
        .unwrap();
    assert_eq!(list.unread_total, 1, "the muted group's badge is hidden");

    bob.set_settings(
        dm.id,
        &UpdateSettings {
            archived: Some(true),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let only = |archived| ConversationQuery {
        archived: Some(archived),
        ..Default::default()
    };
    let archived = bob.conversation_page(&only(true)).await.unwrap();
    assert_eq!(archived.conversations.len(), 1);
    assert_eq!(archived.conversations[0].id, dm.id);
    let rest = bob.conversation_page(&only(false)).await.unwrap();
    assert_eq!(
        rest.conversations.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![g.id]
    );

    // A mark: unread again after reading, until cleared.
    bob.mark_read(dm.id, 2).await.unwrap();
    let marked = bob
        .set_settings(
            dm.id,
            &UpdateSettings {
                marked_unread: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(
        marked.settings.archived,
        "left-out fields keep their values"
    );
    assert_eq!(
        bob.conversation_page(&ConversationQuery::default())
            .await
            .unwrap()
            .unread_total,
        1,
        "the mark counts one; the muted group's message none"
    );

    assert_eq!(
        code(bob.set_settings(dm.id, &UpdateSettings::default()).await),
        ErrorCode::BadRequest
    );
    let stranger = server.user("stranger").await;
    assert_eq!(
        code(
            stranger
                .set_settings(
                    g.id,
                    &UpdateSettings {
                        archived: Some(true),
                        ..Default::default()
                    }
                )
                .await
        ),
        ErrorCode::NotMember
    );
}
