//! The README's terminal walkthrough, command by command, by two people
//! with their own terminals: what each command prints and how it exits.

use crate::*;
use natter_test_support::{PASSWORD, TestServer};

/// `YYYY-MM-DDTHH:MM:SSZ`, the time column of history and sessions.
fn is_utc_time(s: &str) -> bool {
    s.len() == 20
        && s.ends_with('Z')
        && s.as_bytes()[10] == b'T'
        && s.chars().filter(char::is_ascii_digit).count() == 14
}

#[tokio::test]
async fn two_people_chat_from_the_terminal_as_the_readme_shows() {
    let server = TestServer::start().await;
    let url = server.url();
    let alice = Terminal::new();
    let bob = Terminal::with_profile("bob");

    // Alice gives her password in NATTER_PASSWORD, Bob types his on stdin.
    let (alice_id, alice_device) = alice.register(&url, "alice").await;
    let out = bob
        .run_with_stdin(
            &["register", "bob", "--password-stdin", "--server", &url],
            &format!("{PASSWORD}\n"),
        )
        .await;
    let row = out.row();
    assert_eq!(row[0], "bob");
    let bob_id = row[1].clone();
    assert_ne!(bob_id, alice_id);
    // From here on nobody passes --server: each profile remembers its own.

    // `send @bob` creates the direct conversation (its creation is seq 1),
    // and prints `seq  message_id`. Words are joined with spaces.
    let hi = alice.run(&["send", "@bob", "hi", "bob"]).await.row();
    assert_eq!(hi.len(), 2, "seq and message id: {hi:?}");
    assert_eq!(hi[0], "2");
    let there = alice.run(&["send", "@bob", "are you there?"]).await.row();
    assert_eq!(there[0], "3");
    assert_ne!(there[1], hi[1], "each message gets its own id");

    // Bob sees the conversation, with Alice's last message as its preview;
    // they are not contacts yet, so it is a message request.
    let convs = bob.run(&["conversations"]).await.rows();
    assert_eq!(convs.len(), 1, "{convs:?}");
    let dm = convs[0][0].clone();
    assert_eq!(
        convs[0][1..],
        ["request", "@alice", "2", "alice: are you there?"],
        "id, kind, peer, unread, last message"
    );
    // `dm alice` names the same conversation from Bob's side.
    assert_eq!(bob.run(&["dm", "alice"]).await.row(), [dm.as_str()]);

    // History: `seq  time  username: text`, oldest first.
    let history = bob.run(&["history", "@alice"]).await.rows();
    let lines: Vec<(&str, &str)> = history
        .iter()
        .map(|r| {
            assert_eq!(r.len(), 3, "seq, time, text: {r:?}");
            assert!(is_utc_time(&r[1]), "time column {:?}", r[1]);
            (r[0].as_str(), r[2].as_str())
        })
        .collect();
    assert_eq!(
        lines,
        [
            ("1", "* alice started the conversation"),
            ("2", "alice: hi bob"),
            ("3", "alice: are you there?"),
        ]
    );

    // Bob answers by conversation id; Alice's list shows the reply.
    assert_eq!(
        bob.run(&["send", &dm, "hi alice"]).await.row()[0],
        "4",
        "the next seq in the same conversation"
    );
    let convs = alice.run(&["conversations"]).await.rows();
    assert_eq!(convs.len(), 1, "{convs:?}");
    assert_eq!(
        convs[0][..],
        [dm.as_str(), "direct", "@bob", "1", "bob: hi alice"]
    );

    // A group, addressed by name.
    let group = alice
        .run(&["group", "create", "book-club", "bob"])
        .await
        .row();
    assert_eq!(group.len(), 1, "the group id: {group:?}");
    let group = group[0].clone();
    assert_ne!(group, dm);
    let hello = bob.run(&["send", "#book-club", "hello", "all"]).await.row();
    assert_eq!(hello[0], "2");
    let history = alice.run(&["history", "#book-club"]).await.rows();
    let texts: Vec<&str> = history.iter().map(|r| r[2].as_str()).collect();
    assert_eq!(texts, ["* alice created #book-club", "bob: hello all"]);
    let mut members = bob.run(&["members", "#book-club"]).await.rows();
    members.sort();
    let mut expected = vec![
        vec![alice_id.clone(), "alice".to_owned()],
        vec![bob_id.clone(), "bob".to_owned()],
    ];
    expected.sort();
    assert_eq!(members, expected, "user id, username");
    let mut convs = bob.run(&["conversations"]).await.rows();
    convs.sort();
    let mut expected = vec![
        vec![
            dm.clone(),
            "direct".into(),
            "@alice".into(),
            "2".into(),
            "bob: hi alice".into(),
        ],
        vec![
            group.clone(),
            "group".into(),
            "#book-club".into(),
            "0".into(),
            "bob: hello all".into(),
        ],
    ];
    expected.sort();
    assert_eq!(convs, expected);

    // Alice logs in on a second device; `sessions` lists both and marks
    // the one it runs as.
    let laptop = Terminal::new();
    let row = laptop
        .run_with_password(
            &[
                "login",
                "alice",
                "--server",
                &url,
                "--device-name",
                "laptop",
            ],
            PASSWORD,
        )
        .await
        .row();
    assert_eq!(row[..2], ["alice", alice_id.as_str()]);
    let laptop_device = row[2].clone();
    assert_ne!(laptop_device, alice_device);
    let sessions = alice.run(&["sessions"]).await.rows();
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    for s in &sessions {
        assert_eq!(s.len(), 5, "device, name, created, last active, current");
        assert!(is_utc_time(&s[2]) && is_utc_time(&s[3]), "{s:?}");
        let expected = if s[0] == alice_device {
            "current"
        } else {
            assert_eq!(s[0], laptop_device);
            assert_eq!(s[1], "laptop");
            "-"
        };
        assert_eq!(s[4], expected, "{s:?}");
    }

    // whoami: username, user id, device id, log head.
    let me = alice.run(&["whoami"]).await.row();
    assert_eq!(me[..3], ["alice", alice_id.as_str(), alice_device.as_str()]);
    let head: u64 = me[3].parse().expect("the head is a number");
    assert!(head > 0, "Alice's log has entries");

    // After logout the profile is logged out: commands fail and say why.
    assert_eq!(alice.run(&["logout"]).await.ok(), "");
    let out = alice.run(&["whoami"]).await;
    assert!(
        out.fails(1).starts_with("error: unauthorized: "),
        "{out:#?}"
    );
    let out = alice.run(&["send", "@bob", "still there?"]).await;
    assert!(out.fails(1).starts_with("error: "), "{out:#?}");
    // The server revoked that session too: the laptop is the only one left.
    let sessions = laptop.run(&["sessions"]).await.rows();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    assert_eq!(sessions[0][0], laptop_device);
    assert_eq!(sessions[0][4], "current");
    // And nothing Alice tried after logging out reached Bob.
    let history = bob.run(&["history", "@alice"]).await.rows();
    assert_eq!(history.last().map(|r| r[2].as_str()), Some("bob: hi alice"));
}

#[tokio::test]
async fn a_server_url_given_explicitly_wins_over_the_profiles_even_the_default() {
    const DEFAULT: &str = "http://127.0.0.1:7878";
    let server = TestServer::start().await;
    let alice = Terminal::new();
    alice.register(&server.url(), "alice").await;
    // Left out, the profile's server is used.
    alice.run(&["whoami"]).await.row();
    // Given, even as the default URL, it is used: nothing that knows this
    // session listens there, so the command fails.
    let out = alice.run(&["whoami", "--server", DEFAULT]).await;
    assert!(out.fails(1).starts_with("error: "), "{out:#?}");
    let mut cmd = alice.command(&["whoami"]);
    cmd.env("NATTER_URL", DEFAULT);
    let out = run(cmd, None).await;
    assert!(out.fails(1).starts_with("error: "), "{out:#?}");
    // The help still names the default.
    let help = alice.run(&["whoami", "--help"]).await;
    assert!(
        help.ok().contains(&format!("[default: {DEFAULT}]")),
        "{help:#?}"
    );
}

#[tokio::test]
async fn a_message_request_is_accepted_and_a_block_keeps_someone_out_from_the_terminal() {
    let server = TestServer::start().await;
    let url = server.url();
    let alice = Terminal::new();
    let bob = Terminal::with_profile("bob");
    alice.register(&url, "alice").await;
    let (bob_id, _) = bob.register(&url, "bob").await;

    // A stranger's first message is a request; accepting makes it a plain
    // direct conversation without having to answer.
    alice.run(&["send", "@bob", "hello, stranger"]).await.row();
    let convs = bob.run(&["conversations"]).await.rows();
    assert_eq!(convs[0][1..3], ["request", "@alice"], "{convs:?}");
    let dm = convs[0][0].clone();
    assert_eq!(
        bob.run(&["accept", "@alice"]).await.row(),
        [dm.as_str(), "@alice"]
    );
    let convs = bob.run(&["conversations"]).await.rows();
    assert_eq!(convs[0][1..3], ["direct", "@alice"], "{convs:?}");

    // Alice blocks Bob: `block` prints who and when, `blocks` lists it.
    let row = alice.run(&["block", "bob"]).await.row();
    assert_eq!(row.len(), 3, "username, user id, blocked at: {row:?}");
    assert_eq!(row[..2], ["bob", bob_id.as_str()]);
    assert!(is_utc_time(&row[2]), "{row:?}");
    assert_eq!(
        alice.run(&["blocks"]).await.rows(),
        std::slice::from_ref(&row)
    );

    // Bob's messages are refused with the typed error and stored nowhere.
    let out = bob.run(&["send", "@alice", "why?"]).await;
    assert!(out.fails(1).starts_with("error: blocked: "), "{out:#?}");
    let history = alice.run(&["history", "@bob"]).await.rows();
    assert_eq!(
        history.last().map(|r| r[2].as_str()),
        Some("alice: hello, stranger")
    );
    // Nor can Bob put Alice in a group.
    let out = bob.run(&["group", "create", "trap", "alice"]).await;
    assert!(out.fails(1).starts_with("error: blocked: "), "{out:#?}");

    // Unblocking lets Bob write again; the list is empty.
    assert_eq!(alice.run(&["unblock", "bob"]).await.ok(), "");
    assert!(alice.run(&["blocks"]).await.rows().is_empty());
    assert_eq!(
        bob.run(&["send", "@alice", "friends again?"])
            .await
            .row()
            .len(),
        2
    );
    // Blocking someone who does not exist says so.
    let out = alice.run(&["block", "nobody"]).await;
    assert!(out.fails(1).starts_with("error: not_found: "), "{out:#?}");
}

#[tokio::test]
async fn group_invitations_are_accepted_or_declined_by_leaving_from_the_terminal() {
    let server = TestServer::start().await;
    let url = server.url();
    let alice = Terminal::new();
    let bob = Terminal::with_profile("bob");
    alice.register(&url, "alice").await;
    bob.register(&url, "bob").await;

    // Bob lets nobody add him at once: `privacy` prints all three settings.
    let settings = bob.run(&["privacy", "--group-adds", "nobody"]).await.rows();
    assert_eq!(settings[2], ["group_adds", "nobody"], "{settings:?}");

    let club = alice.run(&["group", "create", "club", "bob"]).await.row();
    let spam = alice.run(&["group", "create", "spam", "bob"]).await.row();
    let listed = bob.run(&["conversations"]).await.rows();
    let kind_of = |id: &str| {
        listed
            .iter()
            .find(|r| r[0] == id)
            .map(|r| r[1].clone())
            .unwrap_or_default()
    };
    assert_eq!(kind_of(&club[0]), "invitation");
    assert_eq!(kind_of(&spam[0]), "invitation");

    // Accept one, decline the other by leaving it.
    bob.run(&["accept", &club[0]]).await.row();
    let left = bob.run(&["group", "leave", &spam[0]]).await.row();
    assert_eq!(
        left,
        [spam[0].as_str(), "2"],
        "id and the seq of member_left"
    );
    let listed = bob.run(&["conversations"]).await.rows();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0][..3], [club[0].as_str(), "group", "#club"]);
    // Alice sees him go in the history.
    let history = alice.run(&["history", &spam[0]]).await.rows();
    assert_eq!(history.last().map(|r| r[2].as_str()), Some("* bob left"));
    // The creator cannot leave while bob is still in the club.
    let out = alice.run(&["group", "leave", &club[0]]).await;
    assert!(out.fails(1).starts_with("error: forbidden: "), "{out:#?}");
}

#[tokio::test]
async fn a_group_is_run_from_the_terminal_roles_removal_bans_and_transfer() {
    let server = TestServer::start().await;
    let url = server.url();
    let alice = Terminal::new();
    let bob = Terminal::with_profile("bob");
    let carol = Terminal::with_profile("carol");
    alice.register(&url, "alice").await;
    bob.register(&url, "bob").await;
    carol.register(&url, "carol").await;
    let g = alice
        .run(&["group", "create", "club", "bob", "carol"])
        .await
        .row();
    let g = g[0].as_str();

    assert_eq!(
        alice.run(&["group", "role", g, "bob", "admin"]).await.row(),
        ["2"]
    );
    let info = bob.run(&["group", "info", "#club"]).await.rows();
    assert_eq!(
        info,
        [
            vec!["name", "club"],
            vec!["kind", "group"],
            vec!["description", ""],
            vec!["history", "joined"],
            vec!["members", "3"],
            vec!["my_role", "admin"],
            vec!["member", "alice", "owner"],
            vec!["member", "bob", "admin"],
            vec!["member", "carol", "member"],
        ]
    );
    // Bob, an admin, removes Carol, then bans her; she cannot be added back.
    assert_eq!(bob.run(&["group", "remove", g, "carol"]).await.row(), ["3"]);
    let ban = bob.run(&["group", "ban", g, "carol"]).await.row();
    assert_eq!(ban[0], "carol");
    assert!(is_utc_time(&ban[1]), "{ban:?}");
    assert_eq!(
        alice.run(&["group", "bans", g]).await.rows(),
        std::slice::from_ref(&ban)
    );
    let out = alice.run(&["group", "add", g, "carol"]).await;
    assert!(out.fails(1).starts_with("error: banned: "), "{out:#?}");
    // Carol cannot act on a group she is not in; bob cannot act on alice.
    let out = carol.run(&["group", "info", g]).await;
    assert!(out.fails(1).starts_with("error: not_member: "), "{out:#?}");
    let out = bob.run(&["group", "remove", g, "alice"]).await;
    assert!(out.fails(1).starts_with("error: forbidden: "), "{out:#?}");
    assert_eq!(alice.run(&["group", "unban", g, "carol"]).await.ok(), "");
    assert!(alice.run(&["group", "bans", g]).await.rows().is_empty());

    // Alice hands the group to Bob and leaves; the history tells it all.
    assert_eq!(
        alice.run(&["group", "transfer", g, "bob"]).await.row(),
        ["6"]
    );
    alice.run(&["group", "leave", g]).await.row();
    let history = bob.run(&["history", g]).await.rows();
    let texts: Vec<&str> = history.iter().map(|r| r[2].as_str()).collect();
    assert_eq!(
        texts,
        [
            "* alice created #club",
            "* alice made bob admin",
            "* bob removed carol",
            "* bob banned carol",
            "* alice unbanned carol",
            "* alice made bob the owner",
            "* alice left",
        ]
    );

    // The new owner renames and describes it and opens its history.
    assert_eq!(
        bob.run(&["group", "rename", g, "readers"]).await.row(),
        ["readers"]
    );
    assert_eq!(bob.run(&["group", "describe", g, "we read"]).await.ok(), "");
    assert_eq!(bob.run(&["group", "history", g, "30"]).await.ok(), "");
    let info = bob.run(&["group", "info", "#readers"]).await.rows();
    assert_eq!(info[0], ["name", "readers"]);
    assert_eq!(info[2], ["description", "we read"]);
    assert_eq!(info[3], ["history", "30"]);
    let out = bob.run(&["group", "history", g, "forever"]).await;
    assert!(out.fails(2).contains("history is"), "{out:#?}");

    // An invite link for one person: Carol joins with the whole link.
    let token = bob
        .run(&["group", "invite", g, "--max-uses", "1"])
        .await
        .row();
    let link = format!("{url}/#/join/{}", token[0]);
    assert_eq!(carol.run(&["join", &link]).await.row(), [g, "#readers"]);
    assert_eq!(
        bob.run(&["group", "invites", g]).await.rows(),
        [vec![token[0].as_str(), "1", "1", "-"]]
    );
    let history = bob.run(&["history", g]).await.rows();
    assert_eq!(
        history.last().map(|r| r[2].as_str()),
        Some("* carol joined with a link")
    );
    assert_eq!(bob.run(&["group", "revoke", g, &token[0]]).await.ok(), "");
    assert!(bob.run(&["group", "invites", g]).await.rows().is_empty());
}

#[tokio::test]
async fn a_channel_is_created_joined_read_and_left_from_the_terminal() {
    let server = TestServer::start().await;
    let url = server.url();
    let alice = Terminal::new();
    let bob = Terminal::with_profile("bob");
    alice.register(&url, "alice").await;
    bob.register(&url, "bob").await;

    let ch = alice
        .run(&["channel", "create", "news", "--description", "what ships"])
        .await
        .ok()
        .trim()
        .to_owned();
    let ch = ch.as_str();
    let token = alice.run(&["group", "invite", ch]).await.row();
    let link = format!("{url}/#/join/{}", token[0]);
    assert_eq!(bob.run(&["join", &link]).await.row(), [ch, "#news"]);
    assert_eq!(
        alice.run(&["send", "#news", "v1.0 is out"]).await.row()[0],
        "2"
    );

    let history = bob.run(&["history", "#news"]).await.rows();
    assert_eq!(
        history.iter().map(|r| r[2].as_str()).collect::<Vec<_>>(),
        ["* alice created the channel #news", "alice: v1.0 is out"],
        "a subscriber reads from the start; joining wrote nothing"
    );
    let out = bob.run(&["send", "#news", "me too"]).await;
    assert!(out.fails(1).starts_with("error: forbidden: "), "{out:#?}");
    let info = bob.run(&["group", "info", "#news"]).await.rows();
    assert!(info.contains(&vec!["my_role".to_owned(), "subscriber".to_owned()]));
    assert!(info.contains(&vec!["members".to_owned(), "2".to_owned()]));
    assert!(
        info.iter().all(|r| r[0] != "member"),
        "subscribers do not see the member list"
    );

    assert_eq!(
        alice.run(&["channel", "views", ch]).await.rows(),
        [["2", "0"]]
    );
    bob.run(&["read", "#news"]).await.ok();
    assert_eq!(
        alice.run(&["channel", "views", ch]).await.rows(),
        [["2", "1"]]
    );

    assert_eq!(alice.run(&["send", "#news", "typo"]).await.row()[0], "3");
    assert_eq!(alice.run(&["delete", "#news", "3"]).await.row(), ["4"]);
    let history = bob.run(&["history", "#news"]).await.rows();
    assert_eq!(
        history
            .iter()
            .skip(2)
            .map(|r| r[2].as_str())
            .collect::<Vec<_>>(),
        ["(message deleted)", "* alice deleted message 3"]
    );
    assert_eq!(bob.run(&["group", "leave", "#news"]).await.row(), [ch, "4"]);
    assert!(
        bob.run(&["conversations"]).await.rows().is_empty(),
        "the channel is gone from bob's list"
    );
}

#[tokio::test]
async fn a_profile_is_set_and_people_are_found_from_the_terminal() {
    let server = TestServer::start().await;
    let url = server.url();
    let alice = Terminal::new();
    let bob = Terminal::with_profile("bob");
    alice.register(&url, "alice").await;
    bob.register(&url, "bob").await;

    assert_eq!(
        alice.run(&["profile"]).await.rows(),
        [["username", "alice"], ["display_name", "-"], ["about", "-"]]
    );
    assert_eq!(
        alice
            .run(&["profile", "--name", "Alice Liddell", "--about", "curious"])
            .await
            .rows(),
        [
            ["username", "alice"],
            ["display_name", "Alice Liddell"],
            ["about", "curious"]
        ]
    );
    let found = bob.run(&["users", "ALICE L"]).await.rows();
    assert_eq!(found.len(), 1);
    assert_eq!(&found[0][..2], ["alice", "Alice Liddell"]);
    let out = alice.run(&["profile", "--name", &"x".repeat(65)]).await;
    assert!(out.fails(1).starts_with("error: bad_request: "), "{out:#?}");

    let dm = alice.run(&["dm", "bob"]).await.ok().trim().to_owned();
    assert_eq!(
        alice
            .run(&["settings", &dm, "--mute", "on", "--pin", "on"])
            .await
            .rows(),
        [
            ["muted", "on"],
            ["hide_badge", "off"],
            ["archived", "off"],
            ["pinned", "on"],
            ["marked_unread", "off"]
        ]
    );
    assert_eq!(
        alice.run(&["settings", "@bob"]).await.rows()[3],
        ["pinned", "on"]
    );

    let privacy = alice
        .run(&["privacy", "--discoverable", "off"])
        .await
        .rows();
    assert!(privacy.contains(&vec!["discoverable".to_owned(), "off".to_owned()]));
    assert!(bob.run(&["users", "al"]).await.rows().is_empty());
}

#[tokio::test]
async fn an_admin_promoted_against_the_data_folder_suspends_an_account() {
    let server = TestServer::start().await;
    let url = server.url();
    let alice = Terminal::new();
    let bob = Terminal::with_profile("bob");
    alice.register(&url, "alice").await;
    bob.register(&url, "bob").await;
    let data = server.data_dir().to_str().unwrap().to_owned();

    let out = alice.run(&["admin", "suspend", "bob"]).await;
    assert!(out.fails(1).starts_with("error: forbidden: "), "{out:#?}");
    assert_eq!(
        alice
            .run(&["admin", "promote", "alice", "--data-dir", &data])
            .await
            .row(),
        ["alice", "admin"]
    );
    let out = alice
        .run(&["admin", "promote", "nobody", "--data-dir", &data])
        .await;
    assert!(out.fails(1).contains("no user named nobody"), "{out:#?}");
    let out = alice
        .run(&["admin", "promote", "bob", "--data-dir", "/nonexistent"])
        .await;
    assert!(out.fails(1).contains("no natter database"), "{out:#?}");

    // Bob spams a group; Alice (its owner) reports, lists and resolves it.
    let g = alice.run(&["group", "create", "club", "bob"]).await.row();
    let g = g[0].as_str();
    bob.run(&["send", g, "cheap", "watches"]).await.row();
    let id = alice
        .run(&["report", g, "2", "spam", "--note", "ads"])
        .await
        .row();
    let listed = alice.run(&["reports", g]).await.rows();
    assert_eq!(
        listed,
        [vec![
            id[0].as_str(),
            g,
            "2",
            "bob",
            "spam",
            "alice",
            "open",
            "cheap watches"
        ]]
    );
    assert_eq!(
        alice.run(&["reports"]).await.rows(),
        listed,
        "as an admin: all"
    );
    assert_eq!(
        alice
            .run(&["resolve", &id[0], "--note", "warned"])
            .await
            .ok(),
        ""
    );
    assert!(alice.run(&["reports", g]).await.rows().is_empty());
    assert_eq!(
        alice.run(&["reports", g, "--all"]).await.rows()[0][6],
        "resolved"
    );
    let out = alice.run(&["report", g, "2", "rude"]).await;
    assert_eq!(
        out.code(),
        Some(2),
        "an unknown reason is a usage error: {out:#?}"
    );

    let row = alice.run(&["admin", "suspend", "bob"]).await.row();
    assert_eq!(row[0], "bob");
    assert!(is_utc_time(&row[1]), "{row:?}");
    // Bob's saved session is gone; logging in again is refused.
    let out = bob.run(&["conversations"]).await;
    assert_ne!(out.code(), Some(0), "{out:#?}");
    let out = bob
        .run_with_password(&["login", "bob", "--server", &url], PASSWORD)
        .await;
    assert!(
        out.fails(1).starts_with("error: account_suspended: "),
        "{out:#?}"
    );
    assert_eq!(alice.run(&["admin", "unsuspend", "bob"]).await.ok(), "");
    bob.run_with_password(&["login", "bob", "--server", &url], PASSWORD)
        .await
        .ok();
    assert_eq!(
        bob.run(&["conversations"]).await.rows()[0][2],
        "#club",
        "his groups are as they were"
    );
}

#[tokio::test]
async fn messages_are_replied_to_edited_reacted_pinned_forwarded_and_threaded_from_the_terminal() {
    let server = TestServer::start().await;
    let url = server.url();
    let alice = Terminal::new();
    let bob = Terminal::with_profile("bob");
    alice.register(&url, "alice").await;
    bob.register(&url, "bob").await;
    alice.run(&["group", "create", "club", "bob"]).await.ok();
    assert_eq!(alice.run(&["send", "#club", "Dune?"]).await.row()[0], "2");
    // A reply that mentions alice, and an edit of the original.
    assert_eq!(
        bob.run(&["reply", "#club", "2", "@alice", "yes"])
            .await
            .row()[0],
        "3"
    );
    assert_eq!(
        alice
            .run(&["edit", "#club", "2", "Dune? (paperback)"])
            .await
            .row()[0],
        "2"
    );
    let edits = bob.run(&["edits", "#club", "2"]).await.rows();
    assert_eq!(
        edits.iter().map(|r| r[1].as_str()).collect::<Vec<_>>(),
        ["Dune?", "Dune? (paperback)"]
    );
    let out = bob.run(&["edit", "#club", "2", "mine"]).await;
    assert!(out.fails(1).starts_with("error: forbidden: "), "{out:#?}");
    // Reactions, a pin, a thread.
    assert_eq!(
        bob.run(&["react", "#club", "2", "👍"]).await.row(),
        ["👍", "1", "mine"]
    );
    let out = bob.run(&["react", "#club", "2", "not-an-emoji"]).await;
    assert!(out.fails(1).starts_with("error: bad_request: "), "{out:#?}");
    assert_eq!(
        alice.run(&["pin", "#club", "2"]).await.row(),
        ["pinned", "2"]
    );
    assert_eq!(
        bob.run(&["send", "--thread", "2", "#club", "chapter", "one"])
            .await
            .row()[0],
        "7"
    );
    let history = alice.run(&["history", "#club"]).await.rows();
    let line = |seq: &str| {
        history
            .iter()
            .find(|r| r[0] == seq)
            .map(|r| r[2].clone())
            .unwrap()
    };
    assert_eq!(
        line("2"),
        "alice: Dune? (paperback) (edited) [👍 1] [1 reply] [pinned]"
    );
    assert_eq!(line("3"), "[reply to 2: Dune? (paperback)] bob: @alice yes");
    assert_eq!(line("7"), "[thread 2] bob: chapter one");
    let thread = alice.run(&["thread", "#club", "2"]).await.rows();
    assert_eq!(thread.len(), 2, "{thread:?}");
    assert_eq!(
        alice.run(&["reactions", "#club", "2", "👍"]).await.row()[0],
        "bob"
    );
    assert_eq!(alice.run(&["pins", "#club"]).await.rows().len(), 1);
    // Forward into a direct conversation, then delete for me.
    alice.run(&["dm", "bob"]).await.ok();
    let fwd = alice.run(&["forward", "#club", "3", "@bob"]).await.row();
    let dm = bob.run(&["history", "@alice"]).await.rows();
    let copy = dm.iter().find(|r| r[0] == fwd[0]).unwrap();
    assert_eq!(copy[2], "[forwarded] alice: @alice yes");
    assert_eq!(
        bob.run(&["delete", "--for-me", "@alice", &fwd[0]])
            .await
            .row(),
        ["hidden", fwd[0].as_str()]
    );
    let dm = bob.run(&["history", "@alice"]).await.rows();
    assert_eq!(
        dm.iter().find(|r| r[0] == fwd[0]).unwrap()[2],
        "(deleted for me)"
    );
}

#[tokio::test]
async fn a_file_is_sent_and_downloaded_from_the_terminal() {
    let server = TestServer::start().await;
    let url = server.url();
    let alice = Terminal::new();
    let bob = Terminal::with_profile("bob");
    alice.register(&url, "alice").await;
    bob.register(&url, "bob").await;
    let dir = tempfile::tempdir().unwrap();
    let notes = dir.path().join("notes.txt");
    let text: String = (0..200_000).map(|i| format!("line {i}\n")).collect();
    std::fs::write(&notes, &text).unwrap();
    let sent = alice
        .run(&[
            "send",
            "--file",
            notes.to_str().unwrap(),
            "@bob",
            "the",
            "notes",
        ])
        .await
        .row();
    let history = bob.run(&["history", "@alice"]).await.rows();
    let line = history.iter().find(|r| r[0] == sent[0]).unwrap();
    assert_eq!(
        line[2],
        format!("alice: the notes [file notes.txt {} B]", text.len())
    );
    let out = dir.path().join("got");
    let saved = bob
        .run(&[
            "download",
            "@alice",
            &sent[0],
            "--out",
            out.to_str().unwrap(),
        ])
        .await
        .row();
    assert_eq!(std::fs::read_to_string(&saved[0]).unwrap(), text);

    // A picture: the gallery shows its size; it also makes an avatar.
    let photo = dir.path().join("sky.png");
    image::RgbImage::from_pixel(400, 300, image::Rgb([40, 120, 220]))
        .save(&photo)
        .unwrap();
    let pic = alice
        .run(&["send", "--file", photo.to_str().unwrap(), "@bob", "sky"])
        .await
        .row();
    let media = bob.run(&["media", "@alice"]).await.rows();
    assert_eq!(media.len(), 2, "{media:?}");
    assert_eq!(media[0][0], pic[0]);
    assert_eq!(&media[0][1..4], ["alice", "image", "sky.png"]);
    assert_eq!(media[0][5], "400x300");
    let images = bob
        .run(&["media", "@alice", "--kind", "image"])
        .await
        .rows();
    assert_eq!(images.len(), 1);
    let avatar = alice.run(&["avatar", photo.to_str().unwrap()]).await.row();
    assert_eq!(avatar[0].len(), 64, "an avatar id is a content hash");
    let anyone = natter_test_support::sdk::Client::new(&url).unwrap();
    let small = anyone.avatar_image(&avatar[0], true).await.unwrap();
    assert!(small.starts_with(b"\xff\xd8"), "a JPEG");
    alice.run(&["avatar", "--remove"]).await.ok();
    assert!(matches!(
        anyone.avatar_image(&avatar[0], false).await,
        Err(natter_test_support::sdk::Error::Api { status: 404, .. })
    ));

    // A message with nothing but a file needs no caption; none at all is refused.
    let out = alice.run(&["send", "@bob"]).await;
    out.fails(2);
    assert!(out.stderr.contains("TEXT"), "{out:#?}");
}

#[tokio::test]
async fn search_finds_messages_from_the_terminal() {
    let server = TestServer::start().await;
    let url = server.url();
    let alice = Terminal::new();
    let bob = Terminal::with_profile("bob");
    alice.register(&url, "alice").await;
    bob.register(&url, "bob").await;
    let sent = alice
        .run(&["send", "@bob", "the Café Müller opens at nine"])
        .await
        .row();
    alice.run(&["send", "@bob", "something else"]).await.ok();
    let hits = bob.run(&["search", "cafe", "mul"]).await.rows();
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0][1], sent[0]);
    assert_eq!(hits[0][3], "alice: the [Café] [Müller] opens at nine");
    let none = bob
        .run(&["search", "cafe", "--before", "2000-01-01"])
        .await
        .rows();
    assert!(none.is_empty());
    let from_me = bob.run(&["search", "cafe", "--from", "bob"]).await.rows();
    assert!(from_me.is_empty());
    let bad = bob.run(&["search", "x", "--has", "photo"]).await;
    bad.fails(1);
    assert!(bad.stderr.contains("bad_request"), "{bad:#?}");
}
