//! The permission policy: one table of role × action that decides who may do
//! what in a conversation. Every permission check in the server goes
//! through [`check`]; no handler compares user ids itself.
//!
//! Roles are stored per member: a group has exactly one owner (its creator
//! until ownership is transferred); the owner makes others admins,
//! moderators or members. Beyond the table, a member acts on another
//! (removes, bans, changes their role) only when their role outranks the
//! other's (`Role::outranks`), which `domain::membership` checks.

use crate::error::DomainError;
use natter_proto::{ConversationKind, Role};

/// Something a member may or may not do in a conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Add members.
    AddMembers,
    /// Remove (kick) members.
    RemoveMembers,
    /// Change other members' roles.
    ChangeRoles,
    /// Rename the group, set its description and avatar.
    EditInfo,
    /// Post messages.
    Post,
    /// Delete other people's messages.
    DeleteOthersMessages,
    /// Pin and unpin messages.
    Pin,
    /// Set what people who join later can read.
    SetHistoryVisibility,
    /// Create invite links.
    CreateInvites,
    /// Set slow mode.
    SetSlowMode,
    /// Mute members.
    MuteMembers,
    /// Mention everyone (`@everyone`, `@here`).
    MentionAll,
}

/// Column order of [`TABLE`]: the roles, most trusted first.
const ROLES: [Role; 5] = Role::ALL;

/// Who may do what in a group or channel: a row per action, a column per
/// role in the order of [`Role::ALL`] (owner, admin, moderator, member,
/// subscriber). Roles are not on the wire yet; when they are, docs/protocol.md
/// prints this table.
const TABLE: [(Action, [bool; 5]); 12] = [
    //                                  owner  admin  moder. member subscr.
    (Action::AddMembers, [true, true, false, false, false]),
    (Action::RemoveMembers, [true, true, false, false, false]),
    (Action::ChangeRoles, [true, false, false, false, false]),
    (Action::EditInfo, [true, true, false, false, false]),
    (Action::Post, [true, true, true, true, false]),
    (
        Action::DeleteOthersMessages,
        [true, true, true, false, false],
    ),
    (Action::Pin, [true, true, true, false, false]),
    (
        Action::SetHistoryVisibility,
        [true, true, false, false, false],
    ),
    (Action::CreateInvites, [true, true, false, false, false]),
    (Action::SetSlowMode, [true, true, true, false, false]),
    (Action::MuteMembers, [true, true, true, false, false]),
    (Action::MentionAll, [true, true, true, false, false]),
];

/// What a direct (one-to-one) conversation allows, whatever the role: its two
/// members post; nothing about its membership or settings changes.
fn direct_allows(action: Action) -> bool {
    matches!(action, Action::Post | Action::Pin)
}

/// True when `role` may do `action` in a conversation of `kind`.
pub fn allows(kind: ConversationKind, role: Role, action: Action) -> bool {
    if kind == ConversationKind::Direct {
        return direct_allows(action);
    }
    let col = ROLES.iter().position(|r| *r == role);
    TABLE
        .iter()
        .find(|(a, _)| *a == action)
        .zip(col)
        .is_some_and(|((_, row), col)| row[col])
}

/// Refuses with the message a client sees when the policy says no.
pub fn check(kind: ConversationKind, role: Role, action: Action) -> Result<(), DomainError> {
    if allows(kind, role, action) {
        return Ok(());
    }
    Err(DomainError::Forbidden(denied(kind, action)))
}

/// Why `action` is refused.
fn denied(kind: ConversationKind, action: Action) -> &'static str {
    match (kind, action) {
        (ConversationKind::Direct, Action::AddMembers) => {
            "direct conversations cannot get more members"
        }
        (ConversationKind::Direct, Action::MentionAll) => {
            "direct conversations have no one to mention but the other member"
        }
        (ConversationKind::Direct, _) => "direct conversations have no such setting",
        (_, Action::AddMembers) => "your role may not add members",
        (_, Action::RemoveMembers) => "your role may not remove or ban members",
        (_, Action::ChangeRoles) => "only the group's owner can change roles",
        (_, Action::CreateInvites) => "your role may not manage invite links",
        (_, Action::MuteMembers) => "your role may not mute members",
        (_, Action::SetSlowMode) => "your role may not set slow mode",
        (_, Action::EditInfo) => "your role may not change the group's name or description",
        (_, Action::SetHistoryVisibility) => "your role may not change what new members can read",
        (_, Action::Post) => "your role may not post in this conversation",
        (_, Action::Pin) => "your role may not pin messages",
        (_, Action::MentionAll) => "your role may not mention everyone",
        _ => "your role does not allow this",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_one_row() {
        for (i, (a, _)) in TABLE.iter().enumerate() {
            assert!(TABLE.iter().skip(i + 1).all(|(b, _)| b != a), "{a:?} twice");
        }
    }

    #[test]
    fn owners_may_do_everything_and_subscribers_nothing() {
        for (action, _) in TABLE {
            assert!(allows(ConversationKind::Group, Role::Owner, action));
            assert!(!allows(ConversationKind::Group, Role::Subscriber, action));
        }
    }

    #[test]
    fn members_post_but_do_not_manage() {
        let g = ConversationKind::Group;
        assert!(allows(g, Role::Member, Action::Post));
        assert!(!allows(g, Role::Member, Action::AddMembers));
        assert!(!allows(g, Role::Member, Action::DeleteOthersMessages));
        assert!(allows(g, Role::Moderator, Action::DeleteOthersMessages));
        assert!(!allows(g, Role::Moderator, Action::ChangeRoles));
    }

    #[test]
    fn direct_conversations_only_post() {
        let d = ConversationKind::Direct;
        assert!(allows(d, Role::Owner, Action::Post));
        assert!(!allows(d, Role::Owner, Action::AddMembers));
        assert_eq!(
            check(d, Role::Owner, Action::AddMembers)
                .unwrap_err()
                .to_string(),
            "direct conversations cannot get more members"
        );
        assert_eq!(
            check(ConversationKind::Group, Role::Member, Action::AddMembers)
                .unwrap_err()
                .to_string(),
            "your role may not add members"
        );
    }
}
