//! Ids in paths (`/v1/users/{id}`, `/v1/conversations/{id}`,
//! `/v1/sessions/{device}`) and in JSON bodies and frames.
//!
//! Checks: no panic; an accepted id prints in the hyphenated lowercase form
//! and parses back to itself; a hyphenated id is accepted in any letter
//! case and means the same id; the JSON form agrees with the text form;
//! raw bytes round-trip through text.

#![no_main]

use libfuzzer_sys::fuzz_target;
use natter_proto::{ConversationId, UserId};

fuzz_target!(|data: &[u8]| {
    let mut raw = [0u8; 16];
    let k = data.len().min(16);
    raw[..k].copy_from_slice(&data[..k]);
    let made = ConversationId::from_bytes(raw);
    assert_eq!(made.to_string().parse::<ConversationId>().ok(), Some(made));

    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = text.parse::<UserId>();
    if let Ok(id) = parsed {
        let shown = id.to_string();
        assert_eq!(shown.len(), 36);
        assert!(
            shown
                .bytes()
                .all(|b| b == b'-' || b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        assert_eq!(shown.parse::<UserId>().ok(), Some(id));
        if text.len() == 36 {
            assert_eq!(text.to_ascii_lowercase(), shown, "{text:?}");
        }
    }
    let quoted = serde_json::to_string(text).expect("strings encode");
    assert_eq!(
        serde_json::from_str::<UserId>(&quoted).ok(),
        parsed.ok(),
        "{quoted}"
    );
});
