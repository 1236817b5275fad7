//! Admin operations on an existing meeting: reissue one site's link (revoking the old one),
//! end it, delete it. Each change is on disk before the answer (see [`crate::durable`]).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;

use crate::api::{authorize, invite, new_jti, view, ApiError, ErrorBody, Invite, MeetingView};
use crate::meeting::Meeting;
use crate::state::AppState;

fn meeting(state: &AppState, id: &str) -> Result<Arc<Meeting>, ApiError> {
    state.meetings.get(id).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no meeting with this id",
        )
    })
}

/// Revoke a site's link and issue a new one.
///
/// Every earlier link of the site stops working at once: a join with it is refused with the
/// WebSocket error `link_revoked`, and a session that joined with it is ended with that
/// error. The answer carries the site's new link; revocations survive a restart.
#[utoipa::path(
    post,
    path = "/api/v1/meetings/{id}/sites/{site_id}/link",
    params(
        ("id" = String, Path, description = "Meeting id"),
        ("site_id" = String, Path, description = "Site id (`chair`, `operator`, `s1`...)")
    ),
    responses(
        (status = 200, description = "The site's new link; the old one is revoked", body = Invite),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 404, description = "No such meeting or site", body = ErrorBody),
        (status = 409, description = "The meeting has ended", body = ErrorBody),
        (status = 503, description = "The change could not be stored", body = ErrorBody)
    ),
    security(("admin" = []))
)]
pub async fn reissue_link(
    State(state): State<Arc<AppState>>,
    Path((id, site_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Invite>, ApiError> {
    authorize(&state, &headers)?;
    let m = meeting(&state, &id)?;
    let site = m.site(&site_id).cloned().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "this meeting has no site with this id",
        )
    })?;
    if m.is_ended() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "ended",
            "the meeting has ended: its links no longer work",
        ));
    }
    let jti = new_jti();
    if let Err(e) = m.reissue(&site.id, &jti, &state.sfu) {
        tracing::error!(meeting = %id, "cannot store a reissued link: {e}");
        return Err(ApiError::storage());
    }
    tracing::info!(meeting = %id, site = %site.id, "link revoked and reissued");
    Ok(Json(invite(&state, &m, &site, jti)))
}

/// End a meeting for everyone.
///
/// Every session is closed with `ended`, every link stops working; the meeting stays
/// listed (and its roll call readable) until the retention period is over.
#[utoipa::path(
    post,
    path = "/api/v1/meetings/{id}/end",
    params(("id" = String, Path, description = "Meeting id")),
    responses(
        (status = 200, description = "The ended meeting", body = MeetingView),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 404, description = "No such meeting", body = ErrorBody),
        (status = 503, description = "The change could not be stored", body = ErrorBody)
    ),
    security(("admin" = []))
)]
pub async fn end_meeting(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<MeetingView>, ApiError> {
    authorize(&state, &headers)?;
    let m = meeting(&state, &id)?;
    m.end(&state.sfu);
    state.metrics.meetings.set(state.meetings.active() as i64);
    if let Err(e) = m.save_now() {
        tracing::error!(meeting = %id, "cannot store the end of the meeting: {e}");
        return Err(ApiError::storage());
    }
    Ok(Json(view(&m)))
}

/// Delete a meeting.
///
/// Ends it if it runs, removes it from this server and deletes its snapshot, so a restart
/// does not bring it back. Its roll call stays in the data directory and readable through
/// `/attendance`.
#[utoipa::path(
    delete,
    path = "/api/v1/meetings/{id}",
    params(("id" = String, Path, description = "Meeting id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 404, description = "No such meeting", body = ErrorBody),
        (status = 503, description = "The change could not be stored", body = ErrorBody)
    ),
    security(("admin" = []))
)]
pub async fn delete_meeting(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    authorize(&state, &headers)?;
    let m = meeting(&state, &id)?;
    m.end(&state.sfu);
    // The roll call with every leave recorded, before the snapshot goes.
    let stored = m.save_now().and_then(|()| m.retire(&state.sfu));
    if let Err(e) = stored {
        tracing::error!(meeting = %id, "cannot delete the meeting's snapshot: {e}");
        return Err(ApiError::storage());
    }
    state.meetings.remove(&id);
    state.metrics.meetings.set(state.meetings.active() as i64);
    Ok(StatusCode::NO_CONTENT)
}
