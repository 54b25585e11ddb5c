//! Access tokens as clients present them (`Authorization: Bearer`, the SSE
//! `access_token` query, the `hello` frame), checked by `Tokens::verify`.
//!
//! Checks: no panic; nothing verifies but a token the key issued. Inputs
//! are either any string, or a real token edited by the fuzzer (bytes
//! inserted, overwritten, removed, cut or appended), which explores the
//! strings closest to a valid one. Every refusal of a forged token is
//! `token_invalid`: `token_expired` would mean the signature was accepted.

#![no_main]

use libfuzzer_sys::fuzz_target;
use natter_proto::{DeviceId, UserId};
use natter_server::auth::Tokens;
use natter_server::error::DomainError;
use std::sync::LazyLock;
use std::time::Duration;

struct Issued {
    tokens: Tokens,
    token: String,
    user: UserId,
    device: DeviceId,
}

/// One key and one token per process; long-lived so it cannot expire
/// during a run.
static ISSUED: LazyLock<Issued> = LazyLock::new(|| {
    let tokens = Tokens::new(
        b"a key only the fuzzer knows".to_vec(),
        Duration::from_secs(10 * 365 * 24 * 3600),
    );
    let (user, device) = (UserId::new(), DeviceId::new());
    let token = tokens.issue(user, device);
    Issued {
        tokens,
        token,
        user,
        device,
    }
});

fuzz_target!(|data: &[u8]| {
    let issued = &*ISSUED;
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let candidate: Vec<u8> = if mode & 1 == 0 {
        rest.to_vec()
    } else {
        edit(issued.token.as_bytes(), mode >> 1, rest)
    };
    let Ok(candidate) = std::str::from_utf8(&candidate) else {
        return;
    };
    match issued.tokens.verify(candidate) {
        Ok(claims) => {
            assert_eq!(candidate, issued.token, "a forged token verified");
            assert_eq!((claims.user, claims.device), (issued.user, issued.device));
        }
        Err(DomainError::TokenInvalid(_)) => {
            assert_ne!(candidate, issued.token, "the issued token was refused");
        }
        Err(other) => panic!("{candidate:?} was refused as {other:?}"),
    }
});

/// Applies one edit to `token`: `op` picks insert, overwrite, remove, cut
/// or append; the first byte of `rest` is the position.
fn edit(token: &[u8], op: u8, rest: &[u8]) -> Vec<u8> {
    let mut out = token.to_vec();
    let (at, bytes) = match rest.split_first() {
        Some((&at, bytes)) => (usize::from(at) % (token.len() + 1), bytes),
        None => (0, rest),
    };
    match op % 5 {
        0 => {
            out.splice(at..at, bytes.iter().copied());
        }
        1 => {
            for (i, b) in bytes.iter().enumerate() {
                match out.get_mut(at + i) {
                    Some(slot) => *slot = *b,
                    None => out.push(*b),
                }
            }
        }
        2 => {
            let n = bytes.first().map_or(1, |&n| usize::from(n));
            let end = (at + n).min(out.len());
            out.drain(at..end);
        }
        3 => out.truncate(at),
        _ => out.extend_from_slice(bytes),
    }
    out
}
