//! `media`: upload and download throughput through natter (tus in 4 MiB
//! chunks, signed ranged downloads) beside a bare copy of the same bytes
//! (a file copy with fsync on the local backend, a direct PUT and GET on
//! the S3-compatible one), the server's resident memory while a large file
//! streams through it, and how fast pictures get their thumbnails.

use crate::client::users;
use crate::report::machine;
use crate::target::Target;
use anyhow::{Context, Result};
use image::ImageEncoder as _;
use natter_proto::{ClientId, SendMessage, UploadId};
use natter_sdk::Client;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const MIB: f64 = 1024.0 * 1024.0;

/// Where the S3 backend's bare baseline writes.
pub struct S3 {
    /// The service.
    pub url: String,
    /// The bucket the server uses too.
    pub bucket: String,
}

/// `len` bytes that do not repeat (so nothing compresses or deduplicates),
/// written to `path`.
fn random_file(path: &Path, len: u64, seed: u64) -> Result<()> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ seed;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut buf = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        for chunk in buf.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            chunk.copy_from_slice(&x.to_le_bytes());
        }
        let n = left.min(buf.len() as u64) as usize;
        out.write_all(&buf[..n])?;
        left -= n as u64;
    }
    out.flush()?;
    Ok(())
}

/// The bare write and read of `path`'s bytes: MiB/s each.
async fn bare(path: &Path, s3: Option<&S3>, name: &str) -> Result<(f64, f64)> {
    let len = std::fs::metadata(path)?.len() as f64;
    match s3 {
        None => {
            let copy = path.with_extension("copy");
            let started = Instant::now();
            std::fs::copy(path, &copy)?;
            std::fs::File::open(&copy)?.sync_all()?;
            let write = len / MIB / started.elapsed().as_secs_f64();
            let started = Instant::now();
            let mut f = std::fs::File::open(&copy)?;
            std::io::copy(&mut f, &mut std::io::sink())?;
            let read = len / MIB / started.elapsed().as_secs_f64();
            std::fs::remove_file(&copy)?;
            Ok((write, read))
        }
        Some(s3) => {
            use object_store::ObjectStoreExt as _;
            // The same S3 client natter's blob store uses, with nothing of
            // natter around it: one PUT of the whole file, one GET.
            let store = object_store::aws::AmazonS3Builder::new()
                .with_endpoint(&s3.url)
                .with_allow_http(true)
                .with_virtual_hosted_style_request(false)
                .with_bucket_name(&s3.bucket)
                .with_region("us-east-1")
                .with_access_key_id("test")
                .with_secret_access_key("test")
                .build()?;
            let key = object_store::path::Path::from(format!("bare-{name}"));
            let bytes = std::fs::read(path)?;
            let started = Instant::now();
            store.put(&key, bytes.into()).await?;
            let write = len / MIB / started.elapsed().as_secs_f64();
            let started = Instant::now();
            let mut stream = store.get(&key).await?.into_stream();
            let mut got = 0u64;
            while let Some(chunk) = futures_util::StreamExt::next(&mut stream).await {
                got += chunk?.len() as u64;
            }
            anyhow::ensure!(got as f64 == len, "the bare GET was short");
            let read = len / MIB / started.elapsed().as_secs_f64();
            store.delete(&key).await?;
            Ok((write, read))
        }
    }
}

/// Samples the server's resident memory until stopped; answers the peak.
fn sample_rss(target: &Target, stop: Arc<AtomicBool>) -> impl FnOnce() -> u64 + use<> {
    let peak = Arc::new(AtomicU64::new(target.rss().unwrap_or(0)));
    let pid_rss = target.rss_reader();
    let (p, s) = (peak.clone(), stop.clone());
    let sampler = std::thread::spawn(move || {
        while !s.load(Ordering::Relaxed) {
            if let Some(r) = pid_rss() {
                p.fetch_max(r, Ordering::Relaxed);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    move || {
        stop.store(true, Ordering::Relaxed);
        let _ = sampler.join();
        peak.load(Ordering::Relaxed)
    }
}

/// One size: natter's upload and download beside the bare copy.
async fn one_size(
    target: &Target,
    alice: &Client,
    dir: &Path,
    mib: u64,
    s3: Option<&S3>,
) -> Result<serde_json::Value> {
    // Small files go several times, so one measurement is not a few
    // milliseconds.
    let rounds = if mib >= 50 {
        1
    } else {
        (64 / mib.max(1)).max(4)
    };
    let len = mib << 20;
    let mut files: Vec<PathBuf> = Vec::new();
    for r in 0..rounds {
        let path = dir.join(format!("file-{mib}-{r}.bin"));
        random_file(&path, len, mib * 1000 + r)?;
        files.push(path);
    }
    let (mut bare_w, mut bare_r) = (0.0, 0.0);
    for (i, f) in files.iter().enumerate() {
        let (w, r) = bare(f, s3, &format!("{mib}-{i}")).await?;
        bare_w += w / rounds as f64;
        bare_r += r / rounds as f64;
    }
    let rss_before = target.rss().unwrap_or(0);
    let peak = sample_rss(target, Arc::new(AtomicBool::new(false)));
    let started = Instant::now();
    let mut ids: Vec<UploadId> = Vec::new();
    for f in &files {
        ids.push(alice.upload_file(f, None, None, |_, _| {}).await?.id);
    }
    let up = (len * rounds) as f64 / MIB / started.elapsed().as_secs_f64();
    let started = Instant::now();
    for id in &ids {
        let n = alice
            .download(*id, 0, &mut tokio::io::sink(), |_| {})
            .await?;
        anyhow::ensure!(n == len, "a download was short");
    }
    let down = (len * rounds) as f64 / MIB / started.elapsed().as_secs_f64();
    let rss_peak = peak();
    for (id, f) in ids.iter().zip(&files) {
        alice.delete_upload(*id).await?;
        std::fs::remove_file(f)?;
    }
    let round = |v: f64| (v * 10.0).round() / 10.0;
    Ok(serde_json::json!({
        "size_mib": mib,
        "files": rounds,
        "bare_write_mib_s": round(bare_w),
        "natter_upload_mib_s": round(up),
        "bare_read_mib_s": round(bare_r),
        "natter_download_mib_s": round(down),
        "server_rss_before_mib": round(rss_before as f64 / MIB),
        "server_rss_peak_mib": round(rss_peak as f64 / MIB),
    }))
}

/// A photo-like JPEG of about `megapixels` (4:3, a gradient with fine
/// noise).
fn photo(megapixels: u32) -> Result<Vec<u8>> {
    let w = ((f64::from(megapixels) * 1e6 * 4.0 / 3.0).sqrt() as u32).max(4);
    let h = w * 3 / 4;
    let mut x = 0x2545_F491u32;
    let img = image::RgbImage::from_fn(w, h, |px, py| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let n = (x & 15) as u8;
        image::Rgb([
            (px * 200 / w) as u8 + n,
            (py * 200 / h) as u8 + n,
            ((px + py) * 100 / (w + h)) as u8 + n,
        ])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85).write_image(
        img.as_raw(),
        w,
        h,
        image::ExtendedColorType::Rgb8,
    )?;
    Ok(out)
}

/// Thumbnails per second through the server, and how long one send waits
/// for its fresh picture.
async fn thumbnails(
    alice: &Client,
    bob: &Client,
    dir: &Path,
    pictures: usize,
    megapixels: u32,
) -> Result<serde_json::Value> {
    eprintln!("making a {megapixels}-megapixel photo…");
    let bytes = photo(megapixels)?;
    let path = dir.join("photo.jpg");
    std::fs::write(&path, &bytes)?;
    let mut ids = Vec::new();
    let started = Instant::now();
    for _ in 0..pictures {
        ids.push(alice.upload_file(&path, None, None, |_, _| {}).await?.id);
    }
    let uploaded = started.elapsed();
    // Each upload is processed on its own (one blob, many uploads).
    let mut pending = ids.clone();
    while !pending.is_empty() {
        let mut still = Vec::new();
        for id in pending {
            if !alice.upload_info(id).await?.details.thumbnail {
                still.push(id);
            }
        }
        pending = still;
        if !pending.is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let all = started.elapsed();
    let per_second = pictures as f64 / all.as_secs_f64();
    // One more, sent at once: the send waits for its thumbnail.
    let dm = alice.direct(bob.user_id().context("logged in")?).await?.id;
    let fresh = alice.upload_file(&path, None, None, |_, _| {}).await?.id;
    let sent = Instant::now();
    let req = SendMessage {
        attachments: vec![fresh],
        ..SendMessage::text(ClientId::random(), "")
    };
    alice.send(dm, &req).await?;
    let wait = sent.elapsed();
    Ok(serde_json::json!({
        "pictures": pictures,
        "megapixels": megapixels,
        "jpeg_bytes": bytes.len(),
        "uploads_s": (uploaded.as_secs_f64() * 100.0).round() / 100.0,
        "until_all_thumbnails_s": (all.as_secs_f64() * 100.0).round() / 100.0,
        "thumbnails_per_s": (per_second * 100.0).round() / 100.0,
        "send_with_fresh_picture_ms": wait.as_millis() as u64,
    }))
}

/// Runs the scenario.
pub async fn media(
    target: &Target,
    backend: &str,
    s3: Option<&S3>,
    sizes: &[u64],
    pictures: usize,
    megapixels: u32,
) -> Result<serde_json::Value> {
    let dir = std::env::temp_dir().join(format!("natter-bench-media-{}", ClientId::random()));
    std::fs::create_dir_all(&dir)?;
    let result = async {
        let mut clients = users(&target.url, 2).await?.into_iter();
        let (alice, bob) = (
            clients.next().context("a user")?,
            clients.next().context("a user")?,
        );
        let mut rows = Vec::new();
        for &mib in sizes {
            eprintln!("{mib} MiB on {backend}…");
            rows.push(one_size(target, &alice, &dir, mib, s3).await?);
        }
        let thumbs = if pictures > 0 {
            thumbnails(&alice, &bob, &dir, pictures, megapixels).await?
        } else {
            serde_json::Value::Null
        };
        Ok::<_, anyhow::Error>(serde_json::json!({
            "scenario": "media",
            "machine": machine(),
            "backend": backend,
            "sizes": rows,
            "thumbnails": thumbs,
        }))
    }
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}
