//! The relay's HTTP carriage between nodes: `POST /internal/v1/relay` (open a link) and
//! `POST /internal/v1/relay/tracks` (what crosses it), bearer = the cluster secret; and
//! [`HttpTransport`], the receiving node's client for both.
//!
//! The bearer is checked before the body is read: a caller without the secret learns
//! nothing but 401.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::de::DeserializeOwned;

use super::receiver::Transport;
use super::{LinkAnswer, LinkOffer, LinkSend, LinkTracks, RelayError};
use crate::state::AppState;

/// The path a link is opened at.
pub const OPEN_PATH: &str = "/internal/v1/relay";
/// The path what crosses a link is set at.
pub const TRACKS_PATH: &str = "/internal/v1/relay/tracks";
/// The path what crosses a link the other way is asked at (see [`super::reverse`]).
pub const SEND_PATH: &str = "/internal/v1/relay/send";

/// Most bytes of a request body (an offer of 16 sections is ~10 kB).
const MAX_BODY: usize = 256 * 1024;

/// The two routes.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route(OPEN_PATH, post(open))
        .route(TRACKS_PATH, post(tracks))
        .route(SEND_PATH, post(send))
}

impl IntoResponse for RelayError {
    fn into_response(self) -> Response {
        let status = match &self {
            RelayError::Unauthorized => StatusCode::UNAUTHORIZED,
            RelayError::UnknownMeeting | RelayError::UnknownLink => StatusCode::NOT_FOUND,
            RelayError::BadRequest(_) | RelayError::TooManyTracks => StatusCode::BAD_REQUEST,
            RelayError::Refused(_) => StatusCode::UNPROCESSABLE_ENTITY,
            RelayError::Origin(_) => StatusCode::BAD_GATEWAY,
            RelayError::Stopped => StatusCode::SERVICE_UNAVAILABLE,
        };
        let mut response = (status, self.to_string()).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

async fn open(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let bearer = bearer(&headers);
    if !super::authorized(state.settings.relay.as_ref(), bearer) {
        return RelayError::Unauthorized.into_response();
    }
    let offer: LinkOffer = match parse(&body) {
        Ok(o) => o,
        Err(e) => return e.into_response(),
    };
    match super::accept(&state, offer, bearer).await {
        Ok(answer) => Json(answer).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn tracks(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let bearer = bearer(&headers);
    if !super::authorized(state.settings.relay.as_ref(), bearer) {
        return RelayError::Unauthorized.into_response();
    }
    let tracks: LinkTracks = match parse(&body) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    match super::select(&state, tracks, bearer) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

async fn send(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let bearer = bearer(&headers);
    let Some(settings) = state.settings.relay.as_ref() else {
        return RelayError::Unauthorized.into_response();
    };
    if !super::authorized(Some(settings), bearer) {
        return RelayError::Unauthorized.into_response();
    }
    let request: LinkSend = match parse(&body) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    if !crate::cluster::media::valid_relay_url(&request.node) {
        return RelayError::BadRequest("the node is not an http(s) URL".into()).into_response();
    }
    let transport = HttpTransport::new(&settings.secret);
    match super::reverse::send(&state, &transport, request, bearer).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

/// The body as `T`; the error names the field at fault, never the parser's internals.
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, RelayError> {
    if body.len() > MAX_BODY {
        return Err(RelayError::BadRequest(format!(
            "the body has {} bytes, at most {MAX_BODY} allowed",
            body.len()
        )));
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let what = if e.inner().is_syntax() || e.inner().is_eof() {
            "is not JSON".to_owned()
        } else {
            format!("does not hold what it must at `{path}`")
        };
        RelayError::BadRequest(format!("the body {what}"))
    })
}

/// The receiving node's client: the origin's base URL (its `relay.advertise_url`) and the
/// cluster secret.
#[derive(Clone)]
pub struct HttpTransport {
    client: reqwest::Client,
    secret: String,
}

impl std::fmt::Debug for HttpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HttpTransport { secret: <redacted> }")
    }
}

impl HttpTransport {
    /// A client presenting `secret`.
    pub fn new(secret: &str) -> HttpTransport {
        HttpTransport {
            client: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
            secret: secret.to_owned(),
        }
    }

    async fn post(
        &self,
        url: String,
        body: &impl serde::Serialize,
    ) -> Result<reqwest::Response, RelayError> {
        let response = self
            .client
            .post(url)
            .bearer_auth(&self.secret)
            .json(body)
            .send()
            .await
            .map_err(|_| RelayError::Origin("not reachable".into()))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        Err(match status.as_u16() {
            401 => RelayError::Origin("refused the cluster secret".into()),
            404 => RelayError::UnknownMeeting,
            code => RelayError::Origin(format!("answered HTTP {code}")),
        })
    }
}

impl HttpTransport {
    /// Asks the opener of the link with this node, at `node`, what to send this way.
    pub async fn send(&self, node: &str, request: &LinkSend) -> Result<(), RelayError> {
        let url = format!("{}{SEND_PATH}", node.trim_end_matches('/'));
        self.post(url, request).await.map(|_| ())
    }
}

impl Transport for HttpTransport {
    async fn open(&self, origin: &str, offer: LinkOffer) -> Result<LinkAnswer, RelayError> {
        let url = format!("{}{OPEN_PATH}", origin.trim_end_matches('/'));
        self.post(url, &offer)
            .await?
            .json()
            .await
            .map_err(|_| RelayError::Origin("answered something that is not a link answer".into()))
    }

    async fn select(&self, origin: &str, tracks: LinkTracks) -> Result<(), RelayError> {
        let url = format!("{}{TRACKS_PATH}", origin.trim_end_matches('/'));
        self.post(url, &tracks).await.map(|_| ())
    }
}
