//! Resume cursors as clients send them: the `cursor` of `hello`, the SSE
//! `Last-Event-ID` and `cursor` query, `GET /v1/sync?cursor=`.
//!
//! Checks, against a model written independently of the parser: the empty
//! string is the start; otherwise only ASCII digits are accepted (no sign,
//! no whitespace, no other character), at most 20 of them, and the value
//! is the number they spell, never wrapped or clamped above `u64::MAX`.
//! Every cursor the server hands out parses back to itself, and the JSON
//! form (a string) agrees with the text form.

#![no_main]

use libfuzzer_sys::fuzz_target;
use natter_proto::Cursor;

/// What the text should parse to, computed digit by digit in u128 so a
/// value above `u64::MAX` is seen as such.
fn model(s: &str) -> Option<u64> {
    if s.is_empty() {
        return Some(0);
    }
    if s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value = s
        .bytes()
        .fold(0u128, |acc, b| acc * 10 + u128::from(b - b'0'));
    u64::try_from(value).ok()
}

fuzz_target!(|data: &[u8]| {
    // Whatever the bytes, as a cursor the server could have handed out.
    let mut n = [0u8; 8];
    let k = data.len().min(8);
    n[..k].copy_from_slice(&data[..k]);
    let issued = Cursor(u64::from_le_bytes(n));
    assert_eq!(issued.to_string().parse::<Cursor>(), Ok(issued));
    let json = serde_json::to_string(&issued).expect("cursors encode");
    assert_eq!(serde_json::from_str::<Cursor>(&json).ok(), Some(issued));

    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = text.parse::<Cursor>().ok().map(|c| c.0);
    assert_eq!(parsed, model(text), "{text:?}");
    // The same text inside a JSON string (escaped as needed) is the same
    // cursor; the JSON form takes nothing but strings.
    let quoted = serde_json::to_string(text).expect("strings encode");
    let from_json = serde_json::from_str::<Cursor>(&quoted).ok().map(|c| c.0);
    assert_eq!(from_json, parsed, "{quoted}");
    if let Ok(c) = serde_json::from_str::<Cursor>(text) {
        let s: String = serde_json::from_str(text).expect("a cursor in JSON is a string");
        assert_eq!(s.parse::<Cursor>(), Ok(c));
    }
});
