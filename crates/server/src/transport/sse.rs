//! Server-Sent Events, the first fallback transport: the same per-device
//! log stream as the WebSocket, one way; sending goes through
//! `POST /v1/conversations/{id}/messages`.

use super::encode;
use super::error::{ApiError, ApiResult};
use super::extract::{Q, bearer};
use super::stream::{LogStream, Step};
use crate::domain::presence;
use crate::error::DomainError;
use crate::state::AppState;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use natter_proto::{Cursor, ErrorCode, ServerFrame};
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::mpsc;

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
    let (feed, opened) = LogStream::open_connection(&state, &claims, params.cursor).await?;
    let (tx, rx) = mpsc::channel::<SseEvent>(16);
    let guard = state.tasks.enter();
    let mut shutdown = state.shutdown.clone();
    let snapshot = presence::snapshot_from(&state, &opened.peers);
    let snapshot = encode::frame(&ServerFrame::PresenceSnapshot {
        users: snapshot.users,
    })
    .ok_or_else(|| ApiError::internal("cannot serialise the presence snapshot"))?;
    let _ = tx.try_send(
        SseEvent::default()
            .event("presence_snapshot")
            .data(snapshot),
    );
    let task_state = state.clone();
    tokio::spawn(async move {
        let _slot = slot;
        let _guard = guard;
        let _present = presence::connected_with(
            &task_state,
            opened.user.as_ref(),
            claims.user,
            &opened.peers,
        )
        .await;
        // The stream cannot carry anything from the client; while it is
        // open (keep-alives are being written) the user counts as heard.
        // The response is dropped as soon as the client's connection
        // closes (the HTTP layer reads its end of stream): that ends this
        // task at once, not at the next write, so a departed client goes
        // offline within the grace.
        tokio::select! {
            _ = presence::while_waiting(&task_state, claims.user, pump_sse(feed, &tx)) => {}
            _ = tx.closed() => {}
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

async fn pump_sse(mut feed: LogStream, tx: &mpsc::Sender<SseEvent>) {
    loop {
        let step = feed.next().await;
        let events: Vec<SseEvent> = match step {
            Ok(Step::Deliver(items)) => items
                .iter()
                .map(|entry| {
                    SseEvent::default()
                        .event(entry.1)
                        .id(entry.0.to_string())
                        .data(encode::delivery(entry))
                })
                .collect(),
            Ok(Step::Signal(kind, frame)) => {
                vec![SseEvent::default().event(kind.as_str()).data(&*frame)]
            }
            Ok(Step::Synced(cursor)) => vec![
                SseEvent::default()
                    .event("synced")
                    .data(encode::synced(cursor)),
            ],
            Ok(Step::Revoked) => {
                let _ = tx
                    .send(SseEvent::default().event("revoked").data(encode::REVOKED))
                    .await;
                return;
            }
            Err(e @ DomainError::ResyncRequired { head }) => {
                let data = encode::resync(head, &e.to_string());
                let _ = tx
                    .send(SseEvent::default().event("resync").data(data))
                    .await;
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "sse stream ended");
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
