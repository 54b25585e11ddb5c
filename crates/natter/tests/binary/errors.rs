//! Exit codes and error lines: what a script checks. Usage mistakes exit
//! with 2, everything else that fails with 1, and stderr says
//! `error: <code>: <message>`.

use crate::*;
use natter_proto::ConversationId;
use natter_test_support::{PASSWORD, TestServer};

#[tokio::test]
async fn usage_mistakes_exit_2() {
    let nobody = Terminal::new();
    let out = nobody.run(&["frobnicate"]).await;
    out.fails(2);
    assert!(out.stderr.contains("frobnicate"), "{out:#?}");

    let out = nobody.run(&["send", "@bob"]).await;
    out.fails(2);
    assert!(
        out.stderr.contains("TEXT"),
        "names what is missing: {out:#?}"
    );

    // No password anywhere: told how to give one, before any network call.
    let out = nobody.run(&["register", "carol"]).await;
    let line = out.fails(2);
    assert!(line.starts_with("error: bad_request: "), "{out:#?}");
    assert!(line.contains("NATTER_PASSWORD"), "{out:#?}");
    let out = nobody
        .run_with_stdin(&["register", "carol", "--password-stdin"], "")
        .await;
    assert!(out.fails(2).starts_with("error: bad_request: "), "{out:#?}");
}

#[tokio::test]
async fn commands_that_fail_exit_1_with_an_error_line() {
    let server = TestServer::start().await;
    let url = server.url();
    let alice = Terminal::new();

    // Not logged in yet: says how to fix it.
    let out = alice.run(&["whoami"]).await;
    let line = out.fails(1);
    assert!(line.starts_with("error: unauthorized: "), "{out:#?}");
    assert!(line.contains("natter login"), "{out:#?}");

    // A server that is not there.
    let out = alice
        .run_with_password(
            &["register", "alice", "--server", "http://127.0.0.1:1"],
            PASSWORD,
        )
        .await;
    assert!(out.fails(1).starts_with("error: "), "{out:#?}");

    alice.register(&url, "alice").await;
    let stranger = Terminal::new();
    stranger.register(&url, "stranger").await;
    let theirs = stranger.run(&["group", "create", "secret"]).await.row()[0].clone();

    // Conversations that do not exist, or are not mine.
    let missing = ConversationId::new().to_string();
    for (conv, why) in [
        (missing.as_str(), "an id nobody created"),
        (theirs.as_str(), "someone else's group"),
        ("#book-club", "a group name I am not in"),
        ("@nobody", "a user who does not exist"),
    ] {
        let out = alice.run(&["send", conv, "hello?"]).await;
        let line = out.fails(1);
        assert!(line.starts_with("error: "), "{why}: {out:#?}");
        assert!(
            line.starts_with("error: not_found: ") || line.starts_with("error: not_member: "),
            "{why}: {out:#?}"
        );
    }
    // Something that is not a conversation at all is a usage mistake.
    let out = alice.run(&["send", "book-club", "hello?"]).await;
    assert!(out.fails(2).starts_with("error: bad_request: "), "{out:#?}");
    // None of it created anything.
    assert_eq!(alice.run(&["conversations"]).await.ok(), "");
}

#[tokio::test]
async fn a_wrong_password_fails_login_and_keeps_the_saved_session() {
    let server = TestServer::start().await;
    let url = server.url();
    let alice = Terminal::new();
    let (_, device) = alice.register(&url, "alice").await;

    let out = alice
        .run_with_password(
            &["login", "alice", "--server", &url],
            "not the password at all",
        )
        .await;
    assert!(
        out.fails(1).starts_with("error: invalid_credentials"),
        "{out:#?}"
    );
    // An unknown user gets the same answer: logins do not reveal who exists.
    let out = alice
        .run_with_password(&["login", "nobody", "--server", &url], PASSWORD)
        .await;
    assert!(
        out.fails(1).starts_with("error: invalid_credentials"),
        "{out:#?}"
    );
    // The failed attempts did not touch the session Alice already had.
    assert_eq!(alice.run(&["whoami"]).await.row()[2], device);
}

#[tokio::test]
async fn only_send_and_dm_start_a_direct_conversation() {
    let server = TestServer::start().await;
    let url = server.url();
    let alice = Terminal::new();
    let carol = Terminal::new();
    alice.register(&url, "alice").await;
    carol.register(&url, "carol").await;

    // Commands that read (or mark read) name an existing conversation; with
    // none, they say so and leave nothing behind.
    for args in [
        &["history", "@carol"][..],
        &["members", "@carol"],
        &["tail", "@carol"],
        &["receipts", "@carol", "1"],
        &["read", "@carol"],
        &["group", "add", "@carol", "carol"],
    ] {
        let out = alice.run(args).await;
        assert_eq!(
            out.fails(1),
            "error: not_found: no conversation with @carol",
            "{args:?}: {out:#?}"
        );
    }
    assert_eq!(alice.run(&["conversations"]).await.ok(), "");
    assert_eq!(carol.run(&["conversations"]).await.ok(), "");

    // `dm` starts it; then the others find it.
    let dm = alice.run(&["dm", "carol"]).await.row();
    assert_eq!(alice.run(&["members", "@carol"]).await.rows().len(), 2);
    let history = carol.run(&["history", "@alice"]).await.rows();
    assert_eq!(history.len(), 1, "the creation: {history:?}");
    // `send` starts one too, with someone else.
    let dave = Terminal::new();
    dave.register(&url, "dave").await;
    assert_eq!(
        dave.run(&["history", "@alice"]).await.fails(1),
        "error: not_found: no conversation with @alice"
    );
    dave.run(&["send", "@alice", "hi"]).await.row();
    assert_eq!(dave.run(&["history", "@alice"]).await.rows().len(), 2);
    let convs = alice.run(&["conversations"]).await.rows();
    let ids: Vec<&str> = convs.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(convs.len(), 2, "{convs:?}");
    assert!(ids.contains(&dm[0].as_str()), "{convs:?}");
}
