//! What a client reads from a server: WebSocket frames, long-poll pages and
//! error bodies, decoded as the SDK does (`serde_json`). A client must not
//! panic on whatever a server (or something posing as one) sends, and what
//! decodes must encode back to the same thing.

#![no_main]

use libfuzzer_sys::fuzz_target;
use natter_proto::{ErrorResponse, ServerFrame, SyncPage};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Decodes `text` as `T`; when that works, checks that encoding and decoding
/// again gives the same JSON.
fn check<T: DeserializeOwned + Serialize>(text: &str) {
    let Ok(value) = serde_json::from_str::<T>(text) else {
        return;
    };
    let once = serde_json::to_value(&value).expect("decoded values encode");
    let encoded = serde_json::to_string(&value).expect("decoded values encode");
    let back: T = serde_json::from_str(&encoded).expect("encoded values decode");
    let twice = serde_json::to_value(&back).expect("decoded values encode");
    assert_eq!(once, twice, "round trip of {text:?}");
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check::<ServerFrame>(text);
    check::<SyncPage>(text);
    check::<ErrorResponse>(text);
});
