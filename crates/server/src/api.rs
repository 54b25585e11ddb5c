//! The HTTP API: routes, extractors that speak the API's error format, and
//! thin handlers over `service`.

use crate::auth::Claims;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::{live, service, ws};
use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{
    ConnectInfo, DefaultBodyLimit, FromRequest, FromRequestParts, Path, Query, Request, State,
};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use natter_proto::*;
use serde::de::DeserializeOwned;
use std::net::SocketAddr;

/// Builds the router with every route.
pub fn router(state: AppState) -> Router {
    let limit = state.config.limits.max_frame_bytes;
    Router::new()
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
        .route("/v1/users/{id}", get(get_user))
        .route(
            "/v1/conversations",
            get(list_conversations).post(create_conversation),
        )
        .route("/v1/conversations/{id}", get(get_conversation))
        .route(
            "/v1/conversations/{id}/members",
            get(list_members).post(add_members),
        )
        .route("/v1/conversations/{id}/messages", post(send_message))
        .route("/v1/conversations/{id}/events", get(history))
        .route(
            "/v1/conversations/{id}/receipts",
            get(receipt_summary).post(mark_receipt),
        )
        .route("/v1/conversations/{id}/typing", post(set_typing))
        .route("/v1/me/privacy", get(get_privacy).put(put_privacy))
        .route("/v1/presence", get(presence))
        .route("/v1/sync", get(live::long_poll))
        .route("/v1/events", get(live::sse))
        .route("/v1/ws", get(ws::upgrade))
        .route("/", get(crate::web::index))
        .route("/assets/{*path}", get(crate::web::asset))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
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

/// A JSON body whose rejections use the API's error format.
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Json(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(r: JsonRejection) -> ApiError {
    match r {
        JsonRejection::JsonSyntaxError(e) => ApiError::new(
            ErrorCode::MalformedFrame,
            format!("body is not valid JSON: {}", e.body_text()),
        ),
        JsonRejection::JsonDataError(e) => ApiError::bad_request(e.body_text()),
        JsonRejection::MissingJsonContentType(_) => {
            ApiError::bad_request("send the body as JSON with Content-Type: application/json")
        }
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(ErrorCode::FrameTooLarge, "request body is too large")
        }
        other => ApiError::bad_request(other.body_text()),
    }
}

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Query parameters whose rejections use the API's error format.
pub struct Q<T>(pub T);

impl<S, T> FromRequestParts<S> for Q<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| Q(v))
            .map_err(|e| ApiError::bad_request(e.body_text()))
    }
}

/// An id in the path; a malformed one is `not_found`, like an unknown one.
pub struct Id<T>(pub T);

impl<S, T> FromRequestParts<S> for Id<T>
where
    T: std::str::FromStr + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::new(ErrorCode::NotFound, "not found"))?;
        raw.parse::<T>()
            .map(Id)
            .map_err(|_| ApiError::new(ErrorCode::NotFound, "not found"))
    }
}

/// The bearer token from the `Authorization` header.
pub fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// An authenticated caller.
pub struct Auth(pub Claims);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or_else(|| {
            ApiError::new(
                ErrorCode::Unauthorized,
                "send Authorization: Bearer <access token>",
            )
        })?;
        service::authenticate(state, token).await.map(Auth)
    }
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

/// `GET /readyz`: the database answers and the server is not shutting down.
async fn readyz(State(state): State<AppState>) -> Response {
    let status = if *state.shutdown.borrow() {
        "shutting down".to_owned()
    } else {
        match state.store.ping().await {
            Ok(()) => "ok".to_owned(),
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

/// `POST /v1/auth/register`: creates an account and a first device session.
async fn register(
    State(state): State<AppState>,
    addr: ConnectInfo<SocketAddr>,
    Json(creds): Json<Credentials>,
) -> ApiResult<(StatusCode, Json<AuthSession>)> {
    let s = service::register(&state, creds, peer(&addr)).await?;
    Ok((StatusCode::CREATED, Json(s)))
}

/// `POST /v1/auth/login`: opens a device session.
async fn login(
    State(state): State<AppState>,
    addr: ConnectInfo<SocketAddr>,
    Json(creds): Json<Credentials>,
) -> ApiResult<Json<AuthSession>> {
    service::login(&state, creds, peer(&addr)).await.map(Json)
}

/// `POST /v1/auth/refresh`: rotates the refresh token.
async fn refresh(
    State(state): State<AppState>,
    Json(req): Json<RefreshRequest>,
) -> ApiResult<Json<AuthSession>> {
    service::refresh(&state, &req.refresh_token).await.map(Json)
}

/// `POST /v1/auth/logout`: revokes the calling session.
async fn logout(State(state): State<AppState>, Auth(c): Auth) -> ApiResult<StatusCode> {
    service::logout(&state, &c).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/me`: who the token speaks for, and the log head.
async fn me(State(state): State<AppState>, Auth(c): Auth) -> ApiResult<Json<Me>> {
    service::me(&state, &c).await.map(Json)
}

/// `GET /v1/limits`: what the server accepts (no session needed).
async fn limits(State(state): State<AppState>) -> Json<ServerLimits> {
    Json(service::limits(&state))
}

/// `GET /v1/sessions`: the caller's live device sessions.
async fn sessions(State(state): State<AppState>, Auth(c): Auth) -> ApiResult<Json<SessionList>> {
    service::sessions(&state, &c).await.map(Json)
}

/// `DELETE /v1/sessions/{device}`: revokes one of the caller's sessions.
async fn revoke_session(
    State(state): State<AppState>,
    Auth(c): Auth,
    Id(device): Id<DeviceId>,
) -> ApiResult<StatusCode> {
    service::revoke(&state, &c, device).await?;
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
    service::user_by_name(&state, &q.username).await.map(Json)
}

/// `GET /v1/users/{id}`: a user by id.
async fn get_user(
    State(state): State<AppState>,
    Auth(_): Auth,
    Id(id): Id<UserId>,
) -> ApiResult<Json<UserInfo>> {
    service::user(&state, id).await.map(Json)
}

/// `GET /v1/conversations`: the caller's conversations.
async fn list_conversations(
    State(state): State<AppState>,
    Auth(c): Auth,
) -> ApiResult<Json<ConversationList>> {
    service::conversations(&state, &c).await.map(Json)
}

/// `POST /v1/conversations`: a new group, or the direct conversation with
/// someone (201 when created, 200 when it existed).
async fn create_conversation(
    State(state): State<AppState>,
    Auth(c): Auth,
    Json(req): Json<CreateConversation>,
) -> ApiResult<(StatusCode, Json<ConversationInfo>)> {
    let (info, new) = service::create_conversation(&state, &c, req).await?;
    Ok((
        if new {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        Json(info),
    ))
}

/// `GET /v1/conversations/{id}`: one conversation.
async fn get_conversation(
    State(state): State<AppState>,
    Auth(c): Auth,
    Id(id): Id<ConversationId>,
) -> ApiResult<Json<ConversationInfo>> {
    service::conversation(&state, &c, id).await.map(Json)
}

/// `GET /v1/conversations/{id}/members`: its members.
async fn list_members(
    State(state): State<AppState>,
    Auth(c): Auth,
    Id(id): Id<ConversationId>,
) -> ApiResult<Json<MemberList>> {
    service::members(&state, &c, id).await.map(Json)
}

/// `POST /v1/conversations/{id}/members`: adds members (creator only).
async fn add_members(
    State(state): State<AppState>,
    Auth(c): Auth,
    Id(id): Id<ConversationId>,
    Json(req): Json<AddMembers>,
) -> ApiResult<Json<ConversationInfo>> {
    service::add_members(&state, &c, id, req.users)
        .await
        .map(Json)
}

/// `POST /v1/conversations/{id}/messages`: sends a message (201, or 200
/// for a retry of one already stored).
async fn send_message(
    State(state): State<AppState>,
    Auth(c): Auth,
    Id(id): Id<ConversationId>,
    Json(req): Json<SendMessage>,
) -> ApiResult<(StatusCode, Json<Sent>)> {
    let sent = service::send(&state, &c, id, req.client_id, req.text).await?;
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
    service::history(&state, &c, id, q).await.map(Json)
}

/// `POST /v1/conversations/{id}/receipts`: moves my delivered or read
/// watermark; answers my watermarks.
async fn mark_receipt(
    State(state): State<AppState>,
    Auth(c): Auth,
    Id(id): Id<ConversationId>,
    Json(req): Json<MarkReceipt>,
) -> ApiResult<Json<MemberReceipt>> {
    service::receipt(&state, &c, id, req.kind, req.seq)
        .await
        .map(Json)
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
    service::receipt_summary(&state, &c, id, q.seq)
        .await
        .map(Json)
}

/// `POST /v1/conversations/{id}/typing`: starts or stops my typing
/// indicator.
async fn set_typing(
    State(state): State<AppState>,
    Auth(c): Auth,
    Id(id): Id<ConversationId>,
    Json(req): Json<SetTyping>,
) -> ApiResult<StatusCode> {
    crate::typing::set(&state, &c, id, req.active).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/me/privacy`: my privacy settings.
async fn get_privacy(State(state): State<AppState>, Auth(c): Auth) -> ApiResult<Json<Privacy>> {
    service::privacy(&state, &c).await.map(Json)
}

/// `PUT /v1/me/privacy`: changes my privacy settings.
async fn put_privacy(
    State(state): State<AppState>,
    Auth(c): Auth,
    Json(req): Json<Privacy>,
) -> ApiResult<Json<Privacy>> {
    service::set_privacy(&state, &c, req).await.map(Json)
}

/// `GET /v1/presence`: the presence of everyone I may see.
async fn presence(State(state): State<AppState>, Auth(c): Auth) -> ApiResult<Json<PresenceList>> {
    crate::presence::snapshot(&state, c.user).await.map(Json)
}
