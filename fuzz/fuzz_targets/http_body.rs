//! The JSON bodies of the HTTP API, decoded by the server's own body
//! decoder (`transport::extract::decode_json`, what its `Json` extractor
//! runs on the body bytes), then the pure checks the server runs on them
//! before anything touches the store.
//!
//! Every body type is tried on every input, so one corpus covers them all.
//! Checks: no panic; a body that is not JSON is `malformed_frame`, JSON of
//! the wrong shape is `bad_request`, and nothing else comes out of decoding;
//! what decodes encodes back to the same JSON; the username, password and
//! client id checks never panic, whatever the strings hold.
//!
//! "JSON" is judged as in the `client_frame` target: `malformed_frame` must
//! fail serde_json's strict reading (`Value`), `bad_request` must pass its
//! grammar check (`IgnoredAny`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use natter_proto::{
    AddMembers, CreateConversation, Credentials, ErrorCode, MarkReceipt, Privacy, RefreshRequest,
    SendMessage, SetTyping,
};
use natter_server::auth::{check_password, normalize_username};
use natter_server::transport::extract::decode_json;
use serde::Serialize;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::Value;

/// Decodes `data` as `T` and checks the answer; hands on what decoded.
fn decode<T: DeserializeOwned + Serialize>(data: &[u8]) -> Option<T> {
    match decode_json::<T>(data) {
        Ok(value) => {
            assert!(serde_json::from_slice::<Value>(data).is_ok());
            let once = serde_json::to_value(&value).expect("bodies encode");
            let encoded = serde_json::to_vec(&value).expect("bodies encode");
            let back: T = decode_json(&encoded).expect("encoded bodies decode");
            assert_eq!(once, serde_json::to_value(&back).expect("bodies encode"));
            Some(value)
        }
        Err(e) if e.code == ErrorCode::MalformedFrame => {
            let strict = serde_json::from_slice::<Value>(data);
            assert!(strict.is_err(), "valid JSON called malformed: {data:?}");
            None
        }
        Err(e) if e.code == ErrorCode::BadRequest => {
            let grammatical = serde_json::from_slice::<IgnoredAny>(data).is_ok();
            assert!(
                grammatical,
                "text that is not JSON called a bad request: {data:?}"
            );
            None
        }
        Err(e) => panic!("decoding answered {:?}: {}", e.code, e.message),
    }
}

fuzz_target!(|data: &[u8]| {
    if let Some(creds) = decode::<Credentials>(data) {
        // Register and login run these on the raw fields.
        if let Ok(name) = normalize_username(&creds.username) {
            assert!(name.len() >= 3 && name.len() <= 32, "{name:?}");
            let _ = check_password(&creds.password, &name);
        }
    }
    let _ = decode::<RefreshRequest>(data);
    let _ = decode::<CreateConversation>(data);
    let _ = decode::<AddMembers>(data);
    if let Some(send) = decode::<SendMessage>(data)
        && send.client_id.is_valid()
    {
        assert!(send.client_id.0.len() <= 64);
    }
    let _ = decode::<MarkReceipt>(data);
    let _ = decode::<SetTyping>(data);
    let _ = decode::<Privacy>(data);
});
