//! The same behaviour on both backends: the local file system (a temporary
//! folder) and S3 (the S3-compatible server at `NATTER_TEST_S3_URL`, which
//! `.ci/run` and `scripts/test.sh` start; under CI an unset variable fails
//! the run instead of skipping).

use super::*;
use futures_util::stream;

/// The variable holding the S3-compatible server's URL.
const S3_ENV: &str = "NATTER_TEST_S3_URL";
/// Its URL when the variable is unset outside CI.
const S3_DEFAULT: &str = "http://127.0.0.1:9000";

fn s3_url() -> String {
    match std::env::var(S3_ENV) {
        Ok(v) if !v.is_empty() => v,
        _ if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) => {
            panic!("{S3_ENV} is not set: CI must start an S3-compatible server")
        }
        _ => S3_DEFAULT.to_owned(),
    }
}

/// A fresh bucket on the test S3 server (created with a plain `PUT`, which
/// the test server accepts without credentials).
async fn s3_store() -> ObjectBlobStore {
    let url = s3_url();
    let bucket = format!("natter-test-{}", uuid::Uuid::new_v4().simple());
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let mut conn = tokio::net::TcpStream::connect(&addr)
        .await
        .unwrap_or_else(|e| panic!("the S3 test server does not answer at {url}: {e}"));
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let req = format!(
        "PUT /{bucket} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    conn.write_all(req.as_bytes()).await.unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).await.unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "create bucket: {answer}"
    );
    ObjectBlobStore::open(&BlobConfig::S3 {
        endpoint: url,
        bucket,
        region: "us-east-1".into(),
        access_key: "test".into(),
        secret_key: "test".into(),
    })
    .unwrap()
}

fn local_store() -> (tempfile::TempDir, ObjectBlobStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = ObjectBlobStore::open(&BlobConfig::Local {
        root: dir.path().join("media"),
    })
    .unwrap();
    (dir, store)
}

/// Deterministic bytes that do not compress to nothing.
fn content(n: usize, seed: u8) -> Vec<u8> {
    let mut x = 0x9E37_79B9u32 ^ u32::from(seed);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

async fn stores_by_content_and_reads_back(store: &dyn BlobStore) {
    let bytes = content(12 * 1024 * 1024 + 7, 1);
    let stored = store.put(body_of(bytes.clone()), 64 << 20).await.unwrap();
    assert_eq!(stored.key, BlobKey::of(&bytes));
    assert_eq!(stored.size, bytes.len() as u64);
    assert_eq!(store.size(&stored.key).await.unwrap(), Some(stored.size));
    assert_eq!(read_all(store, &stored.key).await.unwrap(), bytes);
    // The same content again: one copy.
    let again = store.put(body_of(bytes.clone()), 64 << 20).await.unwrap();
    assert_eq!(again, stored);
    assert_eq!(store.keys().await.unwrap(), vec![stored.key.clone()]);
    // Ranges, for seeking and resumed downloads.
    let mut part = Vec::new();
    let mut s = store
        .get(&stored.key, Some(5_000_000..5_000_100))
        .await
        .unwrap();
    while let Some(c) = s.next().await {
        part.extend_from_slice(&c.unwrap());
    }
    assert_eq!(part, bytes[5_000_000..5_000_100]);
    assert!(matches!(
        store
            .get(&stored.key, Some(10..(bytes.len() as u64 + 1)))
            .await,
        Err(BlobError::BadRange)
    ));
    assert!(store.delete(&stored.key).await.unwrap());
    assert!(!store.delete(&stored.key).await.unwrap());
    assert_eq!(store.size(&stored.key).await.unwrap(), None);
    assert!(matches!(
        store.get(&stored.key, None).await,
        Err(BlobError::NotFound)
    ));
}

async fn oversize_and_broken_uploads_keep_nothing(store: &dyn BlobStore) {
    let bytes = content(3 * 1024 * 1024, 2);
    assert!(matches!(
        store.put(body_of(bytes.clone()), 1024 * 1024).await,
        Err(BlobError::TooLarge { limit: 1048576 })
    ));
    let broken = stream::iter(vec![
        Ok(Bytes::from(bytes[..1000].to_vec())),
        Err(std::io::Error::other("connection reset")),
    ])
    .boxed();
    assert!(matches!(
        store.put(broken, 1 << 30).await,
        Err(BlobError::Body(_))
    ));
    assert!(store.keys().await.unwrap().is_empty());
    assert_eq!(store.sweep_staging(0).await.unwrap(), 0, "no staging left");
}

async fn concurrent_uploads_of_the_same_content_agree(store: Arc<dyn BlobStore>) {
    let bytes = content(6 * 1024 * 1024, 3);
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let (store, bytes) = (store.clone(), bytes.clone());
            tokio::spawn(async move { store.put(body_of(bytes), 64 << 20).await })
        })
        .collect();
    let mut keys = Vec::new();
    for t in tasks {
        keys.push(t.await.unwrap().unwrap().key);
    }
    keys.dedup();
    assert_eq!(keys.len(), 1);
    assert_eq!(read_all(store.as_ref(), &keys[0]).await.unwrap(), bytes);
    assert_eq!(store.keys().await.unwrap(), keys);
}

async fn known_content_lands_under_its_name_and_a_wrong_name_keeps_nothing(store: &dyn BlobStore) {
    let bytes = content(7 * 1024 * 1024 + 3, 4);
    let key = BlobKey::of(&bytes);
    let len = bytes.len() as u64;
    let stored = store
        .put_known(&key, body_of(bytes.clone()), len)
        .await
        .unwrap();
    assert_eq!(
        stored,
        Stored {
            key: key.clone(),
            size: len
        }
    );
    assert_eq!(read_all(store, &key).await.unwrap(), bytes);
    // Again: the same answer, one copy.
    let again = store.put_known(&key, body_of(bytes.clone()), len).await;
    assert_eq!(again.unwrap(), stored);
    // Bytes that are not what the name says, or too many, or too few.
    let other = content(1024 * 1024, 5);
    let wrong = BlobKey::of(b"something else");
    for (name, body, size) in [
        (&wrong, other.clone(), other.len() as u64),
        (&BlobKey::of(&other), other.clone(), 1000),
        (
            &BlobKey::of(&other),
            other[..500].to_vec(),
            other.len() as u64,
        ),
    ] {
        assert!(store.put_known(name, body_of(body), size).await.is_err());
    }
    assert_eq!(store.keys().await.unwrap(), vec![key], "nothing else stays");
    assert_eq!(store.sweep_staging(0).await.unwrap(), 0);
}

async fn an_adopted_file_becomes_the_blob_and_leaves_its_place(store: &dyn BlobStore) {
    let dir = tempfile::tempdir().unwrap();
    let bytes = content(3 * 1024 * 1024 + 11, 6);
    let key = BlobKey::of(&bytes);
    for round in 0..2 {
        // The second time the content is there already.
        let path = dir.path().join(format!("staged-{round}"));
        std::fs::write(&path, &bytes).unwrap();
        let stored = store.adopt(&key, &path, bytes.len() as u64).await.unwrap();
        assert_eq!(stored.key, key);
        assert!(!path.exists(), "the staged file is taken over");
    }
    assert_eq!(read_all(store, &key).await.unwrap(), bytes);
    let mut part = Vec::new();
    let mut s = store.get(&key, Some(1_000_000..1_300_000)).await.unwrap();
    while let Some(c) = s.next().await {
        part.extend_from_slice(&c.unwrap());
    }
    assert!(part == bytes[1_000_000..1_300_000]);
    assert_eq!(store.keys().await.unwrap(), vec![key]);
}

#[tokio::test]
async fn local_adopted_files_become_blobs() {
    let (_dir, store) = local_store();
    an_adopted_file_becomes_the_blob_and_leaves_its_place(&store).await;
}

#[tokio::test]
async fn s3_adopted_files_become_blobs() {
    an_adopted_file_becomes_the_blob_and_leaves_its_place(&s3_store().await).await;
}

#[tokio::test]
async fn local_known_content_lands_under_its_name() {
    let (_dir, store) = local_store();
    known_content_lands_under_its_name_and_a_wrong_name_keeps_nothing(&store).await;
}

#[tokio::test]
async fn s3_known_content_lands_under_its_name() {
    known_content_lands_under_its_name_and_a_wrong_name_keeps_nothing(&s3_store().await).await;
}

#[tokio::test]
async fn local_stores_by_content_and_reads_back() {
    let (_dir, store) = local_store();
    stores_by_content_and_reads_back(&store).await;
}

#[tokio::test]
async fn local_oversize_and_broken_uploads_keep_nothing() {
    let (_dir, store) = local_store();
    oversize_and_broken_uploads_keep_nothing(&store).await;
}

#[tokio::test]
async fn local_concurrent_uploads_of_the_same_content_agree() {
    let (_dir, store) = local_store();
    concurrent_uploads_of_the_same_content_agree(Arc::new(store)).await;
}

#[tokio::test]
async fn local_blobs_are_files_under_their_hash_and_nothing_else_stays() {
    let (dir, store) = local_store();
    let stored = store.put(body_of(b"hello".to_vec()), 100).await.unwrap();
    let k = stored.key.as_str();
    let file = dir
        .path()
        .join("media/blobs")
        .join(&k[..2])
        .join(&k[2..4])
        .join(k);
    assert_eq!(std::fs::read(file).unwrap(), b"hello");
    let staging = dir.path().join("media/staging");
    let left = std::fs::read_dir(&staging).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "no staging file is left behind");
}

#[tokio::test]
async fn s3_stores_by_content_and_reads_back() {
    stores_by_content_and_reads_back(&s3_store().await).await;
}

#[tokio::test]
async fn s3_oversize_and_broken_uploads_keep_nothing() {
    oversize_and_broken_uploads_keep_nothing(&s3_store().await).await;
}

#[tokio::test]
async fn s3_concurrent_uploads_of_the_same_content_agree() {
    concurrent_uploads_of_the_same_content_agree(Arc::new(s3_store().await)).await;
}

#[test]
fn keys_are_64_lowercase_hex_digits() {
    let k = BlobKey::of(b"abc");
    assert_eq!(
        k.as_str(),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(BlobKey::parse(k.as_str()), Some(k.clone()));
    for bad in [
        "",
        "ABC",
        &k.as_str().to_uppercase(),
        &k.as_str()[1..],
        "../../etc/passwd",
    ] {
        assert!(BlobKey::parse(bad).is_none(), "{bad}");
    }
}

#[tokio::test]
async fn an_s3_service_that_does_not_answer_fails_fast_and_clearly() {
    // A port nobody listens on: what a stopped S3 server looks like.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let store = ObjectBlobStore::open(&BlobConfig::S3 {
        endpoint: format!("http://127.0.0.1:{port}"),
        bucket: "gone".into(),
        region: "us-east-1".into(),
        access_key: "test".into(),
        secret_key: "test".into(),
    })
    .unwrap();
    let started = std::time::Instant::now();
    let err = store
        .put(body_of(content(1000, 4)), 1 << 20)
        .await
        .unwrap_err();
    assert!(matches!(err, BlobError::Unavailable(_)), "{err:?}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
}
