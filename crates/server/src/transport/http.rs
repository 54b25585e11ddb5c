//! The HTTP API: the router with every route, and thin handlers that
//! translate between the wire and the domain layer.

use super::error::{ApiError, ApiResult};
use super::extract::{Auth, Id, Ids, Ids3, Json, Q};
use super::{longpoll, sse, uploads, web, ws};
use crate::domain;
use crate::state::AppState;
use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post, put};
use natter_proto::*;
use std::net::SocketAddr;

/// Builds the router with every route.
pub fn router(state: AppState) -> Router {
    let limit = state.config.limits.max_frame_bytes;
    let mut router = Router::new();
    if state.config.testing.hooks {
        router = router.route("/v1/testing/resync", post(testing_resync));
    }
    router
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/v1/limits", get(limits))
        .route("/v1/auth/register", post(register))
        .route("/v1/auth/login", post(login))
        .route("/v1/auth/refresh", post(refresh))
        .route("/v1/auth/logout", post(logout))
        .route("/v1/me", get(me))
        .route("/v1/sessions", get(sessions))
        .route("/v1/sessions/{device}", delete(revoke_session))
        .route("/v1/users", get(find_user))
        .route("/v1/users/search", get(search_users))
        .route("/v1/me/profile", patch(update_profile))
        .route("/v1/users/{id}", get(get_user))
        .route(
            "/v1/conversations",
            get(list_conversations).post(create_conversation),
        )
        .route(
            "/v1/conversations/{id}",
            get(get_conversation).patch(update_group),
        )
        .route(
            "/v1/conversations/{id}/members",
            get(list_members).post(add_members),
        )
        .route(
            "/v1/conversations/{id}/members/{user}",
            delete(remove_member),
        )
        .route("/v1/conversations/{id}/members/{user}/role", put(set_role))
        .route(
            "/v1/conversations/{id}/members/{user}/mute",
            put(mute_member).delete(unmute_member),
        )
        .route("/v1/conversations/{id}/owner", post(transfer_ownership))
        .route(
            "/v1/conversations/{id}/invites",
            get(list_invites).post(create_invite),
        )
        .route(
            "/v1/conversations/{id}/invites/{token}",
            delete(revoke_invite),
        )
        .route("/v1/invites/{token}", get(preview_invite))
        .route("/v1/invites/{token}/join", post(join_invite))
        .route(
            "/v1/conversations/{id}/reports",
            get(list_reports).post(report_message),
        )
        .route("/v1/reports/{id}/resolve", post(resolve_report))
        .route("/v1/admin/reports", get(all_reports))
        .route("/v1/conversations/{id}/bans", get(list_bans))
        .route(
            "/v1/conversations/{id}/bans/{user}",
            put(ban_user).delete(unban_user),
        )
        .route("/v1/conversations/{id}/messages", post(send_message))
        .route("/v1/conversations/{id}/events", get(history))
        .route(
            "/v1/conversations/{id}/messages/{seq}",
            delete(delete_message).patch(edit_message).get(get_message),
        )
        .route(
            "/v1/conversations/{id}/messages/{seq}/edits",
            get(message_edits),
        )
        .route(
            "/v1/conversations/{id}/messages/{seq}/hide",
            post(hide_message),
        )
        .route(
            "/v1/conversations/{id}/messages/{seq}/reactions",
            get(list_reactions),
        )
        .route(
            "/v1/conversations/{id}/messages/{seq}/reactions/{emoji}",
            put(add_reaction).delete(remove_reaction).get(list_reactors),
        )
        .route("/v1/conversations/{id}/pins", get(list_pins))
        .route(
            "/v1/conversations/{id}/pins/{seq}",
            put(pin_message).delete(unpin_message),
        )
        .route("/v1/conversations/{id}/threads/{root}", get(thread_page))
        .route(
            "/v1/conversations/{id}/threads/{root}/read",
            put(read_thread),
        )
        .route(
            "/v1/conversations/{id}/receipts",
            get(receipt_summary).post(mark_receipt),
        )
        .route("/v1/conversations/{id}/views", get(message_views))
        .route("/v1/conversations/{id}/settings", put(put_settings))
        .route("/v1/conversations/{id}/typing", post(set_typing))
        .route("/v1/conversations/{id}/accept", post(accept_request))
        .route("/v1/conversations/{id}/leave", post(leave_conversation))
        .route("/v1/blocks", get(list_blocks))
        .route("/v1/blocks/{id}", put(block_user).delete(unblock_user))
        .route("/v1/me/privacy", get(get_privacy).put(put_privacy))
        .route(
            "/v1/admin/suspensions/{id}",
            put(suspend_user).delete(unsuspend_user),
        )
        .route(
            "/v1/uploads",
            post(uploads::create).options(uploads::options),
        )
        .route(
            "/v1/uploads/{id}",
            get(uploads::get)
                .head(uploads::head)
                .patch(uploads::patch)
                .delete(uploads::delete),
        )
        .route("/v1/uploads/{id}/url", get(uploads::url))
        .route("/v1/media/{id}", get(uploads::media))
        .route("/v1/media/{id}/thumbnail", get(uploads::thumbnail))
        .route("/v1/avatars/{id}", get(uploads::avatar))
        .route(
            "/v1/me/avatar",
            put(uploads::set_my_avatar).delete(uploads::remove_my_avatar),
        )
        .route(
            "/v1/conversations/{id}/avatar",
            put(uploads::set_group_avatar).delete(uploads::remove_group_avatar),
        )
        .route("/v1/conversations/{id}/media", get(uploads::gallery))
        .route("/v1/search", get(search))
        .route("/v1/presence", get(presence))
        .route("/v1/sync", get(longpoll::long_poll))
        .route("/v1/events", get(sse::sse))
        .route("/v1/ws", get(ws::upgrade))
        .route("/", get(web::index))
        .route("/assets/{*path}", get(web::asset))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// `GET /v1/search`: messages I may read that contain the words.
async fn search(
    State(state): State<AppState>,
    Auth(c): Auth,
    Q(q): Q<SearchQuery>,
) -> ApiResult<Json<SearchPage>> {
    Ok(Json(domain::search::search(&state, &c, q).await?))
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        "this endpoint does not take that method",
    )
}

async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such endpoint")
}

fn peer(addr: &ConnectInfo<SocketAddr>) -> std::net::IpAddr {
    addr.0.ip()
}

/// `GET /healthz`: the process is up.
async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}

/// `GET /readyz`: the database answers, has room to write, and the server
/// is not shutting down.
async fn readyz(State(state): State<AppState>) -> Response {
    let status = if *state.shutdown.borrow() {
        "shutting down".to_owned()
    } else {
        match state.store.ping().await {
            Ok(()) => "ok".to_owned(),
            Err(natter_store::StoreError::StorageFull) => "storage full".to_owned(),
            Err(e) => {
                tracing::warn!(error = %e, "readiness check failed");
                "database unavailable".to_owned()
            }
        }
    };
    let code = if status == "ok" {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        code,
        Json(Health {
            status,
            version: env!("CARGO_PKG_VERSION").into(),
        }),
    )
        .into_response()
}

/// `POST /v1/testing/resync` (only with `testing.hooks`): every cursor the
/// caller holds now needs a resync, and their live connections find out at
/// once, as they will when log pruning passes them.
async fn testing_resync(
    State(state): State<AppState>,
    Auth(claims): Auth,
) -> ApiResult<Json<serde_json::Value>> {
    let floor = state
        .store
        .raise_log_floor(claims.user)
        .await
        .map_err(crate::error::DomainError::from)?;
    // Every connection on this node reads the store again; the caller's
    // find their cursor below the floor and are sent `resync`.
    state.hub.catch_up_all();
    Ok(Json(serde_json::json!({ "cursor": floor })))
}

/// `POST /v1/auth/register`: creates an account and a first device session.
async fn register(
    State(state): State<AppState>,
    addr: ConnectInfo<SocketAddr>,
    Json(creds): Json<Credentials>,
) -> ApiResult<(StatusCode, Json<AuthSession>)> {
    let s = domain::accounts::register(&state, creds, peer(&addr)).await?;
    Ok((StatusCode::CREATED, Json(s)))
}

/// `POST /v1/auth/login`: opens a device session.
async fn login(
    State(state): State<AppState>,
    addr: ConnectInfo<SocketAddr>,
    Json(creds): Json<Credentials>,
) -> ApiResult<Json<AuthSession>> {
    Ok(Json(
        domain::accounts::login(&state, creds, peer(&addr)).await?,
    ))
}

/// `POST /v1/auth/refresh`: rotates the refresh token.
async fn refresh(
    State(state): State<AppState>,
    Json(req): Json<RefreshRequest>,
) -> ApiResult<Json<AuthSession>> {
    Ok(Json(
        domain::accounts::refresh(&state, &req.refresh_token).await?,
    ))
}

/// `POST /v1/auth/logout`: revokes the calling session.
async fn logout(State(state): State<AppState>, Auth(c): Auth) -> ApiResult<StatusCode> {
    domain::accounts::logout(&state, &c).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/me`: who the token speaks for, and the log head.
async fn me(State(state): State<AppState>, Auth(c): Auth) -> ApiResult<Json<Me>> {
    Ok(Json(domain::accounts::me(&state, &c).await?))
}

/// `GET /v1/limits`: what the server accepts (no session needed).
async fn limits(State(state): State<AppState>) -> Json<ServerLimits> {
    Json(domain::limits(&state))
}

/// `GET /v1/sessions`: the caller's live device sessions.
async fn sessions(State(state): State<AppState>, Auth(c): Auth) -> ApiResult<Json<SessionList>> {
    Ok(Json(domain::accounts::sessions(&state, &c).await?))
}

/// `DELETE /v1/sessions/{device}`: revokes one of the caller's sessions.
async fn revoke_session(
    State(state): State<AppState>,
    Auth(c): Auth,
    Id(device): Id<DeviceId>,
) -> ApiResult<StatusCode> {
    domain::accounts::revoke(&state, &c, device).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(serde::Deserialize)]
struct FindUser {
    username: String,
}

/// `GET /v1/users?username=NAME`: finds a user by username.
async fn find_user(
    State(state): State<AppState>,
    Auth(_): Auth,
    Q(q): Q<FindUser>,
) -> ApiResult<Json<UserInfo>> {
    Ok(Json(
        domain::accounts::user_by_name(&state, &q.username).await?,
    ))
}

#[derive(serde::Deserialize)]
struct UserSearchQuery {
    q: String,
    limit: Option<u32>,
}

/// `GET /v1/users/search?q=PREFIX`: the user directory.
async fn search_users(
    State(state): State<AppState>,
    Auth(c): Auth,
    Q(q): Q<UserSearchQuery>,
) -> ApiResult<Json<UserList>> {
    Ok(Json(
        domain::accounts::search(&state, &c, &q.q, q.limit).await?,
    ))
}

/// `PATCH /v1/me/profile`: my display name and "about" text; answers `Me`.
async fn update_profile(
    State(state): State<AppState>,
    Auth(c): Auth,
    Json(req): Json<UpdateProfile>,
) -> ApiResult<Json<Me>> {
    Ok(Json(
        domain::accounts::update_profile(&state, &c, req).await?,
    ))
}

/// `GET /v1/users/{id}`: a user by id.
async fn get_user(
    State(state): State<AppState>,
    Auth(_): Auth,
    Id(id): Id<UserId>,
) -> ApiResult<Json<UserInfo>> {
    Ok(Json(domain::accounts::user(&state, id).await?))
}

/// `GET /v1/conversations`: the caller's conversations.
async fn list_conversations(
    State(state): State<AppState>,
    Auth(c): Auth,
    Q(q): Q<ConversationQuery>,
) -> ApiResult<Json<ConversationList>> {
    Ok(Json(
        domain::conversations::conversations(&state, &c, q).await?,
    ))
}

/// `POST /v1/conversations/{id}/leave`: the caller leaves a group; answers
/// the `member_left` event.
async fn leave_conversation(
    State(state): State<AppState>,
    Auth(c): Auth,
    Id(id): Id<ConversationId>,
) -> ApiResult<Json<Departure>> {
    Ok(Json(domain::membership::leave(&state, &c, id).await?))
}

/// `DELETE /v1/conversations/{id}/members/{user}`: removes a member;
/// answers the `member_removed` event.
async fn remove_member(
    State(state): State<AppState>,
    Auth(c): Auth,
    Ids(id, user): Ids<ConversationId, UserId>,
) -> ApiResult<Json<Departure>> {
    Ok(Json(
        domain::membership::remove(&state, &c, id, user).await?,
    ))
}

/// `PUT /v1/conversations/{id}/members/{user}/mute`: mutes a member;
/// answers the `member_muted` event.
async fn mute_member(
    State(state): State<AppState>,
    Auth(c): Auth,
    Ids(id, user): Ids<ConversationId, UserId>,
    Json(req): Json<MuteMember>,
) -> ApiResult<Json<Event>> {
    Ok(Json(
        domain::membership::mute(&state, &c, id, user, Some(req.secs)).await?,
    ))
}

/// `DELETE /v1/conversations/{id}/members/{user}/mute`: lifts a mute;
/// answers the `member_unmuted` event.
async fn unmute_member(
    State(state): State<AppState>,
    Auth(c): Auth,
    Ids(id, user): Ids<ConversationId, UserId>,
) -> ApiResult<Json<Event>> {
    Ok(Json(
        domain::membership::mute(&state, &c, id, user, None).await?,
    ))
}

/// `PUT /v1/conversations/{id}/members/{user}/role`: gives a member a role;
/// answers the `role_changed` event.
async fn set_role(
    State(state): State<AppState>,
    Auth(c): Auth,
    Ids(id, user): Ids<ConversationId, UserId>,
    Json(req): Json<SetRole>,
) -> ApiResult<Json<Event>> {
    Ok(Json(
        domain::membership::set_role(&state, &c, id, user, req.role).await?,
    ))
}

/// `POST /v1/conversations/{id}/owner`: hands the group to another member;
/// answers the `ownership_transferred` event.
async fn transfer_ownership(
    State(state): State<AppState>,
    Auth(c): Auth,
    Id(id): Id<ConversationId>,
    Json(req): Json<TransferOwnership>,
) -> ApiResult<Json<Event>> {
    Ok(Json(
        domain::membership::transfer_ownership(&state, &c, id, req.user).await?,
    ))
}

/// `PATCH /v1/conversations/{id}`: changes a group's name, description or
/// history setting; answers the group.
async fn update_group(
    State(state): State<AppState>,
    Auth(c): Auth,
    Id(id): Id<ConversationId>,
    Json(req): Json<UpdateGroup>,
) -> ApiResult<Json<ConversationInfo>> {
    Ok(Json(
        domain::membership::update_group(&state, &c, id, req).await?,
    ))
}

/// `POST /v1/conversations/{id}/invites`: makes an invite link.
async fn create_invite(
    State(state): State<AppState>,
    Auth(c): Auth,
    Id(id): Id<ConversationId>,
    Json(req): Json<CreateInvite>,
) -> ApiResult<(StatusCode, Json<InviteInfo>)> {
    let invite = domain::invites::create(&state, &c, id, req).await?;
    Ok((StatusCode::CREATED, Json(invite)))
}

/// `GET /v1/conversations/{id}/invites`: the group's links.
async fn list_invites(
    State(state): State<AppState>,
    Auth(c): Auth,
    Id(id): Id<ConversationId>,
) -> ApiResult<Json<InviteList>> {
    Ok(Json(domain::invites::list(&state, &c, id).await?))
}

/// `DELETE /v1/conversations/{id}/invites/{token}`: revokes a link.
async fn revoke_invite(
    State(state): State<AppState>,
    Auth(c): Auth,
    Path((id, token)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let id = id
        .parse::<ConversationId>()
        .map_err(|_| ApiError::new(ErrorCode::NotFound, "not found"))?;
    domain::invites::revoke(&state, &c, id, token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/invites/{token}`: what a link leads to.
async fn preview_invite(
    State(state): State<AppState>,
    Auth(c): Auth,
    Path(token): Path<String>,
) -> ApiResult<Json<InvitePreview>> {
    Ok(Json(domain::invites::preview(&state, &c, token).await?))
}

/// `POST /v1/invites/{token}/join`: joins the group a link leads to.
async fn join_invite(
    State(state): State<AppState>,
    Auth(c): Auth,
    Path(token): Path<String>,
) -> ApiResult<Json<ConversationInfo>> {
    Ok(Json(domain::invites::join(&state, &c, token).await?))
}

/// `PUT /v1/admin/suspensions/{id}`: suspends an account (admins only).
async fn suspend_user(
    State(state): State<AppState>,
    Auth(c): Auth,
    Id(id): Id<UserId>,
) -> ApiResult<Json<Suspension>> {
    Ok(Json(domain::admin::suspend(&state, &c, id).await?))
}

/// `DELETE /v1/admin/suspensions/{id}`: lifts a suspension (admins only).
async fn unsuspend_user(
    State(state): State<AppState>,
    Auth(c): Auth,
    Id(id): Id<UserId>,
) -> ApiResult<StatusCode> {
    domain::admin::unsuspend(&state, &c, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/conversations/{id}/reports`: reports a message (201 new, 200
/// when the caller had reported it before).
async fn report_message(
    State(state): State<AppState>,
    Auth(c): Auth,
    Id(id): Id<ConversationId>,
    Json(req): Json<ReportMessage>,
) -> ApiResult<(StatusCode, Json<ReportInfo>)> {
    let (report, created) = domain::reports::report(&state, &c, id, req).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(report)))
}

/// `GET /v1/conversations/{id}/reports`: the group's reports (moderators).
async fn list_reports(
    State(state): State<AppState>,
    Auth(c): Auth,
    Id(id): Id<ConversationId>,
    Q(q): Q<ReportQuery>,
) -> ApiResult<Json<ReportList>> {
    Ok(Json(
        domain::reports::of_conversation(&state, &c, id, q).await?,
    ))
}

/// `GET /v1/admin/reports`: every report (server admins).
async fn all_reports(
    State(state): State<AppState>,
    Auth(c): Auth,
    Q(q): Q<ReportQuery>,
) -> ApiResult<Json<ReportList>> {
    Ok(Json(domain::reports::all(&state, &c, q).await?))
}

/// `POST /v1/reports/{id}/resolve`: resolves a report.
async fn resolve_report(
    State(state): State<AppState>,
    Auth(c): Auth,
    Id(id): Id<MessageId>,
    Json(req): Json<ResolveReport>,
) -> ApiResult<Json<ReportInfo>> {
    Ok(Json(domain::reports::resolve(&state, &c, id, req).await?))
}

/// `GET /v1/conversations/{id}/bans`: who is banned from the group.
async fn list_bans(
    State(state): State<AppState>,
    Auth(c): Auth,
    Id(id): Id<ConversationId>,
) -> ApiResult<Json<BanList>> {
    Ok(Json(domain::membership::bans(&state, &c, id).await?))
}

/// `PUT /v1/conversations/{id}/bans/{user}`: bans a user; answers the ban.
async fn ban_user(
    State(state): State<AppState>,
    Auth(c): Auth,
    Ids(id, user): Ids<ConversationId, UserId>,
) -> ApiResult<Json<BanInfo>> {
    Ok(Json(domain::membership::ban(&state, &c, id, user).await?))
}

/// `DELETE /v1/conversations/{id}/bans/{user}`: lifts a ban.
async fn unban_user(
    State(state): State<AppState>,
    Auth(c): Auth,
    Ids(id, user): Ids<ConversationId, UserId>,
) -> ApiResult<StatusCode> {
    domain::membership::unban(&state, &c, id, user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/conversations`: a new group, or the direct conversation with
/// someone (201 when created, 200 when it existed).
async fn create_conversation(
    State(state): State<AppState>,
    Auth(c): Auth,
    Json(req): Json<CreateConversation>,
) -> ApiResult<(StatusCode, Json<ConversationInfo>)> {
    let (info, new) = domain::conversations::create_conversation(&state, &c, req).await?;
    Ok((
        if new {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        Json(info),
    ))
}

/// `POST /v1/conversations/{id}/accept`: accept a message request.
async fn accept_request(
    State(state): State<AppState>,
    Auth(c): Auth,
    Id(id): Id<ConversationId>,
) -> ApiResult<Json<ConversationInfo>> {
    Ok(Json(domain::blocks::accept(&state, &c, id).await?))
}

/// `GET /v1/blocks`: the users the caller has blocked.
async fn list_blocks(State(state): State<AppState>, Auth(c): Auth) -> ApiResult<Json<BlockList>> {
    Ok(Json(domain::blocks::blocks(&state, &c).await?))
}

/// `PUT /v1/blocks/{id}`: block a user.
async fn block_user(
    State(state): State<AppState>,
    Auth(c): Auth,
    Id(id): Id<UserId>,
) -> ApiResult<Json<BlockInfo>> {
    Ok(Json(domain::blocks::block(&state, &c, id).await?))
}

/// `DELETE /v1/blocks/{id}`: lift a block.
async fn unblock_user(
    State(state): State<AppState>,
    Auth(c): Auth,
    Id(id): Id<UserId>,
) -> ApiResult<StatusCode> {
    domain::blocks::unblock(&state, &c, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/conversations/{id}`: one conversation.
async fn get_conversation(
    State(state): State<AppState>,
    Auth(c): Auth,
    Id(id): Id<ConversationId>,
) -> ApiResult<Json<ConversationInfo>> {
    Ok(Json(
        domain::conversations::conversation(&state, &c, id).await?,
    ))
}

/// `GET /v1/conversations/{id}/members`: its members.
async fn list_members(
    State(state): State<AppState>,
    Auth(c): Auth,
    Id(id): Id<ConversationId>,
    Q(q): Q<MemberQuery>,
) -> ApiResult<Json<MemberList>> {
    Ok(Json(domain::membership::members(&state, &c, id, q).await?))
}

/// `POST /v1/conversations/{id}/members`: adds members (owner and admins).
async fn add_members(
    State(state): State<AppState>,
    Auth(c): Auth,
    Id(id): Id<ConversationId>,
    Json(req): Json<AddMembers>,
) -> ApiResult<Json<ConversationInfo>> {
    Ok(Json(
        domain::conversations::add_members(&state, &c, id, req.users).await?,
    ))
}

/// `POST /v1/conversations/{id}/messages`: sends a message (201, or 200
/// for a retry of one already stored).
async fn send_message(
    State(state): State<AppState>,
    Auth(c): Auth,
    Id(id): Id<ConversationId>,
    Json(req): Json<SendMessage>,
) -> ApiResult<(StatusCode, Json<Sent>)> {
    let sent = domain::messages::send(&state, &c, id, req).await?;
    let code = if sent.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((code, Json(sent)))
}

/// `GET /v1/conversations/{id}/events`: a page of history.
async fn history(
    State(state): State<AppState>,
    Auth(c): Auth,
    Id(id): Id<ConversationId>,
    Q(q): Q<HistoryQuery>,
) -> ApiResult<Json<HistoryPage>> {
    Ok(Json(domain::messages::history(&state, &c, id, q).await?))
}

/// `POST /v1/conversations/{id}/receipts`: moves my delivered or read
/// watermark; answers my watermarks.
async fn mark_receipt(
    State(state): State<AppState>,
    Auth(c): Auth,
    Id(id): Id<ConversationId>,
    Json(req): Json<MarkReceipt>,
) -> ApiResult<Json<MemberReceipt>> {
    Ok(Json(
        domain::receipts::receipt(&state, &c, id, req.kind, req.seq).await?,
    ))
}

#[derive(serde::Deserialize)]
struct SeqQuery {
    seq: Seq,
}

/// `GET /v1/conversations/{id}/receipts?seq=N`: delivered to N of M, read
/// by N of M, and each member's watermarks.
async fn receipt_summary(
    State(state): State<AppState>,
    Auth(c): Auth,
    Id(id): Id<ConversationId>,
    Q(q): Q<SeqQuery>,
) -> ApiResult<Json<ReceiptSummary>> {
    Ok(Json(
        domain::receipts::receipt_summary(&state, &c, id, q.seq).await?,
    ))
}

/// `DELETE /v1/conversations/{id}/messages/{seq}`: deletes a message for
/// everyone; answers the `message_deleted` event.
async fn delete_message(
    State(state): State<AppState>,
    Auth(c): Auth,
    Ids(id, seq): Ids<ConversationId, Seq>,
) -> ApiResult<Json<Event>> {
    Ok(Json(domain::messages::delete(&state, &c, id, seq).await?))
}

/// `PATCH /v1/conversations/{id}/messages/{seq}`: edits my message.
async fn edit_message(
    State(state): State<AppState>,
    Auth(c): Auth,
    Ids(id, seq): Ids<ConversationId, Seq>,
    Json(req): Json<EditMessage>,
) -> ApiResult<Json<Event>> {
    Ok(Json(domain::rich::edit(&state, &c, id, seq, req).await?))
}

/// `GET /v1/conversations/{id}/messages/{seq}`: one event as history shows it.
async fn get_message(
    State(state): State<AppState>,
    Auth(c): Auth,
    Ids(id, seq): Ids<ConversationId, Seq>,
) -> ApiResult<Json<Event>> {
    Ok(Json(domain::rich::message_at(&state, &c, id, seq).await?))
}

/// `GET /v1/conversations/{id}/messages/{seq}/edits`: every version.
async fn message_edits(
    State(state): State<AppState>,
    Auth(c): Auth,
    Ids(id, seq): Ids<ConversationId, Seq>,
) -> ApiResult<Json<EditHistory>> {
    Ok(Json(domain::rich::edits(&state, &c, id, seq).await?))
}

/// `POST /v1/conversations/{id}/messages/{seq}/hide`: delete for me.
async fn hide_message(
    State(state): State<AppState>,
    Auth(c): Auth,
    Ids(id, seq): Ids<ConversationId, Seq>,
) -> ApiResult<Json<PersonalChange>> {
    Ok(Json(domain::rich::hide(&state, &c, id, seq).await?))
}

/// `GET /v1/conversations/{id}/messages/{seq}/reactions`.
async fn list_reactions(
    State(state): State<AppState>,
    Auth(c): Auth,
    Ids(id, seq): Ids<ConversationId, Seq>,
) -> ApiResult<Json<ReactionList>> {
    Ok(Json(domain::rich::reactions(&state, &c, id, seq).await?))
}

/// `PUT /v1/conversations/{id}/messages/{seq}/reactions/{emoji}`.
async fn add_reaction(
    State(state): State<AppState>,
    Auth(c): Auth,
    Ids3(id, seq, emoji): Ids3<ConversationId, Seq, String>,
) -> ApiResult<Json<ReactionState>> {
    Ok(Json(
        domain::rich::react(&state, &c, id, seq, emoji, true).await?,
    ))
}

/// `DELETE /v1/conversations/{id}/messages/{seq}/reactions/{emoji}`.
async fn remove_reaction(
    State(state): State<AppState>,
    Auth(c): Auth,
    Ids3(id, seq, emoji): Ids3<ConversationId, Seq, String>,
) -> ApiResult<Json<ReactionState>> {
    Ok(Json(
        domain::rich::react(&state, &c, id, seq, emoji, false).await?,
    ))
}

/// `GET /v1/conversations/{id}/messages/{seq}/reactions/{emoji}`: who.
async fn list_reactors(
    State(state): State<AppState>,
    Auth(c): Auth,
    Ids3(id, seq, emoji): Ids3<ConversationId, Seq, String>,
    Q(q): Q<ReactorQuery>,
) -> ApiResult<Json<ReactorList>> {
    Ok(Json(
        domain::rich::reactors(&state, &c, id, seq, emoji, q).await?,
    ))
}

/// `GET /v1/conversations/{id}/pins`.
async fn list_pins(
    State(state): State<AppState>,
    Auth(c): Auth,
    Id(id): Id<ConversationId>,
) -> ApiResult<Json<PinList>> {
    Ok(Json(domain::rich::pins(&state, &c, id).await?))
}

/// The event that pinned or unpinned, or `204` when nothing changed.
fn pin_answer(event: Option<Event>) -> axum::response::Response {
    match event {
        Some(e) => Json(e).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

/// `PUT /v1/conversations/{id}/pins/{seq}`.
async fn pin_message(
    State(state): State<AppState>,
    Auth(c): Auth,
    Ids(id, seq): Ids<ConversationId, Seq>,
) -> ApiResult<axum::response::Response> {
    Ok(pin_answer(
        domain::rich::pin(&state, &c, id, seq, true).await?,
    ))
}

/// `DELETE /v1/conversations/{id}/pins/{seq}`.
async fn unpin_message(
    State(state): State<AppState>,
    Auth(c): Auth,
    Ids(id, seq): Ids<ConversationId, Seq>,
) -> ApiResult<axum::response::Response> {
    Ok(pin_answer(
        domain::rich::pin(&state, &c, id, seq, false).await?,
    ))
}

/// `GET /v1/conversations/{id}/threads/{root}`.
async fn thread_page(
    State(state): State<AppState>,
    Auth(c): Auth,
    Ids(id, root): Ids<ConversationId, Seq>,
    Q(q): Q<ThreadQuery>,
) -> ApiResult<Json<ThreadPage>> {
    Ok(Json(domain::rich::thread(&state, &c, id, root, q).await?))
}

/// `PUT /v1/conversations/{id}/threads/{root}/read`.
async fn read_thread(
    State(state): State<AppState>,
    Auth(c): Auth,
    Ids(id, root): Ids<ConversationId, Seq>,
    Json(req): Json<ThreadRead>,
) -> ApiResult<Json<PersonalChange>> {
    Ok(Json(
        domain::rich::read_thread(&state, &c, id, root, req.seq).await?,
    ))
}

/// `PUT /v1/conversations/{id}/settings`: my own settings for it.
async fn put_settings(
    State(state): State<AppState>,
    Auth(c): Auth,
    Id(id): Id<ConversationId>,
    Json(req): Json<UpdateSettings>,
) -> ApiResult<Json<SettingsChange>> {
    Ok(Json(
        domain::conversations::set_settings(&state, &c, id, req).await?,
    ))
}

#[derive(serde::Deserialize)]
struct RangeQuery {
    from: Seq,
    to: Seq,
}

/// `GET /v1/conversations/{id}/views?from=S&to=E`: how many members have
/// read each message in the range (channels show counts, never readers).
async fn message_views(
    State(state): State<AppState>,
    Auth(c): Auth,
    Id(id): Id<ConversationId>,
    Q(q): Q<RangeQuery>,
) -> ApiResult<Json<MessageViews>> {
    Ok(Json(
        domain::receipts::views(&state, &c, id, q.from, q.to).await?,
    ))
}

/// `POST /v1/conversations/{id}/typing`: starts or stops my typing
/// indicator.
async fn set_typing(
    State(state): State<AppState>,
    Auth(c): Auth,
    Id(id): Id<ConversationId>,
    Json(req): Json<SetTyping>,
) -> ApiResult<StatusCode> {
    domain::typing::set(&state, &c, id, req.active).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/me/privacy`: my privacy settings.
async fn get_privacy(State(state): State<AppState>, Auth(c): Auth) -> ApiResult<Json<Privacy>> {
    Ok(Json(domain::accounts::privacy(&state, &c).await?))
}

/// `PUT /v1/me/privacy`: changes my privacy settings.
async fn put_privacy(
    State(state): State<AppState>,
    Auth(c): Auth,
    Json(req): Json<PrivacyUpdate>,
) -> ApiResult<Json<Privacy>> {
    Ok(Json(domain::accounts::set_privacy(&state, &c, req).await?))
}

/// `GET /v1/presence`: the presence of everyone I may see.
async fn presence(State(state): State<AppState>, Auth(c): Auth) -> ApiResult<Json<PresenceList>> {
    Ok(Json(domain::presence::snapshot(&state, c.user).await?))
}
