//! A WebSocket text frame from a client, decoded as the gateway does.
//!
//! Checks that `ClientFrame::decode` never panics and puts every input in
//! exactly the class the protocol documents: text that is not JSON is
//! `Malformed`; a JSON object whose `type` is not a client frame type is
//! `UnknownType`; other JSON is a frame or `Invalid`. A decoded frame is a
//! JSON object with that frame's `type`, and survives encode then decode.
//!
//! "JSON" is judged twice over: `Malformed` text must fail serde_json's
//! strict reading (a `Value`, which also refuses lone surrogate escapes),
//! and `Invalid` or `UnknownType` text must pass its grammar check
//! (`IgnoredAny`). Text that follows the JSON grammar but holds what a
//! `Value` refuses (a lone surrogate escape, a number out of range) may
//! land in either class.

#![no_main]

use libfuzzer_sys::fuzz_target;
use natter_proto::{ClientFrame, FrameError};
use serde::de::IgnoredAny;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    // The gateway answers a non-UTF-8 frame itself, before decoding.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // serde_json's own judgement of whether the text is JSON at all.
    let json = serde_json::from_str::<Value>(text);
    let grammatical = serde_json::from_str::<IgnoredAny>(text).is_ok();
    match ClientFrame::decode(text) {
        Ok(frame) => {
            let v = json.expect("a decoded frame is JSON");
            let tag = v.get("type").and_then(Value::as_str);
            assert_eq!(
                tag,
                Some(type_of(&frame)),
                "decoded {frame:?} from {text:?}"
            );
            let again = serde_json::to_string(&frame).expect("frames encode");
            assert_eq!(
                ClientFrame::decode(&again),
                Ok(frame),
                "round trip of {text:?}"
            );
        }
        Err(FrameError::Malformed) => {
            assert!(json.is_err(), "valid JSON called malformed: {text:?}");
        }
        Err(FrameError::UnknownType) => {
            assert!(
                grammatical,
                "text that is not JSON called unknown: {text:?}"
            );
            let object = text
                .trim_start_matches([' ', '\t', '\n', '\r'])
                .starts_with('{');
            assert!(
                object,
                "JSON that is not an object called unknown: {text:?}"
            );
            // serde refuses an unknown tag as soon as it reads it, so the
            // rest may hold what a `Value` cannot (a number out of range).
            if let Ok(v) = json {
                let tag = v
                    .get("type")
                    .and_then(Value::as_str)
                    .expect("a string type");
                assert!(
                    !ClientFrame::TYPES.contains(&tag),
                    "known type {tag:?} called unknown"
                );
            }
        }
        Err(FrameError::Invalid(why)) => {
            assert!(
                grammatical,
                "text that is not JSON called invalid: {text:?}"
            );
            assert!(!why.is_empty());
        }
    }
});

fn type_of(frame: &ClientFrame) -> &'static str {
    match frame {
        ClientFrame::Hello { .. } => "hello",
        ClientFrame::Send { .. } => "send",
        ClientFrame::Ping => "ping",
        ClientFrame::Receipt { .. } => "receipt",
        ClientFrame::Typing { .. } => "typing",
    }
}
