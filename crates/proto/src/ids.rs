//! Typed identifiers. Every id on the wire is a UUID in its hyphenated text
//! form; the newtypes keep a user id from being passed where a conversation id
//! is expected.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new, time-ordered (UUIDv7) id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// The 16 raw bytes, as stored by the backends.
            pub fn as_bytes(&self) -> &[u8; 16] {
                self.0.as_bytes()
            }

            /// Rebuilds an id from its 16 raw bytes.
            pub fn from_bytes(bytes: [u8; 16]) -> Self {
                Self(Uuid::from_bytes(bytes))
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

uuid_id!(
    /// A user account.
    UserId
);
uuid_id!(
    /// A conversation: direct (two users) or group.
    ConversationId
);
uuid_id!(
    /// A message, assigned by the server when the message is committed.
    MessageId
);
uuid_id!(
    /// An upload: a file a user sent (or is sending) to attach to messages.
    UploadId
);
uuid_id!(
    /// A device session: one login on one device. Each has its own tokens
    /// and its own resume cursor.
    DeviceId
);

/// The client-chosen id that makes sending idempotent: a retry with the same
/// client id (in the same conversation, by the same user) returns the original
/// acknowledgement instead of creating a second message. Any string of 1 to 64
/// printable ASCII characters; a UUID is a good choice.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClientId(pub String);

impl ClientId {
    /// Longest accepted client id, in bytes.
    pub const MAX_LEN: usize = 64;

    /// A fresh random client id.
    pub fn random() -> Self {
        Self(Uuid::new_v4().to_string())
    }

    /// True when the id is 1..=64 printable ASCII characters.
    pub fn is_valid(&self) -> bool {
        !self.0.is_empty()
            && self.0.len() <= Self::MAX_LEN
            && self.0.bytes().all(|b| b.is_ascii_graphic())
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_text_and_bytes() {
        let id = UserId::new();
        assert_eq!(id.to_string().parse::<UserId>().unwrap(), id);
        assert_eq!(UserId::from_bytes(*id.as_bytes()), id);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
    }

    #[test]
    fn client_id_rules() {
        assert!(ClientId::random().is_valid());
        assert!(!ClientId(String::new()).is_valid());
        assert!(!ClientId("a b".into()).is_valid());
        assert!(!ClientId("x".repeat(65)).is_valid());
        assert!(ClientId("x".repeat(64)).is_valid());
    }
}
