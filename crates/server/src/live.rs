//! The fallback transports: Server-Sent Events and long-polling. Both serve
//! the same per-device feed as the WebSocket; sending goes through
//! `POST /v1/conversations/{id}/messages`.

use crate::api::{Auth, Q, bearer};
use crate::error::{ApiError, ApiResult};
use crate::feed::{Feed, Step};
use crate::state::AppState;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use natter_proto::{Cursor, ErrorCode, SyncQuery};
use std::convert::Infallible;
use std::fmt::Write as _;
use std::time::Duration;
use tokio::sync::mpsc;

/// Frames one log entry as the JSON of a `Delivery`.
pub fn delivery_json(cursor: Cursor, kind: &str, json: &str) -> String {
    format!(r#"{{"cursor":"{cursor}","{kind}":{json}}}"#)
}

/// Largest long-poll page.
pub const MAX_SYNC_PAGE: u32 = 500;

/// `GET /v1/sync?cursor=C&wait=SECS&limit=N`: long-polling. Answers at once
/// with what is after the cursor, or waits up to `wait` seconds for
/// something new.
pub async fn long_poll(
    State(state): State<AppState>,
    Auth(c): Auth,
    Q(q): Q<SyncQuery>,
) -> ApiResult<Response> {
    let wait = q.wait.unwrap_or(0);
    if wait > state.config.gateway.max_poll_wait_secs {
        return Err(ApiError::bad_request(format!(
            "wait is at most {} seconds",
            state.config.gateway.max_poll_wait_secs
        )));
    }
    let limit = q.limit.unwrap_or(100);
    if !(1..=MAX_SYNC_PAGE).contains(&limit) {
        return Err(ApiError::bad_request("limit must be 1 to 500"));
    }
    let _guard = state.tasks.enter();
    let cursor = q.cursor.unwrap_or(Cursor::START);
    let mut feed = Feed::open(&state, c.user, c.device, cursor).await?;
    let _present = crate::presence::connected(&state, c.user).await;
    let mut page = feed.page(limit).await?;
    let mut signals = Vec::new();
    if page.is_empty() && wait > 0 {
        let mut shutdown = state.shutdown.clone();
        tokio::select! {
            got = crate::presence::while_waiting(
                &state,
                c.user,
                tokio::time::timeout(Duration::from_secs(wait), feed.wait_live()),
            ) => {
                if let Ok(Some(s)) = got {
                    signals = s;
                }
            }
            _ = shutdown.wait_for(|s| *s) => {}
        }
        if feed.revoked() {
            return Err(ApiError::new(
                ErrorCode::SessionRevoked,
                "session revoked; log in again",
            ));
        }
        page = feed.page(limit).await?;
    }
    let mut body = String::with_capacity(64 + page.iter().map(|p| p.1.len() + 32).sum::<usize>());
    body.push_str(r#"{"deliveries":["#);
    for (i, (cursor, kind, json)) in page.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&delivery_json(*cursor, kind, json));
    }
    let _ = write!(
        body,
        r#"],"cursor":"{}","more":{},"signals":["#,
        feed.cursor(),
        feed.cursor() < feed.head()
    );
    for (i, frame) in signals.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(frame);
    }
    body.push_str("]}");
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response())
}

/// Credentials and cursor for SSE: `EventSource` cannot set headers, so the
/// token may come as `access_token` in the query, and the cursor as
/// `Last-Event-ID` (which the browser sends on its own reconnects).
pub struct SseParams {
    token: String,
    cursor: Cursor,
}

#[derive(serde::Deserialize)]
struct SseQuery {
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
}

impl FromRequestParts<AppState> for SseParams {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Q(q) = Q::<SseQuery>::from_request_parts(parts, state).await?;
        let token = bearer(parts)
            .map(str::to_owned)
            .or(q.access_token)
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::Unauthorized,
                    "send a bearer token or access_token",
                )
            })?;
        let last_id = parts
            .headers
            .get("last-event-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let raw = last_id.or(q.cursor).unwrap_or_default();
        let cursor = raw
            .parse()
            .map_err(|_| ApiError::bad_request("cursor is not one the server handed out"))?;
        Ok(SseParams { token, cursor })
    }
}

/// `GET /v1/events`: the device's feed as Server-Sent Events. Event types:
/// `event` (id = cursor, data = Delivery), `synced`, `resync`, `revoked`.
pub async fn sse(State(state): State<AppState>, params: SseParams) -> ApiResult<Response> {
    let claims = state.tokens.verify(&params.token)?;
    let slot = state
        .connection_slots
        .clone()
        .try_acquire_owned()
        .map_err(|_| ApiError::new(ErrorCode::Unavailable, "too many connections; retry later"))?;
    // Session check, first page and presence peers in one store read, as
    // for a WebSocket.
    let (feed, opened) = Feed::open_connection(&state, &claims, params.cursor).await?;
    let (tx, rx) = mpsc::channel::<SseEvent>(16);
    let guard = state.tasks.enter();
    let mut shutdown = state.shutdown.clone();
    let snapshot = crate::presence::snapshot_from(&state, &opened.peers);
    let snapshot = serde_json::to_string(&natter_proto::ServerFrame::PresenceSnapshot {
        users: snapshot.users,
    })
    .map_err(ApiError::internal)?;
    let _ = tx.try_send(
        SseEvent::default()
            .event("presence_snapshot")
            .data(snapshot),
    );
    let task_state = state.clone();
    tokio::spawn(async move {
        let _slot = slot;
        let _guard = guard;
        let _present = crate::presence::connected_with(
            &task_state,
            opened.user.as_ref(),
            claims.user,
            &opened.peers,
        )
        .await;
        // The stream cannot carry anything from the client; while it is
        // open (keep-alives are being written) the user counts as heard.
        tokio::select! {
            _ = crate::presence::while_waiting(&task_state, claims.user, pump_sse(feed, &tx)) => {}
            _ = shutdown.wait_for(|s| *s) => {}
        }
    });
    let stream = stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|e| (Ok::<_, Infallible>(e), rx))
    });
    let keep_alive = KeepAlive::new()
        .interval(Duration::from_secs(state.config.gateway.heartbeat_secs))
        .text("ping");
    Ok(Sse::new(stream).keep_alive(keep_alive).into_response())
}

async fn pump_sse(mut feed: Feed, tx: &mpsc::Sender<SseEvent>) {
    loop {
        let step = feed.next().await;
        let events: Vec<SseEvent> = match step {
            Ok(Step::Deliver(items)) => items
                .iter()
                .map(|(cursor, kind, json)| {
                    SseEvent::default()
                        .event(*kind)
                        .id(cursor.to_string())
                        .data(delivery_json(*cursor, kind, json))
                })
                .collect(),
            Ok(Step::Signal(kind, frame)) => {
                vec![SseEvent::default().event(kind.as_str()).data(&*frame)]
            }
            Ok(Step::Synced(cursor)) => vec![
                SseEvent::default()
                    .event("synced")
                    .data(format!(r#"{{"cursor":"{cursor}"}}"#)),
            ],
            Ok(Step::Revoked) => {
                let _ = tx
                    .send(
                        SseEvent::default()
                            .event("revoked")
                            .data(r#"{"reason":"session revoked"}"#),
                    )
                    .await;
                return;
            }
            Err(e) if e.code == ErrorCode::ResyncRequired => {
                let head = resync_cursor(&e);
                let _ = tx
                    .send(SseEvent::default().event("resync").data(format!(
                        r#"{{"cursor":"{head}","reason":{}}}"#,
                        serde_json::Value::String(e.message)
                    )))
                    .await;
                return;
            }
            Err(e) => {
                tracing::warn!(code = %e.code, "sse feed ended: {}", e.message);
                return;
            }
        };
        for ev in events {
            if tx.send(ev).await.is_err() {
                return; // the client went away
            }
        }
    }
}

/// The cursor to continue from after a resync.
pub fn resync_cursor(e: &ApiError) -> Cursor {
    e.resync.unwrap_or(Cursor::START)
}
