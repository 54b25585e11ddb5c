//! Long-polling, the last fallback transport: each request answers at once
//! with what is after the cursor, or waits a while for something new. It
//! reads the same per-device log stream as the WebSocket.

use super::encode;
use super::error::{ApiError, ApiResult};
use super::extract::{Auth, Q};
use super::stream::LogStream;
use crate::domain::{MAX_SYNC_PAGE, presence};
use crate::error::DomainError;
use crate::state::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use natter_proto::{Cursor, SyncQuery};
use std::time::Duration;

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
        return Err(ApiError::bad_request(format!(
            "limit must be 1 to {MAX_SYNC_PAGE}"
        )));
    }
    let _guard = state.tasks.enter();
    let cursor = q.cursor.unwrap_or(Cursor::START);
    let mut feed = LogStream::open(&state, c.user, c.device, cursor).await?;
    let _present = presence::connected(&state, c.user).await;
    let mut page = feed.page(limit).await?;
    let mut signals = Vec::new();
    if page.is_empty() && wait > 0 {
        let mut shutdown = state.shutdown.clone();
        tokio::select! {
            got = presence::while_waiting(
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
            return Err(DomainError::SessionRevoked.into());
        }
        page = feed.page(limit).await?;
    }
    let body = encode::sync_page(&page, feed.cursor(), feed.cursor() < feed.head(), &signals);
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response())
}
