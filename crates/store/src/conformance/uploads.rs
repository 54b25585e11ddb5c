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
