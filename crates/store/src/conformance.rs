//! The behavioural suite every [`Store`] backend must pass.
//!
//! A backend runs it with [`conformance_suite!`](crate::conformance_suite),
//! giving an async function that returns a fresh, empty store (plus whatever
//! guard keeps its files or schema alive). Each test here asserts something a
//! user of natter would notice: a lost or duplicated message, a gap in the
//! sequence, history they should not see.
//!
//! One file on purpose: one suite, a test per behaviour, sharing the
//! fixtures at the end; a backend runs all of it.

use crate::*;
use natter_proto::{
    ClientId, ConversationKind, EventBody, HistoryVisibility, LogItem, MessageId, Privacy, Receipt,
    ReceiptKind, Role, Visibility,
};
use std::collections::HashSet;

mod rich;
mod search;
mod uploads;
pub use rich::*;
pub use search::*;
pub use uploads::*;

/// Generates one `#[tokio::test]` per conformance test. `$open` is an async
/// fn returning `(guard, Arc<dyn Store>)`.
#[macro_export]
macro_rules! conformance_suite {
    ($open:path) => {
        $crate::conformance_suite!(@tests $open;
            users_are_unique_by_name,
            refresh_tokens_rotate_and_reuse_revokes,
            a_refresh_retried_within_the_grace_gets_the_same_successor,
            sessions_can_be_listed_and_revoked,
            direct_conversations_are_unique_per_pair,
            groups_add_members_and_log_them,
            messages_get_dense_sequence_numbers_and_reach_every_log,
            client_id_makes_sends_idempotent,
            non_members_cannot_send_or_read,
            concurrent_senders_get_dense_sequences,
            history_pages_both_ways_and_hides_before_join,
            log_pages_in_order_and_rejects_bad_cursors,
            log_merges_conversations_and_receipts_in_position_order,
            log_read_during_commits_skips_nothing,
            conversation_list_shows_latest_activity_first,
            commit_feed_announces_in_commit_order,
            receipts_move_forward_and_reach_the_senders,
            read_receipt_privacy_masks_what_others_see,
            receipts_go_where_the_rule_says,
            unread_counts_follow_the_read_watermark,
            presence_peers_are_contacts_and_small_groups,
            connection_view_reads_what_the_separate_calls_do,
            conversation_of_answers_as_the_list_does,
            member_list_and_ids_follow_join_order,
            log_pages_list_the_users_conversations,
            commits_name_the_users_who_joined,
            a_raised_log_floor_refuses_every_earlier_cursor_of_that_user_only,
            a_direct_conversation_is_a_request_until_accepted_or_answered,
            blocks_refuse_direct_messages_and_adding_either_way,
            the_conversation_list_pages_by_activity_and_filters_requests,
            a_member_who_leaves_gets_their_departure_and_nothing_after,
            group_adds_decide_who_joins_at_once_and_who_is_invited,
            roles_are_stored_changed_and_transferred_with_events,
            removal_and_bans_end_membership_and_keep_banned_users_out,
            member_pages_follow_join_order_with_roles,
            group_settings_change_with_events_and_fix_what_new_members_read,
            membership_events_stay_small_for_big_groups,
            invite_links_admit_until_expired_used_up_or_revoked,
            reports_are_kept_once_per_reporter_and_resolved_once,
            channel_subscribers_come_and_go_silently_and_only_staff_post,
            channel_views_count_read_watermarks,
            profiles_are_kept_and_the_directory_finds_discoverable_users,
            own_conversation_settings_reach_only_my_log_and_shape_my_list,
            a_deleted_message_leaves_a_tombstone_and_no_text,
            a_new_report_reaches_the_moderators_and_admins_at_once,
            edits_keep_versions_and_change_the_text_everyone_reads,
            replies_threads_and_mentions_are_checked_and_recorded,
            reactions_count_once_per_user_and_channels_tell_only_the_reactor,
            pins_and_hidden_messages_are_kept_per_conversation_and_user,
            deleting_for_everyone_takes_edits_reactions_pins_and_mentions,
            uploads_keep_to_the_quota_complete_once_and_share_blobs,
            uploads_no_message_holds_are_collectable,
            upload_processing_and_thumbnails_share_blobs_safely,
            avatars_are_released_when_nobody_shows_them,
            media_pages_follow_what_the_viewer_may_see,
            search_finds_words_prefixes_and_cjk_only_where_the_viewer_reads,
            search_follows_edits_deletes_and_filters,
        );
    };
    (@tests $open:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let (_guard, store) = $open().await;
                $crate::conformance::$name(store.clone()).await;
                store.close().await;
            }
        )*
    };
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

async fn user(store: &Arc<dyn Store>, name: &str) -> UserId {
    store
        .create_user(NewUser {
            id: UserId::new(),
            username: name.into(),
            password_hash: "$argon2id$fake".into(),
            now: now(),
        })
        .await
        .expect("create user")
        .id
}

async fn group(store: &Arc<dyn Store>, creator: UserId, others: &[UserId]) -> ConversationId {
    let mut members = vec![creator];
    members.extend_from_slice(others);
    match store
        .create_conversation(NewConversation {
            id: ConversationId::new(),
            kind: ConversationKind::Group,
            name: Some("team".into()),
            description: None,
            creator,
            members,
            now: now(),
        })
        .await
        .expect("create group")
    {
        Created::New(c) => c.event().expect("an event").conv,
        Created::Existing(_) => panic!("a group is never an existing conversation"),
    }
}

fn message(conv: ConversationId, sender: UserId, client_id: &str, text: &str) -> NewMessage {
    NewMessage {
        id: MessageId::new(),
        conv,
        sender,
        device: DeviceId::new(),
        client_id: ClientId(client_id.into()),
        text: text.into(),
        now: now(),
        extras: Default::default(),
    }
}

async fn send(
    store: &Arc<dyn Store>,
    conv: ConversationId,
    sender: UserId,
    text: &str,
) -> Committed {
    match store
        .append_message(message(conv, sender, &ClientId::random().0, text))
        .await
        .expect("append")
    {
        Appended::New(c) | Appended::Accepted(c) => c,
        Appended::Duplicate(_) => panic!("fresh client id reported as duplicate"),
    }
}

fn text_of(e: &natter_proto::Event) -> &str {
    match &e.body {
        EventBody::Message { text, .. } => text,
        _ => "",
    }
}

/// Usernames are unique; users can be found by name and by id.
pub async fn users_are_unique_by_name(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let err = store
        .create_user(NewUser {
            id: UserId::new(),
            username: "alice".into(),
            password_hash: "x".into(),
            now: now(),
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let found = store.user_by_name("alice").await.unwrap().unwrap();
    assert_eq!(found.id, alice);
    assert_eq!(store.user(alice).await.unwrap().unwrap().username, "alice");
    assert!(store.user_by_name("bob").await.unwrap().is_none());
    assert!(store.user(UserId::new()).await.unwrap().is_none());
}

/// A refresh whose answer was lost can be retried: the same presented token
/// with the same successor, within the grace, rotates again to that
/// successor (nothing new is stored). Anything else is reuse: another
/// successor, after the grace, or once the successor itself was used.
pub async fn a_refresh_retried_within_the_grace_gets_the_same_successor(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let rotate = |from: u8, to: u8, at: i64| RefreshRotation {
        presented: [from; 32],
        replacement: [to; 32],
        replacement_expires_at: at + 60_000,
        now: at,
        retry_grace_ms: 30_000,
    };
    let t = now();
    let s = store
        .create_session(session(alice, 1, t + 60_000))
        .await
        .unwrap();
    assert!(matches!(
        store.rotate_refresh(rotate(1, 2, t)).await.unwrap(),
        RefreshOutcome::Rotated(_)
    ));
    // The retry, 10 s later: the same answer.
    assert!(matches!(
        store.rotate_refresh(rotate(1, 2, t + 10_000)).await.unwrap(),
        RefreshOutcome::Rotated(r) if r.device == s.device
    ));
    // The successor works, once.
    assert!(matches!(
        store
            .rotate_refresh(rotate(2, 3, t + 11_000))
            .await
            .unwrap(),
        RefreshOutcome::Rotated(_)
    ));
    // Token 1 again, now that its successor was used: reuse.
    assert!(matches!(
        store
            .rotate_refresh(rotate(1, 2, t + 12_000))
            .await
            .unwrap(),
        RefreshOutcome::Reused(_)
    ));

    // A retry after the grace is reuse too.
    let late = store
        .create_session(session(alice, 20, t + 60_000))
        .await
        .unwrap();
    assert!(matches!(
        store.rotate_refresh(rotate(20, 21, t)).await.unwrap(),
        RefreshOutcome::Rotated(_)
    ));
    assert!(matches!(
        store
            .rotate_refresh(rotate(20, 21, t + 30_001))
            .await
            .unwrap(),
        RefreshOutcome::Reused(_)
    ));
    assert!(
        store
            .session(late.device)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
    );

    // And so is a different successor inside the grace.
    let other = store
        .create_session(session(alice, 30, t + 60_000))
        .await
        .unwrap();
    assert!(matches!(
        store.rotate_refresh(rotate(30, 31, t)).await.unwrap(),
        RefreshOutcome::Rotated(_)
    ));
    assert!(matches!(
        store
            .rotate_refresh(rotate(30, 32, t + 1_000))
            .await
            .unwrap(),
        RefreshOutcome::Reused(_)
    ));
    assert!(
        store
            .session(other.device)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
    );
}

fn session(user: UserId, hash: u8, expires_at: i64) -> NewSession {
    NewSession {
        device: DeviceId::new(),
        user,
        name: "laptop".into(),
        refresh_hash: [hash; 32],
        refresh_expires_at: expires_at,
        now: now(),
    }
}

/// A refresh token works once; presenting a used one revokes the session.
pub async fn refresh_tokens_rotate_and_reuse_revokes(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let s = store
        .create_session(session(alice, 1, now() + 60_000))
        .await
        .unwrap();
    let rotate = |from: u8, to: u8| RefreshRotation {
        presented: [from; 32],
        replacement: [to; 32],
        replacement_expires_at: now() + 60_000,
        now: now(),
        retry_grace_ms: 0,
    };
    assert!(matches!(
        store.rotate_refresh(rotate(1, 2)).await.unwrap(),
        RefreshOutcome::Rotated(r) if r.device == s.device
    ));
    assert!(matches!(
        store.rotate_refresh(rotate(2, 3)).await.unwrap(),
        RefreshOutcome::Rotated(_)
    ));
    assert_eq!(
        store.rotate_refresh(rotate(9, 10)).await.unwrap(),
        RefreshOutcome::Unknown
    );
    // Token 1 was already exchanged: reuse revokes the whole session...
    assert!(matches!(
        store.rotate_refresh(rotate(1, 4)).await.unwrap(),
        RefreshOutcome::Reused(_)
    ));
    let now_revoked = store.session(s.device).await.unwrap().unwrap();
    assert!(now_revoked.revoked_at.is_some());
    // ...so even the current token no longer works.
    assert!(matches!(
        store.rotate_refresh(rotate(3, 5)).await.unwrap(),
        RefreshOutcome::Revoked(_)
    ));

    let expired = store
        .create_session(session(alice, 7, now() - 1))
        .await
        .unwrap();
    assert_eq!(
        store.rotate_refresh(rotate(7, 8)).await.unwrap(),
        RefreshOutcome::Expired
    );
    assert!(
        store
            .session(expired.device)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_none()
    );
}

/// Sessions list newest first, and revoking hides them; nobody can revoke
/// another user's session.
pub async fn sessions_can_be_listed_and_revoked(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let a1 = store
        .create_session(session(alice, 1, now() + 1000))
        .await
        .unwrap();
    let a2 = store
        .create_session(session(alice, 2, now() + 1000))
        .await
        .unwrap();
    store
        .create_session(session(bob, 3, now() + 1000))
        .await
        .unwrap();
    let listed: HashSet<_> = store
        .sessions_of(alice)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.device)
        .collect();
    assert_eq!(listed, HashSet::from([a1.device, a2.device]));
    assert!(matches!(
        store.revoke_session(bob, a1.device, now()).await,
        Err(StoreError::NotFound)
    ));
    store.revoke_session(alice, a1.device, now()).await.unwrap();
    assert!(matches!(
        store.revoke_session(alice, a1.device, now()).await,
        Err(StoreError::NotFound)
    ));
    let left: Vec<_> = store
        .sessions_of(alice)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.device)
        .collect();
    assert_eq!(left, vec![a2.device]);
}

/// One direct conversation per pair, whichever side starts it.
pub async fn direct_conversations_are_unique_per_pair(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let mk = |a: UserId, b: UserId| NewConversation {
        id: ConversationId::new(),
        kind: ConversationKind::Direct,
        name: None,
        description: None,
        creator: a,
        members: vec![a, b],
        now: now(),
    };
    let Created::New(first) = store.create_conversation(mk(alice, bob)).await.unwrap() else {
        panic!("first direct conversation must be new");
    };
    assert_eq!(first.event().expect("an event").seq, 1);
    assert_eq!(first.recipients.len(), 2);
    match store.create_conversation(mk(bob, alice)).await.unwrap() {
        Created::Existing(id) => assert_eq!(id, first.event().expect("an event").conv),
        Created::New(_) => panic!("second direct conversation for the same pair"),
    }
    let ghost = NewConversation {
        members: vec![alice, UserId::new()],
        ..mk(alice, bob)
    };
    assert!(matches!(
        store.create_conversation(ghost).await,
        Err(StoreError::NotFound)
    ));
}

/// Adding members appends an event every member (new ones too) sees.
pub async fn groups_add_members_and_log_them(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let carol = user(&store, "carol").await;
    let conv = group(&store, alice, &[bob]).await;
    let add = |by: UserId, users: Vec<UserId>| NewMembers {
        conv,
        by,
        users,
        now: now(),
    };
    assert!(matches!(
        store.add_members(add(carol, vec![carol])).await,
        Err(StoreError::NotMember)
    ));
    assert!(matches!(
        store.add_members(add(alice, vec![UserId::new()])).await,
        Err(StoreError::NotFound)
    ));
    assert!(
        store
            .add_members(add(alice, vec![bob]))
            .await
            .unwrap()
            .is_none()
    );
    let c = store
        .add_members(add(alice, vec![carol, carol]))
        .await
        .unwrap()
        .expect("carol is new");
    assert_eq!(c.event().expect("an event").seq, 2);
    assert_eq!(c.recipients.len(), 3);
    let members = store.member_ids(conv).await.unwrap();
    assert_eq!(members, vec![alice, bob, carol]);
    assert_eq!(
        store
            .membership(conv, carol)
            .await
            .unwrap()
            .unwrap()
            .joined_seq,
        2
    );
    assert_eq!(
        store
            .conversation(conv)
            .await
            .unwrap()
            .unwrap()
            .member_count,
        3
    );
    let page = store.log_after(carol, Cursor::START, 10).await.unwrap();
    assert_eq!(page.entries.len(), 1);
    assert!(matches!(
        page.entries[0].1.event().expect("an event").body,
        EventBody::MembersAdded { .. }
    ));
}

/// Messages get 2, 3, 4… after the creation event and land in every
/// member's log, the sender's included.
pub async fn messages_get_dense_sequence_numbers_and_reach_every_log(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let conv = group(&store, alice, &[bob]).await;
    for i in 0..5u64 {
        let c = send(
            &store,
            conv,
            if i % 2 == 0 { alice } else { bob },
            &format!("m{i}"),
        )
        .await;
        assert_eq!(c.event().expect("an event").seq, i + 2);
        let users: HashSet<_> = c.recipients.iter().copied().collect();
        assert_eq!(users, HashSet::from([alice, bob]));
    }
    let mut logs = Vec::new();
    for u in [alice, bob] {
        let page = store.log_after(u, Cursor::START, 100).await.unwrap();
        let seqs: Vec<_> = page
            .entries
            .iter()
            .map(|(_, e)| e.event().expect("an event").seq)
            .collect();
        assert_eq!(seqs, vec![1, 2, 3, 4, 5, 6]);
        let cursors: Vec<_> = page.entries.iter().map(|(c, _)| *c).collect();
        assert!(cursors.windows(2).all(|w| w[0] < w[1]), "positions grow");
        assert_eq!(page.head, *cursors.last().unwrap());
        assert_eq!(store.log_head(u).await.unwrap(), page.head);
        logs.push(cursors);
    }
    assert_eq!(logs[0], logs[1], "an event has one position in every log");
}

/// A retry with the same client id returns the original; other text under
/// the same id is refused; nothing is stored twice.
pub async fn client_id_makes_sends_idempotent(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let conv = group(&store, alice, &[bob]).await;
    let Appended::New(first) = store
        .append_message(message(conv, alice, "c-1", "hello"))
        .await
        .unwrap()
    else {
        panic!("first send must be new");
    };
    let again = store
        .append_message(message(conv, alice, "c-1", "hello"))
        .await
        .unwrap();
    match again {
        Appended::Duplicate(ev) => {
            assert_eq!(ev.seq, first.event().expect("an event").seq);
            assert_eq!(
                ev.message_id(),
                first.event().expect("an event").message_id()
            );
        }
        Appended::New(_) | Appended::Accepted(_) => panic!("retry created a second message"),
    }
    assert!(matches!(
        store
            .append_message(message(conv, alice, "c-1", "other"))
            .await,
        Err(StoreError::IdempotencyConflict)
    ));
    // The same client id from another sender is a different message.
    assert!(matches!(
        store
            .append_message(message(conv, bob, "c-1", "hello"))
            .await
            .unwrap(),
        Appended::New(_)
    ));
    let page = store.log_after(alice, Cursor::START, 100).await.unwrap();
    assert_eq!(page.entries.len(), 3, "created + two distinct messages");
}

/// Outsiders can neither write nor read a conversation.
pub async fn non_members_cannot_send_or_read(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let eve = user(&store, "eve").await;
    let conv = group(&store, alice, &[bob]).await;
    assert!(matches!(
        store.append_message(message(conv, eve, "x", "hi")).await,
        Err(StoreError::NotMember)
    ));
    assert!(matches!(
        store
            .append_message(message(ConversationId::new(), eve, "x", "hi"))
            .await,
        Err(StoreError::NotMember)
    ));
    assert!(matches!(
        store
            .history(HistoryRequest {
                conv,
                viewer: eve,
                range: HistoryRange::Latest,
                limit: 10
            })
            .await,
        Err(StoreError::NotMember)
    ));
    let eves = store.log_after(eve, Cursor::START, 100).await.unwrap();
    assert!(eves.entries.is_empty(), "eve's log holds nothing of it");
    assert!(store.membership(conv, eve).await.unwrap().is_none());
}

/// Eight concurrent senders: sequence numbers are dense with no repeats,
/// and every member's log holds each message exactly once.
pub async fn concurrent_senders_get_dense_sequences(store: Arc<dyn Store>) {
    let mut users = Vec::new();
    for i in 0..8 {
        users.push(user(&store, &format!("u{i}")).await);
    }
    let conv = group(&store, users[0], &users[1..]).await;
    let mut tasks = Vec::new();
    for (i, u) in users.iter().copied().enumerate() {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for j in 0..40 {
                seqs.push(
                    send(&store, conv, u, &format!("{i}-{j}"))
                        .await
                        .event()
                        .expect("an event")
                        .seq,
                );
            }
            seqs
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("sender task"));
    }
    all.sort_unstable();
    let expected: Vec<u64> = (2..2 + 8 * 40).collect();
    assert_eq!(all, expected);
    for u in &users {
        let mut seen = Vec::new();
        let mut cursor = Cursor::START;
        loop {
            let page = store.log_after(*u, cursor, 64).await.unwrap();
            if page.entries.is_empty() {
                break;
            }
            for (c, e) in page.entries {
                assert!(c > cursor, "log positions grow");
                cursor = c;
                seen.push(e.event().expect("an event").seq);
            }
        }
        let expected: Vec<u64> = (1..2 + 8 * 40).collect();
        assert_eq!(seen, expected, "log order follows commit order");
    }
}

/// History pages backwards and forwards; a late member sees only what
/// happened from their joining on.
pub async fn history_pages_both_ways_and_hides_before_join(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let conv = group(&store, alice, &[]).await;
    for i in 0..10 {
        send(&store, conv, alice, &format!("m{i}")).await; // seqs 2..=11
    }
    let req = |viewer, range, limit| HistoryRequest {
        conv,
        viewer,
        range,
        limit,
    };
    let latest = store
        .history(req(alice, HistoryRange::Latest, 4))
        .await
        .unwrap();
    let seqs: Vec<_> = latest.events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, vec![8, 9, 10, 11]);
    assert!(latest.more);
    let older = store
        .history(req(alice, HistoryRange::Before(8), 100))
        .await
        .unwrap();
    let seqs: Vec<_> = older.events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..8).collect::<Vec<_>>());
    assert!(!older.more);
    let newer = store
        .history(req(alice, HistoryRange::After(9), 100))
        .await
        .unwrap();
    let seqs: Vec<_> = newer.events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, vec![10, 11]);
    assert!(!newer.more);
    assert_eq!(text_of(&newer.events[1]), "m9");

    store
        .add_members(NewMembers {
            conv,
            by: alice,
            users: vec![bob],
            now: now(),
        })
        .await
        .unwrap();
    send(&store, conv, alice, "after bob").await; // seq 13
    let bobs = store
        .history(req(bob, HistoryRange::Latest, 100))
        .await
        .unwrap();
    let seqs: Vec<_> = bobs.events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, vec![12, 13]);
    let bobs_old = store
        .history(req(bob, HistoryRange::Before(12), 100))
        .await
        .unwrap();
    assert!(bobs_old.events.is_empty());
    let bobs_after = store
        .history(req(bob, HistoryRange::After(0), 100))
        .await
        .unwrap();
    assert_eq!(bobs_after.events.len(), 2);
}

/// The log pages in order and refuses cursors it cannot serve.
pub async fn log_pages_in_order_and_rejects_bad_cursors(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let conv = group(&store, alice, &[]).await;
    for i in 0..9 {
        send(&store, conv, alice, &format!("m{i}")).await;
    }
    let p1 = store.log_after(alice, Cursor::START, 4).await.unwrap();
    assert_eq!(p1.entries.len(), 4);
    let p2 = store.log_after(alice, p1.entries[3].0, 100).await.unwrap();
    assert_eq!(p2.entries.len(), 6);
    assert!(p2.entries[0].0 > p1.entries[3].0);
    let head = p2.entries[5].0;
    assert_eq!(p1.head, head);
    let seqs: Vec<_> = p1
        .entries
        .iter()
        .chain(&p2.entries)
        .map(|(_, e)| e.event().expect("an event").seq)
        .collect();
    assert_eq!(seqs, (1..=10).collect::<Vec<_>>());
    let end = store.log_after(alice, head, 100).await.unwrap();
    assert!(end.entries.is_empty());
    match store.log_after(alice, Cursor(head.0 + 1), 100).await {
        Err(StoreError::CursorGone { head: h }) => assert_eq!(h, head),
        other => panic!("a cursor beyond the head must be refused, got {other:?}"),
    }
}

/// A user's log interleaves all their conversations and the receipts
/// addressed to them in commit order, holds nothing of conversations they are
/// not in or events from before they joined, and pages through it all with
/// every entry exactly once, whatever the page size.
pub async fn log_merges_conversations_and_receipts_in_position_order(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let carol = user(&store, "carol").await;
    let ab = group(&store, alice, &[bob]).await; // alice, bob
    let ac = group(&store, alice, &[carol]).await; // alice, carol
    let mut expected_alice = Vec::new();
    for i in 0..6 {
        let (conv, from) = if i % 2 == 0 { (ab, bob) } else { (ac, carol) };
        let c = send(&store, conv, from, &format!("m{i}")).await;
        expected_alice.push(c.position);
    }
    // alice reads: the receipt goes to her own log (read sync) and to bob.
    let ReceiptChange::Moved(r) = store
        .set_receipt(mark(ab, alice, ReceiptKind::Read, 2))
        .await
        .unwrap()
    else {
        panic!("alice reads seq 2");
    };
    expected_alice.push(r.position);
    // carol joins ab late: she sees it from her joining on.
    let joined = store
        .add_members(NewMembers {
            conv: ab,
            by: alice,
            users: vec![carol],
            now: now(),
        })
        .await
        .unwrap()
        .expect("carol is new");
    expected_alice.push(joined.position);
    let last = send(&store, ab, bob, "after carol").await;
    expected_alice.push(last.position);

    for limit in [1, 2, 3, 100] {
        let mut cursor = Cursor::START;
        let mut got = Vec::new();
        loop {
            let page = store.log_after(alice, cursor, limit).await.unwrap();
            if page.entries.is_empty() {
                break;
            }
            assert!(page.entries.len() <= limit as usize);
            for (c, _) in &page.entries {
                assert!(*c > cursor, "positions grow along the log");
                cursor = *c;
                got.push(*c);
            }
        }
        // alice's log: two `created` events, then everything above.
        assert_eq!(got.len(), 2 + expected_alice.len(), "page size {limit}");
        assert_eq!(&got[2..], &expected_alice[..], "page size {limit}");
    }
    let carols: Vec<_> = store
        .log_after(carol, Cursor::START, 100)
        .await
        .unwrap()
        .entries
        .into_iter()
        .map(|(_, item)| {
            let e = item.event().expect("carol gets events only").clone();
            (e.conv, e.seq)
        })
        .collect();
    let ac_seqs: Vec<_> = carols.iter().filter(|e| e.0 == ac).map(|e| e.1).collect();
    let ab_seqs: Vec<_> = carols.iter().filter(|e| e.0 == ab).map(|e| e.1).collect();
    assert_eq!(ac_seqs, vec![1, 2, 3, 4]);
    assert_eq!(
        ab_seqs,
        vec![5, 6],
        "from the join on: members_added, then the next message"
    );
    let bobs = store.log_after(bob, Cursor::START, 100).await.unwrap();
    assert!(
        bobs.entries
            .iter()
            .all(|(_, i)| i.event().is_none_or(|e| e.conv == ab)),
        "bob's log holds nothing of a conversation he is not in"
    );
}

/// A reader paging through its log while other conversations commit never
/// skips an entry: each page is one consistent view.
pub async fn log_read_during_commits_skips_nothing(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let mut convs = Vec::new();
    for i in 0..4 {
        let other = user(&store, &format!("o{i}")).await;
        convs.push((group(&store, alice, &[other]).await, other));
    }
    let writers: Vec<_> = convs
        .iter()
        .map(|&(conv, other)| {
            let store = store.clone();
            tokio::spawn(async move {
                for j in 0..60 {
                    send(&store, conv, other, &format!("{j}")).await;
                }
            })
        })
        .collect();
    let mut seen = Vec::new();
    let mut cursor = Cursor::START;
    let mut done = false;
    loop {
        let finished = writers.iter().all(|w| w.is_finished());
        let page = store.log_after(alice, cursor, 7).await.unwrap();
        for (c, _) in &page.entries {
            assert!(*c > cursor);
            cursor = *c;
            seen.push(*c);
        }
        if page.entries.is_empty() {
            if done {
                break;
            }
            // One more empty read after every writer finished.
            done = finished;
            tokio::task::yield_now().await;
        }
    }
    for w in writers {
        w.await.expect("writer");
    }
    let all: Vec<_> = store
        .log_after(alice, Cursor::START, 1000)
        .await
        .unwrap()
        .entries
        .iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(all.len(), 4 + 4 * 60);
    assert_eq!(seen, all, "paging while others commit saw every entry once");
}

/// The list puts the conversation with the newest activity first and shows
/// its last message and, for direct conversations, the other person.
pub async fn conversation_list_shows_latest_activity_first(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let g = group(&store, alice, &[bob]).await;
    let Created::New(d) = store
        .create_conversation(NewConversation {
            id: ConversationId::new(),
            kind: ConversationKind::Direct,
            name: None,
            description: None,
            creator: alice,
            members: vec![alice, bob],
            now: now() + 5,
        })
        .await
        .unwrap()
    else {
        panic!("new direct conversation");
    };
    let d = d.event().expect("an event").conv;
    let mut m = message(g, bob, "late", "newest");
    m.now = now() + 10_000;
    store.append_message(m).await.unwrap();
    let list = store.conversations_of(alice).await.unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].conv.id, g);
    assert_eq!(list[0].last_message.as_ref().map(text_of), Some("newest"));
    assert!(list[0].peer.is_none());
    assert_eq!(list[1].conv.id, d);
    assert!(list[1].last_message.is_none());
    assert_eq!(list[1].peer.as_ref().map(|p| p.id), Some(bob));
    assert_eq!(
        store.conversations_of(bob).await.unwrap()[1]
            .peer
            .as_ref()
            .map(|p| p.id),
        Some(alice)
    );
}

/// Every committed event is announced once, in commit order.
pub async fn commit_feed_announces_in_commit_order(store: Arc<dyn Store>) {
    let mut feed = store.take_commit_feed().expect("feed");
    assert!(store.take_commit_feed().is_none(), "the feed is taken once");
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let conv = group(&store, alice, &[bob]).await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            send(&store, conv, if i % 2 == 0 { alice } else { bob }, "x").await
        }));
    }
    for t in tasks {
        t.await.expect("send task");
    }
    let mut seen = Vec::new();
    while seen.len() < 21 {
        let batch = tokio::time::timeout(std::time::Duration::from_secs(10), feed.recv())
            .await
            .expect("feed announces within 10 s")
            .expect("feed open");
        for c in batch.iter() {
            assert_eq!(c.recipients.len(), 2);
            seen.push((c.event().expect("an event").seq, c.position));
        }
    }
    let seqs: Vec<_> = seen.iter().map(|s| s.0).collect();
    assert_eq!(seqs, (1..=21).collect::<Vec<_>>());
    assert!(
        seen.windows(2).all(|w| w[0].1 < w[1].1),
        "positions follow commit order"
    );
    let logged: Vec<_> = store
        .log_after(alice, Cursor::START, 100)
        .await
        .unwrap()
        .entries
        .iter()
        .map(|e| e.0)
        .collect();
    let announced: Vec<_> = seen.iter().map(|s| s.1).collect();
    assert_eq!(logged, announced, "the feed announces the log's positions");
}

async fn direct(store: &Arc<dyn Store>, a: UserId, b: UserId) -> ConversationId {
    match store
        .create_conversation(NewConversation {
            id: ConversationId::new(),
            kind: ConversationKind::Direct,
            name: None,
            description: None,
            creator: a,
            members: vec![a, b],
            now: now(),
        })
        .await
        .expect("create direct")
    {
        Created::New(c) => c.event().expect("an event").conv,
        Created::Existing(id) => id,
    }
}

fn mark(conv: ConversationId, user: UserId, kind: ReceiptKind, seq: u64) -> NewReceipt {
    NewReceipt {
        conv,
        user,
        kind,
        seq,
        now: now(),
        audience: private_reads,
    }
}

/// The server's receipt rule, restated as the suite's oracle: the member
/// sees the truth; covered senders hear of deliveries, and of reads only
/// when both sides share them. The suite checks that a backend hands the
/// rule the right facts and stores exactly what it answers.
fn private_reads(f: &ReceiptFacts) -> Vec<(UserId, Receipt)> {
    let mut out = vec![(f.receipt.user, f.receipt.clone())];
    for s in &f.senders {
        let visible_read = f.reader_shares_reads && s.shares_reads;
        if s.delivered || (visible_read && s.read) {
            let read = if visible_read { f.receipt.read } else { 0 };
            out.push((
                s.user,
                Receipt {
                    read,
                    ..f.receipt.clone()
                },
            ));
        }
    }
    out
}

/// A rule that tells nobody but the member.
fn only_the_member(f: &ReceiptFacts) -> Vec<(UserId, Receipt)> {
    vec![(f.receipt.user, f.receipt.clone())]
}

/// The backend stores what the domain's receipt rule answers, and nothing
/// else: with a rule that tells only the member, senders hear nothing.
pub async fn receipts_go_where_the_rule_says(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let conv = direct(&store, alice, bob).await;
    send(&store, conv, alice, "one").await; // 2
    let change = store
        .set_receipt(NewReceipt {
            audience: only_the_member,
            ..mark(conv, bob, ReceiptKind::Read, 2)
        })
        .await
        .unwrap();
    let ReceiptChange::Moved(c) = change else {
        panic!("the watermark moved")
    };
    assert_eq!(*c.recipients, vec![bob]);
    assert!(receipts_in_log(&store, alice).await.is_empty());
    assert_eq!(receipts_in_log(&store, bob).await.len(), 1);
}

/// The receipts in a user's log, in order.
async fn receipts_in_log(store: &Arc<dyn Store>, user: UserId) -> Vec<Receipt> {
    store
        .log_after(user, Cursor::START, 1000)
        .await
        .unwrap()
        .entries
        .into_iter()
        .filter_map(|(_, item)| match item {
            LogItem::Receipt(r) => Some(r),
            _ => None,
        })
        .collect()
}

/// Watermarks only move forward; read implies delivered; the entry reaches
/// the reader's own log and the senders' logs; bad values change nothing.
pub async fn receipts_move_forward_and_reach_the_senders(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let eve = user(&store, "eve").await;
    let conv = direct(&store, alice, bob).await;
    for i in 0..3 {
        send(&store, conv, alice, &format!("m{i}")).await; // seqs 2, 3, 4
    }
    let moved = store
        .set_receipt(mark(conv, bob, ReceiptKind::Delivered, 3))
        .await
        .unwrap();
    let ReceiptChange::Moved(c) = moved else {
        panic!("delivered 3 moves the watermark")
    };
    let users: HashSet<_> = c.recipients.iter().copied().collect();
    assert_eq!(users, HashSet::from([alice, bob]));
    let ReceiptChange::Moved(_) = store
        .set_receipt(mark(conv, bob, ReceiptKind::Read, 2))
        .await
        .unwrap()
    else {
        panic!("read 2 moves the read watermark");
    };
    // Lower values change nothing.
    match store
        .set_receipt(mark(conv, bob, ReceiptKind::Delivered, 2))
        .await
        .unwrap()
    {
        ReceiptChange::Unchanged(w) => assert_eq!(
            w,
            Watermarks {
                delivered: 3,
                read: 2
            }
        ),
        ReceiptChange::Moved(_) => panic!("a lower delivered value moved the watermark"),
    }
    // Read implies delivered.
    store
        .set_receipt(mark(conv, bob, ReceiptKind::Read, 4))
        .await
        .unwrap();
    assert!(matches!(
        store
            .set_receipt(mark(conv, bob, ReceiptKind::Read, 99))
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store
            .set_receipt(mark(conv, eve, ReceiptKind::Read, 2))
            .await,
        Err(StoreError::NotMember)
    ));
    let seen_by_alice: Vec<_> = receipts_in_log(&store, alice)
        .await
        .iter()
        .map(|r| (r.delivered, r.read))
        .collect();
    assert_eq!(seen_by_alice, vec![(3, 0), (3, 2), (4, 4)]);
    assert_eq!(
        receipts_in_log(&store, bob).await.len(),
        3,
        "the reader's devices hear it too"
    );
    assert!(receipts_in_log(&store, eve).await.is_empty());
    let marks = store.watermarks(conv).await.unwrap();
    let bobs = marks.iter().find(|m| m.user == bob).unwrap();
    assert_eq!(
        bobs.marks,
        Watermarks {
            delivered: 4,
            read: 4
        }
    );
    assert!(bobs.shares_read);
}

/// A member who does not share read receipts still moves their own read
/// state, but others see read 0, and they see nobody's reads.
pub async fn read_receipt_privacy_masks_what_others_see(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let conv = direct(&store, alice, bob).await;
    send(&store, conv, alice, "one").await; // 2
    send(&store, conv, alice, "two").await; // 3
    store
        .set_privacy(
            bob,
            Privacy {
                presence: Visibility::Everyone,
                read_receipts: false,
                group_adds: Visibility::Everyone,
                discoverable: true,
            },
        )
        .await
        .unwrap();
    assert!(
        !store
            .user(bob)
            .await
            .unwrap()
            .unwrap()
            .privacy
            .read_receipts
    );
    store
        .set_receipt(mark(conv, bob, ReceiptKind::Delivered, 2))
        .await
        .unwrap();
    store
        .set_receipt(mark(conv, bob, ReceiptKind::Read, 2))
        .await
        .unwrap(); // only read moves
    store
        .set_receipt(mark(conv, bob, ReceiptKind::Read, 3))
        .await
        .unwrap(); // read and delivered move
    let alice_sees: Vec<_> = receipts_in_log(&store, alice)
        .await
        .iter()
        .map(|r| (r.delivered, r.read))
        .collect();
    assert_eq!(
        alice_sees,
        vec![(2, 0), (3, 0)],
        "no entry for a hidden read alone; read masked"
    );
    let bob_sees: Vec<_> = receipts_in_log(&store, bob)
        .await
        .iter()
        .map(|r| (r.delivered, r.read))
        .collect();
    assert_eq!(
        bob_sees,
        vec![(2, 0), (2, 2), (3, 3)],
        "bob's own devices see the truth"
    );
}

/// Unread counts messages from others after my read watermark.
pub async fn unread_counts_follow_the_read_watermark(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let conv = direct(&store, alice, bob).await;
    for i in 0..3 {
        send(&store, conv, alice, &format!("m{i}")).await; // 2, 3, 4
    }
    send(&store, conv, bob, "mine").await; // 5
    let bobs = store.conversations_of(bob).await.unwrap();
    assert_eq!(bobs[0].unread, 3, "bob's own message does not count");
    assert_eq!(store.conversations_of(alice).await.unwrap()[0].unread, 1);
    store
        .set_receipt(mark(conv, bob, ReceiptKind::Read, 3))
        .await
        .unwrap();
    let bobs = store.conversations_of(bob).await.unwrap();
    assert_eq!(bobs[0].unread, 1);
    assert_eq!(
        bobs[0].mine,
        Watermarks {
            delivered: 3,
            read: 3
        }
    );
    let alices = store.conversations_of(alice).await.unwrap();
    assert_eq!(
        alices[0].peer_watermarks,
        Some(Watermarks {
            delivered: 3,
            read: 3
        })
    );
}

/// Presence peers: direct contacts and members of small groups, never big
/// groups; with their visibility and last seen.
pub async fn presence_peers_are_contacts_and_small_groups(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let carol = user(&store, "carol").await;
    let dave = user(&store, "dave").await;
    let dm = direct(&store, alice, bob).await;
    assert!(store.accept_request(dm, bob).await.unwrap());
    group(&store, alice, &[carol]).await;
    group(&store, alice, &[bob, carol, dave]).await; // 4 members: "big" below
    store
        .set_privacy(
            carol,
            Privacy {
                presence: Visibility::Contacts,
                read_receipts: true,
                group_adds: Visibility::Everyone,
                discoverable: true,
            },
        )
        .await
        .unwrap();
    store.set_last_seen(bob, 1234).await.unwrap();
    store.set_last_seen(bob, 1000).await.unwrap(); // never moves back
    let mut peers = store.presence_peers(alice, 3).await.unwrap();
    peers.sort_by_key(|p| p.user);
    let mut expected = vec![
        PresencePeer {
            user: bob,
            contact: true,
            blocked: false,
            visibility: Visibility::Everyone,
            last_seen: Some(1234),
        },
        PresencePeer {
            user: carol,
            contact: false,
            blocked: false,
            visibility: Visibility::Contacts,
            last_seen: None,
        },
    ];
    expected.sort_by_key(|p| p.user);
    assert_eq!(peers, expected);
    let with_big = store.presence_peers(alice, 10).await.unwrap();
    assert_eq!(with_big.len(), 3, "dave shares only the bigger group");
}

/// The connection view is the session, the user, the first log page and the
/// presence peers, exactly as the separate calls answer them; a cursor it
/// cannot serve comes back as the head, not as an error.
pub async fn connection_view_reads_what_the_separate_calls_do(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let conv = direct(&store, alice, bob).await;
    for i in 0..3 {
        send(&store, conv, bob, &format!("m{i}")).await;
    }
    let device = store
        .create_session(session(alice, 1, now() + 1000))
        .await
        .unwrap()
        .device;
    let req = ConnectionRequest {
        user: alice,
        device,
        cursor: Cursor::START,
        limit: 2,
        max_group: 50,
    };
    let view = store.connection_view(req).await.unwrap();
    let s = view.session.expect("the session");
    assert_eq!((s.device, s.user, s.revoked_at), (device, alice, None));
    assert_eq!(view.user.map(|u| u.username), Some("alice".to_owned()));
    let page = view.log.expect("a page");
    let separate = store.log_after(alice, Cursor::START, 2).await.unwrap();
    let cursors = |p: &LogPage| p.entries.iter().map(|e| e.0).collect::<Vec<_>>();
    assert_eq!(cursors(&page), cursors(&separate));
    assert_eq!(page.head, separate.head);
    let peers: Vec<_> = view.peers.iter().map(|p| (p.user, p.contact)).collect();
    assert_eq!(peers, vec![(bob, true)]);

    let gone = store
        .connection_view(ConnectionRequest {
            cursor: Cursor(page.head.0 + 10),
            ..req
        })
        .await
        .unwrap();
    assert_eq!(gone.log.err(), Some(page.head));
    store.revoke_session(alice, device, now()).await.unwrap();
    let revoked = store.connection_view(req).await.unwrap();
    assert!(revoked.session.and_then(|s| s.revoked_at).is_some());
}

/// One conversation read by key is exactly the entry the user's list holds
/// for it (peer, watermarks, unread), and nothing for someone who is not a
/// member, whether or not the conversation exists.
pub async fn conversation_of_answers_as_the_list_does(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let carol = user(&store, "carol").await;
    let d = direct(&store, alice, bob).await;
    let g = group(&store, alice, &[bob]).await;
    for i in 0..3 {
        send(&store, d, alice, &format!("d{i}")).await; // 2, 3, 4
        send(&store, g, bob, &format!("g{i}")).await; // 2, 3, 4
    }
    store
        .set_receipt(mark(d, bob, ReceiptKind::Read, 3))
        .await
        .unwrap();
    store
        .add_members(NewMembers {
            conv: g,
            by: alice,
            users: vec![carol],
            now: now(),
        })
        .await
        .unwrap();
    send(&store, g, bob, "after carol").await; // 6
    for u in [alice, bob, carol] {
        let list = store.conversations_of(u).await.unwrap();
        for summary in &list {
            let one = store.conversation_of(u, summary.conv.id).await.unwrap();
            assert_eq!(one.as_ref(), Some(summary));
        }
    }
    let bobs_direct = store.conversation_of(bob, d).await.unwrap().unwrap();
    assert_eq!(bobs_direct.peer.map(|p| p.id), Some(alice));
    assert_eq!(bobs_direct.unread, 1, "read up to 3 of alice's 2, 3, 4");
    assert_eq!(
        bobs_direct.mine,
        Watermarks {
            delivered: 3,
            read: 3
        }
    );
    let alices_direct = store.conversation_of(alice, d).await.unwrap().unwrap();
    assert_eq!(
        alices_direct.peer_watermarks,
        Some(Watermarks {
            delivered: 3,
            read: 3
        })
    );
    let carols_group = store.conversation_of(carol, g).await.unwrap().unwrap();
    assert!(carols_group.peer.is_none());
    assert_eq!(carols_group.unread, 1, "only what came after she joined");
    assert_eq!(
        carols_group.last_message.as_ref().map(text_of),
        Some("after carol")
    );
    assert!(
        store.conversation_of(carol, d).await.unwrap().is_none(),
        "not a member of an existing conversation"
    );
    assert!(
        store
            .conversation_of(alice, ConversationId::new())
            .await
            .unwrap()
            .is_none(),
        "no such conversation"
    );
}

/// The member list and the member ids are the members in the order they
/// joined, with when they joined, the same order as `members`.
pub async fn member_list_and_ids_follow_join_order(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let carol = user(&store, "carol").await;
    let conv = group(&store, alice, &[bob]).await;
    let added_at = now() + 1_000;
    store
        .add_members(NewMembers {
            conv,
            by: alice,
            users: vec![carol],
            now: added_at,
        })
        .await
        .unwrap();
    let list = store.member_list(conv).await.unwrap();
    let listed: Vec<_> = list
        .iter()
        .map(|m| (m.id, m.username.as_str(), m.joined_seq))
        .collect();
    assert_eq!(
        listed,
        vec![(alice, "alice", 1), (bob, "bob", 1), (carol, "carol", 2)]
    );
    assert_eq!(list[2].joined_at, added_at);
    assert!(list[0].joined_at <= list[2].joined_at);
    let ids = store.member_ids(conv).await.unwrap();
    assert_eq!(ids, vec![alice, bob, carol]);
    let unknown = ConversationId::new();
    assert!(store.member_list(unknown).await.unwrap().is_empty());
    assert!(store.member_ids(unknown).await.unwrap().is_empty());
}

/// Every log page lists the conversations the user is in, as of the page's
/// head: a conversation the user was added to after a position is listed in
/// a page read after it, never one the user is not in.
pub async fn log_pages_list_the_users_conversations(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let carol = user(&store, "carol").await;
    let g1 = group(&store, alice, &[bob]).await;
    let d = direct(&store, alice, carol).await;
    let g2 = group(&store, bob, &[carol]).await;
    let sorted = |mut ids: Vec<ConversationId>| {
        ids.sort_unstable();
        ids
    };
    let first = store.log_after(alice, Cursor::START, 1).await.unwrap();
    assert_eq!(first.entries.len(), 1, "a page cut short still lists them");
    assert_eq!(first.conversations, sorted(vec![g1, d]));
    let head = store.log_head(alice).await.unwrap();
    let at_head = store.log_after(alice, head, 10).await.unwrap();
    assert!(at_head.entries.is_empty());
    assert_eq!(at_head.conversations, sorted(vec![g1, d]));

    let added = store
        .add_members(NewMembers {
            conv: g2,
            by: bob,
            users: vec![alice],
            now: now(),
        })
        .await
        .unwrap()
        .expect("alice is new");
    assert!(added.position > head);
    let after = store.log_after(alice, head, 10).await.unwrap();
    assert_eq!(after.conversations, sorted(vec![g1, d, g2]));
    assert!(after.head >= added.position);
    assert!(after.entries.iter().any(|(c, _)| *c == added.position));
    let new_head = store
        .log_after(alice, after.head, 10)
        .await
        .unwrap()
        .conversations;
    assert_eq!(new_head, sorted(vec![g1, d, g2]));
    let bobs = store.log_after(bob, Cursor::START, 10).await.unwrap();
    assert_eq!(bobs.conversations, sorted(vec![g1, g2]));

    let device = store
        .create_session(session(alice, 1, now() + 1000))
        .await
        .unwrap()
        .device;
    let view = store
        .connection_view(ConnectionRequest {
            user: alice,
            device,
            cursor: head,
            limit: 10,
            max_group: 50,
        })
        .await
        .unwrap();
    assert_eq!(
        view.log.expect("a page").conversations,
        sorted(vec![g1, d, g2]),
        "the connection view's page lists them too"
    );
}

/// A commit names the users who became members in it: every initial member
/// when a conversation is created, only the new ones when members are
/// added, nobody for messages and receipts; the feed announces the same.
pub async fn commits_name_the_users_who_joined(store: Arc<dyn Store>) {
    let mut feed = store.take_commit_feed().expect("feed");
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let carol = user(&store, "carol").await;
    let dave = user(&store, "dave").await;
    let Created::New(created) = store
        .create_conversation(NewConversation {
            id: ConversationId::new(),
            kind: ConversationKind::Group,
            name: Some("team".into()),
            description: None,
            creator: alice,
            members: vec![alice, bob],
            now: now(),
        })
        .await
        .unwrap()
    else {
        panic!("a new group");
    };
    assert_eq!(created.joined, vec![alice, bob]);
    let conv = created.event().expect("an event").conv;
    let added = store
        .add_members(NewMembers {
            conv,
            by: alice,
            users: vec![carol, bob, carol, dave],
            now: now(),
        })
        .await
        .unwrap()
        .expect("carol and dave are new");
    assert_eq!(added.joined, vec![carol, dave], "only the new members");
    let sent = send(&store, conv, bob, "hi").await;
    assert!(sent.joined.is_empty());
    let ReceiptChange::Moved(receipt) = store
        .set_receipt(mark(conv, carol, ReceiptKind::Read, 3))
        .await
        .unwrap()
    else {
        panic!("carol reads bob's message");
    };
    assert!(receipt.joined.is_empty());
    let Created::New(d) = store
        .create_conversation(NewConversation {
            id: ConversationId::new(),
            kind: ConversationKind::Direct,
            name: None,
            description: None,
            creator: dave,
            members: vec![dave, alice],
            now: now(),
        })
        .await
        .unwrap()
    else {
        panic!("a new direct conversation");
    };
    assert_eq!(d.joined, vec![dave, alice]);

    let mut announced = Vec::new();
    while announced.len() < 5 {
        let batch = tokio::time::timeout(std::time::Duration::from_secs(10), feed.recv())
            .await
            .expect("feed announces within 10 s")
            .expect("feed open");
        announced.extend(batch.iter().map(|c| (c.position, c.joined.clone())));
    }
    let expected: Vec<_> = [&created, &added, &sent, &receipt, &d]
        .iter()
        .map(|c| (c.position, c.joined.clone()))
        .collect();
    assert_eq!(announced, expected, "the feed carries the same");
}

/// Raising a user's log floor refuses every cursor that user was given,
/// the empty one included, with the floor as the head to resume from; from
/// the floor on nothing is lost, and other users' cursors still work.
pub async fn a_raised_log_floor_refuses_every_earlier_cursor_of_that_user_only(
    store: Arc<dyn Store>,
) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let conv = group(&store, alice, &[bob]).await;
    let before = send(&store, conv, alice, "before").await.position;
    let head = store.log_head(alice).await.unwrap();
    let floor = store.raise_log_floor(alice).await.unwrap();
    assert!(
        floor > head,
        "the floor {floor} is above every cursor handed out ({head})"
    );
    for old in [Cursor::START, before, head] {
        match store.log_after(alice, old, 100).await {
            Err(StoreError::CursorGone { head: h }) => assert_eq!(h, floor, "resume at the floor"),
            other => panic!("cursor {old} below the floor must be refused, got {other:?}"),
        }
    }
    assert_eq!(store.log_head(alice).await.unwrap(), floor);
    let at_floor = store.log_after(alice, floor, 100).await.unwrap();
    assert!(at_floor.entries.is_empty());
    let after = send(&store, conv, bob, "after").await.position;
    assert!(after > floor);
    let page = store.log_after(alice, floor, 100).await.unwrap();
    let positions: Vec<_> = page.entries.iter().map(|(c, _)| *c).collect();
    assert_eq!(positions, vec![after], "what comes after the floor arrives");
    let bobs = store.log_after(bob, before, 100).await.unwrap();
    let positions: Vec<_> = bobs.entries.iter().map(|(c, _)| *c).collect();
    assert_eq!(positions, vec![after], "bob's old cursor still works");
    assert!(matches!(
        store.raise_log_floor(UserId::new()).await,
        Err(StoreError::NotFound)
    ));
}

/// A new direct conversation is a request to its second member: listed with
/// `request`, and the two are not contacts, until that member accepts it or
/// sends in it (the send says it accepted, once). Groups are never
/// requests.
pub async fn a_direct_conversation_is_a_request_until_accepted_or_answered(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let carol = user(&store, "carol").await;
    let contact_of = |peers: Vec<PresencePeer>, who: UserId| {
        peers
            .iter()
            .find(|p| p.user == who)
            .map(|p| p.contact)
            .expect("a peer")
    };
    let ab = direct(&store, alice, bob).await;
    let request = |list: Vec<ConversationSummary>, conv| {
        list.iter()
            .find(|s| s.conv.id == conv)
            .map(|s| s.request)
            .expect("listed")
    };
    assert!(!request(store.conversations_of(alice).await.unwrap(), ab));
    assert!(request(store.conversations_of(bob).await.unwrap(), ab));
    assert!(
        store
            .conversation_of(bob, ab)
            .await
            .unwrap()
            .unwrap()
            .request
    );
    assert!(!contact_of(
        store.presence_peers(alice, 10).await.unwrap(),
        bob
    ));
    assert!(!contact_of(
        store.presence_peers(bob, 10).await.unwrap(),
        alice
    ));
    // Alice writing more does not make them contacts.
    let sent = store
        .append_message(message(ab, alice, "a-1", "hi bob"))
        .await
        .unwrap();
    assert!(matches!(sent, Appended::New(_)));
    assert!(!contact_of(
        store.presence_peers(bob, 10).await.unwrap(),
        alice
    ));
    // Bob's reply accepts, once.
    let reply = store
        .append_message(message(ab, bob, "b-1", "hi alice"))
        .await
        .unwrap();
    assert!(matches!(reply, Appended::Accepted(_)), "{reply:?}");
    let again = store
        .append_message(message(ab, bob, "b-2", "and again"))
        .await
        .unwrap();
    assert!(matches!(again, Appended::New(_)), "{again:?}");
    assert!(!request(store.conversations_of(bob).await.unwrap(), ab));
    assert!(contact_of(
        store.presence_peers(alice, 10).await.unwrap(),
        bob
    ));
    assert!(contact_of(
        store.presence_peers(bob, 10).await.unwrap(),
        alice
    ));

    // Accepting without a word does the same; a second accept changes nothing.
    let ca = direct(&store, carol, alice).await;
    assert!(request(store.conversations_of(alice).await.unwrap(), ca));
    assert!(store.accept_request(ca, alice).await.unwrap());
    assert!(!store.accept_request(ca, alice).await.unwrap());
    assert!(
        !store.accept_request(ca, carol).await.unwrap(),
        "the creator has nothing to accept"
    );
    assert!(!request(store.conversations_of(alice).await.unwrap(), ca));
    assert!(contact_of(
        store.presence_peers(carol, 10).await.unwrap(),
        alice
    ));
    assert!(matches!(
        store.accept_request(ca, bob).await,
        Err(StoreError::NotMember)
    ));

    // A group is nobody's request, and never makes contacts.
    let g = group(&store, carol, &[bob]).await;
    assert!(!request(store.conversations_of(bob).await.unwrap(), g));
    assert!(!store.accept_request(g, bob).await.unwrap());
    assert!(!contact_of(
        store.presence_peers(bob, 10).await.unwrap(),
        carol
    ));
}

/// A block, from either side, refuses messages in the pair's direct
/// conversation, a new direct conversation and adding one to a group by the
/// other, and marks the pair in presence peers; lifting it undoes all that.
/// Retries of messages stored before still answer, and groups they already
/// share go on.
pub async fn blocks_refuse_direct_messages_and_adding_either_way(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let carol = user(&store, "carol").await;
    let ab = direct(&store, alice, bob).await;
    let shared = group(&store, carol, &[alice, bob]).await;
    store
        .append_message(message(ab, bob, "b-1", "before"))
        .await
        .unwrap();
    assert!(matches!(
        store.block(alice, UserId::new(), now()).await,
        Err(StoreError::NotFound)
    ));
    let first = store.block(alice, bob, 1000).await.unwrap();
    assert_eq!((first.user, first.username.as_str()), (bob, "bob"));
    assert_eq!(first.blocked_at, 1000);
    let again = store.block(alice, bob, 2000).await.unwrap();
    assert_eq!(
        again.blocked_at, 1000,
        "blocking again keeps the first time"
    );
    assert_eq!(store.blocks_of(alice).await.unwrap(), vec![first.clone()]);
    assert!(store.blocks_of(bob).await.unwrap().is_empty());

    let head = store.log_head(alice).await.unwrap();
    for (from, id) in [(bob, "b-2"), (alice, "a-1")] {
        assert!(
            matches!(
                store.append_message(message(ab, from, id, "after")).await,
                Err(StoreError::Blocked)
            ),
            "neither side can write in the direct conversation"
        );
    }
    assert!(matches!(
        store
            .append_message(message(ab, bob, "b-1", "before"))
            .await
            .unwrap(),
        Appended::Duplicate(_)
    ));
    // Groups they share go on.
    send(&store, shared, bob, "in the group").await;
    // Neither can put the other in a new conversation or a group.
    let dave = user(&store, "dave").await;
    let bobs = group(&store, bob, &[dave]).await;
    assert!(matches!(
        store
            .add_members(NewMembers {
                conv: bobs,
                by: bob,
                users: vec![dave, alice],
                now: now(),
            })
            .await,
        Err(StoreError::Blocked)
    ));
    for (creator, other) in [(bob, alice), (alice, bob)] {
        assert!(matches!(
            store
                .create_conversation(NewConversation {
                    id: ConversationId::new(),
                    kind: ConversationKind::Group,
                    name: Some("g".into()),
                    description: None,
                    creator,
                    members: vec![creator, dave, other],
                    now: now(),
                })
                .await,
            Err(StoreError::Blocked)
        ));
    }
    let ad = direct(&store, alice, dave).await;
    store.block(dave, bob, now()).await.unwrap();
    assert!(matches!(
        store
            .create_conversation(NewConversation {
                id: ConversationId::new(),
                kind: ConversationKind::Direct,
                name: None,
                description: None,
                creator: bob,
                members: vec![bob, dave],
                now: now(),
            })
            .await,
        Err(StoreError::Blocked)
    ));
    // Refusals wrote nothing but the group message.
    let page = store.log_after(alice, head, 100).await.unwrap();
    assert_eq!(
        page.entries.len(),
        2,
        "the group message and the new direct conversation"
    );
    assert!(store.member_ids(bobs).await.unwrap().len() == 2);
    let _ = ad;

    let peers = store.presence_peers(alice, 10).await.unwrap();
    let flag =
        |peers: &[PresencePeer], who| peers.iter().find(|p| p.user == who).map(|p| p.blocked);
    assert_eq!(flag(&peers, bob), Some(true));
    assert_eq!(flag(&peers, carol), Some(false));
    let bobs_peers = store.presence_peers(bob, 10).await.unwrap();
    assert_eq!(
        flag(&bobs_peers, alice),
        Some(true),
        "both sides are marked"
    );

    // Lifting the block undoes it; lifting again finds nothing.
    assert!(store.unblock(alice, bob).await.unwrap());
    assert!(!store.unblock(alice, bob).await.unwrap());
    assert!(store.blocks_of(alice).await.unwrap().is_empty());
    send(&store, ab, alice, "hello again").await;
    assert_eq!(
        flag(&store.presence_peers(alice, 10).await.unwrap(), bob),
        Some(false)
    );
}

async fn set_group_adds(store: &Arc<dyn Store>, user: UserId, group_adds: Visibility) {
    store
        .set_privacy(
            user,
            Privacy {
                presence: Visibility::Everyone,
                read_receipts: true,
                group_adds,
                discoverable: true,
            },
        )
        .await
        .expect("set privacy");
}

fn request_of(list: &[ConversationSummary], conv: ConversationId) -> Option<bool> {
    list.iter().find(|s| s.conv.id == conv).map(|s| s.request)
}

/// The list pages newest activity first with ties broken by id, each
/// conversation exactly once across pages; the request filter splits
/// invitations from the rest, and the unread total counts every page.
pub async fn the_conversation_list_pages_by_activity_and_filters_requests(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    set_group_adds(&store, alice, Visibility::Nobody).await;
    let base = now() + 60_000;
    let mut convs = Vec::new();
    for i in 0..7 {
        let g = group(&store, bob, &[alice]).await;
        // Two pairs share an activity time: the id decides between them.
        let mut m = message(g, bob, "m", &format!("hello {i}"));
        m.now = base + (i / 2) * 1000;
        store.append_message(m).await.expect("append");
        convs.push((base + (i / 2) * 1000, g));
    }
    // A group alice made herself is no invitation.
    let own = group(&store, alice, &[bob]).await;
    convs.push((now(), own));
    convs.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
    let expected: Vec<ConversationId> = convs.iter().map(|c| c.1).collect();

    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .conversation_page(
                alice,
                ListQuery {
                    limit: 3,
                    after,
                    ..ListQuery::all()
                },
            )
            .await
            .expect("page");
        assert!(page.len() <= 3);
        let Some(last) = page.last() else { break };
        after = Some(ListPosition {
            activity: last.activity,
            conv: last.conv.id,
        });
        seen.extend(page.iter().map(|s| s.conv.id));
    }
    assert_eq!(seen, expected, "every conversation once, newest first");
    assert_eq!(
        store
            .conversations_of(alice)
            .await
            .unwrap()
            .iter()
            .map(|s| s.conv.id)
            .collect::<Vec<_>>(),
        expected,
        "the whole list is the pages joined"
    );

    let only = |request| ListQuery {
        limit: 100,
        request: Some(request),
        ..ListQuery::all()
    };
    let invitations = store.conversation_page(alice, only(true)).await.unwrap();
    assert_eq!(invitations.len(), 7);
    assert!(invitations.iter().all(|s| s.request));
    let rest = store.conversation_page(alice, only(false)).await.unwrap();
    assert_eq!(rest.iter().map(|s| s.conv.id).collect::<Vec<_>>(), [own]);
    assert_eq!(store.unread_total(alice).await.unwrap(), 7, "one per group");
    assert_eq!(store.unread_total(bob).await.unwrap(), 0);
}

/// Leaving: the leaver's log carries the conversation up to their own
/// `member_left` event and nothing after it; they are no member for any
/// read or write; the others see the member gone. Added again later, they
/// get the conversation from the new `members_added` on, never what
/// happened while they were away.
pub async fn a_member_who_leaves_gets_their_departure_and_nothing_after(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let carol = user(&store, "carol").await;
    let g = group(&store, alice, &[bob, carol]).await;
    send(&store, g, alice, "before").await;
    let start = Cursor::START;

    let left = store.leave(g, bob, now()).await.expect("leave");
    let ev = left.event().expect("an event").clone();
    assert_eq!(ev.seq, 3);
    assert_eq!(ev.sender, bob);
    assert!(matches!(ev.body, EventBody::MemberLeft { user } if user == bob));
    assert_eq!(left.left, vec![bob]);
    assert!(left.joined.is_empty());
    assert!(
        left.recipients.contains(&bob),
        "the leaver gets their departure"
    );
    send(&store, g, alice, "after").await;

    let bobs = store.log_after(bob, start, 100).await.unwrap();
    let texts: Vec<(u64, String)> = bobs
        .entries
        .iter()
        .filter_map(|(_, i)| i.event())
        .filter(|e| e.conv == g)
        .map(|e| (e.seq, text_of(e).to_owned()))
        .collect();
    assert_eq!(
        texts,
        [(1, String::new()), (2, "before".into()), (3, String::new())],
        "created, before, member_left; never after"
    );
    assert!(!bobs.conversations.contains(&g));
    assert!(store.membership(g, bob).await.unwrap().is_none());
    assert!(
        store
            .conversations_of(bob)
            .await
            .unwrap()
            .iter()
            .all(|s| s.conv.id != g)
    );
    assert!(store.conversation_of(bob, g).await.unwrap().is_none());
    assert!(matches!(
        store
            .history(HistoryRequest {
                conv: g,
                viewer: bob,
                range: HistoryRange::Latest,
                limit: 50,
            })
            .await,
        Err(StoreError::NotMember)
    ));
    assert!(matches!(
        store.append_message(message(g, bob, "b1", "hi?")).await,
        Err(StoreError::NotMember)
    ));
    assert!(matches!(
        store.leave(g, bob, now()).await,
        Err(StoreError::NotMember)
    ));
    assert_eq!(store.member_ids(g).await.unwrap(), vec![alice, carol]);
    assert_eq!(
        store.conversation(g).await.unwrap().unwrap().member_count,
        2
    );
    let carols = store.log_after(carol, start, 100).await.unwrap();
    assert_eq!(
        carols
            .entries
            .iter()
            .filter(|(_, i)| i.event().is_some())
            .count(),
        4,
        "the others go on: created, before, member_left, after and nothing else"
    );
    // Bob is not a receipt recipient any more either.
    assert!(
        store
            .watermarks(g)
            .await
            .unwrap()
            .iter()
            .all(|m| m.user != bob)
    );

    // Added again: from the new members_added on, with the old part kept.
    store
        .add_members(NewMembers {
            conv: g,
            by: alice,
            users: vec![bob],
            now: now(),
        })
        .await
        .unwrap()
        .expect("bob is new again");
    send(&store, g, alice, "welcome back").await;
    let again = store.log_after(bob, start, 100).await.unwrap();
    let seqs: Vec<u64> = again
        .entries
        .iter()
        .filter_map(|(_, i)| i.event())
        .filter(|e| e.conv == g)
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs, [1, 2, 3, 5, 6], "seq 4 (after) happened while away");
    assert_eq!(
        store.membership(g, bob).await.unwrap().unwrap().joined_seq,
        5
    );
}

/// `group_adds`: everyone joins at once; "contacts" admits only someone
/// the user shares an accepted direct conversation with; "nobody" admits
/// no one. Whoever is not admitted is a member with an invitation, which
/// accepting or writing in the group takes.
pub async fn group_adds_decide_who_joins_at_once_and_who_is_invited(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await; // nobody
    let carol = user(&store, "carol").await; // contacts, and alice's contact
    let dave = user(&store, "dave").await; // contacts, a stranger to alice
    let erin = user(&store, "erin").await; // everyone
    set_group_adds(&store, bob, Visibility::Nobody).await;
    set_group_adds(&store, carol, Visibility::Contacts).await;
    set_group_adds(&store, dave, Visibility::Contacts).await;
    let d = direct(&store, alice, carol).await;
    assert!(store.accept_request(d, carol).await.unwrap());

    let g = group(&store, alice, &[bob, carol, dave, erin]).await;
    let req = |u| {
        let store = store.clone();
        async move { request_of(&store.conversations_of(u).await.unwrap(), g) }
    };
    assert_eq!(req(alice).await, Some(false), "the creator");
    assert_eq!(req(bob).await, Some(true), "nobody: an invitation");
    assert_eq!(req(carol).await, Some(false), "a contact may add carol");
    assert_eq!(req(dave).await, Some(true), "a stranger may not add dave");
    assert_eq!(req(erin).await, Some(false));
    // Invited members are members: they get the group's events.
    send(&store, g, alice, "hello all").await;
    assert!(
        store
            .log_after(bob, Cursor::START, 100)
            .await
            .unwrap()
            .entries
            .iter()
            .any(|(_, i)| i.event().is_some_and(|e| text_of(e) == "hello all"))
    );

    assert!(store.accept_request(g, bob).await.unwrap(), "accepted");
    assert!(!store.accept_request(g, bob).await.unwrap(), "only once");
    assert_eq!(req(bob).await, Some(false));
    match store
        .append_message(message(g, dave, "d1", "thanks"))
        .await
        .unwrap()
    {
        Appended::Accepted(_) => {}
        other => panic!("writing takes the invitation: {other:?}"),
    }
    assert_eq!(req(dave).await, Some(false));

    // Adding later follows the same rule.
    let fred = user(&store, "fred").await;
    set_group_adds(&store, fred, Visibility::Nobody).await;
    store
        .add_members(NewMembers {
            conv: g,
            by: erin,
            users: vec![fred],
            now: now(),
        })
        .await
        .unwrap()
        .expect("fred is new");
    assert_eq!(req(fred).await, Some(true));
}

async fn role_of(store: &Arc<dyn Store>, conv: ConversationId, user: UserId) -> Option<Role> {
    store.membership(conv, user).await.unwrap().map(|m| m.role)
}

/// A group's creator is its owner and everyone else a member; a role
/// change and an ownership transfer are events every member gets, and the
/// list shows each member their own role.
pub async fn roles_are_stored_changed_and_transferred_with_events(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let carol = user(&store, "carol").await;
    let g = group(&store, alice, &[bob, carol]).await;
    assert_eq!(role_of(&store, g, alice).await, Some(Role::Owner));
    assert_eq!(role_of(&store, g, bob).await, Some(Role::Member));
    let d = direct(&store, alice, bob).await;
    assert_eq!(
        role_of(&store, d, alice).await,
        Some(Role::Member),
        "no owner in a direct conversation"
    );

    let changed = store
        .set_role(RoleChange {
            conv: g,
            by: alice,
            user: bob,
            role: Role::Moderator,
            now: now(),
        })
        .await
        .unwrap();
    let ev = changed.event().unwrap();
    assert_eq!((ev.seq, ev.sender), (2, alice));
    assert!(
        matches!(ev.body, EventBody::RoleChanged { user, role: Role::Moderator } if user == bob)
    );
    assert_eq!(changed.recipients.len(), 3);
    assert_eq!(role_of(&store, g, bob).await, Some(Role::Moderator));
    let bobs = store.conversation_of(bob, g).await.unwrap().unwrap();
    assert_eq!(bobs.role, Role::Moderator);
    assert!(matches!(
        store
            .set_role(RoleChange {
                conv: g,
                by: alice,
                user: user(&store, "stranger").await,
                role: Role::Admin,
                now: now(),
            })
            .await,
        Err(StoreError::NotMember)
    ));

    let moved = store
        .transfer_ownership(g, alice, carol, now())
        .await
        .unwrap();
    assert!(matches!(
        moved.event().unwrap().body,
        EventBody::OwnershipTransferred { from, to } if from == alice && to == carol
    ));
    assert_eq!(role_of(&store, g, carol).await, Some(Role::Owner));
    assert_eq!(role_of(&store, g, alice).await, Some(Role::Admin));
    let owners = store
        .member_list(g)
        .await
        .unwrap()
        .iter()
        .filter(|m| m.role == Role::Owner)
        .count();
    assert_eq!(owners, 1, "one owner at a time");
    // Every device learns it through the log.
    let kinds: Vec<_> = store
        .log_after(bob, Cursor::START, 100)
        .await
        .unwrap()
        .entries
        .iter()
        .filter_map(|(_, i)| i.event())
        .filter(|e| e.conv == g)
        .map(|e| e.seq)
        .collect();
    assert_eq!(kinds, [1, 2, 3]);
}

/// Removal ends a membership like leaving does (the removed member's log
/// ends with the event); a ban removes a member or keeps a non-member out,
/// and adding a banned user fails until the ban is lifted.
pub async fn removal_and_bans_end_membership_and_keep_banned_users_out(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let carol = user(&store, "carol").await;
    let dave = user(&store, "dave").await;
    let g = group(&store, alice, &[bob, carol]).await;
    let removal = |user, ban| Removal {
        conv: g,
        by: alice,
        user,
        ban,
        now: now(),
    };
    let removed = store.remove(removal(bob, false)).await.unwrap().unwrap();
    assert!(
        matches!(removed.event().unwrap().body, EventBody::MemberRemoved { user } if user == bob)
    );
    assert_eq!(removed.left, vec![bob]);
    assert!(removed.recipients.contains(&bob));
    send(&store, g, alice, "after bob").await;
    let bobs: Vec<u64> = store
        .log_after(bob, Cursor::START, 100)
        .await
        .unwrap()
        .entries
        .iter()
        .filter_map(|(_, i)| i.event())
        .filter(|e| e.conv == g)
        .map(|e| e.seq)
        .collect();
    assert_eq!(bobs, [1, 2], "created, member_removed");
    assert!(matches!(
        store.remove(removal(bob, false)).await,
        Err(StoreError::NotMember)
    ));
    // Removed, not banned: may be added again.
    let add = |users: Vec<UserId>| NewMembers {
        conv: g,
        by: alice,
        users,
        now: now(),
    };
    store.add_members(add(vec![bob])).await.unwrap().unwrap();

    // A member banned: removed with member_banned.
    let banned = store.remove(removal(carol, true)).await.unwrap().unwrap();
    assert!(
        matches!(banned.event().unwrap().body, EventBody::MemberBanned { user } if user == carol)
    );
    assert_eq!(banned.left, vec![carol]);
    assert!(store.membership(g, carol).await.unwrap().is_none());
    assert!(
        store.remove(removal(carol, true)).await.unwrap().is_none(),
        "banned already"
    );
    // A non-member banned: an event, nobody leaves.
    let kept_out = store.remove(removal(dave, true)).await.unwrap().unwrap();
    assert!(kept_out.left.is_empty());
    assert!(!kept_out.recipients.contains(&dave));
    let list: Vec<UserId> = store
        .bans(g)
        .await
        .unwrap()
        .iter()
        .map(|b| b.user)
        .collect();
    assert_eq!(list.len(), 2);
    assert!(list.contains(&carol) && list.contains(&dave));
    assert!(matches!(
        store.add_members(add(vec![dave])).await,
        Err(StoreError::Banned)
    ));
    assert!(matches!(
        store.add_members(add(vec![bob, carol])).await,
        Err(StoreError::Banned)
    ));
    assert!(
        store.membership(g, bob).await.unwrap().is_some(),
        "nobody was added"
    );

    let lifted = store.unban(g, alice, carol, now()).await.unwrap().unwrap();
    assert!(
        matches!(lifted.event().unwrap().body, EventBody::MemberUnbanned { user } if user == carol)
    );
    assert!(store.unban(g, alice, carol, now()).await.unwrap().is_none());
    store.add_members(add(vec![carol])).await.unwrap().unwrap();
    assert_eq!(store.bans(g).await.unwrap().len(), 1);
    // Non-members cannot act.
    assert!(matches!(
        store
            .remove(Removal {
                conv: g,
                by: dave,
                user: alice,
                ban: false,
                now: now(),
            })
            .await,
        Err(StoreError::NotMember)
    ));
}

/// Member pages walk the members in join order with roles, each once.
pub async fn member_pages_follow_join_order_with_roles(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let mut others = Vec::new();
    for i in 0..6 {
        others.push(user(&store, &format!("u{i}")).await);
    }
    let g = group(&store, alice, &others[..3]).await;
    store
        .add_members(NewMembers {
            conv: g,
            by: alice,
            users: others[3..].to_vec(),
            now: now(),
        })
        .await
        .unwrap();
    let whole = store.member_list(g).await.unwrap();
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let page = store.member_page(g, after, 2).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some(MemberPosition {
            joined_seq: last.joined_seq,
            user: last.id,
        });
        paged.extend(page);
    }
    assert_eq!(paged, whole);
    assert_eq!(paged.len(), 7);
    assert_eq!((paged[0].id, paged[0].role), (alice, Role::Owner));
    assert!(paged[1..].iter().all(|m| m.role == Role::Member));
    assert_eq!(
        paged.iter().map(|m| m.joined_seq).collect::<Vec<_>>(),
        [1, 1, 1, 1, 2, 2, 2]
    );
}

/// A settings change is one `group_updated` event naming only what
/// changed (nothing is written when nothing changes). The history setting
/// in force when someone joins fixes the first seq they may read in
/// history; their log still starts where they joined.
pub async fn group_settings_change_with_events_and_fix_what_new_members_read(
    store: Arc<dyn Store>,
) {
    let day = 86_400_000;
    let base = now();
    let alice = user(&store, "alice").await;
    let g = group(&store, alice, &[]).await;
    // seq 2..=4 ten days ago, seq 5..=6 yesterday.
    for (i, age) in [10, 10, 10, 1, 1].into_iter().enumerate() {
        let mut m = message(g, alice, &format!("m{i}"), &format!("message {i}"));
        m.now = base - age * day;
        store.append_message(m).await.unwrap();
    }
    let update = |name: Option<&str>, description: Option<&str>, history| GroupUpdate {
        conv: g,
        by: alice,
        name: name.map(str::to_owned),
        description: description.map(str::to_owned),
        history,
        slow_mode_secs: None,
        avatar: None,
        now: base,
    };
    let renamed = store
        .update_group(update(Some("club"), Some("about books"), None))
        .await
        .unwrap()
        .expect("something changed");
    let ev = renamed.event().unwrap();
    assert_eq!(ev.seq, 7);
    assert!(matches!(
        &ev.body,
        EventBody::GroupUpdated { name: Some(n), description: Some(d), history: None, .. }
            if n == "club" && d == "about books"
    ));
    assert!(
        store
            .update_group(update(Some("club"), None, Some(HistoryVisibility::Joined)))
            .await
            .unwrap()
            .is_none(),
        "nothing changed, nothing written"
    );
    let record = store.conversation(g).await.unwrap().unwrap();
    assert_eq!(record.name.as_deref(), Some("club"));
    assert_eq!(record.description.as_deref(), Some("about books"));
    assert_eq!(record.history, HistoryVisibility::Joined);

    let join = |name: &'static str| {
        let store = store.clone();
        async move {
            let u = user(&store, name).await;
            store
                .add_members(NewMembers {
                    conv: g,
                    by: alice,
                    users: vec![u],
                    now: base,
                })
                .await
                .unwrap()
                .unwrap();
            (u, store.membership(g, u).await.unwrap().unwrap())
        }
    };
    let (_, joined) = join("joiner").await;
    assert_eq!(joined.visible_from, joined.joined_seq);

    store
        .update_group(update(None, None, Some(HistoryVisibility::All)))
        .await
        .unwrap()
        .unwrap();
    let (carol, all) = join("carol").await;
    assert_eq!(all.visible_from, 1);
    let carols = store
        .history(HistoryRequest {
            conv: g,
            viewer: carol,
            range: HistoryRange::After(0),
            limit: 100,
        })
        .await
        .unwrap();
    assert_eq!(carols.events.first().map(|e| e.seq), Some(1));
    let log: Vec<u64> = store
        .log_after(carol, Cursor::START, 100)
        .await
        .unwrap()
        .entries
        .iter()
        .filter_map(|(_, i)| i.event())
        .map(|e| e.seq)
        .collect();
    assert_eq!(log, [all.joined_seq], "the log starts where she joined");
    assert_eq!(
        store
            .conversation_of(carol, g)
            .await
            .unwrap()
            .unwrap()
            .visible_from,
        1
    );

    store
        .update_group(update(
            None,
            None,
            Some(HistoryVisibility::Days { days: 2 }),
        ))
        .await
        .unwrap()
        .unwrap();
    let (_, recent) = join("dave").await;
    assert_eq!(
        recent.visible_from, 5,
        "yesterday's messages, not older ones"
    );
    // Changing the setting later leaves those who joined as they were.
    assert_eq!(
        store
            .membership(g, carol)
            .await
            .unwrap()
            .unwrap()
            .visible_from,
        1
    );
    let cleared = store
        .update_group(update(None, Some(""), None))
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(
        &cleared.event().unwrap().body,
        EventBody::GroupUpdated { description: Some(d), .. } if d.is_empty()
    ));
    assert_eq!(
        store.conversation(g).await.unwrap().unwrap().description,
        None
    );
}

/// A group created with, or joined by, hundreds of people writes events
/// that list at most `MAX_EVENT_USERS` of them with the full count, while
/// the commit still names everyone who joined (for fan-out).
pub async fn membership_events_stay_small_for_big_groups(store: Arc<dyn Store>) {
    let max = natter_proto::MAX_EVENT_USERS;
    let alice = user(&store, "alice").await;
    let mut people = Vec::new();
    for i in 0..(2 * max + 50) {
        people.push(user(&store, &format!("p{i}")).await);
    }
    let (first, later) = people.split_at(max + 50);
    let mut members = vec![alice];
    members.extend_from_slice(first);
    let Created::New(created) = store
        .create_conversation(NewConversation {
            id: ConversationId::new(),
            kind: ConversationKind::Group,
            name: Some("big".into()),
            description: None,
            creator: alice,
            members: members.clone(),
            now: now(),
        })
        .await
        .unwrap()
    else {
        panic!("a new group");
    };
    match &created.event().unwrap().body {
        EventBody::Created {
            members: listed,
            member_count,
            ..
        } => {
            assert_eq!(
                listed.as_slice(),
                &members[..max],
                "creator first, then in order"
            );
            assert_eq!(*member_count as usize, members.len());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(created.joined, members, "fan-out still learns everyone");
    let g = created.event().unwrap().conv;
    let added = store
        .add_members(NewMembers {
            conv: g,
            by: alice,
            users: later.to_vec(),
            now: now(),
        })
        .await
        .unwrap()
        .unwrap();
    match &added.event().unwrap().body {
        EventBody::MembersAdded { users, count } => {
            assert_eq!(users.as_slice(), &later[..max]);
            assert_eq!(*count as usize, later.len());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(added.joined, later.to_vec());
    assert_eq!(
        store.member_ids(g).await.unwrap().len(),
        1 + people.len(),
        "everyone is a member"
    );
}

/// A link admits people until it expires, is used up or is revoked; each
/// join is a `member_joined` event and one use; a member joining again
/// changes nothing; a banned user is refused; a full group too.
pub async fn invite_links_admit_until_expired_used_up_or_revoked(store: Arc<dyn Store>) {
    let t = now();
    let alice = user(&store, "alice").await;
    let g = group(&store, alice, &[]).await;
    let invite = |token: &str, expires_at, max_uses| NewInvite {
        token: token.into(),
        conv: g,
        by: alice,
        now: t,
        expires_at,
        max_uses,
    };
    let twice = store
        .create_invite(invite("twice", None, Some(2)))
        .await
        .unwrap();
    assert_eq!((twice.uses, twice.max_uses), (0, Some(2)));
    store
        .create_invite(invite("soon", Some(t + 1000), None))
        .await
        .unwrap();
    store
        .create_invite(invite("gone", None, None))
        .await
        .unwrap();
    let stranger = user(&store, "stranger").await;
    assert!(matches!(
        store
            .create_invite(NewInvite {
                by: stranger,
                ..invite("nope", None, None)
            })
            .await,
        Err(StoreError::NotMember)
    ));
    let join = |token: &str, user, now| InviteJoin {
        token: token.into(),
        user,
        now,
        max_members: 1000,
    };

    let bob = user(&store, "bob").await;
    let Joined::New(c) = store.join_by_invite(join("twice", bob, t)).await.unwrap() else {
        panic!("bob joins");
    };
    let ev = c.event().unwrap();
    assert!(matches!(ev.body, EventBody::MemberJoined { user } if user == bob));
    assert_eq!((ev.sender, ev.seq), (bob, 2));
    assert_eq!(c.joined, vec![bob]);
    assert_eq!(
        store.membership(g, bob).await.unwrap().unwrap().role,
        Role::Member
    );
    assert!(matches!(
        store.join_by_invite(join("twice", bob, t)).await.unwrap(),
        Joined::Already(conv) if conv == g
    ));
    let carol = user(&store, "carol").await;
    store.join_by_invite(join("twice", carol, t)).await.unwrap();
    let dave = user(&store, "dave").await;
    assert!(
        matches!(
            store.join_by_invite(join("twice", dave, t)).await,
            Err(StoreError::NotFound)
        ),
        "used up"
    );
    assert_eq!(store.invite("twice".into()).await.unwrap().unwrap().uses, 2);

    assert!(
        matches!(
            store.join_by_invite(join("soon", dave, t + 1000)).await,
            Err(StoreError::NotFound)
        ),
        "expired"
    );
    assert!(store.revoke_invite(g, "gone".into(), t).await.unwrap());
    assert!(!store.revoke_invite(g, "gone".into(), t).await.unwrap());
    assert!(
        matches!(
            store.join_by_invite(join("gone", dave, t)).await,
            Err(StoreError::NotFound)
        ),
        "revoked"
    );
    assert!(matches!(
        store.join_by_invite(join("unknown", dave, t)).await,
        Err(StoreError::NotFound)
    ));
    let listed: Vec<String> = store
        .invites(g)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.token)
        .collect();
    assert_eq!(listed.len(), 2, "revoked links are not listed: {listed:?}");
    assert!(!listed.contains(&"gone".to_owned()));

    store
        .create_invite(invite("open", None, None))
        .await
        .unwrap();
    store
        .remove(Removal {
            conv: g,
            by: alice,
            user: dave,
            ban: true,
            now: t,
        })
        .await
        .unwrap();
    assert!(matches!(
        store.join_by_invite(join("open", dave, t)).await,
        Err(StoreError::Banned)
    ));
    let erin = user(&store, "erin").await;
    assert!(
        matches!(
            store
                .join_by_invite(InviteJoin {
                    max_members: 3,
                    ..join("open", erin, t)
                })
                .await,
            Err(StoreError::Invalid(_))
        ),
        "alice, bob and carol fill a group of 3"
    );
    assert!(store.membership(g, erin).await.unwrap().is_none());
}

/// A message is reported once per reporter (again: the first report);
/// lists filter by conversation and by open or all; resolving sets who and
/// when once.
pub async fn reports_are_kept_once_per_reporter_and_resolved_once(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let carol = user(&store, "carol").await;
    let g = group(&store, alice, &[bob, carol]).await;
    let other = group(&store, alice, &[bob]).await;
    let report = |conv, seq, reporter, note: Option<&str>| NewReport {
        id: MessageId::new(),
        conv,
        seq,
        sender: alice,
        text: "buy now".into(),
        reporter,
        reason: natter_proto::ReportReason::Spam,
        note: note.map(str::to_owned),
        now: now(),
        notify: vec![Role::Owner, Role::Admin, Role::Moderator],
    };
    let (first, created) = store
        .create_report(report(g, 2, bob, Some("ads")))
        .await
        .unwrap();
    assert!(created);
    assert_eq!(
        (first.seq, first.reporter, first.text.as_str()),
        (2, bob, "buy now")
    );
    assert_eq!(first.note.as_deref(), Some("ads"));
    let (again, created) = store.create_report(report(g, 2, bob, None)).await.unwrap();
    assert!(!created);
    assert_eq!(again, first, "the first report stands");
    store
        .create_report(report(g, 2, carol, None))
        .await
        .unwrap();
    store
        .create_report(report(other, 2, bob, None))
        .await
        .unwrap();
    assert_eq!(store.reports(Some(g), false).await.unwrap().len(), 2);
    assert_eq!(store.reports(None, false).await.unwrap().len(), 3);

    let done = store
        .resolve_report(first.id, alice, Some("warned".into()), now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (done.resolved_by, done.resolution.as_deref()),
        (Some(alice), Some("warned"))
    );
    let later = store
        .resolve_report(first.id, carol, None, now() + 5)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(later, done, "resolving again changes nothing");
    assert_eq!(store.reports(Some(g), false).await.unwrap().len(), 1);
    assert_eq!(store.reports(Some(g), true).await.unwrap().len(), 2);
    assert_eq!(store.report(first.id).await.unwrap(), Some(done));
    assert!(store.report(MessageId::new()).await.unwrap().is_none());
    assert!(
        store
            .resolve_report(MessageId::new(), alice, None, now())
            .await
            .unwrap()
            .is_none()
    );
}

async fn channel(store: &Arc<dyn Store>, owner: UserId) -> ConversationId {
    match store
        .create_conversation(NewConversation {
            id: ConversationId::new(),
            kind: ConversationKind::Channel,
            name: Some("news".into()),
            description: Some("what happens".into()),
            creator: owner,
            members: vec![owner],
            now: now(),
        })
        .await
        .expect("create channel")
    {
        Created::New(c) => c.event().expect("an event").conv,
        Created::Existing(_) => panic!("a channel is never an existing conversation"),
    }
}

/// Subscribes `user` to `conv` through a fresh link.
async fn subscribe(
    store: &Arc<dyn Store>,
    conv: ConversationId,
    by: UserId,
    user: UserId,
) -> Committed {
    let token = format!("t{}", ConversationId::new());
    store
        .create_invite(NewInvite {
            token: token.clone(),
            conv,
            by,
            now: now(),
            expires_at: None,
            max_uses: None,
        })
        .await
        .unwrap();
    match store
        .join_by_invite(InviteJoin {
            token,
            user,
            now: now(),
            max_members: u64::MAX,
        })
        .await
        .unwrap()
    {
        Joined::New(c) => c,
        Joined::Already(_) => panic!("{user} was subscribed already"),
    }
}

/// A channel's subscribers join through links and leave without an event
/// in the channel: each change is one `membership` item in the subscriber's
/// own log, the channel's seq does not move, nobody else's log grows, and
/// the subscriber gets the channel's events from their join to their
/// departure. Subscribers cannot post; the owner can.
pub async fn channel_subscribers_come_and_go_silently_and_only_staff_post(store: Arc<dyn Store>) {
    let owner = user(&store, "owner").await;
    let sub = user(&store, "sub").await;
    let ch = channel(&store, owner).await;
    let info = store.conversation(ch).await.unwrap().unwrap();
    assert_eq!(info.kind, ConversationKind::Channel);
    assert_eq!(info.description.as_deref(), Some("what happens"));
    assert_eq!(
        info.history,
        HistoryVisibility::All,
        "subscribers read from the start"
    );
    send(&store, ch, owner, "before").await; // 2
    let owner_head = store.log_head(owner).await.unwrap();

    let joined = subscribe(&store, ch, owner, sub).await;
    let LogItem::Membership(m) = joined.item.as_ref() else {
        panic!(
            "a subscriber's join is a membership item, not {:?}",
            joined.item
        )
    };
    assert_eq!(
        (m.conv, m.user, m.change, m.by, m.seq),
        (ch, sub, natter_proto::MembershipChangeKind::Joined, sub, 2)
    );
    assert_eq!(*joined.recipients, vec![sub]);
    assert_eq!(joined.joined, vec![sub]);
    let after = store.conversation(ch).await.unwrap().unwrap();
    assert_eq!(
        (after.last_seq, after.member_count),
        (2, 2),
        "no event, one more member"
    );
    assert_eq!(
        store.membership(ch, sub).await.unwrap().unwrap().role,
        Role::Subscriber
    );
    assert!(
        store
            .log_after(owner, owner_head, 100)
            .await
            .unwrap()
            .entries
            .is_empty(),
        "the owner's log does not hear of subscribers"
    );

    assert!(matches!(
        store.append_message(message(ch, sub, "s1", "hi")).await,
        Err(StoreError::ReadOnly)
    ));
    send(&store, ch, owner, "after").await; // 3
    let left = store.leave(ch, sub, now()).await.unwrap();
    let LogItem::Membership(m) = left.item.as_ref() else {
        panic!("a subscriber's departure is a membership item")
    };
    assert_eq!(
        (m.change, m.seq),
        (natter_proto::MembershipChangeKind::Left, 3)
    );
    assert_eq!(left.left, vec![sub]);
    send(&store, ch, owner, "gone").await; // 4
    assert_eq!(
        store.conversation(ch).await.unwrap().unwrap().member_count,
        1
    );

    let log = store.log_after(sub, Cursor::START, 100).await.unwrap();
    let items: Vec<String> = log
        .entries
        .iter()
        .map(|(_, item)| match item {
            LogItem::Membership(m) => format!("{:?}", m.change),
            LogItem::Event(e) => format!("{}:{}", e.seq, text_of(e)),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        items,
        vec!["Joined", "3:after", "Left"],
        "from the join to the departure"
    );
    assert!(store.membership(ch, sub).await.unwrap().is_none());
    let owner_log = store.log_after(owner, owner_head, 100).await.unwrap();
    assert_eq!(owner_log.entries.len(), 2, "only the owner's two posts");

    // An admin removing a subscriber is silent too; so is a ban.
    let again = subscribe(&store, ch, owner, sub).await;
    assert!(matches!(again.item.as_ref(), LogItem::Membership(_)));
    let removed = store
        .remove(Removal {
            conv: ch,
            by: owner,
            user: sub,
            ban: true,
            now: now(),
        })
        .await
        .unwrap()
        .unwrap();
    let LogItem::Membership(m) = removed.item.as_ref() else {
        panic!("banning a subscriber is a membership item")
    };
    assert_eq!(
        (m.change, m.by),
        (natter_proto::MembershipChangeKind::Banned, owner)
    );
    assert_eq!(store.conversation(ch).await.unwrap().unwrap().last_seq, 4);
}

/// Views: how many members' read watermark reaches each message.
pub async fn channel_views_count_read_watermarks(store: Arc<dyn Store>) {
    let owner = user(&store, "owner").await;
    let ch = channel(&store, owner).await;
    let mut subs = Vec::new();
    for i in 0..4 {
        let u = user(&store, &format!("sub{i}")).await;
        subscribe(&store, ch, owner, u).await;
        subs.push(u);
    }
    for t in ["a", "b", "c"] {
        send(&store, ch, owner, t).await; // 2, 3, 4
    }
    let read = |u, seq| NewReceipt {
        audience: only_the_member,
        ..mark(ch, u, ReceiptKind::Read, seq)
    };
    store.set_receipt(read(subs[0], 4)).await.unwrap();
    store.set_receipt(read(subs[1], 3)).await.unwrap();
    store.set_receipt(read(subs[2], 2)).await.unwrap();
    store.set_receipt(read(owner, 4)).await.unwrap();
    assert_eq!(
        store.message_views(ch, 1, 4).await.unwrap(),
        vec![(2, 4), (3, 3), (4, 2)],
        "messages only; the created event has no views"
    );
    assert_eq!(store.message_views(ch, 3, 3).await.unwrap(), vec![(3, 3)]);
    assert!(store.message_views(ch, 5, 9).await.unwrap().is_empty());
}

/// A profile (display name, about) is stored and read back with the user,
/// in member lists and as a direct conversation's peer; the directory finds
/// users by username or display-name prefix, skipping those who are not
/// discoverable or who blocked the searcher.
pub async fn profiles_are_kept_and_the_directory_finds_discoverable_users(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let alina = user(&store, "alina").await;
    let bob = user(&store, "bob").await;
    let carol = user(&store, "carol").await;
    store
        .set_profile(
            bob,
            Some("Alfred Bobson".into()),
            Some("builds things".into()),
        )
        .await
        .unwrap();
    let b = store.user(bob).await.unwrap().unwrap();
    assert_eq!(
        (b.display_name.as_deref(), b.about.as_deref()),
        (Some("Alfred Bobson"), Some("builds things"))
    );
    let g = group(&store, alice, &[bob]).await;
    let members = store.member_list(g).await.unwrap();
    assert_eq!(members[1].display_name.as_deref(), Some("Alfred Bobson"));
    let dm = direct(&store, alice, bob).await;
    let peer = store
        .conversation_of(alice, dm)
        .await
        .unwrap()
        .unwrap()
        .peer
        .unwrap();
    assert_eq!(peer.display_name.as_deref(), Some("Alfred Bobson"));

    let names = |found: Vec<UserRecord>| found.into_iter().map(|u| u.username).collect::<Vec<_>>();
    assert_eq!(
        names(store.search_users(carol, "al".into(), 10).await.unwrap()),
        ["alice", "alina", "bob"],
        "by username prefix and by display name, case folded"
    );
    assert_eq!(
        names(store.search_users(carol, "al".into(), 2).await.unwrap()),
        ["alice", "alina"]
    );
    let hidden = Privacy {
        discoverable: false,
        ..Privacy::default()
    };
    store.set_privacy(alina, hidden).await.unwrap();
    store.block(alice, carol, now()).await.unwrap();
    assert_eq!(
        names(store.search_users(carol, "al".into(), 10).await.unwrap()),
        ["bob"],
        "alina is not discoverable and alice blocked carol"
    );
    assert_eq!(
        names(store.search_users(bob, "ali".into(), 10).await.unwrap()),
        ["alice"]
    );
    assert!(
        !store
            .user(alina)
            .await
            .unwrap()
            .unwrap()
            .privacy
            .discoverable
    );
    store.set_profile(bob, None, None).await.unwrap();
    let b = store.user(bob).await.unwrap().unwrap();
    assert_eq!((b.display_name, b.about), (None, None));
    assert!(
        store
            .search_users(carol, "alf".into(), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// A member's own settings (mute, badge, archive, pin, unread mark) are
/// kept per member, reach that member's log alone as a `settings` item,
/// filter the list (archived, pinned) and shape the badge: a muted
/// conversation with its badge hidden counts nothing, a marked one at
/// least one.
pub async fn own_conversation_settings_reach_only_my_log_and_shape_my_list(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let g = group(&store, alice, &[bob]).await;
    let dm = direct(&store, alice, bob).await;
    send(&store, g, alice, "one").await;
    send(&store, g, alice, "two").await;
    send(&store, dm, alice, "hi").await;
    assert_eq!(store.unread_total(bob).await.unwrap(), 3);
    let bob_head = store.log_head(bob).await.unwrap();
    let alice_head = store.log_head(alice).await.unwrap();
    let set = |conv, change| SettingsUpdate {
        conv,
        user: bob,
        change,
        now: 5000,
    };

    let c = store
        .set_settings(set(
            g,
            natter_proto::UpdateSettings {
                muted: Some(true),
                hide_badge: Some(true),
                pinned: Some(true),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    let LogItem::Settings(change) = c.item.as_ref() else {
        panic!("a settings item")
    };
    assert_eq!(change.conv, g);
    assert!(change.settings.muted && change.settings.hide_badge);
    assert_eq!(change.settings.pinned_at, Some(5000));
    assert_eq!(*c.recipients, vec![bob]);
    assert_eq!(
        store.unread_total(bob).await.unwrap(),
        1,
        "the muted group's badge is hidden"
    );

    let page = store.log_after(bob, bob_head, 10).await.unwrap();
    assert!(matches!(page.entries.as_slice(), [(_, LogItem::Settings(s))] if s.conv == g));
    assert!(
        store
            .log_after(alice, alice_head, 10)
            .await
            .unwrap()
            .entries
            .is_empty(),
        "nobody else hears of it"
    );
    let mine = store.conversation_of(bob, g).await.unwrap().unwrap();
    assert_eq!(mine.settings, change.settings);
    let hers = store.conversation_of(alice, g).await.unwrap().unwrap();
    assert_eq!(hers.settings, natter_proto::ConversationSettings::default());

    // Marked unread: counts one even with nothing unread.
    store
        .set_receipt(NewReceipt {
            audience: only_the_member,
            ..mark(dm, bob, ReceiptKind::Read, 2)
        })
        .await
        .unwrap();
    assert_eq!(store.unread_total(bob).await.unwrap(), 0);
    let archive_and_mark = natter_proto::UpdateSettings {
        archived: Some(true),
        marked_unread: Some(true),
        ..Default::default()
    };
    store.set_settings(set(dm, archive_and_mark)).await.unwrap();
    assert_eq!(store.unread_total(bob).await.unwrap(), 1);

    let ids = |q: ListQuery| {
        let store = store.clone();
        async move {
            store
                .conversation_page(bob, q)
                .await
                .unwrap()
                .into_iter()
                .map(|s| s.conv.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        ids(ListQuery {
            archived: Some(true),
            ..ListQuery::all()
        })
        .await,
        vec![dm]
    );
    assert_eq!(
        ids(ListQuery {
            archived: Some(false),
            ..ListQuery::all()
        })
        .await,
        vec![g]
    );
    assert_eq!(
        ids(ListQuery {
            pinned: Some(true),
            ..ListQuery::all()
        })
        .await,
        vec![g]
    );
    assert_eq!(
        ids(ListQuery {
            pinned: Some(false),
            ..ListQuery::all()
        })
        .await,
        vec![dm]
    );

    // Left-out fields keep their values; unpinning clears the time.
    let c = store
        .set_settings(set(
            g,
            natter_proto::UpdateSettings {
                pinned: Some(false),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    let LogItem::Settings(change) = c.item.as_ref() else {
        panic!("a settings item")
    };
    assert_eq!(change.settings.pinned_at, None);
    assert!(change.settings.muted, "kept");

    let stranger = user(&store, "stranger").await;
    assert!(matches!(
        store
            .set_settings(SettingsUpdate {
                user: stranger,
                ..set(g, archive_and_mark)
            })
            .await,
        Err(StoreError::NotMember)
    ));
}

/// Deleting a message for everyone keeps its seq as a `deleted` tombstone
/// (history, the log and the list show it; nobody reads the text again,
/// reports of it included), announces it with a `message_deleted` event,
/// answers a retry of the original send as a duplicate, and refuses a
/// second delete or a seq that holds no message.
pub async fn a_deleted_message_leaves_a_tombstone_and_no_text(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let g = group(&store, alice, &[bob]).await;
    let sent = send(&store, g, alice, "secret plans").await; // 2
    let id = sent.event().unwrap().message_id().unwrap();
    store
        .create_report(NewReport {
            id: MessageId::new(),
            conv: g,
            seq: 2,
            sender: alice,
            text: "secret plans".into(),
            reporter: bob,
            reason: natter_proto::ReportReason::Abuse,
            note: None,
            now: now(),
            notify: vec![Role::Owner],
        })
        .await
        .unwrap();
    let head = store.log_head(bob).await.unwrap();
    let deletion = MessageDeletion {
        conv: g,
        seq: 2,
        by: alice,
        now: 7000,
    };
    let c = store.delete_message(deletion).await.unwrap();
    let ev = c.event().unwrap();
    assert_eq!(ev.seq, 3);
    assert!(matches!(ev.body, EventBody::MessageDeleted { target: 2, id: i } if i == id));

    let history = store
        .history(HistoryRequest {
            conv: g,
            viewer: bob,
            range: HistoryRange::Latest,
            limit: 10,
        })
        .await
        .unwrap();
    let at2 = history.events.iter().find(|e| e.seq == 2).unwrap();
    assert!(
        matches!(at2.body, EventBody::Deleted { id: i, by, at: 7000, .. } if i == id && by == alice),
        "{at2:?}"
    );
    let page = store.log_after(bob, Cursor::START, 100).await.unwrap();
    for (_, item) in &page.entries {
        assert!(!format!("{item:?}").contains("secret plans"), "{item:?}");
    }
    assert!(
        matches!(&store.log_after(bob, head, 10).await.unwrap().entries[..],
            [(_, LogItem::Event(e))] if e.seq == 3)
    );
    let listed = store.conversation_of(bob, g).await.unwrap().unwrap();
    assert!(matches!(
        listed.last_message.unwrap().body,
        EventBody::Deleted { .. }
    ));
    assert_eq!(listed.unread, 0, "a tombstone is not unread");
    let reports = store.reports(Some(g), true).await.unwrap();
    assert_eq!(reports[0].text, "", "the report keeps no copy");
    let alices = store.log_after(alice, Cursor::START, 100).await.unwrap();
    let notice = alices
        .entries
        .iter()
        .find_map(|(_, i)| match i {
            LogItem::Report(r) => Some(r),
            _ => None,
        })
        .expect("the owner heard of the report");
    assert_eq!(notice.text, "", "nor does the owner's notice of it");

    let retry = store
        .append_message(NewMessage {
            id: MessageId::new(),
            ..message(g, alice, &sent_client_id(&sent), "secret plans")
        })
        .await
        .unwrap();
    assert!(matches!(retry, Appended::Duplicate(e) if e.seq == 2));
    assert!(matches!(
        store.delete_message(deletion).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .delete_message(MessageDeletion { seq: 1, ..deletion })
            .await,
        Err(StoreError::NotFound)
    ));
    let stranger = user(&store, "stranger").await;
    send(&store, g, bob, "fine").await; // 4
    assert!(matches!(
        store
            .delete_message(MessageDeletion {
                seq: 4,
                by: stranger,
                ..deletion
            })
            .await,
        Err(StoreError::NotMember)
    ));
}

fn sent_client_id(c: &Committed) -> String {
    match &c.event().unwrap().body {
        EventBody::Message { client_id, .. } => client_id.0.clone(),
        _ => panic!("not a message"),
    }
}

/// A new report goes into the logs of the conversation's members with the
/// roles the domain names and of the server's admins, once, at one
/// position; not to the reporter or anyone else; a repeated report
/// notifies nobody.
pub async fn a_new_report_reaches_the_moderators_and_admins_at_once(store: Arc<dyn Store>) {
    let owner = user(&store, "owner").await;
    let moderator = user(&store, "moderator").await;
    let member = user(&store, "member").await;
    let reporter = user(&store, "reporter").await;
    let admin = user(&store, "admin").await;
    store.set_admin(admin, true).await.unwrap();
    let g = group(&store, owner, &[moderator, member, reporter]).await;
    store
        .set_role(RoleChange {
            conv: g,
            by: owner,
            user: moderator,
            role: Role::Moderator,
            now: now(),
        })
        .await
        .unwrap();
    send(&store, g, member, "rude words").await; // 3
    let heads = [
        store.log_head(owner).await.unwrap(),
        store.log_head(moderator).await.unwrap(),
        store.log_head(member).await.unwrap(),
        store.log_head(reporter).await.unwrap(),
        store.log_head(admin).await.unwrap(),
    ];
    let new = NewReport {
        id: MessageId::new(),
        conv: g,
        seq: 3,
        sender: member,
        text: "rude words".into(),
        reporter,
        reason: natter_proto::ReportReason::Abuse,
        note: None,
        now: now(),
        notify: vec![Role::Owner, Role::Admin, Role::Moderator],
    };
    let (record, created) = store.create_report(new.clone()).await.unwrap();
    assert!(created);
    let mut positions = HashSet::new();
    for (who, head, hears) in [
        (owner, heads[0], true),
        (moderator, heads[1], true),
        (member, heads[2], false),
        (reporter, heads[3], false),
        (admin, heads[4], true),
    ] {
        let entries = store.log_after(who, head, 10).await.unwrap().entries;
        let reports: Vec<_> = entries
            .iter()
            .filter_map(|(c, i)| match i {
                LogItem::Report(r) => Some((*c, r.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(reports.len(), usize::from(hears), "{who}");
        for (cursor, r) in reports {
            assert_eq!((r.id, r.seq, r.text.as_str()), (record.id, 3, "rude words"));
            positions.insert(cursor);
        }
    }
    assert_eq!(positions.len(), 1, "one position shared by all");
    let again = store
        .create_report(NewReport {
            id: MessageId::new(),
            ..new
        })
        .await
        .unwrap();
    assert!(!again.1);
    let owner_after = store.log_after(owner, heads[0], 10).await.unwrap().entries;
    assert_eq!(owner_after.len(), 1, "a repeat notifies nobody");
}
