//! The resume cursor.
//!
//! Each user has one ordered log of everything that concerns them (messages
//! and other events in their conversations from where they joined, and
//! receipts addressed to them). Every entry carries a position; positions
//! only grow along a user's log, but they are not consecutive (one sequence
//! serves the whole server, so an event has the same position in every
//! member's log and is serialised once for all of them). A device's cursor is
//! the position up to which it has seen everything: its last entry, or a
//! later position the server handed out when nothing of the user's lay in
//! between. "Give me what happened after X" is the single sync path for
//! fresh connections, reconnects, new devices and offline catch-up.
//!
//! On the wire a cursor is an opaque string. Clients store it and send it
//! back; they must not compute with it (nor expect consecutive values). The
//! empty cursor (or `"0"`) means "from the beginning".
//!
//! The server keeps a floor per user: a cursor below it cannot be served and
//! gets `resync_required` with a cursor to continue from. Upgrading a
//! database written when each user's log had its own numbering sets every
//! existing user's floor to the new head, so every cursor handed out before
//! the upgrade, and the empty cursor for a user created before it, gets
//! that answer; users created later start from the beginning as usual.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A position in a user's log. Opaque to clients.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cursor(pub u64);

impl Cursor {
    /// The position before the first entry.
    pub const START: Cursor = Cursor(0);
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A cursor string that is not one the server hands out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorParseError;

impl fmt::Display for CursorParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a valid cursor")
    }
}

impl std::error::Error for CursorParseError {}

impl FromStr for Cursor {
    type Err = CursorParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Ok(Cursor::START);
        }
        if s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CursorParseError);
        }
        s.parse::<u64>().map(Cursor).map_err(|_| CursorParseError)
    }
}

impl Serialize for Cursor {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cursor {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_text_form() {
        assert_eq!("".parse::<Cursor>().unwrap(), Cursor::START);
        assert_eq!("42".parse::<Cursor>().unwrap(), Cursor(42));
        assert!("-1".parse::<Cursor>().is_err());
        assert!("abc".parse::<Cursor>().is_err());
        assert!("99999999999999999999999".parse::<Cursor>().is_err());
        assert_eq!(serde_json::to_string(&Cursor(7)).unwrap(), "\"7\"");
        assert_eq!(serde_json::from_str::<Cursor>("\"7\"").unwrap(), Cursor(7));
    }
}
