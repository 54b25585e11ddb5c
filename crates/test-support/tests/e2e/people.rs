//! People and their conversation list: profiles and the user directory.

use natter_proto::{ErrorCode, Privacy, UpdateProfile};
use natter_test_support::TestServer;
use natter_test_support::sdk::Error;

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
