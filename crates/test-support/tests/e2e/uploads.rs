//! Resumable uploads over the tus 1.0 protocol: creation, offsets,
//! resuming after a broken connection, completion into the blob store,
//! and what is refused (lies about the type, executables, oversize, over
//! quota, someone else's upload).

use natter_test_support::TestServer;
use natter_test_support::sdk::Client;
use reqwest::StatusCode;

fn token(c: &Client) -> String {
    c.access_token().expect("logged in")
}

fn b64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// `POST /v1/uploads`: the new upload's path.
async fn create(
    server: &TestServer,
    c: &Client,
    length: usize,
    name: &str,
    ty: &str,
) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/v1/uploads", server.url()))
        .bearer_auth(token(c))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", length.to_string())
        .header(
            "Upload-Metadata",
            format!("filename {},filetype {}", b64(name), b64(ty)),
        )
        .send()
        .await
        .unwrap()
}

async fn location(server: &TestServer, c: &Client, bytes: &[u8], name: &str, ty: &str) -> String {
    let r = create(server, c, bytes.len(), name, ty).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()["tus-resumable"], "1.0.0");
    assert_eq!(r.headers()["upload-offset"], "0");
    format!(
        "{}{}",
        server.url(),
        r.headers()["location"].to_str().unwrap()
    )
}

async fn patch(url: &str, c: &Client, offset: usize, bytes: &[u8]) -> reqwest::Response {
    reqwest::Client::new()
        .patch(url)
        .bearer_auth(token(c))
        .header("Tus-Resumable", "1.0.0")
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", offset.to_string())
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap()
}

async fn offset(url: &str, c: &Client) -> u64 {
    let r = reqwest::Client::new()
        .head(url)
        .bearer_auth(token(c))
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.headers()["upload-offset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

async fn info(url: &str, c: &Client) -> (StatusCode, serde_json::Value) {
    let r = reqwest::Client::new()
        .get(url)
        .bearer_auth(token(c))
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap())
}

async fn code(r: reqwest::Response) -> (StatusCode, String) {
    let status = r.status();
    let v: serde_json::Value = r.json().await.unwrap();
    (status, v["error"]["code"].as_str().unwrap_or("").to_owned())
}

/// A real PNG (a 4 × 4 picture) padded after its end to `n` bytes that do
/// not repeat from one seed to another.
fn png(n: usize, seed: u32) -> Vec<u8> {
    use image::ImageEncoder as _;
    let mut x = 0x2545_F491u32 ^ seed;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x as u8
    };
    let pixels: Vec<u8> = (0..4 * 4 * 3).map(|_| next()).collect();
    let mut v = Vec::new();
    image::codecs::png::PngEncoder::new(&mut v)
        .write_image(&pixels, 4, 4, image::ExtendedColorType::Rgb8)
        .unwrap();
    assert!(v.len() <= n, "a PNG has at least {} bytes", v.len());
    v.extend((v.len()..n).map(|_| next()));
    v
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Where a test's blobs go.
#[derive(Clone, Copy, Debug)]
enum Backend {
    Local,
    S3,
}

/// A server storing media on `backend` (a fresh bucket for S3), with
/// `tweak` applied to its configuration.
async fn server_on(
    backend: Backend,
    tweak: impl FnOnce(&mut natter_server::Config) + Send + 'static,
) -> TestServer {
    let s3 = match backend {
        Backend::Local => None,
        Backend::S3 => Some((
            natter_test_support::services::s3_url(),
            natter_test_support::services::s3_bucket().await,
        )),
    };
    TestServer::start_with(move |c| {
        if let Some((url, bucket)) = s3 {
            c.media.backend = "s3".into();
            c.media.s3_endpoint = url;
            c.media.s3_bucket = bucket;
            c.media.s3_access_key = "test".into();
            c.media.s3_secret_key = "test".into();
        }
        tweak(c);
    })
    .await
}

/// Runs a test on both blob backends: `NAME::local` and `NAME::s3`.
macro_rules! on_both_backends {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn local() {
                super::$name(super::Backend::Local).await
            }
            #[tokio::test]
            async fn s3() {
                super::$name(super::Backend::S3).await
            }
        }
    };
}

/// The bytes the blob store holds under `bytes`' hash, if any.
async fn stored(server: &TestServer, bytes: &[u8]) -> Option<Vec<u8>> {
    let key = natter_blob::BlobKey::parse(&sha256_hex(bytes)).unwrap();
    natter_blob::read_all(&*server.running().state().blobs, &key)
        .await
        .ok()
}

fn blob_file(server: &TestServer, bytes: &[u8]) -> std::path::PathBuf {
    let k = sha256_hex(bytes);
    server
        .data_dir()
        .join("media/blobs")
        .join(&k[..2])
        .join(&k[2..4])
        .join(k)
}

on_both_backends!(an_upload_arrives_in_pieces_resumes_where_the_server_is_and_lands_by_content);

async fn an_upload_arrives_in_pieces_resumes_where_the_server_is_and_lands_by_content(
    backend: Backend,
) {
    let server = server_on(backend, |_| {}).await;
    let alice = server.user("alice").await;
    let bytes = png(300_000, 1);
    let url = location(&server, &alice, &bytes, "cat.png", "image/png").await;

    let r = patch(&url, &alice, 0, &bytes[..100_000]).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(r.headers()["upload-offset"], "100000");
    assert_eq!(offset(&url, &alice).await, 100_000);
    let (status, v) = info(&url, &alice).await;
    assert_eq!(
        (status, v["complete"].as_bool()),
        (StatusCode::OK, Some(false))
    );

    // A client that lost track sends from the wrong place: told, not stored.
    let (status, c) = code(patch(&url, &alice, 50_000, &bytes[50_000..]).await).await;
    assert_eq!(
        (status, c.as_str()),
        (StatusCode::CONFLICT, "offset_mismatch")
    );
    assert_eq!(offset(&url, &alice).await, 100_000);

    let r = patch(&url, &alice, 100_000, &bytes[100_000..]).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(r.headers()["upload-offset"], "300000");
    let (_, v) = info(&url, &alice).await;
    assert_eq!(v["complete"], true);
    assert_eq!(v["kind"], "image");
    assert_eq!(v["mime"], "image/png");
    assert_eq!(v["name"], "cat.png");
    assert_eq!(stored(&server, &bytes).await.as_deref(), Some(&bytes[..]));
    let staging = std::fs::read_dir(server.data_dir().join("uploads"))
        .unwrap()
        .count();
    assert_eq!(staging, 0, "nothing is left in staging");
}

on_both_backends!(a_broken_connection_keeps_what_arrived_and_the_upload_resumes_from_there);

async fn a_broken_connection_keeps_what_arrived_and_the_upload_resumes_from_there(
    backend: Backend,
) {
    let server = server_on(backend, |_| {}).await;
    let alice = server.user("alice").await;
    let bytes = png(2_000_000, 2);
    let url = location(&server, &alice, &bytes, "big.png", "image/png").await;
    // The body stream fails after 700,000 bytes: the connection breaks.
    let first = bytes[..700_000].to_vec();
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = vec![
        Ok(first[..350_000].to_vec()),
        Ok(first[350_000..].to_vec()),
        Err(std::io::Error::other("the train went into a tunnel")),
    ];
    let broken = reqwest::Client::new()
        .patch(&url)
        .bearer_auth(token(&alice))
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", "0")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await;
    assert!(broken.is_err() || !broken.unwrap().status().is_success());
    // Resume as a tus client does: ask where the server is, send from
    // there; a 409 means a write was still landing, so ask again.
    let mut attempts = 0;
    loop {
        let at = offset(&url, &alice).await as usize;
        assert!(at <= 700_000, "{at}");
        let r = patch(&url, &alice, at, &bytes[at..]).await;
        if r.status() == StatusCode::NO_CONTENT {
            break;
        }
        assert_eq!(r.status(), StatusCode::CONFLICT);
        attempts += 1;
        assert!(attempts < 10, "never caught up with the server's offset");
    }
    assert_eq!(stored(&server, &bytes).await.as_deref(), Some(&bytes[..]));
}

on_both_backends!(lies_executables_oversize_and_other_peoples_uploads_are_refused);

async fn lies_executables_oversize_and_other_peoples_uploads_are_refused(backend: Backend) {
    let server = server_on(backend, |c| {
        c.media.max_image_bytes = 1000;
        c.media.max_file_bytes = 100_000;
        c.media.quota_bytes = 150_000;
    })
    .await;
    let alice = server.user("alice").await;
    let mallory = server.user("mallory").await;

    // A PDF that says it is a PNG.
    let pdf = b"%PDF-1.7 not a picture at all".to_vec();
    let url = location(&server, &alice, &pdf, "cat.png", "image/png").await;
    let (status, c) = code(patch(&url, &alice, 0, &pdf).await).await;
    assert_eq!(
        (status, c.as_str()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media")
    );
    assert_eq!(
        info(&url, &alice).await.0,
        StatusCode::NOT_FOUND,
        "the upload is gone"
    );
    // An executable.
    let elf = b"\x7fELF\x02\x01\x01 and the rest".to_vec();
    let url = location(&server, &alice, &elf, "tool", "application/octet-stream").await;
    let (status, c) = code(patch(&url, &alice, 0, &elf).await).await;
    assert_eq!(
        (status, c.as_str()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media")
    );
    // Too big for any file, or for an image.
    let (status, c) = code(create(&server, &alice, 100_001, "x", "text/plain").await).await;
    assert_eq!(
        (status, c.as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "file_too_large")
    );
    let big_png = png(5000, 3);
    let url = location(&server, &alice, &big_png, "b.png", "image/png").await;
    let (status, c) = code(patch(&url, &alice, 0, &big_png).await).await;
    assert_eq!(
        (status, c.as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "file_too_large")
    );
    // More bytes than announced.
    let url = location(&server, &alice, &[0u8; 10], "t.txt", "text/plain").await;
    let (status, c) = code(patch(&url, &alice, 0, b"hello, this is too long").await).await;
    assert_eq!(
        (status, c.as_str()),
        (StatusCode::BAD_REQUEST, "bad_request")
    );
    // Not the tus content type.
    let r = reqwest::Client::new()
        .patch(&url)
        .bearer_auth(token(&alice))
        .header("Upload-Offset", "0")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(code(r).await.1, "unsupported_media");
    // Someone else's upload is not there for them.
    assert_eq!(info(&url, &mallory).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        code(patch(&url, &mallory, 0, b"x").await).await.1,
        "not_found"
    );
    let r = reqwest::Client::new()
        .delete(&url)
        .bearer_auth(token(&mallory))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(offset(&url, &alice).await, 0, "still alice's, untouched");
    // The quota counts what was announced.
    let first = create(&server, &alice, 90_000, "a", "text/plain").await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let (status, c) = code(create(&server, &alice, 90_000, "b", "text/plain").await).await;
    assert_eq!(
        (status, c.as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "quota_exceeded")
    );
    // No token, no upload.
    let r = reqwest::Client::new()
        .post(format!("{}/v1/uploads", server.url()))
        .header("Upload-Length", "10")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

on_both_backends!(identical_uploads_share_one_blob_until_the_last_is_terminated);

async fn identical_uploads_share_one_blob_until_the_last_is_terminated(backend: Backend) {
    let server = server_on(backend, |_| {}).await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let bytes = png(50_000, 4);
    let a = location(&server, &alice, &bytes, "a.png", "image/png").await;
    let b = location(&server, &bob, &bytes, "b.png", "image/png").await;
    let (ra, rb) = tokio::join!(patch(&a, &alice, 0, &bytes), patch(&b, &bob, 0, &bytes));
    assert_eq!(
        (ra.status(), rb.status()),
        (StatusCode::NO_CONTENT, StatusCode::NO_CONTENT)
    );
    assert!(stored(&server, &bytes).await.is_some());
    let del = |url: String, c: String| async move {
        reqwest::Client::new()
            .delete(url)
            .bearer_auth(c)
            .header("Tus-Resumable", "1.0.0")
            .send()
            .await
            .unwrap()
            .status()
    };
    assert_eq!(del(a.clone(), token(&alice)).await, StatusCode::NO_CONTENT);
    assert!(
        stored(&server, &bytes).await.is_some(),
        "bob's upload still holds the bytes"
    );
    assert_eq!(info(&a, &alice).await.0, StatusCode::NOT_FOUND);
    assert_eq!(del(b, token(&bob)).await, StatusCode::NO_CONTENT);
    assert!(
        stored(&server, &bytes).await.is_none(),
        "the last reference is gone, and so are the bytes"
    );

    let r = reqwest::Client::new()
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/v1/uploads", server.url()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(r.headers()["tus-version"], "1.0.0");
    assert_eq!(r.headers()["tus-extension"], "creation,termination");
}

#[tokio::test]
async fn on_s3_an_upload_lands_in_the_bucket_and_a_stopped_service_fails_fast() {
    let bucket = natter_test_support::services::s3_bucket().await;
    let s3 = natter_test_support::services::s3_url();
    let server = TestServer::start_with(|c| {
        c.media.backend = "s3".into();
        c.media.s3_endpoint = s3.clone();
        c.media.s3_bucket = bucket.clone();
        c.media.s3_access_key = "test".into();
        c.media.s3_secret_key = "test".into();
    })
    .await;
    let alice = server.user("alice").await;
    let bytes = png(6_000_000, 5);
    let url = location(&server, &alice, &bytes, "s3.png", "image/png").await;
    let r = patch(&url, &alice, 0, &bytes[..3_000_000]).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = patch(&url, &alice, 3_000_000, &bytes[3_000_000..]).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (_, v) = info(&url, &alice).await;
    assert_eq!(
        (v["complete"].as_bool(), v["kind"].as_str()),
        (Some(true), Some("image"))
    );
    // The object is in the bucket under its hash, byte for byte.
    let bucket_store = natter_blob::ObjectBlobStore::open(&natter_blob::BlobConfig::S3 {
        endpoint: s3.clone(),
        bucket: bucket.clone(),
        region: "us-east-1".into(),
        access_key: "test".into(),
        secret_key: "test".into(),
    })
    .unwrap();
    let key = natter_blob::BlobKey::parse(&sha256_hex(&bytes)).unwrap();
    use natter_blob::BlobStore as _;
    assert!(
        bucket_store.keys().await.unwrap().contains(&key),
        "the picture is there (its thumbnail may be too)"
    );
    assert_eq!(
        natter_blob::read_all(&bucket_store, &key).await.unwrap(),
        bytes
    );

    // A server whose S3 service is gone: the upload's last PATCH answers
    // `unavailable` quickly, and no record claims content that is not there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let down = TestServer::start_with(|c| {
        c.media.backend = "s3".into();
        c.media.s3_endpoint = format!("http://127.0.0.1:{port}");
        c.media.s3_bucket = "gone".into();
    })
    .await;
    let bob = down.user("bob").await;
    let small = png(1000, 6);
    let url = location(&down, &bob, &small, "x.png", "image/png").await;
    let (status, c) = code(patch(&url, &bob, 0, &small).await).await;
    assert_eq!(
        (status, c.as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
    );
    let (_, v) = info(&url, &bob).await;
    assert_eq!(v["complete"], false, "nothing claims the missing content");
    assert_eq!(v["offset"], 1000, "the bytes wait on disk for a retry");
}

async fn complete_upload(
    server: &TestServer,
    c: &Client,
    bytes: &[u8],
    name: &str,
    ty: &str,
) -> String {
    let url = location(server, c, bytes, name, ty).await;
    assert_eq!(
        patch(&url, c, 0, bytes).await.status(),
        StatusCode::NO_CONTENT
    );
    url.rsplit('/').next().unwrap().to_owned()
}

async fn media_url(server: &TestServer, c: &Client, id: &str) -> (StatusCode, String) {
    let r = reqwest::Client::new()
        .get(format!("{}/v1/uploads/{id}/url", server.url()))
        .bearer_auth(token(c))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let v: serde_json::Value = r.json().await.unwrap();
    (status, v["url"].as_str().unwrap_or("").to_owned())
}

on_both_backends!(attached_files_reach_members_by_signed_url_with_ranges_and_nobody_else);

async fn attached_files_reach_members_by_signed_url_with_ranges_and_nobody_else(backend: Backend) {
    use natter_proto::{ConversationId, EventBody, SendMessage, UploadId};
    let server = server_on(backend, |_| {}).await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let mallory = server.user("mallory").await;
    let b_id = bob.user_id().unwrap();
    let group: ConversationId = alice.create_group("g", &[b_id]).await.unwrap().id;
    let picture = png(40_000, 7);
    let doc = b"%PDF-1.7 the minutes".to_vec();
    let pic_id = complete_upload(&server, &alice, &picture, "cat.png", "image/png").await;
    let doc_id = complete_upload(&server, &alice, &doc, "minutes.pdf", "application/pdf").await;
    let ids: Vec<UploadId> = [&pic_id, &doc_id]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();

    // Before it is attached, only alice may fetch it.
    assert_eq!(
        media_url(&server, &bob, &pic_id).await.0,
        StatusCode::NOT_FOUND
    );
    let sent = alice
        .send(
            group,
            &SendMessage {
                attachments: ids.clone(),
                ..SendMessage::text(natter_proto::ClientId::random(), "")
            },
        )
        .await
        .unwrap();
    let ev = bob.message(group, sent.seq).await.unwrap();
    let EventBody::Message { meta, .. } = &ev.body else {
        panic!("{ev:?}")
    };
    assert_eq!(
        meta.attachments
            .iter()
            .map(|a| (a.mime.as_str(), a.size))
            .collect::<Vec<_>>(),
        [("image/png", 40_000), ("application/pdf", doc.len() as u64)]
    );

    // Bob, a member, gets a signed URL; it needs no token.
    let (status, url) = media_url(&server, &bob, &pic_id).await;
    assert_eq!(status, StatusCode::OK);
    let full = reqwest::get(format!("{}{url}", server.url()))
        .await
        .unwrap();
    assert_eq!(full.status(), StatusCode::OK);
    assert_eq!(full.headers()["content-type"], "image/png");
    assert_eq!(full.headers()["x-content-type-options"], "nosniff");
    assert!(
        full.headers()["etag"]
            .to_str()
            .unwrap()
            .contains(&sha256_hex(&picture))
    );
    assert_eq!(full.bytes().await.unwrap().as_ref(), picture.as_slice());
    let part = reqwest::Client::new()
        .get(format!("{}{url}", server.url()))
        .header("Range", "bytes=100-199")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.headers()["content-range"], "bytes 100-199/40000");
    assert_eq!(part.bytes().await.unwrap().as_ref(), &picture[100..200]);
    // Not a picture: offered as a download, never shown inline.
    let (_, doc_url) = media_url(&server, &bob, &doc_id).await;
    let r = reqwest::get(format!("{}{doc_url}", server.url()))
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "application/octet-stream");
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );

    // A stranger gets no URL; a forged or altered one is refused.
    assert_eq!(
        media_url(&server, &mallory, &pic_id).await.0,
        StatusCode::NOT_FOUND
    );
    let forged = url.replace("sig=", "sig=00");
    let r = reqwest::get(format!("{}{forged}", server.url()))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let later = url.replace("exp=", "exp=9");
    let r = reqwest::get(format!("{}{later}", server.url()))
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "the expiry is signed too"
    );
    // Someone else's upload cannot be attached.
    let err = bob
        .send(
            group,
            &SendMessage {
                attachments: vec![ids[0]],
                ..SendMessage::text(natter_proto::ClientId::random(), "mine now")
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(natter_proto::ErrorCode::NotFound));
    // A link is bound to whom it was issued: bob's link with mallory's id
    // is refused.
    let bobs_link = media_url(&server, &bob, &pic_id).await.1;
    let bob_id = b_id.to_string();
    let as_mallory = bobs_link.replace(&bob_id, &mallory.user_id().unwrap().to_string());
    assert_ne!(as_mallory, bobs_link);
    let r = reqwest::get(format!("{}{as_mallory}", server.url()))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Once bob is removed, he gets no new URL, and the one he holds stops
    // working at once (not when it expires).
    alice.remove_member(group, b_id).await.unwrap();
    assert_eq!(
        media_url(&server, &bob, &pic_id).await.0,
        StatusCode::NOT_FOUND
    );
    let r = reqwest::get(format!("{}{bobs_link}", server.url()))
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::NOT_FOUND,
        "a removed member's old link"
    );
}

#[tokio::test]
async fn the_sdk_uploads_resumes_and_downloads_files_in_chunks() {
    use natter_proto::SendMessage;
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("holiday.png");
    let bytes = png(9 * 1024 * 1024 + 123, 8);
    std::fs::write(&path, &bytes).unwrap();

    // Interrupted after the first chunk: the rest resumes from the server's offset.
    let started = alice
        .create_upload(bytes.len() as u64, Some("holiday.png"), Some("image/png"))
        .await
        .unwrap();
    let first = natter_test_support::sdk::CHUNK;
    assert_eq!(
        alice
            .upload_chunk(started.id, 0, bytes[..first].to_vec())
            .await
            .unwrap(),
        first as u64
    );
    let mut seen = Vec::new();
    let done = alice
        .upload_file(&path, Some("image/png"), Some(started.id), |at, _| {
            seen.push(at)
        })
        .await
        .unwrap();
    assert!(done.complete);
    assert_eq!(
        seen.first(),
        Some(&(first as u64)),
        "it picked up where the server was"
    );
    assert_eq!(seen.last(), Some(&(bytes.len() as u64)));

    let dm = alice.direct(bob.user_id().unwrap()).await.unwrap().id;
    alice
        .send(
            dm,
            &SendMessage {
                attachments: vec![done.id],
                ..SendMessage::text(natter_proto::ClientId::random(), "look")
            },
        )
        .await
        .unwrap();
    let mut got = Vec::new();
    let n = bob.download(done.id, 0, &mut got, |_| {}).await.unwrap();
    assert_eq!(n, bytes.len() as u64);
    assert!(got == bytes, "the download is byte for byte the file");
    // A download that stopped halfway continues from its last byte.
    let mut rest = Vec::new();
    bob.download(done.id, 5_000_000, &mut rest, |_| {})
        .await
        .unwrap();
    assert!(rest == bytes[5_000_000..]);
}

/// Uploads no message holds leave, with their bytes, once the grace is
/// over; what a message holds stays.
async fn garbage_is_collected(server: TestServer, on_disk: bool) {
    use natter_proto::{SendMessage, UploadId};
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let dm = alice.direct(bob.user_id().unwrap()).await.unwrap().id;
    let kept = png(30_000, 10);
    let never = png(30_000, 11);
    let deleted = png(30_000, 12);
    let ids: Vec<UploadId> = [
        complete_upload(&server, &alice, &kept, "kept.png", "image/png").await,
        complete_upload(&server, &alice, &never, "never.png", "image/png").await,
        complete_upload(&server, &alice, &deleted, "deleted.png", "image/png").await,
    ]
    .iter()
    .map(|s| s.parse().unwrap())
    .collect();
    // Half an upload, abandoned.
    let half = location(&server, &alice, &png(20_000, 13), "half.png", "image/png").await;
    patch(&half, &alice, 0, &png(20_000, 13)[..5_000]).await;
    let attach = |id: UploadId| SendMessage {
        attachments: vec![id],
        ..SendMessage::text(natter_proto::ClientId::random(), "")
    };
    alice.send(dm, &attach(ids[0])).await.unwrap();
    let gone = alice.send(dm, &attach(ids[2])).await.unwrap();
    alice.delete_message(dm, gone.seq).await.unwrap();

    let state = server.running().state();
    // Every picture has its thumbnail by now (a send waits for its own).
    natter_server::domain::pictures::settled(state, &ids, std::time::Duration::from_secs(30))
        .await
        .unwrap();
    let kept_thumb = state
        .store
        .upload(ids[0])
        .await
        .unwrap()
        .unwrap()
        .content
        .unwrap()
        .thumb;
    let kept_thumb = kept_thumb.expect("a thumbnail was made");
    let later = natter_server::auth::now_ms() + 1000;
    let collected = natter_server::domain::media::collect_garbage(state, later)
        .await
        .unwrap();
    assert_eq!(
        (collected.uploads, collected.blobs),
        (3, 4),
        "two pictures and their thumbnails"
    );
    let mut keys: Vec<String> = state
        .blobs
        .keys()
        .await
        .unwrap()
        .iter()
        .map(|k| k.to_string())
        .collect();
    keys.sort();
    let mut want = vec![sha256_hex(&kept), kept_thumb];
    want.sort();
    assert_eq!(keys, want, "only the held bytes remain");
    if on_disk {
        assert!(blob_file(&server, &kept).exists());
        assert!(
            !blob_file(&server, &never).exists(),
            "the bytes left the disk"
        );
        assert!(!blob_file(&server, &deleted).exists());
        let staging = std::fs::read_dir(server.data_dir().join("uploads"))
            .unwrap()
            .count();
        assert_eq!(staging, 0, "the abandoned half is gone too");
    }
    assert_eq!(
        media_url(&server, &bob, &ids[0].to_string()).await.0,
        StatusCode::OK
    );
    assert_eq!(info(&half, &alice).await.0, StatusCode::NOT_FOUND);
    // A second run finds nothing more.
    let again = natter_server::domain::media::collect_garbage(state, later)
        .await
        .unwrap();
    assert_eq!((again.uploads, again.blobs), (0, 0));
}

#[tokio::test]
async fn the_collector_removes_what_no_message_holds_from_the_disk() {
    let server = TestServer::start_with(|c| c.media.unattached_grace_secs = 0).await;
    garbage_is_collected(server, true).await;
}

#[tokio::test]
async fn the_collector_removes_what_no_message_holds_from_the_bucket() {
    let bucket = natter_test_support::services::s3_bucket().await;
    let s3 = natter_test_support::services::s3_url();
    let server = TestServer::start_with(|c| {
        c.media.unattached_grace_secs = 0;
        c.media.backend = "s3".into();
        c.media.s3_endpoint = s3;
        c.media.s3_bucket = bucket;
        c.media.s3_access_key = "test".into();
        c.media.s3_secret_key = "test".into();
    })
    .await;
    garbage_is_collected(server, false).await;
}
