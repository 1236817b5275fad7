//! The endpoints' refusals: RFC 9725's status codes with a precise JSON body (the API's
//! `ErrorBody`), never internals.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::api::{ErrorBody, ErrorDetail};

use super::token::Refused;

/// A refused request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhipError {
    /// Its status.
    pub status: StatusCode,
    /// Stable code.
    pub code: &'static str,
    /// What is wrong, for a person.
    pub message: String,
}

impl WhipError {
    /// A refusal.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        WhipError {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400: the offer or fragment is wrong.
    pub fn bad_sdp(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_sdp", message)
    }

    /// 404: no such meeting or resource.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 415: the body is not of the type the method takes.
    pub fn media_type(expected: &str) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("send the body as `Content-Type: {expected}`"),
        )
    }
}

impl From<Refused> for WhipError {
    /// 401 when the token does not prove anything (missing, invalid, expired), 403 when it
    /// is valid but not for this meeting or endpoint.
    fn from(r: Refused) -> Self {
        let (status, code) = match r {
            Refused::Missing | Refused::Invalid => (StatusCode::UNAUTHORIZED, "invalid_token"),
            Refused::Expired => (StatusCode::UNAUTHORIZED, "token_expired"),
            Refused::OtherMeeting | Refused::WrongRole(_) => (StatusCode::FORBIDDEN, "forbidden"),
        };
        Self::new(status, code, r.to_string())
    }
}

impl IntoResponse for WhipError {
    fn into_response(self) -> Response {
        let unauthorized = self.status == StatusCode::UNAUTHORIZED;
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.into(),
                message: self.message,
            },
        };
        let mut r = (self.status, Json(body)).into_response();
        if unauthorized {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        r
    }
}
