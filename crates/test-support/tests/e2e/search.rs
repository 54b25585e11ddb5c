//! Full-text search through the HTTP API: what a user finds is exactly
//! what they may read, edits and deletes show at once, matches are marked,
//! filters and paging work, and bad queries get typed errors.

use natter_proto::{ClientId, EditMessage, SearchQuery, SendMessage};
use natter_test_support::TestServer;
use natter_test_support::sdk::{Client, Error};

fn q(text: &str) -> SearchQuery {
    SearchQuery {
        q: text.into(),
        ..SearchQuery::default()
    }
}

async fn found(c: &Client, query: SearchQuery) -> Vec<(String, u64)> {
    c.search(&query)
        .await
        .unwrap()
        .results
        .into_iter()
        .map(|h| (h.conv.to_string(), h.seq))
        .collect()
}

#[tokio::test]
async fn search_finds_what_the_user_may_read_marks_it_and_follows_changes() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let carol = server.user("carol").await;
    let (b_id, c_id) = (bob.user_id().unwrap(), carol.user_id().unwrap());
    let g = alice.create_group("trip", &[b_id, c_id]).await.unwrap().id;
    let send = |c: &Client, text: &str| {
        let (c, text) = (c.clone(), text.to_owned());
        async move {
            c.send_message(g, &ClientId::random(), &text)
                .await
                .unwrap()
                .seq
        }
    };
    let cafe = send(&alice, "Let's meet at the Café Müller, café opens at 9").await;
    let tokyo = send(&bob, "東京タワーに行きました").await;
    let plan = send(&bob, "the plan is ready").await;

    // A prefix, accents and case folded; the matches are marked.
    let page = bob.search(&q("cafe mul")).await.unwrap();
    assert_eq!(page.results.len(), 1);
    let hit = &page.results[0];
    assert_eq!(
        (hit.conv, hit.seq, hit.sender),
        (g, cafe, alice.user_id().unwrap())
    );
    let marked: Vec<&str> = hit
        .highlights
        .iter()
        .map(|[a, b]| &hit.snippet[*a as usize..*b as usize])
        .collect();
    assert_eq!(marked, ["Café", "Müller", "café"]);
    assert_eq!(found(&bob, q("京タワー")).await, [(g.to_string(), tokyo)]);

    // Operators are plain words: no error, nothing outside the user's scope.
    for text in [
        r#""plan" OR *"#,
        "plan*",
        "-plan",
        "NEAR(plan",
        "plan:x",
        "\"",
        "^*",
    ] {
        let page = bob.search(&q(text)).await;
        assert!(page.is_ok(), "{text}: {page:?}");
    }
    assert_eq!(found(&bob, q("\"plan\"")).await, [(g.to_string(), plan)]);

    // Edits and deletes show at once.
    alice
        .edit_message(
            g,
            cafe,
            &EditMessage {
                text: "meet at the bakery".into(),
                mentions: vec![],
                mention_all: None,
            },
        )
        .await
        .unwrap();
    assert!(
        found(&bob, q("cafe")).await.is_empty(),
        "the old text is gone"
    );
    assert_eq!(found(&bob, q("bakery")).await, [(g.to_string(), cafe)]);
    bob.delete_message(g, plan).await.unwrap();
    assert!(found(&alice, q("plan")).await.is_empty());

    // A removed member finds nothing there any more; a stranger never did.
    assert_eq!(found(&carol, q("bakery")).await.len(), 1);
    alice.remove_member(g, c_id).await.unwrap();
    assert!(found(&carol, q("bakery")).await.is_empty());
    let mut theirs = q("bakery");
    theirs.conv = Some(g);
    assert!(matches!(
        carol.search(&theirs).await,
        Err(Error::Api { status: 403, .. })
    ));

    // Typed errors for bad queries.
    for bad in [
        q(""),
        q("   "),
        q(&"x".repeat(257)),
        SearchQuery {
            has: Some("photo".into()),
            ..q("x")
        },
        SearchQuery {
            limit: Some(0),
            ..q("x")
        },
        SearchQuery {
            cursor: Some("nope".into()),
            ..q("x")
        },
    ] {
        assert!(
            matches!(bob.search(&bad).await, Err(Error::Api { status: 400, .. })),
            "{bad:?}"
        );
    }
}

#[tokio::test]
async fn filters_narrow_and_pages_continue() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let b_id = bob.user_id().unwrap();
    let g = alice.create_group("g", &[b_id]).await.unwrap().id;
    let mut seqs = Vec::new();
    for i in 0..7 {
        let who = if i % 2 == 0 { &alice } else { &bob };
        seqs.push(
            who.send_message(g, &ClientId::random(), &format!("report number {i}"))
                .await
                .unwrap()
                .seq,
        );
    }
    let link = alice
        .send_message(g, &ClientId::random(), "report at https://example.org")
        .await
        .unwrap()
        .seq;
    let upload = alice.create_upload(5, Some("r.txt"), None).await.unwrap();
    alice
        .upload_chunk(upload.id, 0, b"hello".to_vec())
        .await
        .unwrap();
    let file = alice
        .send(
            g,
            &SendMessage {
                attachments: vec![upload.id],
                ..SendMessage::text(ClientId::random(), "report attached")
            },
        )
        .await
        .unwrap()
        .seq;
    let with = |f: &dyn Fn(&mut SearchQuery)| {
        let mut s = q("report");
        f(&mut s);
        s
    };
    let gs = g.to_string();
    assert_eq!(
        found(&bob, with(&|s| s.has = Some("link".into()))).await,
        [(gs.clone(), link)]
    );
    assert_eq!(
        found(&bob, with(&|s| s.has = Some("file".into()))).await,
        [(gs.clone(), file)]
    );
    let from_bob = found(&alice, with(&|s| s.from = Some(b_id))).await;
    assert_eq!(from_bob.len(), 3);
    assert!(found(&bob, with(&|s| s.before = Some(0))).await.is_empty());

    // Pages of 4 cover everything once, newest first among equal matches.
    let all = found(&bob, with(&|s| s.limit = Some(50))).await;
    assert_eq!(all.len(), 9);
    let mut paged = Vec::new();
    let mut cursor = None;
    loop {
        let page = bob
            .search(&with(&|s| {
                s.limit = Some(4);
                s.cursor = cursor.clone();
            }))
            .await
            .unwrap();
        paged.extend(page.results.iter().map(|h| (h.conv.to_string(), h.seq)));
        match page.next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    assert_eq!(paged, all);
}
