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
        now: 1000,
    }
}

fn content(blob: &str, at: i64) -> UploadContent {
    UploadContent {
        blob: blob.into(),
        kind: "image".into(),
        mime: "image/jpeg".into(),
        completed_at: at,
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
        (true, true),
        "bob's still uses it"
    );
    assert_eq!(store.delete_upload(a.id).await.unwrap(), (false, false));
    assert_eq!(
        store.delete_upload(b.id).await.unwrap(),
        (true, false),
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
        attachments: vec![Attachment {
            upload: id,
            kind: MediaKind::Image,
            mime: "image/jpeg".into(),
            size: 10,
            name: None,
        }],
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
