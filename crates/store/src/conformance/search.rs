//! Conformance tests for full-text search.

use super::{direct, group, message, send, user};
use crate::search::parse;
use crate::*;

fn ask(viewer: UserId, q: &str) -> SearchRequest {
    SearchRequest {
        viewer,
        terms: parse(q),
        limit: 20,
        ..SearchRequest::default()
    }
}

async fn hits(store: &Arc<dyn Store>, req: SearchRequest) -> Vec<(ConversationId, Seq)> {
    store
        .search(req)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.conv, r.seq))
        .collect()
}

fn seq_of(c: &Committed) -> Seq {
    c.event().unwrap().seq
}

/// Words, prefixes, folded case and accents, and text without spaces are
/// found, only where the viewer may read, and nothing typed is an operator.
pub async fn search_finds_words_prefixes_and_cjk_only_where_the_viewer_reads(
    store: Arc<dyn Store>,
) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let carol = user(&store, "carol").await;
    let g = group(&store, alice, &[bob]).await;
    let dm = direct(&store, alice, carol).await;
    let cafe = seq_of(&send(&store, g, alice, "Meet at the CAFÉ at noon").await);
    let tokyo = seq_of(&send(&store, g, bob, "東京タワーに行きました").await);
    send(&store, g, bob, "nothing to see").await;
    let secret = seq_of(&send(&store, dm, carol, "secret cafe plans").await);

    assert_eq!(hits(&store, ask(bob, "cafe")).await, vec![(g, cafe)]);
    assert_eq!(hits(&store, ask(bob, "Café noon")).await, vec![(g, cafe)]);
    assert_eq!(
        hits(&store, ask(bob, "caf")).await,
        vec![(g, cafe)],
        "as you type"
    );
    assert!(
        hits(&store, ask(bob, "caf ")).await.is_empty(),
        "a whole word"
    );
    assert!(
        hits(&store, ask(bob, "cafe midnight")).await.is_empty(),
        "every term"
    );
    assert_eq!(hits(&store, ask(bob, "東京")).await, vec![(g, tokyo)]);
    assert_eq!(hits(&store, ask(bob, "京タワー")).await, vec![(g, tokyo)]);
    assert!(hits(&store, ask(bob, "京東")).await.is_empty(), "in order");
    for q in [r#""cafe" OR"#, "cafe*", "-cafe", "NEAR(cafe)", "cafe:", "^"] {
        // Operators are words or separators: no error, no escape.
        let found = hits(&store, ask(bob, q)).await;
        assert!(found.iter().all(|(c, _)| *c == g), "{q}: {found:?}");
    }
    // Alice sees both conversations; carol only hers.
    let mut all = hits(&store, ask(alice, "cafe")).await;
    all.sort();
    let mut want = vec![(g, cafe), (dm, secret)];
    want.sort();
    assert_eq!(all, want);
    assert_eq!(hits(&store, ask(carol, "cafe")).await, vec![(dm, secret)]);
    // In one conversation only; not one the viewer is not in.
    let mut only = ask(alice, "cafe");
    only.conv = Some(dm);
    assert_eq!(hits(&store, only).await, vec![(dm, secret)]);
    let mut theirs = ask(bob, "cafe");
    theirs.conv = Some(dm);
    assert!(matches!(
        store.search(theirs).await,
        Err(StoreError::NotMember)
    ));

    // A late joiner reads from where they joined: the old message stays
    // out of their search, a new one is in.
    store
        .add_members(NewMembers {
            conv: g,
            by: alice,
            users: vec![carol],
            now: super::now(),
        })
        .await
        .unwrap();
    let later = seq_of(&send(&store, g, alice, "cafe again").await);
    let mut carols = hits(&store, ask(carol, "cafe")).await;
    carols.sort();
    let mut want = vec![(g, later), (dm, secret)];
    want.sort();
    assert_eq!(carols, want);
}

/// Edits and deletes change what is found at once; hidden messages leave
/// only the hider's results; filters narrow; paging continues.
pub async fn search_follows_edits_deletes_and_filters(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let g = group(&store, alice, &[bob]).await;
    let first = seq_of(&send(&store, g, alice, "alpha report").await);
    store
        .edit_message(MessageEdit {
            conv: g,
            seq: first,
            by: alice,
            text: "beta report".into(),
            mentions: vec![],
            mention_all: None,
            now: super::now(),
        })
        .await
        .unwrap();
    assert!(
        hits(&store, ask(bob, "alpha")).await.is_empty(),
        "the old text is gone"
    );
    assert_eq!(hits(&store, ask(bob, "beta")).await, vec![(g, first)]);

    let gone = seq_of(&send(&store, g, alice, "delete this report").await);
    store
        .delete_message(MessageDeletion {
            conv: g,
            seq: gone,
            by: alice,
            now: super::now(),
        })
        .await
        .unwrap();
    assert!(hits(&store, ask(bob, "delete")).await.is_empty());

    let hidden = seq_of(&send(&store, g, alice, "hidden report").await);
    store.hide_message(bob, g, hidden).await.unwrap();
    assert!(hits(&store, ask(bob, "hidden")).await.is_empty());
    assert_eq!(hits(&store, ask(alice, "hidden")).await, vec![(g, hidden)]);

    // Filters.
    let link = seq_of(&send(&store, g, bob, "report at https://example.org/r").await);
    let mut mention = message(g, alice, &natter_proto::ClientId::random().0, "@bob report");
    mention.extras.mentions = vec![natter_proto::Mention {
        user: bob,
        start: 0,
        end: 4,
    }];
    let mentioned = match store.append_message(mention).await.unwrap() {
        Appended::New(c) | Appended::Accepted(c) => seq_of(&c),
        Appended::Duplicate(_) => panic!("fresh"),
    };
    let mut reply = message(g, bob, &natter_proto::ClientId::random().0, "thread report");
    reply.extras.thread = Some(first);
    let in_thread = match store.append_message(reply).await.unwrap() {
        Appended::New(c) | Appended::Accepted(c) => seq_of(&c),
        Appended::Duplicate(_) => panic!("fresh"),
    };
    let set = |f: &dyn Fn(&mut SearchRequest)| {
        let mut r = ask(bob, "report");
        f(&mut r);
        r
    };
    let mut from_bob = hits(&store, set(&|r| r.from = Some(bob))).await;
    from_bob.sort();
    assert_eq!(from_bob, vec![(g, link), (g, in_thread)]);
    assert_eq!(
        hits(&store, set(&|r| r.has_link = true)).await,
        vec![(g, link)]
    );
    assert_eq!(
        hits(&store, set(&|r| r.mentions_me = true)).await,
        vec![(g, mentioned)]
    );
    assert_eq!(
        hits(&store, set(&|r| r.in_thread = true)).await,
        vec![(g, in_thread)]
    );
    assert!(hits(&store, set(&|r| r.has_file = true)).await.is_empty());
    assert!(hits(&store, set(&|r| r.before = Some(0))).await.is_empty());
    assert_eq!(hits(&store, set(&|_| {})).await.len(), 4);
    assert_eq!(hits(&store, set(&|r| r.after = Some(0))).await.len(), 4);

    // Equal matches come newest first; paging continues where it stopped.
    let all = hits(&store, set(&|_| {})).await;
    let page1 = hits(&store, set(&|r| r.limit = 2)).await;
    let page2 = hits(
        &store,
        set(&|r| {
            r.limit = 2;
            r.offset = 2;
        }),
    )
    .await;
    assert_eq!([page1, page2].concat(), all);
    let twin_a = seq_of(&send(&store, g, alice, "zebra").await);
    let twin_b = seq_of(&send(&store, g, alice, "zebra").await);
    assert_eq!(
        hits(&store, ask(bob, "zebra")).await,
        vec![(g, twin_b), (g, twin_a)]
    );
}
