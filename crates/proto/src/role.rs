//! Roles of conversation members.

use serde::{Deserialize, Serialize};

/// What a member of a conversation is, from most to least trusted. What each
/// role may do is the server's permission policy. Not on the wire yet: no frame
/// or body carries a role until groups get roles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Role {
    /// Runs the group: today, its creator.
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
