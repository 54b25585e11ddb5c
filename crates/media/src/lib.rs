//! What natter reads from the media people send, and what it makes of
//! them: an image's size, a thumbnail, a BlurHash placeholder and avatar
//! squares ([`picture`]); the location taken out of a photo's metadata
//! ([`scrub`]); the duration of audio and video ([`duration`]).
//!
//! Everything here is synchronous and bounded: images are checked against
//! a pixel limit before any pixel is decoded (a "pixel flood" or a
//! compression bomb is refused from its header), and decoders run with an
//! allocation limit. Callers run these on a blocking thread.

pub mod blurhash;
pub mod duration;
pub mod picture;
pub mod scrub;

pub use picture::{Avatar, Header, Processed, avatar, probe, process};

/// Why a picture could not be used.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum MediaError {
    /// Its header announces more pixels than allowed.
    #[error("the image has {pixels} pixels, more than the {max} allowed")]
    TooManyPixels {
        /// What it announces.
        pixels: u64,
        /// The limit.
        max: u64,
    },
    /// It is not a picture this server reads, or it is damaged.
    #[error("the image cannot be read: {0}")]
    Unreadable(String),
}

#[cfg(test)]
mod regressions {
    use std::io::Cursor;

    /// Inputs the fuzzer found: every step runs to an answer, no panic.
    #[test]
    fn fuzzer_findings_are_answered_without_a_panic() {
        let inputs: [&[u8]; 1] = [include_bytes!("../testdata/fuzz-crash-1.bin")];
        for data in inputs {
            let _ = crate::probe(Cursor::new(data.to_vec()), 1 << 20);
            let _ = crate::process(data, 1 << 20);
            let _ = crate::avatar(data, 1 << 20);
            for mime in ["image/png", "image/jpeg", "image/gif", "image/webp"] {
                let mut f = Cursor::new(data.to_vec());
                let _ = crate::scrub::scrub_location(&mut f, mime);
            }
            for mime in [
                "video/mp4",
                "audio/mp4",
                "video/quicktime",
                "audio/ogg",
                "audio/wav",
                "audio/flac",
            ] {
                let _ = crate::duration::duration_ms(&mut Cursor::new(data), mime);
            }
        }
    }
}
