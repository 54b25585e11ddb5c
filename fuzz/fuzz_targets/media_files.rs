//! Files as uploads deliver them to `natter-media`: picture headers,
//! whole pictures (thumbnail, placeholder, avatar), location scrubbing and
//! recording durations, on any bytes.
//!
//! Checks beyond "no panic": a picture is refused when its header
//! announces more pixels than allowed, and what is accepted stays within
//! the limit; a thumbnail is a JPEG of at most 320 pixels a side; avatar
//! squares are exactly 64 and 256 pixels; scrubbing never changes a file's
//! length.

#![no_main]

use libfuzzer_sys::fuzz_target;
use natter_media::MediaError;
use std::io::Cursor;

/// Small, so a hostile header cannot make one run slow.
const MAX_PIXELS: u64 = 1 << 20;

const PICTURES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];
const RECORDINGS: [&str; 6] = [
    "video/mp4",
    "audio/mp4",
    "video/quicktime",
    "audio/ogg",
    "audio/wav",
    "audio/flac",
];

fn side(bytes: &[u8]) -> (u32, u32) {
    let img = image::load_from_memory_with_format(bytes, image::ImageFormat::Jpeg)
        .expect("what natter makes is a JPEG");
    (img.width(), img.height())
}

fuzz_target!(|data: &[u8]| {
    match natter_media::probe(Cursor::new(data.to_vec()), MAX_PIXELS) {
        Ok(h) => assert!(u64::from(h.width) * u64::from(h.height) <= MAX_PIXELS),
        Err(MediaError::TooManyPixels { pixels, max }) => assert!(pixels > max),
        Err(MediaError::Unreadable(_)) => {}
    }
    if let Ok(p) = natter_media::process(data, MAX_PIXELS) {
        assert!(u64::from(p.width) * u64::from(p.height) <= MAX_PIXELS);
        let (w, h) = side(&p.thumbnail);
        assert!(w <= 320 && h <= 320 && w > 0 && h > 0);
        assert!(!p.blurhash.is_empty());
    }
    if let Ok(a) = natter_media::avatar(data, MAX_PIXELS) {
        assert_eq!(side(&a.small), (64, 64));
        assert_eq!(side(&a.large), (256, 256));
    }
    for mime in PICTURES {
        let mut file = Cursor::new(data.to_vec());
        let _ = natter_media::scrub::scrub_location(&mut file, mime).expect("in memory");
        assert_eq!(file.into_inner().len(), data.len());
    }
    for mime in RECORDINGS {
        let _ = natter_media::duration::duration_ms(&mut Cursor::new(data), mime);
    }
});
