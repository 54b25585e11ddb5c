//! Conformance tests for upload records.

use super::user;
use crate::*;
use natter_proto::UploadId;

fn new_upload(owner: UserId, length: u64) -> NewUpload {
    NewUpload {
        id: UploadId::new(),
        owner,
        length,
        name: Some("photo.jpg".into()),
        claimed_type: Some("image/jpeg".into()),
        voice: false,
        keep_location: false,
        declared_ms: None,
        now: 1000,
    }
}

fn content(blob: &str, at: i64) -> UploadContent {
    UploadContent {
        blob: blob.into(),
        kind: "image".into(),
        mime: "image/jpeg".into(),
        completed_at: at,
        meta: None,
        thumb: None,
    }
}

/// Uploads count against their owner's quota from creation on, complete
/// once (the first content stays), and say when their blob is still
/// referenced by another upload after a deletion.
pub async fn uploads_keep_to_the_quota_complete_once_and_share_blobs(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let a = store
        .create_upload(new_upload(alice, 600), 1000)
        .await
        .unwrap();
    assert_eq!((a.owner, a.length, a.content.clone()), (alice, 600, None));
    assert_eq!(a.name.as_deref(), Some("photo.jpg"));
    assert!(matches!(
        store.create_upload(new_upload(alice, 500), 1000).await,
        Err(StoreError::Quota)
    ));
    assert_eq!(store.upload_usage(alice).await.unwrap(), 600);
    let b = store
        .create_upload(new_upload(bob, 500), 1000)
        .await
        .unwrap();

    let done = store
        .complete_upload(a.id, content("aaaa", 2000))
        .await
        .unwrap();
    assert_eq!(done.content, Some(content("aaaa", 2000)));
    let again = store
        .complete_upload(a.id, content("bbbb", 3000))
        .await
        .unwrap();
    assert_eq!(
        again.content,
        Some(content("aaaa", 2000)),
        "the first content stays"
    );
    store
        .complete_upload(b.id, content("aaaa", 2500))
        .await
        .unwrap();
    assert_eq!(
        store
            .upload(b.id)
            .await
            .unwrap()
            .unwrap()
            .content
            .unwrap()
            .blob,
        "aaaa"
    );
    assert!(matches!(
        store
            .complete_upload(UploadId::new(), content("cccc", 1))
            .await,
        Err(StoreError::NotFound)
    ));

    assert_eq!(
        store.delete_upload(a.id).await.unwrap(),
        Some(vec![]),
        "bob's still uses it"
    );
    assert_eq!(store.delete_upload(a.id).await.unwrap(), None);
    assert_eq!(
        store.delete_upload(b.id).await.unwrap(),
        Some(vec!["aaaa".to_owned()]),
        "the last one"
    );
    assert_eq!(store.upload_usage(alice).await.unwrap(), 0);
    assert!(store.upload(a.id).await.unwrap().is_none());
}

/// What the garbage collector may take: uploads older than the cutoff that
/// no message holds, never attached or whose messages were deleted.
pub async fn uploads_no_message_holds_are_collectable(store: Arc<dyn Store>) {
    use natter_proto::{Attachment, MediaKind};
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let g = super::group(&store, alice, &[bob]).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let u = store
            .create_upload(new_upload(alice, 10), 1000)
            .await
            .unwrap();
        store
            .complete_upload(u.id, content(&format!("blob{i}"), 1500))
            .await
            .unwrap();
        ids.push(u.id);
    }
    let attach = |id| MessageExtras {
        attachments: vec![Attachment::plain(id, MediaKind::Image, "image/jpeg", 10)],
        ..Default::default()
    };
    let mut held = super::message(g, alice, &natter_proto::ClientId::random().0, "a");
    held.extras = attach(ids[0]);
    store.append_message(held).await.unwrap();
    let mut dropped = super::message(g, alice, &natter_proto::ClientId::random().0, "b");
    dropped.extras = attach(ids[2]);
    let seq = match store.append_message(dropped).await.unwrap() {
        Appended::New(c) | Appended::Accepted(c) => c.event().unwrap().seq,
        Appended::Duplicate(_) => panic!("fresh"),
    };
    store
        .delete_message(MessageDeletion {
            conv: g,
            seq,
            by: alice,
            now: 2000,
        })
        .await
        .unwrap();
    let ids_of = |v: Vec<UploadRecord>| v.into_iter().map(|u| u.id).collect::<Vec<_>>();
    let mut found = ids_of(store.collectable_uploads(1001, 10).await.unwrap());
    found.sort();
    let mut want = vec![ids[1], ids[2]];
    want.sort();
    assert_eq!(found, want);
    assert!(
        store
            .collectable_uploads(1000, 10)
            .await
            .unwrap()
            .is_empty(),
        "nothing is older than the cutoff"
    );
    assert_eq!(store.collectable_uploads(1001, 1).await.unwrap().len(), 1);
}

/// Processing results stay with the upload; a thumbnail is a blob like any
/// other: deleting an upload gives back only keys nothing else holds (not
/// another upload's content, thumbnail or an avatar).
pub async fn upload_processing_and_thumbnails_share_blobs_safely(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let mut voice = new_upload(alice, 10);
    voice.voice = true;
    voice.declared_ms = Some(4200);
    let a = store.create_upload(voice, 1000).await.unwrap();
    assert!(a.voice && !a.keep_location);
    assert_eq!(a.declared_ms, Some(4200));
    let b = store
        .create_upload(new_upload(alice, 10), 1000)
        .await
        .unwrap();
    store
        .complete_upload(a.id, content("pic", 2000))
        .await
        .unwrap();
    store
        .complete_upload(b.id, content("pic", 2100))
        .await
        .unwrap();
    let waiting = store.unprocessed_uploads(10).await.unwrap();
    assert_eq!(
        waiting.iter().map(|u| u.id).collect::<Vec<_>>(),
        vec![a.id, b.id]
    );

    let done = store
        .set_upload_meta(
            a.id,
            "image".into(),
            "image/jpeg".into(),
            "{}".into(),
            Some("thumb".into()),
        )
        .await
        .unwrap()
        .unwrap();
    let c = done.content.unwrap();
    assert_eq!(
        (c.meta.as_deref(), c.thumb.as_deref()),
        (Some("{}"), Some("thumb"))
    );
    // A picture that cannot be decoded becomes a file.
    let broken = store
        .set_upload_meta(
            b.id,
            "file".into(),
            "application/octet-stream".into(),
            "{}".into(),
            None,
        )
        .await
        .unwrap()
        .unwrap()
        .content
        .unwrap();
    assert_eq!(
        (broken.kind.as_str(), broken.mime.as_str()),
        ("file", "application/octet-stream")
    );
    assert!(store.unprocessed_uploads(10).await.unwrap().is_empty());
    assert_eq!(
        store
            .set_upload_meta(
                UploadId::new(),
                "file".into(),
                "x/y".into(),
                "{}".into(),
                None
            )
            .await
            .unwrap(),
        None
    );

    // The thumbnail's key is also an avatar's square: it stays.
    store
        .put_avatar(AvatarRecord {
            id: "big".into(),
            small: "thumb".into(),
            large: "big".into(),
        })
        .await
        .unwrap();
    store
        .set_user_avatar(alice, Some("big".into()))
        .await
        .unwrap();
    assert_eq!(
        store.delete_upload(a.id).await.unwrap(),
        Some(vec![]),
        "b holds pic"
    );
    assert_eq!(
        store.delete_upload(b.id).await.unwrap(),
        Some(vec!["pic".to_owned()]),
        "the avatar holds thumb"
    );
}

/// An avatar lives while a user or a conversation shows it.
pub async fn avatars_are_released_when_nobody_shows_them(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let g = super::group(&store, alice, &[bob]).await;
    let av = AvatarRecord {
        id: "L1".into(),
        small: "S1".into(),
        large: "L1".into(),
    };
    store.put_avatar(av.clone()).await.unwrap();
    store.put_avatar(av.clone()).await.unwrap();
    assert_eq!(store.avatar("L1".into()).await.unwrap(), Some(av.clone()));
    assert_eq!(store.avatar("nope".into()).await.unwrap(), None);

    assert_eq!(
        store
            .set_user_avatar(alice, Some("L1".into()))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.user(alice).await.unwrap().unwrap().avatar.as_deref(),
        Some("L1")
    );
    let updated = store
        .update_group(GroupUpdate {
            conv: g,
            by: alice,
            name: None,
            description: None,
            history: None,
            slow_mode_secs: None,
            avatar: Some("L1".into()),
            now: 5000,
        })
        .await
        .unwrap()
        .expect("a change");
    assert!(matches!(
        &updated.event().unwrap().body,
        natter_proto::EventBody::GroupUpdated { avatar: Some(a), .. } if a == "L1"
    ));
    assert_eq!(
        store
            .conversation(g)
            .await
            .unwrap()
            .unwrap()
            .avatar
            .as_deref(),
        Some("L1")
    );
    let members = store.member_list(g).await.unwrap();
    assert_eq!(
        members
            .iter()
            .find(|m| m.id == alice)
            .unwrap()
            .avatar
            .as_deref(),
        Some("L1")
    );

    assert_eq!(
        store.set_user_avatar(alice, None).await.unwrap(),
        Some("L1".into())
    );
    assert!(
        store.release_avatar("L1".into()).await.unwrap().is_empty(),
        "the group shows it"
    );
    assert!(store.avatar("L1".into()).await.unwrap().is_some());
    store
        .update_group(GroupUpdate {
            conv: g,
            by: alice,
            name: None,
            description: None,
            history: None,
            slow_mode_secs: None,
            avatar: Some(String::new()),
            now: 6000,
        })
        .await
        .unwrap()
        .expect("a change");
    assert_eq!(store.conversation(g).await.unwrap().unwrap().avatar, None);
    let mut freed = store.release_avatar("L1".into()).await.unwrap();
    freed.sort();
    assert_eq!(freed, vec!["L1".to_owned(), "S1".to_owned()]);
    assert_eq!(store.avatar("L1".into()).await.unwrap(), None);
}

/// A conversation's media: messages with attachments, newest first, of
/// one kind when asked, from where the viewer may read, without deleted
/// or hidden ones, paged by seq.
pub async fn media_pages_follow_what_the_viewer_may_see(store: Arc<dyn Store>) {
    use natter_proto::{Attachment, MediaKind};
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let carol = user(&store, "carol").await;
    let g = super::group(&store, alice, &[bob]).await;
    let mut seqs = Vec::new();
    let mut uploads = Vec::new();
    for (i, kind) in ["image", "file", "image", "image"].into_iter().enumerate() {
        let u = store
            .create_upload(new_upload(alice, 10), 1000)
            .await
            .unwrap();
        let mut c = content(&format!("m{i}"), 1500);
        c.kind = kind.into();
        store.complete_upload(u.id, c).await.unwrap();
        let mk = MediaKind::parse(kind).unwrap();
        let mut m = super::message(g, alice, &natter_proto::ClientId::random().0, "");
        m.extras = MessageExtras {
            attachments: vec![Attachment::plain(u.id, mk, "image/jpeg", 10)],
            ..Default::default()
        };
        let seq = match store.append_message(m).await.unwrap() {
            Appended::New(c) | Appended::Accepted(c) => c.event().unwrap().seq,
            Appended::Duplicate(_) => panic!("fresh"),
        };
        seqs.push(seq);
        uploads.push(u.id);
    }
    store
        .append_message(super::message(g, alice, "plain", "no attachment"))
        .await
        .unwrap();
    let page = |viewer, kind: Option<&str>, before, limit| {
        let store = store.clone();
        let kind = kind.map(str::to_owned);
        async move {
            store
                .media_messages(g, viewer, kind, before, limit)
                .await
                .map(|v| {
                    v.into_iter()
                        .map(|m| (m.event.seq, m.uploads))
                        .collect::<Vec<_>>()
                })
        }
    };
    assert_eq!(
        page(bob, None, None, 10).await.unwrap(),
        vec![
            (seqs[3], vec![uploads[3]]),
            (seqs[2], vec![uploads[2]]),
            (seqs[1], vec![uploads[1]]),
            (seqs[0], vec![uploads[0]]),
        ]
    );
    assert_eq!(
        page(bob, Some("image"), None, 2).await.unwrap(),
        vec![(seqs[3], vec![uploads[3]]), (seqs[2], vec![uploads[2]])]
    );
    assert_eq!(
        page(bob, Some("image"), Some(seqs[2]), 2).await.unwrap(),
        vec![(seqs[0], vec![uploads[0]])]
    );
    store
        .delete_message(MessageDeletion {
            conv: g,
            seq: seqs[3],
            by: alice,
            now: 2000,
        })
        .await
        .unwrap();
    store.hide_message(bob, g, seqs[2]).await.unwrap();
    assert_eq!(
        page(bob, Some("image"), None, 10).await.unwrap(),
        vec![(seqs[0], vec![uploads[0]])],
        "deleted for everyone, hidden for bob"
    );
    assert_eq!(page(alice, Some("image"), None, 10).await.unwrap().len(), 2);
    assert!(matches!(
        page(carol, None, None, 10).await,
        Err(StoreError::NotMember)
    ));
}
