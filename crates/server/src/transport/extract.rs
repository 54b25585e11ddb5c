//! Extractors whose rejections speak the API's error format: JSON bodies,
//! query strings, ids in the path, and the authenticated caller.

use super::error::ApiError;
use crate::auth::Claims;
use crate::domain;
use crate::state::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use natter_proto::ErrorCode;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// A JSON body whose rejections use the API's error format.
pub struct Json<T>(pub T);

impl<T> FromRequest<AppState> for Json<T>
where
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        // A body sent half and then held would keep the request (and its
        // connection) forever: it has a deadline of its own.
        let deadline = Duration::from_secs(state.config.http.body_timeout_secs);
        match tokio::time::timeout(deadline, axum::Json::<T>::from_request(req, state)).await {
            Ok(Ok(axum::Json(v))) => Ok(Json(v)),
            Ok(Err(rejection)) => Err(json_rejection(rejection)),
            Err(_) => Err(ApiError::new(
                ErrorCode::RequestTimeout,
                "the request body did not arrive in time",
            )),
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
        Ok(Auth(domain::accounts::authenticate(state, token).await?))
    }
}
