//! Query strings of `GET /v1/sync` and `GET /v1/conversations/{id}/events`,
//! decoded as the server's `Q` extractor does (`serde_urlencoded`).
//!
//! Checks: no panic; a decoded cursor is exactly what `Cursor::from_str`
//! makes of the (percent-decoded) `cursor` value, so the query path accepts
//! no cursor the SSE and WebSocket paths refuse; decoded queries encode and
//! decode back to themselves.

#![no_main]

use libfuzzer_sys::fuzz_target;
use natter_proto::{Cursor, HistoryQuery, SyncQuery};

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    if let Ok(q) = serde_urlencoded::from_str::<SyncQuery>(query) {
        if let Some(cursor) = q.cursor {
            let raw = pairs
                .iter()
                .find(|(k, _)| k == "cursor")
                .map(|(_, v)| v.as_str());
            assert_eq!(raw.map(str::parse::<Cursor>), Some(Ok(cursor)), "{query:?}");
        }
        let encoded = serde_urlencoded::to_string(&q).expect("queries encode");
        let back: SyncQuery = serde_urlencoded::from_str(&encoded).expect("encoded queries decode");
        assert_eq!(
            format!("{q:?}"),
            format!("{back:?}"),
            "{query:?} -> {encoded:?}"
        );
    }
    if let Ok(q) = serde_urlencoded::from_str::<HistoryQuery>(query) {
        let encoded = serde_urlencoded::to_string(&q).expect("queries encode");
        let back: HistoryQuery =
            serde_urlencoded::from_str(&encoded).expect("encoded queries decode");
        assert_eq!(
            format!("{q:?}"),
            format!("{back:?}"),
            "{query:?} -> {encoded:?}"
        );
    }
});
