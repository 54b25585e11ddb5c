//! Roles of conversation members.

use serde::{Deserialize, Serialize};

/// What a member of a conversation is, from most to least trusted (the
/// order of the variants: `Owner < Admin < …` means "more trusted"). What
/// each role may do is the server's permission policy (docs/protocol.md
/// prints it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Role {
    /// Runs the group: exactly one per group (its creator until ownership
    /// is transferred).
    Owner,
    /// Manages members and settings.
    Admin,
    /// Keeps order: removes messages, mutes members.
    Moderator,
    /// Takes part.
    Member,
    /// Reads a broadcast channel.
    Subscriber,
}

impl Role {
    /// Every role, most trusted first.
    pub const ALL: [Role; 5] = [
        Role::Owner,
        Role::Admin,
        Role::Moderator,
        Role::Member,
        Role::Subscriber,
    ];

    /// The default role (for serde defaults).
    pub fn member() -> Role {
        Role::Member
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Whether a member of this role outranks one of `other`: only a more
    /// trusted role may act on a member (remove, ban, change their role).
    pub fn outranks(self, other: Role) -> bool {
        self < other
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Moderator => "moderator",
            Role::Member => "member",
            Role::Subscriber => "subscriber",
        }
    }
}
