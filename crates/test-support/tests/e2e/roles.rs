//! Roles and moderation in groups: the permission matrix, removal that
//! stops delivery at once on every transport, bans, and ownership.

use crate::transports::SseReader;
use crate::*;
use natter_proto::{
    CreateInvite, Departure, ErrorCode, EventBody, HistoryQuery, HistoryVisibility, MemberQuery,
    ReportMessage, ReportReason, Role, UpdateGroup, UserId,
};
use natter_test_support::sdk::{ConnectOptions, Error};
use natter_test_support::{PASSWORD, TestServer};

fn code<T: std::fmt::Debug>(r: Result<T, Error>) -> ErrorCode {
    r.expect_err("refused").code().expect("an API error")
}

/// The people of one permission case: an owner, an admin, a moderator, a
/// member and a target member in a group; an outsider; a banned user; and
/// someone to add.
struct Cast {
    owner: Client,
    admin: Client,
    moderator: Client,
    member: Client,
    target: Client,
    outsider: Client,
    banned: Client,
    newcomer: Client,
}

impl Cast {
    async fn new(server: &TestServer) -> Cast {
        Cast {
            owner: server.user("owner").await,
            admin: server.user("admin").await,
            moderator: server.user("mod").await,
            member: server.user("member").await,
            target: server.user("target").await,
            outsider: server.user("outsider").await,
            banned: server.user("banned").await,
            newcomer: server.user("new").await,
        }
    }

    fn id(c: &Client) -> UserId {
        c.user_id().unwrap()
    }

    /// A fresh group with everyone in their role and `banned` banned.
    async fn group(&self) -> ConversationId {
        let members: Vec<UserId> = [&self.admin, &self.moderator, &self.member, &self.target]
            .into_iter()
            .map(Cast::id)
            .collect();
        let g = self.owner.create_group("roles", &members).await.unwrap().id;
        self.owner
            .set_role(g, Cast::id(&self.admin), Role::Admin)
            .await
            .unwrap();
        self.owner
            .set_role(g, Cast::id(&self.moderator), Role::Moderator)
            .await
            .unwrap();
        self.owner.ban(g, Cast::id(&self.banned)).await.unwrap();
        g
    }

    fn actor(&self, name: &str) -> &Client {
        match name {
            "owner" => &self.owner,
            "admin" => &self.admin,
            "moderator" => &self.moderator,
            "member" => &self.member,
            "outsider" => &self.outsider,
            "banned" => &self.banned,
            other => panic!("no actor {other}"),
        }
    }
}

/// What the group looks like: members with roles, bans, and its settings.
type GroupState = (
    Vec<(UserId, Role)>,
    Vec<UserId>,
    Option<String>,
    Option<HistoryVisibility>,
);

async fn state_of(owner: &Client, g: ConversationId) -> GroupState {
    let info = owner.conversation(g).await.unwrap();
    let members = owner
        .members(g)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.id, m.role))
        .collect();
    let bans = owner
        .bans(g)
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.user.id)
        .collect();
    (members, bans, info.name, info.history)
}

/// Every management action by every role, an outsider and a banned user:
/// allowed exactly as docs/protocol.md's matrix says, refused with the
/// typed error otherwise, and a refusal changes nothing.
#[tokio::test]
async fn the_permission_matrix_holds_for_every_role() {
    let server = TestServer::start().await;
    let cast = Cast::new(&server).await;
    let actions = [
        "add", "remove", "ban", "unban", "set_role", "transfer", "bans", "rename", "history",
        "invite", "mute", "slowmode",
    ];
    // owner, admin, moderator, member, outsider, banned
    let allowed: [(&str, [bool; 4]); 12] = [
        ("add", [true, true, false, false]),
        ("remove", [true, true, false, false]),
        ("ban", [true, true, false, false]),
        ("unban", [true, true, false, false]),
        ("set_role", [true, false, false, false]),
        ("transfer", [true, false, false, false]),
        ("bans", [true, true, false, false]),
        ("rename", [true, true, false, false]),
        ("history", [true, true, false, false]),
        ("invite", [true, true, false, false]),
        ("mute", [true, true, true, false]),
        ("slowmode", [true, true, true, false]),
    ];
    for action in actions {
        let row = allowed.iter().find(|(a, _)| *a == action).unwrap().1;
        for (i, who) in [
            "owner",
            "admin",
            "moderator",
            "member",
            "outsider",
            "banned",
        ]
        .into_iter()
        .enumerate()
        {
            let g = cast.group().await;
            let before = state_of(&cast.owner, g).await;
            let actor = cast.actor(who);
            let target = Cast::id(&cast.target);
            let result: Result<(), Error> = match action {
                "add" => actor
                    .add_members(g, &[Cast::id(&cast.newcomer)])
                    .await
                    .map(drop),
                "remove" => actor.remove_member(g, target).await.map(drop),
                "ban" => actor.ban(g, target).await.map(drop),
                "unban" => actor.unban(g, Cast::id(&cast.banned)).await,
                "set_role" => actor.set_role(g, target, Role::Moderator).await.map(drop),
                "transfer" => actor.transfer_ownership(g, target).await.map(drop),
                "bans" => actor.bans(g).await.map(drop),
                "mute" => actor.mute(g, target, 600).await.map(drop),
                "slowmode" => actor
                    .update_group(
                        g,
                        &UpdateGroup {
                            slow_mode_secs: Some(10),
                            ..UpdateGroup::default()
                        },
                    )
                    .await
                    .map(drop),
                "invite" => actor
                    .create_invite(g, &CreateInvite::default())
                    .await
                    .map(drop),
                "rename" => actor
                    .update_group(
                        g,
                        &UpdateGroup {
                            name: Some(format!("renamed by {who}")),
                            ..UpdateGroup::default()
                        },
                    )
                    .await
                    .map(drop),
                "history" => actor
                    .update_group(
                        g,
                        &UpdateGroup {
                            history: Some(HistoryVisibility::All),
                            ..UpdateGroup::default()
                        },
                    )
                    .await
                    .map(drop),
                _ => unreachable!(),
            };
            let expected = if i >= 4 {
                Some(ErrorCode::NotMember)
            } else if row[i] {
                None
            } else {
                Some(ErrorCode::Forbidden)
            };
            match (expected, result) {
                (None, Ok(())) => {}
                (Some(code), Err(e)) => {
                    assert_eq!(e.code(), Some(code), "{who} {action}: {e:?}");
                    assert_eq!(
                        state_of(&cast.owner, g).await,
                        before,
                        "{who} {action} was refused but changed something"
                    );
                }
                (expected, got) => panic!("{who} {action}: expected {expected:?}, got {got:?}"),
            }
        }
    }
}

/// Beyond the matrix: a member acts only on members below their role; the
/// owner's role moves only by transfer; nobody acts on themselves.
#[tokio::test]
async fn members_act_only_on_roles_below_their_own() {
    let server = TestServer::start().await;
    let cast = Cast::new(&server).await;
    let g = cast.group().await;
    let (owner, admin) = (Cast::id(&cast.owner), Cast::id(&cast.admin));
    let second = server.user("admin2").await;
    let second_id = Cast::id(&second);
    cast.owner.add_members(g, &[second_id]).await.unwrap();
    cast.owner
        .set_role(g, second_id, Role::Admin)
        .await
        .unwrap();

    assert_eq!(
        code(cast.admin.remove_member(g, owner).await),
        ErrorCode::Forbidden
    );
    assert_eq!(
        code(cast.admin.remove_member(g, second_id).await),
        ErrorCode::Forbidden
    );
    assert_eq!(code(cast.admin.ban(g, owner).await), ErrorCode::Forbidden);
    // An admin removes a moderator.
    cast.admin
        .remove_member(g, Cast::id(&cast.moderator))
        .await
        .unwrap();
    assert_eq!(
        code(cast.owner.set_role(g, admin, Role::Owner).await),
        ErrorCode::BadRequest
    );
    assert_eq!(
        code(cast.owner.set_role(g, owner, Role::Member).await),
        ErrorCode::BadRequest
    );
    assert_eq!(
        code(cast.owner.remove_member(g, owner).await),
        ErrorCode::BadRequest
    );
    assert_eq!(
        code(cast.owner.remove_member(g, Cast::id(&cast.outsider)).await),
        ErrorCode::NotFound
    );
    // The owner cannot leave while others remain, until ownership moves.
    assert_eq!(code(cast.owner.leave(g).await), ErrorCode::Forbidden);
    let moved = cast.owner.transfer_ownership(g, admin).await.unwrap();
    assert!(
        matches!(moved.body, EventBody::OwnershipTransferred { from, to } if from == owner && to == admin)
    );
    let roles = state_of(&cast.admin, g).await.0;
    assert!(roles.contains(&(admin, Role::Owner)));
    assert!(roles.contains(&(owner, Role::Admin)));
    assert_eq!(cast.admin.conversation(g).await.unwrap().role, Role::Owner);
    cast.owner.leave(g).await.unwrap();
    assert_eq!(code(cast.admin.leave(g).await), ErrorCode::Forbidden);
}

/// A removed member's WebSocket, SSE stream and waiting long-poll each get
/// the `member_removed` event and then nothing more of the group.
#[tokio::test]
async fn removal_stops_delivery_at_once_on_every_transport() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let b_id = bob.user_id().unwrap();
    let g = alice.create_group("club", &[b_id]).await.unwrap().id;
    let dm = alice.direct(b_id).await.unwrap().id;
    let token = bob.access_token().unwrap();
    let mut ws = connect(&bob).await;
    let mut sse = SseReader::open(&server.url(), &token, None).await;
    let backlog = sse.deliveries(2).await; // the two creations
    let head = backlog[1].cursor;
    let poll = {
        let bob = bob.clone();
        tokio::spawn(async move { bob.sync(Some(head), Some(10), None).await })
    };

    let Departure::Event(removed) = alice.remove_member(g, b_id).await.unwrap() else {
        panic!("removing a group member writes an event")
    };
    assert!(matches!(removed.body, EventBody::MemberRemoved { user } if user == b_id));
    assert_eq!(
        event_in(&mut ws, g).await,
        removed,
        "the WebSocket hears it"
    );
    let on_sse = sse.deliveries(1).await;
    assert_eq!(on_sse[0].item.event(), Some(&removed));
    let polled = poll.await.unwrap().unwrap();
    assert_eq!(polled.deliveries[0].item.event(), Some(&removed));

    alice
        .send_message(g, &ClientId::random(), "not for bob")
        .await
        .unwrap();
    let marker = assert_no_message_pending(&mut ws, &alice, dm).await;
    let next = sse.deliveries(1).await;
    assert_eq!(next[0].item.event(), Some(&marker), "SSE skips the group");
    let after = bob.sync(Some(polled.cursor), Some(0), None).await.unwrap();
    let events: Vec<_> = after
        .deliveries
        .iter()
        .filter_map(|d| d.item.event())
        .collect();
    assert_eq!(events, [&marker], "long-poll skips the group");
    assert_eq!(
        code(
            bob.send_message(g, &ClientId::random(), "let me back")
                .await
        ),
        ErrorCode::NotMember
    );
    ws.close().await;
}

/// A banned user cannot be added back, by anyone, until unbanned; the ban
/// list says who banned whom; the member list pages with roles.
#[tokio::test]
async fn a_ban_keeps_someone_out_until_lifted() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let carol = server.user("carol").await;
    let (a_id, b_id, c_id) = (
        alice.user_id().unwrap(),
        bob.user_id().unwrap(),
        carol.user_id().unwrap(),
    );
    let g = alice.create_group("club", &[b_id, c_id]).await.unwrap().id;
    alice.set_role(g, c_id, Role::Admin).await.unwrap();
    let ban = alice.ban(g, b_id).await.unwrap();
    assert_eq!((ban.user.id, ban.by), (b_id, a_id));
    assert_eq!(
        alice.ban(g, b_id).await.unwrap(),
        ban,
        "banning again: the same ban"
    );
    assert_eq!(code(bob.conversation(g).await), ErrorCode::NotMember);
    assert_eq!(code(alice.add_members(g, &[b_id]).await), ErrorCode::Banned);
    assert_eq!(code(carol.add_members(g, &[b_id]).await), ErrorCode::Banned);
    assert_eq!(carol.bans(g).await.unwrap(), std::slice::from_ref(&ban));
    let page = alice
        .member_page(
            g,
            &MemberQuery {
                limit: Some(1),
                after: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(page.members.len(), 1);
    assert_eq!(
        (page.members[0].id, page.members[0].role),
        (a_id, Role::Owner)
    );
    let rest = alice
        .member_page(
            g,
            &MemberQuery {
                limit: Some(5),
                after: page.next.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        rest.members
            .iter()
            .map(|m| (m.id, m.role))
            .collect::<Vec<_>>(),
        [(c_id, Role::Admin)]
    );
    assert!(rest.next.is_none());

    carol.unban(g, b_id).await.unwrap();
    carol.unban(g, b_id).await.unwrap();
    assert!(alice.bans(g).await.unwrap().is_empty());
    alice.add_members(g, &[b_id]).await.unwrap();
    assert_eq!(bob.conversation(g).await.unwrap().role, Role::Member);
}

/// `PATCH /v1/conversations/{id}`: the owner and admins rename the group,
/// describe it and choose what people who join later may read; members
/// may not; bad values are refused and change nothing. A newcomer under
/// `all` reads the whole history over HTTP, while their log starts where
/// they joined.
#[tokio::test]
async fn group_settings_and_what_newcomers_may_read() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let carol = server.user("carol").await;
    let (b_id, c_id) = (bob.user_id().unwrap(), carol.user_id().unwrap());
    let g = alice.create_group("club", &[b_id]).await.unwrap().id;
    for i in 0..3 {
        alice
            .send_message(g, &ClientId::random(), &format!("old {i}"))
            .await
            .unwrap();
    }
    let rename = |name: &str| UpdateGroup {
        name: Some(name.to_owned()),
        ..UpdateGroup::default()
    };
    assert_eq!(
        code(bob.update_group(g, &rename("mine")).await),
        ErrorCode::Forbidden
    );
    alice.set_role(g, b_id, Role::Admin).await.unwrap();
    let info = bob
        .update_group(
            g,
            &UpdateGroup {
                name: Some("Book club".into()),
                description: Some("We read.\nThen we talk.".into()),
                history: Some(HistoryVisibility::All),
                slow_mode_secs: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(info.name.as_deref(), Some("Book club"));
    assert_eq!(info.description.as_deref(), Some("We read.\nThen we talk."));
    assert_eq!(info.history, Some(HistoryVisibility::All));
    let page = alice.history(g, &HistoryQuery::default()).await.unwrap();
    let last = page.events.last().unwrap();
    assert!(matches!(
        &last.body,
        EventBody::GroupUpdated { name: Some(n), history: Some(HistoryVisibility::All), .. }
            if n == "Book club"
    ));

    let before = alice.conversation(g).await.unwrap();
    for (body, why) in [
        (serde_json::json!({}), "nothing to change"),
        (serde_json::json!({"name": "  "}), "a blank name"),
        (
            serde_json::json!({"description": "x".repeat(1025)}),
            "too long",
        ),
        (
            serde_json::json!({"description": "a\u{202E}b"}),
            "a bidi override",
        ),
        (
            serde_json::json!({"history": {"visible": "days", "days": 0}}),
            "zero days",
        ),
        (
            serde_json::json!({"history": {"visible": "forever"}}),
            "an unknown setting",
        ),
        (serde_json::json!({"colour": "red"}), "an unknown field"),
    ] {
        let r = reqwest::Client::new()
            .patch(format!("{}/v1/conversations/{g}", server.url()))
            .bearer_auth(alice.access_token().unwrap())
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{why}");
    }
    assert_eq!(
        alice.conversation(g).await.unwrap(),
        before,
        "nothing changed"
    );

    // Carol joins under "all": history from seq 1, log from her joining.
    alice.add_members(g, &[c_id]).await.unwrap();
    let hers = carol.conversation(g).await.unwrap();
    assert_eq!(hers.visible_from, 1);
    let all = carol
        .history(
            g,
            &HistoryQuery {
                after: Some(0),
                ..HistoryQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(all.events.first().map(|e| e.seq), Some(1));
    assert!(all.events.iter().any(|e| text(e) == Some("old 0")));
    let synced = carol.sync(None, None, None).await.unwrap();
    assert!(
        synced
            .deliveries
            .iter()
            .filter_map(|d| d.item.event())
            .all(|e| text(e).is_none()),
        "no old message is pushed into her log"
    );
}

/// Invite links: owners and admins make, list and revoke them; anyone
/// signed in previews one without joining and joins with it (members hear
/// `member_joined` live); a used-up or revoked link answers like an
/// unknown one; a banned user cannot get in with a link.
#[tokio::test]
async fn invite_links_let_people_join_until_revoked_or_used_up() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let carol = server.user("carol").await;
    let mallory = server.user("mallory").await;
    let (b_id, c_id) = (bob.user_id().unwrap(), carol.user_id().unwrap());
    let g = alice.create_group("readers", &[b_id]).await.unwrap().id;
    assert_eq!(
        code(bob.create_invite(g, &CreateInvite::default()).await),
        ErrorCode::Forbidden,
        "a member may not make links"
    );
    assert_eq!(
        code(
            alice
                .create_invite(
                    g,
                    &CreateInvite {
                        max_uses: Some(0),
                        ..CreateInvite::default()
                    }
                )
                .await
        ),
        ErrorCode::BadRequest
    );
    let once = alice
        .create_invite(
            g,
            &CreateInvite {
                max_uses: Some(1),
                expires_in_secs: Some(3600),
            },
        )
        .await
        .unwrap();
    assert_eq!(once.token.len(), 22, "128 random bits, base64url");
    assert!(once.expires_at.unwrap() > once.created_at);

    let preview = carol.invite_preview(&once.token).await.unwrap();
    assert_eq!(
        (
            preview.conv,
            preview.name.as_str(),
            preview.member_count,
            preview.member
        ),
        (g, "readers", 2, false)
    );
    assert_eq!(
        code(carol.conversation(g).await),
        ErrorCode::NotMember,
        "a preview joins nothing"
    );

    let mut a = connect(&alice).await;
    let joined = carol.join_invite(&once.token).await.unwrap();
    assert_eq!(
        (joined.id, joined.member_count, joined.role),
        (g, 3, Role::Member)
    );
    let heard = event_in(&mut a, g).await;
    assert!(matches!(heard.body, EventBody::MemberJoined { user } if user == c_id));
    // A member sees where a used-up link leads; joining again changes
    // nothing and uses nothing.
    assert!(carol.invite_preview(&once.token).await.unwrap().member);
    assert_eq!(
        carol.join_invite(&once.token).await.unwrap().member_count,
        3
    );
    assert_eq!(alice.invites(g).await.unwrap()[0].uses, 1);
    // Used up: answers like an unknown link.
    assert_eq!(
        code(mallory.invite_preview(&once.token).await),
        ErrorCode::NotFound
    );
    assert_eq!(
        code(mallory.join_invite(&once.token).await),
        ErrorCode::NotFound
    );
    assert_eq!(
        code(mallory.join_invite("no-such-token").await),
        ErrorCode::NotFound
    );
    assert_eq!(
        code(mallory.join_invite("../../v1/me").await),
        ErrorCode::NotFound
    );

    let open = alice
        .create_invite(g, &CreateInvite::default())
        .await
        .unwrap();
    alice.ban(g, mallory.user_id().unwrap()).await.unwrap();
    assert_eq!(
        code(mallory.join_invite(&open.token).await),
        ErrorCode::Banned
    );
    alice.revoke_invite(g, &open.token).await.unwrap();
    assert_eq!(
        code(alice.revoke_invite(g, &open.token).await),
        ErrorCode::NotFound
    );
    let dave = server.user("dave").await;
    assert_eq!(
        code(dave.join_invite(&open.token).await),
        ErrorCode::NotFound
    );
    assert_eq!(
        alice
            .invites(g)
            .await
            .unwrap()
            .iter()
            .map(|i| i.token.as_str())
            .collect::<Vec<_>>(),
        [once.token.as_str()],
        "revoked links are not listed"
    );
    a.close().await;
}

/// Per-user limits on what a spammer repeats: sends, new groups, invite
/// links and add-member calls, and joins. Past each, `429 rate_limited`
/// with the seconds to wait, and nothing is written; other users are not
/// affected.
#[tokio::test]
async fn spam_limits_answer_rate_limited_and_write_nothing() {
    let server = TestServer::start_with(|c| {
        c.limits.sends_per_minute = 3;
        c.limits.group_creates_per_hour = 2;
        c.limits.invites_per_hour = 2;
        c.limits.joins_per_hour = 1;
    })
    .await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let b_id = bob.user_id().unwrap();
    let limited = |e: Error| {
        assert_eq!(e.code(), Some(ErrorCode::RateLimited), "{e:?}");
        match e {
            Error::Api { retry_after, .. } => assert!(retry_after.is_some_and(|s| s >= 1)),
            other => panic!("{other:?}"),
        }
    };

    let g = alice.create_group("one", &[b_id]).await.unwrap().id;
    alice.create_group("two", &[]).await.unwrap();
    limited(alice.create_group("three", &[]).await.unwrap_err());
    assert_eq!(
        alice.conversations().await.unwrap().len(),
        2,
        "no third group"
    );
    bob.create_group("bob's own", &[]).await.unwrap();

    for i in 0..3 {
        alice
            .send_message(g, &ClientId::random(), &format!("m{i}"))
            .await
            .unwrap();
    }
    limited(
        alice
            .send_message(g, &ClientId::random(), "one too many")
            .await
            .unwrap_err(),
    );
    let texts: Vec<_> = alice
        .history(g, &HistoryQuery::default())
        .await
        .unwrap()
        .events
        .iter()
        .filter_map(|e| text(e).map(str::to_owned))
        .collect();
    assert_eq!(texts, ["m0", "m1", "m2"]);
    bob.send_message(g, &ClientId::random(), "bob is not limited")
        .await
        .unwrap();

    let link = alice
        .create_invite(g, &CreateInvite::default())
        .await
        .unwrap();
    let carol = server.user("carol").await;
    alice
        .add_members(g, &[carol.user_id().unwrap()])
        .await
        .unwrap();
    limited(
        alice
            .create_invite(g, &CreateInvite::default())
            .await
            .unwrap_err(),
    );
    let dave = server.user("dave").await;
    dave.join_invite(&link.token).await.unwrap();
    let other = bob.create_group("bob's second", &[]).await.unwrap().id;
    let other_link = bob
        .create_invite(other, &CreateInvite::default())
        .await
        .unwrap();
    limited(dave.join_invite(&other_link.token).await.unwrap_err());
    assert_eq!(code(dave.conversation(other).await), ErrorCode::NotMember);
}

/// A server admin suspends an account: its live connections close at
/// once, its tokens stop working, logging in is refused with
/// `account_suspended` (only to someone who knows the password), and
/// lifting the suspension lets it back in. Non-admins may not suspend, and
/// admins cannot be suspended.
#[tokio::test]
async fn a_suspension_ends_every_session_at_once_and_blocks_login() {
    let server = TestServer::start().await;
    let admin = server.user("admin").await;
    let bob = server.user("bob").await;
    let b_id = bob.user_id().unwrap();
    let a_id = admin.user_id().unwrap();
    assert!(!admin.me().await.unwrap().admin);
    assert_eq!(code(admin.suspend(b_id).await), ErrorCode::Forbidden);
    server
        .running()
        .state()
        .store
        .set_admin(a_id, true)
        .await
        .unwrap();
    assert!(admin.me().await.unwrap().admin);

    let mut live = bob.connect(ConnectOptions::new()).await.unwrap();
    loop {
        match live.next_event(WAIT).await {
            Some(LiveEvent::Synced { .. }) => break,
            Some(_) => {}
            None => panic!("bob never synced"),
        }
    }
    let suspended = admin.suspend(b_id).await.unwrap();
    assert_eq!(suspended.user.id, b_id);
    assert_eq!(
        admin.suspend(b_id).await.unwrap(),
        suspended,
        "again: the same"
    );
    loop {
        match live.next_event(WAIT).await {
            Some(LiveEvent::SessionGone) => break,
            Some(_) => {}
            None => panic!("bob's socket stayed open"),
        }
    }
    match bob.conversations().await {
        Err(Error::SessionGone) => {}
        Err(e) => assert_eq!(e.code(), Some(ErrorCode::SessionRevoked), "{e:?}"),
        Ok(list) => panic!("a suspended account still reads: {list:?}"),
    }
    let username = bob.session().unwrap().username;
    let login = Client::login(&server.url(), &username, PASSWORD, None).await;
    assert_eq!(code(login), ErrorCode::AccountSuspended);
    let wrong = Client::login(&server.url(), &username, "not the password at all", None).await;
    assert_eq!(
        code(wrong),
        ErrorCode::InvalidCredentials,
        "no hint without the password"
    );

    assert_eq!(code(admin.suspend(a_id).await), ErrorCode::BadRequest);
    let other_admin = server.user("admin2").await;
    server
        .running()
        .state()
        .store
        .set_admin(other_admin.user_id().unwrap(), true)
        .await
        .unwrap();
    assert_eq!(
        code(admin.suspend(other_admin.user_id().unwrap()).await),
        ErrorCode::Forbidden
    );

    admin.unsuspend(b_id).await.unwrap();
    let back = Client::login(&server.url(), &username, PASSWORD, None)
        .await
        .unwrap();
    back.conversations().await.unwrap();
}

/// A member reports someone else's message; the group's moderators (not
/// its members) list and resolve the report; a server admin sees every
/// report; nobody reports their own message or one they cannot see, and
/// someone outside the group learns nothing of its reports.
#[tokio::test]
async fn reports_reach_moderators_and_admins_and_are_resolved() {
    let server = TestServer::start().await;
    let owner = server.user("owner").await;
    let spammer = server.user("spammer").await;
    let member = server.user("member").await;
    let moderator = server.user("mod").await;
    let outsider = server.user("outsider").await;
    let ids: Vec<UserId> = [&spammer, &member, &moderator]
        .iter()
        .map(|c| c.user_id().unwrap())
        .collect();
    let g = owner.create_group("club", &ids).await.unwrap().id;
    owner.set_role(g, ids[2], Role::Moderator).await.unwrap();
    let spam = spammer
        .send_message(g, &ClientId::random(), "buy cheap watches")
        .await
        .unwrap();
    let req = |seq, note: Option<&str>| ReportMessage {
        seq,
        reason: ReportReason::Spam,
        note: note.map(str::to_owned),
    };
    let report = member
        .report(g, &req(spam.seq, Some("again")))
        .await
        .unwrap();
    assert_eq!(
        (
            report.seq,
            report.sender,
            report.text.as_str(),
            report.reporter
        ),
        (spam.seq, ids[0], "buy cheap watches", ids[1])
    );
    assert_eq!(
        member.report(g, &req(spam.seq, None)).await.unwrap(),
        report,
        "once"
    );
    assert_eq!(
        code(spammer.report(g, &req(spam.seq, None)).await),
        ErrorCode::BadRequest
    );
    assert_eq!(
        code(member.report(g, &req(1, None)).await),
        ErrorCode::NotFound,
        "not a message"
    );
    assert_eq!(
        code(member.report(g, &req(99, None)).await),
        ErrorCode::NotFound
    );
    assert_eq!(
        code(outsider.report(g, &req(spam.seq, None)).await),
        ErrorCode::NotMember
    );

    assert_eq!(
        code(member.reports(Some(g), false).await),
        ErrorCode::Forbidden
    );
    assert_eq!(
        moderator.reports(Some(g), false).await.unwrap(),
        std::slice::from_ref(&report)
    );
    assert_eq!(
        code(moderator.reports(None, false).await),
        ErrorCode::Forbidden,
        "admins only"
    );
    assert_eq!(
        code(outsider.resolve_report(report.id, None).await),
        ErrorCode::NotFound
    );
    assert_eq!(
        code(member.resolve_report(report.id, None).await),
        ErrorCode::Forbidden
    );
    let done = moderator
        .resolve_report(report.id, Some("removed them".into()))
        .await
        .unwrap();
    assert_eq!(done.resolved_by, Some(ids[2]));
    assert_eq!(done.resolution.as_deref(), Some("removed them"));
    assert!(moderator.reports(Some(g), false).await.unwrap().is_empty());
    assert_eq!(
        moderator.reports(Some(g), true).await.unwrap(),
        std::slice::from_ref(&done)
    );

    // A server admin outside the group sees and resolves every report.
    let admin = server.user("admin").await;
    server
        .running()
        .state()
        .store
        .set_admin(admin.user_id().unwrap(), true)
        .await
        .unwrap();
    let second = owner.report(g, &req(spam.seq, None)).await.unwrap();
    assert_eq!(
        admin
            .reports(None, false)
            .await
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect::<Vec<_>>(),
        [second.id]
    );
    assert_eq!(admin.reports(None, true).await.unwrap().len(), 2);
    admin.resolve_report(second.id, None).await.unwrap();
    assert!(admin.reports(None, false).await.unwrap().is_empty());
}

/// Moderators mute a member (their sends answer `muted` with the seconds
/// left, nothing stored, until unmuted) and set slow mode (a member's
/// second message within the gap answers `rate_limited`; moderators and
/// above are exempt); both are events every member sees.
#[tokio::test]
async fn mute_and_slow_mode_hold_back_members_not_moderators() {
    let server = TestServer::start().await;
    let owner = server.user("owner").await;
    let moderator = server.user("mod").await;
    let member = server.user("member").await;
    let (m_id, u_id) = (moderator.user_id().unwrap(), member.user_id().unwrap());
    let g = owner.create_group("club", &[m_id, u_id]).await.unwrap().id;
    owner.set_role(g, m_id, Role::Moderator).await.unwrap();
    assert_eq!(code(member.mute(g, m_id, 600).await), ErrorCode::Forbidden);
    assert_eq!(
        code(moderator.mute(g, u_id, 5).await),
        ErrorCode::BadRequest,
        "under a minute"
    );

    let muted = moderator.mute(g, u_id, 600).await.unwrap();
    let EventBody::MemberMuted { user, until } = muted.body else {
        panic!("{muted:?}");
    };
    assert_eq!(user, u_id);
    assert_eq!(
        member.conversation(g).await.unwrap().muted_until,
        Some(until)
    );
    let refused = member
        .send_message(g, &ClientId::random(), "let me talk")
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::Muted));
    match refused {
        Error::Api { retry_after, .. } => {
            assert!(
                retry_after.is_some_and(|s| (590..=600).contains(&s)),
                "{retry_after:?}"
            )
        }
        other => panic!("{other:?}"),
    }
    let unmuted = moderator.unmute(g, u_id).await.unwrap();
    assert!(matches!(unmuted.body, EventBody::MemberUnmuted { user } if user == u_id));
    member
        .send_message(g, &ClientId::random(), "thanks")
        .await
        .unwrap();

    assert_eq!(
        code(
            member
                .update_group(
                    g,
                    &UpdateGroup {
                        slow_mode_secs: Some(30),
                        ..UpdateGroup::default()
                    }
                )
                .await
        ),
        ErrorCode::Forbidden
    );
    let info = moderator
        .update_group(
            g,
            &UpdateGroup {
                slow_mode_secs: Some(30),
                ..UpdateGroup::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(info.slow_mode_secs, 30);
    member
        .send_message(g, &ClientId::random(), "one")
        .await
        .unwrap();
    let too_soon = member
        .send_message(g, &ClientId::random(), "two")
        .await
        .unwrap_err();
    assert_eq!(too_soon.code(), Some(ErrorCode::RateLimited));
    for i in 0..3 {
        moderator
            .send_message(g, &ClientId::random(), &format!("mod {i}"))
            .await
            .unwrap();
    }
    let texts: Vec<_> = owner
        .history(g, &HistoryQuery::default())
        .await
        .unwrap()
        .events
        .iter()
        .filter_map(|e| text(e).map(str::to_owned))
        .collect();
    assert_eq!(texts, ["thanks", "one", "mod 0", "mod 1", "mod 2"]);
}

/// A message is deleted for everyone by its sender (within the server's
/// window) or by a moderator or above whose role outranks the sender's:
/// every member's socket gets `message_deleted`, history shows a tombstone
/// without the text, and everyone else is refused with nothing changed.
#[tokio::test]
async fn messages_are_deleted_by_their_sender_or_by_a_higher_moderator() {
    let server = TestServer::start().await;
    let cast = Cast::new(&server).await;
    let g = cast.group().await;
    let mut watching = connect(&cast.member).await;
    let say = |who: &Client, text: &'static str| {
        let who = who.clone();
        async move {
            who.send_message(g, &ClientId::random(), text)
                .await
                .unwrap()
                .seq
        }
    };
    let by_target = say(&cast.target, "from the target").await;
    let by_admin = say(&cast.admin, "from the admin").await;
    let by_member = say(&cast.member, "from a member").await;

    // Refused: another member, a moderator on an admin's message, an outsider.
    assert_eq!(
        code(cast.member.delete_message(g, by_target).await),
        ErrorCode::Forbidden
    );
    assert_eq!(
        code(cast.moderator.delete_message(g, by_admin).await),
        ErrorCode::Forbidden
    );
    assert_eq!(
        code(cast.outsider.delete_message(g, by_target).await),
        ErrorCode::NotMember
    );
    assert_eq!(
        code(cast.owner.delete_message(g, 1).await),
        ErrorCode::NotFound,
        "the created event is no message"
    );

    // Allowed: the sender, and a moderator on a member's message.
    let deleted = cast.member.delete_message(g, by_member).await.unwrap();
    assert!(
        matches!(deleted.body, EventBody::MessageDeleted { target, .. } if target == by_member)
    );
    let seen = loop {
        let e = event_in(&mut watching, g).await;
        if matches!(e.body, EventBody::MessageDeleted { .. }) {
            break e;
        }
    };
    assert_eq!(seen, deleted, "every member's socket hears of it");
    cast.moderator.delete_message(g, by_target).await.unwrap();
    assert_eq!(
        code(cast.moderator.delete_message(g, by_target).await),
        ErrorCode::NotFound,
        "deleted already"
    );

    let history = cast
        .owner
        .history(g, &HistoryQuery::default())
        .await
        .unwrap();
    for seq in [by_target, by_member] {
        let e = history.events.iter().find(|e| e.seq == seq).unwrap();
        assert!(matches!(e.body, EventBody::Deleted { .. }), "{e:?}");
    }
    let kept = history.events.iter().find(|e| e.seq == by_admin).unwrap();
    assert_eq!(text(kept), Some("from the admin"));
}

/// With the delete window at zero, senders cannot delete their own
/// messages, while moderators still can.
#[tokio::test]
async fn the_delete_window_bounds_senders_but_not_moderators() {
    let server = TestServer::start_with(|c| c.limits.delete_window_secs = 0).await;
    let cast = Cast::new(&server).await;
    let g = cast.group().await;
    let seq = cast
        .member
        .send_message(g, &ClientId::random(), "oops")
        .await
        .unwrap()
        .seq;
    let err = cast.member.delete_message(g, seq).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Forbidden));
    assert!(err.to_string().contains("delete window"), "{err}");
    let mine = cast
        .moderator
        .send_message(g, &ClientId::random(), "mine")
        .await
        .unwrap()
        .seq;
    cast.moderator.delete_message(g, mine).await.unwrap();
    cast.moderator.delete_message(g, seq).await.unwrap();
}

/// A report reaches the group's moderators (and above) on their open
/// sockets at once, as a `report` entry of their log; a plain member's
/// socket hears nothing of it.
#[tokio::test]
async fn moderators_hear_of_a_report_at_once() {
    let server = TestServer::start().await;
    let cast = Cast::new(&server).await;
    let g = cast.group().await;
    let mut moderator = connect(&cast.moderator).await;
    let mut bystander = connect(&cast.target).await;
    let spam = cast
        .admin
        .send_message(g, &ClientId::random(), "cheap watches")
        .await
        .unwrap();
    let report = cast
        .member
        .report(
            g,
            &ReportMessage {
                seq: spam.seq,
                reason: ReportReason::Spam,
                note: None,
            },
        )
        .await
        .unwrap();
    let heard = loop {
        match moderator.next_event(WAIT).await {
            Some(LiveEvent::Report { report, .. }) => break report,
            Some(_) => {}
            None => panic!("the moderator heard of no report"),
        }
    };
    assert_eq!(heard, report);
    // Everything the bystander gets up to a marker sent after the report:
    // messages, no report.
    let marker = cast
        .owner
        .send_message(g, &ClientId::random(), "marker")
        .await
        .unwrap();
    loop {
        match bystander.next_event(WAIT).await {
            Some(LiveEvent::Report { .. }) => panic!("a member heard of a report"),
            Some(LiveEvent::Event { event, .. }) if event.seq == marker.seq => break,
            Some(_) => {}
            None => panic!("no marker"),
        }
    }
}
