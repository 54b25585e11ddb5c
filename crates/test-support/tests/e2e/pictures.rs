//! Pictures, recordings and avatars: what the server reads from media and
//! makes of them (sizes, BlurHash placeholders, thumbnails, durations,
//! location scrubbing, avatar squares), what it refuses (pixel floods,
//! unreadable pictures) on both blob backends, and a conversation's media.

use image::ImageEncoder as _;
use natter_proto::{
    ClientId, ConversationId, EventBody, MediaKind, MediaQuery, SendMessage, UploadId, UploadInfo,
};
use natter_test_support::TestServer;
use natter_test_support::sdk::{Client, Error, UploadOptions};
use reqwest::StatusCode;

/// Latitude 51° 30' 26.61": its last rational's numerator, as stored.
const LATITUDE: [u8; 4] = 2661u32.to_le_bytes();

/// A little-endian EXIF block whose GPS directory holds a latitude.
fn exif_with_location() -> Vec<u8> {
    let mut t = b"Exif\0\0II*\0".to_vec();
    let le16 = |t: &mut Vec<u8>, v: u16| t.extend(v.to_le_bytes());
    let le32 = |t: &mut Vec<u8>, v: u32| t.extend(v.to_le_bytes());
    le32(&mut t, 8);
    // IFD0 at 8: one entry, the GPS directory at 26.
    le16(&mut t, 1);
    le16(&mut t, 0x8825);
    le16(&mut t, 4);
    le32(&mut t, 1);
    le32(&mut t, 26);
    le32(&mut t, 0);
    // GPS IFD at 26: the latitude, 3 rationals at 44.
    le16(&mut t, 1);
    le16(&mut t, 2);
    le16(&mut t, 5);
    le32(&mut t, 3);
    le32(&mut t, 44);
    le32(&mut t, 0);
    for (n, d) in [(51u32, 1u32), (30, 1), (2661, 100)] {
        le32(&mut t, n);
        le32(&mut t, d);
    }
    t
}

/// A `w × h` JPEG photo (a colour gradient) carrying a GPS position.
fn photo(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x * 255 / w) as u8, (y * 255 / h) as u8, 128])
    });
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 85)
        .encode_image(&img)
        .unwrap();
    let exif = exif_with_location();
    let mut out = jpeg[..2].to_vec();
    out.extend([0xff, 0xe1]);
    out.extend(((exif.len() + 2) as u16).to_be_bytes());
    out.extend(&exif);
    out.extend(&jpeg[2..]);
    out
}

fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbaImage::from_fn(w, h, |x, y| {
        if x < w / 3 || x >= 2 * w / 3 {
            image::Rgba([255, 0, 0, 255])
        } else {
            image::Rgba([0, (y % 256) as u8, 255, 255])
        }
    });
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(img.as_raw(), w, h, image::ExtendedColorType::Rgba8)
        .unwrap();
    out
}

fn has(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn decode(bytes: &[u8]) -> image::DynamicImage {
    image::load_from_memory(bytes).expect("a picture")
}

async fn upload(c: &Client, bytes: &[u8], options: UploadOptions) -> Result<UploadInfo, Error> {
    let info = c.create_upload_with(bytes.len() as u64, &options).await?;
    c.upload_chunk(info.id, 0, bytes.to_vec()).await?;
    c.upload_info(info.id).await
}

fn named(name: &str, mime: &str) -> UploadOptions {
    UploadOptions {
        name: Some(name.into()),
        mime: Some(mime.into()),
        ..UploadOptions::default()
    }
}

async fn send_with(c: &Client, conv: ConversationId, ids: &[UploadId]) -> natter_proto::Event {
    let req = SendMessage {
        attachments: ids.to_vec(),
        ..SendMessage::text(ClientId::random(), "look")
    };
    let sent = c.send(conv, &req).await.unwrap();
    c.message(conv, sent.seq).await.unwrap()
}

fn attachments(e: &natter_proto::Event) -> Vec<natter_proto::Attachment> {
    match &e.body {
        EventBody::Message { meta, .. } => meta.attachments.clone(),
        other => panic!("not a message: {other:?}"),
    }
}

async fn fetch(server: &TestServer, path: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{}{path}", server.url()))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_photo_arrives_with_size_placeholder_and_thumbnail_and_without_its_location() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let mallory = server.user("mallory").await;
    let g = alice
        .create_group("trip", &[bob.user_id().unwrap()])
        .await
        .unwrap()
        .id;
    let original = photo(1200, 800);
    assert!(has(&original, &LATITUDE));

    let up = upload(&alice, &original, named("beach.jpg", "image/jpeg"))
        .await
        .unwrap();
    assert_eq!((up.complete, up.kind), (true, Some(MediaKind::Image)));
    let sent = send_with(&alice, g, &[up.id]).await;
    let a = &attachments(&sent)[0];
    assert_eq!((a.details.width, a.details.height), (Some(1200), Some(800)));
    assert!(a.details.thumbnail, "the send waited for the thumbnail");
    assert_eq!(
        a.details.blurhash.as_deref().map(str::len),
        Some(28),
        "4 × 3 components"
    );
    assert!(!a.details.animated);

    // Bob sees the same, fetches the thumbnail and the original.
    let history = bob.message(g, sent.seq).await.unwrap();
    assert_eq!(attachments(&history)[0], *a);
    let thumb = decode(&bob.thumbnail(up.id).await.unwrap().expect("a thumbnail"));
    assert_eq!((thumb.width(), thumb.height()), (320, 213));
    let mut got = Vec::new();
    bob.download(up.id, 0, &mut got, |_| {}).await.unwrap();
    assert_eq!(got.len(), original.len(), "scrubbing keeps the length");
    assert!(!has(&got, &LATITUDE), "the location left the stored photo");
    assert_eq!(decode(&got).width(), 1200, "and the picture is intact");

    // Unless the sender keeps it.
    let kept = upload(
        &alice,
        &photo(64, 48),
        UploadOptions {
            keep_location: true,
            ..named("kept.jpg", "image/jpeg")
        },
    )
    .await
    .unwrap();
    send_with(&alice, g, &[kept.id]).await;
    let mut got = Vec::new();
    bob.download(kept.id, 0, &mut got, |_| {}).await.unwrap();
    assert!(has(&got, &LATITUDE));

    // The thumbnail URL is signed like the file's: a stranger has neither,
    // and a changed signature opens nothing.
    assert!(matches!(
        mallory.media_url(up.id).await,
        Err(Error::Api { status: 404, .. })
    ));
    let url = bob.media_url(up.id).await.unwrap();
    let thumb_url = url.thumbnail_url.clone().unwrap();
    let r = fetch(&server, &thumb_url).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    let forged = thumb_url.replace("sig=", "sig=0");
    assert_eq!(
        fetch(&server, &forged).await.status(),
        StatusCode::FORBIDDEN
    );

    // The conversation's media, newest first, paged.
    let page = bob
        .media(
            g,
            &MediaQuery {
                kind: Some(MediaKind::Image),
                limit: Some(1),
                ..MediaQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].attachment.upload, kept.id);
    let older = bob
        .media(
            g,
            &MediaQuery {
                before: page.next,
                ..MediaQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(older.items[0].attachment, *a);
    assert_eq!(older.items[0].seq, sent.seq);
    assert!(matches!(
        mallory.media(g, &MediaQuery::default()).await,
        Err(Error::Api { status: 403, .. }) | Err(Error::Api { status: 404, .. })
    ));
}

/// Pixel floods, pictures that cannot be read and damaged ones, on one
/// backend.
async fn bad_pictures(server: TestServer) {
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let dm = alice.direct(bob.user_id().unwrap()).await.unwrap().id;

    // 30000 × 30000 announced by a 70-byte PNG: refused from its header.
    let mut flood = png(1, 1);
    flood[16..20].copy_from_slice(&30_000u32.to_be_bytes());
    flood[20..24].copy_from_slice(&30_000u32.to_be_bytes());
    let crc = {
        let mut h = 0xffff_ffffu32;
        for &b in &flood[12..29] {
            h ^= u32::from(b);
            for _ in 0..8 {
                h = if h & 1 == 1 {
                    (h >> 1) ^ 0xedb8_8320
                } else {
                    h >> 1
                };
            }
        }
        !h
    };
    flood[29..33].copy_from_slice(&crc.to_be_bytes());
    for (bytes, why) in [
        (flood, "a pixel flood"),
        (
            b"\x89PNG\r\n\x1a\nnot a picture".to_vec(),
            "an unreadable picture",
        ),
    ] {
        let info = alice
            .create_upload_with(bytes.len() as u64, &named("x.png", "image/png"))
            .await
            .unwrap();
        let refused = alice.upload_chunk(info.id, 0, bytes).await;
        assert!(
            matches!(refused, Err(Error::Api { status: 415, .. })),
            "{why}: {refused:?}"
        );
        assert!(
            matches!(
                alice.upload_info(info.id).await,
                Err(Error::Api { status: 404, .. })
            ),
            "{why}: the upload is gone"
        );
    }

    // A picture whose header is fine and whose pixels are cut off cannot be
    // shown: it becomes a file, offered for download only.
    let whole = png(300, 300);
    let cut = whole[..whole.len() / 2].to_vec();
    let up = upload(&alice, &cut, named("cut.png", "image/png"))
        .await
        .unwrap();
    let a = attachments(&send_with(&alice, dm, &[up.id]).await).remove(0);
    assert_eq!(
        (a.kind, a.mime.as_str()),
        (MediaKind::File, "application/octet-stream")
    );
    assert!(!a.details.thumbnail && a.details.blurhash.is_none());
    let url = bob.media_url(up.id).await.unwrap();
    assert_eq!(url.thumbnail_url, None);
    let r = fetch(&server, &url.url).await;
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
}

#[tokio::test]
async fn bad_pictures_are_refused_or_kept_as_files_on_the_local_disk() {
    bad_pictures(TestServer::start().await).await;
}

#[tokio::test]
async fn bad_pictures_are_refused_or_kept_as_files_on_s3() {
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
    bad_pictures(server).await;
}

#[tokio::test]
async fn people_and_groups_get_avatars_anyone_may_fetch() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let g = alice
        .create_group("club", &[bob.user_id().unwrap()])
        .await
        .unwrap()
        .id;
    let wide = upload(&alice, &png(300, 100), named("me.png", "image/png"))
        .await
        .unwrap();
    let mine = alice.set_avatar(wide.id).await.unwrap().avatar;
    assert_eq!(
        alice.me().await.unwrap().avatar.as_deref(),
        Some(mine.as_str())
    );

    // No token needed; cached for good (the id is the content's hash).
    for (size, side) in [("small", 64), ("large", 256)] {
        let r = fetch(&server, &format!("/v1/avatars/{mine}?size={size}")).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], "image/jpeg");
        assert!(
            r.headers()["cache-control"]
                .to_str()
                .unwrap()
                .contains("immutable")
        );
        let img = decode(&r.bytes().await.unwrap()).to_rgb8();
        assert_eq!(img.dimensions(), (side, side));
        // The centred square: blue in the middle, not the red sides.
        let p = img.get_pixel(side / 2, side / 2).0;
        assert!(p[2] > 200 && p[0] < 60, "{p:?}");
    }
    let members = bob.members(g).await.unwrap();
    let me_there = members
        .iter()
        .find(|m| Some(m.id) == alice.user_id())
        .unwrap();
    assert_eq!(me_there.avatar.as_deref(), Some(mine.as_str()));

    // The group's avatar: for those who may rename it; members see an event.
    let pic = upload(&alice, &png(120, 120), named("club.png", "image/png"))
        .await
        .unwrap();
    let group_avatar = alice.set_group_avatar(g, pic.id).await.unwrap().avatar;
    let info = bob.conversation(g).await.unwrap();
    assert_eq!(info.avatar.as_deref(), Some(group_avatar.as_str()));
    let history = bob.history(g, &Default::default()).await.unwrap();
    assert!(history.events.iter().any(|e| matches!(
        &e.body,
        EventBody::GroupUpdated { avatar: Some(a), .. } if *a == group_avatar
    )));
    let bobs = upload(&bob, &png(50, 50), named("b.png", "image/png"))
        .await
        .unwrap();
    assert!(matches!(
        bob.set_group_avatar(g, bobs.id).await,
        Err(Error::Api { status: 403, .. })
    ));
    // Someone else's upload, and something that is not a picture.
    assert!(matches!(
        bob.set_avatar(pic.id).await,
        Err(Error::Api { status: 404, .. })
    ));
    let pdf = upload(&bob, b"%PDF-1.7 minutes", named("m.pdf", "application/pdf"))
        .await
        .unwrap();
    assert!(matches!(
        bob.set_avatar(pdf.id).await,
        Err(Error::Api { status: 415, .. })
    ));

    // A new avatar replaces the old, whose squares leave the blob store.
    let tall = upload(&alice, &png(100, 300), named("me2.png", "image/png"))
        .await
        .unwrap();
    let next = alice.set_avatar(tall.id).await.unwrap().avatar;
    assert_ne!(next, mine);
    assert_eq!(
        fetch(&server, &format!("/v1/avatars/{mine}"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let key = natter_blob::BlobKey::parse(&mine).unwrap();
    assert_eq!(
        server.running().state().blobs.size(&key).await.unwrap(),
        None
    );
    alice.remove_avatar().await.unwrap();
    assert_eq!(alice.me().await.unwrap().avatar, None);
    alice.remove_group_avatar(g).await.unwrap();
    assert_eq!(bob.conversation(g).await.unwrap().avatar, None);
}

#[tokio::test]
async fn recordings_carry_their_duration_and_gifs_stay_animated() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let dm = alice.direct(bob.user_id().unwrap()).await.unwrap().id;

    // A WAV says its own length: 24000 bytes at 16000 bytes a second.
    let mut wav = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
    wav.extend(16u32.to_le_bytes());
    wav.extend([1, 0, 1, 0]);
    wav.extend(8000u32.to_le_bytes());
    wav.extend(16000u32.to_le_bytes());
    wav.extend([2, 0, 16, 0]);
    wav.extend(b"data");
    wav.extend(24000u32.to_le_bytes());
    wav.extend(vec![0u8; 24000]);
    let w = upload(&alice, &wav, named("tone.wav", "audio/wav"))
        .await
        .unwrap();
    assert_eq!(
        (w.kind, w.details.duration_ms),
        (Some(MediaKind::Audio), Some(1500))
    );

    // A browser's WebM voice note: its length as the recorder measured it.
    let mut webm = b"\x1a\x45\xdf\xa3".to_vec();
    webm.extend([7u8; 2000]);
    let v = upload(
        &alice,
        &webm,
        UploadOptions {
            voice: true,
            duration_ms: Some(4200),
            ..named("voice.webm", "audio/webm")
        },
    )
    .await
    .unwrap();
    assert_eq!(
        (
            v.kind,
            v.mime.as_deref(),
            v.details.voice,
            v.details.duration_ms
        ),
        (Some(MediaKind::Audio), Some("audio/webm"), true, Some(4200))
    );
    let bad = alice
        .create_upload_with(
            10,
            &UploadOptions {
                duration_ms: Some(0),
                ..UploadOptions::default()
            },
        )
        .await;
    assert!(matches!(bad, Err(Error::Api { status: 400, .. })));

    // An animated GIF: animated, and stored byte for byte.
    let mut gif = Vec::new();
    {
        let mut enc = image::codecs::gif::GifEncoder::new(&mut gif);
        for shade in [0u8, 200] {
            let frame = image::RgbaImage::from_pixel(16, 16, image::Rgba([shade, 0, 0, 255]));
            enc.encode_frame(image::Frame::new(frame)).unwrap();
        }
    }
    let gi = upload(&alice, &gif, named("wave.gif", "image/gif"))
        .await
        .unwrap();
    let sent = send_with(&alice, dm, &[w.id, v.id, gi.id]).await;
    let got = attachments(&bob.message(dm, sent.seq).await.unwrap());
    assert_eq!(got[0].details.duration_ms, Some(1500));
    assert!(got[1].details.voice);
    assert!(got[2].details.animated && got[2].details.thumbnail);
    let mut back = Vec::new();
    bob.download(gi.id, 0, &mut back, |_| {}).await.unwrap();
    assert!(back == gif, "the GIF is served as it was sent");

    // Over the WebSocket too: a `send` frame with attachments and no text.
    let mut ws = crate::bad_input::RawWs::open(&server).await;
    ws.hello(&alice.access_token().unwrap()).await;
    let frame = serde_json::json!({
        "type": "send", "conv": dm, "client_id": "ws-voice", "text": "",
        "attachments": [v.id],
    });
    ws.text(&frame.to_string()).await;
    let sent = loop {
        let f = ws.frame().await.expect("an answer");
        if f["type"] == "sent" {
            break f;
        }
        assert_ne!(f["type"], "error", "{f}");
    };
    let seq = sent["seq"].as_u64().unwrap();
    let got = attachments(&bob.message(dm, seq).await.unwrap());
    assert_eq!(got.len(), 1);
    assert!(got[0].details.voice);
}
