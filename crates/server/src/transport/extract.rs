//! Extractors whose rejections speak the API's error format: JSON bodies,
//! query strings, ids in the path, and the authenticated caller.

use super::error::ApiError;
use crate::auth::Claims;
use crate::domain;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use natter_proto::ErrorCode;
use serde::de::{DeserializeOwned, IgnoredAny};
use std::time::Duration;

/// A JSON body whose rejections use the API's error format.
pub struct Json<T>(pub T);

impl<T> FromRequest<AppState> for Json<T>
where
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        if !json_content_type(req.headers()) {
            return Err(ApiError::bad_request(
                "send the body as JSON with Content-Type: application/json",
            ));
        }
        // The body limit applies here (413 `frame_too_large`). A body sent
        // half and then held would keep the request (and its connection)
        // forever: it has a deadline of its own.
        let deadline = Duration::from_secs(state.config.http.body_timeout_secs);
        let body = match tokio::time::timeout(deadline, Bytes::from_request(req, state)).await {
            Ok(body) => body.map_err(|e| json_rejection(e.into()))?,
            Err(_) => {
                return Err(ApiError::new(
                    ErrorCode::RequestTimeout,
                    "the request body did not arrive in time",
                ));
            }
        };
        decode_json(&body).map(Json)
    }
}

/// True for `application/json` and `application/*+json`, whatever the
/// parameters: the types axum's `Json` accepts.
fn json_content_type(headers: &HeaderMap) -> bool {
    let Some(essence) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
    else {
        return false;
    };
    let essence = essence.trim().to_ascii_lowercase();
    match essence.split_once('/') {
        Some(("application", sub)) => sub == "json" || sub.ends_with("+json"),
        _ => false,
    }
}

/// Decodes a request body as the [`Json`] extractor does: `malformed_frame`
/// for a body that is not JSON, `bad_request` for JSON of the wrong shape.
pub fn decode_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let rejection = match axum::Json::<T>::from_bytes(body) {
        Ok(axum::Json(v)) => return Ok(v),
        Err(rejection) => rejection,
    };
    let why = match &rejection {
        JsonRejection::JsonDataError(e) => e.body_text(),
        JsonRejection::JsonSyntaxError(e) => e.body_text(),
        _ => return Err(json_rejection(rejection)),
    };
    // serde_json's error category does not say whether the body is JSON:
    // it stops at the first wrong type, before it has read the rest (so a
    // body that only starts like JSON looks like a bad field), and calls
    // some wrong types syntax (a number where a name is expected). So ask.
    let json = std::str::from_utf8(body)
        .map_err(|e| e.to_string())
        .and_then(|text| {
            serde_json::from_str::<IgnoredAny>(text)
                .map(drop)
                .map_err(|e| e.to_string())
        });
    match json {
        Ok(()) => Err(ApiError::bad_request(why)),
        Err(e) => Err(ApiError::new(
            ErrorCode::MalformedFrame,
            format!("body is not valid JSON: {e}"),
        )),
    }
}

fn json_rejection(r: JsonRejection) -> ApiError {
    match r {
        JsonRejection::JsonSyntaxError(e) => ApiError::new(
            ErrorCode::MalformedFrame,
            format!("body is not valid JSON: {}", e.body_text()),
        ),
        JsonRejection::JsonDataError(e) => ApiError::bad_request(e.body_text()),
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

/// Two ids in the path (a conversation and a user); a malformed one is
/// `not_found`, like an unknown one.
pub struct Ids<A, B>(pub A, pub B);

impl<S, A, B> FromRequestParts<S> for Ids<A, B>
where
    A: std::str::FromStr + Send,
    B: std::str::FromStr + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let not_found = || ApiError::new(ErrorCode::NotFound, "not found");
        let Path((a, b)) = Path::<(String, String)>::from_request_parts(parts, state)
            .await
            .map_err(|_| not_found())?;
        Ok(Ids(
            a.parse::<A>().map_err(|_| not_found())?,
            b.parse::<B>().map_err(|_| not_found())?,
        ))
    }
}

/// Three ids in the path (a conversation, a seq and an emoji); a
/// malformed one is `not_found`, like an unknown one.
pub struct Ids3<A, B, C>(pub A, pub B, pub C);

impl<S, A, B, C> FromRequestParts<S> for Ids3<A, B, C>
where
    A: std::str::FromStr + Send,
    B: std::str::FromStr + Send,
    C: std::str::FromStr + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let not_found = || ApiError::new(ErrorCode::NotFound, "not found");
        let Path((a, b, c)) = Path::<(String, String, String)>::from_request_parts(parts, state)
            .await
            .map_err(|_| not_found())?;
        Ok(Ids3(
            a.parse::<A>().map_err(|_| not_found())?,
            b.parse::<B>().map_err(|_| not_found())?,
            c.parse::<C>().map_err(|_| not_found())?,
        ))
    }
}

/// The bearer token from the `Authorization` header. The scheme's name is
/// case-insensitive (RFC 9110 §11.1): `Bearer`, `bearer` and `BEARER` all work.
pub fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim_start().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
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

#[cfg(test)]
mod tests {
    use super::*;
    use natter_proto::{MarkReceipt, SendMessage};

    #[test]
    fn a_body_that_only_starts_like_json_is_malformed() {
        // Found by fuzzing: these were `bad_request`, as if they were JSON
        // with a wrong field.
        for body in [&br#"{"text":1} x"#[..], br#""x"="#, br#"[1, {"#] {
            let err = decode_json::<SendMessage>(body).expect_err("refused");
            assert_eq!(
                err.code,
                ErrorCode::MalformedFrame,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        let err = decode_json::<SendMessage>(&[b'"', 0xff, b'"']).expect_err("refused");
        assert_eq!(err.code, ErrorCode::MalformedFrame);
        let err = decode_json::<SendMessage>(br#"{"text":1}"#).expect_err("refused");
        assert_eq!(err.code, ErrorCode::BadRequest);
    }

    #[test]
    fn json_of_the_wrong_shape_is_a_bad_request() {
        // Found by fuzzing: serde_json calls a number where a receipt kind
        // belongs a syntax error, and this was `malformed_frame`.
        for body in [
            &br#"{"kind":5,"seq":1}"#[..],
            br#"{"kind":"read","seq":-1}"#,
        ] {
            let err = decode_json::<MarkReceipt>(body).expect_err("refused");
            assert_eq!(
                err.code,
                ErrorCode::BadRequest,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        assert!(decode_json::<SendMessage>(br#" {"client_id":"c","text":"hi"} "#).is_ok());
    }

    #[test]
    fn json_content_types() {
        let accepts = |ct: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, ct.parse().unwrap());
            json_content_type(&h)
        };
        assert!(accepts("application/json"));
        assert!(accepts("Application/JSON; charset=utf-8"));
        assert!(accepts("application/vnd.api+json"));
        assert!(!accepts("text/json"));
        assert!(!accepts("application/jsonx"));
        assert!(!accepts("text/plain"));
        assert!(!json_content_type(&HeaderMap::new()));
    }
}
