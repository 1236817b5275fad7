//! The endpoints' handlers: create (`POST` an offer), end (`DELETE`), trickle (`PATCH`),
//! preflight (`OPTIONS`). The order of the checks is the order of RFC 9725's codes a client
//! can act on: the body's type (415), the token (401/403), the meeting (404, 409 ended), the
//! role's place (409 taken), the offer (400), the node's room (503).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sfu::PeerId;
use tracing::{info, warn};

use crate::meeting::ingest::{self, Busy};
use crate::meeting::{Layout, Meeting};
use crate::state::AppState;

use super::error::WhipError;
use super::token::{self, MediaRole};
use super::trickle::{self, Patch};
use super::Endpoint;

const SDP: &str = "application/sdp";
const FRAGMENT: &str = "application/trickle-ice-sdpfrag";

/// `POST /whip/v1/{meeting}`: publish.
pub async fn whip_create(
    State(state): State<Arc<AppState>>,
    Path(meeting): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond(create(&state, Endpoint::Whip, &meeting, &headers, &body).await)
}

/// `POST /whep/v1/{meeting}`: watch.
pub async fn whep_create(
    State(state): State<Arc<AppState>>,
    Path(meeting): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond(create(&state, Endpoint::Whep, &meeting, &headers, &body).await)
}

/// `DELETE /whip/v1/{meeting}/{resource}`.
pub async fn whip_delete(
    State(state): State<Arc<AppState>>,
    Path((meeting, resource)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    respond(delete(
        &state,
        Endpoint::Whip,
        &meeting,
        &resource,
        &headers,
    ))
}

/// `DELETE /whep/v1/{meeting}/{resource}`.
pub async fn whep_delete(
    State(state): State<Arc<AppState>>,
    Path((meeting, resource)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    respond(delete(
        &state,
        Endpoint::Whep,
        &meeting,
        &resource,
        &headers,
    ))
}

/// `PATCH /whip/v1/{meeting}/{resource}`.
pub async fn whip_patch(
    State(state): State<Arc<AppState>>,
    Path((meeting, resource)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond(patch(&state, Endpoint::Whip, &meeting, &resource, &headers, &body).await)
}

/// `PATCH /whep/v1/{meeting}/{resource}`.
pub async fn whep_patch(
    State(state): State<Arc<AppState>>,
    Path((meeting, resource)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond(patch(&state, Endpoint::Whep, &meeting, &resource, &headers, &body).await)
}

/// `OPTIONS`: a CORS preflight (RFC 9725 section 4.2: no other use).
pub async fn preflight() -> Response {
    let mut r = StatusCode::NO_CONTENT.into_response();
    let h = r.headers_mut();
    h.insert(
        header::ALLOW,
        HeaderValue::from_static("POST, DELETE, PATCH, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST, DELETE, PATCH, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Authorization, Content-Type, If-Match"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    h.insert(
        header::HeaderName::from_static("accept-post"),
        HeaderValue::from_static(SDP),
    );
    r
}

fn respond(r: Result<Response, WhipError>) -> Response {
    r.unwrap_or_else(IntoResponse::into_response)
}

fn content_type_is(headers: &HeaderMap, expected: &str) -> Result<(), WhipError> {
    let given = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim);
    match given {
        Some(t) if t.eq_ignore_ascii_case(expected) => Ok(()),
        _ => Err(WhipError::media_type(expected)),
    }
}

fn authorize(
    state: &AppState,
    endpoint: Endpoint,
    meeting: &str,
    headers: &HeaderMap,
) -> Result<MediaRole, WhipError> {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    Ok(token::check(&state.keys, auth, meeting, |r| {
        endpoint.accepts(r)
    })?)
}

fn find_meeting(state: &AppState, id: &str) -> Result<Arc<Meeting>, WhipError> {
    state
        .meetings
        .get(id)
        .ok_or_else(|| WhipError::not_found("no meeting with this id on this server"))
}

fn ended() -> WhipError {
    WhipError::new(
        StatusCode::CONFLICT,
        "ended",
        "the meeting has ended: nothing can be published or watched in it",
    )
}

fn taken(role: MediaRole) -> WhipError {
    WhipError::new(
        StatusCode::CONFLICT,
        "conflict",
        format!(
            "something already publishes as `{}` in this meeting; stop it (DELETE its resource) first",
            role.as_str()
        ),
    )
}

async fn create(
    state: &Arc<AppState>,
    endpoint: Endpoint,
    meeting_id: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, WhipError> {
    content_type_is(headers, SDP)?;
    let role = authorize(state, endpoint, meeting_id, headers)?;
    let meeting = find_meeting(state, meeting_id)?;
    if meeting.read(|m| m.is_ended()) {
        return Err(ended());
    }
    if let Some(r) = role.ingest() {
        if meeting.read(|m| m.ingest_taken(r)) {
            return Err(taken(role));
        }
    }
    let limits = state.settings.limits;
    let sdp =
        std::str::from_utf8(body).map_err(|_| WhipError::bad_sdp("the offer is not UTF-8 text"))?;
    if sdp.trim().is_empty() {
        return Err(WhipError::bad_sdp("the body holds no SDP offer"));
    }
    if sdp.len() > limits.sdp_bytes {
        return Err(WhipError::bad_sdp(format!(
            "the offer is {} bytes, at most {} allowed",
            sdp.len(),
            limits.sdp_bytes
        )));
    }
    if let Some(why) = crate::limits::over_capacity(state.peers.len(), &limits) {
        state.metrics.refused_capacity();
        return Err(WhipError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "node_full",
            why,
        ));
    }
    let peer = PeerId(state.next_id());
    let shard = crate::shards::of_meeting(state, &meeting);
    let offered = state
        .sfu
        .offer_as(shard, peer, sdp.to_owned(), endpoint.profile())
        .await;
    let layout = offered.map_err(|e| match e {
        sfu::OfferError::Parse(_) | sfu::OfferError::Refused(_) => {
            WhipError::bad_sdp(e.to_string())
        }
        sfu::OfferError::Stopped => {
            warn!("WHIP/WHEP offer while the media plane is stopped");
            WhipError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the media server is not available",
            )
        }
    })?;
    let answer = layout.answer_sdp.clone();
    let resource = crate::api::new_jti();
    let held = Layout::from(&layout);
    let placed = match role.ingest() {
        Some(r) => meeting.apply(
            ingest::Publish {
                role: r,
                resource: resource.clone(),
                peer,
                layout: held,
            },
            state.as_ref(),
        ),
        None => meeting.apply(
            ingest::Watch {
                resource: resource.clone(),
                peer,
                layout: held,
            },
            state.as_ref(),
        ),
    };
    match placed {
        Ok(Ok(())) => {}
        // Another publisher won the race, or the meeting ended meanwhile.
        Ok(Err(busy)) => {
            state.sfu.remove_peer(peer);
            return Err(match busy {
                Busy::Taken => taken(role),
                Busy::Ended => ended(),
            });
        }
        Err(r) => {
            state.sfu.remove_peer(peer);
            return Err(WhipError::new(StatusCode::CONFLICT, "conflict", r.message));
        }
    }
    super::count(state, &meeting);
    info!(meeting = %meeting.id, role = role.as_str(), %peer, "{} resource created", endpoint.base());
    let location = format!("{}/{}/{}", endpoint.base(), meeting.id, resource);
    let mut r = (StatusCode::CREATED, answer).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(SDP));
    for (name, value) in [
        (header::LOCATION, location),
        (header::ETAG, etag(&resource)),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    h.insert(
        header::HeaderName::from_static("accept-patch"),
        HeaderValue::from_static(FRAGMENT),
    );
    Ok(r)
}

/// The resource's entity tag: fixed for its life, since it is never restarted.
fn etag(resource: &str) -> String {
    format!("\"{}\"", &resource[..resource.len().min(16)])
}

fn delete(
    state: &Arc<AppState>,
    endpoint: Endpoint,
    meeting_id: &str,
    resource: &str,
    headers: &HeaderMap,
) -> Result<Response, WhipError> {
    authorize(state, endpoint, meeting_id, headers)?;
    let meeting = find_meeting(state, meeting_id)?;
    let stop = ingest::Stop {
        resource: resource.to_owned(),
    };
    if !meeting.apply(stop, state.as_ref()).unwrap_or(false) {
        return Err(WhipError::not_found(
            "no such resource: it ended, or it never existed",
        ));
    }
    super::count(state, &meeting);
    info!(meeting = %meeting.id, "{} resource deleted", endpoint.base());
    Ok(StatusCode::OK.into_response())
}

async fn patch(
    state: &Arc<AppState>,
    endpoint: Endpoint,
    meeting_id: &str,
    resource: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, WhipError> {
    authorize(state, endpoint, meeting_id, headers)?;
    let meeting = find_meeting(state, meeting_id)?;
    let find = ingest::Find {
        resource: resource.to_owned(),
    };
    let peer = meeting
        .apply(find, state.as_ref())
        .ok()
        .flatten()
        .ok_or_else(|| WhipError::not_found("no such resource: it ended, or it never existed"))?;
    content_type_is(headers, FRAGMENT)?;
    let if_match = headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok());
    if let Some(tag) = if_match.map(str::trim).filter(|t| *t != "*") {
        if tag != etag(resource) {
            return Err(WhipError::new(
                StatusCode::PRECONDITION_FAILED,
                "precondition_failed",
                "If-Match does not name this resource's ETag",
            ));
        }
    }
    let fragment = std::str::from_utf8(body)
        .map_err(|_| WhipError::bad_sdp("the fragment is not UTF-8 text"))?;
    match trickle::read(fragment, if_match).map_err(|e| WhipError::bad_sdp(e.to_string()))? {
        Patch::Restart => Err(WhipError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "ice_restart_unsupported",
            "this server takes trickled candidates but no ICE restart; to recover, DELETE the resource and POST a new offer",
        )),
        Patch::Trickle(candidates) => {
            for c in candidates {
                state
                    .sfu
                    .add_candidate(peer, c)
                    .await
                    .map_err(|_| {
                        WhipError::bad_sdp(
                            "a candidate line does not parse (`a=candidate:` as RFC 8839 writes it)",
                        )
                    })?;
            }
            Ok(StatusCode::NO_CONTENT.into_response())
        }
    }
}
